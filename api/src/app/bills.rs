//! Use case: bills.
