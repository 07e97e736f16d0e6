//! The tables aggregate's statements.
