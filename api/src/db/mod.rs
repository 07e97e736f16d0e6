//! Persistence: one connection type over PostgreSQL and SQLite, pooled, with embedded
//! migrations per backend.
//!
//! Diesel is synchronous, so every query runs on the blocking pool through [`Db::run`] or
//! [`Db::write`], never on an actix worker.

pub mod models;
pub mod schema;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use diesel::connection::{AnsiTransactionManager, InstrumentationEvent, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::ApiError;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

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
    /// Counts every SQL statement run, for tests and benchmarks that show a route's cost.
    queries: Arc<AtomicU64>,
}

fn count_queries<C: Connection>(conn: &mut C, counter: &Arc<AtomicU64>) {
    let counter = counter.clone();
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if matches!(event, InstrumentationEvent::StartQuery { .. }) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        match &self.url {
            DatabaseUrl::Postgres(url) => {
                let mut conn = PgConnection::establish(url).map_err(r2d2::Error::ConnectionError)?;
                count_queries(&mut conn, &self.queries);
                Ok(DbConn::Pg(conn))
            }
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
                count_queries(&mut conn, &self.queries);
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1").map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        <DbConn as Connection>::TransactionManager::is_broken_transaction_manager(conn)
    }
}

pub type DbPool = Pool<Manager>;
pub type PooledConn = PooledConnection<Manager>;

/// The application's handle on the database.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    url: DatabaseUrl,
    /// Bumped after every commit that wrote an event (here or, on PostgreSQL, in another
    /// process): the delivery worker and the live feeds wait on it.
    events: Arc<watch::Sender<u64>>,
    queries: Arc<AtomicU64>,
    /// SQLite has one writer at a time. Writers of this process queue here, woken the moment
    /// the previous one commits, instead of in SQLite's busy handler, which sleeps in steps
    /// of up to 100 ms. (Other processes on the same file still meet the busy timeout.)
    sqlite_writer: Arc<std::sync::Mutex<()>>,
}

impl Db {
    /// Builds the pool. `size` connections at most; SQLite serialises writers itself.
    pub fn connect(url: &DatabaseUrl, size: u32) -> anyhow::Result<Db> {
        let queries = Arc::new(AtomicU64::new(0));
        let pool = Pool::builder()
            .max_size(size)
            .connection_timeout(Duration::from_secs(10))
            .build(Manager { url: url.clone(), queries: queries.clone() })
            .map_err(|e| anyhow::anyhow!("cannot open the {} database: {e}", url.backend()))?;
        let (events, _) = watch::channel(0);
        Ok(Db { pool, url: url.clone(), events: Arc::new(events), queries, sqlite_writer: Arc::default() })
    }

    /// SQL statements run through this handle's pool so far.
    pub fn queries_run(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    pub fn backend(&self) -> &'static str {
        self.url.backend()
    }

    /// Wakes whoever waits for new events.
    pub fn announce_events(&self) {
        self.events.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that changes whenever events were committed.
    pub fn event_signal(&self) -> watch::Receiver<u64> {
        self.events.subscribe()
    }

    /// On PostgreSQL, listens for events committed by other processes (`NOTIFY`) and
    /// announces them here. The listener stops when the last handle on this database goes.
    pub fn listen_to_other_processes(&self) {
        let DatabaseUrl::Postgres(url) = &self.url else { return };
        let url = url.clone();
        let events = Arc::downgrade(&self.events);
        std::thread::Builder::new()
            .name("tablepay-listen".into())
            .spawn(move || listen(&url, &events))
            .map(drop)
            .unwrap_or_else(|e| tracing::error!(error = %e, "cannot start the PostgreSQL listener"));
    }

    /// Applies pending migrations; returns how many ran.
    pub fn migrate(&self) -> anyhow::Result<usize> {
        let mut conn = self.pool.get()?;
        let migrations = match &*conn {
            DbConn::Pg(_) => PG_MIGRATIONS,
            DbConn::Sqlite(_) => SQLITE_MIGRATIONS,
        };
        let applied = match &mut *conn {
            DbConn::Pg(c) => c.run_pending_migrations(migrations).map(|v| v.len()),
            DbConn::Sqlite(c) => c.run_pending_migrations(migrations).map(|v| v.len()),
        }
        .map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
        Ok(applied)
    }

    /// True when every embedded migration has been applied.
    pub fn migrations_current(&self) -> anyhow::Result<bool> {
        let mut conn = self.pool.get()?;
        let pending = match &mut *conn {
            DbConn::Pg(c) => c.has_pending_migration(PG_MIGRATIONS),
            DbConn::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
        }
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(!pending)
    }

    /// Runs read-only or single-statement work on the blocking pool.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get().map_err(|e| ApiError::internal(format!("database pool: {e}")))?;
            f(&mut conn)
        })
        .await
        .map_err(|e| ApiError::internal(format!("blocking task: {e}")))?
    }

    /// Runs `f` in one write transaction: `BEGIN IMMEDIATE` on SQLite (the database's write
    /// lock is taken up front, so two writers never deadlock on a lock upgrade), a plain
    /// transaction on PostgreSQL where `f` locks the rows it changes (see [`lock_bill`]).
    /// Commits when `f` returns `Ok`, rolls back otherwise.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let writer = matches!(self.url, DatabaseUrl::Sqlite(_)).then(|| self.sqlite_writer.clone());
        let pool = self.pool.clone();
        let (value, emitted) = actix_web::web::block(move || {
            // The writer's turn first, then a connection: waiting writers hold no connection
            // that readers need. A poisoned lock only means another writer panicked.
            let _turn = writer.as_ref().map(|w| w.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
            let mut conn = pool.get().map_err(|e| ApiError::internal(format!("database pool: {e}")))?;
            crate::events::take_emitted();
            let result = write_transaction(&mut conn, f);
            let emitted = crate::events::take_emitted();
            result.map(|v| (v, emitted))
        })
        .await
        .map_err(|e| ApiError::internal(format!("blocking task: {e}")))??;
        if emitted {
            self.announce_events();
        }
        Ok(value)
    }
}

/// Polls a dedicated connection for notifications on [`crate::events::CHANNEL`].
fn listen(url: &str, events: &std::sync::Weak<watch::Sender<u64>>) {
    while events.strong_count() > 0 {
        let mut conn = match PgConnection::establish(url) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "PostgreSQL listener cannot connect; retrying");
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        if let Err(e) = conn.batch_execute(&format!("LISTEN {}", crate::events::CHANNEL)) {
            tracing::warn!(error = %e, "LISTEN failed; retrying");
            std::thread::sleep(Duration::from_secs(1));
            continue;
        }
        loop {
            let Some(sender) = events.upgrade() else { return };
            let mut heard = false;
            let mut broken = false;
            for notification in conn.notifications_iter() {
                match notification {
                    Ok(_) => heard = true,
                    Err(e) => {
                        tracing::warn!(error = %e, "PostgreSQL listener lost its connection");
                        broken = true;
                        break;
                    }
                }
            }
            if heard {
                sender.send_modify(|n| *n = n.wrapping_add(1));
            }
            drop(sender);
            if broken {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// See [`Db::write`]; usable from code that already holds a connection.
pub fn write_transaction<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    match conn {
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
    }
    match f(conn) {
        Ok(value) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(err) => {
            // A failed rollback leaves the connection marked broken; the pool discards it.
            let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
            Err(err)
        }
    }
}

/// Locks a bill's row until the transaction ends, so that concurrent writers to one bill
/// queue up. On SQLite `BEGIN IMMEDIATE` already holds the database's single write lock.
pub fn lock_bill(conn: &mut DbConn, bill_id: &str) -> Result<bool, ApiError> {
    match conn {
        DbConn::Pg(c) => {
            let rows = diesel::sql_query("SELECT id FROM bills WHERE id = $1 FOR UPDATE")
                .bind::<diesel::sql_types::Text, _>(bill_id)
                .execute(c)?;
            Ok(rows == 1)
        }
        DbConn::Sqlite(_) => Ok(true),
    }
}

/// The unique index that a failed insert hit, if that is why it failed.
pub fn unique_violation(err: &diesel::result::Error) -> Option<String> {
    match err {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, info) => {
            Some(info.constraint_name().map(str::to_owned).unwrap_or_else(|| info.message().to_owned()))
        }
        _ => None,
    }
}

/// The current UTC time at microsecond precision, the finest both backends store, so that
/// what is written reads back identical.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{DurationRound, TimeDelta};
    let now = chrono::Utc::now().naive_utc();
    now.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(now)
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
}
