//! Use case: checkout.
