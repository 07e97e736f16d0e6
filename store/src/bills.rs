//! The bill aggregate: a bill with its venue, table, server, lines, payments and the parts they
//! take, its comps, discounts and refunds taken off it, and its tenders, read in two statements
//! whatever their number.

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};

use crate::new_id;
use crate::rows::{
    Adjustment, AdjustmentLine, Bill, BillItem, DiningTable, Payment, PaymentItem, Staff, Tender, Venue,
};
use crate::schema::{bill_items, bills, dining_tables, staff, venues};
use crate::{DbConn, StoreError, StoreResult};
use tablepay_domain::{BillStatus, ItemStatus, UnknownText};

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
    let header = bills::table
        .inner_join(venues::table.on(venues::id.eq(bills::venue_id)))
        .inner_join(dining_tables::table.on(dining_tables::id.eq(bills::table_id)))
        .left_join(staff::table.on(bills::server_id.eq(staff::id.nullable())))
        .filter(bills::id.eq(bill_id))
        .select((Bill::as_select(), Venue::as_select(), DiningTable::as_select(), Option::<Staff>::as_select()))
        .first::<(Bill, Venue, DiningTable, Option<Staff>)>(conn)
        .optional()?;
    let Some((mut bill, venue, table, server)) = header else { return Ok(None) };
    if bill.merged_into.is_some() {
        bill.status = BillStatus::Merged;
    }
    let children = Children { bill_id };
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
    record.items.sort_by(|a, b| (a.position, &a.id).cmp(&(b.position, &b.id)));
    record.payments.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    record.adjustments.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    record.tenders.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(Some(record))
}

/// The bill's children as rows of one shape, so that one statement reads them all: the six
/// `SELECT`s of [`CHILDREN`], each followed by the bill id as a bound parameter and joined by
/// `UNION ALL`. The `CAST`s give each column one type across the branches (PostgreSQL requires
/// it; INTEGER columns are widened to BIGINT). Columns are read by position, in the order of
/// [`WideRow`]'s fields.
const CHILDREN: [&str; 6] = [
    "SELECT 0 AS kind, id AS s1, bill_id AS s2, name AS s3, external_ref AS s4, status AS s5, \
     CAST(NULL AS TEXT) AS s6, CAST(NULL AS TEXT) AS s7, CAST(NULL AS TEXT) AS s8, CAST(NULL AS TEXT) AS s9, \
     CAST(NULL AS TEXT) AS s10, CAST(NULL AS TEXT) AS s11, CAST(NULL AS TEXT) AS s12, CAST(NULL AS TEXT) AS s13, \
     CAST(NULL AS TEXT) AS s14, \
     CAST(position AS BIGINT) AS n1, quantity AS n2, unit_price AS n3, CAST(tax_rate_bps AS BIGINT) AS n4, \
     CAST(NULL AS BIGINT) AS n5, CAST(NULL AS BIGINT) AS n6, \
     created_at AS t1, voided_at AS t2, CAST(NULL AS TIMESTAMP) AS t3, CAST(NULL AS TIMESTAMP) AS t4 \
     FROM bill_items WHERE bill_id = ",
    "SELECT 1, id, bill_id, venue_id, status, split_type, currency, provider, provider_ref, client_secret, \
     failure_code, email, server_id, idempotency_key, request_fingerprint, \
     amount, tip_amount, refunded_amount, CAST(equal_parts AS BIGINT), CAST(equal_count AS BIGINT), \
     CAST(split_round AS BIGINT), expires_at, created_at, updated_at, succeeded_at \
     FROM payments WHERE bill_id = ",
    "SELECT 2, payment_id, bill_id, item_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
     fraction_num, fraction_den, amount, NULL, NULL, NULL, NULL, NULL, NULL, NULL \
     FROM payment_items WHERE bill_id = ",
    "SELECT 3, id, bill_id, venue_id, item_id, kind, reason, status, created_by_id, created_by_name, \
     created_by_role, approved_by_id, approved_by_name, refund_id, NULL, \
     amount, CAST(percent_bps AS BIGINT), NULL, NULL, NULL, NULL, decided_at, created_at, NULL, NULL \
     FROM adjustments WHERE bill_id = ",
    "SELECT 4, adjustment_id, bill_id, item_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
     amount, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL \
     FROM adjustment_lines WHERE bill_id = ",
    "SELECT 5, id, bill_id, venue_id, kind, status, reference, note, recorded_by_id, recorded_by_name, \
     recorded_by_role, void_reason, voided_by_name, NULL, NULL, \
     amount, tip_amount, NULL, NULL, NULL, NULL, created_at, voided_at, NULL, NULL \
     FROM tenders WHERE bill_id = ",
];

/// [`CHILDREN`] for one bill, as a query diesel can prepare once per connection and reuse
/// (diesel never caches a raw `sql_query`; re-planning this union on every read cost a quarter
/// of a guest read's throughput).
#[derive(Debug, Clone, Copy)]
struct Children<'a> {
    bill_id: &'a str,
}

/// The statement never changes, so its type identifies it in diesel's statement cache.
#[derive(Debug)]
struct ChildrenQueryId;

impl QueryId for Children<'_> {
    type QueryId = ChildrenQueryId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for Children<'_> {
    type SqlType = (
        Integer,
        (
            Nullable<Text>,
            Nullable<Text>,
            Nullable<Text>,
            Nullable<Text>,
            Nullable<Text>,
            Nullable<Text>,
            Nullable<Text>,
            Nullable<Text>,
            Nullable<Text>,
            Nullable<Text>,
            Nullable<Text>,
            Nullable<Text>,
            Nullable<Text>,
            Nullable<Text>,
        ),
        (Nullable<BigInt>, Nullable<BigInt>, Nullable<BigInt>, Nullable<BigInt>, Nullable<BigInt>, Nullable<BigInt>),
        (Nullable<Timestamp>, Nullable<Timestamp>, Nullable<Timestamp>, Nullable<Timestamp>),
    );
}

impl<DB> QueryFragment<DB> for Children<'_>
where
    DB: Backend,
    str: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        for (i, select) in CHILDREN.iter().enumerate() {
            if i > 0 {
                out.push_sql(" UNION ALL ");
            }
            out.push_sql(select);
            out.push_bind_param::<Text, str>(self.bill_id)?;
        }
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for Children<'_> {}

/// One row of [`CHILDREN`]: `kind` says which table it comes from and how to read the rest.
#[derive(Queryable)]
struct WideRow {
    kind: i32,
    text: Texts,
    numbers: Numbers,
    times: Times,
}

type Numbers = (Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<i64>);
type Times = (Option<NaiveDateTime>, Option<NaiveDateTime>, Option<NaiveDateTime>, Option<NaiveDateTime>);

type Texts = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// A column that its table declares NOT NULL.
fn required<T>(value: Option<T>, column: &str) -> StoreResult<T> {
    value.ok_or_else(|| StoreError::corrupt(format!("a bill's child row lacks {column}")))
}

/// A text column holding one of the domain's words (a status, a split kind).
fn word<T: TryFrom<String, Error = UnknownText>>(value: Option<String>, column: &str) -> StoreResult<T> {
    Ok(required(value, column)?.try_into()?)
}

/// An INTEGER column that was widened to BIGINT for the union.
fn narrow(value: Option<i64>, column: &str) -> StoreResult<Option<i32>> {
    value.map(|v| i32::try_from(v).map_err(|_| StoreError::corrupt(format!("{column} out of range")))).transpose()
}

impl WideRow {
    fn into_record(self, record: &mut BillRecord) -> StoreResult<()> {
        let (s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14) = self.text;
        let (n1, n2, n3, n4, n5, n6) = self.numbers;
        let (t1, t2, t3, t4) = self.times;
        match self.kind {
            0 => record.items.push(BillItem {
                id: required(s1, "bill_items.id")?,
                bill_id: required(s2, "bill_items.bill_id")?,
                position: required(narrow(n1, "bill_items.position")?, "bill_items.position")?,
                name: required(s3, "bill_items.name")?,
                quantity: required(n2, "bill_items.quantity")?,
                unit_price: required(n3, "bill_items.unit_price")?,
                tax_rate_bps: narrow(n4, "bill_items.tax_rate_bps")?,
                external_ref: s4,
                status: word(s5, "bill_items.status")?,
                created_at: required(t1, "bill_items.created_at")?,
                voided_at: t2,
            }),
            1 => record.payments.push(Payment {
                id: required(s1, "payments.id")?,
                bill_id: required(s2, "payments.bill_id")?,
                venue_id: required(s3, "payments.venue_id")?,
                status: word(s4, "payments.status")?,
                split_type: word(s5, "payments.split_type")?,
                currency: required(s6, "payments.currency")?,
                provider: required(s7, "payments.provider")?,
                provider_ref: s8,
                client_secret: s9,
                failure_code: s10,
                email: s11,
                server_id: s12,
                idempotency_key: s13,
                request_fingerprint: s14,
                amount: required(n1, "payments.amount")?,
                tip_amount: required(n2, "payments.tip_amount")?,
                refunded_amount: required(n3, "payments.refunded_amount")?,
                equal_parts: narrow(n4, "payments.equal_parts")?,
                equal_count: narrow(n5, "payments.equal_count")?,
                split_round: required(narrow(n6, "payments.split_round")?, "payments.split_round")?,
                expires_at: required(t1, "payments.expires_at")?,
                created_at: required(t2, "payments.created_at")?,
                updated_at: required(t3, "payments.updated_at")?,
                succeeded_at: t4,
            }),
            2 => record.parts.push(PaymentItem {
                payment_id: required(s1, "payment_items.payment_id")?,
                bill_id: required(s2, "payment_items.bill_id")?,
                item_id: required(s3, "payment_items.item_id")?,
                fraction_num: required(n1, "payment_items.fraction_num")?,
                fraction_den: required(n2, "payment_items.fraction_den")?,
                amount: required(n3, "payment_items.amount")?,
            }),
            3 => record.adjustments.push(Adjustment {
                id: required(s1, "adjustments.id")?,
                bill_id: required(s2, "adjustments.bill_id")?,
                venue_id: required(s3, "adjustments.venue_id")?,
                item_id: s4,
                kind: required(s5, "adjustments.kind")?,
                reason: required(s6, "adjustments.reason")?,
                status: word(s7, "adjustments.status")?,
                created_by_id: required(s8, "adjustments.created_by_id")?,
                created_by_name: required(s9, "adjustments.created_by_name")?,
                created_by_role: word(s10, "adjustments.created_by_role")?,
                approved_by_id: s11,
                approved_by_name: s12,
                refund_id: s13,
                amount: required(n1, "adjustments.amount")?,
                percent_bps: narrow(n2, "adjustments.percent_bps")?,
                decided_at: t1,
                created_at: required(t2, "adjustments.created_at")?,
            }),
            4 => record.adjustment_lines.push(AdjustmentLine {
                adjustment_id: required(s1, "adjustment_lines.adjustment_id")?,
                bill_id: required(s2, "adjustment_lines.bill_id")?,
                item_id: required(s3, "adjustment_lines.item_id")?,
                amount: required(n1, "adjustment_lines.amount")?,
            }),
            5 => record.tenders.push(Tender {
                id: required(s1, "tenders.id")?,
                bill_id: required(s2, "tenders.bill_id")?,
                venue_id: required(s3, "tenders.venue_id")?,
                kind: word(s4, "tenders.kind")?,
                status: word(s5, "tenders.status")?,
                reference: s6,
                note: s7,
                recorded_by_id: required(s8, "tenders.recorded_by_id")?,
                recorded_by_name: required(s9, "tenders.recorded_by_name")?,
                recorded_by_role: word(s10, "tenders.recorded_by_role")?,
                void_reason: s11,
                voided_by_name: s12,
                amount: required(n1, "tenders.amount")?,
                tip_amount: required(n2, "tenders.tip_amount")?,
                created_at: required(t1, "tenders.created_at")?,
                voided_at: t2,
            }),
            other => return Err(StoreError::corrupt(format!("unknown child kind {other}"))),
        }
        Ok(())
    }
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
/// already open, fails on a unique index ([`StoreError::unique_violation`] names it).
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
