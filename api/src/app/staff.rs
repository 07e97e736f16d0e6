//! Use case: staff.
