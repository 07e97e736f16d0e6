//! Use case: events.
