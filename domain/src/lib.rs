//! tablepay's business rules about money and bills. Pure: no I/O, no async, no database.
//!
//! Everything that decides an amount lives here, so that it can be property-tested in
//! isolation and the API, the database and the payment providers only move the results.
//! The lives of bills, payments and the rest ([`status`]), who may give how much away
//! ([`limits`]) and the ids of stored things ([`ids`]) live here for the same reason.

pub mod allocate;
pub mod charge;
pub mod ids;
pub mod ledger;
pub mod limits;
pub mod money;
pub mod pricing;
pub mod split;
pub mod status;
pub mod tax;

pub use allocate::{allocate, split_equally};
pub use charge::{Charge, ChargeError, ChargeRules, charge};
pub use ids::{
    AdjustmentId, AssistanceId, BillId, DeliveryId, EndpointId, EventId, InvalidId, ItemId, KeyId, PaymentId, RefundId,
    StaffId, TableId, TenderId, VenueId,
};
pub use limits::{Authority, Role, used};
pub use money::{Currency, MAX_SAFE, MinorUnit, MoneyError, UnknownCurrency};
pub use pricing::{Line, PricedBill, PricedLine, PricingError, PricingRules, TaxMode, Totals, price_bill};
pub use split::{Fraction, SplitError, Tip, equal_shares_cost, item_part_cost, open_shares};
pub use status::{
    AdjustmentStatus, Approval, AssistanceStatus, BillStatus, DeliveryStatus, ItemStatus, PaymentStatus, RefundStatus,
    TenderKind, TenderStatus, UnknownText,
};
