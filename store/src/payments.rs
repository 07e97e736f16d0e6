//! The payments aggregate's statements: payments, the item parts they take, and the provider
//! events that moved them. Statuses cross this edge as `domain` enums and are stored as text.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use tablepay_domain::PaymentStatus;

use crate::prepared::{InsertPayment, InsertProviderEvent, UpdatePayment, run_on};
use crate::rows::{Payment, PaymentItem, ProviderEventRecord};
use crate::schema::{bills, payment_items, payments, provider_events};
use crate::{DbConn, StoreResult, unique_violation};

/// What changes on a payment: each `Some` is written, each `None` left as it is. Nullable
/// columns take `Some(None)` to clear them. `updated_at` is always written (by
/// `prepared::UpdatePayment`).
#[derive(Debug, Clone)]
pub struct PaymentChanges {
    pub(crate) status: Option<&'static str>,
    pub(crate) failure_code: Option<Option<String>>,
    pub(crate) succeeded_at: Option<Option<NaiveDateTime>>,
    pub(crate) refunded_amount: Option<i64>,
    pub(crate) provider_ref: Option<Option<String>>,
    pub(crate) client_secret: Option<Option<String>>,
    pub(crate) updated_at: NaiveDateTime,
}

impl PaymentChanges {
    /// No change but the time of the last one.
    pub fn at(now: NaiveDateTime) -> PaymentChanges {
        PaymentChanges {
            status: None,
            failure_code: None,
            succeeded_at: None,
            refunded_amount: None,
            provider_ref: None,
            client_secret: None,
            updated_at: now,
        }
    }

    pub fn status(mut self, status: PaymentStatus) -> Self {
        self.status = Some(status.as_str());
        self
    }

    /// Sets (or, with `None`, clears) the reason the payment failed or needs attention.
    pub fn failure_code(mut self, code: Option<&str>) -> Self {
        self.failure_code = Some(code.map(str::to_owned));
        self
    }

    pub fn succeeded_at(mut self, at: Option<NaiveDateTime>) -> Self {
        self.succeeded_at = Some(at);
        self
    }

    pub fn refunded_amount(mut self, amount: i64) -> Self {
        self.refunded_amount = Some(amount);
        self
    }

    /// The provider's side of the payment, once it exists.
    pub fn provider_side(mut self, reference: &str, client_secret: Option<&str>) -> Self {
        self.provider_ref = Some(Some(reference.to_owned()));
        self.client_secret = Some(client_secret.map(str::to_owned));
        self
    }
}

/// A payment, if there is one with this id.
pub fn find(conn: &mut DbConn, payment_id: &str) -> StoreResult<Option<Payment>> {
    Ok(payments::table.find(payment_id).select(Payment::as_select()).first(conn).optional()?)
}

/// A payment that must exist (its id came from a row read in the same transaction).
pub fn get(conn: &mut DbConn, payment_id: &str) -> StoreResult<Payment> {
    Ok(payments::table.find(payment_id).select(Payment::as_select()).first(conn)?)
}

/// The bill a payment belongs to, to lock it before the payment is read again.
pub fn bill_of(conn: &mut DbConn, payment_id: &str) -> StoreResult<String> {
    Ok(payments::table.find(payment_id).select(payments::bill_id).first(conn)?)
}

/// The item parts a payment takes.
pub fn parts(conn: &mut DbConn, payment_id: &str) -> StoreResult<Vec<PaymentItem>> {
    Ok(payment_items::table
        .filter(payment_items::payment_id.eq(payment_id))
        .select(PaymentItem::as_select())
        .load(conn)?)
}

/// A payment with its parts (two statements).
pub fn with_parts(conn: &mut DbConn, payment_id: &str) -> StoreResult<Option<(Payment, Vec<PaymentItem>)>> {
    let Some(payment) = find(conn, payment_id)? else { return Ok(None) };
    let parts = parts(conn, payment_id)?;
    Ok(Some((payment, parts)))
}

/// A payment of a bill of the table `table_id`: what a guest holding the table's QR code may
/// see. One statement, joined with the bill.
pub fn find_at_table(conn: &mut DbConn, payment_id: &str, table_id: &str) -> StoreResult<Option<Payment>> {
    Ok(payments::table
        .inner_join(bills::table.on(bills::id.eq(payments::bill_id)))
        .filter(payments::id.eq(payment_id))
        .filter(bills::table_id.eq(table_id))
        .select(Payment::as_select())
        .first(conn)
        .optional()?)
}

/// A payment of the table `table_id` with its parts (two statements).
pub fn at_table_with_parts(
    conn: &mut DbConn,
    payment_id: &str,
    table_id: &str,
) -> StoreResult<Option<(Payment, Vec<PaymentItem>)>> {
    let Some(payment) = find_at_table(conn, payment_id, table_id)? else { return Ok(None) };
    let parts = parts(conn, payment_id)?;
    Ok(Some((payment, parts)))
}

/// A payment of `provider`, if there is one with this id.
pub fn find_of_provider(conn: &mut DbConn, payment_id: &str, provider: &str) -> StoreResult<Option<Payment>> {
    Ok(payments::table
        .find(payment_id)
        .filter(payments::provider.eq(provider))
        .select(Payment::as_select())
        .first(conn)
        .optional()?)
}

/// The payment `provider` knows by `reference`.
pub fn find_by_provider_ref(conn: &mut DbConn, provider: &str, reference: &str) -> StoreResult<Option<Payment>> {
    Ok(payments::table
        .filter(payments::provider_ref.eq(reference))
        .filter(payments::provider.eq(provider))
        .select(Payment::as_select())
        .first(conn)
        .optional()?)
}

/// The payment a guest created on `bill_id` with this `Idempotency-Key`.
pub fn find_by_idempotency_key(conn: &mut DbConn, bill_id: &str, key: &str) -> StoreResult<Option<Payment>> {
    Ok(payments::table
        .filter(payments::bill_id.eq(bill_id))
        .filter(payments::idempotency_key.eq(key))
        .select(Payment::as_select())
        .first(conn)
        .optional()?)
}

/// Stores a new payment and the parts it takes (one statement for the payment, one per 500
/// parts).
pub fn insert(conn: &mut DbConn, payment: &Payment, parts: &[PaymentItem]) -> StoreResult<()> {
    run_on!(conn, InsertPayment { payment }, execute)?;
    crate::batch_insert!(conn, payment_items::table, parts.to_vec());
    Ok(())
}

/// Writes `changes` to the payment.
/// Released payments the provider captured anyway and that still await their refund.
pub fn late_captures_to_refund(conn: &mut DbConn, limit: i64) -> StoreResult<Vec<Payment>> {
    use tablepay_domain::PaymentStatus;
    let released: Vec<&str> = PaymentStatus::ALL.iter().filter(|s| s.is_released()).map(|s| s.as_str()).collect();
    Ok(payments::table
        .filter(payments::failure_code.eq(LATE_CAPTURE))
        .filter(payments::status.eq_any(released))
        .filter(payments::refunded_amount.lt(payments::amount + payments::tip_amount))
        .order(payments::updated_at.asc())
        .limit(limit)
        .select(Payment::as_select())
        .load(conn)?)
}

/// The `failure_code` of a payment the provider captured after its hold was released.
pub const LATE_CAPTURE: &str = "captured_after_release";

pub fn update(conn: &mut DbConn, payment_id: &str, changes: &PaymentChanges) -> StoreResult<()> {
    run_on!(conn, UpdatePayment { payment_id, changes }, execute)?;
    Ok(())
}

/// Pending payments whose hold ran out by `now`, oldest first, at most `limit`.
pub fn due_to_expire(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> StoreResult<Vec<Payment>> {
    Ok(payments::table
        .filter(payments::status.eq(PaymentStatus::Pending.as_str()))
        .filter(payments::expires_at.le(now))
        .order(payments::expires_at.asc())
        .limit(limit)
        .select(Payment::as_select())
        .load(conn)?)
}

/// Records a provider event; false when this event id was recorded before (a replay). In a
/// savepoint: on PostgreSQL a failed statement would otherwise abort the whole transaction,
/// and a duplicate is an expected outcome here.
pub fn record_provider_event(conn: &mut DbConn, event: &ProviderEventRecord) -> StoreResult<bool> {
    let inserted = conn.transaction(|c| run_on!(c, InsertProviderEvent { event }, execute));
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if unique_violation(&e).is_some() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// [`record_provider_event`] without its savepoint, for a transaction that a duplicate ends
/// anyway (rolled back whole): false for a duplicate, after which on PostgreSQL the transaction
/// can run nothing more.
pub fn record_new_provider_event(conn: &mut DbConn, event: &ProviderEventRecord) -> StoreResult<bool> {
    match run_on!(conn, InsertProviderEvent { event }, execute) {
        Ok(_) => Ok(true),
        Err(e) if unique_violation(&e).is_some() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Whether a provider event was ever applied to this payment.
pub fn has_provider_events(conn: &mut DbConn, payment_id: &str) -> StoreResult<bool> {
    let count: i64 =
        provider_events::table.filter(provider_events::payment_id.eq(payment_id)).count().get_result(conn)?;
    Ok(count > 0)
}
