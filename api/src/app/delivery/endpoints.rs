//! A venue's webhook endpoints (where its events are delivered) and the log of deliveries:
//! create, change, rotate the secret, delete, list, and send a finished delivery again.

use chrono::Duration;
use tablepay_store::outbox::{self, DeliveryFilter};
use tablepay_store::rows::{WebhookAttempt, WebhookDelivery, WebhookEndpoint};
use tablepay_store::{DbConn, Store, endpoints};

use super::destination::checked_url;
use super::sign;
use crate::app::access::Permission;
use crate::app::access::VenueCaller;
use crate::app::events::EVENT_TYPES;
use crate::app::{AppError, AppResult, Code};
use tablepay_domain::{DeliveryId, EndpointId, VenueId};

/// How long a rotated-out secret keeps signing, by default and at most.
const ROTATION_OVERLAP_SECS: i64 = 24 * 3600;

/// Things of another venue are "not found" to the caller, whatever its role.
fn authorize(caller: &VenueCaller, venue_id: &str, what: &'static str) -> AppResult<()> {
    caller.require_venue(venue_id, what)?;
    caller.require(Permission::KeepWebhooks)
}

/// A new endpoint as the venue describes it.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    pub venue_id: String,
    pub url: String,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// What a venue changes of an endpoint; `None` keeps what is there.
#[derive(Debug, Clone, Default)]
pub struct EndpointUpdate {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// The stored form of an endpoint's event types: known types only, sorted, each once, as a
/// JSON array (empty means every event).
fn event_types(types: Option<Vec<String>>) -> AppResult<String> {
    let mut types = types.unwrap_or_default();
    if let Some(unknown) = types.iter().find(|t| !EVENT_TYPES.contains(&t.as_str())) {
        return Err(AppError::invalid(format!("unknown event type {unknown:?}; known: {}", EVENT_TYPES.join(", "))));
    }
    types.sort();
    types.dedup();
    serde_json::to_string(&types).map_err(|e| AppError::internal(e.to_string()))
}

/// Creates an endpoint with a new secret (which the caller shows once).
pub async fn create(store: &Store, new: NewEndpoint, allow_private: bool) -> AppResult<WebhookEndpoint> {
    let url = checked_url(&new.url, allow_private).await?;
    let now = tablepay_store::now();
    let endpoint = WebhookEndpoint {
        id: tablepay_store::new_id(),
        venue_id: new.venue_id,
        url,
        event_types: event_types(new.event_types)?,
        enabled: new.enabled.unwrap_or(true),
        secret: sign::new_secret(),
        previous_secret: None,
        previous_secret_expires_at: None,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    let stored = endpoint.clone();
    store.write(move |conn| -> AppResult<_> { Ok(endpoints::insert(conn, &stored)?) }).await?;
    Ok(endpoint)
}

/// A page of the venue's endpoints, oldest first, after `after`.
pub async fn list(
    store: &Store,
    venue_id: VenueId,
    after: Option<String>,
    fetch: i64,
) -> AppResult<Vec<WebhookEndpoint>> {
    store
        .run(move |conn| -> AppResult<_> { Ok(endpoints::page_of_venue(conn, venue_id.as_str(), after, fetch)?) })
        .await
}

/// The endpoint, if it exists, is not deleted and the caller may manage it.
fn load(conn: &mut DbConn, id: &str, caller: &VenueCaller) -> AppResult<WebhookEndpoint> {
    let endpoint = endpoints::find(conn, id)?.ok_or(AppError::NotFound("webhook endpoint"))?;
    authorize(caller, &endpoint.venue_id, "webhook endpoint")?;
    Ok(endpoint)
}

/// One endpoint, for a caller who may manage it (its secret is never shown again).
pub async fn get(store: &Store, id: EndpointId, caller: VenueCaller) -> AppResult<WebhookEndpoint> {
    store.run(move |conn| load(conn, id.as_str(), &caller)).await
}

/// Changes URL, event types or enabled; enabling clears why it was disabled.
pub async fn update(
    store: &Store,
    id: EndpointId,
    caller: VenueCaller,
    change: EndpointUpdate,
    allow_private: bool,
) -> AppResult<WebhookEndpoint> {
    // Existence and permission first, so another venue learns nothing from validation.
    let check = (id.clone(), caller.clone());
    store.run(move |conn| load(conn, check.0.as_str(), &check.1)).await?;
    let url = match &change.url {
        Some(raw) => Some(checked_url(raw, allow_private).await?),
        None => None,
    };
    let types = change.event_types.map(|t| event_types(Some(t))).transpose()?;
    store
        .write(move |conn| -> AppResult<_> {
            let mut endpoint = load(conn, id.as_str(), &caller)?;
            let was_enabled = endpoint.enabled;
            if let Some(url) = url {
                endpoint.url = url;
            }
            if let Some(types) = types {
                endpoint.event_types = types;
            }
            if let Some(enabled) = change.enabled {
                endpoint.enabled = enabled;
                if enabled {
                    endpoint.disabled_reason = None;
                }
            }
            endpoint.updated_at = tablepay_store::now();
            endpoints::update_settings(conn, &endpoint)?;
            if was_enabled && !endpoint.enabled {
                super::endpoint_disabled(conn, &endpoint, &format!("switched off by {}", caller.actor_name()))?;
            }
            Ok(endpoint)
        })
        .await
}

/// Deletes an endpoint: no further deliveries (pending ones fail); the delivery log stays.
pub async fn delete(store: &Store, id: EndpointId, caller: VenueCaller) -> AppResult<()> {
    store
        .write(move |conn| -> AppResult<_> {
            let endpoint = load(conn, id.as_str(), &caller)?;
            let now = tablepay_store::now();
            endpoints::delete(conn, &endpoint.id, now)?;
            outbox::fail_pending_of_endpoint(conn, &endpoint.id, "endpoint deleted", now)?;
            Ok(())
        })
        .await
}

/// A new secret (which the caller shows once); the old one keeps signing for
/// `overlap_secs` (0 to a day, a day by default), so receivers switch without losing a
/// delivery.
pub async fn rotate(
    store: &Store,
    id: EndpointId,
    caller: VenueCaller,
    overlap_secs: Option<i64>,
) -> AppResult<WebhookEndpoint> {
    let overlap = overlap_secs.unwrap_or(ROTATION_OVERLAP_SECS);
    if !(0..=ROTATION_OVERLAP_SECS).contains(&overlap) {
        return Err(AppError::invalid(format!("expire_previous_in_seconds must be from 0 to {ROTATION_OVERLAP_SECS}")));
    }
    store
        .write(move |conn| -> AppResult<_> {
            let mut endpoint = load(conn, id.as_str(), &caller)?;
            let now = tablepay_store::now();
            let until = now + Duration::seconds(overlap);
            let retired = std::mem::replace(&mut endpoint.secret, sign::new_secret());
            // Every retired secret keeps signing until its own expiry, however often the
            // endpoint rotates meanwhile; the row shows the latest one.
            endpoints::retire_secret(conn, &endpoint.id, &retired, until)?;
            endpoint.previous_secret = Some(retired);
            endpoint.previous_secret_expires_at = Some(until);
            endpoint.updated_at = now;
            endpoints::update_secrets(conn, &endpoint)?;
            Ok(endpoint)
        })
        .await
}

/// A page of the venue's deliveries, newest first, with their attempts.
pub async fn deliveries(
    store: &Store,
    filter: DeliveryFilter,
) -> AppResult<(Vec<WebhookDelivery>, Vec<WebhookAttempt>)> {
    store
        .run(move |conn| -> AppResult<_> {
            let rows = outbox::list_deliveries(conn, filter)?;
            let ids: Vec<&str> = rows.iter().map(|d| d.id.as_str()).collect();
            let attempts = outbox::attempts_of(conn, &ids)?;
            Ok((rows, attempts))
        })
        .await
}

/// Sends a finished delivery again at once, with a fresh retry schedule (even one that
/// succeeded: the receiver deduplicates by the unchanged `webhook-id`).
pub async fn retry(
    store: &Store,
    id: DeliveryId,
    caller: VenueCaller,
) -> AppResult<(WebhookDelivery, Vec<WebhookAttempt>)> {
    store
        .write(move |conn| -> AppResult<_> {
            let delivery = outbox::find_delivery(conn, id.as_str())?.ok_or(AppError::NotFound("webhook delivery"))?;
            authorize(&caller, &delivery.venue_id, "webhook delivery")?;
            let status = delivery.status;
            if !status.is_finished() {
                return Err(AppError::conflict(
                    Code::Conflict,
                    "the delivery is still pending; it will be attempted on schedule",
                ));
            }
            let endpoint = load(conn, &delivery.endpoint_id, &caller)
                .map_err(|_| AppError::conflict(Code::Conflict, "the endpoint was deleted"))?;
            if !endpoint.enabled {
                return Err(AppError::conflict(Code::Conflict, "the endpoint is disabled; enable it first"));
            }
            outbox::reschedule(conn, &delivery.id, tablepay_store::now())?;
            let delivery = outbox::find_delivery(conn, &delivery.id)?.ok_or(AppError::NotFound("webhook delivery"))?;
            let attempts = outbox::attempts_of(conn, &[delivery.id.as_str()])?;
            Ok((delivery, attempts))
        })
        .await
}
