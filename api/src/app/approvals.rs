//! Use case: approvals.
