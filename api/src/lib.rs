//! tablepay's HTTP API: routes, authentication, persistence and the server that runs them.

pub mod app;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod cli;
pub mod demo;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod limits;
pub mod metrics;
pub mod observability;
pub mod routes;
pub mod secrets;
pub mod settings;

use std::net::TcpListener;

use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::{Server, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{App, HttpResponse, HttpServer, web};

use crate::error::{ApiError, Code};
use crate::settings::Settings;
use tablepay_store::Store;

/// What every handler can reach.
pub struct AppState {
    pub db: Store,
    pub settings: Settings,
    pub admin_token: String,
    pub providers: app::providers::Providers,
    pub rate_limiter: limits::RateLimiter,
    pub metrics: metrics::Metrics,
    /// What guests read, kept true without asking the database (see [`app::live`]).
    pub guests: app::live::GuestCache,
    /// Open guest streams per table.
    pub guest_streams: routes::guest_events::GuestStreams,
    /// Wakes this process's mail worker when a receipt is queued.
    pub mail_wake: std::sync::Arc<tokio::sync::Notify>,
    /// Turns true when the process stops: background work finishes what it holds and ends.
    shutdown: tokio::sync::watch::Sender<bool>,
    /// Turns true when the process starts stopping: live streams end so the server can drain.
    closing: tokio::sync::watch::Sender<bool>,
    background: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl AppState {
    /// Builds the state, with the payment providers the settings configure.
    pub fn new(db: Store, settings: Settings, admin_token: String) -> anyhow::Result<AppState> {
        let providers = app::providers::Providers::from_settings(&settings)?;
        let (shutdown, _) = tokio::sync::watch::channel(false);
        let (closing, _) = tokio::sync::watch::channel(false);
        Ok(AppState {
            db,
            settings,
            admin_token,
            providers,
            rate_limiter: limits::RateLimiter::default(),
            metrics: metrics::Metrics::default(),
            guests: app::live::GuestCache::default(),
            guest_streams: routes::guest_events::GuestStreams::default(),
            mail_wake: std::sync::Arc::default(),
            shutdown,
            closing,
            background: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Ends the live event streams (their clients reconnect elsewhere with `Last-Event-ID`):
    /// they never finish on their own, and a draining server waits for its connections.
    pub fn close_streams(&self) {
        let _ = self.closing.send(true);
    }

    /// Whether the process is stopping, for the live streams.
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Stops background work: the webhook worker finishes the deliveries in flight (each is
    /// bounded by the webhook timeout), waiting at most `grace`; the rest simply ends.
    pub async fn stop_background(&self, grace: std::time::Duration) {
        let _ = self.shutdown.send(true);
        let tasks: Vec<_> = self.background.lock().map(|mut t| std::mem::take(&mut *t)).unwrap_or_default();
        if tokio::time::timeout(grace, futures_util::future::join_all(tasks)).await.is_err() {
            tracing::warn!("background work did not finish within {grace:?}");
        }
    }
}

/// A started server and its state.
pub struct Running {
    pub server: Server,
    pub state: web::Data<AppState>,
}

/// Starts serving on `listener`. The returned server runs until stopped through its handle.
/// Call inside a Tokio runtime: the expiry sweeper, the webhook worker and the PostgreSQL
/// listener start with it.
pub fn serve(listener: TcpListener, state: AppState) -> std::io::Result<Running> {
    let workers = state.settings.http_workers;
    let state = web::Data::new(state);
    let shared = state.clone().into_inner();
    let mut tasks = vec![tokio::spawn(app::outcomes::sweeper(
        shared.db.clone(),
        shared.providers.clone(),
        std::time::Duration::from_millis(shared.settings.sweep_interval_ms),
        shared.shutdown.subscribe(),
    ))];
    if shared.settings.webhooks.worker {
        let (store, settings) = (shared.db.clone(), shared.settings.webhooks.clone());
        tasks.push(tokio::spawn(app::delivery::worker(store, settings, shared.shutdown.subscribe())));
    }
    if let Some(mail) = shared.settings.mail.clone().filter(|m| m.worker) {
        let (store, poll, wake) = (shared.db.clone(), shared.settings.webhooks.poll_interval, shared.mail_wake.clone());
        tasks.push(tokio::spawn(app::mail::worker(store, mail, poll, wake, shared.shutdown.subscribe())));
    }
    if let Ok(mut background) = shared.background.lock() {
        background.extend(tasks);
    }
    shared.db.listen_to_other_processes();
    let app_state = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(app_state.clone())
            .wrap(actix_web::middleware::from_fn(limits::guest_limits))
            .wrap(actix_web::middleware::from_fn(idempotency::refuse_malformed_keys))
            .wrap(problem_bodies())
            .wrap(actix_web::middleware::from_fn(observability::cors))
            .wrap(actix_web::middleware::from_fn(observability::request_id))
            .configure(routes::configure)
            .default_service(web::to(not_found))
    })
    .workers(workers)
    // Blocking threads do the database work; more of them than connections only wait, and
    // each costs memory. Each worker has its own: together they match the pool.
    .worker_max_blocking_threads((shared.settings.db_pool_size as usize).div_ceil(workers).max(2))
    .shutdown_timeout(10)
    // actix would stop gracefully on SIGTERM but abruptly on SIGINT; `tablepay serve` drains
    // on both (see `cli`), and tests stop servers through the handle.
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(Running { server, state })
}

/// No route took the request: 405 with `Allow` when the path is known under other methods,
/// 404 otherwise.
async fn not_found(req: actix_web::HttpRequest) -> HttpResponse {
    static KNOWN: std::sync::OnceLock<Vec<(&'static str, actix_web::dev::ResourceDef)>> = std::sync::OnceLock::new();
    let known = KNOWN.get_or_init(|| {
        routes::ROUTES
            .iter()
            .chain([("get", "/assets/{path:.*}")].iter())
            .map(|(method, path)| (*method, actix_web::dev::ResourceDef::new(*path)))
            .collect()
    });
    let mut allowed: Vec<String> =
        known.iter().filter(|(_, def)| def.is_match(req.path())).map(|(method, _)| method.to_uppercase()).collect();
    if allowed.is_empty() {
        return actix_web::ResponseError::error_response(&ApiError::not_found("resource"));
    }
    allowed.sort();
    allowed.dedup();
    let allow = allowed.join(", ");
    let error = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        Code::MethodNotAllowed,
        format!("{} is not supported here; this path takes {allow}", req.method()),
    );
    let mut response = actix_web::ResponseError::error_response(&error);
    if let Ok(value) = header::HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// Gives every error answer a problem+json body, including the ones actix writes itself
/// (405 for a known path with another method, and the like).
fn problem_bodies() -> ErrorHandlers<BoxBody> {
    let mut handlers = ErrorHandlers::new();
    for status in [
        StatusCode::BAD_REQUEST,
        StatusCode::NOT_FOUND,
        StatusCode::METHOD_NOT_ALLOWED,
        StatusCode::PAYLOAD_TOO_LARGE,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        StatusCode::INTERNAL_SERVER_ERROR,
    ] {
        handlers = handlers.handler(status, ensure_problem);
    }
    handlers
}

fn ensure_problem(res: ServiceResponse<BoxBody>) -> actix_web::Result<ErrorHandlerResponse<BoxBody>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let error = match status {
        StatusCode::NOT_FOUND => ApiError::not_found("resource"),
        StatusCode::METHOD_NOT_ALLOWED => {
            ApiError::new(status, Code::MethodNotAllowed, "this path does not support this method")
        }
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(status, Code::PayloadTooLarge, "the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::new(status, Code::UnsupportedMediaType, "request bodies are application/json")
        }
        StatusCode::BAD_REQUEST => ApiError::bad_request("the request could not be read"),
        _ => ApiError::internal(format!("unhandled {status}")),
    };
    let (req, _) = res.into_parts();
    let response: HttpResponse<EitherBody<BoxBody>> =
        actix_web::ResponseError::error_response(&error).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(ServiceResponse::new(req, response)))
}

/// jemalloc, not glibc's malloc: a busy server allocates on many threads at once (the HTTP
/// workers and the database threads), and glibc's arenas, capped at two to keep memory small,
/// spent a fifth of its CPU on their locks and free lists. jemalloc gave 44 % more pay flows on
/// SQLite (`bench/`), its peak RSS 60–64 MiB against 55, still within the goal of 64; its
/// settings are in `.cargo/config.toml`. SQLite's own allocations still go to glibc's malloc.
/// mimalloc was faster still but took peak RSS to 250 MiB.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
