//! `tablepay-bench`: starts tablepay as a process on SQLite (or PostgreSQL with
//! `--database-url`), seeds venues, tables and bills of 5–30 items, drives it over HTTP with
//! a fixed number of concurrent connections, prints one table and writes JSON to
//! `bench/results/`.
//!
//! Every figure that is compared with a goal is a ratio measured in the same run: the guest
//! bill read against the server's own `/healthz` (the framework's ceiling), the pay flow
//! against the database's own ceiling of one-row write transactions at the same
//! concurrency.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use hdrhistogram::Histogram;
use serde_json::{Value, json};

mod phases;

const ADMIN: &str = "bench-admin-token-0123456789";
/// Consecutive flows of one worker land on bills far apart, so workers rarely wait on the
/// same bill's lock.
const STRIDE: usize = 61;

struct Options {
    database_url: Option<String>,
    seconds: u64,
    connections: usize,
    out: PathBuf,
    /// Measure the pay flow alone (for working on it): no other phase, no RSS row.
    only_pay: bool,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        database_url: None,
        seconds: 10,
        connections: 32,
        out: PathBuf::from("bench/results"),
        only_pay: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().context(format!("{arg} needs a value"));
        match arg.as_str() {
            "--database-url" => o.database_url = Some(value()?),
            "--seconds" => o.seconds = value()?.parse()?,
            "--connections" => o.connections = value()?.parse()?,
            "--out" => o.out = PathBuf::from(value()?),
            "--only-pay" => o.only_pay = true,
            "-h" | "--help" => {
                println!(
                    "usage: tablepay-bench [--database-url postgres://…] [--seconds 10] [--connections 32] [--out bench/results] [--only-pay]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(o)
}

/// The server process and where its data lives.
struct Server {
    base: String,
    child: Child,
    database_url: String,
    backend: &'static str,
    cleanup: Option<(String, String)>,
    sqlite_path: Option<PathBuf>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some((admin, name)) = &self.cleanup
            && let Ok(mut c) = PgConnection::establish(admin)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut c);
        }
        if let Some(path) = &self.sqlite_path {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resets the peak resident set size the kernel tracks for the server.
    fn reset_peak_rss(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5");
    }

    /// Peak resident set size since the last reset, in MiB.
    fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start_server(database_url: Option<&str>) -> anyhow::Result<Server> {
    let (url, backend, cleanup, sqlite_path) = match database_url {
        Some(admin) if admin.starts_with("postgres") => {
            let name = format!("tablepay_bench_{}", uuid::Uuid::new_v4().simple());
            let mut c = PgConnection::establish(admin).context("connect to PostgreSQL")?;
            diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut c)?;
            let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).context("database URL needs a path")?;
            (format!("{base}/{name}"), "postgres", Some((admin.to_owned(), name)), None)
        }
        Some(other) => bail!("--database-url must be a postgres:// URL (SQLite is the default), got {other}"),
        None => {
            let path = std::env::temp_dir().join(format!("tablepay-bench-{}.db", uuid::Uuid::new_v4().simple()));
            (format!("sqlite://{}", path.display()), "sqlite", None, Some(path))
        }
    };
    let exe = server_binary()?;
    let port = free_port();
    let child = Command::new(&exe)
        .arg("serve")
        .env("DATABASE_URL", &url)
        .env("TABLEPAY_BIND", format!("127.0.0.1:{port}"))
        .env("TABLEPAY_ADMIN_TOKEN", ADMIN)
        .env("TABLEPAY_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
        .env("TABLEPAY_DB_POOL_SIZE", "16")
        // The benchmark measures capacity, not the guest rate limits.
        .env("TABLEPAY_RATE_LIMIT_TABLE", "1000000")
        .env("RUST_LOG", "warn")
        // As recommended for production in the README: glibc's per-thread arenas otherwise keep
        // freed memory of every blocking thread.
        .env("MALLOC_ARENA_MAX", std::env::var("MALLOC_ARENA_MAX").unwrap_or_else(|_| "2".into()))
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("start {}", exe.display()))?;
    let server =
        Server { base: format!("http://127.0.0.1:{port}"), child, database_url: url, backend, cleanup, sqlite_path };
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{}/readyz", server.base)).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(server);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the server did not become ready")
}

/// The server binary beside this one. `cargo run -p tablepay-bench` builds only the load
/// generator, so when cargo started us (it sets `CARGO`) the server is built, or brought up to
/// date, with the same cargo and profile first: a fresh clone works, and a changed server is
/// never measured stale. Started directly, the binary beside us is used as it is.
fn server_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?.with_file_name("tablepay-bench-server");
    if let Ok(cargo) = std::env::var("CARGO") {
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "-p", "tablepay-bench", "--bin", "tablepay-bench-server"]);
        // `cargo run` describes this package to it in the environment; build scripts that watch
        // such variables would see them change and rebuild half the dependencies every run.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CRATE_", "CARGO_BIN_", "CARGO_PRIMARY_"]
                .iter()
                .any(|prefix| name.starts_with(prefix))
                || name == "OUT_DIR"
            {
                build.env_remove(name.as_ref());
            }
        }
        if !cfg!(debug_assertions) {
            build.arg("--release");
        }
        let status = build.status().context("run cargo to build tablepay-bench-server")?;
        if !status.success() {
            bail!("building tablepay-bench-server failed ({status})");
        }
    }
    if !exe.exists() {
        bail!("{} is missing: `cargo build --release -p tablepay-bench --bins` builds it", exe.display());
    }
    Ok(exe)
}

/// A small deterministic generator, so every run seeds the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await?;
        let status = res.status();
        let value: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{path}: {status} {value}");
        }
        Ok(value)
    }

    /// A GET whose body is read in full but not parsed: the load generator shares the cores
    /// with the server, and parsing JSON it throws away would be counted against the server.
    async fn fetch(&self, path: &str) -> anyhow::Result<()> {
        let res = self.client.get(format!("{}{path}", self.base)).send().await?;
        let status = res.status();
        let body = res.bytes().await?;
        if !status.is_success() || body.is_empty() {
            bail!("{path}: {status}");
        }
        Ok(())
    }

    async fn post(&self, path: &str, key: Option<&str>, body: Value) -> anyhow::Result<Value> {
        self.send(reqwest::Method::POST, path, key, Some(&body)).await
    }

    /// The server's database work so far, from `/metrics`: (SQL statements, write transactions).
    async fn database_work(&self) -> anyhow::Result<(u64, u64)> {
        let text = self.client.get(format!("{}/metrics", self.base)).send().await?.text().await?;
        let counter = |name: &str| -> anyhow::Result<u64> {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
                .ok_or_else(|| anyhow::anyhow!("/metrics has no {name}"))
        };
        Ok((counter("tablepay_db_statements_total ")?, counter("tablepay_db_write_transactions_total ")?))
    }

    /// Starts counting the database work of what follows (see [`Work::per`]).
    async fn count_work(&self) -> anyhow::Result<Work> {
        let first = self.database_work().await?;
        let start = self.database_work().await?;
        // What one scrape itself costs (its gauges read the database).
        Ok(Work { start, scrape: (start.0 - first.0, start.1 - first.1) })
    }
}

/// Database work counted from a start, net of the scrapes that count it.
struct Work {
    start: (u64, u64),
    scrape: (u64, u64),
}

impl Work {
    /// (SQL statements, write transactions) per operation, over `operations` since the start.
    async fn per(&self, api: &Api, operations: u64) -> anyhow::Result<(f64, f64)> {
        let end = api.database_work().await?;
        let n = operations.max(1) as f64;
        let statements = end.0.saturating_sub(self.start.0 + self.scrape.0) as f64 / n;
        let writes = end.1.saturating_sub(self.start.1 + self.scrape.1) as f64 / n;
        Ok((statements, writes))
    }
}

struct Venue {
    id: String,
    pos: String,
    manager: String,
    /// (qr token, bill id) of each table.
    tables: Vec<(String, String)>,
}

/// One venue with `tables` tables, each with an open bill of 5–30 items.
async fn seed_venue(api: &Api, rng: &mut Rng, tables: usize, name: &str) -> anyhow::Result<Venue> {
    let v = api
        .post("/v1/venues", Some(ADMIN), json!({"name": name, "currency": "EUR", "tax_mode": "exclusive", "tax_rate_bps": 1000, "service_charge_bps": 500}))
        .await?;
    let mut venue = Venue {
        id: v["venue"]["id"].as_str().unwrap().to_owned(),
        pos: v["api_key"]["key"].as_str().unwrap().to_owned(),
        manager: v["manager_key"]["key"].as_str().unwrap().to_owned(),
        tables: Vec::new(),
    };
    for t in 0..tables {
        let table = api
            .post(&format!("/v1/venues/{}/tables", venue.id), Some(&venue.pos), json!({"label": format!("T{t:04}")}))
            .await?;
        let count = 5 + rng.next(26) as usize;
        let items: Vec<Value> = (0..count)
            .map(|i| json!({"name": format!("Dish {i}"), "quantity": 1 + rng.next(3), "unit_price": 300 + rng.next(3000)}))
            .collect();
        let bill = api
            .post(
                &format!("/v1/venues/{}/bills", venue.id),
                Some(&venue.pos),
                json!({"table_id": table["id"], "items": items}),
            )
            .await?;
        venue.tables.push((table["qr_token"].as_str().unwrap().to_owned(), bill["id"].as_str().unwrap().to_owned()));
    }
    Ok(venue)
}

/// Latencies and a count, measured by `connections` workers until `deadline`.
struct Load {
    histogram: Histogram<u64>,
    done: u64,
    errors: u64,
    elapsed: Duration,
}

impl Load {
    fn per_second(&self) -> f64 {
        self.done as f64 / self.elapsed.as_secs_f64()
    }

    fn p(&self, q: f64) -> f64 {
        self.histogram.value_at_quantile(q) as f64 / 1000.0
    }
}

/// Runs `op(worker, n)` in `connections` concurrent loops for `seconds`.
async fn drive<F, Fut>(connections: usize, seconds: u64, op: F) -> Load
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    let histogram = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap()));
    let (done, errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..connections)
        .map(|w| {
            let (op, histogram, done, errors) = (op.clone(), histogram.clone(), done.clone(), errors.clone());
            tokio::spawn(async move {
                let mut local = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
                let mut n = 0;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match op(w, n).await {
                        Ok(()) => {
                            let _ = local.record(t.elapsed().as_micros() as u64);
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    n += 1;
                }
                histogram.lock().unwrap().add(&local).unwrap();
            })
        })
        .collect();
    futures_util::future::join_all(workers).await;
    let histogram = histogram.lock().unwrap().clone();
    Load {
        histogram,
        done: done.load(Ordering::Relaxed),
        errors: errors.load(Ordering::Relaxed),
        elapsed: start.elapsed(),
    }
}

/// The database's own ceiling: one-row `UPDATE …; COMMIT` transactions at the same
/// concurrency, on the same database, with the server's connection settings.
fn db_ceiling(url: &str, connections: usize, seconds: u64) -> anyhow::Result<f64> {
    let sqlite = url.strip_prefix("sqlite://").map(str::to_owned);
    let setup = |c: &mut dyn SimpleConnection| -> anyhow::Result<()> {
        c.batch_execute("CREATE TABLE IF NOT EXISTS bench_ceiling (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)")?;
        Ok(())
    };
    // The server may still be writing (its sweeper, its webhook worker): wait for the lock.
    let sqlite_conn = |path: &str| -> anyhow::Result<SqliteConnection> {
        let mut c = SqliteConnection::establish(path)?;
        c.batch_execute("PRAGMA busy_timeout = 10000;")?;
        Ok(c)
    };
    match &sqlite {
        Some(path) => setup(&mut sqlite_conn(path)?)?,
        None => setup(&mut PgConnection::establish(url)?)?,
    }
    for id in 0..connections {
        let sql = format!("INSERT INTO bench_ceiling (id, n) VALUES ({id}, 0) ON CONFLICT (id) DO NOTHING");
        match &sqlite {
            Some(path) => sqlite_conn(path)?.batch_execute(&sql)?,
            None => PgConnection::establish(url)?.batch_execute(&sql)?,
        }
    }
    let count = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let threads: Vec<_> = (0..connections)
        .map(|id| {
            let (count, url, sqlite) = (count.clone(), url.to_owned(), sqlite.clone());
            std::thread::spawn(move || -> anyhow::Result<()> {
                let update = format!("UPDATE bench_ceiling SET n = n + 1 WHERE id = {id}");
                match sqlite {
                    Some(path) => {
                        let mut c = SqliteConnection::establish(&path)?;
                        c.batch_execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000;",
                        )?;
                        while Instant::now() < deadline {
                            c.batch_execute(&format!("BEGIN IMMEDIATE; {update}; COMMIT;"))?;
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    None => {
                        let mut c = PgConnection::establish(&url)?;
                        while Instant::now() < deadline {
                            c.batch_execute(&format!("BEGIN; {update}; COMMIT;"))?;
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join().map_err(|_| anyhow::anyhow!("ceiling thread panicked"))??;
    }
    Ok(count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64())
}

/// When each webhook arrived, with its body.
type Arrivals = Arc<Mutex<Vec<(SystemTime, Value)>>>;

/// A local webhook receiver that notes when each `table.settled` arrives.
fn start_receiver() -> (String, Arrivals) {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let got: Arrivals = Arc::default();
    let data = web::Data::from(got.clone());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        App::new().app_data(data.clone()).default_service(web::to(
            |body: web::Bytes, got: web::Data<Mutex<Vec<(SystemTime, Value)>>>| async move {
                let at = SystemTime::now();
                if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                    got.lock().unwrap().push((at, v));
                }
                HttpResponse::Ok().finish()
            },
        ))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (url, got)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let o = options()?;
    let server = start_server(o.database_url.as_deref()).await?;
    let api = Arc::new(Api {
        base: server.base.clone(),
        client: reqwest::Client::builder().pool_max_idle_per_host(o.connections).build()?,
    });
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut report = phases::Report::default();
    println!(
        "tablepay-bench: {} backend, {} connections, {} s per measurement",
        server.backend, o.connections, o.seconds
    );

    // Seed: 4 venues × 50 tables × a bill of 5–30 items.
    let mut venues = Vec::new();
    for v in 0..4 {
        venues.push(seed_venue(&api, &mut rng, 50, &format!("Bench {v}")).await?);
    }
    if o.only_pay {
        phases::pay_flow(&o, &server, &api, &venues, &mut report).await?;
    } else {
        let read_rss = phases::guest_read(&o, &server, &api, &venues, &mut report).await?;
        let pay_rss = phases::pay_flow(&o, &server, &api, &venues, &mut report).await?;
        let hook_rss = phases::settle_to_webhook(&server, &api, &mut rng, &mut report).await?;
        let floor_rss = phases::floor_view(&server, &api, &mut rng, &mut report).await?;
        report.rows.push((
            "peak RSS (MiB)".into(),
            format!(
                "read {read_rss:.1}, pay {pay_rss:.1}, webhooks {hook_rss:.1}, floor {floor_rss:.1} (goal ≤ 64 on SQLite)"
            ),
        ));
    }

    println!();
    let width = report.rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    for (k, v) in &report.rows {
        println!("| {k:<width$} | {v} |");
    }
    std::fs::create_dir_all(&o.out)?;
    let file = o.out.join(format!("{}.json", server.backend));
    let json_report = json!({
        "backend": server.backend, "connections": o.connections, "seconds": o.seconds,
        "at": chrono::Utc::now().to_rfc3339(), "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "results": report.results,
    });
    std::fs::write(&file, serde_json::to_string_pretty(&json_report)?)?;
    println!("\nwritten to {}", file.display());
    Ok(())
}
