//! Group commit for SQLite: the writers of this process that queue while one transaction runs
//! are committed together in the next, each inside a savepoint of its own.
//!
//! SQLite has one writer at a time. Handing its lock from writer to writer costs a thread
//! wake-up and a lock of the file each time, which on a busy two-core machine is most of a
//! small write's cost. Here the first writer to find no leader running starts one on a
//! blocking thread: it takes the writers queued (up to [`MAX_BATCH`]), runs them one after
//! another in one `BEGIN IMMEDIATE … COMMIT`, answers each after the commit, and goes on with
//! the writers queued meanwhile until it finds none. The other writers only queue and await
//! their answer: no thread of theirs waits in line for the database.
//!
//! Each writer's outcome stays its own: it runs in a savepoint, so one that fails is rolled
//! back to its savepoint and the others commit without it. What fails the batch as a whole (no
//! connection, `BEGIN` or `COMMIT` refused, a writer that panics, an error that ends SQLite's
//! transaction) fails every writer in it, and then none of them was written. A writer sees
//! what the writers before it in the batch wrote, exactly as if they had committed one by one.

use std::sync::{Arc, Mutex, PoisonError};

use diesel::Connection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use tokio::sync::oneshot;

use crate::changes::{self, Touched};
use crate::outbox::{self, Emitted};
use crate::{DbConn, DbPool, Signals, StoreError};

/// At most this many writers share one transaction, so the first of them waits for a bounded
/// number of others.
const MAX_BATCH: usize = 64;

/// What a committed writer hands back: its value, what it touched, what it wrote to the outbox.
pub(crate) type Written<T> = (T, Touched, Emitted);

/// A queued writer.
trait Job: Send {
    /// Runs the writer in a savepoint of the open transaction.
    fn run(self: Box<Self>, conn: &mut DbConn) -> Box<dyn Outcome>;
    /// The batch could not start: the writer never ran.
    fn abandon(self: Box<Self>, err: StoreError);
}

/// A writer that ran, waiting for the commit to learn its fate.
trait Outcome: Send {
    /// Answers the writer; a committed one is first told to `signals`.
    fn deliver(self: Box<Self>, commit: Result<(), String>, signals: &Signals);
}

struct Writer<F, T, E> {
    f: F,
    answer: oneshot::Sender<Result<T, E>>,
}

struct Ran<T, E> {
    result: Result<Written<T>, E>,
    answer: oneshot::Sender<Result<T, E>>,
}

impl<F, T, E> Job for Writer<F, T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &mut DbConn) -> Box<dyn Outcome> {
        let Writer { f, answer } = *self;
        let result = changes::recording(|| {
            savepoint(conn, |conn| {
                let (value, held) = outbox::holding(|| f(conn))?;
                outbox::insert_held(conn, held)?;
                Ok(value)
            })
        });
        Box::new(Ran { result, answer })
    }

    fn abandon(self: Box<Self>, err: StoreError) {
        let _ = self.answer.send(Err(E::from(err)));
    }
}

impl<T: Send, E: From<StoreError> + Send> Outcome for Ran<T, E> {
    fn deliver(self: Box<Self>, commit: Result<(), String>, signals: &Signals) {
        let result = match (self.result, commit) {
            (Ok((value, touched, emitted)), Ok(())) => {
                signals.committed(&touched, emitted);
                Ok(value)
            }
            (Ok(_), Err(reason)) => Err(E::from(StoreError::Pool(format!("the commit failed: {reason}")))),
            // Rolled back to its savepoint whatever the commit did.
            (Err(err), _) => Err(err),
        };
        let _ = self.answer.send(result);
    }
}

/// Runs `f` in a savepoint of the transaction open on `conn`: released when `f` returns `Ok`,
/// rolled back to otherwise.
fn savepoint<T, E: From<StoreError>>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E> {
    <DbConn as Connection>::TransactionManager::begin_transaction(conn).map_err(StoreError::from)?;
    let outcome = f(conn);
    crate::dialect::end_transaction(conn, outcome)
}

/// The queue of this process's SQLite writers.
#[derive(Clone)]
pub(crate) struct GroupCommit(Arc<Inner>);

struct Inner {
    queue: Mutex<Queue>,
    signals: Arc<Signals>,
}

#[derive(Default)]
struct Queue {
    writers: Vec<Box<dyn Job>>,
    /// A leader is running batches; it takes every writer queued before it sees the queue
    /// empty, so a writer that finds one waits for its answer and nothing else. Set and
    /// cleared under the queue's lock, so no writer is left queued without a leader.
    leading: bool,
}

impl GroupCommit {
    pub(crate) fn new(signals: Arc<Signals>) -> GroupCommit {
        GroupCommit(Arc::new(Inner { queue: Mutex::default(), signals }))
    }

    /// Queues `f`, to be committed with the writers queued beside it (or to fail). The answer
    /// comes on the receiver. When no leader was running, the caller is handed the
    /// [`Leadership`] and must run it on a blocking thread; dropped without running (a runtime
    /// shutting down never starts it), it fails the writers queued, this one included.
    pub(crate) fn queue<T, E, F>(&self, f: F) -> (oneshot::Receiver<Result<T, E>>, Option<Leadership>)
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let mut queue = self.0.queue.lock().unwrap_or_else(PoisonError::into_inner);
        queue.writers.push(Box::new(Writer { f, answer }));
        let lead = !std::mem::replace(&mut queue.leading, true);
        (answered, lead.then(|| Leadership { inner: self.0.clone(), done: false }))
    }
}

/// The duty to run the queued writers, held by one caller at a time. A leadership that ends
/// any other way than by finding the queue empty (never run, or unwinding from a panic outside
/// any writer) fails the writers still queued rather than leave them waiting for a leader that
/// is gone, and lets the next writer lead.
pub(crate) struct Leadership {
    inner: Arc<Inner>,
    done: bool,
}

impl Leadership {
    /// Runs batches (of up to [`MAX_BATCH`] writers) until the queue is empty. Blocks: call on
    /// a blocking thread.
    pub(crate) fn lead(mut self, pool: &DbPool) {
        loop {
            let batch: Vec<Box<dyn Job>> = {
                let mut queue = self.inner.queue.lock().unwrap_or_else(PoisonError::into_inner);
                if queue.writers.is_empty() {
                    queue.leading = false;
                    self.done = true;
                    return;
                }
                let n = queue.writers.len().min(MAX_BATCH);
                queue.writers.drain(..n).collect()
            };
            run_batch(pool, batch, &self.inner.signals);
        }
    }
}

impl Drop for Leadership {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let stranded = {
            let mut queue = self.inner.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.leading = false;
            std::mem::take(&mut queue.writers)
        };
        for job in stranded {
            job.abandon(StoreError::Pool("the writers' leader did not run; retry".into()));
        }
    }
}

/// One transaction for the batch; every writer answered after it ends.
fn run_batch(pool: &DbPool, batch: Vec<Box<dyn Job>>, signals: &Signals) {
    let mut conn = match pool.get() {
        Ok(conn) => conn,
        Err(e) => return batch.into_iter().for_each(|job| job.abandon(StoreError::Pool(e.to_string()))),
    };
    let begun = match &mut **conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c),
    };
    if let Err(e) = begun {
        let reason = e.to_string();
        return batch.into_iter().for_each(|job| job.abandon(StoreError::Pool(format!("cannot begin: {reason}"))));
    }
    let mut ran: Vec<Box<dyn Outcome>> = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    let mut broken = None;
    for job in jobs.by_ref() {
        // A writer that panics fails the batch, not the process; its own caller is told when
        // its answer is dropped.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run(&mut conn))) {
            Ok(outcome) => ran.push(outcome),
            Err(_) => broken = Some("a writer of the batch panicked".to_owned()),
        }
        // An error that ends SQLite's whole transaction (a full disk, say) leaves no savepoint
        // to roll back to: the writers after it must not run outside the transaction.
        if broken.is_none() && !in_transaction(&mut conn) {
            broken = Some("the transaction ended under a writer of the batch".to_owned());
        }
        if broken.is_some() {
            break;
        }
    }
    let commit = match broken {
        None => <DbConn as Connection>::TransactionManager::commit_transaction(&mut *conn).map_err(|e| e.to_string()),
        Some(reason) => Err(reason),
    };
    if commit.is_err() {
        // Rolled back to the start, savepoints and all, or the pool discards the connection.
        while matches!(
            <DbConn as Connection>::TransactionManager::transaction_manager_status_mut(&mut conn).transaction_depth(),
            Ok(Some(_))
        ) {
            if <DbConn as Connection>::TransactionManager::rollback_transaction(&mut *conn).is_err() {
                break;
            }
        }
    }
    drop(conn);
    for outcome in ran {
        outcome.deliver(commit.clone(), signals);
    }
    for job in jobs {
        job.abandon(StoreError::Pool("the batch it was queued in failed; retry".into()));
    }
}

/// True while the batch's transaction is open, with no writer's savepoint left behind.
fn in_transaction(conn: &mut DbConn) -> bool {
    let status = <DbConn as Connection>::TransactionManager::transaction_manager_status_mut(conn);
    matches!(status.transaction_depth(), Ok(Some(depth)) if depth.get() == 1)
}

#[cfg(test)]
mod tests {
    use diesel::RunQueryDsl;

    use crate::{DatabaseUrl, Store, StoreError};

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }

    /// Writers committed together keep their outcomes apart: one that fails (by its own
    /// refusal or by the database's) is rolled back alone, each sees the writers before it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writers_in_one_batch_succeed_and_fail_on_their_own() {
        let path = std::env::temp_dir().join(format!("tablepay-group-{}.db", crate::new_id()));
        let store = Store::connect(&DatabaseUrl::Sqlite(path.to_string_lossy().into_owned()), 8).expect("open");
        store
            .write(|c| diesel::sql_query("CREATE TABLE t (x INTEGER UNIQUE)").execute(c).map_err(StoreError::from))
            .await
            .expect("create");
        let writers = (0..200_i64).map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .write(move |c| -> Result<i64, StoreError> {
                        // Every third writes 0 again, which the unique index refuses after the first.
                        let x = if i % 3 == 0 { 0 } else { i };
                        diesel::sql_query(format!("INSERT INTO t (x) VALUES ({x})")).execute(c)?;
                        if i % 7 == 0 {
                            return Err(StoreError::corrupt("refused by the writer itself"));
                        }
                        Ok(x)
                    })
                    .await
            })
        });
        let results = futures_outcomes(writers).await;
        let committed: Vec<i64> = results.iter().filter_map(|r| r.as_ref().ok().copied()).collect();
        let count = store
            .write(|c| {
                diesel::sql_query("SELECT COUNT(*) AS n FROM t").get_result::<Count>(c).map_err(StoreError::from)
            })
            .await
            .expect("count")
            .n;
        assert_eq!(count, committed.len() as i64, "exactly the writers answered Ok are stored");
        assert_eq!(committed.iter().filter(|x| **x == 0).count(), 1, "0 once: the others met the index");
        let expected = (0..200).filter(|i| i % 3 != 0 && i % 7 != 0).count() + 1;
        // The first writer of 0 is i = 0, which refuses itself (0 % 7 == 0): then 3 (or the
        // next multiple of 3 not a multiple of 7) writes it.
        assert_eq!(committed.len(), expected);
        let _ = std::fs::remove_file(&path);
    }

    /// A leader that never runs (its runtime shut down before it started) fails the writers
    /// queued behind it instead of leaving them waiting, and the next writer leads.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_leadership_dropped_unrun_fails_its_writers_and_the_next_writer_leads() {
        let path = std::env::temp_dir().join(format!("tablepay-group-{}.db", crate::new_id()));
        let store = Store::connect(&DatabaseUrl::Sqlite(path.to_string_lossy().into_owned()), 4).expect("open");
        let group = store.group.clone().expect("SQLite commits in groups");
        let (answered, leadership) = group.queue(|_| -> Result<(), StoreError> { Ok(()) });
        let (queued_behind, none) = group.queue(|_| -> Result<(), StoreError> { Ok(()) });
        assert!(none.is_none(), "one leader at a time");
        drop(leadership.expect("the first writer leads"));
        for answer in [answered, queued_behind] {
            let failed = tokio::time::timeout(std::time::Duration::from_secs(5), answer).await.expect("answered");
            assert!(matches!(failed, Ok(Err(StoreError::Pool(_)))), "{failed:?}");
        }
        let written = store.write(|c| Ok::<_, StoreError>(diesel::sql_query("SELECT 1").execute(c)?)).await;
        assert!(written.is_ok(), "{written:?}");
        let _ = std::fs::remove_file(&path);
    }

    async fn futures_outcomes(
        writers: impl Iterator<Item = tokio::task::JoinHandle<Result<i64, StoreError>>>,
    ) -> Vec<Result<i64, StoreError>> {
        let mut results = Vec::new();
        for writer in writers.collect::<Vec<_>>() {
            results.push(writer.await.expect("the writer's task ends"));
        }
        results
    }
}
