//! The outbox: every event is written in the same transaction as the change that caused it,
//! together with one delivery per subscribed webhook endpoint. Nothing is sent from inside a
//! request; the delivery worker and the live feed read what was committed.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::billing::{Audience, BillRecord, BillRecordExt, Timestamp};
use crate::db::{self, DbConn};
use crate::error::ApiError;
use crate::http::new_id;
use tablepay_store::rows::{Event, Payment, WebhookDelivery, WebhookEndpoint};
use tablepay_store::schema::{bills, events, payments, venues, webhook_deliveries, webhook_endpoints};

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
    "refund.pending_approval",
    "assistance.resolved",
    "adjustment.approved",
    "adjustment.rejected",
    "refund.approved",
    "refund.rejected",
];

pub use tablepay_store::outbox::mark_emitted;

/// Writes an event of `venue_id` and its deliveries. Call inside a write transaction.
pub fn emit(conn: &mut DbConn, venue_id: &str, event_type: &str, data: Value) -> Result<String, ApiError> {
    debug_assert!(EVENT_TYPES.contains(&event_type));
    let now = db::now();
    // Numbering under the venue's row lock makes the order of numbers the order of commits.
    diesel::update(venues::table.find(venue_id)).set(venues::event_seq.eq(venues::event_seq + 1)).execute(conn)?;
    let seq: i64 = venues::table.find(venue_id).select(venues::event_seq).first(conn)?;
    let id = new_id();
    let payload = json!({"type": event_type, "timestamp": Timestamp(now), "data": data});
    let event = Event {
        id: id.clone(),
        venue_id: venue_id.to_owned(),
        seq,
        event_type: event_type.to_owned(),
        payload: payload.to_string(),
        created_at: now,
    };
    diesel::insert_into(events::table).values(&event).execute(conn)?;
    let endpoints: Vec<WebhookEndpoint> = webhook_endpoints::table
        .filter(webhook_endpoints::venue_id.eq(venue_id))
        .filter(webhook_endpoints::enabled.eq(true))
        .filter(webhook_endpoints::deleted_at.is_null())
        .select(WebhookEndpoint::as_select())
        .load(conn)?;
    for endpoint in endpoints.iter().filter(|e| subscribes(e, event_type)) {
        let delivery = new_delivery(&endpoint.id, &event, now);
        diesel::insert_into(webhook_deliveries::table).values(&delivery).execute(conn)?;
    }
    tablepay_store::dialect::notify_events(conn)?;
    mark_emitted();
    Ok(id)
}

fn subscribes(endpoint: &WebhookEndpoint, event_type: &str) -> bool {
    let types: Vec<String> = serde_json::from_str(&endpoint.event_types).unwrap_or_default();
    types.is_empty() || types.iter().any(|t| t == event_type)
}

pub fn new_delivery(endpoint_id: &str, event: &Event, now: NaiveDateTime) -> WebhookDelivery {
    WebhookDelivery {
        id: new_id(),
        venue_id: event.venue_id.clone(),
        endpoint_id: endpoint_id.to_owned(),
        event_id: event.id.clone(),
        event_type: event.event_type.clone(),
        status: "pending".into(),
        attempts: 0,
        next_attempt_at: now,
        locked_until: None,
        lock_token: None,
        last_status_code: None,
        last_error: None,
        created_at: now,
        updated_at: now,
        delivered_at: None,
    }
}

/// `bill.opened` / `bill.updated`: the bill as staff see it.
pub fn bill_event(conn: &mut DbConn, record: &BillRecord, event_type: &str) -> Result<(), ApiError> {
    let bill = record.view(Audience::Venue)?;
    emit(conn, &record.bill.venue_id, event_type, json!({"bill": bill}))?;
    Ok(())
}

/// `payment.succeeded`, `payment.failed`, `payment.refunded`.
pub fn payment_event(conn: &mut DbConn, payment_id: &str, event_type: &str) -> Result<(), ApiError> {
    let payment: Payment = payments::table.find(payment_id).select(Payment::as_select()).first(conn)?;
    let table_id: String = bills::table.find(&payment.bill_id).select(bills::table_id).first(conn)?;
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
    emit(conn, &payment.venue_id, event_type, data)?;
    Ok(())
}

/// `table.settled`, as in API.md: once per bill that becomes fully paid.
pub fn settled_event(conn: &mut DbConn, record: &BillRecord, settled_at: NaiveDateTime) -> Result<(), ApiError> {
    let state = record.state()?;
    let payments: Vec<Value> = record
        .payments
        .iter()
        .filter(|p| crate::billing::payment_status(p).is_ok_and(|s| s.captured()))
        .map(|p| json!({"id": p.id, "amount": p.amount, "tip_amount": p.tip_amount, "provider": p.provider, "provider_ref": p.provider_ref}))
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
    });
    emit(conn, &record.bill.venue_id, "table.settled", data)?;
    Ok(())
}
