//! What the staff dashboard asks first: who am I, what waits for a manager, who called.

use actix_web::{HttpResponse, web};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{Role, VenueAuth};
use crate::billing::{AdjustmentView, Audience, Timestamp};
use crate::error::ApiError;
use crate::http::{Reply, parse_id};
use crate::routes::adjustments::STAFF;
use crate::routes::refunds::{self as refund_routes, RefundView};
use crate::routes::venues::VenueView;
use tablepay_store::rows::{Adjustment, AssistanceRequest, Refund, Venue};
use tablepay_store::schema::{adjustments, assistance_requests, dining_tables, refunds, venues};

/// At most this many of each kind in the approvals queue and the assistance list: a venue
/// with more waiting has a problem no list solves.
const QUEUE_LIMIT: i64 = 200;

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffMember {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub key_id: String,
    pub role: &'static str,
    pub staff: Option<StaffMember>,
    pub venue: VenueView,
}

/// `GET /v1/me` (any venue credential): the credential's venue, role and staff member.
#[utoipa::path(
    get, path = "/v1/me", tag = "staff",
    responses(
        (status = 200, description = "OK", body = Me),
    )
)]
pub async fn me(state: web::Data<AppState>, caller: VenueAuth) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let venue_id = caller.venue_id.clone();
    let venue =
        state.db.run(move |conn| Ok(venues::table.find(&venue_id).select(Venue::as_select()).first(conn)?)).await?;
    let staff = match (&caller.staff_id, &caller.staff_name) {
        (Some(id), Some(name)) => Some(StaffMember { id: id.clone(), name: name.clone() }),
        _ => None,
    };
    let me =
        Me { key_id: caller.key_id.clone(), role: caller.role.as_str(), staff, venue: VenueView::from_row(&venue) };
    Ok(Reply::ok(me)?.into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Approvals {
    pub adjustments: Vec<AdjustmentView>,
    pub refunds: Vec<RefundView>,
}

/// `GET /v1/venues/{venue_id}/approvals` (manager): adjustments and refunds waiting for a
/// decision, oldest first.
#[utoipa::path(
    get, path = "/v1/venues/{venue_id}/approvals", tag = "staff",
    responses(
        (status = 200, description = "OK", body = Approvals),
    )
)]
pub async fn approvals(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let venue_id = parse_id(&path, "venue")?;
    caller.0.require_venue(&venue_id, "venue")?;
    caller.0.require_role(&[Role::Manager])?;
    let (adjustments, refunds) = state
        .db
        .run(move |conn| {
            let adjustments: Vec<Adjustment> = adjustments::table
                .filter(adjustments::venue_id.eq(&venue_id))
                .filter(adjustments::status.eq("pending_approval"))
                .order(adjustments::id.asc())
                .limit(QUEUE_LIMIT)
                .select(Adjustment::as_select())
                .load(conn)?;
            let refunds: Vec<Refund> = refunds::table
                .filter(refunds::venue_id.eq(&venue_id))
                .filter(refunds::status.eq("pending_approval"))
                .order(refunds::id.asc())
                .limit(QUEUE_LIMIT)
                .select(Refund::as_select())
                .load(conn)?;
            Ok((adjustments, refunds))
        })
        .await?;
    let approvals = Approvals {
        adjustments: adjustments.iter().map(|a| AdjustmentView::from_row(a, Audience::Venue)).collect(),
        refunds: refunds.iter().map(refund_routes::view).collect(),
    };
    Ok(Reply::ok(approvals)?.into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OpenCall {
    pub id: String,
    pub table_id: String,
    pub table_label: String,
    pub bill_id: Option<String>,
    pub reason: Option<String>,
    pub status: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OpenCalls {
    pub data: Vec<OpenCall>,
}

/// `GET /v1/venues/{venue_id}/assistance` (server, manager): guests' open calls, oldest first.
#[utoipa::path(
    get, path = "/v1/venues/{venue_id}/assistance", tag = "staff",
    responses(
        (status = 200, description = "OK", body = OpenCalls),
    )
)]
pub async fn open_assistance(
    state: web::Data<AppState>,
    caller: VenueAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let venue_id = parse_id(&path, "venue")?;
    caller.0.require_venue(&venue_id, "venue")?;
    caller.0.require_role(STAFF)?;
    let rows: Vec<(AssistanceRequest, String)> = state
        .db
        .run(move |conn| {
            Ok(assistance_requests::table
                .inner_join(dining_tables::table.on(dining_tables::id.eq(assistance_requests::table_id)))
                .filter(assistance_requests::venue_id.eq(&venue_id))
                .filter(assistance_requests::status.eq("open"))
                .order(assistance_requests::id.asc())
                .limit(QUEUE_LIMIT)
                .select((AssistanceRequest::as_select(), dining_tables::label))
                .load(conn)?)
        })
        .await?;
    let data = rows
        .into_iter()
        .map(|(a, table_label)| OpenCall {
            id: a.id,
            table_id: a.table_id,
            table_label,
            bill_id: a.bill_id,
            reason: a.reason,
            status: a.status,
            created_at: Timestamp(a.created_at),
        })
        .collect();
    Ok(Reply::ok(OpenCalls { data })?.into_response())
}
