//! The bill aggregate: a bill with its venue, table, server, lines, payments and the parts they
//! take, and its comps and discounts, read in two statements whatever their number.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::rows::{Adjustment, AdjustmentLine, Bill, BillItem, DiningTable, Payment, PaymentItem, Staff, Venue};
use crate::schema::{bills, dining_tables, staff, venues};
use crate::{DbConn, StoreError, StoreResult};

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
}

/// Loads a bill: one statement for the bill with its venue, table and server, one for all of
/// its lines, payments, parts and adjustments (a `UNION ALL` of rows of one wide shape).
pub fn load(conn: &mut DbConn, bill_id: &str) -> StoreResult<Option<BillRecord>> {
    let header = bills::table
        .inner_join(venues::table.on(venues::id.eq(bills::venue_id)))
        .inner_join(dining_tables::table.on(dining_tables::id.eq(bills::table_id)))
        .left_join(staff::table.on(bills::server_id.eq(staff::id.nullable())))
        .filter(bills::id.eq(bill_id))
        .select((Bill::as_select(), Venue::as_select(), DiningTable::as_select(), Option::<Staff>::as_select()))
        .first::<(Bill, Venue, DiningTable, Option<Staff>)>(conn)
        .optional()?;
    let Some((bill, venue, table, server)) = header else { return Ok(None) };
    let rows: Vec<WideRow> = match conn {
        DbConn::Pg(c) => diesel::sql_query(CHILDREN).bind::<Text, _>(bill_id).load(c)?,
        DbConn::Sqlite(c) => diesel::sql_query(CHILDREN).bind::<Text, _>(bill_id).load(c)?,
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
    };
    for row in rows {
        row.into_record(&mut record)?;
    }
    record.items.sort_by(|a, b| (a.position, &a.id).cmp(&(b.position, &b.id)));
    record.payments.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    record.adjustments.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(Some(record))
}

/// The bill's children as rows of one shape, so that one statement reads them all. `$1` is
/// the bill id; SQLite reads every `$1` as the same named parameter, PostgreSQL as the same
/// positional one, so one text and one bound value serve both backends. The `CAST`s give
/// each column one type across the branches (PostgreSQL requires it; INTEGER columns are
/// widened to BIGINT).
const CHILDREN: &str = "\
SELECT 0 AS kind, id AS s1, bill_id AS s2, name AS s3, external_ref AS s4, status AS s5, \
 CAST(NULL AS TEXT) AS s6, CAST(NULL AS TEXT) AS s7, CAST(NULL AS TEXT) AS s8, CAST(NULL AS TEXT) AS s9, \
 CAST(NULL AS TEXT) AS s10, CAST(NULL AS TEXT) AS s11, CAST(NULL AS TEXT) AS s12, CAST(NULL AS TEXT) AS s13, \
 CAST(NULL AS TEXT) AS s14, \
 CAST(position AS BIGINT) AS n1, quantity AS n2, unit_price AS n3, CAST(tax_rate_bps AS BIGINT) AS n4, \
 CAST(NULL AS BIGINT) AS n5, \
 created_at AS t1, voided_at AS t2, CAST(NULL AS TIMESTAMP) AS t3, CAST(NULL AS TIMESTAMP) AS t4 \
FROM bill_items WHERE bill_id = $1 \
UNION ALL \
SELECT 1, id, bill_id, venue_id, status, split_type, currency, provider, provider_ref, client_secret, \
 failure_code, email, server_id, idempotency_key, request_fingerprint, \
 amount, tip_amount, refunded_amount, CAST(equal_parts AS BIGINT), CAST(equal_count AS BIGINT), \
 expires_at, created_at, updated_at, succeeded_at \
FROM payments WHERE bill_id = $1 \
UNION ALL \
SELECT 2, payment_id, bill_id, item_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
 fraction_num, fraction_den, amount, NULL, NULL, NULL, NULL, NULL, NULL \
FROM payment_items WHERE bill_id = $1 \
UNION ALL \
SELECT 3, id, bill_id, venue_id, item_id, kind, reason, status, created_by_id, created_by_name, created_by_role, \
 approved_by_id, approved_by_name, NULL, NULL, \
 amount, CAST(percent_bps AS BIGINT), NULL, NULL, NULL, decided_at, created_at, NULL, NULL \
FROM adjustments WHERE bill_id = $1 \
UNION ALL \
SELECT 4, adjustment_id, bill_id, item_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
 amount, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL \
FROM adjustment_lines WHERE bill_id = $1";

/// One row of [`CHILDREN`]: `kind` says which table it comes from and how to read the rest.
#[derive(QueryableByName)]
struct WideRow {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    kind: i32,
    #[diesel(sql_type = Nullable<Text>)]
    s1: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    s2: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    s3: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    s4: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    s5: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    s6: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    s7: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    s8: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    s9: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    s10: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    s11: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    s12: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    s13: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    s14: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    n1: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    n2: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    n3: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    n4: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    n5: Option<i64>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    t1: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    t2: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    t3: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    t4: Option<NaiveDateTime>,
}

/// A column that its table declares NOT NULL.
fn required<T>(value: Option<T>, column: &str) -> StoreResult<T> {
    value.ok_or_else(|| StoreError::corrupt(format!("a bill's child row lacks {column}")))
}

/// An INTEGER column that was widened to BIGINT for the union.
fn narrow(value: Option<i64>, column: &str) -> StoreResult<Option<i32>> {
    value.map(|v| i32::try_from(v).map_err(|_| StoreError::corrupt(format!("{column} out of range")))).transpose()
}

impl WideRow {
    fn into_record(self, record: &mut BillRecord) -> StoreResult<()> {
        match self.kind {
            0 => record.items.push(BillItem {
                id: required(self.s1, "bill_items.id")?,
                bill_id: required(self.s2, "bill_items.bill_id")?,
                position: required(narrow(self.n1, "bill_items.position")?, "bill_items.position")?,
                name: required(self.s3, "bill_items.name")?,
                quantity: required(self.n2, "bill_items.quantity")?,
                unit_price: required(self.n3, "bill_items.unit_price")?,
                tax_rate_bps: narrow(self.n4, "bill_items.tax_rate_bps")?,
                external_ref: self.s4,
                status: required(self.s5, "bill_items.status")?,
                created_at: required(self.t1, "bill_items.created_at")?,
                voided_at: self.t2,
            }),
            1 => record.payments.push(Payment {
                id: required(self.s1, "payments.id")?,
                bill_id: required(self.s2, "payments.bill_id")?,
                venue_id: required(self.s3, "payments.venue_id")?,
                status: required(self.s4, "payments.status")?,
                split_type: required(self.s5, "payments.split_type")?,
                currency: required(self.s6, "payments.currency")?,
                provider: required(self.s7, "payments.provider")?,
                provider_ref: self.s8,
                client_secret: self.s9,
                failure_code: self.s10,
                email: self.s11,
                server_id: self.s12,
                idempotency_key: self.s13,
                request_fingerprint: self.s14,
                amount: required(self.n1, "payments.amount")?,
                tip_amount: required(self.n2, "payments.tip_amount")?,
                refunded_amount: required(self.n3, "payments.refunded_amount")?,
                equal_parts: narrow(self.n4, "payments.equal_parts")?,
                equal_count: narrow(self.n5, "payments.equal_count")?,
                expires_at: required(self.t1, "payments.expires_at")?,
                created_at: required(self.t2, "payments.created_at")?,
                updated_at: required(self.t3, "payments.updated_at")?,
                succeeded_at: self.t4,
            }),
            2 => record.parts.push(PaymentItem {
                payment_id: required(self.s1, "payment_items.payment_id")?,
                bill_id: required(self.s2, "payment_items.bill_id")?,
                item_id: required(self.s3, "payment_items.item_id")?,
                fraction_num: required(self.n1, "payment_items.fraction_num")?,
                fraction_den: required(self.n2, "payment_items.fraction_den")?,
                amount: required(self.n3, "payment_items.amount")?,
            }),
            3 => record.adjustments.push(Adjustment {
                id: required(self.s1, "adjustments.id")?,
                bill_id: required(self.s2, "adjustments.bill_id")?,
                venue_id: required(self.s3, "adjustments.venue_id")?,
                item_id: self.s4,
                kind: required(self.s5, "adjustments.kind")?,
                reason: required(self.s6, "adjustments.reason")?,
                status: required(self.s7, "adjustments.status")?,
                created_by_id: required(self.s8, "adjustments.created_by_id")?,
                created_by_name: required(self.s9, "adjustments.created_by_name")?,
                created_by_role: required(self.s10, "adjustments.created_by_role")?,
                approved_by_id: self.s11,
                approved_by_name: self.s12,
                amount: required(self.n1, "adjustments.amount")?,
                percent_bps: narrow(self.n2, "adjustments.percent_bps")?,
                decided_at: self.t1,
                created_at: required(self.t2, "adjustments.created_at")?,
            }),
            4 => record.adjustment_lines.push(AdjustmentLine {
                adjustment_id: required(self.s1, "adjustment_lines.adjustment_id")?,
                bill_id: required(self.s2, "adjustment_lines.bill_id")?,
                item_id: required(self.s3, "adjustment_lines.item_id")?,
                amount: required(self.n1, "adjustment_lines.amount")?,
            }),
            other => return Err(StoreError::corrupt(format!("unknown child kind {other}"))),
        }
        Ok(())
    }
}

/// Records that the bill changed: its version (what guests' views and the stale-bill check
/// compare) goes up by one.
pub fn bump(conn: &mut DbConn, bill_id: &str, now: NaiveDateTime) -> StoreResult<()> {
    diesel::update(bills::table.find(bill_id))
        .set((bills::version.eq(bills::version + 1), bills::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}
