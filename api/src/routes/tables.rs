//! Dining tables and their QR tokens.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::app::access::Permission;
use crate::app::tables::TableOnFloor;
use crate::auth::VenueAuth;
use crate::billing::Timestamp;
use crate::error::ApiError;
use crate::http::{Body, ListQuery, PageRequest, Reply, parse_id, text_field};
use crate::idempotency;
use tablepay_domain::{TableId, VenueId};

#[derive(Debug, Serialize, ToSchema)]
pub struct TableView {
    pub id: String,
    pub label: String,
    pub qr_token: String,
    pub guest_url: String,
    pub status: &'static str,
    pub created_at: Timestamp,
}

fn view(state: &AppState, on_floor: &TableOnFloor) -> TableView {
    let table = &on_floor.table;
    TableView {
        id: table.id.clone(),
        label: table.label.clone(),
        qr_token: table.qr_token.clone(),
        guest_url: format!("{}/t/{}", state.settings.public_url, table.qr_token),
        status: on_floor.status.as_str(),
        created_at: Timestamp(table.created_at),
    }
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
    let venue_id: VenueId = parse_id(&path)?;
    caller.require_in(&venue_id, Permission::KeepTables)?;
    let input: CreateTable = body.json()?;
    idempotency::run(&state, &req, caller.scope(), &body, || async {
        let label = text_field("label", &input.label, 100)?;
        let table = crate::app::tables::create(&state.db, venue_id, label).await?;
        Reply::created(view(&state, &table))
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
    let venue_id: VenueId = parse_id(&path)?;
    caller.0.require_venue(&venue_id, "venue")?;
    let page = PageRequest::from_query(&query)?;
    let (cursor, fetch) = (page.cursor.clone(), page.fetch());
    let tables = crate::app::tables::list(&state.db, venue_id, cursor, fetch)
        .await?
        // Well formed, but naming no table of the venue: tables are listed by label, so the
        // cursor must be a row to continue after.
        .ok_or_else(|| ApiError::invalid("cursor names no table of this venue"))?;
    Ok(page.reply(&tables, |t| &t.table.id, |t| view(&state, t))?.into_response())
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
    let table_id: TableId = parse_id(&path)?;
    let table = crate::app::tables::get(&state.db, caller.0, table_id).await?;
    Ok(Reply::ok(view(&state, &table))?.into_response())
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
    let table_id: TableId = parse_id(&path)?;
    let table = crate::app::tables::rotate_qr(&state.db, caller, table_id).await?;
    Ok(Reply::ok(view(&state, &table))?.into_response())
}
