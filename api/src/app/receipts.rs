//! Use case: receipts.
