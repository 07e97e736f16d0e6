//! What the staff dashboard asks first: who am I, what waits for a manager, who called.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use tablepay_domain::AssistanceStatus;
use utoipa::ToSchema;

use crate::AppState;
use crate::app::access::Permission;
use crate::app::refunds::{self as refund_routes, RefundView};
use crate::auth::VenueAuth;
use crate::billing::{AdjustmentView, Audience, Timestamp};
use crate::error::ApiError;
use crate::http::{Reply, parse_id};
use crate::routes::venues::VenueView;
use tablepay_domain::VenueId;

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
    let venue = crate::app::venues::get(&state.db, caller.venue_id.clone()).await?;
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
    let venue_id: VenueId = parse_id(&path)?;
    caller.0.require_in(&venue_id, Permission::Decide)?;
    let waiting = crate::app::staff::pending_approvals(&state.db, venue_id).await?;
    let approvals = Approvals {
        adjustments: waiting.adjustments.iter().map(|a| AdjustmentView::from_row(a, Audience::Venue)).collect(),
        refunds: waiting.refunds.iter().map(refund_routes::view).collect(),
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
    pub status: AssistanceStatus,
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
    let venue_id: VenueId = parse_id(&path)?;
    caller.0.require_in(&venue_id, Permission::ServeGuests)?;
    let rows = crate::app::staff::open_calls(&state.db, venue_id).await?;
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
