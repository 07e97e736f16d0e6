//! The dining-table aggregate: tables, their QR tokens, and the status of the bill each one
//! holds.

use std::collections::HashMap;

use diesel::prelude::*;
use tablepay_domain::BillStatus;

use crate::rows::{DiningTable, Venue};
use crate::schema::{bills, dining_tables, venues};
use crate::{DbConn, StoreResult};

/// Stores a new table. A label already used in the venue fails with a unique violation
/// (see [`StoreError::unique_violation`]).
pub fn insert(conn: &mut DbConn, table: &DiningTable) -> StoreResult<()> {
    diesel::insert_into(dining_tables::table).values(table).execute(conn)?;
    Ok(())
}

/// A table by id, of whichever venue.
pub fn find(conn: &mut DbConn, table_id: &str) -> StoreResult<Option<DiningTable>> {
    Ok(dining_tables::table.find(table_id).select(DiningTable::as_select()).first(conn).optional()?)
}

/// The label of a table of the venue: where a page of tables ordered by label resumes.
pub fn label_in_venue(conn: &mut DbConn, venue_id: &str, table_id: &str) -> StoreResult<Option<String>> {
    Ok(dining_tables::table
        .find(table_id)
        .filter(dining_tables::venue_id.eq(venue_id))
        .select(dining_tables::label)
        .first(conn)
        .optional()?)
}

/// Up to `fetch` tables of the venue by label (unique in a venue), after `after_label`.
pub fn page(conn: &mut DbConn, venue_id: &str, after_label: Option<&str>, fetch: i64) -> StoreResult<Vec<DiningTable>> {
    let mut query = dining_tables::table.filter(dining_tables::venue_id.eq(venue_id)).into_boxed();
    if let Some(after) = after_label {
        query = query.filter(dining_tables::label.gt(after));
    }
    Ok(query.order(dining_tables::label.asc()).limit(fetch).select(DiningTable::as_select()).load(conn)?)
}

/// The status of the bill each of these tables holds (one that still occupies it: open or
/// paid), in one statement; tables without one are absent.
pub fn current_bill_statuses(conn: &mut DbConn, table_ids: &[String]) -> StoreResult<HashMap<String, BillStatus>> {
    let occupying = crate::bills::occupying();
    let rows: Vec<(String, String)> = bills::table
        .filter(bills::table_id.eq_any(table_ids))
        .filter(bills::status.eq_any(occupying))
        .order(bills::opened_at.asc())
        .select((bills::table_id, bills::status))
        .load(conn)?;
    // Ordered by age, so an open bill seated after a paid one wins.
    rows.into_iter().map(|(table_id, status)| Ok((table_id, BillStatus::try_from(status)?))).collect()
}

/// Gives the table a new QR token; the old one names nothing from now on.
pub fn set_qr_token(conn: &mut DbConn, table_id: &str, qr_token: &str) -> StoreResult<()> {
    diesel::update(dining_tables::table.find(table_id)).set(dining_tables::qr_token.eq(qr_token)).execute(conn)?;
    Ok(())
}

/// The table a QR token names, with its venue.
pub fn by_qr_token(conn: &mut DbConn, qr_token: &str) -> StoreResult<Option<(DiningTable, Venue)>> {
    Ok(dining_tables::table
        .inner_join(venues::table)
        .filter(dining_tables::qr_token.eq(qr_token))
        .select((DiningTable::as_select(), Venue::as_select()))
        .first(conn)
        .optional()?)
}

/// The ids of the table a QR token names and of its venue, and the venue's payment provider:
/// the little that every guest route needs first.
pub fn provider_by_qr_token(conn: &mut DbConn, qr_token: &str) -> StoreResult<Option<(String, String, String)>> {
    Ok(dining_tables::table
        .inner_join(venues::table)
        .filter(dining_tables::qr_token.eq(qr_token))
        .select((dining_tables::id, venues::id, venues::payment_provider))
        .first(conn)
        .optional()?)
}
