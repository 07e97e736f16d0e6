//! The bill's children (lines, payments, parts, adjustments and their lines, tenders) read in
//! one statement: a `UNION ALL` of rows of one wide shape.

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};
use tablepay_domain::UnknownText;

use super::BillRecord;
use crate::rows::{Adjustment, AdjustmentLine, BillItem, Payment, PaymentItem, Tender};
use crate::{StoreError, StoreResult};

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
pub(super) struct Children<'a> {
    pub(super) bill_id: &'a str,
}

/// The statement never changes, so its type identifies it in diesel's statement cache.
#[derive(Debug)]
pub(super) struct ChildrenQueryId;

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
pub(super) struct WideRow {
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
    pub(super) fn into_record(self, record: &mut BillRecord) -> StoreResult<()> {
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
