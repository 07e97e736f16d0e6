//! Group commit for SQLite: the writers of this process that queue while one transaction runs
//! are committed together in the next, each inside a savepoint of its own.
//!
//! SQLite has one writer at a time. Handing its lock from writer to writer costs a thread
//! wake-up and a lock of the file each time, which on a busy two-core machine is most of a
//! small write's cost. Here the first writer to find no transaction running becomes the
//! leader: it takes every writer queued, runs them one after another in one `BEGIN
//! IMMEDIATE … COMMIT`, and answers each after the commit.
//!
//! Each writer's outcome stays its own: it runs in a savepoint, so one that fails is rolled
//! back to its savepoint and the others commit without it. Only a failure of the commit itself
//! (a full disk) fails them all, and then none of them was written. A writer sees what the
//! writers before it in the batch wrote, exactly as if they had committed one by one.

use std::sync::{Arc, Mutex, PoisonError};

use diesel::Connection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use tokio::sync::oneshot;

use crate::changes::{self, Touched};
use crate::{DbConn, DbPool, StoreError, outbox};

/// At most this many writers share one transaction, so the first of them waits for a bounded
/// number of others.
const MAX_BATCH: usize = 64;

/// What a committed writer hands back: its value, what it touched, whether it wrote events.
pub(crate) type Written<T> = (T, Touched, bool);

/// A queued writer.
trait Job: Send {
    /// Runs the writer in a savepoint of the open transaction.
    fn run(self: Box<Self>, conn: &mut DbConn) -> Box<dyn Outcome>;
    /// The batch could not start: the writer never ran.
    fn abandon(self: Box<Self>, err: StoreError);
}

/// A writer that ran, waiting for the commit to learn its fate.
trait Outcome: Send {
    fn deliver(self: Box<Self>, commit: Result<(), String>);
}

struct Writer<F, T, E> {
    f: F,
    answer: oneshot::Sender<Result<Written<T>, E>>,
}

struct Ran<T, E> {
    result: Result<Written<T>, E>,
    answer: oneshot::Sender<Result<Written<T>, E>>,
}

impl<F, T, E> Job for Writer<F, T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &mut DbConn) -> Box<dyn Outcome> {
        changes::take();
        outbox::take_emitted();
        let result = savepoint(conn, self.f).map(|value| (value, changes::take(), outbox::take_emitted()));
        changes::take();
        outbox::take_emitted();
        Box::new(Ran { result, answer: self.answer })
    }

    fn abandon(self: Box<Self>, err: StoreError) {
        let _ = self.answer.send(Err(E::from(err)));
    }
}

impl<T: Send, E: From<StoreError> + Send> Outcome for Ran<T, E> {
    fn deliver(self: Box<Self>, commit: Result<(), String>) {
        let result = match (self.result, commit) {
            (Ok(written), Ok(())) => Ok(written),
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
    match f(conn) {
        Ok(value) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn).map_err(StoreError::from)?;
            Ok(value)
        }
        Err(err) => {
            let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
            Err(err)
        }
    }
}

/// The queue of this process's SQLite writers.
#[derive(Clone, Default)]
pub(crate) struct GroupCommit(Arc<Inner>);

#[derive(Default)]
struct Inner {
    queue: Mutex<Vec<Box<dyn Job>>>,
    /// Held by the leader while its batch runs.
    leader: Mutex<()>,
}

impl GroupCommit {
    /// Queues `f` and waits until it is committed (with the writers queued beside it) or has
    /// failed. Call on a blocking thread: it may lead a batch.
    pub(crate) fn write<T, E, F>(&self, pool: &DbPool, f: F) -> oneshot::Receiver<Result<Written<T>, E>>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        self.0.queue.lock().unwrap_or_else(PoisonError::into_inner).push(Box::new(Writer { f, answer }));
        // Whoever holds the leader's lock next takes this writer, if an earlier leader has not.
        let _leading = self.0.leader.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let batch: Vec<Box<dyn Job>> = {
                let mut queue = self.0.queue.lock().unwrap_or_else(PoisonError::into_inner);
                let n = queue.len().min(MAX_BATCH);
                queue.drain(..n).collect()
            };
            if batch.is_empty() {
                break;
            }
            run_batch(pool, batch);
            // Leading again only while our own writer is still queued behind a full batch.
            if !answered.is_empty() || self.0.queue.lock().unwrap_or_else(PoisonError::into_inner).is_empty() {
                break;
            }
        }
        answered
    }
}

/// One transaction for the batch; every writer answered after it ends.
fn run_batch(pool: &DbPool, batch: Vec<Box<dyn Job>>) {
    let mut conn = match pool.get() {
        Ok(conn) => conn,
        Err(e) => return batch.into_iter().for_each(|job| job.abandon(StoreError::Pool(e.to_string()))),
    };
    let begun = match &mut *conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c),
    };
    if let Err(e) = begun {
        let reason = e.to_string();
        return batch.into_iter().for_each(|job| job.abandon(StoreError::Pool(format!("cannot begin: {reason}"))));
    }
    let ran: Vec<Box<dyn Outcome>> = batch.into_iter().map(|job| job.run(&mut conn)).collect();
    let commit = <DbConn as Connection>::TransactionManager::commit_transaction(&mut *conn).map_err(|e| {
        // A failed commit is rolled back, or the pool discards the broken connection.
        let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(&mut *conn);
        e.to_string()
    });
    drop(conn);
    for outcome in ran {
        outcome.deliver(commit.clone());
    }
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
