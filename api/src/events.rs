//! Transitional: the outbox's events moved to [`crate::app::events`] (what each says) and
//! `tablepay_store::outbox` (how they are stored). These re-exports keep callers compiling
//! until they import from there.

pub use crate::app::events::{EVENT_TYPES, bill_event, emit, payment_event, settled_event};
pub use tablepay_store::outbox::{mark_emitted, new_delivery};
