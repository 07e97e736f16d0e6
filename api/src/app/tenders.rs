//! Use case: money taken outside tablepay, recorded on a bill by the POS or staff: cash at the
//! table, the venue's own card terminal, a voucher. A recorded tender counts toward `paid` at
//! once, so the bill settles when tenders and payments cover it; voiding one (the POS, or a
//! manager) gives its amount back to the bill while the bill is open.
//!
//! Both run in one write transaction with the bill locked, like every change to a bill: the
//! amount is checked against what is left (what other guests hold is not left), and the
//! tender, its audit entry, its event, `bill.updated` and a settlement commit together.

use tablepay_domain::{BillId, MinorUnit, Role, TenderId, TenderKind, TenderStatus};
use tablepay_store::rows::Tender;
use tablepay_store::{DbConn, Store, new_id, now, tenders as stored};

use crate::app::access::{Permission, VenueCaller};
use crate::app::bills::lock_venue_bill;
use crate::app::events;
use crate::app::outcomes::{bump_bill, settle_if_paid};
use crate::app::{AppError, AppResult, Code};
use crate::audit::{self, Entry};
use crate::billing::{Audience, BillRecord, BillRecordExt, TenderView, load_bill};

/// A tender as recorded; the texts were checked at the edge.
#[derive(Debug, Clone)]
pub struct NewTender {
    pub kind: TenderKind,
    pub amount: i64,
    pub tip_amount: i64,
    pub reference: Option<String>,
    pub note: Option<String>,
}

/// Records a tender on an open bill of the caller's venue; answers it with the bill as it now
/// stands (settled, when the tender paid what was left).
pub async fn record(
    store: &Store,
    caller: VenueCaller,
    bill_id: BillId,
    new: NewTender,
) -> AppResult<(TenderView, BillRecord)> {
    store.write(move |conn| record_in(conn, &caller, bill_id.as_str(), new)).await
}

fn record_in(
    conn: &mut DbConn,
    caller: &VenueCaller,
    bill_id: &str,
    new: NewTender,
) -> AppResult<(TenderView, BillRecord)> {
    let record = lock_venue_bill(conn, bill_id, caller)?;
    caller.require(Permission::TakeMoney)?;
    if !record.bill.status.accepts_payments() {
        return Err(AppError::conflict(Code::BillNotOpen, format!("the bill is {}", record.bill.status)));
    }
    if new.amount < 0 || new.tip_amount < 0 || new.amount.saturating_add(new.tip_amount) < 1 {
        return Err(AppError::invalid("a tender takes an amount of at least 1 (or a tip)"));
    }
    MinorUnit::safe(new.amount)
        .and_then(|a| a.checked_add(MinorUnit::safe(new.tip_amount)?))
        .map_err(|_| AppError::invalid("amount out of range: at most 9007199254740991"))?;
    let remaining = record.state()?.remaining();
    if MinorUnit(new.amount) > remaining {
        return Err(AppError::conflict(
            Code::AmountExceedsRemaining,
            format!("only {} is left to pay (what other guests hold is not left)", remaining.get()),
        ));
    }
    let now = now();
    let tender = Tender {
        id: new_id(),
        venue_id: record.venue.id.clone(),
        bill_id: record.bill.id.clone(),
        kind: new.kind,
        amount: new.amount,
        tip_amount: new.tip_amount,
        reference: new.reference,
        note: new.note,
        status: TenderStatus::Recorded,
        recorded_by_id: caller.actor_id().to_owned(),
        recorded_by_name: caller.actor_name().to_owned(),
        recorded_by_role: caller.role,
        void_reason: None,
        voided_by_name: None,
        created_at: now,
        voided_at: None,
    };
    stored::insert(conn, &tender)?;
    let entry = Entry {
        action: "tender.recorded",
        bill_id: Some(&tender.bill_id),
        subject_id: Some(&tender.id),
        amount: Some(tender.amount),
        details: serde_json::json!({"type": tender.kind, "tip_amount": tender.tip_amount, "reference": tender.reference}),
        ..Entry::default()
    };
    audit::record(conn, caller, entry)?;
    let bill = changed(conn, &tender, "tender.recorded")?;
    Ok((TenderView::from_row(&tender, Audience::Venue), bill))
}

/// Voids a recorded tender of the caller's venue (the POS, or a manager) while its bill is
/// open; voiding a void tender again answers it as it stands.
pub async fn void(
    store: &Store,
    caller: VenueCaller,
    tender_id: TenderId,
    reason: String,
) -> AppResult<(TenderView, BillRecord)> {
    store.write(move |conn| void_in(conn, &caller, tender_id.as_str(), &reason)).await
}

fn void_in(
    conn: &mut DbConn,
    caller: &VenueCaller,
    tender_id: &str,
    reason: &str,
) -> AppResult<(TenderView, BillRecord)> {
    let found = stored::find(conn, tender_id)?.ok_or(AppError::NotFound("tender"))?;
    caller.require_venue(&found.venue_id, "tender")?;
    if !matches!(caller.role, Role::Pos | Role::Manager) {
        return Err(AppError::forbidden("only the POS or a manager voids a tender"));
    }
    let record = lock_venue_bill(conn, &found.bill_id, caller)?;
    let tender = stored::find(conn, tender_id)?.ok_or(AppError::NotFound("tender"))?;
    if tender.status == TenderStatus::Void {
        return Ok((TenderView::from_row(&tender, Audience::Venue), record));
    }
    if !record.bill.status.accepts_changes() {
        return Err(AppError::conflict(
            Code::BillNotOpen,
            format!("the bill is {}; its tenders can no longer be voided", record.bill.status),
        ));
    }
    stored::void(conn, &tender.id, reason, caller.actor_name(), now())?;
    let entry = Entry {
        action: "tender.voided",
        bill_id: Some(&tender.bill_id),
        subject_id: Some(&tender.id),
        amount: Some(tender.amount),
        reason: Some(reason),
        details: serde_json::json!({"type": tender.kind, "recorded_by": tender.recorded_by_name}),
        ..Entry::default()
    };
    audit::record(conn, caller, entry)?;
    let voided = stored::find(conn, &tender.id)?.ok_or_else(|| AppError::internal("tender vanished"))?;
    let bill = changed(conn, &voided, "tender.voided")?;
    Ok((TenderView::from_row(&voided, Audience::Venue), bill))
}

/// After a tender changed: a new version, the tender's event and `bill.updated`, and the
/// settlement when the bill is now covered. Answers the bill as it stands.
fn changed(conn: &mut DbConn, tender: &Tender, event_type: &str) -> AppResult<BillRecord> {
    let now = now();
    bump_bill(conn, &tender.bill_id, now)?;
    let record = load_bill(conn, &tender.bill_id)?.ok_or_else(|| AppError::internal("bill vanished"))?;
    let totals = record.state()?.totals;
    let view = TenderView::from_row(tender, Audience::Venue);
    let data = serde_json::json!({
        "tender": view,
        "table_id": record.bill.table_id,
        "table_label": record.table.label,
        "totals": totals,
    });
    events::emit(conn, &tender.venue_id, event_type, data)?;
    events::bill_event(conn, &record, "bill.updated")?;
    if settle_if_paid(conn, &tender.bill_id, now)? {
        return load_bill(conn, &tender.bill_id)?.ok_or_else(|| AppError::internal("bill vanished"));
    }
    Ok(record)
}
