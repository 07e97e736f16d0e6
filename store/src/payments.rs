//! The payments aggregate's statements.
