//! The staff aggregate: a venue's staff members, its API keys (POS and staff), and what waits
//! for staff (requests for a manager's approval, guests' open calls).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use tablepay_domain::{AdjustmentStatus, AssistanceStatus, RefundStatus};

use crate::rows::{Adjustment, ApiKey, AssistanceRequest, Refund, Staff};
use crate::schema::{adjustments, api_keys, assistance_requests, dining_tables, refunds, staff};
use crate::{DbConn, StoreResult};

/// Stores a new staff member.
pub fn insert_member(conn: &mut DbConn, member: &Staff) -> StoreResult<()> {
    diesel::insert_into(staff::table).values(member.clone()).execute(conn)?;
    Ok(())
}

/// A staff member a bill may be assigned to: one of `venue_id`'s.
pub fn member_of_venue(conn: &mut DbConn, staff_id: &str, venue_id: &str) -> StoreResult<Option<Staff>> {
    let member: Option<Staff> = staff::table.find(staff_id).select(Staff::as_select()).first(conn).optional()?;
    Ok(member.filter(|m| m.venue_id == venue_id))
}

/// Up to `fetch` staff members of the venue, oldest first (ids are time-ordered), after the
/// member `after`.
pub fn members_page(conn: &mut DbConn, venue_id: &str, after: Option<&str>, fetch: i64) -> StoreResult<Vec<Staff>> {
    let mut query = staff::table.filter(staff::venue_id.eq(venue_id)).into_boxed();
    if let Some(after) = after {
        query = query.filter(staff::id.gt(after));
    }
    Ok(query.order(staff::id.asc()).limit(fetch).select(Staff::as_select()).load(conn)?)
}

/// Stores a new key (its digest, never the secret).
pub fn insert_key(conn: &mut DbConn, key: &ApiKey) -> StoreResult<()> {
    diesel::insert_into(api_keys::table).values(key.clone()).execute(conn)?;
    Ok(())
}

/// A key by id, revoked or not, of whichever venue.
pub fn find_key(conn: &mut DbConn, key_id: &str) -> StoreResult<Option<ApiKey>> {
    Ok(api_keys::table.find(key_id).select(ApiKey::as_select()).first(conn).optional()?)
}

/// Revokes a key: from `at` on it authenticates nothing.
pub fn revoke_key(conn: &mut DbConn, key_id: &str, at: NaiveDateTime) -> StoreResult<()> {
    diesel::update(api_keys::table.find(key_id)).set(api_keys::revoked_at.eq(at)).execute(conn)?;
    Ok(())
}

/// The unrevoked key with this digest and, for a staff key, its member's name: one statement
/// per authenticated request.
pub fn active_key(conn: &mut DbConn, key_hash: &str) -> StoreResult<Option<(ApiKey, Option<String>)>> {
    Ok(api_keys::table
        .left_join(staff::table.on(api_keys::staff_id.eq(staff::id.nullable())))
        .filter(api_keys::key_hash.eq(key_hash))
        .filter(api_keys::revoked_at.is_null())
        .select((ApiKey::as_select(), staff::name.nullable()))
        .first(conn)
        .optional()?)
}

/// The venue's comps and discounts waiting for a manager, oldest first, at most `limit`.
pub fn pending_adjustments(conn: &mut DbConn, venue_id: &str, limit: i64) -> StoreResult<Vec<Adjustment>> {
    Ok(adjustments::table
        .filter(adjustments::venue_id.eq(venue_id))
        .filter(adjustments::status.eq(AdjustmentStatus::PendingApproval.as_str()))
        .order(adjustments::id.asc())
        .limit(limit)
        .select(Adjustment::as_select())
        .load(conn)?)
}

/// The venue's refunds waiting for a manager, oldest first, at most `limit`.
pub fn pending_refunds(conn: &mut DbConn, venue_id: &str, limit: i64) -> StoreResult<Vec<Refund>> {
    Ok(refunds::table
        .filter(refunds::venue_id.eq(venue_id))
        .filter(refunds::status.eq(RefundStatus::PendingApproval.as_str()))
        .order(refunds::id.asc())
        .limit(limit)
        .select(Refund::as_select())
        .load(conn)?)
}

/// Guests' open calls for a server with their table's label, oldest first, at most `limit`.
pub fn open_calls(conn: &mut DbConn, venue_id: &str, limit: i64) -> StoreResult<Vec<(AssistanceRequest, String)>> {
    Ok(assistance_requests::table
        .inner_join(dining_tables::table.on(dining_tables::id.eq(assistance_requests::table_id)))
        .filter(assistance_requests::venue_id.eq(venue_id))
        .filter(assistance_requests::status.eq(AssistanceStatus::Open.as_str()))
        .order(assistance_requests::id.asc())
        .limit(limit)
        .select((AssistanceRequest::as_select(), dining_tables::label))
        .load(conn)?)
}
