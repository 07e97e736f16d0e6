//! Rows as stored. Request and response types live in `routes`; these never leave the
//! persistence layer unconverted.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{api_keys, bill_items, bills, dining_tables, idempotency_keys, staff, venues};

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
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = staff)]
pub struct Staff {
    pub id: String,
    pub venue_id: String,
    pub name: String,
    pub role: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: String,
    pub venue_id: String,
    pub staff_id: Option<String>,
    pub name: String,
    pub role: String,
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
    pub status: String,
    pub version: i64,
    pub close_reason: Option<String>,
    pub opened_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub paid_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
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
    pub status: String,
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
