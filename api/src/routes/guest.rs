//! What a guest who scanned the table's QR code sees. The token is the capability: no
//! credential, and nothing that identifies staff or other guests.

use actix_web::{HttpResponse, web};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use serde_json::json;

use crate::AppState;
use crate::billing::{Audience, BillRecordExt, BillView, Timestamp, load_bill};
use crate::db::{self, DbConn};
use crate::error::ApiError;
use crate::events::emit;
use crate::http::{Body, Reply, new_id, parse_id, text_field};
use crate::idempotency;
use crate::routes::floor::assistance_view;
use crate::routes::venues::tip_presets;
use tablepay_store::rows::{AssistanceRequest, DiningTable, Feedback, Venue};
use tablepay_store::schema::{assistance_requests, bills, dining_tables, feedback, payments, venues};

#[derive(Debug, Serialize, ToSchema)]
struct GuestVenue {
    name: String,
    currency: String,
    /// Digits after the decimal point in `currency` (ISO 4217): amounts are in 10^-exponent units.
    currency_exponent: u8,
    /// `inclusive` (prices include tax) or `exclusive`.
    tax_mode: String,
    tip_presets_bps: Vec<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
struct GuestTable {
    label: String,
}

#[derive(Debug, Serialize, ToSchema)]
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
#[utoipa::path(
    get, path = "/v1/t/{qr_token}", tag = "guest",
    responses(
        (status = 200, description = "OK", body = GuestView),
    )
)]
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
        venue: GuestVenue {
            tip_presets_bps: tip_presets(&venue),
            currency_exponent: crate::routes::venues::currency_exponent(&venue.currency),
            name: venue.name,
            currency: venue.currency,
            tax_mode: venue.tax_mode,
        },
        table: GuestTable { label: table.label },
        bill: record.map(|r| r.view(Audience::Guest)).transpose()?,
    };
    Ok(Reply::ok(view)?.into_response())
}

#[derive(Debug, Default, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AssistanceInput {
    reason: Option<String>,
}

/// The table's current bill id, if it has one.
fn current_bill_id(conn: &mut DbConn, table_id: &str) -> Result<Option<String>, ApiError> {
    Ok(bills::table
        .filter(bills::table_id.eq(table_id))
        .filter(bills::status.eq_any(["open", "paid"]))
        .order(bills::opened_at.desc())
        .select(bills::id)
        .first(conn)
        .optional()?)
}

/// `POST /v1/t/{qr_token}/assistance` `{reason?}`: "call a server". Pressing twice while the
/// first call is open returns that call rather than a second one.
#[utoipa::path(
    post, path = "/v1/t/{qr_token}/assistance", tag = "guest", request_body = Option<AssistanceInput>,
    responses(
        (status = 201, description = "The call (the open one when pressed twice)", body = crate::routes::floor::AssistanceView),
    )
)]
pub async fn assistance(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let token = path.into_inner();
    let scope = format!("qr:{token}");
    let input: AssistanceInput =
        if body.0.iter().all(u8::is_ascii_whitespace) { AssistanceInput::default() } else { body.json()? };
    let reason = input
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| text_field("reason", r, 200))
        .transpose()?;
    idempotency::run(&state, &req, scope, &body, || async {
        let request = state
            .db
            .write(move |conn| {
                let (table, _) = table_by_token(conn, &token)?;
                let open: Option<AssistanceRequest> = assistance_requests::table
                    .filter(assistance_requests::table_id.eq(&table.id))
                    .filter(assistance_requests::status.eq("open"))
                    .select(AssistanceRequest::as_select())
                    .first(conn)
                    .optional()?;
                if let Some(open) = open {
                    return Ok(open);
                }
                let request = AssistanceRequest {
                    id: new_id(),
                    venue_id: table.venue_id.clone(),
                    table_id: table.id.clone(),
                    bill_id: current_bill_id(conn, &table.id)?,
                    reason,
                    status: "open".into(),
                    created_at: db::now(),
                    resolved_at: None,
                    resolved_by: None,
                };
                diesel::insert_into(assistance_requests::table).values(&request).execute(conn)?;
                let mut data = serde_json::to_value(assistance_view(&request))?;
                data["table_label"] = json!(table.label);
                emit(conn, &table.venue_id, "assistance.requested", json!({"assistance": data}))?;
                Ok(request)
            })
            .await?;
        Reply::created(assistance_view(&request))
    })
    .await
}

#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FeedbackInput {
    rating: i64,
    comment: Option<String>,
    payment_id: Option<String>,
}

/// `POST /v1/t/{qr_token}/feedback` `{rating: 1..5, comment?, payment_id?}`; a rating of 2
/// or less is flagged for the staff's attention.
#[utoipa::path(
    post, path = "/v1/t/{qr_token}/feedback", tag = "guest", request_body = FeedbackInput,
    responses(
        (status = 201, description = "Recorded", body = FeedbackView),
    )
)]
pub async fn feedback(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let token = path.into_inner();
    let scope = format!("qr:{token}");
    let input: FeedbackInput = body.json()?;
    if !(1..=5).contains(&input.rating) {
        return Err(ApiError::invalid("rating must be a whole number from 1 to 5"));
    }
    let comment = input.comment.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
    if comment.as_ref().is_some_and(|c| c.chars().count() > 1000) {
        return Err(ApiError::invalid("comment must be at most 1000 characters"));
    }
    idempotency::run(&state, &req, scope, &body, || async {
        let row = state
            .db
            .write(move |conn| {
                let (table, _) = table_by_token(conn, &token)?;
                let (payment_id, bill_id) = match &input.payment_id {
                    Some(raw) => {
                        let id = parse_id(raw, "payment")
                            .map_err(|_| ApiError::invalid("payment_id is not a payment of this table"))?;
                        let found: Option<(String, String)> = payments::table
                            .inner_join(bills::table)
                            .filter(payments::id.eq(&id))
                            .filter(bills::table_id.eq(&table.id))
                            .select((payments::id, payments::bill_id))
                            .first(conn)
                            .optional()?;
                        let (pid, bid) =
                            found.ok_or_else(|| ApiError::invalid("payment_id is not a payment of this table"))?;
                        (Some(pid), Some(bid))
                    }
                    None => (None, current_bill_id(conn, &table.id)?),
                };
                let row = Feedback {
                    id: new_id(),
                    venue_id: table.venue_id.clone(),
                    table_id: table.id.clone(),
                    bill_id,
                    payment_id,
                    rating: input.rating as i32,
                    comment,
                    flagged: input.rating <= 2,
                    created_at: db::now(),
                };
                diesel::insert_into(feedback::table).values(&row).execute(conn)?;
                let mut data = serde_json::to_value(feedback_view(&row))?;
                data["table_label"] = json!(table.label);
                emit(conn, &table.venue_id, "feedback.received", json!({"feedback": data}))?;
                Ok(row)
            })
            .await?;
        Reply::created(feedback_view(&row))
    })
    .await
}

/// A guest's rating, with what it was about.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackView {
    pub id: String,
    pub table_id: String,
    pub bill_id: Option<String>,
    pub payment_id: Option<String>,
    pub rating: i32,
    pub comment: Option<String>,
    /// A rating of 2 or less, for the staff's attention.
    pub flagged: bool,
    pub created_at: Timestamp,
}

fn feedback_view(f: &Feedback) -> FeedbackView {
    FeedbackView {
        id: f.id.clone(),
        table_id: f.table_id.clone(),
        bill_id: f.bill_id.clone(),
        payment_id: f.payment_id.clone(),
        rating: f.rating,
        comment: f.comment.clone(),
        flagged: f.flagged,
        created_at: Timestamp(f.created_at),
    }
}
