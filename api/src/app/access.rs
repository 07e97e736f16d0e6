//! Use case: access.
