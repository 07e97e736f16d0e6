//! Payment outcomes arriving from providers: the sandbox's confirm endpoint and Stripe's
//! webhook. Both feed [`crate::app::outcomes`].

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use tablepay_payments::sandbox::CardOutcome;
use tablepay_payments::{PaymentProvider, SandboxProvider, WebhookError};
use utoipa::ToSchema;

use crate::AppState;
use crate::app::{AppResult, late, outcomes};
use crate::error::ApiError;
use crate::http::{Body, Reply, parse_id};
use crate::routes::payments::payment_view;
use tablepay_domain::PaymentId;
use tablepay_store::payments::LATE_CAPTURE;
use tablepay_store::rows::Payment;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Confirm {
    /// A sandbox test card: 4242424242424242 succeeds, 4000000000000002 is declined,
    /// 4000000000009995 has insufficient funds.
    #[schema(schema_with = crate::http::words::test_cards, example = "4242424242424242")]
    card_number: String,
}

/// `POST /v1/sandbox/payments/{payment_id}/confirm` `{card_number}`: the sandbox's stand-in
/// for a card form. The payment id is the capability, as a Stripe client secret would be.
#[utoipa::path(
    post, path = "/v1/sandbox/payments/{payment_id}/confirm", tag = "providers", request_body = Confirm,
    responses(
        (status = 200, description = "The payment, succeeded or failed", body = crate::routes::payments::PaymentView),
    )
)]
pub async fn sandbox_confirm(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let payment_id: PaymentId = parse_id(&path)?;
    let input: Confirm = body.json()?;
    let outcome = SandboxProvider::card_outcome(&input.card_number).ok_or_else(|| {
        ApiError::invalid("card_number is not a sandbox test card: use 4242424242424242 (succeeds), 4000000000000002 (declined) or 4000000000009995 (insufficient funds)")
    })?;
    let (payment, parts) = outcomes::confirm_sandbox(&state.db, payment_id, outcome).await?;
    let payment = refund_late(&state, payment).await?;
    if outcome != CardOutcome::Succeeds {
        tracing::info!(payment = %payment.id, code = ?payment.failure_code, "sandbox payment declined");
    }
    Ok(Reply::ok(payment_view(&state.providers, &payment, &parts)?)?.into_response())
}

/// `POST /v1/providers/stripe/webhook`: verified by `Stripe-Signature`; replays and unknown
/// event types are acknowledged and change nothing.
#[utoipa::path(
    post, path = "/v1/providers/stripe/webhook", tag = "providers", request_body(content = Object, description = "A Stripe event, as Stripe sends it", content_type = "application/json"), params(("Stripe-Signature" = String, Header, description = "Stripe's signature of the body")),
    responses(
        (status = 200, description = "Applied, or a replay acknowledged", body = Received),
    )
)]
pub async fn stripe_webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    // A request without the header is malformed wherever it is sent (400), Stripe configured or not.
    if req.headers().get("stripe-signature").is_none() {
        return Err(ApiError::bad_request("missing or malformed Stripe-Signature header"));
    }
    let stripe = state.providers.stripe().ok_or_else(|| ApiError::not_found("resource"))?;
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter_map(|(name, value)| value.to_str().ok().map(|v| (name.as_str().to_owned(), v.to_owned())))
        .collect();
    let event = stripe.parse_webhook(&headers, &body.0).map_err(|e| {
        let detail = match e {
            WebhookError::MissingSignature => "missing or malformed Stripe-Signature header".to_owned(),
            WebhookError::BadSignature => "the Stripe-Signature does not match this endpoint's secret".to_owned(),
            WebhookError::StaleTimestamp => "the Stripe-Signature timestamp is outside the 300 s tolerance".to_owned(),
            WebhookError::BadPayload(reason) => format!("unreadable event: {reason}"),
        };
        ApiError::bad_request(detail)
    })?;
    let applied = outcomes::receive(&state.db, "stripe", event).await?;
    tracing::info!(?applied, "stripe event");
    if let Err(e) = late::refund_late_captures(&state.db, &state.providers).await {
        // The sweeper retries; Stripe must not resend an event we applied.
        tracing::warn!(error = %e, "refunding a late capture failed");
    }
    Ok(Reply::ok(Received { received: true })?.into_response())
}

/// Stripe's acknowledgement.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Received {
    received: bool,
}

/// A capture that arrived after its hold was released and could not be applied is refunded at
/// once (the sweeper retries what the provider did not confirm); answers the payment as it
/// then stands.
async fn refund_late(state: &AppState, payment: Payment) -> Result<Payment, ApiError> {
    if payment.failure_code.as_deref() != Some(LATE_CAPTURE) || !payment.status.is_released() {
        return Ok(payment);
    }
    if let Err(e) = late::refund_late_captures(&state.db, &state.providers).await {
        tracing::warn!(error = %e, "refunding a late capture failed");
    }
    let id = payment.id.clone();
    Ok(state.db.run(move |conn| -> AppResult<_> { Ok(tablepay_store::payments::get(conn, &id)?) }).await?)
}
