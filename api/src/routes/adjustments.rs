//! Comps and discounts over HTTP: a server applies them within the venue's limit at once;
//! above it they wait for a manager other than the requester ([`crate::app::approvals`]).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::app::adjustments::{self as app, Kind, NewAdjustment};
use crate::app::approvals::Outcome;
use crate::auth::VenueAuth;
use crate::billing::AdjustmentView;
use crate::error::ApiError;
use crate::http::{Body, Reply, parse_id, text_field};
use crate::idempotency;
use tablepay_domain::{AdjustmentId, BillId};

/// Transitional: who comps, discounts and refunds now lives in [`crate::app::approvals`].

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateAdjustment {
    #[serde(rename = "type")]
    #[schema(schema_with = crate::http::words::adjustment_kinds, example = "comp")]
    kind: String,
    #[schema(min_length = 1, max_length = 64, example = "0199a0de-3c55-7b2e-9d41-6f3b8a1c2e77")]
    item_id: Option<String>,
    #[schema(minimum = 1, maximum = 1e15)]
    amount: Option<i64>,
    #[schema(minimum = 1, maximum = 10000)]
    percent_bps: Option<i64>,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    reason: String,
}

/// 201 for what was done at once, 202 for what waits for a manager.
pub fn render<T: serde::Serialize>(outcome: Outcome<T>) -> Result<Reply, ApiError> {
    match outcome {
        Outcome::Done(view) => Reply::created(view),
        Outcome::Pending(view) => Reply::with_status(StatusCode::ACCEPTED, view),
    }
}

/// `POST /v1/bills/{bill_id}/adjustments` (server, manager).
#[utoipa::path(
    post, path = "/v1/bills/{bill_id}/adjustments", tag = "staff", request_body = CreateAdjustment,
    responses(
        (status = 201, description = "Applied: within the caller's limit", body = AdjustmentView),
        (status = 202, description = "Pending a manager's approval", body = AdjustmentView),
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
    let bill_id: BillId = parse_id(&path)?;
    let input: CreateAdjustment = body.json()?;
    idempotency::run(&state, &req, caller.scope(), &body, || async {
        let new = NewAdjustment {
            reason: text_field("reason", &input.reason, 500)?,
            kind: Kind::parse(&input.kind)?,
            item_id: input.item_id,
            amount: input.amount,
            percent_bps: input.percent_bps,
        };
        render(app::request(&state.db, caller, bill_id, new).await?)
    })
    .await
}

/// `POST /v1/adjustments/{id}/approve` (a manager other than the requester).
#[utoipa::path(
    post, path = "/v1/adjustments/{adjustment_id}/approve", tag = "staff",
    responses(
        (status = 200, description = "Applied", body = AdjustmentView),
    )
)]
pub async fn approve(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    decide(state, caller, path, true).await
}

/// `POST /v1/adjustments/{id}/reject` (a manager other than the requester).
#[utoipa::path(
    post, path = "/v1/adjustments/{adjustment_id}/reject", tag = "staff",
    responses(
        (status = 200, description = "Rejected", body = AdjustmentView),
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
    let id: AdjustmentId = parse_id(&path)?;
    let view = app::decide(&state.db, caller.0, id, approve).await?;
    Ok(Reply::ok(view)?.into_response())
}
