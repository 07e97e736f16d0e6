//! tablepay's persistence: diesel over PostgreSQL and SQLite, one connection type for both,
//! pooled, with the embedded migrations. Everything that speaks SQL lives in this crate;
//! every difference between the two backends lives in [`dialect`].
//!
//! Diesel is synchronous, so every query runs on the blocking pool through [`Store::run`] or
//! [`Store::write`], never on an async worker.

pub mod adjustments;
pub mod assistance;
pub mod audit;
pub mod bills;
pub mod changes;
pub mod dialect;
pub mod endpoints;
pub mod error;
pub mod floor;
mod group;
pub mod idempotency;
pub mod issued;
pub mod outbox;
pub mod payments;
mod prepared;
pub mod refunds;
pub mod rows;
pub mod schema;
pub mod staff;
pub mod tables;
pub mod tenders;
pub mod venues;

pub use dialect::{lock_bill, now, unique_violation, write_transaction};
pub use error::{StoreError, StoreResult};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use changes::{Generations, Touched};
use outbox::Emitted;

use diesel::Connection;
use diesel::connection::{InstrumentationEvent, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, Pool};
use diesel::result::DatabaseErrorKind;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// One folder of portable SQL serves both backends: every statement in it means the same on
/// PostgreSQL and SQLite (text ids, BIGINT money, TIMESTAMP in UTC, partial unique indexes).
const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

/// A connection to whichever backend `DATABASE_URL` names.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Where the data lives, parsed from `DATABASE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    /// A file path (the `sqlite://` prefix removed).
    Sqlite(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<DatabaseUrl, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgres(url.to_owned()))
        } else if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            if path.is_empty() {
                return Err("DATABASE_URL: sqlite:// needs a file path, e.g. sqlite://./tablepay.db".into());
            }
            Ok(DatabaseUrl::Sqlite(path.to_owned()))
        } else {
            Err(format!("DATABASE_URL must start with sqlite:// or postgres://, got {:?}", redact(url)))
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            DatabaseUrl::Postgres(_) => "postgres",
            DatabaseUrl::Sqlite(_) => "sqlite",
        }
    }
}

/// Hides a password in a URL before it is printed.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***{}", &url[..scheme], &url[at..]),
        _ => url.to_owned(),
    }
}

/// Opens connections of the configured backend (the derive's own `establish` would try
/// every backend in turn, and SQLite would happily create a file named after a bad URL).
#[derive(Debug, Clone)]
pub struct Manager {
    url: DatabaseUrl,
    /// Counts every SQL statement run, for tests and benchmarks that show a route's cost (the
    /// pool's own tests of idle connections aside).
    queries: Arc<AtomicU64>,
    /// When a statement last found one of the pool's connections closed (see [`Deaths`]).
    deaths: Arc<Deaths>,
}

/// When a statement last found a connection closed. The others were most likely lost with it
/// (the server restarted, a proxy went away), so every connection back in the pool before
/// then is tested before its next use, however recently it worked.
#[derive(Debug)]
struct Deaths {
    since: Instant,
    /// Nanoseconds after `since`; 0 for never.
    last: AtomicU64,
}

impl Deaths {
    fn new() -> Deaths {
        Deaths { since: Instant::now(), last: AtomicU64::new(0) }
    }

    fn now(&self) {
        let at = u64::try_from(self.since.elapsed().as_nanos()).unwrap_or(u64::MAX).max(1);
        self.last.fetch_max(at, Ordering::Relaxed);
    }

    /// True when no connection was found closed since `instant`.
    fn none_since(&self, instant: Instant) -> bool {
        match self.last.load(Ordering::Relaxed) {
            0 => true,
            nanos => instant > self.since + Duration::from_nanos(nanos),
        }
    }
}

/// A pooled connection with what the pool knows of its health.
pub struct Pooled {
    conn: DbConn,
    /// Set when a statement found the connection closed or could not be sent on it: the pool
    /// drops it when it comes back.
    closed: Arc<AtomicBool>,
    /// When it last came back to the pool in working order.
    returned: Instant,
}

impl std::ops::Deref for Pooled {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        &self.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.conn
    }
}

/// A connection that came back to the pool this recently is handed out again without a
/// `SELECT 1`: it worked a moment ago (HikariCP's `aliveBypassWindowMs`, 500 ms by default,
/// does the same). One that died since fails the statement that finds it; it is dropped, and
/// the pool's other connections are tested before their next use (see [`Deaths`]).
const ALIVE_WITHOUT_TEST: Duration = Duration::from_millis(500);

thread_local! {
    /// The pool is testing a connection: its `SELECT 1` is not the application's SQL, and is
    /// not counted (whether it runs depends on how long the connection idled).
    static TESTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Counts every statement on `counter` but the pool's tests; marks `closed` and notes the
/// death when one finds the connection gone.
fn instrument<C: Connection>(conn: &mut C, counter: &Arc<AtomicU64>, closed: &Arc<AtomicBool>, deaths: &Arc<Deaths>) {
    let (counter, closed, deaths) = (counter.clone(), closed.clone(), deaths.clone());
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| match event {
        InstrumentationEvent::StartQuery { .. } if !TESTING.with(std::cell::Cell::get) => {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        InstrumentationEvent::FinishQuery {
            error:
                Some(diesel::result::Error::DatabaseError(
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                    _,
                )),
            ..
        } => {
            closed.store(true, Ordering::Relaxed);
            deaths.now();
        }
        _ => {}
    });
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Pooled, r2d2::Error> {
        let closed = Arc::new(AtomicBool::new(false));
        let conn = match &self.url {
            DatabaseUrl::Postgres(url) => {
                let mut conn = PgConnection::establish(url).map_err(r2d2::Error::ConnectionError)?;
                instrument(&mut conn, &self.queries, &closed, &self.deaths);
                DbConn::Pg(conn)
            }
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
                instrument(&mut conn, &self.queries, &closed, &self.deaths);
                // `synchronous = FULL`: a commit returns once the log is on disk, so a payment
                // answered as taken survives a power cut or a kernel crash. (With `NORMAL` the log
                // is synced only at checkpoints, every 1 000 pages, and a quiet venue's last
                // payments could be lost.) Writers are committed in groups (see [`group`]), so
                // this is one sync per group; the pay-flow benchmark measured no cost.
                // `temp_store = MEMORY`: the savepoint of each writer in a group commit keeps
                // its journal in memory, not in a temporary file opened and deleted per batch.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
                )
                .map_err(r2d2::Error::QueryError)?;
                DbConn::Sqlite(conn)
            }
        };
        Ok(Pooled { conn, closed, returned: Instant::now() })
    }

    /// Tests with `SELECT 1` a connection that has idled for [`ALIVE_WITHOUT_TEST`] or longer,
    /// or came back before another was found closed.
    fn is_valid(&self, conn: &mut Pooled) -> Result<(), r2d2::Error> {
        if conn.returned.elapsed() < ALIVE_WITHOUT_TEST && self.deaths.none_since(conn.returned) {
            return Ok(());
        }
        TESTING.with(|t| t.set(true));
        let tested = conn.conn.batch_execute("SELECT 1").map_err(r2d2::Error::QueryError);
        TESTING.with(|t| t.set(false));
        tested
    }

    fn has_broken(&self, conn: &mut Pooled) -> bool {
        let broken = conn.closed.load(Ordering::Relaxed)
            || <DbConn as Connection>::TransactionManager::is_broken_transaction_manager(&mut conn.conn);
        if !broken {
            conn.returned = Instant::now();
        }
        broken
    }
}

pub type DbPool = Pool<Manager>;

/// A new id for a stored row: a UUIDv7 as text, so ids sort by creation time on both backends.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

/// What a process hears about committed changes: its own at commit, other processes' through
/// [`dialect::watch_other_processes`].
#[derive(Debug)]
pub struct Signals {
    /// Bumped after every commit that may have written an event (here or in another process):
    /// the live feeds wait on it.
    events: watch::Sender<u64>,
    /// Bumped after every commit that may have made a webhook delivery due: the delivery
    /// worker waits on it.
    deliveries: watch::Sender<u64>,
    /// How far each venue's data has moved: caches of guests' views check it.
    generations: Generations,
    /// Names this process in its `NOTIFY` payloads.
    origin: String,
    /// Write transactions committed through [`Store::write`].
    writes: AtomicU64,
}

impl Signals {
    /// A committed change was heard: caches learn what it touched, listeners of events wake up
    /// when it wrote some, the delivery worker when it made deliveries due.
    pub(crate) fn heard(&self, touched: &Touched, emitted: Emitted) {
        self.generations.moved(touched);
        if emitted.events {
            self.events.send_modify(|n| *n = n.wrapping_add(1));
        }
        if emitted.deliveries {
            self.deliveries.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Other processes' commits cannot be heard (the listener is down): nothing cached is
    /// trusted until [`Signals::hearing_again`].
    pub(crate) fn deaf(&self) {
        self.generations.set_hearing(false);
    }

    /// The listener hears again: whatever was committed while it could not is unknown, so
    /// every cached view is dropped and every listener of events woken.
    pub(crate) fn hearing_again(&self) {
        self.heard(&Touched::Unknown, Emitted::ANYTHING);
        self.generations.set_hearing(true);
    }

    /// This process committed a write: told at once, on the thread that committed it, so that
    /// it is heard even when the caller has stopped waiting.
    pub(crate) fn committed(&self, touched: &Touched, emitted: Emitted) {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.heard(touched, emitted);
    }
}

/// The application's handle on the database.
#[derive(Clone)]
pub struct Store {
    pool: DbPool,
    url: DatabaseUrl,
    signals: Arc<Signals>,
    queries: Arc<AtomicU64>,
    /// SQLite's writers of this process, committed together (see [`group`]); PostgreSQL
    /// writers need no queue: they lock the rows they change.
    group: Option<group::GroupCommit>,
    /// Bills as last committed (see [`bills::Memo`]).
    bills: Arc<bills::Memo>,
}

impl Store {
    /// Builds the pool. `size` connections at most; SQLite serialises writers itself.
    pub fn connect(url: &DatabaseUrl, size: u32) -> anyhow::Result<Store> {
        let queries = Arc::new(AtomicU64::new(0));
        let pool = Pool::builder()
            .max_size(size)
            .connection_timeout(Duration::from_secs(10))
            // A PostgreSQL connection can die with its server or the network, so one that has
            // idled is tested (`SELECT 1`) before use (see [`Manager::is_valid`]); a SQLite
            // connection is a file handle in this process and cannot die that way.
            .test_on_check_out(matches!(url, DatabaseUrl::Postgres(_)))
            .build(Manager { url: url.clone(), queries: queries.clone(), deaths: Arc::new(Deaths::new()) })
            .map_err(|e| anyhow::anyhow!("cannot open the {} database: {e}", url.backend()))?;
        let (events, _) = watch::channel(0);
        let (deliveries, _) = watch::channel(0);
        let signals = Arc::new(Signals {
            events,
            deliveries,
            generations: Generations::default(),
            origin: new_id(),
            writes: AtomicU64::new(0),
        });
        Ok(Store {
            pool,
            url: url.clone(),
            group: matches!(url, DatabaseUrl::Sqlite(_)).then(|| group::GroupCommit::new(signals.clone())),
            signals,
            queries,
            bills: Arc::default(),
        })
    }

    /// SQL statements run through this handle's pool so far.
    pub fn queries_run(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// Write transactions committed through this handle so far.
    pub fn writes_committed(&self) -> u64 {
        self.signals.writes.load(Ordering::Relaxed)
    }

    pub fn backend(&self) -> &'static str {
        self.url.backend()
    }

    /// A receiver that changes whenever events were committed.
    pub fn event_signal(&self) -> watch::Receiver<u64> {
        self.signals.events.subscribe()
    }

    /// A receiver that changes whenever webhook deliveries may have fallen due (a new event for
    /// an endpoint, a manual retry), here or in another process.
    pub fn delivery_signal(&self) -> watch::Receiver<u64> {
        self.signals.deliveries.subscribe()
    }

    /// How far each venue's data has moved, as this process knows (see [`changes`]).
    pub fn generations(&self) -> &Generations {
        &self.signals.generations
    }

    /// Hears what other processes commit (PostgreSQL `NOTIFY`, SQLite `data_version`) and tells
    /// this one's caches and listeners. The watcher stops when the last handle on this
    /// database goes.
    pub fn listen_to_other_processes(&self) {
        let url = self.url.clone();
        let signals = Arc::downgrade(&self.signals);
        std::thread::Builder::new()
            .name("tablepay-listen".into())
            .spawn(move || dialect::watch_other_processes(&url, &signals))
            .map(drop)
            .unwrap_or_else(|e| tracing::error!(error = %e, "cannot start the listener for other processes"));
    }

    /// Applies pending migrations; returns how many ran.
    /// Processes started together take turns (see [`dialect::migrating`]): the first applies
    /// them, the others find nothing pending.
    pub fn migrate(&self) -> anyhow::Result<usize> {
        let mut conn = self.pool.get()?;
        dialect::migrating(&mut conn, &self.url, |conn| {
            match conn {
                DbConn::Pg(c) => c.run_pending_migrations(MIGRATIONS).map(|v| v.len()),
                DbConn::Sqlite(c) => c.run_pending_migrations(MIGRATIONS).map(|v| v.len()),
            }
            .map_err(|e| anyhow::anyhow!("migrations failed: {e}"))
        })
    }

    /// True when every embedded migration has been applied.
    pub fn migrations_current(&self) -> anyhow::Result<bool> {
        let mut conn = self.pool.get()?;
        let pending = match &mut **conn {
            DbConn::Pg(c) => c.has_pending_migration(MIGRATIONS),
            DbConn::Sqlite(c) => c.has_pending_migration(MIGRATIONS),
        }
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(!pending)
    }

    /// Runs read-only or single-statement work on the blocking pool. `E` is the caller's
    /// error: the store's own failures convert into it.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| StoreError::Pool(e.to_string()))?;
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Blocking(e.to_string()))?
    }

    /// [`Store::run`] for reads that need bills as committed, through the bills this process
    /// remembers (see [`bills::Committed`]).
    pub async fn read_committed<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn, &bills::Committed) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let committed = bills::Committed { memo: self.bills.clone() };
        self.run(move |conn| f(conn, &committed)).await
    }

    /// Remembers a bill as a write that has committed left it (see [`bills::Memo`]).
    pub fn remember_bill(&self, record: bills::BillRecord) {
        self.bills.remember(record);
    }

    /// Runs `f` as one write transaction: committed when `f` returns `Ok`, rolled back
    /// otherwise. On PostgreSQL it is a transaction of its own (see
    /// [`dialect::write_transaction`]); on SQLite, a savepoint in a transaction shared with the
    /// other writers queued meanwhile (see [`group`]), which keeps its outcome its own. What it
    /// touched (see [`changes`]) is sent to other processes in it and, after commit, moves this
    /// process's generations on and wakes the delivery worker and the live feeds, before the
    /// caller answers anyone.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        if let Some(group) = &self.group {
            let (answered, leadership) = group.queue(f);
            if let Some(leadership) = leadership {
                // Not awaited: the batches run to their end even if this caller stops waiting.
                let pool = self.pool.clone();
                drop(tokio::task::spawn_blocking(move || leadership.lead(&pool)));
            }
            answered.await.map_err(|_| StoreError::Blocking("the writer's batch ended without it".into()))?
        } else {
            self.write_alone(f).await
        }
    }

    /// A write transaction of its own, telling other processes what it touched.
    async fn write_alone<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let signals = self.signals.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| StoreError::Pool(e.to_string()))?;
            let (value, touched, emitted) = write_transaction(&mut conn, |conn| -> Result<_, E> {
                let ((value, held), touched, emitted) = changes::recording(|| outbox::holding(|| f(conn)))?;
                dialect::notify_changes(conn, &signals.origin, &touched, emitted)?;
                // Last, as the venue's row is locked from here to the commit.
                outbox::insert_held(conn, held)?;
                Ok((value, touched, emitted))
            })?;
            signals.committed(&touched, emitted);
            Ok(value)
        })
        .await
        .map_err(|e| StoreError::Blocking(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_database_urls() {
        assert_eq!(DatabaseUrl::parse("sqlite://./x.db"), Ok(DatabaseUrl::Sqlite("./x.db".into())));
        assert_eq!(DatabaseUrl::parse("sqlite:///tmp/x.db"), Ok(DatabaseUrl::Sqlite("/tmp/x.db".into())));
        assert!(matches!(DatabaseUrl::parse("postgres://u@h/db"), Ok(DatabaseUrl::Postgres(_))));
        assert!(DatabaseUrl::parse("sqlite://").is_err());
        let err = DatabaseUrl::parse("mysql://root:secret@h/db").expect_err("unsupported");
        assert!(!err.contains("secret"), "{err}");
    }

    /// Every pooled SQLite connection commits durably: in WAL mode, and with the log synced at
    /// each commit (`synchronous = FULL` is 2), not only at checkpoints.
    #[test]
    fn sqlite_connections_commit_durably() {
        #[derive(diesel::QueryableByName)]
        struct Synchronous {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            synchronous: i32,
        }
        #[derive(diesel::QueryableByName)]
        struct JournalMode {
            #[diesel(sql_type = diesel::sql_types::Text)]
            journal_mode: String,
        }
        use diesel::RunQueryDsl;
        let path = std::env::temp_dir().join(format!("tablepay-durable-{}.db", new_id()));
        let store = Store::connect(&DatabaseUrl::Sqlite(path.to_string_lossy().into_owned()), 4).expect("open");
        // Each of several connections held at once, so that more than the first is checked.
        let held: Vec<_> = (0..3).map(|_| store.pool.get().expect("connection")).collect();
        for mut conn in held {
            let sync = diesel::sql_query("PRAGMA synchronous").get_result::<Synchronous>(&mut **conn).expect("read");
            assert_eq!(sync.synchronous, 2, "synchronous = FULL");
            let mode = diesel::sql_query("PRAGMA journal_mode").get_result::<JournalMode>(&mut **conn).expect("read");
            assert_eq!(mode.journal_mode, "wal");
        }
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
