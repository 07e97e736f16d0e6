//! Use case: refunds.
