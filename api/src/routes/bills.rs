//! Bills as the POS pushes them: create, read, add and void items, upsert a whole check by
//! its POS reference, close.
//!
//! Every change runs in one write transaction with the bill locked, bumps `version`, and is
//! priced before commit: a change that would make the bill unpriceable is refused with 422
//! and leaves nothing behind.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::app::access::Permission;
use crate::app::bills::{self as app, Check, MAX_ITEMS_PER_BILL, MAX_QUANTITY, NewLine, Placement};
use crate::app::venues::{MAX_AMOUNT, bps};
use crate::auth::VenueAuth;
use crate::billing::{Audience, BillRecord, BillRecordExt};
use crate::error::ApiError;
use crate::http::{Body, Reply, parse_id, text_field};
use crate::idempotency;
use tablepay_domain::{BillId, ItemId, TableId, VenueId};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    name: String,
    #[schema(minimum = 1, maximum = 100000)]
    quantity: i64,
    #[schema(minimum = 0, maximum = 1e15)]
    unit_price: i64,
    #[schema(minimum = 0, maximum = 10000)]
    tax_rate_bps: Option<i64>,
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    external_ref: Option<String>,
}

fn validate_items(items: &[ItemInput]) -> Result<Vec<NewLine>, ApiError> {
    if items.len() > MAX_ITEMS_PER_BILL {
        return Err(app::too_many_items().into());
    }
    let mut refs = std::collections::HashSet::new();
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let field = |name: &str| format!("items[{i}].{name}");
            if !(1..=MAX_QUANTITY).contains(&item.quantity) {
                return Err(ApiError::invalid(format!(
                    "{} must be a whole number from 1 to {MAX_QUANTITY}",
                    field("quantity")
                )));
            }
            if !(0..=MAX_AMOUNT).contains(&item.unit_price) {
                return Err(ApiError::invalid(format!(
                    "{} must be from 0 to {MAX_AMOUNT} minor units",
                    field("unit_price")
                )));
            }
            let external_ref =
                item.external_ref.as_deref().map(|r| text_field(&field("external_ref"), r, 100)).transpose()?;
            if let Some(r) = &external_ref
                && !refs.insert(r.clone())
            {
                return Err(ApiError::invalid(format!("{} {r:?} appears twice", field("external_ref"))));
            }
            Ok(NewLine {
                name: text_field(&field("name"), &item.name, 200)?,
                quantity: item.quantity,
                unit_price: item.unit_price,
                tax_rate_bps: item.tax_rate_bps.map(|r| bps(&field("tax_rate_bps"), r)).transpose()?,
                external_ref,
            })
        })
        .collect()
}

fn respond(status: StatusCode, record: &BillRecord) -> Result<Reply, ApiError> {
    Reply::with_status(status, record.view(Audience::Venue)?)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateBill {
    #[schema(min_length = 1, max_length = 64, example = "0199a0de-3c55-7b2e-9d41-6f3b8a1c2e77")]
    table_id: String,
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    external_ref: Option<String>,
    #[schema(min_length = 1, max_length = 64, example = "0199a0de-3c55-7b2e-9d41-6f3b8a1c2e77")]
    server_id: Option<String>,
    #[serde(default)]
    #[schema(max_items = 1000)]
    items: Vec<ItemInput>,
}

/// `POST /v1/venues/{venue_id}/bills` (POS, manager).
#[utoipa::path(
    post, path = "/v1/venues/{venue_id}/bills", tag = "bills", request_body = CreateBill,
    responses(
        (status = 201, description = "The bill", body = crate::billing::BillView),
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
    caller.require_in(&venue_id, Permission::KeepBills)?;
    let input: CreateBill = body.json()?;
    idempotency::run(&state, &req, caller.scope(), &body, || async {
        let lines = validate_items(&input.items)?;
        let external_ref = input.external_ref.as_deref().map(|r| text_field("external_ref", r, 100)).transpose()?;
        let placement = Placement { table_id: input.table_id.clone(), server_id: input.server_id.clone() };
        let record = app::open(&state.db, venue_id, placement, external_ref, lines).await?;
        respond(StatusCode::CREATED, &record)
    })
    .await
}

/// `GET /v1/bills/{bill_id}` (any credential of the venue).
#[utoipa::path(
    get, path = "/v1/bills/{bill_id}", tag = "bills",
    responses(
        (status = 200, description = "OK", body = crate::billing::BillView),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let bill_id: BillId = parse_id(&path)?;
    let record = app::get(&state.db, &caller.0, bill_id).await?;
    Ok(respond(StatusCode::OK, &record)?.into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AddItems {
    #[schema(min_items = 1, max_items = 1000)]
    items: Vec<ItemInput>,
}

/// `POST /v1/bills/{bill_id}/items` (POS, manager): appends items to an open bill.
#[utoipa::path(
    post, path = "/v1/bills/{bill_id}/items", tag = "bills", request_body = AddItems,
    responses(
        (status = 200, description = "The bill with the new items", body = crate::billing::BillView),
    )
)]
pub async fn add_items(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: VenueAuth,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let bill_id: BillId = parse_id(&path)?;
    let input: AddItems = body.json()?;
    idempotency::run(&state, &req, caller.scope(), &body, || async {
        let lines = validate_items(&input.items)?;
        if lines.is_empty() {
            return Err(ApiError::invalid("items must hold at least one item"));
        }
        respond(StatusCode::OK, &app::add_items(&state.db, caller, bill_id, lines).await?)
    })
    .await
}

/// `DELETE /v1/bills/{bill_id}/items/{item_id}` (POS, manager): voids one line. Voiding a
/// void line again changes nothing.
#[utoipa::path(
    delete, path = "/v1/bills/{bill_id}/items/{item_id}", tag = "bills",
    responses(
        (status = 200, description = "The bill without the item", body = crate::billing::BillView),
    )
)]
pub async fn void_item(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let bill_id: BillId = parse_id(&path.0)?;
    let item_id: ItemId = parse_id(&path.1)?;
    let record = app::void_item(&state.db, caller.0, bill_id, item_id).await?;
    Ok(respond(StatusCode::OK, &record)?.into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UpsertBill {
    #[schema(min_length = 1, max_length = 64, example = "0199a0de-3c55-7b2e-9d41-6f3b8a1c2e77")]
    table_id: String,
    #[schema(min_length = 1, max_length = 64, example = "0199a0de-3c55-7b2e-9d41-6f3b8a1c2e77")]
    server_id: Option<String>,
    #[serde(default)]
    #[schema(max_items = 1000)]
    items: Vec<ItemInput>,
}

/// `PUT /v1/venues/{venue_id}/bills/by-ref/{external_ref}` (POS, manager): the POS sends its
/// whole check; the open bill with that reference is made to match it (items matched by
/// their own `external_ref`, or by identical content), or a bill is opened. Sending the same
/// check twice changes nothing the second time.
#[utoipa::path(
    put, path = "/v1/venues/{venue_id}/bills/by-ref/{external_ref}", tag = "bills", request_body = UpsertBill,
    responses(
        (status = 200, description = "The bill, updated", body = crate::billing::BillView),
        (status = 201, description = "The bill, opened", body = crate::billing::BillView),
    )
)]
pub async fn upsert_by_ref(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<(String, String)>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let venue_id: VenueId = parse_id(&path.0)?;
    caller.require_in(&venue_id, Permission::KeepBills)?;
    let external_ref = text_field("external_ref", &path.1, 100)?;
    let input: UpsertBill = body.json()?;
    let lines = validate_items(&input.items)?;
    let check =
        Check { external_ref, placement: Placement { table_id: input.table_id, server_id: input.server_id }, lines };
    let (record, opened) = app::upsert(&state.db, caller, venue_id, check).await?;
    let status = if opened { StatusCode::CREATED } else { StatusCode::OK };
    Ok(respond(status, &record)?.into_response())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CloseBill {
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    reason: Option<String>,
}

/// `POST /v1/bills/{bill_id}/close` (POS, staff): frees the table. A paid bill closes (the POS
/// or any staff member); an unpaid one only by a manager giving a reason: it becomes `void`,
/// or `closed` when part of it was paid.
#[utoipa::path(
    post, path = "/v1/bills/{bill_id}/close", tag = "bills", request_body = Option<CloseBill>,
    responses(
        (status = 200, description = "The closed (or void) bill", body = crate::billing::BillView),
    )
)]
pub async fn close(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let bill_id: BillId = parse_id(&path)?;
    let input: CloseBill = body.json_or_default()?;
    let reason = input.reason.as_deref().map(|r| text_field("reason", r, 500)).transpose()?;
    let record = app::close(&state.db, caller.0, bill_id, reason).await?;
    Ok(respond(StatusCode::OK, &record)?.into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MoveBill {
    /// The table the party moved to: a table of the same venue without a bill.
    #[schema(min_length = 1, max_length = 64, example = "0199a0de-3c55-7b2e-9d41-6f3b8a1c2e77")]
    table_id: String,
}

/// `POST /v1/bills/{bill_id}/move` (POS, staff) `{table_id}`: the party changed tables. The old
/// table's QR code shows no bill any more, the new one shows this bill. 409 `table_occupied`
/// when the target table has a bill, 409 `payments_pending` while a guest is paying part of it.
#[utoipa::path(
    post, path = "/v1/bills/{bill_id}/move", tag = "bills", request_body = MoveBill,
    responses(
        (status = 200, description = "The bill at its new table", body = crate::billing::BillView),
    )
)]
pub async fn move_bill(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let bill_id: BillId = parse_id(&path)?;
    let input: MoveBill = body.json()?;
    let table_id: TableId = parse_id(&input.table_id)?;
    let record = crate::app::parties::move_bill(&state.db, caller.0, bill_id, table_id).await?;
    Ok(respond(StatusCode::OK, &record)?.into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MergeBill {
    /// The other open bill of the venue, whose items, adjustments, payments and tenders this
    /// bill takes.
    #[schema(min_length = 1, max_length = 64, example = "0199a0de-3c55-7b2e-9d41-6f3b8a1c2e77")]
    bill_id: String,
}

/// `POST /v1/bills/{bill_id}/merge` (POS, staff) `{bill_id}`: two parties join. This bill takes
/// the other's items, adjustments, payments and tenders; the other becomes `merged` (with
/// `merged_into`) and its table is free. Both must be open (409 `bill_not_open`) with no
/// payment pending (409 `payments_pending`).
#[utoipa::path(
    post, path = "/v1/bills/{bill_id}/merge", tag = "bills", request_body = MergeBill,
    responses(
        (status = 200, description = "The bill with everything of both", body = crate::billing::BillView),
    )
)]
pub async fn merge(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let bill_id: BillId = parse_id(&path)?;
    let input: MergeBill = body.json()?;
    let other: BillId = parse_id(&input.bill_id)?;
    let record = crate::app::parties::merge(&state.db, caller.0, bill_id, other).await?;
    Ok(respond(StatusCode::OK, &record)?.into_response())
}
