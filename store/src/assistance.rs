//! The assistance aggregate's statements.
