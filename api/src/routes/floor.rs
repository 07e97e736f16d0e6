//! What staff watch: the floor, the audit log, the daily report, and guests' calls.

use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::app::access::Permission;
use crate::app::floor::{self as app, DailyReport, FloorView};
use crate::app::guest::AssistanceView;
use crate::app::guest::{self as assistance, assistance_view};
use crate::auth::{Role, VenueAuth};
use crate::billing::Timestamp;
use crate::error::ApiError;
use crate::http::{ListQuery, PageRequest, Reply, parse_id};
use tablepay_domain::{AssistanceId, VenueId};

/// One entry of the audit log.
#[derive(Debug, Serialize, ToSchema)]
struct AuditView {
    id: String,
    at: Timestamp,
    action: String,
    actor: AuditActor,
    bill_id: Option<String>,
    subject_id: Option<String>,
    amount: Option<i64>,
    reason: Option<String>,
    approved_by: Option<String>,
    /// What else the action recorded (its shape depends on the action).
    details: Value,
}

#[derive(Debug, Serialize, ToSchema)]
struct AuditActor {
    id: String,
    name: String,
    role: Role,
}

/// `GET /v1/venues/{venue_id}/floor` (any credential of the venue).
#[utoipa::path(
    get, path = "/v1/venues/{venue_id}/floor", tag = "staff",
    responses(
        (status = 200, description = "OK", body = FloorView),
    )
)]
pub async fn view(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let venue_id: VenueId = parse_id(&path)?;
    caller.0.require_venue(&venue_id, "venue")?;
    Ok(Reply::ok(app::floor(&state.db, venue_id).await?)?.into_response())
}

/// `GET /v1/venues/{venue_id}/audit-log?limit=&cursor=` (manager): newest first.
#[utoipa::path(
    get, path = "/v1/venues/{venue_id}/audit-log", tag = "staff", params(ListQuery),
    responses(
        (status = 200, description = "OK", body = crate::http::List<AuditView>),
    )
)]
pub async fn audit_log(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let venue_id: VenueId = parse_id(&path)?;
    caller.0.require_in(&venue_id, Permission::RunVenue)?;
    let page = PageRequest::from_query(&query)?;
    let (cursor, fetch) = (page.cursor.clone(), page.fetch());
    let rows = app::audit_log(&state.db, venue_id, cursor, fetch).await?;
    let reply = page.reply(
        &rows,
        |e| &e.id,
        |e| AuditView {
            id: e.id.clone(),
            at: Timestamp(e.at),
            action: e.action.clone(),
            actor: AuditActor { id: e.actor_id.clone(), name: e.actor_name.clone(), role: e.actor_role },
            bill_id: e.bill_id.clone(),
            subject_id: e.subject_id.clone(),
            amount: e.amount,
            reason: e.reason.clone(),
            approved_by: e.approved_by.clone(),
            details: serde_json::from_str::<Value>(&e.details).unwrap_or(Value::Null),
        },
    )?;
    Ok(reply.into_response())
}

/// `POST /v1/assistance/{id}/resolve` (server, manager).
#[utoipa::path(
    post, path = "/v1/assistance/{assistance_id}/resolve", tag = "staff",
    responses(
        (status = 200, description = "Resolved", body = AssistanceView),
    )
)]
pub async fn resolve_assistance(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: AssistanceId = parse_id(&path)?;
    let caller = caller.0;
    let request = assistance::resolve(&state.db, caller, id).await?;
    Ok(Reply::ok(assistance_view(&request))?.into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// The venue's local calendar day.
    #[param(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", example = "2026-11-30")]
    date: String,
}

/// `GET /v1/venues/{venue_id}/reports/daily?date=YYYY-MM-DD` (manager): sales, tips and
/// refunds of the venue's local day, per server and per provider.
#[utoipa::path(
    get, path = "/v1/venues/{venue_id}/reports/daily", tag = "staff", params(ReportQuery),
    responses(
        (status = 200, description = "OK", body = DailyReport),
    )
)]
pub async fn daily_report(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let venue_id: VenueId = parse_id(&path)?;
    caller.0.require_in(&venue_id, Permission::RunVenue)?;
    let date = NaiveDate::parse_from_str(&query.date, "%Y-%m-%d")
        .map_err(|_| ApiError::bad_request("date must be YYYY-MM-DD"))?;
    let report = app::daily_report(&state.db, venue_id, date).await?;
    Ok(Reply::ok(report)?.into_response())
}
