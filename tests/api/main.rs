//! Black-box tests of tablepay over HTTP. Every test runs twice: on a fresh SQLite file
//! (`…::sqlite::…`) and on a fresh PostgreSQL database (`…::postgres::…`).

#![allow(clippy::unwrap_used)]

mod helpers;

mod bills;
mod browser;
mod errors;
mod ledger;
mod live;
mod pages;
mod payments;
mod receipts;
mod receiver;
mod staff;
mod stripe;
mod venues;
mod webhooks;
