//! Spawns the real server on a free port over a fresh database, SQLite file or PostgreSQL
//! database, and talks to it over real HTTP.

use std::net::TcpListener;
use std::path::PathBuf;

use diesel::{Connection, RunQueryDsl, pg::PgConnection};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tablepay_api::settings::Settings;
use tablepay_api::{AppState, serve};
use tablepay_store::Store;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs one test body against one backend. PostgreSQL that cannot be reached fails the test
/// under `CI=true` and skips it, saying why, elsewhere.
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}
pub(crate) use backend_tests;

/// A running server and where its data lives; dropping it stops the server and removes the
/// database.
pub struct TestApp {
    pub address: String,
    /// The database this app serves, for a second server process on it.
    pub database_url: String,
    /// The app's own handle on it (to count the SQL a request costs).
    pub db: Store,
    pub client: reqwest::Client,
    pub backend: Backend,
    handle: actix_web::dev::ServerHandle,
    cleanup: Cleanup,
}

enum Cleanup {
    None,
    SqliteFile(PathBuf),
    PgDatabase { admin_url: String, name: String },
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if matches!(self.cleanup, Cleanup::None) {
            return;
        }
        drop(self.handle.stop(false));
        self.cleanup.run();
    }
}

impl Cleanup {
    fn run(&self) {
        match self {
            Cleanup::None => {}
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm", ".migrate-lock"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::PgDatabase { admin_url, name } => {
                if let Ok(mut conn) = PgConnection::establish(admin_url) {
                    let _ =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn);
                }
            }
        }
    }
}

/// A new, empty database (no tables yet) of `backend`, removed again on drop; `None` where
/// PostgreSQL is unreachable outside CI (the reason is printed).
pub struct FreshDatabase {
    pub url: String,
    cleanup: Cleanup,
}

impl FreshDatabase {
    pub async fn new(backend: Backend) -> Option<FreshDatabase> {
        let (url, cleanup) = match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("tablepay-test-{}.db", uuid::Uuid::new_v4().simple()));
                (format!("sqlite://{}", path.display()), Cleanup::SqliteFile(path))
            }
            Backend::Postgres => {
                let (admin_url, url, name) = tokio::task::spawn_blocking(fresh_pg_database).await.expect("join")?;
                (url, Cleanup::PgDatabase { admin_url, name })
            }
        };
        Some(FreshDatabase { url, cleanup })
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        self.cleanup.run();
    }
}

fn pg_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG.to_owned())
}

/// A fresh, empty PostgreSQL database, or `None` (with the reason printed) when the server
/// is not there and we are not in CI.
fn fresh_pg_database() -> Option<(String, String, String)> {
    let admin_url = pg_admin_url();
    let mut conn = match PgConnection::establish(&admin_url) {
        Ok(c) => c,
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL is required in CI but {admin_url} is unreachable: {e}");
            }
            eprintln!("skipping PostgreSQL test: {admin_url} is unreachable ({e}); set TEST_DATABASE_URL");
            return None;
        }
    };
    let name = format!("tablepay_test_{}", uuid::Uuid::new_v4().simple());
    diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn).expect("create test database");
    let base = admin_url.rsplit_once('/').map(|(b, _)| b.to_owned()).expect("database URL has a path");
    Some((admin_url, format!("{base}/{name}"), name))
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, &[]).await
}

/// Starts the app with extra environment settings.
pub async fn spawn_app_with(backend: Backend, env: &[(&str, &str)]) -> Option<TestApp> {
    let mut fresh = FreshDatabase::new(backend).await?;
    let (database_url, cleanup) = (fresh.url.clone(), std::mem::replace(&mut fresh.cleanup, Cleanup::None));
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let address = format!("http://{}", listener.local_addr().expect("local address"));
    let mut vars: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), database_url),
        ("TABLEPAY_ADMIN_TOKEN".into(), ADMIN_TOKEN.into()),
        ("TABLEPAY_PUBLIC_URL".into(), "https://pay.example.test".into()),
        ("TABLEPAY_DB_POOL_SIZE".into(), "8".into()),
    ];
    vars.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let url_for_processes = vars[0].1.clone();
    let settings = Settings::from_lookup(|name| vars.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        .expect("test settings are valid");
    let db = tokio::task::spawn_blocking({
        let settings = settings.clone();
        move || {
            let db = Store::connect(&settings.database_url, settings.db_pool_size)?;
            db.migrate()?;
            anyhow::Ok(db)
        }
    })
    .await
    .expect("join")
    .expect("database opens and migrates");
    let state = AppState::new(db, settings, ADMIN_TOKEN.into()).expect("state builds");
    let running = serve(listener, state).expect("server starts");
    let db = running.state.db.clone();
    let handle = running.server.handle();
    tokio::spawn(running.server);
    Some(TestApp {
        address,
        database_url: url_for_processes,
        db,
        client: reqwest::Client::new(),
        backend,
        handle,
        cleanup,
    })
}

/// What a response said.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// Asserts an RFC 9457 problem with this status and code.
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{:?}", self.body);
        let content_type = self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(content_type.starts_with("application/problem+json"), "content type {content_type:?}");
        assert_eq!(self.body["code"], code, "{:?}", self.body);
        assert_eq!(self.body["status"], status);
        assert_eq!(self.body["type"], format!("https://tablepay.dev/errors/{code}"));
        assert!(self.body["title"].is_string() && self.body["detail"].is_string());
    }

    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected answer {:?}", self.body);
        self.body
    }
}

/// A venue created through the API with its POS and manager keys.
#[derive(Debug, Clone)]
pub struct Venue {
    pub id: String,
    pub pos_key: String,
    pub manager_key: String,
    pub body: Value,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Sends a request; `body` goes as JSON, `key` as a bearer credential.
    pub async fn call(&self, method: Method, path: &str, key: Option<&str>, body: Option<Value>) -> Answer {
        self.call_with(method, path, key, body, &[]).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.client.request(method, self.url(path));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request reaches the server");
        read(response).await
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> Answer {
        self.call(Method::GET, path, key, None).await
    }

    pub async fn post(&self, path: &str, key: Option<&str>, body: Value) -> Answer {
        self.call(Method::POST, path, key, Some(body)).await
    }

    pub async fn create_venue(
        &self,
        currency: &str,
        tax_mode: &str,
        tax_rate_bps: i64,
        service_charge_bps: i64,
    ) -> Venue {
        self.create_venue_from(json!({"name": format!("Venue {currency}"), "currency": currency, "tax_mode": tax_mode,
                       "tax_rate_bps": tax_rate_bps, "service_charge_bps": service_charge_bps}))
            .await
    }

    /// Creates a venue from a full `POST /v1/venues` body.
    pub async fn create_venue_from(&self, request: Value) -> Venue {
        let body = self.post("/v1/venues", Some(ADMIN_TOKEN), request).await.expect(201);
        Venue {
            id: body["venue"]["id"].as_str().expect("venue id").to_owned(),
            pos_key: body["api_key"]["key"].as_str().expect("pos key").to_owned(),
            manager_key: body["manager_key"]["key"].as_str().expect("manager key").to_owned(),
            body,
        }
    }

    /// Creates a table; returns its JSON.
    pub async fn create_table(&self, venue: &Venue, label: &str) -> Value {
        self.post(&format!("/v1/venues/{}/tables", venue.id), Some(&venue.pos_key), json!({"label": label}))
            .await
            .expect(201)
    }

    /// Opens a bill on a new table with these items; returns the bill.
    pub async fn open_bill(&self, venue: &Venue, label: &str, items: Value) -> Value {
        let table = self.create_table(venue, label).await;
        self.post(
            &format!("/v1/venues/{}/bills", venue.id),
            Some(&venue.pos_key),
            json!({"table_id": table["id"], "items": items}),
        )
        .await
        .expect(201)
    }
}

pub async fn read(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
    Answer { status, headers, body }
}

impl TestApp {
    /// A guest's payment request on the table behind `qr`.
    pub async fn pay(&self, qr: &str, body: Value) -> Answer {
        self.post(&format!("/v1/t/{qr}/payments"), None, body).await
    }

    /// Confirms a sandbox payment with a test card.
    pub async fn confirm(&self, payment_id: &str, card: &str) -> Answer {
        self.post(&format!("/v1/sandbox/payments/{payment_id}/confirm"), None, json!({"card_number": card})).await
    }

    /// The guest's view of the table.
    pub async fn guest(&self, qr: &str) -> Value {
        self.get(&format!("/v1/t/{qr}"), None).await.expect(200)
    }
}

pub const CARD_OK: &str = "4242424242424242";
pub const CARD_DECLINED: &str = "4000000000000002";
pub const CARD_NO_FUNDS: &str = "4000000000009995";

/// Opens a bill on a new table and returns (bill, qr token).
pub async fn bill_with_qr(app: &TestApp, venue: &Venue, label: &str, items: Value) -> (Value, String) {
    let table = app.create_table(venue, label).await;
    let bill = app
        .post(
            &format!("/v1/venues/{}/bills", venue.id),
            Some(&venue.pos_key),
            json!({"table_id": table["id"], "items": items}),
        )
        .await
        .expect(201);
    (bill, table["qr_token"].as_str().expect("token").to_owned())
}

/// `tablepay serve` as a separate process of its own, on a given database.
pub struct ServerProcess {
    pub address: String,
    child: std::process::Child,
}

impl ServerProcess {
    pub async fn start(database_url: &str, env: &[(&str, &str)]) -> ServerProcess {
        let port = TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("address").port();
        let bind = format!("127.0.0.1:{port}");
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tablepay-under-test"));
        command
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("TABLEPAY_BIND", &bind)
            .env("TABLEPAY_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null());
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command.spawn().expect("tablepay starts");
        let mut server = ServerProcess { address: format!("http://{bind}"), child };
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if client.get(format!("{}/healthz", server.address)).send().await.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            if let Some(status) = server.child.try_wait().expect("wait") {
                panic!("tablepay on {bind} exited with {status} before it was up");
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("tablepay did not start on {bind}");
    }

    /// SIGTERM, then waits up to `within` for the process to exit; its exit code, or `None`
    /// when it was still running (it is killed then).
    pub async fn terminate(&mut self, within: std::time::Duration) -> Option<i32> {
        self.signal("TERM");
        self.exit_code(within).await
    }

    /// Sends a signal (`TERM`, `INT`, …).
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let sent = std::process::Command::new("kill").args([&format!("-{name}"), &pid]).status().expect("kill runs");
        assert!(sent.success());
    }

    /// Waits up to `within` for the process to exit; its exit code, or `None` when it was
    /// still running (it is killed then).
    pub async fn exit_code(&mut self, within: std::time::Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some(status.code().unwrap_or(-1));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        self.kill();
        None
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

impl TestApp {
    /// The same test helpers, aimed at another server on the same database.
    pub fn aimed_at(&self, address: &str) -> TestApp {
        TestApp {
            address: address.to_owned(),
            database_url: self.database_url.clone(),
            db: self.db.clone(),
            client: self.client.clone(),
            backend: self.backend,
            handle: self.handle.clone(),
            cleanup: Cleanup::None,
        }
    }
}
