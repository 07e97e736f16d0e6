//! The webhook endpoints aggregate's statements: where a venue's events are delivered.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::rows::WebhookEndpoint;
use crate::schema::{webhook_endpoints, webhook_retired_secrets};
use crate::{DbConn, StoreResult};

/// The venue's endpoints that receive events: enabled and not deleted.
pub fn enabled_of_venue(conn: &mut DbConn, venue_id: &str) -> StoreResult<Vec<WebhookEndpoint>> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::venue_id.eq(venue_id))
        .filter(webhook_endpoints::enabled.eq(true))
        .filter(webhook_endpoints::deleted_at.is_null())
        .select(WebhookEndpoint::as_select())
        .load(conn)?)
}

/// Stores a new endpoint as built by the use case (its secret included).
pub fn insert(conn: &mut DbConn, endpoint: &WebhookEndpoint) -> StoreResult<()> {
    diesel::insert_into(webhook_endpoints::table).values(endpoint).execute(conn)?;
    Ok(())
}

/// A page of the venue's endpoints that are not deleted, oldest first (ids are
/// time-ordered), after `after`, at most `limit`.
pub fn page_of_venue(
    conn: &mut DbConn,
    venue_id: &str,
    after: Option<String>,
    limit: i64,
) -> StoreResult<Vec<WebhookEndpoint>> {
    let mut q = webhook_endpoints::table
        .filter(webhook_endpoints::venue_id.eq(venue_id))
        .filter(webhook_endpoints::deleted_at.is_null())
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(webhook_endpoints::id.gt(after));
    }
    Ok(q.order(webhook_endpoints::id.asc()).limit(limit).select(WebhookEndpoint::as_select()).load(conn)?)
}

/// An endpoint that is not deleted.
pub fn find(conn: &mut DbConn, id: &str) -> StoreResult<Option<WebhookEndpoint>> {
    Ok(webhook_endpoints::table
        .find(id)
        .filter(webhook_endpoints::deleted_at.is_null())
        .select(WebhookEndpoint::as_select())
        .first(conn)
        .optional()?)
}

/// Saves what a venue may change of an endpoint: URL, event types, enabled and why not.
pub fn update_settings(conn: &mut DbConn, endpoint: &WebhookEndpoint) -> StoreResult<()> {
    diesel::update(webhook_endpoints::table.find(&endpoint.id))
        .set((
            webhook_endpoints::url.eq(&endpoint.url),
            webhook_endpoints::event_types.eq(&endpoint.event_types),
            webhook_endpoints::enabled.eq(endpoint.enabled),
            webhook_endpoints::disabled_reason.eq(&endpoint.disabled_reason),
            webhook_endpoints::updated_at.eq(endpoint.updated_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Saves a rotated secret with the previous one and when it stops signing.
pub fn update_secrets(conn: &mut DbConn, endpoint: &WebhookEndpoint) -> StoreResult<()> {
    diesel::update(webhook_endpoints::table.find(&endpoint.id))
        .set((
            webhook_endpoints::secret.eq(&endpoint.secret),
            webhook_endpoints::previous_secret.eq(&endpoint.previous_secret),
            webhook_endpoints::previous_secret_expires_at.eq(endpoint.previous_secret_expires_at),
            webhook_endpoints::updated_at.eq(endpoint.updated_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Keeps `secret`, rotated away, signing until `expires_at` (see [`secrets_in_use`]).
pub fn retire_secret(conn: &mut DbConn, endpoint_id: &str, secret: &str, expires_at: NaiveDateTime) -> StoreResult<()> {
    diesel::insert_into(webhook_retired_secrets::table)
        .values((
            webhook_retired_secrets::endpoint_id.eq(endpoint_id),
            webhook_retired_secrets::secret.eq(secret),
            webhook_retired_secrets::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The retired secrets of these endpoints that still sign at `now`, as (endpoint id, secret).
pub fn secrets_in_use(
    conn: &mut DbConn,
    endpoint_ids: &[&str],
    now: NaiveDateTime,
) -> StoreResult<Vec<(String, String)>> {
    Ok(webhook_retired_secrets::table
        .filter(webhook_retired_secrets::endpoint_id.eq_any(endpoint_ids))
        .filter(webhook_retired_secrets::expires_at.gt(now))
        .order((webhook_retired_secrets::endpoint_id, webhook_retired_secrets::expires_at.desc()))
        .select((webhook_retired_secrets::endpoint_id, webhook_retired_secrets::secret))
        .load(conn)?)
}

/// Marks an endpoint deleted (and disabled); its delivery log stays.
pub fn delete(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> StoreResult<()> {
    diesel::update(webhook_endpoints::table.find(id))
        .set((
            webhook_endpoints::deleted_at.eq(now),
            webhook_endpoints::enabled.eq(false),
            webhook_endpoints::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Stops deliveries to an endpoint until the venue enables it again, saying why; false when
/// it was off already.
pub fn disable(conn: &mut DbConn, id: &str, reason: &str, now: NaiveDateTime) -> StoreResult<bool> {
    let changed = diesel::update(webhook_endpoints::table.find(id).filter(webhook_endpoints::enabled.eq(true)))
        .set((
            webhook_endpoints::enabled.eq(false),
            webhook_endpoints::disabled_reason.eq(reason),
            webhook_endpoints::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}
