//! Use case: adjustments.
