//! What each event says. Every event is written to the outbox in the same transaction as the
//! change that caused it, with one delivery per subscribed webhook endpoint; nothing is sent
//! from inside a request: the delivery worker and the live feeds read what was committed.

use chrono::NaiveDateTime;
use serde_json::{Value, json};

use serde::Serialize;

use crate::app::{AppError, AppResult};
use crate::billing::{Audience, BillRecord, BillRecordExt, BillView, Timestamp};
use tablepay_domain::{TenderStatus, VenueId};
use tablepay_store::outbox::{self, NewEvent};
use tablepay_store::rows::{Event, Payment};
use tablepay_store::{DbConn, Store};

/// Every event type: API.md's, then the extensions: `refund.pending_approval`,
/// `assistance.resolved` and the decisions on requests above a server's limits, so every
/// dashboard sees a refund waiting, a call answered and a request decided at once.
pub const EVENT_TYPES: &[&str] = &[
    "bill.opened",
    "bill.updated",
    "payment.succeeded",
    "payment.failed",
    "payment.refunded",
    "table.settled",
    "assistance.requested",
    "feedback.received",
    "adjustment.pending_approval",
    "tender.recorded",
    "tender.voided",
    "payment.captured_after_release",
    "webhook.delivery_failed",
    "webhook_endpoint.disabled",
    "refund.pending_approval",
    "assistance.resolved",
    "adjustment.approved",
    "adjustment.rejected",
    "refund.approved",
    "refund.rejected",
];

/// Writes an event of `venue_id` and its deliveries; answers the event's id. Call inside a
/// write transaction, so the event commits (or not) with the change it reports.
pub fn emit(conn: &mut DbConn, venue_id: &str, event_type: &str, data: Value) -> AppResult<String> {
    emit_except(conn, venue_id, event_type, data, None)
}

/// [`emit`], delivered to every subscribed endpoint but `except`.
pub fn emit_except(
    conn: &mut DbConn,
    venue_id: &str,
    event_type: &str,
    data: Value,
    except: Option<&str>,
) -> AppResult<String> {
    Ok(outbox::append_except(conn, new_event(venue_id, event_type, data)?, except)?)
}

/// An event of `venue_id` as the outbox takes it, made now: worked out before a transaction
/// that only has to [`append`] it.
pub fn new_event(venue_id: &str, event_type: &str, data: impl Serialize) -> AppResult<NewEvent> {
    debug_assert!(EVENT_TYPES.contains(&event_type));
    let now = tablepay_store::now();
    let payload = serde_json::to_string(&Envelope { event_type, timestamp: Timestamp(now), data })
        .map_err(|e| AppError::internal(format!("event {event_type}: {e}")))?;
    Ok(NewEvent { venue_id: venue_id.to_owned(), event_type: event_type.to_owned(), payload, created_at: now })
}

/// Every event as sent: its type, when it happened, and what it says.
#[derive(Serialize)]
struct Envelope<'a, T> {
    #[serde(rename = "type")]
    event_type: &'a str,
    timestamp: Timestamp,
    data: T,
}

/// A bill event's `data`.
#[derive(Serialize)]
struct OfBill<'a> {
    bill: &'a BillView,
}

/// Writes an event made by [`new_event`] and its deliveries. Call inside a write transaction.
pub fn append(conn: &mut DbConn, event: NewEvent) -> AppResult<()> {
    outbox::append_except(conn, event, None)?;
    Ok(())
}

/// `bill.opened` / `bill.updated`: the bill as staff see it.
pub fn bill_event(conn: &mut DbConn, record: &BillRecord, event_type: &str) -> AppResult<()> {
    append(conn, bill_event_of(record, event_type)?)
}

/// [`bill_event`] as made before its transaction.
pub fn bill_event_of(record: &BillRecord, event_type: &str) -> AppResult<NewEvent> {
    let bill = record.view(Audience::Venue)?;
    new_event(&record.bill.venue_id, event_type, OfBill { bill: &bill })
}

/// `payment.succeeded`, `payment.failed`, `payment.refunded`: the payment as it now stands.
pub fn payment_event(conn: &mut DbConn, payment_id: &str, event_type: &str) -> AppResult<()> {
    let (payment, table_id) = outbox::payment_with_table(conn, payment_id)?;
    append(conn, payment_event_of(&payment, &table_id, event_type)?)
}

/// [`payment_event`] of a payment as it now stands at table `table_id`, made before its
/// transaction.
pub fn payment_event_of(payment: &Payment, table_id: &str, event_type: &str) -> AppResult<NewEvent> {
    let data = json!({"payment": {
        "id": payment.id,
        "bill_id": payment.bill_id,
        "table_id": table_id,
        "status": payment.status,
        "split_type": payment.split_type,
        "amount": payment.amount,
        "tip_amount": payment.tip_amount,
        "refunded_amount": payment.refunded_amount,
        "currency": payment.currency,
        "provider": payment.provider,
        "provider_ref": payment.provider_ref,
        "failure_code": payment.failure_code,
        "server_id": payment.server_id,
    }});
    new_event(&payment.venue_id, event_type, data)
}

/// `table.settled`, as in API.md: once per bill that becomes fully paid.
pub fn settled_event(conn: &mut DbConn, record: &BillRecord, settled_at: NaiveDateTime) -> AppResult<()> {
    let state = record.state()?;
    let payments: Vec<Value> = record
        .payments
        .iter()
        .filter(|p| p.status.captured())
        .map(|p| json!({"id": p.id, "amount": p.amount, "tip_amount": p.tip_amount, "provider": p.provider, "provider_ref": p.provider_ref}))
        .collect();
    let tenders: Vec<Value> = record
        .tenders
        .iter()
        .filter(|t| t.status == TenderStatus::Recorded)
        .map(|t| json!({"id": t.id, "type": t.kind, "amount": t.amount, "tip_amount": t.tip_amount, "reference": t.reference}))
        .collect();
    let data = json!({
        "venue_id": record.bill.venue_id,
        "table_id": record.bill.table_id,
        "table_label": record.table.label,
        "bill_id": record.bill.id,
        "external_ref": record.bill.external_ref,
        "total": state.totals.total,
        "tips": state.totals.tips,
        "server": record.server.as_ref().map(|s| json!({"id": s.id, "name": s.name})),
        "settled_at": Timestamp(settled_at),
        "payments": payments,
        "tenders": tenders,
    });
    emit(conn, &record.bill.venue_id, "table.settled", data)?;
    Ok(())
}

/// Events a live stream reads at once.
const PAGE: i64 = 200;

/// The number of the venue's latest event: where a live stream without `Last-Event-ID`
/// starts, so that it shows what happens next.
pub async fn latest_seq(store: &Store, venue_id: VenueId) -> AppResult<i64> {
    store.run(move |conn| -> AppResult<_> { Ok(outbox::current_seq(conn, venue_id.as_str())?) }).await
}

/// The venue's events after number `seq`, oldest first, a page at a time.
pub async fn after(store: &Store, venue_id: String, seq: i64) -> AppResult<Vec<Event>> {
    store.run(move |conn| -> AppResult<_> { Ok(outbox::events_after(conn, &venue_id, seq, PAGE)?) }).await
}
