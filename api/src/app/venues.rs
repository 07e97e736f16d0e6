//! Use case: venues.
