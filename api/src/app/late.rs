//! Use case: money that arrives late. A provider may capture a payment whose hold we already
//! released: a 3-D Secure that finished after the hold expired, a confirmation racing the
//! guest's cancel. The money is real and is never kept silently:
//! - if what it paid for is still payable (the bill is open and its part or amount is still
//!   free), the payment is applied as if it had succeeded in time;
//! - otherwise it is refunded in full at once (and retried by the sweeper until the provider
//!   confirms), without touching the bill.
//!
//! Either way `payment.captured_after_release` tells staff, with what was done.

use chrono::NaiveDateTime;
use serde_json::json;
use tablepay_domain::PaymentStatus;
use tablepay_payments::{ProviderError, RefundRequest};
use tablepay_store::payments::{self as stored, LATE_CAPTURE, PaymentChanges};
use tablepay_store::rows::Payment;
use tablepay_store::{DbConn, Store, now};

use crate::app::events;
use crate::app::outcomes::{bump_bill, lock_payment, settle_if_paid};
use crate::app::providers::Providers;
use crate::app::{AppError, AppResult};
use crate::billing::{BillRecordExt, load_bill};

/// What became of a late capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Late {
    /// Counted on the bill, as if captured in time.
    Applied,
    /// Its part is gone (or the bill closed): it is being refunded in full.
    Refunding,
}

/// Takes in a capture of the released `payment`, under its bill's lock.
pub fn capture_after_release(conn: &mut DbConn, payment: &Payment, now: NaiveDateTime) -> AppResult<Late> {
    let mut record =
        load_bill(conn, &payment.bill_id)?.ok_or_else(|| AppError::internal("payment without its bill"))?;
    let payable = record.bill.status.accepts_payments() && {
        if let Some(p) = record.payments.iter_mut().find(|p| p.id == payment.id) {
            p.status = PaymentStatus::Succeeded;
        }
        record.state().is_ok()
    };
    let outcome = if payable {
        // Not a move `can_become` allows: the provider says the money is there, and it fits.
        let applied = PaymentChanges::at(now)
            .status(PaymentStatus::Succeeded)
            .succeeded_at(Some(now))
            .failure_code(Some(LATE_CAPTURE));
        stored::update(conn, &payment.id, &applied)?;
        bump_bill(conn, &payment.bill_id, now)?;
        events::payment_event(conn, &payment.id, "payment.succeeded")?;
        Late::Applied
    } else {
        stored::update(conn, &payment.id, &PaymentChanges::at(now).failure_code(Some(LATE_CAPTURE)))?;
        bump_bill(conn, &payment.bill_id, now)?;
        Late::Refunding
    };
    tracing::warn!(payment = %payment.id, status = payment.status.as_str(), ?outcome, "provider captured a released payment");
    announce(conn, &payment.id, outcome)?;
    if outcome == Late::Applied {
        settle_if_paid(conn, &payment.bill_id, now)?;
    }
    Ok(outcome)
}

/// `payment.captured_after_release`: the payment as it now stands, and what was done.
fn announce(conn: &mut DbConn, payment_id: &str, outcome: Late) -> AppResult<()> {
    let payment = stored::get(conn, payment_id)?;
    let data = json!({
        "payment": {
            "id": payment.id,
            "bill_id": payment.bill_id,
            "status": payment.status,
            "amount": payment.amount,
            "tip_amount": payment.tip_amount,
            "refunded_amount": payment.refunded_amount,
            "currency": payment.currency,
            "provider": payment.provider,
            "provider_ref": payment.provider_ref,
        },
        "outcome": match outcome { Late::Applied => "applied", Late::Refunding => "refunding" },
    });
    events::emit(conn, &payment.venue_id, "payment.captured_after_release", data)?;
    Ok(())
}

/// Refunds, in full, every late capture that could not be applied; answers how many the
/// provider confirmed. Idempotent at the provider by the payment's id, so a retry after an
/// unknown outcome never refunds twice.
pub async fn refund_late_captures(store: &Store, providers: &Providers) -> AppResult<usize> {
    let due = store.run(|conn| -> AppResult<_> { Ok(stored::late_captures_to_refund(conn, 50)?) }).await?;
    let mut refunded = 0;
    for payment in due {
        let Some(reference) = payment.provider_ref.clone() else { continue };
        let provider = providers.get(&payment.provider)?;
        let request = RefundRequest {
            provider_ref: reference,
            amount: payment.amount + payment.tip_amount,
            currency: payment.currency.clone(),
            idempotency_key: format!("tablepay-late-capture-{}", payment.id),
        };
        match provider.refund(request).await {
            Ok(_) => {
                let id = payment.id.clone();
                store.write(move |conn| record_refund(conn, &id)).await?;
                refunded += 1;
            }
            Err(ProviderError::Rejected(reason) | ProviderError::Unavailable(reason)) => {
                tracing::error!(payment = %payment.id, %reason, "refund of a late capture failed; retried later");
            }
        }
    }
    Ok(refunded)
}

/// The provider gave the late capture back: recorded on the payment (its status stays released;
/// the bill never counted it), told to staff as `payment.refunded`.
fn record_refund(conn: &mut DbConn, payment_id: &str) -> AppResult<()> {
    let payment = lock_payment(conn, payment_id)?;
    let bill_id = payment.bill_id.clone();
    let full = payment.amount + payment.tip_amount;
    if payment.refunded_amount >= full || !payment.status.is_released() {
        return Ok(());
    }
    stored::update(conn, &payment.id, &PaymentChanges::at(now()).refunded_amount(full))?;
    bump_bill(conn, &bill_id, now())?;
    events::payment_event(conn, &payment.id, "payment.refunded")
}
