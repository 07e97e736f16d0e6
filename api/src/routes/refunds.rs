//! Refunds over HTTP: partial and repeated, never more than captured, within the venue's
//! limit at once, above it after a manager's approval. Nothing counts as refunded until the
//! provider said yes ([`crate::app::refunds`]).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::app::refunds::RefundView;
use crate::app::refunds::{self as app, NewRefund};
use crate::auth::VenueAuth;
use crate::error::ApiError;
use crate::http::{Body, Reply, parse_id, text_field};
use crate::idempotency;
use crate::routes::adjustments::render;
use tablepay_domain::{PaymentId, RefundId};

/// Transitional: the view of a refund moved to [`crate::app::refunds`] (events carry it).

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateRefund {
    #[schema(minimum = 1, maximum = 1e15)]
    amount: Option<i64>,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    reason: String,
    /// `true` (the default, and the only choice once the bill is paid or closed): the amount is
    /// also taken off the bill, so what remains to pay does not move. `false`, on an open bill
    /// only: the amount becomes payable again.
    adjust_bill: Option<bool>,
}

/// `POST /v1/payments/{payment_id}/refunds` (server, manager) `{amount?, reason, adjust_bill?}`.
#[utoipa::path(
    post, path = "/v1/payments/{payment_id}/refunds", tag = "staff", request_body = CreateRefund,
    responses(
        (status = 201, description = "Refunded (or failed at the provider)", body = RefundView),
        (status = 202, description = "Pending a manager's approval", body = RefundView),
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
    let payment_id: PaymentId = parse_id(&path)?;
    let input: CreateRefund = body.json()?;
    idempotency::run(&state, &req, caller.scope(), &body, || async {
        let reason = text_field("reason", &input.reason, 500)?;
        if input.amount.is_some_and(|a| a < 1) {
            return Err(ApiError::invalid("amount must be at least 1"));
        }
        let key = idempotency::key_of(&req)?;
        let new = NewRefund { amount: input.amount, reason, key, adjust_bill: input.adjust_bill.unwrap_or(true) };
        render(app::request(&state.db, &state.providers, &caller, payment_id, new).await?)
    })
    .await
}

/// `POST /v1/refunds/{id}/approve` (a manager other than the requester).
#[utoipa::path(
    post, path = "/v1/refunds/{refund_id}/approve", tag = "staff",
    responses(
        (status = 200, description = "Approved and executed", body = RefundView),
    )
)]
pub async fn approve(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    decide(state, caller, path, true).await
}

/// `POST /v1/refunds/{id}/reject` (a manager other than the requester).
#[utoipa::path(
    post, path = "/v1/refunds/{refund_id}/reject", tag = "staff",
    responses(
        (status = 200, description = "Rejected", body = RefundView),
    )
)]
pub async fn reject(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    decide(state, caller, path, false).await
}

async fn decide(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
    approve: bool,
) -> Result<HttpResponse, ApiError> {
    let id: RefundId = parse_id(&path)?;
    let view = app::decide(&state.db, &state.providers, &caller.0, id, approve).await?;
    Ok(Reply::ok(view)?.into_response())
}
