//! The pay path's writes as statements of fixed text, prepared once per connection on both
//! backends.
//!
//! diesel prepares and caches a statement only when its text cannot vary. It never caches an
//! `UPDATE`, and on PostgreSQL not an `INSERT` of a row with optional columns either (a `None`
//! becomes `DEFAULT`); on SQLite it caches such an insert by its text, which it builds and hashes
//! on every run. So each of these was built every time it ran, and most were parsed and
//! planned anew too (on SQLite, on the one writer every other write waits for). These are the
//! writes every payment makes; each names every column it may set and never sends `DEFAULT`,
//! so its text is the same every time, and has a static
//! [`QueryId`](diesel::query_builder::QueryId): diesel prepares it once per connection and only
//! binds it afterwards.

use chrono::NaiveDateTime;
use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp};
use diesel::sqlite::Sqlite;

use crate::payments::PaymentChanges;
use crate::rows::{Payment, ProviderEventRecord};

/// Gives a statement of fixed text the static query id by which diesel caches its prepared
/// form (`QueryId`), its result type (`Query`) and `RunQueryDsl`.
macro_rules! statement_id {
    ($name:ident, $sql_type:ty) => {
        impl diesel::query_builder::QueryId for $name<'_> {
            type QueryId = $name<'static>;
            const HAS_STATIC_QUERY_ID: bool = true;
        }
        impl diesel::query_builder::Query for $name<'_> {
            type SqlType = $sql_type;
        }
        impl<Conn> diesel::RunQueryDsl<Conn> for $name<'_> {}
    };
}
pub(crate) use statement_id;

/// Implements a statement of fixed text for both backends from one body, which writes its SQL
/// to `$out` (bind parameters through `push_bind_param`, which numbers them for PostgreSQL) and
/// reads its values from `$s`.
macro_rules! fixed_statement {
    ($name:ident -> $sql_type:ty, |$s:ident, $out:ident| $body:block) => {
        statement_id!($name, $sql_type);
        impl QueryFragment<Pg> for $name<'_> {
            fn walk_ast<'b>(&'b self, mut $out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
                let $s = self;
                $body
            }
        }
        impl QueryFragment<Sqlite> for $name<'_> {
            fn walk_ast<'b>(&'b self, mut $out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
                let $s = self;
                $body
            }
        }
    };
}

/// Runs a fixed statement on whichever backend `conn` is.
macro_rules! run_on {
    ($conn:expr, $statement:expr, $method:ident) => {
        match $conn {
            crate::DbConn::Pg(c) => $statement.$method(c),
            crate::DbConn::Sqlite(c) => $statement.$method(c),
        }
    };
}
pub(crate) use run_on;

/// `UPDATE bills SET version = version + 1, updated_at = … WHERE id = … AND version = …`.
pub(crate) struct AdvanceBill<'a> {
    pub bill_id: &'a str,
    pub version: i64,
    pub now: NaiveDateTime,
}

fixed_statement!(AdvanceBill -> diesel::sql_types::Untyped, |s, out| {
    out.push_sql("UPDATE bills SET version = version + 1, updated_at = ");
    out.push_bind_param::<Timestamp, _>(&s.now)?;
    out.push_sql(" WHERE id = ");
    out.push_bind_param::<Text, _>(s.bill_id)?;
    out.push_sql(" AND version = ");
    out.push_bind_param::<BigInt, _>(&s.version)?;
    Ok(())
});

/// `INSERT INTO payments` with every column.
pub(crate) struct InsertPayment<'a> {
    pub payment: &'a Payment,
}

fixed_statement!(InsertPayment -> diesel::sql_types::Untyped, |s, out| {
    let p = s.payment;
    out.push_sql(
        "INSERT INTO payments (id, venue_id, bill_id, status, split_type, amount, tip_amount, refunded_amount, \
         currency, provider, provider_ref, client_secret, failure_code, email, equal_parts, equal_count, server_id, \
         idempotency_key, request_fingerprint, expires_at, created_at, updated_at, succeeded_at, split_round) VALUES (",
    );
    out.push_bind_param::<Text, _>(&p.id)?;
    out.push_sql(", ");
    out.push_bind_param::<Text, _>(&p.venue_id)?;
    out.push_sql(", ");
    out.push_bind_param::<Text, _>(&p.bill_id)?;
    out.push_sql(", ");
    out.push_bind_param::<Text, _>(p.status.as_str())?;
    out.push_sql(", ");
    out.push_bind_param::<Text, _>(p.split_type.as_str())?;
    out.push_sql(", ");
    out.push_bind_param::<BigInt, _>(&p.amount)?;
    out.push_sql(", ");
    out.push_bind_param::<BigInt, _>(&p.tip_amount)?;
    out.push_sql(", ");
    out.push_bind_param::<BigInt, _>(&p.refunded_amount)?;
    out.push_sql(", ");
    out.push_bind_param::<Text, _>(&p.currency)?;
    out.push_sql(", ");
    out.push_bind_param::<Text, _>(&p.provider)?;
    out.push_sql(", ");
    out.push_bind_param::<Nullable<Text>, _>(&p.provider_ref)?;
    out.push_sql(", ");
    out.push_bind_param::<Nullable<Text>, _>(&p.client_secret)?;
    out.push_sql(", ");
    out.push_bind_param::<Nullable<Text>, _>(&p.failure_code)?;
    out.push_sql(", ");
    out.push_bind_param::<Nullable<Text>, _>(&p.email)?;
    out.push_sql(", ");
    out.push_bind_param::<Nullable<Integer>, _>(&p.equal_parts)?;
    out.push_sql(", ");
    out.push_bind_param::<Nullable<Integer>, _>(&p.equal_count)?;
    out.push_sql(", ");
    out.push_bind_param::<Nullable<Text>, _>(&p.server_id)?;
    out.push_sql(", ");
    out.push_bind_param::<Nullable<Text>, _>(&p.idempotency_key)?;
    out.push_sql(", ");
    out.push_bind_param::<Nullable<Text>, _>(&p.request_fingerprint)?;
    out.push_sql(", ");
    out.push_bind_param::<Timestamp, _>(&p.expires_at)?;
    out.push_sql(", ");
    out.push_bind_param::<Timestamp, _>(&p.created_at)?;
    out.push_sql(", ");
    out.push_bind_param::<Timestamp, _>(&p.updated_at)?;
    out.push_sql(", ");
    out.push_bind_param::<Nullable<Timestamp>, _>(&p.succeeded_at)?;
    out.push_sql(", ");
    out.push_bind_param::<Integer, _>(&p.split_round)?;
    out.push_sql(")");
    Ok(())
});

/// `UPDATE payments` with [`PaymentChanges`]: every column it may change is in the text, and
/// one it leaves alone keeps its value (`COALESCE` for a column never set to `NULL`, a flag
/// bound beside the value for one that may be).
pub(crate) struct UpdatePayment<'a> {
    pub payment_id: &'a str,
    pub changes: &'a PaymentChanges,
}

/// `column = CASE WHEN <set?> THEN <value> ELSE column END`, for a nullable column.
macro_rules! keep_unless_set {
    ($out:ident, $column:literal, $sql_type:ty, $value:expr) => {{
        let value = $value;
        $out.push_sql(concat!($column, " = CASE WHEN "));
        // Promoted to statics: what is bound must outlive the statement.
        $out.push_bind_param::<Bool, _>(if value.is_some() { &true } else { &false })?;
        $out.push_sql(" THEN ");
        $out.push_bind_param::<Nullable<$sql_type>, _>(value.unwrap_or(&None))?;
        $out.push_sql(concat!(" ELSE ", $column, " END, "));
    }};
}

fixed_statement!(UpdatePayment -> diesel::sql_types::Untyped, |s, out| {
    let c = s.changes;
    out.push_sql("UPDATE payments SET status = COALESCE(");
    out.push_bind_param::<Nullable<Text>, _>(&c.status)?;
    out.push_sql(", status), refunded_amount = COALESCE(");
    out.push_bind_param::<Nullable<BigInt>, _>(&c.refunded_amount)?;
    out.push_sql(", refunded_amount), ");
    keep_unless_set!(out, "failure_code", Text, c.failure_code.as_ref());
    keep_unless_set!(out, "succeeded_at", Timestamp, c.succeeded_at.as_ref());
    keep_unless_set!(out, "provider_ref", Text, c.provider_ref.as_ref());
    keep_unless_set!(out, "client_secret", Text, c.client_secret.as_ref());
    out.push_sql("updated_at = ");
    out.push_bind_param::<Timestamp, _>(&c.updated_at)?;
    out.push_sql(" WHERE id = ");
    out.push_bind_param::<Text, _>(s.payment_id)?;
    Ok(())
});

/// `INSERT INTO provider_events`.
pub(crate) struct InsertProviderEvent<'a> {
    pub event: &'a ProviderEventRecord,
}

fixed_statement!(InsertProviderEvent -> diesel::sql_types::Untyped, |s, out| {
    let e = s.event;
    out.push_sql("INSERT INTO provider_events (provider, event_id, kind, payment_id, received_at) VALUES (");
    out.push_bind_param::<Text, _>(&e.provider)?;
    out.push_sql(", ");
    out.push_bind_param::<Text, _>(&e.event_id)?;
    out.push_sql(", ");
    out.push_bind_param::<Text, _>(&e.kind)?;
    out.push_sql(", ");
    out.push_bind_param::<Nullable<Text>, _>(&e.payment_id)?;
    out.push_sql(", ");
    out.push_bind_param::<Timestamp, _>(&e.received_at)?;
    out.push_sql(")");
    Ok(())
});

/// `UPDATE venues SET event_seq = event_seq + 1 WHERE id = … RETURNING event_seq`: the
/// venue's next event number (SQLite; PostgreSQL does it inside the event's insert).
pub(crate) struct NextEventSeq<'a> {
    pub venue_id: &'a str,
}

fixed_statement!(NextEventSeq -> BigInt, |s, out| {
    out.push_sql("UPDATE venues SET event_seq = event_seq + 1 WHERE id = ");
    out.push_bind_param::<Text, _>(s.venue_id)?;
    out.push_sql(" RETURNING event_seq");
    Ok(())
});
