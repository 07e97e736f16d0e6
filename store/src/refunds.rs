//! Refunds as stored: requested, waiting for a manager, asked of the provider, and how the
//! provider answered. What a refund does to its payment is the payments aggregate's.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use tablepay_domain::RefundStatus;

use crate::rows::Refund;
use crate::schema::{bills, refunds, venues};
use crate::{DbConn, StoreResult};

/// A manager's decision on a pending refund. An approved one has no `decided_at` yet: it is
/// decided when the provider answers.
#[derive(Debug, Clone)]
pub struct RefundDecision<'a> {
    pub status: RefundStatus,
    pub approved_by_id: Option<&'a str>,
    pub approved_by_name: Option<&'a str>,
    pub decided_at: Option<NaiveDateTime>,
}

/// The provider's answer: `succeeded` with its reference, or `failed` with its reason.
/// Columns left `None` are not touched.
#[derive(Debug, Clone)]
pub struct RefundOutcome<'a> {
    pub status: RefundStatus,
    pub provider_ref: Option<&'a str>,
    pub failure_reason: Option<&'a str>,
    pub decided_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConn, id: &str) -> StoreResult<Option<Refund>> {
    Ok(refunds::table.find(id).select(Refund::as_select()).first(conn).optional()?)
}

/// A refund known to exist (read back after a change in the same transaction).
pub fn get(conn: &mut DbConn, id: &str) -> StoreResult<Refund> {
    Ok(refunds::table.find(id).select(Refund::as_select()).first(conn)?)
}

/// Every refund of a payment, whatever its status.
pub fn of_payment(conn: &mut DbConn, payment_id: &str) -> StoreResult<Vec<Refund>> {
    Ok(refunds::table.filter(refunds::payment_id.eq(payment_id)).select(Refund::as_select()).load(conn)?)
}

/// The refund of a payment made under this `Idempotency-Key`, if any.
pub fn by_key(conn: &mut DbConn, payment_id: &str, key: &str) -> StoreResult<Option<Refund>> {
    Ok(refunds::table
        .filter(refunds::payment_id.eq(payment_id))
        .filter(refunds::idempotency_key.eq(key))
        .select(Refund::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert(conn: &mut DbConn, refund: &Refund) -> StoreResult<()> {
    diesel::insert_into(refunds::table).values(refund.clone()).execute(conn)?;
    Ok(())
}

pub fn record_decision(conn: &mut DbConn, id: &str, decision: &RefundDecision<'_>) -> StoreResult<()> {
    diesel::update(refunds::table.find(id))
        .set((
            refunds::status.eq(decision.status.as_str()),
            refunds::approved_by_id.eq(decision.approved_by_id),
            refunds::approved_by_name.eq(decision.approved_by_name),
            refunds::decided_at.eq(decision.decided_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn record_outcome(conn: &mut DbConn, id: &str, outcome: &RefundOutcome<'_>) -> StoreResult<()> {
    let row = refunds::table.find(id);
    let status = refunds::status.eq(outcome.status.as_str());
    let decided_at = refunds::decided_at.eq(outcome.decided_at);
    match (outcome.provider_ref, outcome.failure_reason) {
        (Some(reference), _) => {
            diesel::update(row).set((status, refunds::provider_ref.eq(reference), decided_at)).execute(conn)?
        }
        (None, Some(reason)) => {
            diesel::update(row).set((status, refunds::failure_reason.eq(reason), decided_at)).execute(conn)?
        }
        (None, None) => diesel::update(row).set((status, decided_at)).execute(conn)?,
    };
    Ok(())
}

/// The venue's refund limit for servers, read through the bill.
pub fn server_limit_of_bill(conn: &mut DbConn, bill_id: &str) -> StoreResult<i64> {
    Ok(bills::table
        .inner_join(venues::table)
        .filter(bills::id.eq(bill_id))
        .select(venues::server_refund_limit)
        .first(conn)?)
}

/// The amounts and statuses of the refunds one staff member requested on a bill: what their
/// limit on it has to count.
pub fn requested_by(conn: &mut DbConn, bill_id: &str, actor_id: &str) -> StoreResult<Vec<(i64, RefundStatus)>> {
    let rows: Vec<(i64, String)> = refunds::table
        .filter(refunds::bill_id.eq(bill_id))
        .filter(refunds::created_by_id.eq(actor_id))
        .select((refunds::amount, refunds::status))
        .load(conn)?;
    rows.into_iter().map(|(amount, status)| Ok((amount, RefundStatus::try_from(status)?))).collect()
}

/// The amounts of a payment's refunds that the provider confirmed.
pub fn succeeded_amounts(conn: &mut DbConn, payment_id: &str) -> StoreResult<Vec<i64>> {
    Ok(refunds::table
        .filter(refunds::payment_id.eq(payment_id))
        .filter(refunds::status.eq(RefundStatus::Succeeded.as_str()))
        .select(refunds::amount)
        .load(conn)?)
}
