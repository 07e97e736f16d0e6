//! Rows as stored. Statuses and other closed sets of words are the domain's enums here:
//! they are text only in the database, converted as a row is read or written.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use tablepay_domain::ledger::SplitKind;
use tablepay_domain::{
    AdjustmentStatus, AssistanceStatus, BillStatus, DeliveryStatus, ItemStatus, PaymentStatus, RefundStatus, Role,
    TenderKind, TenderStatus,
};

use crate::schema::{
    adjustment_lines, adjustments, assistance_requests, audit_log, emails, feedback, invoices, refunds, tenders,
};
use crate::schema::{
    api_keys, bill_items, bills, dining_tables, events, idempotency_keys, payment_items, payments, provider_events,
    staff, venues, webhook_attempts, webhook_deliveries, webhook_endpoints,
};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = venues)]
pub struct Venue {
    pub id: String,
    pub name: String,
    pub currency: String,
    pub tax_mode: String,
    pub tax_rate_bps: i32,
    pub service_charge_bps: i32,
    /// JSON array of basis points, e.g. `[1000,1500,2000]`.
    pub tip_presets_bps: String,
    pub timezone: String,
    pub payment_provider: String,
    pub server_comp_limit: i64,
    pub server_refund_limit: i64,
    pub created_at: NaiveDateTime,
    /// Number of the venue's last event.
    pub event_seq: i64,
    /// The name, address and VAT id printed on receipts and invoices.
    pub legal_name: Option<String>,
    pub address: Option<String>,
    pub vat_id: Option<String>,
    /// The last receipt and invoice numbers given.
    pub receipt_seq: i64,
    pub invoice_seq: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = staff)]
pub struct Staff {
    pub id: String,
    pub venue_id: String,
    pub name: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub role: Role,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: String,
    pub venue_id: String,
    pub staff_id: Option<String>,
    pub name: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub role: Role,
    pub key_hash: String,
    pub key_prefix: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = dining_tables)]
pub struct DiningTable {
    pub id: String,
    pub venue_id: String,
    pub label: String,
    pub qr_token: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = bills)]
pub struct Bill {
    pub id: String,
    pub venue_id: String,
    pub table_id: String,
    pub external_ref: Option<String>,
    pub server_id: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: BillStatus,
    pub version: i64,
    pub equal_parts: Option<i32>,
    pub close_reason: Option<String>,
    pub opened_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub paid_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    /// The `version` at which items, prices or adjustments last changed (the stale-bill check).
    pub content_version: i64,
    /// The round of the bill's equal split: starting it over with another number of parts
    /// begins a new round, and only shares of the current round count.
    pub split_round: i32,
    /// The bill that took everything on this one (its status reads `merged`).
    pub merged_into: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = bill_items)]
pub struct BillItem {
    pub id: String,
    pub bill_id: String,
    pub position: i32,
    pub name: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub tax_rate_bps: Option<i32>,
    pub external_ref: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: ItemStatus,
    pub created_at: NaiveDateTime,
    pub voided_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyRecord {
    pub scope: String,
    pub key: String,
    pub fingerprint: String,
    pub status: String,
    pub response_status: Option<i32>,
    pub response_body: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = payments)]
pub struct Payment {
    pub id: String,
    pub venue_id: String,
    pub bill_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: PaymentStatus,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub split_type: SplitKind,
    pub amount: i64,
    pub tip_amount: i64,
    pub refunded_amount: i64,
    pub currency: String,
    pub provider: String,
    pub provider_ref: Option<String>,
    pub client_secret: Option<String>,
    pub failure_code: Option<String>,
    pub email: Option<String>,
    pub equal_parts: Option<i32>,
    pub equal_count: Option<i32>,
    pub server_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub request_fingerprint: Option<String>,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub succeeded_at: Option<NaiveDateTime>,
    /// For an equal share: the round of the bill's split it belongs to.
    pub split_round: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = payment_items)]
pub struct PaymentItem {
    pub payment_id: String,
    pub item_id: String,
    pub bill_id: String,
    pub fraction_num: i64,
    pub fraction_den: i64,
    pub amount: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = provider_events)]
pub struct ProviderEventRecord {
    pub provider: String,
    pub event_id: String,
    pub kind: String,
    pub payment_id: Option<String>,
    pub received_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = events)]
pub struct Event {
    pub id: String,
    pub venue_id: String,
    pub seq: i64,
    pub event_type: String,
    /// The JSON body sent to endpoints and the live feed.
    pub payload: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_endpoints)]
pub struct WebhookEndpoint {
    pub id: String,
    pub venue_id: String,
    pub url: String,
    /// JSON array of event types; empty means every event.
    pub event_types: String,
    pub enabled: bool,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<NaiveDateTime>,
    pub disabled_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct WebhookDelivery {
    pub id: String,
    pub venue_id: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub lock_token: Option<String>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_attempts)]
pub struct WebhookAttempt {
    pub id: String,
    pub delivery_id: String,
    pub attempt: i32,
    pub started_at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = adjustments)]
pub struct Adjustment {
    pub id: String,
    pub venue_id: String,
    pub bill_id: String,
    pub item_id: Option<String>,
    pub kind: String,
    /// The price reduction, in minor units (before tax in exclusive mode).
    pub amount: i64,
    pub percent_bps: Option<i32>,
    pub reason: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: AdjustmentStatus,
    pub created_by_id: String,
    pub created_by_name: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub created_by_role: Role,
    pub approved_by_id: Option<String>,
    pub approved_by_name: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    /// For a `refund` adjustment: the refund it takes off the bill.
    pub refund_id: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = adjustment_lines)]
pub struct AdjustmentLine {
    pub adjustment_id: String,
    pub bill_id: String,
    pub item_id: String,
    pub amount: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refunds)]
pub struct Refund {
    pub id: String,
    pub venue_id: String,
    pub payment_id: String,
    pub bill_id: String,
    pub amount: i64,
    pub reason: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: RefundStatus,
    pub provider_ref: Option<String>,
    pub failure_reason: Option<String>,
    pub created_by_id: String,
    pub created_by_name: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub created_by_role: Role,
    pub approved_by_id: Option<String>,
    pub approved_by_name: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    /// The request's `Idempotency-Key`: a retry after an unknown outcome resumes this refund.
    pub idempotency_key: Option<String>,
    /// Whether the refunded amount is also taken off the bill (else it is payable again).
    pub adjust_bill: bool,
}

/// Money taken outside tablepay and recorded on a bill.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenders)]
pub struct Tender {
    pub id: String,
    pub venue_id: String,
    pub bill_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: TenderKind,
    pub amount: i64,
    pub tip_amount: i64,
    pub reference: Option<String>,
    pub note: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: TenderStatus,
    pub recorded_by_id: String,
    pub recorded_by_name: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub recorded_by_role: Role,
    pub void_reason: Option<String>,
    pub voided_by_name: Option<String>,
    pub created_at: NaiveDateTime,
    pub voided_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: String,
    pub venue_id: String,
    pub at: NaiveDateTime,
    pub actor_id: String,
    pub actor_name: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub actor_role: Role,
    pub action: String,
    pub bill_id: Option<String>,
    pub subject_id: Option<String>,
    pub amount: Option<i64>,
    pub reason: Option<String>,
    pub approved_by: Option<String>,
    /// JSON with what else matters to the action.
    pub details: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = assistance_requests)]
pub struct AssistanceRequest {
    pub id: String,
    pub venue_id: String,
    pub table_id: String,
    pub bill_id: Option<String>,
    pub reason: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: AssistanceStatus,
    pub created_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
    pub resolved_by: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = feedback)]
pub struct Feedback {
    pub id: String,
    pub venue_id: String,
    pub table_id: String,
    pub bill_id: Option<String>,
    pub payment_id: Option<String>,
    pub rating: i32,
    pub comment: Option<String>,
    pub flagged: bool,
    pub created_at: NaiveDateTime,
}

/// An invoice of one payment to a company, as issued: `body` holds its lines, tax and total (JSON).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invoices)]
pub struct Invoice {
    pub id: String,
    pub venue_id: String,
    pub payment_id: String,
    /// In the venue's one gap-free sequence of invoices.
    pub number: i64,
    pub company_name: String,
    pub address: String,
    pub vat_id: Option<String>,
    pub body: String,
    pub issued_at: NaiveDateTime,
}

/// A receipt to e-mail, as the mail worker's outbox keeps it. `status` is `pending`, `sent`
/// or `failed`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = emails)]
pub struct Email {
    pub id: String,
    pub venue_id: String,
    pub payment_id: String,
    pub recipient: String,
    /// The language the receipt is written in.
    pub lang: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub lock_token: Option<String>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    /// The `Idempotency-Key` of the request that asked for it.
    pub request_key: Option<String>,
}
