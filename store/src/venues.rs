//! The venue aggregate: a venue's settings as stored, and the figures across every venue that
//! the operator's metrics report.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;
use tablepay_domain::{DeliveryStatus, PaymentStatus};

use crate::rows::Venue;
use crate::schema::{payments, venues, webhook_deliveries};
use crate::{DbConn, StoreResult};

/// Stores a new venue.
pub fn insert(conn: &mut DbConn, venue: &Venue) -> StoreResult<()> {
    diesel::insert_into(venues::table).values(venue).execute(conn)?;
    Ok(())
}

/// A venue that must exist: every credential names one, and venues are never deleted, so a
/// missing one is a database failure, not a 404.
pub fn load(conn: &mut DbConn, venue_id: &str) -> StoreResult<Venue> {
    Ok(venues::table.find(venue_id).select(Venue::as_select()).first(conn)?)
}

/// What every process reports the same, because it is read from the database: payments and
/// webhook deliveries by status, and when the oldest delivery that is due fell due.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Every payment status, in [`PaymentStatus::ALL`] order, zero included.
    pub payments: Vec<(PaymentStatus, i64)>,
    /// Every delivery status, in [`DeliveryStatus::ALL`] order, zero included.
    pub deliveries: Vec<(DeliveryStatus, i64)>,
    /// When the oldest pending delivery that is due at `now` fell due.
    pub oldest_due: Option<NaiveDateTime>,
}

/// Reads the [`Figures`] in three statements, however many statuses there are.
pub fn figures(conn: &mut DbConn, now: NaiveDateTime) -> StoreResult<Figures> {
    let payments: HashMap<String, i64> = payments::table
        .group_by(payments::status)
        .select((payments::status, count_star()))
        .load(conn)?
        .into_iter()
        .collect();
    let deliveries: HashMap<String, i64> = webhook_deliveries::table
        .group_by(webhook_deliveries::status)
        .select((webhook_deliveries::status, count_star()))
        .load(conn)?
        .into_iter()
        .collect();
    let oldest_due = webhook_deliveries::table
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .order(webhook_deliveries::next_attempt_at.asc())
        .select(webhook_deliveries::next_attempt_at)
        .first(conn)
        .optional()?;
    let count = |counts: &HashMap<String, i64>, status: &str| counts.get(status).copied().unwrap_or(0);
    Ok(Figures {
        payments: PaymentStatus::ALL.iter().map(|s| (*s, count(&payments, s.as_str()))).collect(),
        deliveries: DeliveryStatus::ALL.iter().map(|s| (*s, count(&deliveries, s.as_str()))).collect(),
        oldest_due,
    })
}

/// The venue's legal identity as printed on receipts and invoices; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct LegalChanges {
    pub legal_name: Option<Option<String>>,
    pub address: Option<Option<String>>,
    pub vat_id: Option<Option<String>>,
}

/// Changes the venue's legal identity; the venue as it is afterwards.
pub fn update_legal(conn: &mut DbConn, venue_id: &str, changes: &LegalChanges) -> StoreResult<Venue> {
    use crate::schema::venues;
    if let Some(v) = &changes.legal_name {
        diesel::update(venues::table.find(venue_id)).set(venues::legal_name.eq(v.as_deref())).execute(conn)?;
    }
    if let Some(v) = &changes.address {
        diesel::update(venues::table.find(venue_id)).set(venues::address.eq(v.as_deref())).execute(conn)?;
    }
    if let Some(v) = &changes.vat_id {
        diesel::update(venues::table.find(venue_id)).set(venues::vat_id.eq(v.as_deref())).execute(conn)?;
    }
    crate::changes::touches_no_guest_view();
    load(conn, venue_id)
}
