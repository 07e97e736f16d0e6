//! Comps and discounts: a server applies them within the venue's limit at once; above it
//! they wait for a manager other than the requester. Every step is audited.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;
use tablepay_domain::{Fraction, MinorUnit, allocate};
use utoipa::ToSchema;

use crate::AppState;
use crate::audit::{self, Entry};
use crate::auth::{Role, VenueAuth, VenueCaller};
use crate::billing::{AdjustmentView, Audience, BillRecord, BillRecordExt, load_bill};
use crate::db::{self, DbConn};
use crate::app::AppError;
use crate::error::{ApiError, Code};
use crate::events::{bill_event, emit};
use crate::http::{Body, Reply, new_id, parse_id, text_field};
use crate::idempotency;
use crate::routes::bills::lock_venue_bill;
use crate::routes::venues::MAX_BPS;
use tablepay_store::rows::{Adjustment, AdjustmentLine};
use tablepay_store::schema::{adjustment_lines, adjustments, bills};

pub const STAFF: &[Role] = &[Role::Server, Role::Manager];

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateAdjustment {
    #[serde(rename = "type")]
    #[schema(pattern = "^(comp|discount)$", example = "comp")]
    kind: String,
    #[schema(min_length = 1, max_length = 64, example = "0199a0de-3c55-7b2e-9d41-6f3b8a1c2e77")]
    item_id: Option<String>,
    #[schema(minimum = 1, maximum = 1e15)]
    amount: Option<i64>,
    #[schema(minimum = 1, maximum = 10000)]
    percent_bps: Option<i64>,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    reason: String,
}

/// The price still discountable on each active line: gross minus what discounts took.
fn discountable(record: &BillRecord) -> Result<Vec<(String, i64)>, ApiError> {
    let state = record.state()?;
    let mut lines = state.priced.lines.iter();
    Ok(record
        .items
        .iter()
        .filter(|i| i.status == "active")
        .filter_map(|i| lines.next().map(|l| (i.id.clone(), l.gross.get() - l.discount.get())))
        .collect())
}

/// How an adjustment lowers the lines. A bill-wide one is spread over what is not yet paid
/// or held, so it never lowers a line below what guests already took of it.
fn spread(record: &BillRecord, adjustment: &Adjustment) -> Result<Vec<AdjustmentLine>, ApiError> {
    let line = |item_id: &str, amount: i64| AdjustmentLine {
        adjustment_id: adjustment.id.clone(),
        bill_id: record.bill.id.clone(),
        item_id: item_id.to_owned(),
        amount,
    };
    if let Some(item_id) = &adjustment.item_id {
        return Ok(vec![line(item_id, adjustment.amount)]);
    }
    let state = record.state()?;
    let open: Vec<(String, i64)> = discountable(record)?
        .into_iter()
        .map(|(id, price)| {
            let claimed = state.lines.get(&id).map_or(Fraction::ZERO, |s| s.claimed);
            let free = i128::from(price) * i128::from(claimed.den - claimed.num) / i128::from(claimed.den.max(1));
            (id, i64::try_from(free).unwrap_or(0))
        })
        .collect();
    let room: i64 = open.iter().map(|(_, w)| w).sum();
    if room < adjustment.amount {
        return Err(below_paid());
    }
    let weights: Vec<i64> = open.iter().map(|(_, w)| *w).collect();
    let shares =
        allocate(MinorUnit(adjustment.amount), &weights).map_err(|_| ApiError::invalid("amount out of range"))?;
    Ok(open.iter().zip(shares).filter(|(_, s)| s.get() > 0).map(|((id, _), s)| line(id, s.get())).collect())
}

fn below_paid() -> ApiError {
    ApiError::conflict(Code::Conflict, "the adjustment would lower the bill below what is already paid or held")
}

/// Applies an adjustment's lines and checks the bill still holds what is paid and held.
fn apply(conn: &mut DbConn, record: &BillRecord, adjustment: &Adjustment) -> Result<BillRecord, ApiError> {
    let lines = spread(record, adjustment)?;
    for row in &lines {
        diesel::insert_into(adjustment_lines::table).values(row).execute(conn)?;
    }
    diesel::update(bills::table.find(&record.bill.id))
        .set((bills::version.eq(bills::version + 1), bills::updated_at.eq(db::now())))
        .execute(conn)?;
    let updated = load_bill(conn, &record.bill.id)?.ok_or_else(|| ApiError::internal("bill vanished"))?;
    updated.state().map_err(|e| if matches!(e, AppError::Conflict(..)) { below_paid() } else { e.into() })?;
    // Lowered to exactly what is paid: the table has settled.
    crate::payments::settle_if_paid(conn, &record.bill.id, db::now())?;
    Ok(updated)
}

/// Whether applying would succeed, leaving nothing behind.
fn dry_run(conn: &mut DbConn, record: &BillRecord, adjustment: &Adjustment) -> Result<(), ApiError> {
    let mut outcome = Ok(());
    let _ = conn.transaction::<(), diesel::result::Error, _>(|c| {
        outcome = apply(c, record, adjustment).map(drop);
        Err(diesel::result::Error::RollbackTransaction)
    });
    outcome
}

fn within_limit(record: &BillRecord, caller: &VenueCaller, amount: i64) -> bool {
    if caller.role == Role::Manager {
        return true;
    }
    let used: i64 = record
        .adjustments
        .iter()
        .filter(|a| a.status == "applied" && a.created_by_id == caller.actor_id())
        .map(|a| a.amount)
        .sum();
    used + amount <= record.venue.server_comp_limit
}

/// `POST /v1/bills/{bill_id}/adjustments` (server, manager).
#[utoipa::path(
    post, path = "/v1/bills/{bill_id}/adjustments", tag = "staff", request_body = CreateAdjustment,
    responses(
        (status = 201, description = "Applied: within the caller's limit", body = AdjustmentView),
        (status = 202, description = "Pending a manager's approval", body = AdjustmentView),
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
    let bill_id = parse_id(&path, "bill")?;
    let input: CreateAdjustment = body.json()?;
    idempotency::run(&state, &req, caller.scope(), &body, || async {
        let reason = text_field("reason", &input.reason, 500)?;
        let kind = match input.kind.as_str() {
            "comp" | "discount" => input.kind.clone(),
            _ => return Err(ApiError::invalid("type must be \"comp\" or \"discount\"")),
        };
        state
            .db
            .write(move |conn| {
                let record = lock_venue_bill(conn, &bill_id, &caller)?;
                caller.require_role(STAFF)?;
                if record.bill.status != "open" {
                    return Err(ApiError::conflict(Code::BillNotOpen, format!("the bill is {}", record.bill.status)));
                }
                let item_id = input
                    .item_id
                    .as_deref()
                    .map(|raw| {
                        let id = parse_id(raw, "item").map_err(|_| ApiError::invalid("item_id is not an item of this bill"))?;
                        record
                            .items
                            .iter()
                            .any(|i| i.id == id && i.status == "active")
                            .then_some(id)
                            .ok_or_else(|| ApiError::invalid("item_id is not an active item of this bill"))
                    })
                    .transpose()?;
                let prices = discountable(&record)?;
                let base: i64 = match &item_id {
                    Some(id) => prices.iter().find(|(i, _)| i == id).map_or(0, |(_, p)| *p),
                    None => prices.iter().map(|(_, p)| p).sum(),
                };
                let (amount, percent) = match (kind.as_str(), input.amount, input.percent_bps) {
                    ("comp", None, None) => (base, None),
                    ("comp", _, _) => return Err(ApiError::invalid("a comp takes no amount: it makes the item or bill free")),
                    ("discount", Some(a), None) if a >= 1 => (a, None),
                    ("discount", None, Some(p)) if (1..=MAX_BPS).contains(&p) => {
                        (MinorUnit(base).percent_bps(p as u32).map_err(|_| ApiError::invalid("amount out of range"))?.get(), Some(p as i32))
                    }
                    _ => return Err(ApiError::invalid(format!("a discount takes either amount ≥ 1 or percent_bps from 1 to {MAX_BPS}"))),
                };
                if amount < 1 {
                    return Err(ApiError::invalid("there is nothing left to discount"));
                }
                if amount > base {
                    return Err(below_paid_or_price(base));
                }
                let applied = within_limit(&record, &caller, amount);
                let adjustment = Adjustment {
                    id: new_id(),
                    venue_id: record.venue.id.clone(),
                    bill_id: record.bill.id.clone(),
                    item_id,
                    kind,
                    amount,
                    percent_bps: percent,
                    reason: reason.clone(),
                    status: if applied { "applied" } else { "pending_approval" }.into(),
                    created_by_id: caller.actor_id().to_owned(),
                    created_by_name: caller.actor_name().to_owned(),
                    created_by_role: caller.role.as_str().to_owned(),
                    approved_by_id: None,
                    approved_by_name: None,
                    decided_at: applied.then(db::now),
                    created_at: db::now(),
                };
                diesel::insert_into(adjustments::table).values(&adjustment).execute(conn)?;
                let view = AdjustmentView::from_row(&adjustment, Audience::Venue);
                audit::record(
                    conn,
                    &caller,
                    Entry {
                        action: if applied { "adjustment.applied" } else { "adjustment.requested" },
                        bill_id: Some(&adjustment.bill_id),
                        subject_id: Some(&adjustment.id),
                        amount: Some(amount),
                        reason: Some(&reason),
                        details: json!({"type": adjustment.kind, "item_id": adjustment.item_id, "percent_bps": percent}),
                        ..Entry::default()
                    },
                )?;
                if applied {
                    let updated = apply(conn, &record, &adjustment)?;
                    bill_event(conn, &updated, "bill.updated")?;
                    Reply::created(view)
                } else {
                    // Refuse now what could never be approved.
                    dry_run(conn, &record, &adjustment)?;
                    emit(conn, &record.venue.id, "adjustment.pending_approval", json!({"adjustment": view}))?;
                    Reply::with_status(StatusCode::ACCEPTED, view)
                }
            })
            .await
    })
    .await
}

fn below_paid_or_price(base: i64) -> ApiError {
    ApiError::conflict(Code::Conflict, format!("the adjustment exceeds what is left to discount ({base})"))
}

/// Loads an adjustment of the caller's venue waiting for a decision, with its bill locked.
fn pending(conn: &mut DbConn, id: &str, caller: &VenueCaller) -> Result<(Adjustment, BillRecord), ApiError> {
    let adjustment: Adjustment = adjustments::table
        .find(id)
        .select(Adjustment::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("adjustment"))?;
    caller.require_venue(&adjustment.venue_id, "adjustment")?;
    require_decider(caller, &adjustment.created_by_id)?;
    let record = lock_venue_bill(conn, &adjustment.bill_id, caller)?;
    let adjustment: Adjustment = adjustments::table.find(id).select(Adjustment::as_select()).first(conn)?;
    if adjustment.status != "pending_approval" {
        return Err(ApiError::conflict(Code::Conflict, format!("the adjustment is already {}", adjustment.status)));
    }
    Ok((adjustment, record))
}

/// Only a manager, and never the one who asked, decides.
pub fn require_decider(caller: &VenueCaller, requested_by: &str) -> Result<(), ApiError> {
    caller.require_role(&[Role::Manager])?;
    if caller.actor_id() == requested_by {
        return Err(ApiError::forbidden("the requester cannot approve or reject their own request"));
    }
    Ok(())
}

/// `POST /v1/adjustments/{id}/approve` (a manager other than the requester).
#[utoipa::path(
    post, path = "/v1/adjustments/{adjustment_id}/approve", tag = "staff",
    responses(
        (status = 200, description = "Applied", body = AdjustmentView),
    )
)]
pub async fn approve(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    decide(state, caller.0, path.into_inner(), true).await
}

/// `POST /v1/adjustments/{id}/reject` (a manager other than the requester).
#[utoipa::path(
    post, path = "/v1/adjustments/{adjustment_id}/reject", tag = "staff",
    responses(
        (status = 200, description = "Rejected", body = AdjustmentView),
    )
)]
pub async fn reject(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    decide(state, caller.0, path.into_inner(), false).await
}

async fn decide(
    state: web::Data<AppState>,
    caller: VenueCaller,
    raw_id: String,
    approve: bool,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&raw_id, "adjustment")?;
    let view = state
        .db
        .write(move |conn| {
            let (mut adjustment, record) = pending(conn, &id, &caller)?;
            if approve && record.bill.status != "open" {
                return Err(ApiError::conflict(Code::BillNotOpen, format!("the bill is {}", record.bill.status)));
            }
            adjustment.status = if approve { "applied" } else { "rejected" }.into();
            adjustment.approved_by_id = Some(caller.actor_id().to_owned());
            adjustment.approved_by_name = Some(caller.actor_name().to_owned());
            adjustment.decided_at = Some(db::now());
            diesel::update(adjustments::table.find(&adjustment.id))
                .set((
                    adjustments::status.eq(&adjustment.status),
                    adjustments::approved_by_id.eq(&adjustment.approved_by_id),
                    adjustments::approved_by_name.eq(&adjustment.approved_by_name),
                    adjustments::decided_at.eq(adjustment.decided_at),
                ))
                .execute(conn)?;
            audit::record(
                conn,
                &caller,
                Entry {
                    action: if approve { "adjustment.approved" } else { "adjustment.rejected" },
                    bill_id: Some(&adjustment.bill_id),
                    subject_id: Some(&adjustment.id),
                    amount: Some(adjustment.amount),
                    reason: Some(&adjustment.reason),
                    approved_by: Some(caller.actor_name()),
                    details: json!({"requested_by": adjustment.created_by_name}),
                },
            )?;
            let view = AdjustmentView::from_row(&adjustment, Audience::Venue);
            let decided = if approve { "adjustment.approved" } else { "adjustment.rejected" };
            emit(conn, &record.venue.id, decided, json!({"adjustment": view}))?;
            if approve {
                let updated = apply(conn, &record, &adjustment)?;
                bill_event(conn, &updated, "bill.updated")?;
            }
            Ok(view)
        })
        .await?;
    Ok(Reply::ok(view)?.into_response())
}
