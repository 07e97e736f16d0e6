//! What a guest who scanned the table's QR code sees. The token is the capability: no
//! credential, and nothing that identifies staff or other guests.

use actix_web::{HttpResponse, web};
use diesel::prelude::*;
use serde::Serialize;

use crate::AppState;
use crate::billing::{Audience, BillView, load_bill};
use crate::db::DbConn;
use crate::db::models::{DiningTable, Venue};
use crate::db::schema::{bills, dining_tables, venues};
use crate::error::ApiError;
use crate::http::Reply;
use crate::routes::venues::tip_presets;

#[derive(Debug, Serialize)]
struct GuestVenue {
    name: String,
    currency: String,
    tip_presets_bps: Vec<u32>,
}

#[derive(Debug, Serialize)]
struct GuestTable {
    label: String,
}

#[derive(Debug, Serialize)]
struct GuestView {
    venue: GuestVenue,
    table: GuestTable,
    bill: Option<BillView>,
}

/// The table behind a QR token, or 404 for a token that is unknown or was rotated away.
pub fn table_by_token(conn: &mut DbConn, qr_token: &str) -> Result<(DiningTable, Venue), ApiError> {
    if qr_token.len() > 128 {
        return Err(ApiError::not_found("table"));
    }
    let found: Option<(DiningTable, Venue)> = dining_tables::table
        .inner_join(venues::table)
        .filter(dining_tables::qr_token.eq(qr_token))
        .select((DiningTable::as_select(), Venue::as_select()))
        .first(conn)
        .optional()?;
    found.ok_or_else(|| ApiError::not_found("table"))
}

/// `GET /v1/t/{qr_token}`: the table's open bill, or the one just paid until the staff close
/// it (so the last payer sees it settle), or none.
pub async fn view(state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let token = path.into_inner();
    let (table, venue, record) = state
        .db
        .run(move |conn| {
            let (table, venue) = table_by_token(conn, &token)?;
            let current: Option<String> = bills::table
                .filter(bills::table_id.eq(&table.id))
                .filter(bills::status.eq_any(["open", "paid"]))
                .order((bills::status.asc(), bills::opened_at.desc()))
                .select(bills::id)
                .first(conn)
                .optional()?;
            let record = match current {
                Some(id) => load_bill(conn, &id)?,
                None => None,
            };
            Ok((table, venue, record))
        })
        .await?;
    let view = GuestView {
        venue: GuestVenue { tip_presets_bps: tip_presets(&venue), name: venue.name, currency: venue.currency },
        table: GuestTable { label: table.label },
        bill: record.map(|r| r.view(Audience::Guest)).transpose()?,
    };
    Ok(Reply::ok(view)?.into_response())
}
