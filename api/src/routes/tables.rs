//! Dining tables and their QR tokens.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{Role, VenueAuth};
use crate::billing::Timestamp;
use crate::db::{self, DbConn, unique_violation};
use crate::error::{ApiError, Code};
use crate::http::{Body, ListQuery, PageRequest, Reply, new_id, parse_id, text_field};
use crate::idempotency;
use crate::secrets::random_token;
use tablepay_store::rows::DiningTable;
use tablepay_store::schema::{bills, dining_tables};

/// 24 random bytes: 192 bits, 32 URL-safe characters. Guessing one is hopeless.
pub fn new_qr_token() -> String {
    random_token(24)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TableView {
    pub id: String,
    pub label: String,
    pub qr_token: String,
    pub guest_url: String,
    pub status: &'static str,
    pub created_at: Timestamp,
}

/// The floor status of a table from the status of its current bill.
pub fn table_status(bill_status: Option<&str>) -> &'static str {
    match bill_status {
        Some("open") => "open",
        Some("paid") => "paid",
        _ => "free",
    }
}

fn view(state: &AppState, table: &DiningTable, bill_status: Option<&str>) -> TableView {
    TableView {
        id: table.id.clone(),
        label: table.label.clone(),
        qr_token: table.qr_token.clone(),
        guest_url: format!("{}/t/{}", state.settings.public_url, table.qr_token),
        status: table_status(bill_status),
        created_at: Timestamp(table.created_at),
    }
}

/// Status of the current (open or paid, not yet closed) bill of each table, in one query.
fn current_bill_statuses(conn: &mut DbConn, table_ids: &[String]) -> Result<HashMap<String, String>, ApiError> {
    let rows: Vec<(String, String)> = bills::table
        .filter(bills::table_id.eq_any(table_ids))
        .filter(bills::status.eq_any(["open", "paid"]))
        .order(bills::opened_at.asc())
        .select((bills::table_id, bills::status))
        .load(conn)?;
    // Ordered by age, so an open bill seated after a paid one wins.
    Ok(rows.into_iter().collect())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateTable {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    label: String,
}

/// `POST /v1/venues/{venue_id}/tables` (POS, manager).
#[utoipa::path(
    post, path = "/v1/venues/{venue_id}/tables", tag = "tables", request_body = CreateTable,
    responses(
        (status = 201, description = "The table and its guest URL", body = TableView),
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
    let venue_id = parse_id(&path, "venue")?;
    caller.require_venue(&venue_id, "venue")?;
    caller.require_role(&[Role::Pos, Role::Manager])?;
    let input: CreateTable = body.json()?;
    idempotency::run(&state, &req, caller.scope(), &body, || async {
        let label = text_field("label", &input.label, 100)?;
        let table = DiningTable { id: new_id(), venue_id, label, qr_token: new_qr_token(), created_at: db::now() };
        let stored = table.clone();
        state
            .db
            .write(move |conn| match diesel::insert_into(dining_tables::table).values(&stored).execute(conn) {
                Ok(_) => Ok(()),
                Err(e) if unique_violation(&e).is_some() => {
                    Err(ApiError::conflict(Code::Conflict, format!("a table labelled {:?} already exists", stored.label)))
                }
                Err(e) => Err(e.into()),
            })
            .await?;
        Reply::created(view(&state, &table, None))
    })
    .await
}

/// `GET /v1/venues/{venue_id}/tables` (any credential of the venue).
#[utoipa::path(
    get, path = "/v1/venues/{venue_id}/tables", tag = "tables", params(ListQuery),
    responses(
        (status = 200, description = "OK", body = crate::http::List<TableView>),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let venue_id = parse_id(&path, "venue")?;
    caller.0.require_venue(&venue_id, "venue")?;
    let page = PageRequest::from_query(&query)?;
    let (cursor, fetch) = (page.cursor.clone(), page.fetch());
    let (tables, statuses) = state
        .db
        .run(move |conn| {
            let mut q = dining_tables::table.filter(dining_tables::venue_id.eq(&venue_id)).into_boxed();
            // By label (unique in a venue); the cursor is the last table of the previous page.
            if let Some(cursor) = cursor {
                let after: String = dining_tables::table
                    .find(&cursor)
                    .filter(dining_tables::venue_id.eq(&venue_id))
                    .select(dining_tables::label)
                    .first(conn)
                    .optional()?
                    .ok_or_else(|| ApiError::bad_request("cursor is invalid"))?;
                q = q.filter(dining_tables::label.gt(after));
            }
            let tables: Vec<DiningTable> =
                q.order(dining_tables::label.asc()).limit(fetch).select(DiningTable::as_select()).load(conn)?;
            let ids: Vec<String> = tables.iter().map(|t| t.id.clone()).collect();
            Ok((tables, current_bill_statuses(conn, &ids)?))
        })
        .await?;
    let reply = page.reply(&tables, |t| &t.id, |t| view(&state, t, statuses.get(&t.id).map(String::as_str)))?;
    Ok(reply.into_response())
}

pub fn load_venue_table(conn: &mut DbConn, table_id: &str, venue_id: &str) -> Result<DiningTable, ApiError> {
    let table: Option<DiningTable> =
        dining_tables::table.find(table_id).select(DiningTable::as_select()).first(conn).optional()?;
    match table {
        Some(t) if t.venue_id == venue_id => Ok(t),
        _ => Err(ApiError::not_found("table")),
    }
}

/// `GET /v1/tables/{table_id}`.
#[utoipa::path(
    get, path = "/v1/tables/{table_id}", tag = "tables",
    responses(
        (status = 200, description = "OK", body = TableView),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let table_id = parse_id(&path, "table")?;
    let (table, statuses) = state
        .db
        .run(move |conn| {
            let table = load_venue_table(conn, &table_id, &caller.0.venue_id)?;
            let statuses = current_bill_statuses(conn, std::slice::from_ref(&table.id))?;
            Ok((table, statuses))
        })
        .await?;
    Ok(Reply::ok(view(&state, &table, statuses.get(&table.id).map(String::as_str)))?.into_response())
}

/// `POST /v1/tables/{table_id}/qr-token/rotate` (POS, manager): the old token stops working
/// at once (a printed code that walked off, a token that leaked).
#[utoipa::path(
    post, path = "/v1/tables/{table_id}/qr-token/rotate", tag = "tables",
    responses(
        (status = 200, description = "The table with its new token", body = TableView),
    )
)]
pub async fn rotate_qr(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let table_id = parse_id(&path, "table")?;
    let (table, statuses) = state
        .db
        .write(move |conn| {
            let mut table = load_venue_table(conn, &table_id, &caller.venue_id)?;
            caller.require_role(&[Role::Pos, Role::Manager])?;
            table.qr_token = new_qr_token();
            diesel::update(dining_tables::table.find(&table.id))
                .set(dining_tables::qr_token.eq(&table.qr_token))
                .execute(conn)?;
            let statuses = current_bill_statuses(conn, std::slice::from_ref(&table.id))?;
            Ok((table, statuses))
        })
        .await?;
    Ok(Reply::ok(view(&state, &table, statuses.get(&table.id).map(String::as_str)))?.into_response())
}
