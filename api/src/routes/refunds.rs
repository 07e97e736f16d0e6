//! Refunds through the payment's provider: partial and repeated, never more than captured,
//! within the venue's limit at once, above it after a manager's approval. Nothing counts as
//! refunded until the provider said yes.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tablepay_payments::{ProviderError, RefundRequest};
use utoipa::ToSchema;

use crate::AppState;
use crate::audit::{self, Entry};
use crate::auth::{Role, VenueAuth, VenueCaller};
use crate::billing::{Actor, Timestamp, payment_status};
use crate::db::{self, DbConn, lock_bill};
use crate::error::{ApiError, Code};
use crate::events::emit;
use crate::http::{Body, Reply, new_id, parse_id, text_field};
use crate::idempotency;
use crate::payments::record_refunded;
use crate::routes::adjustments::{STAFF, require_decider};
use tablepay_store::rows::{Payment, Refund};
use tablepay_store::schema::{bills, payments, refunds};

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
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundView {
    id: String,
    payment_id: String,
    bill_id: String,
    amount: i64,
    reason: String,
    status: String,
    failure_reason: Option<String>,
    created_by: Actor,
    approved_by: Option<Actor>,
    created_at: Timestamp,
}

pub fn view(r: &Refund) -> RefundView {
    RefundView {
        id: r.id.clone(),
        payment_id: r.payment_id.clone(),
        bill_id: r.bill_id.clone(),
        amount: r.amount,
        reason: r.reason.clone(),
        status: r.status.clone(),
        failure_reason: r.failure_reason.clone(),
        created_by: Actor {
            id: Some(r.created_by_id.clone()),
            name: r.created_by_name.clone(),
            role: r.created_by_role.clone(),
        },
        approved_by: r.approved_by_name.as_ref().map(|name| Actor {
            id: r.approved_by_id.clone(),
            name: name.clone(),
            role: "manager".into(),
        }),
        created_at: Timestamp(r.created_at),
    }
}

/// Refunds of a payment that hold money: done or under way.
fn refunds_of(conn: &mut DbConn, payment_id: &str) -> Result<Vec<Refund>, ApiError> {
    Ok(refunds::table.filter(refunds::payment_id.eq(payment_id)).select(Refund::as_select()).load(conn)?)
}

fn refundable(payment: &Payment, existing: &[Refund]) -> i64 {
    let taken: i64 =
        existing.iter().filter(|r| matches!(r.status.as_str(), "succeeded" | "processing")).map(|r| r.amount).sum();
    (payment.amount + payment.tip_amount - taken.max(payment.refunded_amount)).max(0)
}

/// Loads and locks a payment of the caller's venue with its bill.
fn locked_payment(conn: &mut DbConn, payment_id: &str, caller: &VenueCaller) -> Result<Payment, ApiError> {
    let payment: Payment = payments::table
        .find(payment_id)
        .select(Payment::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("payment"))?;
    caller.require_venue(&payment.venue_id, "payment")?;
    lock_bill(conn, &payment.bill_id)?;
    Ok(payments::table.find(payment_id).select(Payment::as_select()).first(conn)?)
}

fn exceeds(left: i64) -> ApiError {
    ApiError::conflict(Code::Conflict, format!("the refund exceeds what was captured and not yet refunded ({left})"))
}

/// `POST /v1/payments/{payment_id}/refunds` (server, manager) `{amount?, reason}`.
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
    let payment_id = parse_id(&path, "payment")?;
    let input: CreateRefund = body.json()?;
    idempotency::run(&state, &req, caller.scope(), &body, || async {
        let reason = text_field("reason", &input.reason, 500)?;
        if input.amount.is_some_and(|a| a < 1) {
            return Err(ApiError::invalid("amount must be at least 1"));
        }
        let actor = caller.clone();
        let key = req.headers().get(idempotency::HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let refund = state
            .db
            .write(move |conn| {
                let payment = locked_payment(conn, &payment_id, &actor)?;
                actor.require_role(STAFF)?;
                if let Some(key) = &key {
                    let earlier: Option<Refund> = refunds::table
                        .filter(refunds::payment_id.eq(&payment.id))
                        .filter(refunds::idempotency_key.eq(key))
                        .select(Refund::as_select())
                        .first(conn)
                        .optional()?;
                    if let Some(earlier) = earlier {
                        if earlier.amount != input.amount.unwrap_or(earlier.amount) || earlier.reason != reason {
                            return Err(ApiError::new(
                                StatusCode::UNPROCESSABLE_ENTITY,
                                Code::IdempotencyKeyReused,
                                "this Idempotency-Key was used with a different request; use a new key",
                            ));
                        }
                        return Ok(earlier);
                    }
                }
                if !payment_status(&payment)?.captured() {
                    return Err(ApiError::conflict(
                        Code::Conflict,
                        format!("the payment is {}; only captured payments are refunded", payment.status),
                    ));
                }
                let existing = refunds_of(conn, &payment.id)?;
                let left = refundable(&payment, &existing);
                let amount = input.amount.unwrap_or(left);
                if amount < 1 || amount > left {
                    return Err(exceeds(left));
                }
                let limit: i64 = bills::table
                    .inner_join(tablepay_store::schema::venues::table)
                    .filter(bills::id.eq(&payment.bill_id))
                    .select(tablepay_store::schema::venues::server_refund_limit)
                    .first(conn)?;
                let used: i64 = refunds::table
                    .filter(refunds::bill_id.eq(&payment.bill_id))
                    .filter(refunds::created_by_id.eq(actor.actor_id()))
                    .filter(refunds::status.eq_any(["succeeded", "processing"]))
                    .select(refunds::amount)
                    .load::<i64>(conn)?
                    .into_iter()
                    .sum();
                let now_allowed = actor.role == Role::Manager || used + amount <= limit;
                let refund = Refund {
                    id: new_id(),
                    venue_id: payment.venue_id.clone(),
                    payment_id: payment.id.clone(),
                    bill_id: payment.bill_id.clone(),
                    amount,
                    reason: reason.clone(),
                    status: if now_allowed { "processing" } else { "pending_approval" }.into(),
                    provider_ref: None,
                    failure_reason: None,
                    created_by_id: actor.actor_id().to_owned(),
                    created_by_name: actor.actor_name().to_owned(),
                    created_by_role: actor.role.as_str().to_owned(),
                    approved_by_id: None,
                    approved_by_name: None,
                    decided_at: None,
                    created_at: db::now(),
                    idempotency_key: key,
                };
                diesel::insert_into(refunds::table).values(&refund).execute(conn)?;
                if !now_allowed {
                    audit::record(
                        conn,
                        &actor,
                        Entry {
                            action: "refund.requested",
                            bill_id: Some(&refund.bill_id),
                            subject_id: Some(&refund.id),
                            amount: Some(amount),
                            reason: Some(&reason),
                            details: json!({"payment_id": refund.payment_id}),
                            ..Entry::default()
                        },
                    )?;
                    emit(conn, &refund.venue_id, "refund.pending_approval", json!({"refund": view(&refund)}))?;
                }
                Ok(refund)
            })
            .await?;
        match refund.status.as_str() {
            "pending_approval" => Reply::with_status(StatusCode::ACCEPTED, view(&refund)),
            // New, or an earlier attempt whose outcome was unknown: ask (again, same key).
            "processing" => Reply::created(view(&execute(&state, &caller, refund, None).await?)),
            _ => Reply::created(view(&refund)),
        }
    })
    .await
}

/// Asks the provider, then records the outcome: succeeded (the payment's refunded amount
/// grows, `payment.refunded` is emitted) or failed (nothing refunded; 502 to the caller).
async fn execute(
    state: &AppState,
    actor: &VenueCaller,
    refund: Refund,
    approver: Option<&VenueCaller>,
) -> Result<Refund, ApiError> {
    let payment_id = refund.payment_id.clone();
    let payment: Payment = state
        .db
        .run(move |conn| Ok(payments::table.find(&payment_id).select(Payment::as_select()).first(conn)?))
        .await?;
    let provider = state.providers.get(&payment.provider)?;
    let outcome = match &payment.provider_ref {
        Some(reference) => {
            provider
                .refund(RefundRequest {
                    provider_ref: reference.clone(),
                    amount: refund.amount,
                    currency: payment.currency.clone(),
                    idempotency_key: format!("tablepay-refund-{}", refund.id),
                })
                .await
        }
        None => Err(ProviderError::Rejected("the payment has no provider reference".to_owned())),
    };
    if let Err(ProviderError::Unavailable(reason)) = &outcome {
        // The provider may or may not have refunded: the refund stays `processing`, holding
        // its amount, and a retry with the same Idempotency-Key asks again with the same key.
        tracing::warn!(refund = %refund.id, %reason, "refund outcome unknown");
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Code::ProviderUnavailable,
            "the payment provider did not answer; the refund is processing; retry with the same Idempotency-Key",
        ));
    }
    let outcome = outcome.map_err(|e| e.to_string());
    let (actor, approver) = (actor.clone(), approver.cloned());
    let failed = outcome.as_ref().err().cloned();
    let recorded = state
        .db
        .write(move |conn| {
            let payment = locked_payment(conn, &refund.payment_id, &actor)?;
            let now = db::now();
            let who = approver.as_ref().unwrap_or(&actor);
            let approved_by = approver.as_ref().map(|a| a.actor_name().to_owned());
            match &outcome {
                Ok(done) => {
                    diesel::update(refunds::table.find(&refund.id))
                        .set((refunds::status.eq("succeeded"), refunds::provider_ref.eq(&done.refund_ref), refunds::decided_at.eq(now)))
                        .execute(conn)?;
                    // What the provider confirmed so far; a `charge.refunded` event may already have
                    // counted this refund, so the larger figure wins and nothing counts twice.
                    let confirmed: i64 = refunds::table
                        .filter(refunds::payment_id.eq(&payment.id))
                        .filter(refunds::status.eq("succeeded"))
                        .select(refunds::amount)
                        .load::<i64>(conn)?
                        .into_iter()
                        .sum();
                    record_refunded(conn, &payment, payment.refunded_amount.max(confirmed), now)?;
                }
                Err(reason) => {
                    diesel::update(refunds::table.find(&refund.id))
                        .set((refunds::status.eq("failed"), refunds::failure_reason.eq(reason), refunds::decided_at.eq(now)))
                        .execute(conn)?;
                }
            }
            audit::record(
                conn,
                who,
                Entry {
                    action: if outcome.is_ok() { "refund.succeeded" } else { "refund.failed" },
                    bill_id: Some(&refund.bill_id),
                    subject_id: Some(&refund.id),
                    amount: Some(refund.amount),
                    reason: Some(&refund.reason),
                    approved_by: approved_by.as_deref(),
                    details: json!({"payment_id": refund.payment_id, "requested_by": refund.created_by_name, "provider_error": outcome.as_ref().err()}),
                },
            )?;
            Ok(refunds::table.find(&refund.id).select(Refund::as_select()).first::<Refund>(conn)?)
        })
        .await?;
    if let Some(reason) = failed {
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            Code::ProviderError,
            format!("the payment provider refused the refund; nothing was refunded: {reason}"),
        ));
    }
    Ok(recorded)
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
    decide(state, caller.0, path.into_inner(), true).await
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
    decide(state, caller.0, path.into_inner(), false).await
}

async fn decide(
    state: web::Data<AppState>,
    caller: VenueCaller,
    raw_id: String,
    approve: bool,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&raw_id, "refund")?;
    let approver = caller.clone();
    let refund = state
        .db
        .write(move |conn| {
            let refund: Refund = refunds::table
                .find(&id)
                .select(Refund::as_select())
                .first(conn)
                .optional()?
                .ok_or_else(|| ApiError::not_found("refund"))?;
            approver.require_venue(&refund.venue_id, "refund")?;
            require_decider(&approver, &refund.created_by_id)?;
            let payment = locked_payment(conn, &refund.payment_id, &approver)?;
            let refund: Refund = refunds::table.find(&id).select(Refund::as_select()).first(conn)?;
            if refund.status != "pending_approval" {
                return Err(ApiError::conflict(Code::Conflict, format!("the refund is already {}", refund.status)));
            }
            let (status, decided) = if approve {
                let left = refundable(&payment, &refunds_of(conn, &payment.id)?);
                if refund.amount > left {
                    return Err(exceeds(left));
                }
                ("processing", None)
            } else {
                ("rejected", Some(db::now()))
            };
            diesel::update(refunds::table.find(&refund.id))
                .set((
                    refunds::status.eq(status),
                    refunds::approved_by_id.eq(approver.actor_id()),
                    refunds::approved_by_name.eq(approver.actor_name()),
                    refunds::decided_at.eq(decided),
                ))
                .execute(conn)?;
            if !approve {
                audit::record(
                    conn,
                    &approver,
                    Entry {
                        action: "refund.rejected",
                        bill_id: Some(&refund.bill_id),
                        subject_id: Some(&refund.id),
                        amount: Some(refund.amount),
                        reason: Some(&refund.reason),
                        approved_by: Some(approver.actor_name()),
                        details: json!({"requested_by": refund.created_by_name}),
                    },
                )?;
            }
            let refund: Refund = refunds::table.find(&refund.id).select(Refund::as_select()).first(conn)?;
            let decided = if approve { "refund.approved" } else { "refund.rejected" };
            emit(conn, &refund.venue_id, decided, json!({"refund": view(&refund)}))?;
            Ok(refund)
        })
        .await?;
    if !approve {
        return Ok(Reply::ok(view(&refund))?.into_response());
    }
    let done = execute(&state, &caller, refund, Some(&caller)).await?;
    Ok(Reply::ok(view(&done))?.into_response())
}
