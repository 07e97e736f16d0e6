//! Use cases: a party changes tables, or joins another. A moved bill takes everything on it to
//! the new table; the old table's QR code shows no bill any more and the new one shows this
//! bill. A merge gives one open bill everything on another (lines, adjustments, payments,
//! tenders); the other becomes `merged` and its table is free.
//!
//! Each runs in one write transaction with the bills locked (two bills in the order of their
//! ids, so two merges of the same pair cannot deadlock). A bill with a pending payment does not
//! move (the guest paying would lose the table under their feet: 409 `payments_pending`), and
//! a table that holds a bill takes no other (409 `table_occupied`; the database's one-open-bill
//! index keeps it so under any concurrency).

use tablepay_domain::{BillId, BillStatus, PaymentStatus, TableId};
use tablepay_store::{DbConn, Store, now};

use crate::app::access::{Permission, VenueCaller};
use crate::app::bills::lock_venue_bill;
use crate::app::events;
use crate::app::outcomes::settle_if_paid;
use crate::app::{AppError, AppResult, Code};
use crate::audit::{self, Entry};
use crate::billing::{BillRecord, BillRecordExt, load_bill};

/// Moves an open or paid bill of the caller's venue to another table of the venue.
pub async fn move_bill(
    store: &Store,
    caller: VenueCaller,
    bill_id: BillId,
    table_id: TableId,
) -> AppResult<BillRecord> {
    store.write(move |conn| move_in(conn, &caller, bill_id.as_str(), table_id.as_str())).await
}

fn move_in(conn: &mut DbConn, caller: &VenueCaller, bill_id: &str, table_id: &str) -> AppResult<BillRecord> {
    let record = lock_venue_bill(conn, bill_id, caller)?;
    caller.require(Permission::TakeMoney)?;
    let target = tablepay_store::tables::find(conn, table_id)?
        .filter(|t| t.venue_id == record.bill.venue_id)
        .ok_or(AppError::NotFound("table"))?;
    if target.id == record.bill.table_id {
        return Ok(record);
    }
    if !record.bill.status.occupies_table() {
        return Err(AppError::conflict(
            Code::BillNotOpen,
            format!("the bill is {}; it left its table", record.bill.status),
        ));
    }
    require_nothing_pending(&record)?;
    let seated = tablepay_store::tables::current_bill_statuses(conn, std::slice::from_ref(&target.id))?;
    if seated.contains_key(&target.id) {
        return Err(occupied(&target.label));
    }
    tablepay_store::bills::move_to_table(conn, bill_id, &target.id, now()).map_err(|e| match e.unique_violation() {
        Some(_) => occupied(&target.label),
        None => AppError::from(e),
    })?;
    let entry = Entry {
        action: "bill.moved",
        bill_id: Some(bill_id),
        subject_id: Some(&target.id),
        details: serde_json::json!({"from": record.table.label, "to": target.label}),
        ..Entry::default()
    };
    audit::record(conn, caller, entry)?;
    let moved = load_bill(conn, bill_id)?.ok_or_else(|| AppError::internal("bill vanished"))?;
    events::bill_event(conn, &moved, "bill.updated")?;
    Ok(moved)
}

/// Merges the open bill `other_id` into the open bill `bill_id`, both of the caller's venue.
pub async fn merge(store: &Store, caller: VenueCaller, bill_id: BillId, other_id: BillId) -> AppResult<BillRecord> {
    store.write(move |conn| merge_in(conn, &caller, bill_id.as_str(), other_id.as_str())).await
}

fn merge_in(conn: &mut DbConn, caller: &VenueCaller, bill_id: &str, other_id: &str) -> AppResult<BillRecord> {
    if bill_id == other_id {
        return Err(AppError::invalid("a bill cannot be merged into itself"));
    }
    let (first, second) = if bill_id < other_id { (bill_id, other_id) } else { (other_id, bill_id) };
    let locked_first = lock_venue_bill(conn, first, caller)?;
    let locked_second = lock_venue_bill(conn, second, caller)?;
    let (into, from) = if first == bill_id { (locked_first, locked_second) } else { (locked_second, locked_first) };
    caller.require(Permission::TakeMoney)?;
    for bill in [&into, &from] {
        if bill.bill.status != BillStatus::Open {
            return Err(AppError::conflict(
                Code::BillNotOpen,
                format!("the bill at {} is {}; only open bills merge", bill.table.label, bill.bill.status),
            ));
        }
        require_nothing_pending(bill)?;
    }
    let now = now();
    let reason = format!("merged into the bill at {}", into.table.label);
    tablepay_store::bills::merge(conn, &into.bill.id, &from.bill.id, &reason, now)?;
    tablepay_store::bills::bump_content(conn, &into.bill.id, now)?;
    let merged = load_bill(conn, &into.bill.id)?.ok_or_else(|| AppError::internal("bill vanished"))?;
    // Priced and accounted before commit: a merge that broke the ledger would be refused here.
    merged.state()?;
    let entry = Entry {
        action: "bill.merged",
        bill_id: Some(&into.bill.id),
        subject_id: Some(&from.bill.id),
        details: serde_json::json!({"from_table": from.table.label, "into_table": into.table.label}),
        ..Entry::default()
    };
    audit::record(conn, caller, entry)?;
    let gone = load_bill(conn, &from.bill.id)?.ok_or_else(|| AppError::internal("bill vanished"))?;
    events::bill_event(conn, &gone, "bill.updated")?;
    events::bill_event(conn, &merged, "bill.updated")?;
    if settle_if_paid(conn, &into.bill.id, now)? {
        return load_bill(conn, &into.bill.id)?.ok_or_else(|| AppError::internal("bill vanished"));
    }
    Ok(merged)
}

fn occupied(label: &str) -> AppError {
    AppError::conflict(Code::TableOccupied, format!("table {label} has a bill; close or move it first"))
}

/// 409 `payments_pending` while a guest is paying part of the bill.
pub fn require_nothing_pending(record: &BillRecord) -> AppResult<()> {
    if record.payments.iter().any(|p| p.status == PaymentStatus::Pending) {
        return Err(AppError::conflict(
            Code::PaymentsPending,
            "a guest is paying part of this bill; wait until the payment ends (or its hold expires)",
        ));
    }
    Ok(())
}
