//! Webhook endpoints of a venue and the log of their deliveries.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Duration;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{Role, VenueAuth, VenueCaller};
use crate::billing::Timestamp;
use crate::db::{self, DbConn};
use crate::error::{ApiError, Code};
use crate::events::EVENT_TYPES;
use crate::http::{Body, ListQuery, PageRequest, Reply, new_id, parse_id};
use crate::idempotency;
use crate::webhooks::{check_destination, sign};
use tablepay_store::rows::{WebhookAttempt, WebhookDelivery, WebhookEndpoint};
use tablepay_store::schema::{webhook_attempts, webhook_deliveries, webhook_endpoints};

/// How long a rotated-out secret keeps signing, by default and at most.
const ROTATION_OVERLAP_HOURS: i64 = 24;

#[derive(Debug, Serialize, ToSchema)]
struct EndpointView {
    id: String,
    url: String,
    event_types: Vec<String>,
    enabled: bool,
    disabled_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    previous_secret_expires_at: Option<Timestamp>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

fn view(e: &WebhookEndpoint, with_secret: bool) -> EndpointView {
    EndpointView {
        id: e.id.clone(),
        url: e.url.clone(),
        event_types: serde_json::from_str(&e.event_types).unwrap_or_default(),
        enabled: e.enabled,
        disabled_reason: e.disabled_reason.clone(),
        secret: with_secret.then(|| e.secret.clone()),
        previous_secret_expires_at: e.previous_secret_expires_at.map(Timestamp),
        created_at: Timestamp(e.created_at),
        updated_at: Timestamp(e.updated_at),
    }
}

fn event_types(types: Option<Vec<String>>) -> Result<String, ApiError> {
    let mut types = types.unwrap_or_default();
    if let Some(unknown) = types.iter().find(|t| !EVENT_TYPES.contains(&t.as_str())) {
        return Err(ApiError::invalid(format!("unknown event type {unknown:?}; known: {}", EVENT_TYPES.join(", "))));
    }
    types.sort();
    types.dedup();
    Ok(serde_json::to_string(&types)?)
}

async fn checked_url(state: &AppState, raw: &str) -> Result<String, ApiError> {
    if raw.len() > 2048 {
        return Err(ApiError::invalid("url must be at most 2048 characters"));
    }
    Ok(check_destination(raw, state.settings.webhooks.allow_private_networks).await?.to_string())
}

const WRITERS: &[Role] = &[Role::Pos, Role::Manager];

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateEndpoint {
    url: String,
    event_types: Option<Vec<String>>,
    enabled: Option<bool>,
}

/// `POST /v1/venues/{venue_id}/webhook-endpoints` (POS, manager): the secret is shown once.
#[utoipa::path(
    post, path = "/v1/venues/{venue_id}/webhook-endpoints", tag = "webhooks", request_body = CreateEndpoint,
    responses(
        (status = 201, description = "The endpoint and its secret, shown once", body = EndpointView),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: VenueAuth,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let venue_id = parse_id(&path, "venue")?;
    caller.require_venue(&venue_id, "venue")?;
    caller.require_role(WRITERS)?;
    let input: CreateEndpoint = body.json()?;
    idempotency::run(&state, &req, caller.scope(), &body, || async {
        let url = checked_url(&state, &input.url).await?;
        let now = db::now();
        let endpoint = WebhookEndpoint {
            id: new_id(),
            venue_id,
            url,
            event_types: event_types(input.event_types)?,
            enabled: input.enabled.unwrap_or(true),
            secret: sign::new_secret(),
            previous_secret: None,
            previous_secret_expires_at: None,
            disabled_reason: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        let stored = endpoint.clone();
        state
            .db
            .write(move |conn| Ok(diesel::insert_into(webhook_endpoints::table).values(&stored).execute(conn)?))
            .await?;
        Reply::created(view(&endpoint, true))
    })
    .await
}

/// `GET /v1/venues/{venue_id}/webhook-endpoints`.
#[utoipa::path(
    get, path = "/v1/venues/{venue_id}/webhook-endpoints", tag = "webhooks", params(ListQuery),
    responses(
        (status = 200, description = "OK", body = crate::http::List<EndpointView>),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let venue_id = parse_id(&path, "venue")?;
    caller.0.require_venue(&venue_id, "venue")?;
    caller.0.require_role(WRITERS)?;
    let page = PageRequest::from_query(&query)?;
    let (cursor, fetch) = (page.cursor.clone(), page.fetch());
    let rows: Vec<WebhookEndpoint> = state
        .db
        .run(move |conn| {
            let mut q = webhook_endpoints::table
                .filter(webhook_endpoints::venue_id.eq(&venue_id))
                .filter(webhook_endpoints::deleted_at.is_null())
                .into_boxed();
            if let Some(cursor) = cursor {
                q = q.filter(webhook_endpoints::id.gt(cursor));
            }
            // Ids are time-ordered: oldest first.
            Ok(q.order(webhook_endpoints::id.asc()).limit(fetch).select(WebhookEndpoint::as_select()).load(conn)?)
        })
        .await?;
    Ok(page.reply(&rows, |e| &e.id, |e| view(e, false))?.into_response())
}

fn load_endpoint(conn: &mut DbConn, id: &str, caller: &VenueCaller) -> Result<WebhookEndpoint, ApiError> {
    let endpoint: Option<WebhookEndpoint> = webhook_endpoints::table
        .find(id)
        .filter(webhook_endpoints::deleted_at.is_null())
        .select(WebhookEndpoint::as_select())
        .first(conn)
        .optional()?;
    let endpoint = endpoint.ok_or_else(|| ApiError::not_found("webhook endpoint"))?;
    caller.require_venue(&endpoint.venue_id, "webhook endpoint")?;
    caller.require_role(WRITERS)?;
    Ok(endpoint)
}

/// `GET /v1/webhook-endpoints/{id}`.
#[utoipa::path(
    get, path = "/v1/webhook-endpoints/{endpoint_id}", tag = "webhooks",
    responses(
        (status = 200, description = "OK", body = EndpointView),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "webhook endpoint")?;
    let endpoint = state.db.run(move |conn| load_endpoint(conn, &id, &caller.0)).await?;
    Ok(Reply::ok(view(&endpoint, false))?.into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateEndpoint {
    url: Option<String>,
    event_types: Option<Vec<String>>,
    enabled: Option<bool>,
}

/// `PATCH /v1/webhook-endpoints/{id}`: URL, event types, enabled.
#[utoipa::path(
    patch, path = "/v1/webhook-endpoints/{endpoint_id}", tag = "webhooks", request_body = UpdateEndpoint,
    responses(
        (status = 200, description = "OK", body = EndpointView),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "webhook endpoint")?;
    let input: UpdateEndpoint = body.json()?;
    let caller = caller.0;
    // Existence and permission first, so another venue learns nothing from validation.
    let check = (id.clone(), caller.clone());
    state.db.run(move |conn| load_endpoint(conn, &check.0, &check.1)).await?;
    let url = match &input.url {
        Some(raw) => Some(checked_url(&state, raw).await?),
        None => None,
    };
    let types = input.event_types.map(|t| event_types(Some(t))).transpose()?;
    let endpoint = state
        .db
        .write(move |conn| {
            let mut endpoint = load_endpoint(conn, &id, &caller)?;
            if let Some(url) = url {
                endpoint.url = url;
            }
            if let Some(types) = types {
                endpoint.event_types = types;
            }
            if let Some(enabled) = input.enabled {
                endpoint.enabled = enabled;
                if enabled {
                    endpoint.disabled_reason = None;
                }
            }
            endpoint.updated_at = db::now();
            diesel::update(webhook_endpoints::table.find(&endpoint.id))
                .set((
                    webhook_endpoints::url.eq(&endpoint.url),
                    webhook_endpoints::event_types.eq(&endpoint.event_types),
                    webhook_endpoints::enabled.eq(endpoint.enabled),
                    webhook_endpoints::disabled_reason.eq(&endpoint.disabled_reason),
                    webhook_endpoints::updated_at.eq(endpoint.updated_at),
                ))
                .execute(conn)?;
            Ok(endpoint)
        })
        .await?;
    Ok(Reply::ok(view(&endpoint, false))?.into_response())
}

/// `DELETE /v1/webhook-endpoints/{id}`: no further deliveries; the delivery log stays.
#[utoipa::path(
    delete, path = "/v1/webhook-endpoints/{endpoint_id}", tag = "webhooks",
    responses(
        (status = 204, description = "Deleted"),
    )
)]
pub async fn delete(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "webhook endpoint")?;
    state
        .db
        .write(move |conn| {
            let endpoint = load_endpoint(conn, &id, &caller.0)?;
            let now = db::now();
            diesel::update(webhook_endpoints::table.find(&endpoint.id))
                .set((
                    webhook_endpoints::deleted_at.eq(now),
                    webhook_endpoints::enabled.eq(false),
                    webhook_endpoints::updated_at.eq(now),
                ))
                .execute(conn)?;
            diesel::update(
                webhook_deliveries::table
                    .filter(webhook_deliveries::endpoint_id.eq(&endpoint.id))
                    .filter(webhook_deliveries::status.eq("pending")),
            )
            .set((
                webhook_deliveries::status.eq("failed"),
                webhook_deliveries::last_error.eq("endpoint deleted"),
                webhook_deliveries::updated_at.eq(now),
            ))
            .execute(conn)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Rotate {
    /// How long the old secret keeps signing, 0 to 86 400 s (default 86 400).
    expire_previous_in_seconds: Option<i64>,
}

/// `POST /v1/webhook-endpoints/{id}/rotate-secret`: a new secret, shown once; both sign
/// until the old one expires, so receivers can switch without losing a delivery.
#[utoipa::path(
    post, path = "/v1/webhook-endpoints/{endpoint_id}/rotate-secret", tag = "webhooks", request_body = Option<Rotate>,
    responses(
        (status = 200, description = "The endpoint with its new secret, shown once", body = EndpointView),
    )
)]
pub async fn rotate(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "webhook endpoint")?;
    let input: Rotate = if body.0.iter().all(u8::is_ascii_whitespace) { Rotate::default() } else { body.json()? };
    let overlap = input.expire_previous_in_seconds.unwrap_or(ROTATION_OVERLAP_HOURS * 3600);
    if !(0..=ROTATION_OVERLAP_HOURS * 3600).contains(&overlap) {
        return Err(ApiError::invalid("expire_previous_in_seconds must be from 0 to 86400"));
    }
    let endpoint = state
        .db
        .write(move |conn| {
            let mut endpoint = load_endpoint(conn, &id, &caller.0)?;
            let now = db::now();
            endpoint.previous_secret = Some(std::mem::replace(&mut endpoint.secret, sign::new_secret()));
            endpoint.previous_secret_expires_at = Some(now + Duration::seconds(overlap));
            endpoint.updated_at = now;
            diesel::update(webhook_endpoints::table.find(&endpoint.id))
                .set((
                    webhook_endpoints::secret.eq(&endpoint.secret),
                    webhook_endpoints::previous_secret.eq(&endpoint.previous_secret),
                    webhook_endpoints::previous_secret_expires_at.eq(endpoint.previous_secret_expires_at),
                    webhook_endpoints::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(endpoint)
        })
        .await?;
    Ok(Reply::ok(view(&endpoint, true))?.into_response())
}

#[derive(Debug, Serialize, ToSchema)]
struct AttemptView {
    attempt: i32,
    started_at: Timestamp,
    status_code: Option<i32>,
    latency_ms: i64,
    error: Option<String>,
    response_excerpt: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
struct DeliveryView {
    id: String,
    endpoint_id: String,
    event_id: String,
    event_type: String,
    status: String,
    attempts: i32,
    next_attempt_at: Option<Timestamp>,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    created_at: Timestamp,
    delivered_at: Option<Timestamp>,
    attempt_log: Vec<AttemptView>,
}

fn delivery_view(d: &WebhookDelivery, attempts: &[WebhookAttempt]) -> DeliveryView {
    DeliveryView {
        id: d.id.clone(),
        endpoint_id: d.endpoint_id.clone(),
        event_id: d.event_id.clone(),
        event_type: d.event_type.clone(),
        status: d.status.clone(),
        attempts: d.attempts,
        next_attempt_at: (d.status == "pending").then_some(Timestamp(d.next_attempt_at)),
        last_status_code: d.last_status_code,
        last_error: d.last_error.clone(),
        created_at: Timestamp(d.created_at),
        delivered_at: d.delivered_at.map(Timestamp),
        attempt_log: attempts
            .iter()
            .filter(|a| a.delivery_id == d.id)
            .map(|a| AttemptView {
                attempt: a.attempt,
                started_at: Timestamp(a.started_at),
                status_code: a.status_code,
                latency_ms: a.latency_ms,
                error: a.error.clone(),
                response_excerpt: a.response_excerpt.clone(),
            })
            .collect(),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    status: Option<String>,
    event_type: Option<String>,
    endpoint_id: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// `GET /v1/venues/{venue_id}/webhook-deliveries?status=&event_type=&endpoint_id=&limit=&cursor=`,
/// newest first, each with its attempts.
#[utoipa::path(
    get, path = "/v1/venues/{venue_id}/webhook-deliveries", tag = "webhooks", params(DeliveryQuery),
    responses(
        (status = 200, description = "OK", body = crate::http::List<DeliveryView>),
    )
)]
pub async fn deliveries(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
    query: web::Query<DeliveryQuery>,
) -> Result<HttpResponse, ApiError> {
    let venue_id = parse_id(&path, "venue")?;
    caller.0.require_venue(&venue_id, "venue")?;
    caller.0.require_role(WRITERS)?;
    let q = query.into_inner();
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let (cursor, fetch) = (page.cursor.clone(), page.fetch());
    if let Some(status) = &q.status
        && !["pending", "succeeded", "failed"].contains(&status.as_str())
    {
        return Err(ApiError::bad_request("status must be pending, succeeded or failed"));
    }
    let endpoint = q
        .endpoint_id
        .as_deref()
        .map(|c| parse_id(c, "endpoint"))
        .transpose()
        .map_err(|_| ApiError::bad_request("endpoint_id is invalid"))?;
    let (rows, attempts) = state
        .db
        .run(move |conn| {
            let mut query = webhook_deliveries::table.filter(webhook_deliveries::venue_id.eq(&venue_id)).into_boxed();
            if let Some(status) = q.status {
                query = query.filter(webhook_deliveries::status.eq(status));
            }
            if let Some(kind) = q.event_type {
                query = query.filter(webhook_deliveries::event_type.eq(kind));
            }
            if let Some(endpoint) = endpoint {
                query = query.filter(webhook_deliveries::endpoint_id.eq(endpoint));
            }
            if let Some(cursor) = cursor {
                query = query.filter(webhook_deliveries::id.lt(cursor));
            }
            let rows: Vec<WebhookDelivery> = query
                .order(webhook_deliveries::id.desc())
                .limit(fetch)
                .select(WebhookDelivery::as_select())
                .load(conn)?;
            let ids: Vec<&String> = rows.iter().map(|d| &d.id).collect();
            let attempts: Vec<WebhookAttempt> = webhook_attempts::table
                .filter(webhook_attempts::delivery_id.eq_any(ids))
                .order((webhook_attempts::delivery_id.asc(), webhook_attempts::attempt.asc()))
                .select(WebhookAttempt::as_select())
                .load(conn)?;
            Ok((rows, attempts))
        })
        .await?;
    Ok(page.reply(&rows, |d| &d.id, |d| delivery_view(d, &attempts))?.into_response())
}

/// `POST /v1/webhook-deliveries/{id}/retry` (POS, manager): attempts a finished delivery
/// again at once, with a fresh retry schedule.
#[utoipa::path(
    post, path = "/v1/webhook-deliveries/{delivery_id}/retry", tag = "webhooks",
    responses(
        (status = 202, description = "Scheduled now", body = DeliveryView),
    )
)]
pub async fn retry(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "webhook delivery")?;
    let caller = caller.0;
    let (delivery, attempts) = state
        .db
        .write(move |conn| {
            let delivery: Option<WebhookDelivery> =
                webhook_deliveries::table.find(&id).select(WebhookDelivery::as_select()).first(conn).optional()?;
            let delivery = delivery.ok_or_else(|| ApiError::not_found("webhook delivery"))?;
            caller.require_venue(&delivery.venue_id, "webhook delivery")?;
            caller.require_role(WRITERS)?;
            if delivery.status == "pending" {
                return Err(ApiError::conflict(
                    Code::Conflict,
                    "the delivery is still pending; it will be attempted on schedule",
                ));
            }
            let endpoint = load_endpoint(conn, &delivery.endpoint_id, &caller)
                .map_err(|_| ApiError::conflict(Code::Conflict, "the endpoint was deleted"))?;
            if !endpoint.enabled {
                return Err(ApiError::conflict(Code::Conflict, "the endpoint is disabled; enable it first"));
            }
            let now = db::now();
            diesel::update(webhook_deliveries::table.find(&delivery.id))
                .set((
                    webhook_deliveries::status.eq("pending"),
                    webhook_deliveries::attempts.eq(0),
                    webhook_deliveries::next_attempt_at.eq(now),
                    webhook_deliveries::updated_at.eq(now),
                ))
                .execute(conn)?;
            crate::events::mark_emitted();
            let delivery: WebhookDelivery =
                webhook_deliveries::table.find(&delivery.id).select(WebhookDelivery::as_select()).first(conn)?;
            let attempts: Vec<WebhookAttempt> = webhook_attempts::table
                .filter(webhook_attempts::delivery_id.eq(&delivery.id))
                .select(WebhookAttempt::as_select())
                .load(conn)?;
            Ok((delivery, attempts))
        })
        .await?;
    Ok(Reply::with_status(actix_web::http::StatusCode::ACCEPTED, delivery_view(&delivery, &attempts))?.into_response())
}
