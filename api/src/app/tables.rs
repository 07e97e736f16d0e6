//! Use case: tables.
