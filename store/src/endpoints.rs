//! The endpoints aggregate's statements.
