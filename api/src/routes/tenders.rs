//! Tenders: money taken outside tablepay (cash at the table, the venue's own card terminal, a
//! voucher), recorded on a bill by the POS or staff, and voided by the POS or a manager.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::app::tenders::{self as app, NewTender};
use crate::app::venues::MAX_AMOUNT;
use crate::auth::VenueAuth;
use crate::billing::TenderView;
use crate::error::ApiError;
use crate::http::{Body, Reply, parse_id, text_field};
use crate::idempotency;
use tablepay_domain::{BillId, TenderId, TenderKind};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateTender {
    /// `cash`, `card_present` (the venue's own terminal), `voucher` or `other`.
    #[serde(rename = "type")]
    #[schema(rename = "type", schema_with = crate::http::words::tender_kinds)]
    kind: String,
    /// The part of the bill it pays: at most what is left (what guests hold is not left).
    #[schema(minimum = 0, maximum = 9007199254740991_i64)]
    amount: i64,
    #[schema(minimum = 0, maximum = 9007199254740991_i64)]
    tip_amount: Option<i64>,
    /// The terminal's receipt number, the voucher's code.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    reference: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    note: Option<String>,
}

fn tender_kind(raw: &str) -> Result<TenderKind, ApiError> {
    TenderKind::try_from(raw.to_owned())
        .map_err(|_| ApiError::invalid("type must be one of cash, card_present, voucher, other"))
}

fn amount(field: &str, value: i64) -> Result<i64, ApiError> {
    if !(0..=MAX_AMOUNT).contains(&value) {
        return Err(ApiError::invalid(format!("{field} must be from 0 to {MAX_AMOUNT}")));
    }
    Ok(value)
}

/// `POST /v1/bills/{bill_id}/tenders` (POS, server, manager): records money taken outside
/// tablepay on an open bill. It counts toward `paid` at once; the bill settles when tenders
/// and payments cover it, and `table.settled` lists the tenders.
#[utoipa::path(
    post, path = "/v1/bills/{bill_id}/tenders", tag = "bills", request_body = CreateTender,
    responses(
        (status = 201, description = "Recorded: the amount counts toward the bill's paid total", body = TenderView),
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
    let bill_id: BillId = parse_id(&path)?;
    let input: CreateTender = body.json()?;
    idempotency::run(&state, &req, caller.scope(), &body, || async {
        let new = NewTender {
            kind: tender_kind(&input.kind)?,
            amount: amount("amount", input.amount)?,
            tip_amount: amount("tip_amount", input.tip_amount.unwrap_or(0))?,
            reference: input.reference.as_deref().map(|r| text_field("reference", r, 200)).transpose()?,
            note: input.note.as_deref().map(|n| text_field("note", n, 500)).transpose()?,
        };
        let (tender, _) = app::record(&state.db, caller.clone(), bill_id.clone(), new).await?;
        Reply::created(tender)
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VoidTender {
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    reason: String,
}

/// `POST /v1/tenders/{tender_id}/void` (POS, manager) `{reason}`: a tender recorded in error
/// stops counting, and its amount is owed again, while the bill is open (409 `bill_not_open`
/// after). Voiding a void tender again answers it as it stands.
#[utoipa::path(
    post, path = "/v1/tenders/{tender_id}/void", tag = "bills", request_body = VoidTender,
    responses(
        (status = 200, description = "The void tender", body = TenderView),
    )
)]
pub async fn void(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let tender_id: TenderId = parse_id(&path)?;
    let input: VoidTender = body.json()?;
    let reason = text_field("reason", &input.reason, 500)?;
    let (tender, _) = app::void(&state.db, caller.0, tender_id, reason).await?;
    Ok(Reply::ok(tender)?.into_response())
}
