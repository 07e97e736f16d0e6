//! The outbox: events written in the same transaction as the change that caused it. This
//! module knows which transactions wrote one, so that [`crate::Store::write`] can wake the
//! delivery worker and the live feeds after commit.

use std::cell::Cell;

thread_local! {
    /// Set when the transaction running on this thread wrote an event; read after commit to
    /// wake the delivery worker and the live feeds at once.
    static EMITTED: Cell<bool> = const { Cell::new(false) };
}

/// Clears and returns whether an event was written since the last call on this thread.
pub fn take_emitted() -> bool {
    EMITTED.with(|e| e.replace(false))
}

/// Wakes the delivery worker after this transaction commits (a new event, a manual retry).
pub fn mark_emitted() {
    EMITTED.with(|e| e.set(true));
}
