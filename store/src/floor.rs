//! The floor aggregate's statements.
