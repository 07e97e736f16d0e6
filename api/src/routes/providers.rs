//! Payment outcomes arriving from providers: the sandbox's confirm endpoint and Stripe's
//! webhook. Both feed [`crate::payments::apply_event`].

use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use serde::Deserialize;
use tablepay_payments::sandbox::CardOutcome;
use tablepay_payments::{PaymentProvider, SandboxProvider, WebhookError};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, Code};
use crate::http::{Body, Reply, parse_id};
use crate::payments::apply_event;
use crate::routes::payments::payment_view;
use tablepay_store::rows::{Payment, PaymentItem};
use tablepay_store::schema::{payment_items, payments};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Confirm {
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
    let payment_id = parse_id(&path, "payment")?;
    let input: Confirm = body.json()?;
    let outcome = SandboxProvider::card_outcome(&input.card_number).ok_or_else(|| {
        ApiError::invalid("card_number is not a sandbox test card: use 4242424242424242 (succeeds), 4000000000000002 (declined) or 4000000000009995 (insufficient funds)")
    })?;
    let (payment, parts) = state
        .db
        .write(move |conn| {
            let payment: Payment = payments::table
                .find(&payment_id)
                .filter(payments::provider.eq("sandbox"))
                .select(Payment::as_select())
                .first(conn)
                .optional()?
                .ok_or_else(|| ApiError::not_found("payment"))?;
            let reference = payment
                .provider_ref
                .clone()
                .ok_or_else(|| ApiError::conflict(Code::Conflict, "the payment is not ready to confirm"))?;
            if !matches!(payment.status.as_str(), "pending") {
                let already: bool = tablepay_store::schema::provider_events::table
                    .filter(tablepay_store::schema::provider_events::payment_id.eq(&payment.id))
                    .count()
                    .get_result::<i64>(conn)?
                    > 0;
                if !already {
                    return Err(ApiError::conflict(
                        Code::Conflict,
                        format!("the payment is {}; it can no longer be confirmed", payment.status),
                    ));
                }
            }
            let event = SandboxProvider::confirmation_event(&payment.id, &reference, outcome);
            apply_event(conn, "sandbox", &event)?;
            let payment: Payment = payments::table.find(&payment.id).select(Payment::as_select()).first(conn)?;
            let parts: Vec<PaymentItem> = payment_items::table
                .filter(payment_items::payment_id.eq(&payment.id))
                .select(PaymentItem::as_select())
                .load(conn)?;
            Ok((payment, parts))
        })
        .await?;
    if outcome != CardOutcome::Succeeds {
        tracing::info!(payment = %payment.id, code = ?payment.failure_code, "sandbox payment declined");
    }
    Ok(Reply::ok(payment_view(&state, &payment, &parts)?)?.into_response())
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
    let applied = state.db.write(move |conn| apply_event(conn, "stripe", &event)).await?;
    tracing::info!(?applied, "stripe event");
    Ok(Reply::ok(Received { received: true })?.into_response())
}

/// Stripe's acknowledgement.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Received {
    received: bool,
}
