//! Use case: delivery.
