//! The idempotency aggregate's statements.
