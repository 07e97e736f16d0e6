//! Use case: whether this process can serve (the database answers, its schema is current).

use tablepay_store::Store;

/// What a readiness probe learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The database answers and every migration is applied; serving on this backend.
    Ready(&'static str),
    MigrationsPending,
    Unreachable,
}

/// Asks the database, off the async workers (the check opens a connection).
pub async fn readiness(store: &Store) -> Probe {
    let probe = store.clone();
    match tokio::task::spawn_blocking(move || probe.migrations_current()).await {
        Ok(Ok(true)) => Probe::Ready(store.backend()),
        Ok(Ok(false)) => Probe::MigrationsPending,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            Probe::Unreachable
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness check did not finish");
            Probe::Unreachable
        }
    }
}
