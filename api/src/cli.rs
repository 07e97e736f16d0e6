//! The `tablepay` command line: `serve` and `migrate`.

use std::net::TcpListener;
use std::process::ExitCode;

use crate::settings::Settings;
use crate::{AppState, idempotency, secrets};
use tablepay_store::Store;

const USAGE: &str = "usage: tablepay <command>

commands:
  serve     apply migrations and serve the API (TABLEPAY_BIND, default 127.0.0.1:8080)
  migrate   apply pending database migrations and exit
  demo      create a demo venue with tables and an open bill; print its keys and a QR code
            a phone scans (--public-url URL: the address phones reach the server on)

configuration (environment):
  DATABASE_URL           sqlite://./tablepay.db (default) or postgres://user@host/db
  TABLEPAY_BIND          address to listen on, default 127.0.0.1:8080
  TABLEPAY_ADMIN_TOKEN   platform operator's token; generated and printed once when unset
  TABLEPAY_PUBLIC_URL    base of guest URLs, default http://<TABLEPAY_BIND>
  TABLEPAY_DB_POOL_SIZE  database connections, default 10
  TABLEPAY_HTTP_WORKERS  HTTP worker threads, default 2
  TABLEPAY_LOG_FORMAT    human (default) or json
  TABLEPAY_GUEST_ORIGIN  origin of the guest web page allowed by CORS
  RUST_LOG               log filter, default info
  (the main ones; the README's Configuration section lists every variable: rate limits,
  trusted proxies, Stripe keys, webhook retries, holds, metrics token, …)";

/// Runs the command named by the process arguments; the `tablepay` binary is this.
pub fn main() -> ExitCode {
    let command = std::env::args().nth(1);
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(message) => {
            eprintln!("tablepay: invalid configuration: {message}");
            return ExitCode::from(2);
        }
    };
    // The demo's own in-process server would log a listening address that is not the one to
    // open: only warnings, unless RUST_LOG says otherwise.
    init_logging(settings.json_logs, if command.as_deref() == Some("demo") { "warn" } else { "info" });
    let result = match command.as_deref() {
        Some("serve") => serve(settings),
        Some("migrate") => migrate(&settings),
        Some("demo") => open_db(&settings).and_then(|db| crate::demo::run(settings, db)),
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tablepay: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(json: bool, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into());
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
}

fn open_db(settings: &Settings) -> anyhow::Result<Store> {
    let db = Store::connect(&settings.database_url, settings.db_pool_size)?;
    let applied = db.migrate()?;
    tracing::info!(backend = db.backend(), applied, "database ready");
    Ok(db)
}

fn migrate(settings: &Settings) -> anyhow::Result<()> {
    open_db(settings).map(|_| ())
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    let db = open_db(&settings)?;
    let admin_token = match &settings.admin_token {
        Some(token) => token.clone(),
        None => {
            let token = format!("tp_admin_{}", secrets::random_token(24));
            println!("No TABLEPAY_ADMIN_TOKEN set; generated one for this run (shown once):\n  {token}");
            token
        }
    };
    let listener =
        TcpListener::bind(settings.bind).map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind))?;
    println!("tablepay listening on http://{} ({} database)", listener.local_addr()?, db.backend());
    let state = AppState::new(db.clone(), settings, admin_token)?;
    actix_web::rt::System::new().block_on(async move {
        let running = crate::serve(listener, state)?;
        actix_web::rt::spawn(purge_idempotency_records(db));
        // On SIGTERM or SIGINT: stop accepting and drain in-flight requests (bounded). The
        // live streams end at once, or the draining would wait out its bound for them.
        let (streams, handle) = (running.state.clone(), running.server.handle());
        actix_web::rt::spawn(async move {
            stop_signal().await;
            tracing::info!("stopping: no new connections; finishing the requests in flight");
            streams.close_streams();
            tokio::select! {
                _ = handle.stop(true) => {}
                _ = stop_signal() => {
                    tracing::warn!("a second signal: stopping at once");
                    std::process::exit(130);
                }
            }
        });
        // Returns after SIGTERM or SIGINT, once in-flight requests finished (bounded).
        running.server.await?;
        running.state.stop_background(std::time::Duration::from_secs(15)).await;
        tracing::info!("stopped");
        anyhow::Ok(())
    })
}

/// SIGTERM or SIGINT.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Forgets idempotent answers past their retention, hourly.
async fn purge_idempotency_records(db: Store) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match idempotency::purge_expired(&db, tablepay_store::now()).await {
            Ok(n) if n > 0 => tracing::info!(purged = n, "expired idempotency records removed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not purge idempotency records"),
        }
    }
}
