//! Bills as the POS pushes them: create, read, add and void items, upsert a whole check by
//! its POS reference, close.
//!
//! Every change runs in one write transaction with the bill locked, bumps `version`, and is
//! priced before commit: a change that would make the bill unpriceable is refused with 422
//! and leaves nothing behind.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use serde::Deserialize;
use tablepay_domain::{Fraction, MinorUnit};
use utoipa::ToSchema;

use crate::AppState;
use crate::audit;
use crate::auth::{Role, VenueAuth, VenueCaller};
use crate::billing::{Audience, BillRecord, BillRecordExt, load_bill};
use crate::db::{self, DbConn, lock_bill, unique_violation};
use crate::error::{ApiError, Code};
use crate::events::bill_event;
use crate::http::{Body, Reply, new_id, parse_id, text_field};
use crate::idempotency;
use crate::routes::tables::load_venue_table;
use crate::routes::venues::{MAX_AMOUNT, bps};
use tablepay_store::rows::{Bill, BillItem, Staff};
use tablepay_store::schema::{bill_items, bills, staff};

/// Items on one bill, void ones included; a check longer than this is not a restaurant bill.
const MAX_ITEMS_PER_BILL: usize = 1000;
const MAX_QUANTITY: i64 = 100_000;

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

/// An item that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NewItem {
    name: String,
    quantity: i64,
    unit_price: i64,
    tax_rate_bps: Option<i32>,
    external_ref: Option<String>,
}

impl NewItem {
    fn matches(&self, row: &BillItem) -> bool {
        self.name == row.name
            && self.quantity == row.quantity
            && self.unit_price == row.unit_price
            && self.tax_rate_bps == row.tax_rate_bps
            && self.external_ref == row.external_ref
    }
}

fn validate_items(items: &[ItemInput]) -> Result<Vec<NewItem>, ApiError> {
    if items.len() > MAX_ITEMS_PER_BILL {
        return Err(ApiError::invalid(format!("a bill holds at most {MAX_ITEMS_PER_BILL} items")));
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
            Ok(NewItem {
                name: text_field(&field("name"), &item.name, 200)?,
                quantity: item.quantity,
                unit_price: item.unit_price,
                tax_rate_bps: item.tax_rate_bps.map(|r| bps(&field("tax_rate_bps"), r)).transpose()?,
                external_ref,
            })
        })
        .collect()
}

fn insert_items(conn: &mut DbConn, bill_id: &str, first_position: i32, items: &[NewItem]) -> Result<(), ApiError> {
    let now = db::now();
    let rows: Vec<BillItem> = items
        .iter()
        .zip(first_position..)
        .map(|(item, position)| BillItem {
            id: new_id(),
            bill_id: bill_id.to_owned(),
            position,
            name: item.name.clone(),
            quantity: item.quantity,
            unit_price: item.unit_price,
            tax_rate_bps: item.tax_rate_bps,
            external_ref: item.external_ref.clone(),
            status: "active".into(),
            created_at: now,
            voided_at: None,
        })
        .collect();
    tablepay_store::batch_insert!(conn, bill_items::table, &rows);
    Ok(())
}

/// The staff member a bill is assigned to, from this venue.
fn venue_server(conn: &mut DbConn, staff_id: &str, venue_id: &str) -> Result<Staff, ApiError> {
    let id = parse_id(staff_id, "server")?;
    let member: Option<Staff> = staff::table.find(&id).select(Staff::as_select()).first(conn).optional()?;
    member.filter(|m| m.venue_id == venue_id).ok_or_else(|| ApiError::not_found("server"))
}

/// Loads and locks a bill of the caller's venue for a change.
pub fn lock_venue_bill(conn: &mut DbConn, bill_id: &str, caller: &VenueCaller) -> Result<BillRecord, ApiError> {
    lock_bill(conn, bill_id)?;
    let record = load_bill(conn, bill_id)?.ok_or_else(|| ApiError::not_found("bill"))?;
    caller.require_venue(&record.bill.venue_id, "bill")?;
    Ok(record)
}

fn require_open(bill: &Bill) -> Result<(), ApiError> {
    if bill.status == "open" {
        Ok(())
    } else {
        Err(ApiError::conflict(Code::BillNotOpen, format!("the bill is {}; it can no longer change", bill.status)))
    }
}

/// Records that the bill changed and returns it re-read and re-priced; a bill that can no
/// longer be priced fails here, inside the transaction, so the change is rolled back.
fn bump(conn: &mut DbConn, bill: &Bill) -> Result<BillRecord, ApiError> {
    diesel::update(bills::table.find(&bill.id))
        .set((bills::version.eq(bill.version + 1), bills::updated_at.eq(db::now())))
        .execute(conn)?;
    let mut record = reload(conn, &bill.id)?;
    bill_event(conn, &record, "bill.updated")?;
    // Voiding what nobody paid for can leave a bill exactly paid: it settles.
    if crate::payments::settle_if_paid(conn, &bill.id, db::now())? {
        record = reload(conn, &bill.id)?;
    }
    Ok(record)
}

fn reload(conn: &mut DbConn, bill_id: &str) -> Result<BillRecord, ApiError> {
    let record = load_bill(conn, bill_id)?.ok_or_else(|| ApiError::internal("bill vanished inside its transaction"))?;
    record.view(Audience::Venue)?;
    Ok(record)
}

fn open_bill_conflict(e: &diesel::result::Error) -> Option<ApiError> {
    let index = unique_violation(e)?;
    Some(if index.contains("external_ref") {
        ApiError::conflict(Code::Conflict, "an open bill with this external_ref already exists")
    } else {
        ApiError::conflict(Code::Conflict, "this table already has an open bill; close it first")
    })
}

fn insert_bill(
    conn: &mut DbConn,
    venue_id: &str,
    table_id: &str,
    external_ref: Option<String>,
    server_id: Option<String>,
    items: &[NewItem],
) -> Result<BillRecord, ApiError> {
    let now = db::now();
    let bill = Bill {
        id: new_id(),
        venue_id: venue_id.to_owned(),
        table_id: table_id.to_owned(),
        external_ref,
        server_id,
        status: "open".into(),
        version: 1,
        equal_parts: None,
        close_reason: None,
        opened_at: now,
        updated_at: now,
        paid_at: None,
        closed_at: None,
    };
    match diesel::insert_into(bills::table).values(&bill).execute(conn) {
        Ok(_) => {}
        Err(e) => return Err(open_bill_conflict(&e).unwrap_or_else(|| e.into())),
    }
    insert_items(conn, &bill.id, 0, items)?;
    let record = reload(conn, &bill.id)?;
    bill_event(conn, &record, "bill.opened")?;
    Ok(record)
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
    let venue_id = parse_id(&path, "venue")?;
    caller.require_venue(&venue_id, "venue")?;
    caller.require_role(&[Role::Pos, Role::Manager])?;
    let input: CreateBill = body.json()?;
    idempotency::run(&state, &req, caller.scope(), &body, || async {
        let items = validate_items(&input.items)?;
        let external_ref = input.external_ref.as_deref().map(|r| text_field("external_ref", r, 100)).transpose()?;
        state
            .db
            .write(move |conn| {
                let table = load_venue_table(conn, &parse_id(&input.table_id, "table")?, &venue_id)?;
                let server_id = match &input.server_id {
                    Some(id) => Some(venue_server(conn, id, &venue_id)?.id),
                    None => None,
                };
                let record = insert_bill(conn, &venue_id, &table.id, external_ref, server_id, &items)?;
                respond(StatusCode::CREATED, &record)
            })
            .await
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
    let bill_id = parse_id(&path, "bill")?;
    let record =
        state.db.run(move |conn| Ok(load_bill(conn, &bill_id)?)).await?.ok_or_else(|| ApiError::not_found("bill"))?;
    caller.0.require_venue(&record.bill.venue_id, "bill")?;
    Ok(respond(StatusCode::OK, &record)?.into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AddItems {
    #[schema(max_items = 1000)]
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
    let bill_id = parse_id(&path, "bill")?;
    let input: AddItems = body.json()?;
    idempotency::run(&state, &req, caller.scope(), &body, || async {
        let items = validate_items(&input.items)?;
        if items.is_empty() {
            return Err(ApiError::invalid("items must hold at least one item"));
        }
        state
            .db
            .write(move |conn| {
                let record = lock_venue_bill(conn, &bill_id, &caller)?;
                caller.require_role(&[Role::Pos, Role::Manager])?;
                require_open(&record.bill)?;
                if record.items.len() + items.len() > MAX_ITEMS_PER_BILL {
                    return Err(ApiError::invalid(format!("a bill holds at most {MAX_ITEMS_PER_BILL} items")));
                }
                let next = record.items.iter().map(|i| i.position + 1).max().unwrap_or(0);
                insert_items(conn, &record.bill.id, next, &items)?;
                respond(StatusCode::OK, &bump(conn, &record.bill)?)
            })
            .await
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
    let caller = caller.0;
    let bill_id = parse_id(&path.0, "bill")?;
    let item_id = parse_id(&path.1, "item")?;
    let record = state
        .db
        .write(move |conn| {
            let record = lock_venue_bill(conn, &bill_id, &caller)?;
            caller.require_role(&[Role::Pos, Role::Manager])?;
            let item = record.items.iter().find(|i| i.id == item_id).ok_or_else(|| ApiError::not_found("item"))?;
            if item.status == "void" {
                return Ok(record);
            }
            require_open(&record.bill)?;
            if record
                .state()?
                .lines
                .get(&item.id)
                .is_some_and(|s| s.taken() > MinorUnit::ZERO || s.claimed != Fraction::ZERO)
            {
                return Err(ApiError::conflict(Code::ItemPaid, "part of this item is paid or held; it cannot be voided"));
            }
            diesel::update(bill_items::table.find(&item.id))
                .set((bill_items::status.eq("void"), bill_items::voided_at.eq(db::now())))
                .execute(conn)?;
            bump(conn, &record.bill)
        })
        .await?;
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
    let venue_id = parse_id(&path.0, "venue")?;
    caller.require_venue(&venue_id, "venue")?;
    caller.require_role(&[Role::Pos, Role::Manager])?;
    let external_ref = text_field("external_ref", &path.1, 100)?;
    let input: UpsertBill = body.json()?;
    let items = validate_items(&input.items)?;
    let (status, record) = state
        .db
        .write(move |conn| {
            let table = load_venue_table(conn, &parse_id(&input.table_id, "table")?, &venue_id)?;
            let server_id = match &input.server_id {
                Some(id) => Some(venue_server(conn, id, &venue_id)?.id),
                None => None,
            };
            let latest: Option<Bill> = bills::table
                .filter(bills::venue_id.eq(&venue_id))
                .filter(bills::external_ref.eq(&external_ref))
                .filter(bills::status.eq_any(["open", "paid"]))
                .order(bills::opened_at.desc())
                .select(Bill::as_select())
                .first(conn)
                .optional()?;
            let Some(latest) = latest else {
                let record = insert_bill(conn, &venue_id, &table.id, Some(external_ref), server_id, &items)?;
                return Ok((StatusCode::CREATED, record));
            };
            let record = lock_venue_bill(conn, &latest.id, &caller)?;
            let plan = reconcile(&record.items, &items);
            let unchanged = plan.is_empty() && record.bill.table_id == table.id && record.bill.server_id == server_id;
            if unchanged {
                return Ok((StatusCode::OK, record));
            }
            require_open(&record.bill)?;
            let state = record.state()?;
            let touched = plan.void.iter().chain(plan.update.iter().map(|(id, _)| id));
            if touched.filter_map(|id| state.lines.get(id)).any(|s| s.claimed != Fraction::ZERO) {
                return Err(ApiError::conflict(Code::ItemPaid, "the check changes an item that is partly paid or held"));
            }
            apply(conn, &record, plan)?;
            if record.bill.table_id != table.id || record.bill.server_id != server_id {
                let moved = diesel::update(bills::table.find(&record.bill.id))
                    .set((bills::table_id.eq(&table.id), bills::server_id.eq(&server_id)))
                    .execute(conn);
                if let Err(e) = moved {
                    return Err(open_bill_conflict(&e).unwrap_or_else(|| e.into()));
                }
            }
            Ok((StatusCode::OK, bump(conn, &record.bill)?))
        })
        .await?;
    Ok(respond(status, &record)?.into_response())
}

/// What turning a bill's active items into the POS's list takes.
#[derive(Debug, Default)]
struct Plan {
    void: Vec<String>,
    update: Vec<(String, NewItem)>,
    insert: Vec<NewItem>,
}

impl Plan {
    fn is_empty(&self) -> bool {
        self.void.is_empty() && self.update.is_empty() && self.insert.is_empty()
    }
}

fn reconcile(existing: &[BillItem], wanted: &[NewItem]) -> Plan {
    let mut plan = Plan::default();
    let mut taken = vec![false; existing.len()];
    let active = |taken: &[bool], i: usize| existing[i].status == "active" && !taken[i];
    let mut unmatched = Vec::new();
    // Lines with a POS reference match by it; their content may change.
    for item in wanted {
        let by_ref = item.external_ref.as_ref().and_then(|r| {
            (0..existing.len()).find(|&i| active(&taken, i) && existing[i].external_ref.as_deref() == Some(r.as_str()))
        });
        match by_ref {
            Some(i) => {
                taken[i] = true;
                if !item.matches(&existing[i]) {
                    plan.update.push((existing[i].id.clone(), item.clone()));
                }
            }
            None => unmatched.push(item),
        }
    }
    // The rest match a line of identical content, first come first served.
    for item in unmatched {
        match (0..existing.len()).find(|&i| active(&taken, i) && item.matches(&existing[i])) {
            Some(i) => taken[i] = true,
            None => plan.insert.push(item.clone()),
        }
    }
    plan.void = (0..existing.len()).filter(|&i| active(&taken, i)).map(|i| existing[i].id.clone()).collect();
    plan
}

fn apply(conn: &mut DbConn, record: &BillRecord, plan: Plan) -> Result<(), ApiError> {
    let now = db::now();
    if record.items.iter().filter(|i| i.status == "active").count() - plan.void.len() + plan.insert.len()
        > MAX_ITEMS_PER_BILL
        || record.items.len() + plan.insert.len() > MAX_ITEMS_PER_BILL
    {
        return Err(ApiError::invalid(format!("a bill holds at most {MAX_ITEMS_PER_BILL} items")));
    }
    if !plan.void.is_empty() {
        diesel::update(bill_items::table.filter(bill_items::id.eq_any(&plan.void)))
            .set((bill_items::status.eq("void"), bill_items::voided_at.eq(now)))
            .execute(conn)?;
    }
    for (id, item) in &plan.update {
        diesel::update(bill_items::table.find(id))
            .set((
                bill_items::name.eq(&item.name),
                bill_items::quantity.eq(item.quantity),
                bill_items::unit_price.eq(item.unit_price),
                bill_items::tax_rate_bps.eq(item.tax_rate_bps),
            ))
            .execute(conn)?;
    }
    let next = record.items.iter().map(|i| i.position + 1).max().unwrap_or(0);
    insert_items(conn, &record.bill.id, next, &plan.insert)
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

/// `POST /v1/bills/{bill_id}/close` (POS, manager): frees the table. A paid bill closes;
/// an unpaid one only by a manager giving a reason: it becomes `void`, or `closed` when part
/// of it was paid.
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
    let caller = caller.0;
    let bill_id = parse_id(&path, "bill")?;
    let input: CloseBill = if body.0.iter().all(u8::is_ascii_whitespace) { CloseBill::default() } else { body.json()? };
    let reason = input.reason.as_deref().map(|r| text_field("reason", r, 500)).transpose()?;
    let record = state
        .db
        .write(move |conn| {
            let record = lock_venue_bill(conn, &bill_id, &caller)?;
            caller.require_role(&[Role::Pos, Role::Manager])?;
            let totals = record.state()?.totals;
            let new_status = match record.bill.status.as_str() {
                "paid" => "closed",
                "open" if caller.role == Role::Manager && reason.is_some() && totals.pending > MinorUnit::ZERO => {
                    return Err(ApiError::conflict(
                        Code::Conflict,
                        "guests are paying right now; wait for their payments to finish",
                    ));
                }
                "open" if caller.role == Role::Manager && reason.is_some() && totals.paid > MinorUnit::ZERO => "closed",
                "open" if caller.role == Role::Manager && reason.is_some() => "void",
                "open" if caller.role == Role::Manager => {
                    return Err(ApiError::invalid("closing a bill that is not paid needs a reason"));
                }
                "open" => {
                    return Err(ApiError::conflict(
                        Code::Conflict,
                        "the bill is not fully paid; only a manager can close it, with a reason",
                    ));
                }
                _ => return Ok(record),
            };
            diesel::update(bills::table.find(&record.bill.id))
                .set((bills::status.eq(new_status), bills::closed_at.eq(db::now()), bills::close_reason.eq(&reason)))
                .execute(conn)?;
            if record.bill.status == "open" {
                audit::record(
                    conn,
                    &caller,
                    audit::Entry {
                        action: if new_status == "void" { "bill.voided" } else { "bill.closed_unpaid" },
                        bill_id: Some(&record.bill.id),
                        amount: Some(totals.remaining.get()),
                        reason: reason.as_deref(),
                        ..audit::Entry::default()
                    },
                )?;
            }
            bump(conn, &record.bill)
        })
        .await?;
    Ok(respond(StatusCode::OK, &record)?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, name: &str, price: i64, external_ref: Option<&str>) -> BillItem {
        BillItem {
            id: id.into(),
            bill_id: "b".into(),
            position: 0,
            name: name.into(),
            quantity: 1,
            unit_price: price,
            tax_rate_bps: None,
            external_ref: external_ref.map(Into::into),
            status: "active".into(),
            created_at: db::now(),
            voided_at: None,
        }
    }

    fn item(name: &str, price: i64, external_ref: Option<&str>) -> NewItem {
        NewItem {
            name: name.into(),
            quantity: 1,
            unit_price: price,
            tax_rate_bps: None,
            external_ref: external_ref.map(Into::into),
        }
    }

    #[test]
    fn same_check_twice_is_no_change() {
        let existing = [row("1", "Soup", 500, None), row("2", "Wine", 900, Some("w"))];
        let plan = reconcile(&existing, &[item("Soup", 500, None), item("Wine", 900, Some("w"))]);
        assert!(plan.is_empty(), "{plan:?}");
    }

    #[test]
    fn changes_are_matched_by_reference_then_content() {
        let existing = [row("1", "Soup", 500, None), row("2", "Wine", 900, Some("w")), row("3", "Soup", 500, None)];
        let plan =
            reconcile(&existing, &[item("Soup", 500, None), item("Wine", 1200, Some("w")), item("Cake", 700, None)]);
        assert_eq!(plan.update.len(), 1);
        assert_eq!(plan.update[0].0, "2");
        assert_eq!(plan.void, vec!["3".to_owned()]);
        assert_eq!(plan.insert, vec![item("Cake", 700, None)]);
    }
}
