//! Every difference between PostgreSQL and SQLite, each with the reason it exists. Code
//! outside this module writes one query for both backends.

use std::sync::Weak;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::{Pg, PgConnection};
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::{Connection, RunQueryDsl};

use crate::changes::Touched;
use crate::outbox::{Emitted, NewEvent};
use crate::prepared::{NextEventSeq, statement_id};
use crate::rows::Event;
use crate::{DatabaseUrl, DbConn, Signals, StoreError};

/// PostgreSQL channel on which committed changes are announced to other processes.
pub const CHANNEL: &str = "tablepay_events";

/// Runs `f` in one write transaction: `BEGIN IMMEDIATE` on SQLite (the database's write lock
/// is taken up front, so two writers never deadlock on a lock upgrade), a plain transaction on
/// PostgreSQL, where `f` locks the rows it changes (see [`lock_bill`]). Commits when `f`
/// returns `Ok`, rolls back otherwise.
pub fn write_transaction<T, E: From<StoreError>>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E> {
    match conn {
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c),
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
    }
    .map_err(StoreError::from)?;
    let outcome = f(conn);
    end_transaction(conn, outcome)
}

/// Ends the innermost transaction (or savepoint) open on `conn`: commits (releases) it when
/// `outcome` is `Ok`, rolls it back otherwise.
pub(crate) fn end_transaction<T, E: From<StoreError>>(conn: &mut DbConn, outcome: Result<T, E>) -> Result<T, E> {
    match outcome {
        Ok(value) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn).map_err(StoreError::from)?;
            Ok(value)
        }
        Err(err) => {
            // A failed rollback leaves the connection marked broken; the pool discards it.
            let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
            Err(err)
        }
    }
}

/// Key of the PostgreSQL advisory lock held while migrating: any constant no other lock of
/// ours uses ("tablepay" in ASCII).
const MIGRATION_LOCK: i64 = 0x7461_626c_6570_6179;

/// Runs `f` (the migrations) while no other process migrates the same database. Processes
/// started together would otherwise all find the same migration pending and all apply it; all
/// but one then fail ("already exists") and exit.
/// - PostgreSQL: a session advisory lock, released before the connection goes back to the pool
///   (and by the server itself if the process dies holding it).
/// - SQLite: an exclusive lock on a file beside the database, `<file>.migrate-lock`, released
///   when the file is closed, also when the process dies. Not the database file itself: closing
///   any handle on it would drop the locks SQLite holds on it.
pub fn migrating<T>(
    conn: &mut DbConn,
    url: &DatabaseUrl,
    f: impl FnOnce(&mut DbConn) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    match url {
        DatabaseUrl::Postgres(_) => {
            conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
            let result = f(conn);
            let unlocked = conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
            let value = result?;
            unlocked?;
            Ok(value)
        }
        DatabaseUrl::Sqlite(path) if path == ":memory:" => f(conn),
        DatabaseUrl::Sqlite(path) => {
            let lock_path = format!("{path}.migrate-lock");
            let lock = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(|e| anyhow::anyhow!("cannot open {lock_path}: {e}"))?;
            lock.lock().map_err(|e| anyhow::anyhow!("cannot lock {lock_path}: {e}"))?;
            f(conn)
        }
    }
}

/// Locks a bill's row until the transaction ends, so that concurrent writers to one bill
/// queue up; false when there is no such bill. On SQLite `BEGIN IMMEDIATE` already holds the
/// database's single write lock, so there is nothing to lock (and no statement to run).
pub fn lock_bill(conn: &mut DbConn, bill_id: &str) -> Result<bool, StoreError> {
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

/// Tells other processes, at commit, what this transaction touched (see [`crate::changes`])
/// and what it wrote to the outbox, in a [`payload`] naming the sending process (its own
/// listener skips what it already applied at commit) and the venues' ids or `*` for anything. Only PostgreSQL has `NOTIFY`; on SQLite other processes see the file's
/// `data_version` move (see [`watch_other_processes`]).
pub fn notify_changes(conn: &mut DbConn, origin: &str, touched: &Touched, emitted: Emitted) -> Result<(), StoreError> {
    let DbConn::Pg(c) = conn else { return Ok(()) };
    let venues = match touched.payload() {
        Some(venues) => venues,
        None if emitted != Emitted::NOTHING => "*".to_owned(),
        None => return Ok(()),
    };
    // PostgreSQL refuses payloads of 8000 bytes or more: that many venues is "anything".
    let venues = if venues.len() > 7_000 { "*".to_owned() } else { venues };
    Notify { payload: &payload(emitted, touched.tables_kept(), origin, &venues) }.execute(c)?;
    Ok(())
}

// PostgreSQL statements of fixed text written by hand (diesel has no data-modifying `WITH`),
// prepared once per connection like diesel's own (see `crate::prepared`): a `sql_query` is
// parsed and planned anew each time it runs, and these run once or twice in every write
// transaction.

/// `new` inserted as the event `id`, numbered by its venue's counter in the same statement.
struct NumberedEvent<'a> {
    id: &'a str,
    new: &'a NewEvent,
}

statement_id!(NumberedEvent, diesel::sql_types::BigInt);

impl QueryFragment<Pg> for NumberedEvent<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        use diesel::sql_types::{Text, Timestamp};
        out.push_sql("WITH next AS (UPDATE venues SET event_seq = event_seq + 1 WHERE id = ");
        out.push_bind_param::<Text, _>(&self.new.venue_id)?;
        out.push_sql(
            " RETURNING event_seq) INSERT INTO events (id, venue_id, seq, event_type, payload, created_at) SELECT ",
        );
        out.push_bind_param::<Text, _>(self.id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&self.new.venue_id)?;
        out.push_sql(", event_seq, ");
        out.push_bind_param::<Text, _>(&self.new.event_type)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&self.new.payload)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.new.created_at)?;
        out.push_sql(" FROM next RETURNING seq");
        Ok(())
    }
}

/// `pg_notify` on [`CHANNEL`].
struct Notify<'a> {
    payload: &'a str,
}

statement_id!(Notify, diesel::sql_types::Untyped);

impl QueryFragment<Pg> for Notify<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        out.push_sql("SELECT pg_notify(");
        out.push_bind_param::<diesel::sql_types::Text, _>(CHANNEL)?;
        out.push_sql(", ");
        out.push_bind_param::<diesel::sql_types::Text, _>(self.payload)?;
        out.push_sql(")");
        Ok(())
    }
}

/// A [`notify_changes`] payload: `events` when events were written, else `data`; the origin;
/// the venues. The origin carries marks after a `/`, separated by commas: `feed` when events
/// made no delivery due, which wakes the live feeds and not the delivery worker; `bills` when
/// the venues' tables and settings were kept (see [`crate::changes::keeps_tables`]). Earlier
/// versions read only the first word (and compare the origin with their own, which it never
/// is) or take the marks `feed` alone for a feed: marked otherwise, they assume the most, as
/// they always did.
fn payload(emitted: Emitted, tables_kept: bool, origin: &str, venues: &str) -> String {
    let feed = emitted.events && !emitted.deliveries;
    let marks = match (feed, tables_kept) {
        (true, true) => "/feed,bills",
        (true, false) => "/feed",
        (false, true) => "/bills",
        (false, false) => "",
    };
    let kind = if emitted.events || emitted.deliveries { "events" } else { "data" };
    format!("{kind} {origin}{marks} {venues}")
}

/// Inserts `new` as the event `id` with its venue's next event number, and returns it as
/// stored. The venue's row stays locked until the transaction ends, so the
/// order of numbers is the order of commits.
/// - PostgreSQL: one statement, the venue's counter moved in a data-modifying `WITH`.
/// - SQLite: which has none, `UPDATE … RETURNING` then the `INSERT`.
pub(crate) fn insert_numbered_event(conn: &mut DbConn, id: String, new: NewEvent) -> Result<Event, StoreError> {
    use crate::schema::events;
    match conn {
        DbConn::Pg(c) => {
            let seq = NumberedEvent { id: &id, new: &new }.get_result::<i64>(c)?;
            Ok(new.numbered(id, seq))
        }
        DbConn::Sqlite(c) => {
            let seq = NextEventSeq { venue_id: &new.venue_id }.get_result::<i64>(c)?;
            let event = new.numbered(id, seq);
            diesel::insert_into(events::table).values(&event).execute(c)?;
            Ok(event)
        }
    }
}

/// Reads a payload of [`notify_changes`]: the sender, what was touched, and what was written
/// to the outbox.
fn heard_payload(payload: &str) -> (&str, Touched, Emitted) {
    let mut words = payload.splitn(3, ' ');
    match (words.next(), words.next(), words.next()) {
        (Some(kind), Some(origin), Some(venues)) => {
            let (origin, marks) = origin.split_once('/').unwrap_or((origin, ""));
            let marked = |mark: &str| marks.split(',').any(|m| m == mark);
            let (feed_only, tables_kept) = (marked("feed"), marked("bills"));
            let emitted = match kind {
                "data" => Emitted::NOTHING,
                "events" if feed_only => Emitted { events: true, deliveries: false },
                // `events`, or a kind of a later version: assume the most.
                _ => Emitted::ANYTHING,
            };
            (origin, Touched::from_payload(venues, tables_kept), emitted)
        }
        // Not ours to read: assume the most.
        _ => ("", Touched::Unknown, Emitted::ANYTHING),
    }
}

/// Inserts many rows, 500 to a statement (PostgreSQL takes at most 65,535 bound parameters in
/// one statement, SQLite 32,766). Diesel's multi-backend connection cannot express a multi-row
/// `INSERT … VALUES (…), (…)` (each backend's batch insert is its own type), so the statement
/// is built per backend. Evaluates to the number of rows inserted.
#[macro_export]
macro_rules! batch_insert {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let mut rows: Vec<_> = $rows;
        let mut inserted = 0_usize;
        while !rows.is_empty() {
            // Owned rows: a row whose enums are written as text inserts by value only.
            let rest = rows.split_off(rows.len().min(500));
            let chunk = std::mem::replace(&mut rows, rest);
            inserted += match &mut *$conn {
                $crate::DbConn::Pg(c) => diesel::insert_into($table).values(chunk).execute(c),
                $crate::DbConn::Sqlite(c) => diesel::insert_into($table).values(chunk).execute(c),
            }?;
        }
        inserted
    }};
}

/// Hears what other processes committed, on a connection of its own (its statements are not
/// counted with the pool's), and tells this process's [`Signals`]; ends when the last handle on
/// them goes.
/// - PostgreSQL: `LISTEN` on [`CHANNEL`]; each payload names the venues a transaction touched.
/// - SQLite: no notifications exist, so `PRAGMA data_version` is read every 100 ms: it moves
///   when any other connection (another process's, or one of this process's own) committed.
///   What moved is unknown, so every cached view is dropped; this process's own commits were
///   already applied at commit, and dropping them again costs one fresh read per table.
pub(crate) fn watch_other_processes(url: &DatabaseUrl, signals: &Weak<Signals>) {
    match url {
        DatabaseUrl::Postgres(url) => listen(url, signals),
        DatabaseUrl::Sqlite(path) => poll_data_version(path, signals),
    }
}

fn listen(url: &str, signals: &Weak<Signals>) {
    while let Some(strong) = signals.upgrade() {
        // Until LISTEN runs, other processes' commits go unheard.
        strong.deaf();
        drop(strong);
        let mut conn = match PgConnection::establish(url) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "PostgreSQL listener cannot connect; retrying");
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        if let Err(e) = conn.batch_execute(&format!("LISTEN {CHANNEL}")) {
            tracing::warn!(error = %e, "LISTEN failed; retrying");
            std::thread::sleep(Duration::from_secs(1));
            continue;
        }
        if let Some(signals) = signals.upgrade() {
            signals.hearing_again();
        }
        loop {
            let Some(signals) = signals.upgrade() else { return };
            let mut broken = false;
            for notification in conn.notifications_iter() {
                match notification {
                    Ok(n) => {
                        let (origin, touched, emitted) = heard_payload(&n.payload);
                        if origin != signals.origin {
                            signals.heard(&touched, emitted);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "PostgreSQL listener lost its connection");
                        broken = true;
                        break;
                    }
                }
            }
            drop(signals);
            if broken {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn poll_data_version(path: &str, signals: &Weak<Signals>) {
    #[derive(diesel::QueryableByName)]
    struct DataVersion {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        data_version: i64,
    }
    let mut last = None;
    let mut conn: Option<diesel::SqliteConnection> = None;
    let mut first = true;
    if let Some(signals) = signals.upgrade() {
        signals.deaf();
    }
    while signals.strong_count() > 0 {
        if !std::mem::take(&mut first) {
            std::thread::sleep(Duration::from_millis(100));
        }
        if conn.is_none() {
            conn = diesel::SqliteConnection::establish(path)
                .inspect_err(|e| tracing::warn!(error = %e, "SQLite watcher cannot open the database; retrying"))
                .ok();
        }
        let Some(c) = conn.as_mut() else { continue };
        match diesel::sql_query("PRAGMA data_version").get_result::<DataVersion>(c) {
            Ok(DataVersion { data_version }) => {
                // The first reading hears everything committed since this process started
                // (its caches and streams may predate it); later ones, what moved since.
                if last != Some(data_version)
                    && let Some(signals) = signals.upgrade()
                {
                    signals.hearing_again();
                }
                last = Some(data_version);
            }
            Err(e) => {
                tracing::warn!(error = %e, "SQLite watcher cannot read data_version; reopening");
                // Deaf until it reads again; what changed meanwhile is heard then, as at the start.
                conn = None;
                last = None;
                if let Some(signals) = signals.upgrade() {
                    signals.deaf();
                }
            }
        }
    }
}

/// The unique index that a failed insert hit, if that is why it failed. PostgreSQL names the
/// constraint; SQLite only says which columns, in its message.
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

#[derive(diesel::QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

/// The ids of at most `limit` pending webhook deliveries due at `now` whose lease (if any) ran
/// out, oldest due first, locked until the transaction ends. On PostgreSQL several processes
/// claim at once, so rows another claimer holds are skipped (`FOR UPDATE SKIP LOCKED`) instead
/// of waited for; diesel's query builder has no `SKIP LOCKED` for the multi-backend
/// connection, hence the SQL text. SQLite has no row locks and needs none: the claim runs in a
/// `BEGIN IMMEDIATE` transaction, which already excludes every other writer.
pub fn claim_due(conn: &mut DbConn, now: chrono::NaiveDateTime, limit: i64) -> Result<Vec<String>, StoreError> {
    use crate::schema::webhook_deliveries as d;
    use diesel::prelude::*;
    Ok(match conn {
        DbConn::Pg(c) => diesel::sql_query(
            "SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1 \
             AND (locked_until IS NULL OR locked_until < $1) ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind::<diesel::sql_types::Timestamp, _>(now)
        .bind::<diesel::sql_types::BigInt, _>(limit)
        .load::<IdRow>(c)?
        .into_iter()
        .map(|r| r.id)
        .collect(),
        DbConn::Sqlite(c) => d::table
            .filter(d::status.eq(tablepay_domain::DeliveryStatus::Pending.as_str()))
            .filter(d::next_attempt_at.le(now))
            .filter(d::locked_until.is_null().or(d::locked_until.lt(now)))
            .order(d::next_attempt_at.asc())
            .limit(limit)
            .select(d::id)
            .load(c)?,
    })
}

#[cfg(test)]
mod watcher_tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_commit_elsewhere_is_heard_on_sqlite() {
        let path = std::env::temp_dir().join(format!("tablepay-watch-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let path = path.to_string_lossy().into_owned();
        let mut writer = diesel::SqliteConnection::establish(&path).expect("open the file");
        writer.batch_execute("PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER)").expect("create a table");
        let (events, mut heard) = tokio::sync::watch::channel(0);
        let (deliveries, due) = tokio::sync::watch::channel(0);
        let signals = Arc::new(Signals {
            events,
            deliveries,
            generations: Default::default(),
            origin: "test".into(),
            writes: Default::default(),
        });
        let weak = Arc::downgrade(&signals);
        let url = DatabaseUrl::Sqlite(path.clone());
        let watcher = std::thread::spawn(move || watch_other_processes(&url, &weak));
        std::thread::sleep(Duration::from_millis(350));
        assert!(heard.has_changed().expect("the signal lives"), "the first reading hears what came before it");
        heard.borrow_and_update();
        std::thread::sleep(Duration::from_millis(250));
        assert!(!heard.has_changed().expect("the signal lives"), "nothing moved since");
        writer.batch_execute("INSERT INTO t VALUES (1)").expect("insert");
        std::thread::sleep(Duration::from_millis(350));
        assert!(heard.has_changed().expect("the signal lives"), "the commit was heard");
        assert!(due.has_changed().expect("the signal lives"), "what it wrote is unknown: deliveries may be due");
        heard.borrow_and_update();
        drop(signals);
        watcher.join().expect("the watcher ends");
        let _ = std::fs::remove_file(&path);
    }

    /// What a commit wrote to the outbox reaches other processes: the delivery worker is woken
    /// only by a commit that made deliveries due, or by one it cannot read.
    #[test]
    fn payloads_say_what_was_written_to_the_outbox() {
        for emitted in [
            Emitted::default(),
            Emitted { events: true, deliveries: false },
            Emitted { events: false, deliveries: true },
            Emitted::ANYTHING,
        ] {
            for tables_kept in [false, true] {
                let payload = payload(emitted, tables_kept, "p1", "v1");
                let (origin, touched, heard) = heard_payload(&payload);
                let venue =
                    if tables_kept { Touched::Bills(vec!["v1".into()]) } else { Touched::Venues(vec!["v1".into()]) };
                assert_eq!((origin, &touched), ("p1", &venue), "{payload}");
                let expected = if emitted.deliveries { Emitted::ANYTHING } else { emitted };
                assert_eq!(heard, expected, "{payload}");
                // Versions before this one woke everything on a first word `events`, nothing else.
                assert_eq!(payload.starts_with("events "), emitted.events || emitted.deliveries, "{payload}");
                // The previous version took `<origin>/feed` for a feed and anything else marked
                // for everything: it never hears less than was written.
                let old_feed = payload.split(' ').nth(1).is_some_and(|o| o.ends_with("/feed"));
                assert!(!old_feed || (emitted.events && !emitted.deliveries && !tables_kept), "{payload}");
            }
        }
        assert_eq!(heard_payload("events p1/feed v1").1, Touched::Venues(vec!["v1".into()]), "an earlier version's");
        assert_eq!(heard_payload("later-kind p1 *").2, Emitted::ANYTHING, "a kind not known: assume the most");
        assert_eq!(heard_payload("garbled").2, Emitted::ANYTHING);
    }
}
