//! Refunds through the payment's provider: partial and repeated, never more than captured,
//! within the venue's refund limit at once, above it after a manager's approval (see
//! [`crate::app::approvals`]). Nothing counts as refunded until the provider said yes.

use serde::Serialize;
use tablepay_domain::{Approval, RefundStatus, Role};
use tablepay_payments::{ProviderError, ProviderRefund, RefundRequest};
use tablepay_store::rows::{Payment, Refund};
use tablepay_store::{DbConn, Store, now, refunds as stored};
use utoipa::ToSchema;

use crate::app::access::Permission;
use crate::app::access::VenueCaller;
use crate::app::approvals::{self, Decided, Outcome, Pending, Request};
use crate::app::outcomes::{RefundedBy, lock_payment, record_refunded};
use crate::app::providers::Providers;
use crate::app::{AppError, AppResult, Code};
use crate::audit::{self, Entry};
use crate::billing::{Actor, Timestamp};
use tablepay_domain::{PaymentId, RefundId};
use tablepay_store::new_id;

/// A refund as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundView {
    id: String,
    payment_id: String,
    bill_id: String,
    amount: i64,
    reason: String,
    status: RefundStatus,
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
        status: r.status,
        failure_reason: r.failure_reason.clone(),
        created_by: Actor {
            id: Some(r.created_by_id.clone()),
            name: r.created_by_name.clone(),
            role: r.created_by_role,
        },
        approved_by: r.approved_by_name.as_ref().map(|name| Actor {
            id: r.approved_by_id.clone(),
            name: name.clone(),
            role: Role::Manager,
        }),
        created_at: Timestamp(r.created_at),
    }
}

/// A refund as requested; the reason was checked at the edge. Without an amount, all that
/// is left of the payment is refunded.
#[derive(Debug)]
pub struct NewRefund {
    pub amount: Option<i64>,
    pub reason: String,
    /// The request's `Idempotency-Key`: a retry after an unknown outcome resumes the refund.
    pub key: Option<String>,
    /// Take the amount off the bill (the default), or make it payable again (open bills only).
    pub adjust_bill: bool,
}

/// Requests a refund of a captured payment of the caller's venue: asked of the provider at
/// once within the caller's limit, else waiting for a manager.
pub async fn request(
    store: &Store,
    providers: &Providers,
    caller: &VenueCaller,
    payment_id: PaymentId,
    new: NewRefund,
) -> AppResult<Outcome<RefundView>> {
    let actor = caller.clone();
    let refund =
        store.write(move |conn| -> AppResult<_> { request_in(conn, &actor, payment_id.as_str(), new) }).await?;
    match refund.status {
        RefundStatus::PendingApproval => Ok(Outcome::Pending(view(&refund))),
        // New, or an earlier attempt whose outcome was unknown: ask (again, same key).
        RefundStatus::Processing => Ok(Outcome::Done(view(&execute(store, providers, caller, refund, None).await?))),
        _ => Ok(Outcome::Done(view(&refund))),
    }
}

fn request_in(conn: &mut DbConn, caller: &VenueCaller, payment_id: &str, new: NewRefund) -> AppResult<Refund> {
    let payment = locked_payment(conn, payment_id, caller)?;
    caller.require(Permission::ServeGuests)?;
    if let Some(key) = &new.key
        && let Some(earlier) = stored::by_key(conn, &payment.id, key)?
    {
        if earlier.amount != new.amount.unwrap_or(earlier.amount)
            || earlier.reason != new.reason
            || earlier.adjust_bill != new.adjust_bill
        {
            return Err(AppError::KeyReused);
        }
        return Ok(earlier);
    }
    if !payment.status.captured() {
        return Err(AppError::conflict(
            Code::Conflict,
            format!("the payment is {}; only captured payments are refunded", payment.status),
        ));
    }
    if !new.adjust_bill && !tablepay_store::bills::status_of(conn, &payment.bill_id)?.accepts_changes() {
        return Err(AppError::conflict(
            Code::BillNotOpen,
            "the bill is no longer open: a refund on it is taken off the bill (adjust_bill: true)",
        ));
    }
    let left = refundable(conn, &payment)?;
    let amount = new.amount.unwrap_or(left);
    if amount < 1 || amount > left {
        return Err(exceeds(left));
    }
    let limit = stored::server_limit_of_bill(conn, &payment.bill_id)?;
    let counted = stored::requested_by(conn, &payment.bill_id, caller.actor_id())?
        .into_iter()
        .filter(|(_, status)| status.counts_against_limit())
        .map(|(amount, _)| amount);
    let status: RefundStatus = approvals::request_status(caller, limit, counted, amount)?;
    let refund = Refund {
        id: new_id(),
        venue_id: payment.venue_id.clone(),
        payment_id: payment.id.clone(),
        bill_id: payment.bill_id.clone(),
        amount,
        reason: new.reason,
        status,
        provider_ref: None,
        failure_reason: None,
        created_by_id: caller.actor_id().to_owned(),
        created_by_name: caller.actor_name().to_owned(),
        created_by_role: caller.role,
        approved_by_id: None,
        approved_by_name: None,
        decided_at: None,
        created_at: now(),
        idempotency_key: new.key,
        adjust_bill: new.adjust_bill,
    };
    stored::insert(conn, &refund)?;
    if status.awaits_approval() {
        audit::record(
            conn,
            caller,
            Entry {
                action: "refund.requested",
                bill_id: Some(&refund.bill_id),
                subject_id: Some(&refund.id),
                amount: Some(amount),
                reason: Some(&refund.reason),
                details: serde_json::json!({"payment_id": refund.payment_id}),
                ..Entry::default()
            },
        )?;
        approvals::announce_pending(conn, &refund.venue_id, Refund::NOUN, &view(&refund))?;
    }
    Ok(refund)
}

/// What is left to refund of a payment: captured minus what its refunds done or under way
/// took (or what the provider reported refunded, if more).
fn refundable(conn: &mut DbConn, payment: &Payment) -> AppResult<i64> {
    let mut taken = 0_i64;
    for refund in stored::of_payment(conn, &payment.id)? {
        if refund.status.committed() {
            taken += refund.amount;
        }
    }
    Ok((payment.amount + payment.tip_amount - taken.max(payment.refunded_amount)).max(0))
}

fn exceeds(left: i64) -> AppError {
    AppError::conflict(Code::Conflict, format!("the refund exceeds what was captured and not yet refunded ({left})"))
}

/// Loads and locks a payment of the caller's venue with its bill.
fn locked_payment(conn: &mut DbConn, payment_id: &str, caller: &VenueCaller) -> AppResult<Payment> {
    let payment = tablepay_store::payments::find(conn, payment_id)?.ok_or(AppError::NotFound("payment"))?;
    caller.require_venue(&payment.venue_id, "payment")?;
    lock_payment(conn, payment_id)
}

/// Asks the provider, then records the outcome: succeeded (the payment's refunded amount
/// grows, `payment.refunded` is emitted) or failed (nothing refunded; the caller is told).
/// Idempotent at the provider by the refund's id.
async fn execute(
    store: &Store,
    providers: &Providers,
    actor: &VenueCaller,
    refund: Refund,
    approver: Option<&VenueCaller>,
) -> AppResult<Refund> {
    let payment_id = refund.payment_id.clone();
    let payment =
        store.run(move |conn| -> AppResult<_> { Ok(tablepay_store::payments::get(conn, &payment_id)?) }).await?;
    let outcome = ask_provider(providers, &payment, &refund).await?;
    let (actor, approver) = (actor.clone(), approver.cloned());
    let failed = outcome.as_ref().err().cloned();
    let recorded = store
        .write(move |conn| -> AppResult<_> { record_outcome(conn, &actor, approver.as_ref(), &refund, &outcome) })
        .await?;
    match failed {
        Some(reason) => Err(AppError::ProviderFailed(format!(
            "the payment provider refused the refund; nothing was refunded: {reason}"
        ))),
        None => Ok(recorded),
    }
}

/// The provider's answer: a refund, or why it refused. A provider that did not answer is an
/// error of its own: the refund stays `processing`, holding its amount, and a retry with the
/// same Idempotency-Key asks again with the same key.
async fn ask_provider(
    providers: &Providers,
    payment: &Payment,
    refund: &Refund,
) -> AppResult<Result<ProviderRefund, String>> {
    let provider = providers.get(&payment.provider)?;
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
        tracing::warn!(refund = %refund.id, %reason, "refund outcome unknown");
        return Err(AppError::ProviderUnavailable(
            "the payment provider did not answer; the refund is processing; retry with the same Idempotency-Key".into(),
        ));
    }
    Ok(outcome.map_err(|e| e.to_string()))
}

/// Records the provider's answer on the refund and, when it refunded, on the payment;
/// audited as done by the approver, if any, else the requester.
fn record_outcome(
    conn: &mut DbConn,
    actor: &VenueCaller,
    approver: Option<&VenueCaller>,
    refund: &Refund,
    outcome: &Result<ProviderRefund, String>,
) -> AppResult<Refund> {
    let payment = locked_payment(conn, &refund.payment_id, actor)?;
    let decided_at = now();
    match outcome {
        Ok(done) => {
            let succeeded = stored::RefundOutcome {
                status: RefundStatus::Succeeded,
                provider_ref: Some(&done.refund_ref),
                failure_reason: None,
                decided_at,
            };
            stored::record_outcome(conn, &refund.id, &succeeded)?;
            // What the provider confirmed so far; a `charge.refunded` event may already have
            // counted this refund, so the larger figure wins and nothing counts twice.
            let confirmed: i64 = stored::succeeded_amounts(conn, &payment.id)?.into_iter().sum();
            let doer = approver.unwrap_or(actor);
            let by = RefundedBy {
                refund_id: Some(&refund.id),
                adjust_bill: refund.adjust_bill,
                id: doer.actor_id(),
                name: doer.actor_name(),
                role: doer.role,
                reason: &refund.reason,
            };
            record_refunded(conn, &payment, payment.refunded_amount.max(confirmed), &by, decided_at)?;
        }
        Err(reason) => {
            let failed = stored::RefundOutcome {
                status: RefundStatus::Failed,
                provider_ref: None,
                failure_reason: Some(reason),
                decided_at,
            };
            stored::record_outcome(conn, &refund.id, &failed)?;
        }
    }
    audit::record(
        conn,
        approver.unwrap_or(actor),
        Entry {
            action: if outcome.is_ok() { "refund.succeeded" } else { "refund.failed" },
            bill_id: Some(&refund.bill_id),
            subject_id: Some(&refund.id),
            amount: Some(refund.amount),
            reason: Some(&refund.reason),
            approved_by: approver.map(VenueCaller::actor_name),
            details: serde_json::json!({
                "payment_id": refund.payment_id,
                "requested_by": refund.created_by_name,
                "provider_error": outcome.as_ref().err(),
            }),
        },
    )?;
    Ok(stored::get(conn, &refund.id)?)
}

impl Request for Refund {
    type Status = RefundStatus;
    type Locked = Payment;
    const NOUN: &'static str = "refund";

    fn find(conn: &mut DbConn, id: &str) -> AppResult<Option<Refund>> {
        Ok(stored::find(conn, id)?)
    }

    fn venue_id(&self) -> &str {
        &self.venue_id
    }

    fn requested_by(&self) -> &str {
        &self.created_by_id
    }

    fn status(&self) -> RefundStatus {
        self.status
    }

    fn lock(&self, conn: &mut DbConn, caller: &VenueCaller) -> AppResult<Payment> {
        locked_payment(conn, &self.payment_id, caller)
    }
}

/// A manager other than the requester approves (the provider is asked at once) or rejects a
/// pending refund.
pub async fn decide(
    store: &Store,
    providers: &Providers,
    caller: &VenueCaller,
    id: RefundId,
    approve: bool,
) -> AppResult<RefundView> {
    let approver = caller.clone();
    let refund = store.write(move |conn| -> AppResult<_> { decide_in(conn, &approver, id.as_str(), approve) }).await?;
    if !approve {
        return Ok(view(&refund));
    }
    Ok(view(&execute(store, providers, caller, refund, Some(caller)).await?))
}

fn decide_in(conn: &mut DbConn, caller: &VenueCaller, id: &str, approve: bool) -> AppResult<Refund> {
    let Pending { request: refund, locked: payment, next } = approvals::pending::<Refund>(conn, caller, id, approve)?;
    if approve {
        let left = refundable(conn, &payment)?;
        if refund.amount > left {
            return Err(exceeds(left));
        }
    }
    let decision = stored::RefundDecision {
        status: next,
        approved_by_id: Some(caller.actor_id()),
        approved_by_name: Some(caller.actor_name()),
        // An approved refund is decided when the provider answers.
        decided_at: (!approve).then(now),
    };
    stored::record_decision(conn, &refund.id, &decision)?;
    if !approve {
        let decided = Decided {
            noun: Refund::NOUN,
            approved: false,
            bill_id: &refund.bill_id,
            id: &refund.id,
            amount: refund.amount,
            reason: &refund.reason,
            requested_by: &refund.created_by_name,
        };
        approvals::audit_decision(conn, caller, decided)?;
    }
    let refund = stored::get(conn, &refund.id)?;
    approvals::announce_decision(conn, &refund.venue_id, Refund::NOUN, approve, &view(&refund))?;
    Ok(refund)
}
