//! Use case: guest.
