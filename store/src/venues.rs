//! The venues aggregate's statements.
