//! Use case: outcomes.
