//! What a guest who scanned the table's QR code sees. The token is the capability: no
//! credential, and nothing that identifies staff or other guests.

use actix_web::{HttpMessage, HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::app::guest::FeedbackView;
use crate::app::guest::{self as app, Rating, assistance_view, feedback_view};
use crate::billing::{Audience, BillRecordExt, BillView};
use crate::error::ApiError;
use crate::http::{Body, KnownTable, Reply, text_field};
use crate::idempotency;
use crate::routes::venues::tip_presets;
use tablepay_domain::AssistanceId;

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
pub(crate) struct GuestView {
    venue: GuestVenue,
    table: GuestTable,
    bill: Option<BillView>,
}

/// `GET /v1/t/{qr_token}`: the table's open bill, or the one just paid until the staff close
/// it (so the last payer sees it settle), or none.
#[utoipa::path(
    get, path = "/v1/t/{qr_token}", tag = "guest",
    responses(
        (status = 200, description = "OK", body = GuestView),
    )
)]
pub async fn view(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let table = req.extensions().get::<KnownTable>().cloned();
    let body = cached_view(&state, table, path.into_inner()).await?;
    Ok(HttpResponse::Ok().content_type("application/json").body(body))
}

/// [`guest_view`] as the JSON sent, from the guests' cache when the table is known (the
/// limiter found it) and nothing of its venue changed since it was priced.
pub(crate) async fn cached_view(
    state: &AppState,
    table: Option<KnownTable>,
    qr_token: String,
) -> Result<web::Bytes, ApiError> {
    let compute = || async {
        let view = serde_json::to_value(guest_view(state, qr_token).await?)?;
        Ok::<_, ApiError>(web::Bytes::from(serde_json::to_vec(&view)?))
    };
    match table {
        Some(table) => state.guests.view(&state.db, &table, compute).await,
        None => compute().await,
    }
}

/// What `GET /v1/t/{qr_token}` answers (the guests' live stream sends it too).
pub(crate) async fn guest_view(state: &AppState, qr_token: String) -> Result<GuestView, ApiError> {
    let (table, venue, record) = app::view(&state.db, qr_token).await?;
    Ok(GuestView {
        venue: GuestVenue {
            tip_presets_bps: tip_presets(&venue),
            currency_exponent: crate::routes::venues::currency_exponent(&venue.currency),
            name: venue.name,
            currency: venue.currency,
            tax_mode: venue.tax_mode,
        },
        table: GuestTable { label: table.label },
        bill: record.map(|r| r.view(Audience::Guest)).transpose()?,
    })
}

#[derive(Debug, Default, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AssistanceInput {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    reason: Option<String>,
}

/// `POST /v1/t/{qr_token}/assistance` `{reason?}`: "call a server". Pressing twice while the
/// first call is open returns that call rather than a second one.
#[utoipa::path(
    post, path = "/v1/t/{qr_token}/assistance", tag = "guest", request_body = Option<AssistanceInput>,
    responses(
        (status = 201, description = "The call (the open one when pressed twice)", body = crate::app::guest::AssistanceView),
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
    let input: AssistanceInput = body.json_or_default()?;
    let reason = input
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| text_field("reason", r, 200))
        .transpose()?;
    idempotency::run(&state, &req, scope, &body, || async {
        let request = app::call_server(&state.db, token, reason).await?;
        Reply::created(assistance_view(&request))
    })
    .await
}

/// `GET /v1/t/{qr_token}/assistance/{assistance_id}`: a call made from this table, so the
/// guest's page shows "a server is coming" until it is answered, across reloads.
#[utoipa::path(
    get, path = "/v1/t/{qr_token}/assistance/{assistance_id}", tag = "guest",
    responses(
        (status = 200, description = "The call: `open` until staff answer it, then `resolved`", body = crate::app::guest::AssistanceView),
    )
)]
pub async fn call_status(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (token, id) = path.into_inner();
    let id: AssistanceId = crate::http::parse_id(&id)?;
    Ok(Reply::ok(app::call_status(&state.db, token, id).await?)?.into_response())
}

#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FeedbackInput {
    #[schema(minimum = 1, maximum = 5)]
    rating: i64,
    /// Line breaks and tabs are kept; no other control character is accepted.
    #[schema(max_length = 1000, pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$")]
    comment: Option<String>,
    #[schema(
        pattern = r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$"
    )]
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
    // A comment may run over lines; no other control character (NUL above all) is stored.
    if comment.as_ref().is_some_and(|c| c.chars().any(|ch| ch.is_control() && !matches!(ch, '\n' | '\r' | '\t'))) {
        return Err(ApiError::invalid("comment must not contain control characters other than line breaks and tabs"));
    }
    idempotency::run(&state, &req, scope, &body, || async {
        let rating = Rating { rating: input.rating as i32, comment, payment_id: input.payment_id };
        let row = app::feedback(&state.db, token, rating).await?;
        Reply::created(feedback_view(&row))
    })
    .await
}
