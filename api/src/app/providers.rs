//! Use case: providers.
