//! Use case: bills as the POS pushes them. Open one with its lines, upsert a whole check by
//! its POS reference, add and void lines, close.
//!
//! Every change runs in one write transaction with the bill locked, bumps its version, and
//! is priced before commit: a change that would make the bill unpriceable is refused (422)
//! and leaves nothing behind. The ledger guards the lines guests paid or hold.

use tablepay_domain::{BillStatus, Fraction, ItemStatus, MinorUnit, StaffId, TableId};
use tablepay_store::bills::{self as stored, NewBill};
use tablepay_store::rows::{Bill, BillItem};
use tablepay_store::{DbConn, Store, StoreError, lock_bill, now, tables};

use crate::app::access::Permission;
use crate::app::access::{Role, VenueCaller};
use crate::app::events::bill_event;
use crate::app::outcomes::settle_if_paid;
use crate::app::{AppError, AppResult, Code};
use crate::audit;
use crate::billing::{Audience, BillRecord, BillRecordExt, load_bill};
use tablepay_domain::{BillId, ItemId, VenueId};

pub use tablepay_store::bills::NewLine;

/// Lines on one bill, void ones included; a check longer than this is not a restaurant bill.
pub const MAX_ITEMS_PER_BILL: usize = 1000;
/// The most of one line a POS may send.
pub const MAX_QUANTITY: i64 = 100_000;

pub fn too_many_items() -> AppError {
    AppError::invalid(format!("a bill holds at most {MAX_ITEMS_PER_BILL} items"))
}

/// Loads and locks a bill of the caller's venue for a change.
pub fn lock_venue_bill(conn: &mut DbConn, bill_id: &str, caller: &VenueCaller) -> AppResult<BillRecord> {
    lock_bill(conn, bill_id)?;
    let record = load_bill(conn, bill_id)?.ok_or(AppError::NotFound("bill"))?;
    caller.require_venue(&record.bill.venue_id, "bill")?;
    Ok(record)
}

fn require_open(bill: &Bill) -> AppResult<()> {
    if bill.status.accepts_changes() {
        Ok(())
    } else {
        Err(AppError::conflict(Code::BillNotOpen, format!("the bill is {}; it can no longer change", bill.status)))
    }
}

/// Where the next appended line goes: after every line, void ones included.
fn next_position(record: &BillRecord) -> i32 {
    record.items.iter().map(|i| i.position + 1).max().unwrap_or(0)
}

/// Re-reads the bill inside its transaction and prices it: a bill that can no longer be
/// priced fails here, so the change that made it so is rolled back.
fn reload(conn: &mut DbConn, bill_id: &str) -> AppResult<BillRecord> {
    let record = load_bill(conn, bill_id)?.ok_or_else(|| AppError::internal("bill vanished inside its transaction"))?;
    record.view(Audience::Venue)?;
    Ok(record)
}

/// Records that the bill changed (version, `bill.updated`) and returns it re-read. Voiding
/// what nobody paid for can leave a bill exactly paid: it settles here.
fn bump(conn: &mut DbConn, bill_id: &str) -> AppResult<BillRecord> {
    bump_as(conn, bill_id, true)
}

/// [`bump`]; `content` says whether items or prices changed (what the stale-bill check
/// compares), as opposed to where the bill sits or who serves it.
fn bump_as(conn: &mut DbConn, bill_id: &str, content: bool) -> AppResult<BillRecord> {
    if content {
        stored::bump_content(conn, bill_id, now())?;
    } else {
        stored::bump(conn, bill_id, now())?;
    }
    let mut record = reload(conn, bill_id)?;
    bill_event(conn, &record, "bill.updated")?;
    if settle_if_paid(conn, bill_id, now())? {
        record = reload(conn, bill_id)?;
    }
    Ok(record)
}

/// A table (and the one open bill it may hold) or a POS reference already taken.
fn open_bill_conflict(err: StoreError) -> AppError {
    match err.unique_violation() {
        Some(index) if index.contains("external_ref") => {
            AppError::conflict(Code::Conflict, "an open bill with this external_ref already exists")
        }
        Some(_) => AppError::conflict(Code::Conflict, "this table already has an open bill; close it first"),
        None => err.into(),
    }
}

/// Where a bill sits: a table of the venue and, maybe, a server of it (ids as sent).
#[derive(Debug, Clone)]
pub struct Placement {
    pub table_id: String,
    pub server_id: Option<String>,
}

impl Placement {
    /// The table's and the server's ids, each checked to be the venue's (404 otherwise).
    fn resolve(&self, conn: &mut DbConn, venue_id: &str) -> AppResult<(String, Option<String>)> {
        let table_id = TableId::parse(&self.table_id).map_err(|_| AppError::NotFound("table"))?.into_inner();
        let table =
            tables::find(conn, &table_id)?.filter(|t| t.venue_id == venue_id).ok_or(AppError::NotFound("table"))?;
        let server = match &self.server_id {
            Some(raw) => {
                let id = StaffId::parse(raw).map_err(|_| AppError::NotFound("server"))?.into_inner();
                Some(
                    tablepay_store::staff::member_of_venue(conn, &id, venue_id)?
                        .ok_or(AppError::NotFound("server"))?
                        .id,
                )
            }
            None => None,
        };
        Ok((table.id, server))
    }
}

/// Opens a bill with its lines and writes `bill.opened`, in the caller's transaction.
fn insert_bill(conn: &mut DbConn, new: NewBill, lines: &[NewLine]) -> AppResult<BillRecord> {
    let id = stored::insert(conn, new, now()).map_err(open_bill_conflict)?;
    stored::insert_lines(conn, &id, 0, lines, now())?;
    let record = reload(conn, &id)?;
    bill_event(conn, &record, "bill.opened")?;
    Ok(record)
}

/// Opens a bill on a table of `venue_id` (the caller may act for it).
pub async fn open(
    store: &Store,
    venue_id: VenueId,
    placement: Placement,
    external_ref: Option<String>,
    lines: Vec<NewLine>,
) -> AppResult<BillRecord> {
    store
        .write(move |conn| -> AppResult<_> {
            let (table_id, server_id) = placement.resolve(conn, venue_id.as_str())?;
            insert_bill(conn, NewBill { venue_id: venue_id.into(), table_id, external_ref, server_id }, &lines)
        })
        .await
}

/// A bill of the caller's venue, as stored.
pub async fn get(store: &Store, caller: &VenueCaller, bill_id: BillId) -> AppResult<BillRecord> {
    let record = store
        .run(move |conn| -> AppResult<_> { load_bill(conn, bill_id.as_str()) })
        .await?
        .ok_or(AppError::NotFound("bill"))?;
    caller.require_venue(&record.bill.venue_id, "bill")?;
    Ok(record)
}

/// Appends lines to an open bill.
pub async fn add_items(
    store: &Store,
    caller: VenueCaller,
    bill_id: BillId,
    lines: Vec<NewLine>,
) -> AppResult<BillRecord> {
    store
        .write(move |conn| -> AppResult<_> {
            let record = lock_venue_bill(conn, bill_id.as_str(), &caller)?;
            caller.require(Permission::KeepBills)?;
            require_open(&record.bill)?;
            if record.items.len() + lines.len() > MAX_ITEMS_PER_BILL {
                return Err(too_many_items());
            }
            stored::insert_lines(conn, &record.bill.id, next_position(&record), &lines, now())?;
            bump(conn, &record.bill.id)
        })
        .await
}

/// Voids one line nobody paid or holds. Voiding a void line again changes nothing.
pub async fn void_item(store: &Store, caller: VenueCaller, bill_id: BillId, item_id: ItemId) -> AppResult<BillRecord> {
    store
        .write(move |conn| -> AppResult<_> {
            let record = lock_venue_bill(conn, bill_id.as_str(), &caller)?;
            caller.require(Permission::KeepBills)?;
            let item = record.items.iter().find(|i| item_id == i.id).ok_or(AppError::NotFound("item"))?;
            if !item.status.can_become(ItemStatus::Void) {
                return Ok(record);
            }
            require_open(&record.bill)?;
            let ledger = record.state()?;
            if ledger.lines.get(&item.id).is_some_and(|s| s.taken() > MinorUnit::ZERO || s.claimed != Fraction::ZERO) {
                return Err(AppError::conflict(
                    Code::ItemPaid,
                    "part of this item is paid or held; it cannot be voided",
                ));
            }
            stored::void_lines(conn, std::slice::from_ref(&item.id), now())?;
            bump(conn, &record.bill.id)
        })
        .await
}

/// What the POS sends to upsert its check.
#[derive(Debug, Clone)]
pub struct Check {
    pub external_ref: String,
    pub placement: Placement,
    pub lines: Vec<NewLine>,
}

/// Makes the venue's bill with the check's reference match the check, or opens one. Answers
/// the bill and whether it was opened. Sending the same check twice changes nothing.
pub async fn upsert(
    store: &Store,
    caller: VenueCaller,
    venue_id: VenueId,
    check: Check,
) -> AppResult<(BillRecord, bool)> {
    store
        .write(move |conn| -> AppResult<_> {
            let (table_id, server_id) = check.placement.resolve(conn, venue_id.as_str())?;
            let Some(latest) = stored::occupying_by_external_ref(conn, venue_id.as_str(), &check.external_ref)? else {
                if let Some(label) = stored::merged_check(conn, venue_id.as_str(), &check.external_ref)? {
                    // Opening it again would bill its lines twice: they are on the bill it joined.
                    return Err(AppError::conflict(
                        Code::Conflict,
                        format!("this check was merged into the bill at table {label}; send that bill's check"),
                    ));
                }
                let new =
                    NewBill { venue_id: venue_id.into(), table_id, external_ref: Some(check.external_ref), server_id };
                return Ok((insert_bill(conn, new, &check.lines)?, true));
            };
            let record = lock_venue_bill(conn, &latest.id, &caller)?;
            let plan = reconcile(&record.items, &check.lines);
            let seated_elsewhere = record.bill.table_id != table_id;
            let moved = seated_elsewhere || record.bill.server_id != server_id;
            if plan.is_empty() && !moved {
                return Ok((record, false));
            }
            require_open(&record.bill)?;
            if seated_elsewhere {
                crate::app::parties::require_nothing_pending(&record)?;
            }
            let ledger = record.state()?;
            let touched = plan.void.iter().chain(plan.update.iter().map(|(id, _)| id));
            if touched.filter_map(|id| ledger.lines.get(id)).any(|s| s.claimed != Fraction::ZERO) {
                return Err(AppError::conflict(
                    Code::ItemPaid,
                    "the check changes an item that is partly paid or held",
                ));
            }
            let plan_was_empty = plan.is_empty();
            apply(conn, &record, plan)?;
            if moved {
                stored::reassign(conn, &record.bill.id, &table_id, server_id.as_deref()).map_err(open_bill_conflict)?;
            }
            Ok((bump_as(conn, &record.bill.id, !plan_was_empty)?, false))
        })
        .await
}

/// What turning a bill's active lines into the POS's list takes.
#[derive(Debug, Default)]
struct Plan {
    void: Vec<String>,
    update: Vec<(String, NewLine)>,
    insert: Vec<NewLine>,
}

impl Plan {
    fn is_empty(&self) -> bool {
        self.void.is_empty() && self.update.is_empty() && self.insert.is_empty()
    }
}

/// Whether the stored line already says exactly what the POS sends.
fn same_content(line: &NewLine, row: &BillItem) -> bool {
    line.name == row.name
        && line.quantity == row.quantity
        && line.unit_price == row.unit_price
        && line.tax_rate_bps == row.tax_rate_bps
        && line.external_ref == row.external_ref
}

/// Lines with a POS reference match by it (their content may change); the rest match a line
/// of identical content, first come first served; active lines left over are voided.
fn reconcile(existing: &[BillItem], wanted: &[NewLine]) -> Plan {
    let mut plan = Plan::default();
    let mut taken = vec![false; existing.len()];
    let is_active = |i: usize| existing[i].status.is_active();
    let active = |taken: &[bool], i: usize| is_active(i) && !taken[i];
    let mut unmatched = Vec::new();
    for line in wanted {
        let by_ref = line.external_ref.as_ref().and_then(|r| {
            (0..existing.len()).find(|&i| active(&taken, i) && existing[i].external_ref.as_deref() == Some(r.as_str()))
        });
        match by_ref {
            Some(i) => {
                taken[i] = true;
                if !same_content(line, &existing[i]) {
                    plan.update.push((existing[i].id.clone(), line.clone()));
                }
            }
            None => unmatched.push(line),
        }
    }
    for line in unmatched {
        match (0..existing.len()).find(|&i| active(&taken, i) && same_content(line, &existing[i])) {
            Some(i) => taken[i] = true,
            None => plan.insert.push(line.clone()),
        }
    }
    plan.void = (0..existing.len()).filter(|&i| active(&taken, i)).map(|i| existing[i].id.clone()).collect();
    plan
}

fn apply(conn: &mut DbConn, record: &BillRecord, plan: Plan) -> AppResult<()> {
    let now = now();
    let active = record.items.iter().filter(|i| i.status.is_active()).count();
    if active - plan.void.len() + plan.insert.len() > MAX_ITEMS_PER_BILL
        || record.items.len() + plan.insert.len() > MAX_ITEMS_PER_BILL
    {
        return Err(too_many_items());
    }
    if !plan.void.is_empty() {
        stored::void_lines(conn, &plan.void, now)?;
    }
    for (id, line) in &plan.update {
        stored::update_line(conn, id, line)?;
    }
    stored::insert_lines(conn, &record.bill.id, next_position(record), &plan.insert, now)?;
    Ok(())
}

/// Frees the table. A paid bill closes (the POS or any staff member); an unpaid one only by a
/// manager giving a reason: it becomes `void`, or `closed` when part of it was paid. Closing a
/// closed bill changes nothing.
pub async fn close(
    store: &Store,
    caller: VenueCaller,
    bill_id: BillId,
    reason: Option<String>,
) -> AppResult<BillRecord> {
    store
        .write(move |conn| -> AppResult<_> {
            let record = lock_venue_bill(conn, bill_id.as_str(), &caller)?;
            caller.require(Permission::TakeMoney)?;
            if caller.role == Role::Server && record.bill.status == BillStatus::Open {
                return Err(AppError::forbidden("a server closes a paid bill; a manager closes an unpaid one"));
            }
            let totals = record.state()?.totals;
            let from = record.bill.status;
            let to = match from {
                BillStatus::Open => closing_unpaid(&caller, reason.is_some(), totals.paid, totals.pending)?,
                _ => BillStatus::Closed,
            };
            if !from.can_become(to) {
                return Ok(record);
            }
            stored::close(conn, &record.bill.id, to, reason.as_deref(), now())?;
            if from == BillStatus::Open {
                let entry = audit::Entry {
                    action: if to == BillStatus::Void { "bill.voided" } else { "bill.closed_unpaid" },
                    bill_id: Some(&record.bill.id),
                    amount: Some(totals.remaining.get()),
                    reason: reason.as_deref(),
                    ..audit::Entry::default()
                };
                audit::record(conn, &caller, entry)?;
            }
            bump(conn, &record.bill.id)
        })
        .await
}

/// What an open bill becomes when closed before it is paid: only a manager with a reason
/// closes it, and not while guests are paying.
fn closing_unpaid(
    caller: &VenueCaller,
    has_reason: bool,
    paid: MinorUnit,
    pending: MinorUnit,
) -> AppResult<BillStatus> {
    match (caller.role, has_reason) {
        (Role::Manager, true) if pending > MinorUnit::ZERO => {
            Err(AppError::conflict(Code::Conflict, "guests are paying right now; wait for their payments to finish"))
        }
        (Role::Manager, true) if paid > MinorUnit::ZERO => Ok(BillStatus::Closed),
        (Role::Manager, true) => Ok(BillStatus::Void),
        (Role::Manager, false) => Err(AppError::invalid("closing a bill that is not paid needs a reason")),
        _ => Err(AppError::conflict(
            Code::Conflict,
            "the bill is not fully paid; only a manager can close it, with a reason",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, name: &str, price: i64, external_ref: Option<&str>) -> BillItem {
        BillItem {
            id: id.into(),
            bill_id: "b".into(),
            position: 0,
            name: name.into(),
            quantity: 1,
            unit_price: price,
            tax_rate_bps: None,
            external_ref: external_ref.map(Into::into),
            status: ItemStatus::Active,
            created_at: now(),
            voided_at: None,
        }
    }

    fn item(name: &str, price: i64, external_ref: Option<&str>) -> NewLine {
        NewLine {
            name: name.into(),
            quantity: 1,
            unit_price: price,
            tax_rate_bps: None,
            external_ref: external_ref.map(Into::into),
        }
    }

    #[test]
    fn same_check_twice_is_no_change() {
        let existing = [row("1", "Soup", 500, None), row("2", "Wine", 900, Some("w"))];
        let plan = reconcile(&existing, &[item("Soup", 500, None), item("Wine", 900, Some("w"))]);
        assert!(plan.is_empty(), "{plan:?}");
    }

    #[test]
    fn changes_are_matched_by_reference_then_content() {
        let existing = [row("1", "Soup", 500, None), row("2", "Wine", 900, Some("w")), row("3", "Soup", 500, None)];
        let plan =
            reconcile(&existing, &[item("Soup", 500, None), item("Wine", 1200, Some("w")), item("Cake", 700, None)]);
        assert_eq!(plan.update.len(), 1);
        assert_eq!(plan.update[0].0, "2");
        assert_eq!(plan.void, vec!["3".to_owned()]);
        assert_eq!(plan.insert, vec![item("Cake", 700, None)]);
    }
}
