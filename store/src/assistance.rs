//! What guests send staff from their table: calls for a server and feedback.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use tablepay_domain::AssistanceStatus;

use crate::new_id;
use crate::rows::{AssistanceRequest, Feedback};
use crate::schema::{assistance_requests, bills, dining_tables, feedback, payments, staff};
use crate::{DbConn, StoreResult};

pub fn find(conn: &mut DbConn, id: &str) -> StoreResult<Option<AssistanceRequest>> {
    Ok(assistance_requests::table.find(id).select(AssistanceRequest::as_select()).first(conn).optional()?)
}

/// The table's open call, if there is one (there is at most one).
pub fn open_for_table(conn: &mut DbConn, table_id: &str) -> StoreResult<Option<AssistanceRequest>> {
    Ok(assistance_requests::table
        .filter(assistance_requests::table_id.eq(table_id))
        .filter(assistance_requests::status.eq(AssistanceStatus::Open.as_str()))
        .select(AssistanceRequest::as_select())
        .first(conn)
        .optional()?)
}

/// A guest's call for a server, about the table's current bill if it has one.
#[derive(Debug, Clone)]
pub struct NewAssistanceRequest {
    pub venue_id: String,
    pub table_id: String,
    pub bill_id: Option<String>,
    pub reason: Option<String>,
}

/// Records an open call and returns it as stored.
pub fn insert(conn: &mut DbConn, new: NewAssistanceRequest, now: NaiveDateTime) -> StoreResult<AssistanceRequest> {
    let request = AssistanceRequest {
        id: new_id(),
        venue_id: new.venue_id,
        table_id: new.table_id,
        bill_id: new.bill_id,
        reason: new.reason,
        status: AssistanceStatus::Open,
        created_at: now,
        resolved_at: None,
        resolved_by: None,
    };
    diesel::insert_into(assistance_requests::table).values(request.clone()).execute(conn)?;
    Ok(request)
}

/// Marks a call answered by `resolved_by`.
pub fn resolve(conn: &mut DbConn, id: &str, resolved_by: &str, now: NaiveDateTime) -> StoreResult<()> {
    diesel::update(assistance_requests::table.find(id))
        .set((
            assistance_requests::status.eq(AssistanceStatus::Resolved.as_str()),
            assistance_requests::resolved_at.eq(now),
            assistance_requests::resolved_by.eq(resolved_by),
        ))
        .execute(conn)?;
    Ok(())
}

/// The payment's id and its bill's, when the payment was made at this table.
pub fn payment_at_table(conn: &mut DbConn, payment_id: &str, table_id: &str) -> StoreResult<Option<(String, String)>> {
    Ok(payments::table
        .inner_join(bills::table)
        .filter(payments::id.eq(payment_id))
        .filter(bills::table_id.eq(table_id))
        .select((payments::id, payments::bill_id))
        .first(conn)
        .optional()?)
}

/// A guest's rating of their visit, flagged for staff when low.
#[derive(Debug, Clone)]
pub struct NewFeedback {
    pub venue_id: String,
    pub table_id: String,
    pub bill_id: Option<String>,
    pub payment_id: Option<String>,
    pub rating: i32,
    pub comment: Option<String>,
    pub flagged: bool,
}

/// Records feedback and returns it as stored.
pub fn insert_feedback(conn: &mut DbConn, new: NewFeedback, now: NaiveDateTime) -> StoreResult<Feedback> {
    let row = Feedback {
        id: new_id(),
        venue_id: new.venue_id,
        table_id: new.table_id,
        bill_id: new.bill_id,
        payment_id: new.payment_id,
        rating: new.rating,
        comment: new.comment,
        flagged: new.flagged,
        created_at: now,
    };
    diesel::insert_into(feedback::table).values(&row).execute(conn)?;
    Ok(row)
}

/// A feedback as staff list it: with its table's label and the server of its bill.
#[derive(Debug, Clone)]
pub struct FeedbackEntry {
    pub feedback: Feedback,
    pub table_label: String,
    /// `(id, name)` of the bill's server.
    pub server: Option<(String, String)>,
}

/// A page of the venue's feedback, newest first, after `cursor` (a feedback id), only the
/// flagged (or only the unflagged) ones when `flagged` says so. Two statements.
pub fn feedback_page(
    conn: &mut DbConn,
    venue_id: &str,
    flagged: Option<bool>,
    cursor: Option<&str>,
    fetch: i64,
) -> StoreResult<Vec<FeedbackEntry>> {
    let mut query = feedback::table
        .inner_join(dining_tables::table.on(dining_tables::id.eq(feedback::table_id)))
        .filter(feedback::venue_id.eq(venue_id))
        .into_boxed();
    if let Some(flagged) = flagged {
        query = query.filter(feedback::flagged.eq(flagged));
    }
    if let Some(cursor) = cursor {
        query = query.filter(feedback::id.lt(cursor));
    }
    let rows: Vec<(Feedback, String)> = query
        .order(feedback::id.desc())
        .limit(fetch)
        .select((Feedback::as_select(), dining_tables::label))
        .load(conn)?;
    let bill_ids: Vec<&str> = rows.iter().filter_map(|(f, _)| f.bill_id.as_deref()).collect();
    let servers: Vec<(String, String, String)> = bills::table
        .inner_join(staff::table.on(bills::server_id.eq(staff::id.nullable())))
        .filter(bills::id.eq_any(&bill_ids))
        .select((bills::id, staff::id, staff::name))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(feedback, table_label)| {
            let server = servers
                .iter()
                .find(|(bill, _, _)| Some(bill.as_str()) == feedback.bill_id.as_deref())
                .map(|(_, id, name)| (id.clone(), name.clone()));
            FeedbackEntry { feedback, table_label, server }
        })
        .collect())
}
