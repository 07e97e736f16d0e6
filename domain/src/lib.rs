//! tablepay's business rules about money and bills. Pure: no I/O, no async, no database.
//!
//! Everything that decides an amount lives here, so that it can be property-tested in
//! isolation and the API, the database and the payment providers only move the results.

pub mod allocate;
pub mod money;
pub mod pricing;
pub mod split;

pub use allocate::{allocate, split_equally};
pub use money::{Currency, MinorUnit, MoneyError, UnknownCurrency};
pub use pricing::{Line, PricedBill, PricedLine, PricingError, PricingRules, TaxMode, Totals, price_bill};
pub use split::{Fraction, PaymentStatus, SplitError, Tip, equal_shares_cost, item_part_cost};
