//! What staff watch, read in a fixed number of statements whatever the size of the venue:
//! the floor (every table with its current bill), the audit log, a day's sales.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use tablepay_domain::{AssistanceStatus, RefundStatus};

use crate::rows::{
    Adjustment, AdjustmentLine, AssistanceRequest, AuditEntry, Bill, BillItem, DiningTable, Payment, Refund, Staff,
    Tender, Venue,
};
use crate::schema::{
    adjustment_lines, adjustments, assistance_requests, audit_log, bill_items, bills, dining_tables, payments, refunds,
    staff, tenders, venues,
};
use crate::{DbConn, StoreResult};

/// A venue's floor as stored: enough to price every current bill, without the payments'
/// parts and the comps themselves (the totals need neither: comps price through their lines).
#[derive(Debug)]
pub struct FloorRows {
    pub venue: Venue,
    /// By label.
    pub tables: Vec<DiningTable>,
    /// Open and paid bills, oldest first.
    pub bills: Vec<Bill>,
    /// The lines of those bills, in the POS's order.
    pub items: Vec<BillItem>,
    pub payments: Vec<Payment>,
    pub adjustment_lines: Vec<AdjustmentLine>,
    /// Refunds taken off those bills (adjustments of kind `refund`).
    pub refund_adjustments: Vec<Adjustment>,
    pub tenders: Vec<Tender>,
    pub staff: Vec<Staff>,
    /// Open calls for a server.
    pub calls: Vec<AssistanceRequest>,
}

/// Reads the floor in ten statements, whatever the number of tables.
pub fn load(conn: &mut DbConn, venue_id: &str) -> StoreResult<FloorRows> {
    let venue: Venue = venues::table.find(venue_id).select(Venue::as_select()).first(conn)?;
    let tables = dining_tables::table
        .filter(dining_tables::venue_id.eq(venue_id))
        .order(dining_tables::label.asc())
        .select(DiningTable::as_select())
        .load(conn)?;
    let bills: Vec<Bill> = bills::table
        .filter(bills::venue_id.eq(venue_id))
        .filter(bills::status.eq_any(crate::bills::occupying()))
        .order(bills::opened_at.asc())
        .select(Bill::as_select())
        .load(conn)?;
    let bill_ids: Vec<&str> = bills.iter().map(|b| b.id.as_str()).collect();
    let items = bill_items::table
        .filter(bill_items::bill_id.eq_any(&bill_ids))
        .order(bill_items::position.asc())
        .select(BillItem::as_select())
        .load(conn)?;
    let payments =
        payments::table.filter(payments::bill_id.eq_any(&bill_ids)).select(Payment::as_select()).load(conn)?;
    let adjustment_lines = adjustment_lines::table
        .filter(adjustment_lines::bill_id.eq_any(&bill_ids))
        .select(AdjustmentLine::as_select())
        .load(conn)?;
    let refund_adjustments = adjustments::table
        .filter(adjustments::bill_id.eq_any(&bill_ids))
        .filter(adjustments::kind.eq("refund"))
        .select(Adjustment::as_select())
        .load(conn)?;
    let tenders = tenders::table.filter(tenders::bill_id.eq_any(&bill_ids)).select(Tender::as_select()).load(conn)?;
    let staff = staff::table.filter(staff::venue_id.eq(venue_id)).select(Staff::as_select()).load(conn)?;
    let calls = assistance_requests::table
        .filter(assistance_requests::venue_id.eq(venue_id))
        .filter(assistance_requests::status.eq(AssistanceStatus::Open.as_str()))
        .select(AssistanceRequest::as_select())
        .load(conn)?;
    Ok(FloorRows { venue, tables, bills, items, payments, adjustment_lines, refund_adjustments, tenders, staff, calls })
}

/// A page of the venue's audit log, newest first, after `cursor` (an entry id).
pub fn audit_page(conn: &mut DbConn, venue_id: &str, cursor: Option<&str>, fetch: i64) -> StoreResult<Vec<AuditEntry>> {
    let mut query = audit_log::table.filter(audit_log::venue_id.eq(venue_id)).into_boxed();
    if let Some(cursor) = cursor {
        query = query.filter(audit_log::id.lt(cursor));
    }
    Ok(query.order(audit_log::id.desc()).limit(fetch).select(AuditEntry::as_select()).load(conn)?)
}

pub fn venue(conn: &mut DbConn, venue_id: &str) -> StoreResult<Venue> {
    Ok(venues::table.find(venue_id).select(Venue::as_select()).first(conn)?)
}

/// What happened to the venue's money between two instants.
#[derive(Debug)]
pub struct Activity {
    /// Payments that succeeded in the window.
    pub payments: Vec<Payment>,
    /// Refunds that succeeded in the window, with the payment each gave back.
    pub refunds: Vec<(Refund, Payment)>,
    /// Staff names by id.
    pub staff_names: HashMap<String, String>,
}

/// Reads a window's activity in three statements.
pub fn activity(conn: &mut DbConn, venue_id: &str, from: NaiveDateTime, to: NaiveDateTime) -> StoreResult<Activity> {
    let payments = payments::table
        .filter(payments::venue_id.eq(venue_id))
        .filter(payments::succeeded_at.ge(from))
        .filter(payments::succeeded_at.lt(to))
        .select(Payment::as_select())
        .load(conn)?;
    let refunds = refunds::table
        .inner_join(payments::table)
        .filter(refunds::venue_id.eq(venue_id))
        .filter(refunds::status.eq(RefundStatus::Succeeded.as_str()))
        .filter(refunds::decided_at.ge(from))
        .filter(refunds::decided_at.lt(to))
        .select((Refund::as_select(), Payment::as_select()))
        .load(conn)?;
    let staff_names = staff::table
        .filter(staff::venue_id.eq(venue_id))
        .select((staff::id, staff::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    Ok(Activity { payments, refunds, staff_names })
}
