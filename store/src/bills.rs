//! The bill aggregate: a bill with its venue, table, server, lines, payments and the parts they
//! take, its comps, discounts and refunds taken off it, and its tenders, read in two statements
//! whatever their number.

mod children;
mod memo;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use children::{Children, WideRow};
pub use memo::{Committed, Memo};

use crate::new_id;
use crate::prepared::{AdvanceBill, run_on};
use crate::rows::{
    Adjustment, AdjustmentLine, Bill, BillItem, DiningTable, Payment, PaymentItem, Staff, Tender, Venue,
};
use crate::schema::{bill_items, bills, dining_tables, staff, venues};
use crate::{DbConn, StoreResult};
use tablepay_domain::{BillStatus, ItemStatus};

/// A bill with everything needed to price it, account its payments and show it, as stored.
#[derive(Debug, Clone)]
pub struct BillRecord {
    pub bill: Bill,
    pub venue: Venue,
    pub table: DiningTable,
    pub server: Option<Staff>,
    /// Every line, active or void, in the POS's order.
    pub items: Vec<BillItem>,
    /// Every payment of the bill, oldest first.
    pub payments: Vec<Payment>,
    /// The item parts those payments take.
    pub parts: Vec<PaymentItem>,
    /// Comps and discounts, applied, waiting or rejected, oldest first.
    pub adjustments: Vec<Adjustment>,
    /// How the applied ones lower each line.
    pub adjustment_lines: Vec<AdjustmentLine>,
    /// Money recorded outside tablepay, recorded or void, oldest first.
    pub tenders: Vec<Tender>,
}

/// Loads a bill: one statement for the bill with its venue, table and server, one for all of
/// its lines, payments, parts, adjustments and tenders (a `UNION ALL` of rows of one wide shape).
pub fn load(conn: &mut DbConn, bill_id: &str) -> StoreResult<Option<BillRecord>> {
    let Some(header) = header(conn, bill_id)? else { return Ok(None) };
    children_of(conn, header).map(Some)
}

/// A bill's own row with its venue, table and server: [`load`]'s first statement.
pub type Header = (Bill, Venue, DiningTable, Option<Staff>);

fn header(conn: &mut DbConn, bill_id: &str) -> StoreResult<Option<Header>> {
    let header = bills::table
        .inner_join(venues::table.on(venues::id.eq(bills::venue_id)))
        .inner_join(dining_tables::table.on(dining_tables::id.eq(bills::table_id)))
        .left_join(staff::table.on(bills::server_id.eq(staff::id.nullable())))
        .filter(bills::id.eq(bill_id))
        .select((Bill::as_select(), Venue::as_select(), DiningTable::as_select(), Option::<Staff>::as_select()))
        .first::<(Bill, Venue, DiningTable, Option<Staff>)>(conn)
        .optional()?;
    Ok(header.map(|(mut bill, venue, table, server)| {
        if bill.merged_into.is_some() {
            bill.status = BillStatus::Merged;
        }
        (bill, venue, table, server)
    }))
}

/// [`load`]'s second statement: the bill of `header` with its children.
fn children_of(conn: &mut DbConn, (bill, venue, table, server): Header) -> StoreResult<BillRecord> {
    let bill_id = bill.id.clone();
    let children = Children { bill_id: &bill_id };
    let rows: Vec<WideRow> = match conn {
        DbConn::Pg(c) => children.load(c)?,
        DbConn::Sqlite(c) => children.load(c)?,
    };
    let mut record = BillRecord {
        bill,
        venue,
        table,
        server,
        items: Vec::new(),
        payments: Vec::new(),
        parts: Vec::new(),
        adjustments: Vec::new(),
        adjustment_lines: Vec::new(),
        tenders: Vec::new(),
    };
    for row in rows {
        row.into_record(&mut record)?;
    }
    record.sort();
    Ok(record)
}

impl BillRecord {
    /// Puts the children in the one order [`load`] gives them, so that a record changed in
    /// memory reads as the same record loaded again.
    pub fn sort(&mut self) {
        self.items.sort_by(|a, b| (a.position, &a.id).cmp(&(b.position, &b.id)));
        self.payments.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        self.parts.sort_by(|a, b| (&a.payment_id, &a.item_id).cmp(&(&b.payment_id, &b.item_id)));
        self.adjustments.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        self.adjustment_lines.sort_by(|a, b| (&a.adjustment_id, &a.item_id).cmp(&(&b.adjustment_id, &b.item_id)));
        self.tenders.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    }

    /// What [`bump`] and [`advance`] do to the bill's row, done to the record: the next version,
    /// changed at `now`.
    pub fn bump(&mut self, now: NaiveDateTime) {
        self.bill.version += 1;
        self.bill.updated_at = now;
    }
}

/// Moves the bill from `version` to the next, for a write that read the bill outside its
/// transaction (see [`Committed`]): false, with nothing changed, when another write moved it
/// first. On PostgreSQL the row stays locked until the transaction ends, as [`crate::lock_bill`]
/// would lock it.
pub fn advance(conn: &mut DbConn, bill_id: &str, version: i64, now: NaiveDateTime) -> StoreResult<bool> {
    let moved = run_on!(conn, AdvanceBill { bill_id, version, now }, execute)?;
    Ok(moved == 1)
}

/// Starts the bill's equal split (over) in `parts` shares: a new round, in which only the
/// shares taken from now on count. Returns the round.
pub fn start_split(conn: &mut DbConn, bill_id: &str, parts: i32) -> StoreResult<i32> {
    diesel::update(bills::table.find(bill_id))
        .set((bills::equal_parts.eq(parts), bills::split_round.eq(bills::split_round + 1)))
        .execute(conn)?;
    Ok(bills::table.find(bill_id).select(bills::split_round).first(conn)?)
}

/// Turns an `open` bill `paid`; false when it was not open.
pub fn settle(conn: &mut DbConn, bill_id: &str, now: NaiveDateTime) -> StoreResult<bool> {
    let moved = diesel::update(bills::table.find(bill_id).filter(bills::status.eq(BillStatus::Open.as_str())))
        .set((bills::status.eq(BillStatus::Paid.as_str()), bills::paid_at.eq(now), bills::updated_at.eq(now)))
        .execute(conn)?;
    Ok(moved == 1)
}

/// Records that the bill changed: its version (what guests' views and the stale-bill check
/// compare) goes up by one.
pub fn bump(conn: &mut DbConn, bill_id: &str, now: NaiveDateTime) -> StoreResult<()> {
    diesel::update(bills::table.find(bill_id))
        .set((bills::version.eq(bills::version + 1), bills::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// Seats the bill at another table (the party moved).
pub fn move_to_table(conn: &mut DbConn, bill_id: &str, table_id: &str, now: NaiveDateTime) -> StoreResult<()> {
    diesel::update(bills::table.find(bill_id))
        .set((bills::table_id.eq(table_id), bills::version.eq(bills::version + 1), bills::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// Moves everything on bill `from` to bill `into` (lines after its own, payments with their
/// parts, adjustments, tenders, refunds) and marks `from` merged. Both are locked by the caller.
pub fn merge(conn: &mut DbConn, into: &str, from: &str, reason: &str, now: NaiveDateTime) -> StoreResult<()> {
    use crate::schema::{adjustment_lines, adjustments, payment_items, payments, refunds, tenders};
    let after: Option<i32> = bill_items::table
        .filter(bill_items::bill_id.eq(into))
        .select(diesel::dsl::max(bill_items::position))
        .first(conn)?;
    let shift = after.unwrap_or(0) + 1;
    diesel::update(bill_items::table.filter(bill_items::bill_id.eq(from)))
        .set((bill_items::bill_id.eq(into), bill_items::position.eq(bill_items::position + shift)))
        .execute(conn)?;
    diesel::update(payments::table.filter(payments::bill_id.eq(from))).set(payments::bill_id.eq(into)).execute(conn)?;
    diesel::update(payment_items::table.filter(payment_items::bill_id.eq(from)))
        .set(payment_items::bill_id.eq(into))
        .execute(conn)?;
    diesel::update(adjustments::table.filter(adjustments::bill_id.eq(from)))
        .set(adjustments::bill_id.eq(into))
        .execute(conn)?;
    diesel::update(adjustment_lines::table.filter(adjustment_lines::bill_id.eq(from)))
        .set(adjustment_lines::bill_id.eq(into))
        .execute(conn)?;
    diesel::update(tenders::table.filter(tenders::bill_id.eq(from))).set(tenders::bill_id.eq(into)).execute(conn)?;
    diesel::update(refunds::table.filter(refunds::bill_id.eq(from))).set(refunds::bill_id.eq(into)).execute(conn)?;
    // The merged bill's equal split ends: its shares were of another bill.
    diesel::update(bills::table.find(into))
        .set((bills::equal_parts.eq(None::<i32>), bills::split_round.eq(bills::split_round + 1)))
        .execute(conn)?;
    diesel::update(bills::table.find(from))
        .set((
            bills::status.eq(BillStatus::Void.as_str()),
            bills::merged_into.eq(into),
            bills::close_reason.eq(reason),
            bills::closed_at.eq(now),
            bills::version.eq(bills::version + 1),
            bills::content_version.eq(bills::version + 1),
            bills::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The table label of the bill that the venue's newest bill with this POS reference was merged
/// into, while that bill still sits on its table.
pub fn merged_check(conn: &mut DbConn, venue_id: &str, external_ref: &str) -> StoreResult<Option<String>> {
    let merged_into: Option<Option<String>> = bills::table
        .filter(bills::venue_id.eq(venue_id))
        .filter(bills::external_ref.eq(external_ref))
        .order(bills::opened_at.desc())
        .select(bills::merged_into)
        .first(conn)
        .optional()?;
    let Some(Some(into)) = merged_into else { return Ok(None) };
    Ok(bills::table
        .inner_join(dining_tables::table.on(dining_tables::id.eq(bills::table_id)))
        .filter(bills::id.eq(into))
        .filter(bills::status.eq_any(occupying()))
        .filter(bills::merged_into.is_null())
        .select(dining_tables::label)
        .first(conn)
        .optional()?)
}

/// A bill's status, read on its own.
pub fn status_of(conn: &mut DbConn, bill_id: &str) -> StoreResult<BillStatus> {
    let status: String = bills::table.find(bill_id).select(bills::status).first(conn)?;
    Ok(status.try_into()?)
}

/// Records that the bill's content changed (items, prices, adjustments): a new version, which
/// a guest's payment must have seen (`bill_version`).
pub fn bump_content(conn: &mut DbConn, bill_id: &str, now: NaiveDateTime) -> StoreResult<()> {
    diesel::update(bills::table.find(bill_id))
        .set((
            bills::version.eq(bills::version + 1),
            bills::content_version.eq(bills::version + 1),
            bills::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The statuses of a bill that still sits on its table, as stored.
pub(crate) fn occupying() -> Vec<&'static str> {
    BillStatus::ALL.iter().filter(|s| s.occupies_table()).map(|s| s.as_str()).collect()
}

/// A bill as the POS opens it: it starts `open`, at version 1, with nothing paid.
#[derive(Debug, Clone)]
pub struct NewBill {
    pub venue_id: String,
    pub table_id: String,
    pub external_ref: Option<String>,
    pub server_id: Option<String>,
}

/// Inserts a bill and returns its id. A second open bill on a table, or with a POS reference
/// already open, fails on a unique index ([`crate::StoreError::unique_violation`] names it).
pub fn insert(conn: &mut DbConn, new: NewBill, now: NaiveDateTime) -> StoreResult<String> {
    let bill = Bill {
        id: new_id(),
        venue_id: new.venue_id,
        table_id: new.table_id,
        external_ref: new.external_ref,
        server_id: new.server_id,
        status: BillStatus::Open,
        version: 1,
        equal_parts: None,
        close_reason: None,
        opened_at: now,
        updated_at: now,
        paid_at: None,
        closed_at: None,
        content_version: 1,
        split_round: 0,
        merged_into: None,
    };
    diesel::insert_into(bills::table).values(bill.clone()).execute(conn)?;
    Ok(bill.id)
}

/// A line as the POS sends it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    pub name: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub tax_rate_bps: Option<i32>,
    pub external_ref: Option<String>,
}

/// Appends active lines to a bill, numbered from `first_position`, in as few statements as
/// [`crate::batch_insert!`] allows (none for no lines).
pub fn insert_lines(
    conn: &mut DbConn,
    bill_id: &str,
    first_position: i32,
    lines: &[NewLine],
    now: NaiveDateTime,
) -> StoreResult<()> {
    let rows: Vec<BillItem> = lines
        .iter()
        .zip(first_position..)
        .map(|(line, position)| BillItem {
            id: new_id(),
            bill_id: bill_id.to_owned(),
            position,
            name: line.name.clone(),
            quantity: line.quantity,
            unit_price: line.unit_price,
            tax_rate_bps: line.tax_rate_bps,
            external_ref: line.external_ref.clone(),
            status: ItemStatus::Active,
            created_at: now,
            voided_at: None,
        })
        .collect();
    crate::batch_insert!(conn, bill_items::table, rows);
    Ok(())
}

/// Rewrites a line's content (its POS reference stays).
pub fn update_line(conn: &mut DbConn, item_id: &str, line: &NewLine) -> StoreResult<()> {
    diesel::update(bill_items::table.find(item_id))
        .set((
            bill_items::name.eq(&line.name),
            bill_items::quantity.eq(line.quantity),
            bill_items::unit_price.eq(line.unit_price),
            bill_items::tax_rate_bps.eq(line.tax_rate_bps),
        ))
        .execute(conn)?;
    Ok(())
}

/// Voids lines in one statement; they stay in the bill's history.
pub fn void_lines(conn: &mut DbConn, item_ids: &[String], now: NaiveDateTime) -> StoreResult<()> {
    diesel::update(bill_items::table.filter(bill_items::id.eq_any(item_ids)))
        .set((bill_items::status.eq(ItemStatus::Void.as_str()), bill_items::voided_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// Moves a bill to another table or server. Moving onto a table that has an open bill fails
/// on a unique index.
pub fn reassign(conn: &mut DbConn, bill_id: &str, table_id: &str, server_id: Option<&str>) -> StoreResult<()> {
    diesel::update(bills::table.find(bill_id))
        .set((bills::table_id.eq(table_id), bills::server_id.eq(server_id)))
        .execute(conn)?;
    Ok(())
}

/// Takes a bill off its table as `status` (closed or void), with the manager's reason.
pub fn close(
    conn: &mut DbConn,
    bill_id: &str,
    status: BillStatus,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> StoreResult<()> {
    diesel::update(bills::table.find(bill_id))
        .set((bills::status.eq(status.as_str()), bills::closed_at.eq(now), bills::close_reason.eq(reason)))
        .execute(conn)?;
    Ok(())
}

/// The newest bill of the venue with this POS reference that still sits on its table.
pub fn occupying_by_external_ref(conn: &mut DbConn, venue_id: &str, external_ref: &str) -> StoreResult<Option<Bill>> {
    Ok(bills::table
        .filter(bills::venue_id.eq(venue_id))
        .filter(bills::external_ref.eq(external_ref))
        .filter(bills::status.eq_any(occupying()))
        .order(bills::opened_at.desc())
        .select(Bill::as_select())
        .first(conn)
        .optional()?)
}

/// Which of a table's bills counts as its current one when, in a race, two sit on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Current {
    /// The newest one.
    Newest,
    /// An open one before a paid one (what a guest can still pay), then the newest.
    OpenFirst,
}

/// The id of the table's current bill (open or paid), if it has one.
pub fn current_id(conn: &mut DbConn, table_id: &str, which: Current) -> StoreResult<Option<String>> {
    let query = bills::table
        .filter(bills::table_id.eq(table_id))
        .filter(bills::status.eq_any(occupying()))
        .select(bills::id)
        .into_boxed();
    let query = match which {
        Current::Newest => query.order(bills::opened_at.desc()),
        // "open" sorts before "paid".
        Current::OpenFirst => query.order((bills::status.asc(), bills::opened_at.desc())),
    };
    Ok(query.first(conn).optional()?)
}
