//! The staff aggregate's statements.
