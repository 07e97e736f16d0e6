//! `GET /v1/venues/{venue_id}/feedback`: what guests said, for staff, newest first.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::app::access::Permission;
use crate::auth::VenueAuth;
use crate::billing::{StaffRef, Timestamp};
use crate::error::ApiError;
use crate::http::{PageRequest, parse_id};
use tablepay_domain::VenueId;
use tablepay_store::assistance::FeedbackEntry;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FeedbackQuery {
    /// `true`: only ratings of 2 or less; `false`: only the others.
    flagged: Option<bool>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(
        pattern = "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$"
    )]
    cursor: Option<String>,
}

/// A guest's rating as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackItem {
    id: String,
    table_label: String,
    bill_id: Option<String>,
    payment_id: Option<String>,
    rating: i32,
    comment: Option<String>,
    /// A rating of 2 or less, for the staff's attention.
    flagged: bool,
    /// The server of the bill it was about.
    server: Option<StaffRef>,
    created_at: Timestamp,
}

fn item(entry: &FeedbackEntry) -> FeedbackItem {
    let f = &entry.feedback;
    FeedbackItem {
        id: f.id.clone(),
        table_label: entry.table_label.clone(),
        bill_id: f.bill_id.clone(),
        payment_id: f.payment_id.clone(),
        rating: f.rating,
        comment: f.comment.clone(),
        flagged: f.flagged,
        server: entry.server.as_ref().map(|(id, name)| StaffRef { id: Some(id.clone()), name: name.clone() }),
        created_at: Timestamp(f.created_at),
    }
}

/// `GET /v1/venues/{venue_id}/feedback?flagged=true|false` (servers and managers): guests'
/// ratings and comments, newest first, with the table and the bill's server.
#[utoipa::path(
    get, path = "/v1/venues/{venue_id}/feedback", tag = "staff", params(FeedbackQuery),
    responses(
        (status = 200, description = "`{data: [...], next_cursor}`", body = crate::http::List<FeedbackItem>),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
    query: web::Query<FeedbackQuery>,
) -> Result<HttpResponse, ApiError> {
    let venue_id: VenueId = parse_id(&path)?;
    caller.0.require_in(&venue_id, Permission::ServeGuests)?;
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let (cursor, fetch, flagged) = (page.cursor.clone(), page.fetch(), query.flagged);
    let rows = state
        .db
        .run(move |conn| {
            tablepay_store::assistance::feedback_page(conn, venue_id.as_str(), flagged, cursor.as_deref(), fetch)
        })
        .await?;
    Ok(page.reply(&rows, |e| &e.feedback.id, item)?.into_response())
}
