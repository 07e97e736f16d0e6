//! The audit aggregate's statements.
