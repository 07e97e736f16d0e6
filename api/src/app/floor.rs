//! Use case: floor.
