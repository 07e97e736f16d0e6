//! Use cases: one file per job, between the store and the HTTP routes. Each takes the store
//! and the payment providers it needs and answers with an [`AppError`]; none knows HTTP.

pub mod access;
pub mod adjustments;
pub mod approvals;
pub mod bills;
pub mod checkout;
pub mod delivery;
pub mod error;
pub mod events;
pub mod floor;
pub mod guest;
pub mod invoices;
pub mod late;
pub mod live;
pub mod locale;
pub mod mail;
pub mod operations;
pub mod outcomes;
pub mod parties;
pub mod providers;
pub mod receipts;
pub mod refunds;
pub mod staff;
pub mod tables;
pub mod tenders;
pub mod unlocked;
pub mod venues;

pub use error::{AppError, AppResult, Code};
