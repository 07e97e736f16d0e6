//! The adjustments aggregate's statements.
