//! Use case: a party changes tables. The bill moves with everything on it; the old table's QR
//! code shows no bill any more and the new one shows this bill.
//!
//! Runs in one write transaction with the bill locked. A bill with a pending payment does not
//! move (the guest paying would lose the table under their feet: 409 `payments_pending`), and
//! a table that holds a bill takes no other (409 `table_occupied`; the database's one-open-bill
//! index keeps it so under any concurrency).

use tablepay_domain::{BillId, PaymentStatus, TableId};
use tablepay_store::{DbConn, Store, now};

use crate::app::access::{Permission, VenueCaller};
use crate::app::bills::lock_venue_bill;
use crate::app::events;
use crate::app::{AppError, AppResult, Code};
use crate::audit::{self, Entry};
use crate::billing::{BillRecord, load_bill};

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
