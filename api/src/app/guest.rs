//! Use case: what a guest who scanned the table's QR code sees and sends. The token is the
//! capability: no credential, and nothing that identifies staff or other guests. Guests are
//! never cut off from a human: a call for a server and feedback reach staff at once, through
//! events written in the same transaction.

use serde::Serialize;
use serde_json::{Value, json};
use tablepay_domain::{AssistanceStatus, PaymentId};
use tablepay_store::bills::{self, Current};
use tablepay_store::rows::{AssistanceRequest, DiningTable, Feedback, Venue};
use tablepay_store::{DbConn, Store, assistance, now};
use utoipa::ToSchema;

use crate::app::access::Permission;
use crate::app::access::VenueCaller;
use crate::app::events::emit;
use crate::app::tables::is_qr_token;
use crate::app::{AppError, AppResult};
use crate::audit::{self, Entry};
use crate::billing::{BillRecord, Timestamp, load_bill};
use tablepay_domain::AssistanceId;

/// The table behind a QR token, or 404 for a token that is unknown or was rotated away.
pub fn table_by_token(conn: &mut DbConn, qr_token: &str) -> AppResult<(DiningTable, Venue)> {
    if !is_qr_token(qr_token) {
        return Err(AppError::NotFound("table"));
    }
    tablepay_store::tables::by_qr_token(conn, qr_token)?.ok_or(AppError::NotFound("table"))
}

/// The table's open bill, or the one just paid until the staff close it (so the last payer
/// sees it settle), or none.
pub async fn view(store: &Store, qr_token: String) -> AppResult<(DiningTable, Venue, Option<BillRecord>)> {
    store
        .run(move |conn| -> AppResult<_> {
            let (table, venue) = table_by_token(conn, &qr_token)?;
            let record = match bills::current_id(conn, &table.id, Current::OpenFirst)? {
                Some(id) => load_bill(conn, &id)?,
                None => None,
            };
            Ok((table, venue, record))
        })
        .await
}

/// A guest's call for a server.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssistanceView {
    pub id: String,
    pub table_id: String,
    pub bill_id: Option<String>,
    pub reason: Option<String>,
    /// `open` or `resolved`.
    pub status: AssistanceStatus,
    pub created_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub resolved_by: Option<String>,
}

pub fn assistance_view(a: &AssistanceRequest) -> AssistanceView {
    AssistanceView {
        id: a.id.clone(),
        table_id: a.table_id.clone(),
        bill_id: a.bill_id.clone(),
        reason: a.reason.clone(),
        status: a.status,
        created_at: Timestamp(a.created_at),
        resolved_at: a.resolved_at.map(Timestamp),
        resolved_by: a.resolved_by.clone(),
    }
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

pub fn feedback_view(f: &Feedback) -> FeedbackView {
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

/// What staff dashboards get about something sent from a table: its view and the table's label.
fn from_table(view: impl Serialize, table: &DiningTable) -> AppResult<Value> {
    let mut data = serde_json::to_value(view).map_err(|e| AppError::internal(format!("json: {e}")))?;
    data["table_label"] = json!(table.label);
    Ok(data)
}

/// "Call a server". Pressing twice while the first call is open returns that call rather
/// than a second one.
pub async fn call_server(store: &Store, qr_token: String, reason: Option<String>) -> AppResult<AssistanceRequest> {
    store
        .write(move |conn| -> AppResult<_> {
            let (table, _) = table_by_token(conn, &qr_token)?;
            if let Some(open) = assistance::open_for_table(conn, &table.id)? {
                return Ok(open);
            }
            let new = assistance::NewAssistanceRequest {
                venue_id: table.venue_id.clone(),
                table_id: table.id.clone(),
                bill_id: bills::current_id(conn, &table.id, Current::Newest)?,
                reason,
            };
            let request = assistance::insert(conn, new, now())?;
            let data = from_table(assistance_view(&request), &table)?;
            emit(conn, &table.venue_id, "assistance.requested", json!({"assistance": data}))?;
            Ok(request)
        })
        .await
}

/// A call made from the table behind `qr_token`, as its guest sees it (who answered is staff's
/// business); 404 for a call of another table.
pub async fn call_status(store: &Store, qr_token: String, id: AssistanceId) -> AppResult<AssistanceView> {
    store
        .run(move |conn| -> AppResult<_> {
            let (table, _) = table_by_token(conn, &qr_token)?;
            let request = assistance::find(conn, id.as_str())?
                .filter(|r| r.table_id == table.id)
                .ok_or(AppError::NotFound("assistance request"))?;
            Ok(AssistanceView { resolved_by: None, ..assistance_view(&request) })
        })
        .await
}

/// A staff member answers a call. Resolving twice changes nothing.
pub async fn resolve(store: &Store, caller: VenueCaller, id: AssistanceId) -> AppResult<AssistanceRequest> {
    store
        .write(move |conn| -> AppResult<_> {
            let request = assistance::find(conn, id.as_str())?.ok_or(AppError::NotFound("assistance request"))?;
            caller.require_venue(&request.venue_id, "assistance request")?;
            caller.require(Permission::ServeGuests)?;
            let status = request.status;
            if !status.can_become(AssistanceStatus::Resolved) {
                return Ok(request);
            }
            assistance::resolve(conn, &request.id, caller.actor_name(), now())?;
            let entry = Entry {
                action: "assistance.resolved",
                bill_id: request.bill_id.as_deref(),
                subject_id: Some(&request.id),
                ..Entry::default()
            };
            audit::record(conn, &caller, entry)?;
            let resolved = assistance::find(conn, &request.id)?
                .ok_or_else(|| AppError::internal("assistance request vanished inside its transaction"))?;
            let data = json!({"assistance": assistance_view(&resolved)});
            emit(conn, &request.venue_id, "assistance.resolved", data)?;
            Ok(resolved)
        })
        .await
}

/// A guest's rating of their visit (1 to 5, checked by the caller).
#[derive(Debug, Clone)]
pub struct Rating {
    pub rating: i32,
    pub comment: Option<String>,
    /// A payment of this table the rating is about, as the guest sent it.
    pub payment_id: Option<String>,
}

/// Records feedback about the table's current bill, or about one of its payments. A rating
/// of 2 or less is flagged for the staff's attention.
pub async fn feedback(store: &Store, qr_token: String, rating: Rating) -> AppResult<Feedback> {
    store
        .write(move |conn| -> AppResult<_> {
            let (table, _) = table_by_token(conn, &qr_token)?;
            let (payment_id, bill_id) = match &rating.payment_id {
                Some(raw) => {
                    let not_ours = || AppError::invalid("payment_id is not a payment of this table");
                    let id = PaymentId::parse(raw).map_err(|_| not_ours())?;
                    let (pid, bid) =
                        assistance::payment_at_table(conn, id.as_str(), &table.id)?.ok_or_else(not_ours)?;
                    (Some(pid), Some(bid))
                }
                None => (None, bills::current_id(conn, &table.id, Current::Newest)?),
            };
            let new = assistance::NewFeedback {
                venue_id: table.venue_id.clone(),
                table_id: table.id.clone(),
                bill_id,
                payment_id,
                rating: rating.rating,
                comment: rating.comment,
                flagged: rating.rating <= 2,
            };
            let row = assistance::insert_feedback(conn, new, now())?;
            let data = from_table(feedback_view(&row), &table)?;
            emit(conn, &table.venue_id, "feedback.received", json!({"feedback": data}))?;
            Ok(row)
        })
        .await
}
