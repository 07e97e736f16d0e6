//! The refunds aggregate's statements.
