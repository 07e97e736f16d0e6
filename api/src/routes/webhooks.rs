//! Webhook endpoints of a venue and the log of their deliveries.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use tablepay_domain::status::DeliveryStatus;
use utoipa::ToSchema;

use crate::AppState;
use crate::app::access::Permission;
use crate::app::delivery::endpoints::{self, EndpointUpdate, NewEndpoint};
use crate::auth::VenueAuth;
use crate::billing::Timestamp;
use crate::error::ApiError;
use crate::http::{Body, ListQuery, PageRequest, Reply, parse_filter_id, parse_id};
use crate::idempotency;
use tablepay_domain::{DeliveryId, EndpointId, VenueId};
use tablepay_store::outbox::DeliveryFilter;
use tablepay_store::rows::{WebhookAttempt, WebhookDelivery, WebhookEndpoint};

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

fn allow_private(state: &AppState) -> bool {
    state.settings.webhooks.allow_private_networks
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateEndpoint {
    #[schema(
        min_length = 1,
        max_length = 2048,
        pattern = "^[hH][tT][tT][pP][sS]?://[^/?#@]+",
        example = "https://pos.example.com/hooks/tablepay"
    )]
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
    let venue_id: VenueId = parse_id(&path)?;
    caller.require_in(&venue_id, Permission::KeepWebhooks)?;
    let input: CreateEndpoint = body.json()?;
    idempotency::run(&state, &req, caller.scope(), &body, || async {
        let new = NewEndpoint {
            venue_id: venue_id.into(),
            url: input.url,
            event_types: input.event_types,
            enabled: input.enabled,
        };
        let endpoint = endpoints::create(&state.db, new, allow_private(&state)).await?;
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
    let venue_id: VenueId = parse_id(&path)?;
    caller.0.require_in(&venue_id, Permission::KeepWebhooks)?;
    let page = PageRequest::from_query(&query)?;
    let (cursor, fetch) = (page.cursor.clone(), page.fetch());
    let rows = endpoints::list(&state.db, venue_id, cursor, fetch).await?;
    Ok(page.reply(&rows, |e| &e.id, |e| view(e, false))?.into_response())
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
    let id: EndpointId = parse_id(&path)?;
    let endpoint = endpoints::get(&state.db, id, caller.0).await?;
    Ok(Reply::ok(view(&endpoint, false))?.into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateEndpoint {
    #[schema(
        min_length = 1,
        max_length = 2048,
        pattern = "^[hH][tT][tT][pP][sS]?://[^/?#@]+",
        example = "https://pos.example.com/hooks/tablepay"
    )]
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
    let id: EndpointId = parse_id(&path)?;
    let input: UpdateEndpoint = body.json()?;
    let change = EndpointUpdate { url: input.url, event_types: input.event_types, enabled: input.enabled };
    let endpoint = endpoints::update(&state.db, id, caller.0, change, allow_private(&state)).await?;
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
    let id: EndpointId = parse_id(&path)?;
    endpoints::delete(&state.db, id, caller.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Rotate {
    /// How long the old secret keeps signing, 0 to 86 400 s (default 86 400).
    #[schema(minimum = 0, maximum = 86400)]
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
    req: HttpRequest,
    caller: VenueAuth,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let id: EndpointId = parse_id(&path)?;
    let input: Rotate = body.json_or_default()?;
    let caller = caller.0;
    // A retried rotation (same key) answers with the secret the first one made, instead of
    // rotating again.
    idempotency::run(&state, &req, caller.scope(), &body, || async {
        let endpoint = endpoints::rotate(&state.db, id, caller.clone(), input.expire_previous_in_seconds).await?;
        Reply::ok(view(&endpoint, true))
    })
    .await
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
    status: DeliveryStatus,
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
        status: d.status,
        attempts: d.attempts,
        next_attempt_at: (d.status == DeliveryStatus::Pending).then_some(Timestamp(d.next_attempt_at)),
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
    #[param(value_type = Option<DeliveryStatus>)]
    status: Option<String>,
    #[param(min_length = 1, max_length = 100)]
    event_type: Option<String>,
    #[param(
        pattern = "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$"
    )]
    endpoint_id: Option<String>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(
        pattern = "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$"
    )]
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
    let venue_id: VenueId = parse_id(&path)?;
    caller.0.require_in(&venue_id, Permission::KeepWebhooks)?;
    let q = query.into_inner();
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            DeliveryStatus::parse(s).ok_or_else(|| ApiError::bad_request("status must be pending, succeeded or failed"))
        })
        .transpose()?;
    let endpoint_id = q.endpoint_id.as_deref().map(|c| parse_filter_id::<EndpointId>(c, "endpoint_id")).transpose()?;
    let filter = DeliveryFilter {
        venue_id: venue_id.into(),
        status,
        event_type: q.event_type,
        endpoint_id: endpoint_id.map(String::from),
        before: page.cursor.clone(),
        limit: page.fetch(),
    };
    let (rows, attempts) = endpoints::deliveries(&state.db, filter).await?;
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
    let id: DeliveryId = parse_id(&path)?;
    let (delivery, attempts) = endpoints::retry(&state.db, id, caller.0).await?;
    Ok(Reply::with_status(actix_web::http::StatusCode::ACCEPTED, delivery_view(&delivery, &attempts))?.into_response())
}
