//! Use case: what happens after a provider answers. A sandbox confirmation, a Stripe webhook
//! and the expiry of a hold all end here: the payment moves only along
//! [`PaymentStatus::can_become`], the bill's ledger takes it in, and the bill turns `paid`
//! exactly once, when its last part is captured.
//!
//! Every outcome runs in one transaction with the bill locked: the provider event id is
//! recorded first (a replay stops there) and the payment is read again under the lock.

use std::time::Duration;

use chrono::NaiveDateTime;
use tablepay_domain::{AdjustmentStatus, BillStatus, PaymentStatus, Role};
use tablepay_payments::sandbox::CardOutcome;
use tablepay_payments::{ProviderError, ProviderEvent, SandboxProvider};
use tablepay_store::payments::{self as stored, PaymentChanges};
use tablepay_store::rows::{Adjustment, Payment, PaymentItem, ProviderEventRecord};
use tablepay_store::{DbConn, Store, lock_bill, now};

use crate::app::events;
use crate::app::providers::Providers;
use crate::app::unlocked::{self, Attempt};
use crate::app::{AppError, AppResult, Code};
use crate::billing::{BillRecordExt, REFUND_ADJUSTMENT, load_bill};
use tablepay_domain::PaymentId;

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

/// Applies one outcome of `provider` in its own write transaction (a verified webhook).
pub async fn receive(store: &Store, provider: &'static str, event: ProviderEvent) -> AppResult<Applied> {
    store
        .write(move |conn| -> AppResult<Applied> {
            tablepay_store::changes::keeps_tables();
            apply_event(conn, provider, &event)
        })
        .await
}

/// Applies one provider outcome. Call inside a write transaction.
pub fn apply_event(conn: &mut DbConn, provider: &str, event: &ProviderEvent) -> AppResult<Applied> {
    let (event_id, kind, provider_ref) = event_parts(event);
    let payment = match provider_ref {
        Some(reference) => stored::find_by_provider_ref(conn, provider, reference)?,
        None => None,
    };
    let record = ProviderEventRecord {
        provider: provider.to_owned(),
        event_id: event_id.to_owned(),
        kind: kind.to_owned(),
        payment_id: payment.as_ref().map(|p| p.id.clone()),
        received_at: now(),
    };
    if !stored::record_provider_event(conn, &record)? {
        return Ok(Applied::Duplicate(record.payment_id));
    }
    let Some(payment) = payment else { return Ok(Applied::Ignored) };
    // Read again under the lock: a concurrent outcome may have moved it.
    let payment = lock_payment(conn, &payment.id)?;
    apply_to_payment(conn, provider, event, &payment)?;
    Ok(Applied::Payment(payment.id))
}

/// The payment's side of an outcome, under the bill's lock.
fn apply_to_payment(conn: &mut DbConn, provider: &str, event: &ProviderEvent, payment: &Payment) -> AppResult<()> {
    let current = payment.status;
    let now = now();
    match event {
        ProviderEvent::PaymentSucceeded { .. } => {
            if current == PaymentStatus::Pending {
                transition(conn, payment, PaymentStatus::Succeeded, None, now)?;
                settle_if_paid(conn, &payment.bill_id, now)?;
            } else if current.is_released() {
                // Captured after its hold was released: applied if it still fits, else refunded.
                crate::app::late::capture_after_release(conn, payment, now)?;
            }
        }
        ProviderEvent::PaymentFailed { code, retryable, .. } => {
            if current == PaymentStatus::Pending && *retryable {
                // Not final (Stripe): the guest may try another card on the same payment. The
                // hold stays until it succeeds, is cancelled or expires.
                stored::update(conn, &payment.id, &PaymentChanges::at(now).failure_code(Some(code)))?;
                bump_bill(conn, &payment.bill_id, now)?;
            } else if current == PaymentStatus::Pending {
                transition(conn, payment, PaymentStatus::Failed, Some(code), now)?;
            }
        }
        ProviderEvent::PaymentCanceled { .. } => {
            if current == PaymentStatus::Pending {
                transition(conn, payment, PaymentStatus::Canceled, None, now)?;
            }
        }
        ProviderEvent::Refunded { amount_refunded, .. } => {
            // Stripe reports the running total, so applying it twice changes nothing.
            if current.captured() && *amount_refunded > payment.refunded_amount {
                record_refunded(conn, payment, *amount_refunded, &RefundedBy::provider(provider), now)?;
            }
        }
        ProviderEvent::Ignored { .. } => {}
    }
    Ok(())
}

/// The sandbox's card form: confirms a sandbox payment with a test card's outcome, as Stripe
/// would report it. A payment already moved by a confirmation answers as it stands (the
/// guest's page may send the form twice); one moved otherwise (cancelled, expired) is refused.
pub async fn confirm_sandbox(
    store: &Store,
    payment_id: PaymentId,
    outcome: CardOutcome,
) -> AppResult<(Payment, Vec<PaymentItem>)> {
    if matches!(outcome, CardOutcome::Succeeds)
        && let Some(confirmed) = unlocked::attempts(|| succeed_unlocked(store, &payment_id)).await?
    {
        return Ok(confirmed);
    }
    store
        .write(move |conn| -> AppResult<_> {
            tablepay_store::changes::keeps_tables();
            let payment =
                stored::find_of_provider(conn, payment_id.as_str(), "sandbox")?.ok_or(AppError::NotFound("payment"))?;
            let reference = payment
                .provider_ref
                .clone()
                .ok_or_else(|| AppError::conflict(Code::Conflict, "the payment is not ready to confirm"))?;
            if payment.status != PaymentStatus::Pending && !stored::has_provider_events(conn, &payment.id)? {
                return Err(AppError::conflict(
                    Code::Conflict,
                    format!("the payment is {}; it can no longer be confirmed", payment.status),
                ));
            }
            let event = SandboxProvider::confirmation_event(&payment.id, &reference, outcome);
            apply_event(conn, "sandbox", &event)?;
            let payment = stored::get(conn, &payment.id)?;
            let parts = stored::parts(conn, &payment.id)?;
            Ok((payment, parts))
        })
        .await
}

/// A sandbox payment's success applied without the bill's lock, in the common case: the
/// payment pending on an open bill that its capture does not settle. It is worked out on the
/// bill as committed and written in a transaction that commits only if the bill has not moved
/// since (see [`tablepay_store::bills::advance`]), so the payment was still pending and the
/// bill still short of paid when it did. [`Attempt::Locked`] for every other case.
async fn succeed_unlocked(store: &Store, payment_id: &PaymentId) -> AppResult<Attempt<(Payment, Vec<PaymentItem>)>> {
    let id = payment_id.as_str().to_owned();
    let read = store.read_committed(move |conn, committed| -> AppResult<_> {
        let Some(found) = stored::find_of_provider(conn, &id, "sandbox")? else { return Ok(None) };
        Ok(committed.bill(conn, &found.bill_id)?.map(|record| (found, record)))
    });
    let Some((found, mut record)) = read.await? else { return Ok(Attempt::Locked) };
    let Some(reference) = found.provider_ref.clone() else { return Ok(Attempt::Locked) };
    // Not among its bill's payments: merged into another bill between the two reads.
    let Some(at) = record.payments.iter().position(|p| p.id == found.id) else { return Ok(Attempt::Moved) };
    if record.payments[at].status != PaymentStatus::Pending || record.bill.status != BillStatus::Open {
        return Ok(Attempt::Locked);
    }
    let version = record.bill.version;
    let now = now();
    let changes = PaymentChanges::at(now).status(PaymentStatus::Succeeded).failure_code(None).succeeded_at(Some(now));
    let payment = Payment {
        status: PaymentStatus::Succeeded,
        failure_code: None,
        succeeded_at: Some(now),
        updated_at: now,
        ..record.payments[at].clone()
    };
    record.payments[at] = payment.clone();
    record.bump(now);
    if record.state().map_or(true, |ledger| ledger.covered()) {
        return Ok(Attempt::Locked);
    }
    let parts: Vec<PaymentItem> = record.parts.iter().filter(|p| p.payment_id == payment.id).cloned().collect();
    let confirmation = SandboxProvider::confirmation_event(&payment.id, &reference, CardOutcome::Succeeds);
    let (event_id, kind, _) = event_parts(&confirmation);
    let event = ProviderEventRecord {
        provider: "sandbox".into(),
        event_id: event_id.to_owned(),
        kind: kind.to_owned(),
        payment_id: Some(payment.id.clone()),
        received_at: now,
    };
    let succeeded = events::payment_event_of(&payment, &record.bill.table_id, "payment.succeeded")?;
    let bill_id = record.bill.id.clone();
    let written = store
        .write(move |conn| -> Result<bool, RolledBack> {
            // Touches nothing a guest sees unless it writes the success, with its event; never
            // a table.
            tablepay_store::changes::touches_no_guest_view();
            tablepay_store::changes::keeps_tables();
            if !tablepay_store::bills::advance(conn, &bill_id, version, now)? {
                return Ok(false);
            }
            // The bill had not moved, so neither had its payment: its confirmation cannot have
            // been recorded. Rolled back if it was all the same.
            if !stored::record_new_provider_event(conn, &event)? {
                return Err(RolledBack::Locked);
            }
            stored::update(conn, &payment.id, &changes)?;
            events::append(conn, succeeded)?;
            Ok(true)
        })
        .await;
    match written {
        Ok(true) => {
            let payment = record.payments[at].clone();
            store.remember_bill(record);
            Ok(Attempt::Done((payment, parts)))
        }
        Ok(false) => Ok(Attempt::Moved),
        Err(RolledBack::Locked) => Ok(Attempt::Locked),
        Err(RolledBack::Failed(e)) => Err(e),
    }
}

/// Why a write worked out on a bill as committed did not commit.
enum RolledBack {
    /// Something it relied on had changed after all: rolled back, to be done under the lock.
    Locked,
    Failed(AppError),
}

impl From<tablepay_store::StoreError> for RolledBack {
    fn from(e: tablepay_store::StoreError) -> RolledBack {
        RolledBack::Failed(e.into())
    }
}

impl From<AppError> for RolledBack {
    fn from(e: AppError) -> RolledBack {
        RolledBack::Failed(e)
    }
}

/// Locks the bill a payment belongs to and reads the payment under that lock. A merge may
/// move the payment to another bill between the two: then that bill is locked too, and the
/// payment read again, until the bill locked is the payment's.
pub fn lock_payment(conn: &mut DbConn, payment_id: &str) -> AppResult<Payment> {
    let mut bill_id = stored::bill_of(conn, payment_id)?;
    loop {
        lock_bill(conn, &bill_id)?;
        let payment = stored::get(conn, payment_id)?;
        if payment.bill_id == bill_id {
            return Ok(payment);
        }
        bill_id = payment.bill_id;
    }
}

/// Moves a payment along a legal transition and records that its bill changed.
pub fn transition(
    conn: &mut DbConn,
    payment: &Payment,
    next: PaymentStatus,
    failure_code: Option<&str>,
    now: NaiveDateTime,
) -> AppResult<()> {
    let current = payment.status;
    if !current.can_become(next) {
        return Err(AppError::conflict(Code::Conflict, format!("the payment is {}", current.as_str())));
    }
    let succeeded_at = (next == PaymentStatus::Succeeded).then_some(now).or(payment.succeeded_at);
    let changes = PaymentChanges::at(now).status(next).failure_code(failure_code).succeeded_at(succeeded_at);
    stored::update(conn, &payment.id, &changes)?;
    bump_bill(conn, &payment.bill_id, now)?;
    match next {
        PaymentStatus::Succeeded => events::payment_event(conn, &payment.id, "payment.succeeded"),
        PaymentStatus::Failed => events::payment_event(conn, &payment.id, "payment.failed"),
        // A released hold changes what the table still owes.
        _ => bill_updated(conn, &payment.bill_id),
    }
}

/// Who refunded, and whether the bill is to be lowered by it.
#[derive(Debug, Clone, Copy)]
pub struct RefundedBy<'a> {
    /// Our refund, when it is one (a refund made at the provider directly has none).
    pub refund_id: Option<&'a str>,
    /// Take the bill's part of the refund off the bill (else it becomes payable again, which
    /// only an open bill allows: on a paid or closed bill it is always taken off).
    pub adjust_bill: bool,
    pub id: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub reason: &'a str,
}

impl<'a> RefundedBy<'a> {
    /// A refund made at the provider (e.g. in Stripe's dashboard): taken off the bill, as
    /// recorded by the integration.
    pub fn provider(provider: &'a str) -> RefundedBy<'a> {
        RefundedBy {
            refund_id: None,
            adjust_bill: true,
            id: provider,
            name: provider,
            role: Role::Pos,
            reason: "refunded at the payment provider",
        }
    }
}

/// Records that `refunded` of a captured payment has gone back to the guest (capped at what
/// was captured), moves it to `partially_refunded` or `refunded`, and emits `payment.refunded`.
/// Our own refunds and Stripe's `charge.refunded` both come here. A refund gives back the
/// bill's part of the payment first, then its tip; the bill's part lowers `paid` and, taken
/// off the bill, becomes an applied adjustment of kind `refund`, so `remaining` stays.
pub fn record_refunded(
    conn: &mut DbConn,
    payment: &Payment,
    refunded: i64,
    by: &RefundedBy<'_>,
    now: NaiveDateTime,
) -> AppResult<()> {
    let captured = payment.amount + payment.tip_amount;
    let refunded = refunded.min(captured);
    let of_bill = refunded.min(payment.amount) - payment.refunded_amount.min(payment.amount);
    let next = if refunded >= captured { PaymentStatus::Refunded } else { PaymentStatus::PartiallyRefunded };
    let current = payment.status;
    // `refunded → refunded` is no move in `can_become`, but it is what Stripe's late
    // `charge.refunded` for a refund we already recorded in full says: accepted as a repeat
    // (the amount is capped, so nothing changes but the event).
    if current != next && !current.can_become(next) {
        return Err(AppError::conflict(Code::Conflict, format!("the payment is {}", current.as_str())));
    }
    stored::update(conn, &payment.id, &PaymentChanges::at(now).refunded_amount(refunded).status(next))?;
    // The bill's status matters only for a bill part not asked to be taken off.
    let adjust =
        of_bill > 0 && (by.adjust_bill || !tablepay_store::bills::status_of(conn, &payment.bill_id)?.accepts_changes());
    if adjust {
        take_off_bill(conn, payment, of_bill, by, now)?;
        tablepay_store::bills::bump_content(conn, &payment.bill_id, now)?;
    } else {
        bump_bill(conn, &payment.bill_id, now)?;
    }
    events::payment_event(conn, &payment.id, "payment.refunded")
}

/// The adjustment that takes a refund's part of the bill off it.
fn take_off_bill(
    conn: &mut DbConn,
    payment: &Payment,
    amount: i64,
    by: &RefundedBy<'_>,
    now: NaiveDateTime,
) -> AppResult<()> {
    let adjustment = Adjustment {
        id: tablepay_store::new_id(),
        venue_id: payment.venue_id.clone(),
        bill_id: payment.bill_id.clone(),
        item_id: None,
        kind: REFUND_ADJUSTMENT.to_owned(),
        amount,
        percent_bps: None,
        reason: by.reason.to_owned(),
        status: AdjustmentStatus::Applied,
        created_by_id: by.id.to_owned(),
        created_by_name: by.name.to_owned(),
        created_by_role: by.role,
        approved_by_id: None,
        approved_by_name: None,
        decided_at: Some(now),
        created_at: now,
        refund_id: by.refund_id.map(str::to_owned),
    };
    Ok(tablepay_store::adjustments::insert(conn, &adjustment)?)
}

/// `bill.updated` for the bill as it now stands.
pub fn bill_updated(conn: &mut DbConn, bill_id: &str) -> AppResult<()> {
    let record = load_bill(conn, bill_id)?.ok_or_else(|| AppError::internal("payment without its bill"))?;
    events::bill_event(conn, &record, "bill.updated")
}

/// Records that the bill changed (see [`tablepay_store::bills::bump`]).
pub fn bump_bill(conn: &mut DbConn, bill_id: &str, now: NaiveDateTime) -> AppResult<()> {
    Ok(tablepay_store::bills::bump(conn, bill_id, now)?)
}

/// Turns the bill `paid` when everything is captured. The caller holds the bill lock, and
/// only an `open` bill moves, so this happens once per bill.
pub fn settle_if_paid(conn: &mut DbConn, bill_id: &str, now: NaiveDateTime) -> AppResult<bool> {
    let record = load_bill(conn, bill_id)?.ok_or_else(|| AppError::internal("payment without its bill"))?;
    let ledger = record.state()?;
    if record.bill.status != BillStatus::Open || !ledger.covered() {
        return Ok(false);
    }
    let moved = tablepay_store::bills::settle(conn, bill_id, now)?;
    if moved {
        let settled = load_bill(conn, bill_id)?.ok_or_else(|| AppError::internal("bill vanished"))?;
        events::settled_event(conn, &settled, now)?;
        tracing::info!(bill = bill_id, total = ledger.totals.total.get(), "table settled");
    }
    Ok(moved)
}

/// Releases holds past their expiry, cancelling the provider's side first so that a guest
/// cannot complete a payment whose part was given back.
pub async fn sweep_expired(store: &Store, providers: &Providers) -> AppResult<usize> {
    let due_by = now();
    let due = store.run(move |conn| -> AppResult<_> { Ok(stored::due_to_expire(conn, due_by, 100)?) }).await?;
    let mut expired = 0;
    for payment in due {
        if !provider_released(providers, &payment).await {
            continue;
        }
        let id = payment.id.clone();
        let changed = store
            .write(move |conn| -> AppResult<bool> {
                let payment = lock_payment(conn, &id)?;
                if payment.status != PaymentStatus::Pending {
                    return Ok(false);
                }
                transition(conn, &payment, PaymentStatus::Expired, None, now())?;
                Ok(true)
            })
            .await?;
        expired += usize::from(changed);
    }
    Ok(expired)
}

/// Whether the provider's side of an expired payment is gone (or never existed), so its hold
/// may be released.
async fn provider_released(providers: &Providers, payment: &Payment) -> bool {
    let Some(reference) = &payment.provider_ref else { return true };
    let provider = match providers.get(&payment.provider) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(payment = %payment.id, error = %e, "cannot expire a payment of an unconfigured provider");
            return false;
        }
    };
    match provider.cancel_payment(reference).await {
        Ok(()) => true,
        Err(ProviderError::Rejected(reason)) => {
            // Refused because the guest completed it meanwhile (or it is processing): its
            // outcome arrives as an event; releasing the hold now could let a second guest
            // pay the same part.
            tracing::warn!(payment = %payment.id, %reason, "provider refused to cancel an expired payment; hold kept");
            false
        }
        Err(ProviderError::Unavailable(reason)) => {
            tracing::warn!(payment = %payment.id, %reason, "provider unreachable; expiry retried later");
            false
        }
    }
}

/// Runs [`sweep_expired`] for as long as the server runs.
pub async fn sweeper(
    store: Store,
    providers: Providers,
    every: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        match sweep_expired(&store, &providers).await {
            Ok(n) if n > 0 => tracing::info!(expired = n, "released expired holds"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "expiry sweep failed"),
        }
        if let Err(e) = crate::app::late::refund_late_captures(&store, &providers).await {
            tracing::warn!(error = %e, "refunding late captures failed");
        }
    }
}
