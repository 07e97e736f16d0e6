//! Payments after they are created: provider outcomes, settling the bill, expiring holds.
//!
//! Every outcome — a sandbox confirmation or a Stripe webhook — goes through
//! [`apply_event`], in one transaction with the bill locked: the provider event id is
//! recorded first (a replay stops there), the payment moves only along legal transitions,
//! and the bill turns `paid` exactly once, when its last part is captured.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use tablepay_domain::{MinorUnit, PaymentStatus};
use tablepay_payments::{PaymentProvider, ProviderError, ProviderEvent, SandboxProvider, StripeProvider};

use crate::AppState;
use crate::billing::{BillRecordExt, load_bill, payment_status};
use crate::db::{self, DbConn, lock_bill, unique_violation};
use crate::error::{ApiError, Code};
use crate::events;
use crate::settings::Settings;
use tablepay_store::rows::{Payment, ProviderEventRecord};
use tablepay_store::schema::{bills, payments, provider_events};

/// The providers this server can use; a venue names one.
pub struct Providers {
    sandbox: Arc<SandboxProvider>,
    stripe: Option<Arc<StripeProvider>>,
}

impl Providers {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Providers> {
        let stripe = match &settings.stripe {
            Some(config) => Some(Arc::new(StripeProvider::new(config.clone()).map_err(anyhow::Error::msg)?)),
            None => None,
        };
        Ok(Providers { sandbox: Arc::new(SandboxProvider), stripe })
    }

    /// Names a venue may choose on this server.
    pub fn available(&self) -> Vec<&'static str> {
        let mut names = vec!["sandbox"];
        if self.stripe.is_some() {
            names.push("stripe");
        }
        names
    }

    pub fn get(&self, name: &str) -> Result<Arc<dyn PaymentProvider>, ApiError> {
        match name {
            "sandbox" => Ok(self.sandbox.clone()),
            "stripe" => match &self.stripe {
                Some(stripe) => Ok(stripe.clone()),
                None => Err(ApiError::internal("a venue uses Stripe but Stripe is not configured")),
            },
            other => Err(ApiError::internal(format!("unknown provider {other}"))),
        }
    }

    pub fn stripe(&self) -> Option<Arc<StripeProvider>> {
        self.stripe.clone()
    }
}

/// What applying a provider event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The event changed this payment (or confirmed its state).
    Payment(String),
    /// This event id was applied before: nothing changed.
    Duplicate(Option<String>),
    /// The event names no payment of ours, or a type we ignore.
    Ignored,
}

fn event_parts(event: &ProviderEvent) -> (&str, &'static str, Option<&str>) {
    match event {
        ProviderEvent::PaymentSucceeded { event_id, provider_ref } => {
            (event_id, "payment_succeeded", Some(provider_ref))
        }
        ProviderEvent::PaymentFailed { event_id, provider_ref, .. } => (event_id, "payment_failed", Some(provider_ref)),
        ProviderEvent::PaymentCanceled { event_id, provider_ref } => (event_id, "payment_canceled", Some(provider_ref)),
        ProviderEvent::Refunded { event_id, provider_ref, .. } => (event_id, "refunded", Some(provider_ref)),
        ProviderEvent::Ignored { event_id, .. } => (event_id, "ignored", None),
    }
}

/// Applies one provider outcome. Call inside a write transaction.
pub fn apply_event(conn: &mut DbConn, provider: &str, event: &ProviderEvent) -> Result<Applied, ApiError> {
    let (event_id, kind, provider_ref) = event_parts(event);
    let payment: Option<Payment> = match provider_ref {
        Some(r) => payments::table
            .filter(payments::provider_ref.eq(r))
            .filter(payments::provider.eq(provider))
            .select(Payment::as_select())
            .first(conn)
            .optional()?,
        None => None,
    };
    let record = ProviderEventRecord {
        provider: provider.to_owned(),
        event_id: event_id.to_owned(),
        kind: kind.to_owned(),
        payment_id: payment.as_ref().map(|p| p.id.clone()),
        received_at: db::now(),
    };
    // In a savepoint: on PostgreSQL a failed statement would otherwise abort the whole
    // transaction, and a duplicate is an expected outcome here.
    let inserted = conn.transaction(|c| diesel::insert_into(provider_events::table).values(&record).execute(c));
    match inserted {
        Ok(_) => {}
        Err(e) if unique_violation(&e).is_some() => return Ok(Applied::Duplicate(record.payment_id)),
        Err(e) => return Err(e.into()),
    }
    let Some(payment) = payment else { return Ok(Applied::Ignored) };
    lock_bill(conn, &payment.bill_id)?;
    // Read again under the lock: a concurrent outcome may have moved it.
    let payment: Payment = payments::table.find(&payment.id).select(Payment::as_select()).first(conn)?;
    let current = payment_status(&payment)?;
    let now = db::now();
    match event {
        ProviderEvent::PaymentSucceeded { .. } => {
            if current == PaymentStatus::Pending {
                transition(conn, &payment, PaymentStatus::Succeeded, None, now)?;
                settle_if_paid(conn, &payment.bill_id, now)?;
            } else if !current.captured() {
                // Captured after its hold was released: the money is real, the part may be
                // gone. Keep the payment as it is and flag it for a refund by staff.
                tracing::error!(payment = %payment.id, status = current.as_str(), "provider captured a released payment");
                diesel::update(payments::table.find(&payment.id))
                    .set((payments::failure_code.eq("captured_after_release"), payments::updated_at.eq(now)))
                    .execute(conn)?;
            }
        }
        ProviderEvent::PaymentFailed { code, .. } => {
            if current == PaymentStatus::Pending && provider == "stripe" {
                // Not final on Stripe: the guest may try another card on the same intent. The
                // hold stays until the intent succeeds, is cancelled or expires.
                diesel::update(payments::table.find(&payment.id))
                    .set((payments::failure_code.eq(code), payments::updated_at.eq(now)))
                    .execute(conn)?;
                bump_bill(conn, &payment.bill_id, now)?;
            } else if current == PaymentStatus::Pending {
                transition(conn, &payment, PaymentStatus::Failed, Some(code), now)?;
            }
        }
        ProviderEvent::PaymentCanceled { .. } => {
            if current == PaymentStatus::Pending {
                transition(conn, &payment, PaymentStatus::Canceled, None, now)?;
            }
        }
        ProviderEvent::Refunded { amount_refunded, .. } => {
            // Stripe reports the running total, so applying it twice changes nothing.
            if current.captured() && *amount_refunded > payment.refunded_amount {
                record_refunded(conn, &payment, *amount_refunded, now)?;
            }
        }
        ProviderEvent::Ignored { .. } => {}
    }
    Ok(Applied::Payment(payment.id))
}

/// Moves a payment along a legal transition and records that its bill changed.
pub fn transition(
    conn: &mut DbConn,
    payment: &Payment,
    next: PaymentStatus,
    failure_code: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let current = payment_status(payment)?;
    if !current.can_become(next) {
        return Err(ApiError::conflict(Code::Conflict, format!("the payment is {}", current.as_str())));
    }
    let succeeded_at = (next == PaymentStatus::Succeeded).then_some(now);
    diesel::update(payments::table.find(&payment.id))
        .set((
            payments::status.eq(next.as_str()),
            payments::failure_code.eq(failure_code),
            payments::succeeded_at.eq(succeeded_at.or(payment.succeeded_at)),
            payments::updated_at.eq(now),
        ))
        .execute(conn)?;
    bump_bill(conn, &payment.bill_id, now)?;
    match next {
        PaymentStatus::Succeeded => events::payment_event(conn, &payment.id, "payment.succeeded"),
        PaymentStatus::Failed => events::payment_event(conn, &payment.id, "payment.failed"),
        // A released hold changes what the table still owes.
        _ => bill_updated(conn, &payment.bill_id),
    }
}

/// Records that `refunded` of a captured payment has gone back to the guest (capped at what
/// was captured), moves it to `partially_refunded` or `refunded`, and emits `payment.refunded`.
/// Our own refunds and Stripe's `charge.refunded` both come here.
pub fn record_refunded(
    conn: &mut DbConn,
    payment: &Payment,
    refunded: i64,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let captured = payment.amount + payment.tip_amount;
    let refunded = refunded.min(captured);
    let next = if refunded >= captured { PaymentStatus::Refunded } else { PaymentStatus::PartiallyRefunded };
    diesel::update(payments::table.find(&payment.id))
        .set((payments::refunded_amount.eq(refunded), payments::status.eq(next.as_str()), payments::updated_at.eq(now)))
        .execute(conn)?;
    bump_bill(conn, &payment.bill_id, now)?;
    events::payment_event(conn, &payment.id, "payment.refunded")
}

/// `bill.updated` for the bill as it now stands.
pub fn bill_updated(conn: &mut DbConn, bill_id: &str) -> Result<(), ApiError> {
    let record = load_bill(conn, bill_id)?.ok_or_else(|| ApiError::internal("payment without its bill"))?;
    events::bill_event(conn, &record, "bill.updated")
}

pub fn bump_bill(conn: &mut DbConn, bill_id: &str, now: NaiveDateTime) -> Result<(), ApiError> {
    diesel::update(bills::table.find(bill_id))
        .set((bills::version.eq(bills::version + 1), bills::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// Turns the bill `paid` when everything is captured. The caller holds the bill lock, and
/// only an `open` bill moves, so this happens once per bill.
pub fn settle_if_paid(conn: &mut DbConn, bill_id: &str, now: NaiveDateTime) -> Result<bool, ApiError> {
    let record = load_bill(conn, bill_id)?.ok_or_else(|| ApiError::internal("payment without its bill"))?;
    let state = record.state()?;
    let totals = state.totals;
    if record.bill.status != "open" || totals.total == MinorUnit::ZERO || totals.paid != totals.total {
        return Ok(false);
    }
    let moved = diesel::update(bills::table.find(bill_id).filter(bills::status.eq("open")))
        .set((bills::status.eq("paid"), bills::paid_at.eq(now), bills::updated_at.eq(now)))
        .execute(conn)?;
    if moved == 1 {
        let settled = load_bill(conn, bill_id)?.ok_or_else(|| ApiError::internal("bill vanished"))?;
        events::settled_event(conn, &settled, now)?;
        tracing::info!(bill = bill_id, total = totals.total.get(), "table settled");
    }
    Ok(moved == 1)
}

/// Releases holds past their expiry, cancelling the provider's side first so that a guest
/// cannot complete a payment whose part was given back.
pub async fn sweep_expired(state: &AppState) -> Result<usize, ApiError> {
    let now = db::now();
    let due: Vec<Payment> = state
        .db
        .run(move |conn| {
            Ok(payments::table
                .filter(payments::status.eq("pending"))
                .filter(payments::expires_at.le(now))
                .order(payments::expires_at.asc())
                .limit(100)
                .select(Payment::as_select())
                .load(conn)?)
        })
        .await?;
    let mut expired = 0;
    for payment in due {
        if let Some(reference) = &payment.provider_ref {
            let provider = match state.providers.get(&payment.provider) {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(payment = %payment.id, error = %e, "cannot expire a payment of an unconfigured provider");
                    continue;
                }
            };
            match provider.cancel_payment(reference).await {
                Ok(()) => {}
                Err(ProviderError::Rejected(reason)) => {
                    // Refused because the guest completed it meanwhile (or it is processing):
                    // its outcome arrives as an event; releasing the hold now could let a
                    // second guest pay the same part.
                    tracing::warn!(payment = %payment.id, %reason, "provider refused to cancel an expired payment; hold kept");
                    continue;
                }
                Err(ProviderError::Unavailable(reason)) => {
                    tracing::warn!(payment = %payment.id, %reason, "provider unreachable; expiry retried later");
                    continue;
                }
            }
        }
        let id = payment.id.clone();
        let changed = state
            .db
            .write(move |conn| {
                let bill_id: String = payments::table.find(&id).select(payments::bill_id).first(conn)?;
                lock_bill(conn, &bill_id)?;
                let payment: Payment = payments::table.find(&id).select(Payment::as_select()).first(conn)?;
                if payment.status != "pending" {
                    return Ok(false);
                }
                transition(conn, &payment, PaymentStatus::Expired, None, db::now())?;
                Ok(true)
            })
            .await?;
        expired += usize::from(changed);
    }
    Ok(expired)
}

/// Runs [`sweep_expired`] for as long as the server runs.
pub async fn sweeper(state: Arc<AppState>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(state.settings.sweep_interval_ms));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        match sweep_expired(&state).await {
            Ok(n) if n > 0 => tracing::info!(expired = n, "released expired holds"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "expiry sweep failed"),
        }
    }
}
