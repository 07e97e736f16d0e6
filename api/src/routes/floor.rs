//! What staff watch: the floor, the audit log, the daily report, and guests' calls.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::audit::{self, Entry};
use crate::auth::{Role, VenueAuth};
use crate::billing::{BillRecord, BillRecordExt, StaffRef, Timestamp};
use crate::db::{self, DbConn};
use crate::error::ApiError;
use crate::events::emit;
use crate::http::{ListQuery, PageRequest, Reply, parse_id};
use crate::routes::adjustments::STAFF;
use tablepay_store::rows::{
    AdjustmentLine, AssistanceRequest, AuditEntry, Bill, BillItem, DiningTable, Payment, Refund, Staff, Venue,
};
use tablepay_store::schema::{
    adjustment_lines, assistance_requests, audit_log, bill_items, bills, dining_tables, payments, refunds, staff,
    venues,
};

#[derive(Debug, Serialize, ToSchema)]
struct FloorBill {
    id: String,
    total: i64,
    paid: i64,
    pending: i64,
    remaining: i64,
    tips: i64,
}

#[derive(Debug, Serialize, ToSchema)]
struct FloorTable {
    id: String,
    label: String,
    status: &'static str,
    bill: Option<FloorBill>,
    open_assistance: usize,
    last_activity_at: Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
struct FloorView {
    tables: Vec<FloorTable>,
}

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
    role: String,
}

fn group<T>(rows: Vec<T>, key: impl Fn(&T) -> String) -> HashMap<String, Vec<T>> {
    let mut map: HashMap<String, Vec<T>> = HashMap::new();
    for row in rows {
        map.entry(key(&row)).or_default().push(row);
    }
    map
}

/// Every table with its current bill, in eight queries whatever the number of tables.
fn floor(conn: &mut DbConn, venue_id: &str) -> Result<Vec<FloorTable>, ApiError> {
    let venue: Venue = venues::table.find(venue_id).select(Venue::as_select()).first(conn)?;
    let tables: Vec<DiningTable> = dining_tables::table
        .filter(dining_tables::venue_id.eq(venue_id))
        .order(dining_tables::label.asc())
        .select(DiningTable::as_select())
        .load(conn)?;
    let current: Vec<Bill> = bills::table
        .filter(bills::venue_id.eq(venue_id))
        .filter(bills::status.eq_any(["open", "paid"]))
        .order(bills::opened_at.asc())
        .select(Bill::as_select())
        .load(conn)?;
    let bill_ids: Vec<String> = current.iter().map(|b| b.id.clone()).collect();
    let mut items = group(
        bill_items::table
            .filter(bill_items::bill_id.eq_any(&bill_ids))
            .order(bill_items::position.asc())
            .select(BillItem::as_select())
            .load(conn)?,
        |i| i.bill_id.clone(),
    );
    let mut pays = group(
        payments::table.filter(payments::bill_id.eq_any(&bill_ids)).select(Payment::as_select()).load(conn)?,
        |p| p.bill_id.clone(),
    );
    let mut discounts = group(
        adjustment_lines::table
            .filter(adjustment_lines::bill_id.eq_any(&bill_ids))
            .select(AdjustmentLine::as_select())
            .load(conn)?,
        |a| a.bill_id.clone(),
    );
    let servers: HashMap<String, Staff> = staff::table
        .filter(staff::venue_id.eq(venue_id))
        .select(Staff::as_select())
        .load(conn)?
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    let calls = group(
        assistance_requests::table
            .filter(assistance_requests::venue_id.eq(venue_id))
            .filter(assistance_requests::status.eq("open"))
            .select(AssistanceRequest::as_select())
            .load(conn)?,
        |a| a.table_id.clone(),
    );
    // The newest open-or-paid bill of each table is its current one.
    let by_table: HashMap<String, Bill> = current.into_iter().map(|b| (b.table_id.clone(), b)).collect();
    tables
        .iter()
        .map(|table| {
            let open_calls = calls.get(&table.id).map_or(&[][..], Vec::as_slice);
            let mut last =
                open_calls.iter().map(|c| c.created_at).max().unwrap_or(table.created_at).max(table.created_at);
            let (status, bill) = match by_table.get(&table.id) {
                None => ("free", None),
                Some(bill) => {
                    last = last.max(bill.updated_at);
                    let record = BillRecord {
                        bill: bill.clone(),
                        venue: venue.clone(),
                        table: table.clone(),
                        server: bill.server_id.as_ref().and_then(|id| servers.get(id).cloned()),
                        items: items.remove(&bill.id).unwrap_or_default(),
                        payments: pays.remove(&bill.id).unwrap_or_default(),
                        parts: Vec::new(),
                        adjustments: Vec::new(),
                        adjustment_lines: discounts.remove(&bill.id).unwrap_or_default(),
                    };
                    let totals = record.state()?.totals;
                    let status = match bill.status.as_str() {
                        "paid" => "paid",
                        _ if totals.paid.get() > 0 => "partially_paid",
                        _ => "open",
                    };
                    let view = FloorBill {
                        id: bill.id.clone(),
                        total: totals.total.get(),
                        paid: totals.paid.get(),
                        pending: totals.pending.get(),
                        remaining: totals.remaining.get(),
                        tips: totals.tips.get(),
                    };
                    (status, Some(view))
                }
            };
            Ok(FloorTable {
                id: table.id.clone(),
                label: table.label.clone(),
                status,
                bill,
                open_assistance: open_calls.len(),
                last_activity_at: Timestamp(last),
            })
        })
        .collect()
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
    let venue_id = parse_id(&path, "venue")?;
    caller.0.require_venue(&venue_id, "venue")?;
    let tables = state.db.run(move |conn| floor(conn, &venue_id)).await?;
    Ok(Reply::ok(FloorView { tables })?.into_response())
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
    let venue_id = parse_id(&path, "venue")?;
    caller.0.require_venue(&venue_id, "venue")?;
    caller.0.require_role(&[Role::Manager])?;
    let page = PageRequest::from_query(&query)?;
    let (cursor, fetch) = (page.cursor.clone(), page.fetch());
    let rows: Vec<AuditEntry> = state
        .db
        .run(move |conn| {
            let mut q = audit_log::table.filter(audit_log::venue_id.eq(&venue_id)).into_boxed();
            if let Some(cursor) = cursor {
                q = q.filter(audit_log::id.lt(cursor));
            }
            Ok(q.order(audit_log::id.desc()).limit(fetch).select(AuditEntry::as_select()).load(conn)?)
        })
        .await?;
    let reply = page.reply(
        &rows,
        |e| &e.id,
        |e| AuditView {
            id: e.id.clone(),
            at: Timestamp(e.at),
            action: e.action.clone(),
            actor: AuditActor { id: e.actor_id.clone(), name: e.actor_name.clone(), role: e.actor_role.clone() },
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
    let id = parse_id(&path, "assistance request")?;
    let caller = caller.0;
    let request = state
        .db
        .write(move |conn| {
            let request: AssistanceRequest = assistance_requests::table
                .find(&id)
                .select(AssistanceRequest::as_select())
                .first(conn)
                .optional()?
                .ok_or_else(|| ApiError::not_found("assistance request"))?;
            caller.require_venue(&request.venue_id, "assistance request")?;
            caller.require_role(STAFF)?;
            if request.status == "open" {
                let now = db::now();
                diesel::update(assistance_requests::table.find(&request.id))
                    .set((
                        assistance_requests::status.eq("resolved"),
                        assistance_requests::resolved_at.eq(now),
                        assistance_requests::resolved_by.eq(caller.actor_name()),
                    ))
                    .execute(conn)?;
                audit::record(
                    conn,
                    &caller,
                    Entry {
                        action: "assistance.resolved",
                        bill_id: request.bill_id.as_deref(),
                        subject_id: Some(&request.id),
                        ..Entry::default()
                    },
                )?;
                let resolved = assistance_requests::table
                    .find(&request.id)
                    .select(AssistanceRequest::as_select())
                    .first::<AssistanceRequest>(conn)?;
                emit(
                    conn,
                    &request.venue_id,
                    "assistance.resolved",
                    serde_json::json!({"assistance": assistance_view(&resolved)}),
                )?;
            }
            Ok(assistance_requests::table
                .find(&request.id)
                .select(AssistanceRequest::as_select())
                .first::<AssistanceRequest>(conn)?)
        })
        .await?;
    Ok(Reply::ok(assistance_view(&request))?.into_response())
}

/// A guest's call for a server.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssistanceView {
    pub id: String,
    pub table_id: String,
    pub bill_id: Option<String>,
    pub reason: Option<String>,
    /// `open` or `resolved`.
    pub status: String,
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
        status: a.status.clone(),
        created_at: Timestamp(a.created_at),
        resolved_at: a.resolved_at.map(Timestamp),
        resolved_by: a.resolved_by.clone(),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    date: String,
}

/// A day's sales of the venue, in its time zone.
#[derive(Debug, Serialize, ToSchema)]
struct DailyReport {
    date: String,
    timezone: String,
    currency: String,
    from: Timestamp,
    to: Timestamp,
    totals: Figures,
    by_server: Vec<ServerFigures>,
    by_provider: Vec<ProviderFigures>,
}

#[derive(Debug, Serialize, ToSchema)]
struct ServerFigures {
    /// `null` for payments of bills without a server.
    server: Option<StaffRef>,
    #[serde(flatten)]
    figures: Figures,
}

#[derive(Debug, Serialize, ToSchema)]
struct ProviderFigures {
    provider: String,
    #[serde(flatten)]
    figures: Figures,
}

#[derive(Debug, Default, Serialize, ToSchema)]
struct Figures {
    payments: u32,
    sales: i64,
    tips: i64,
    refunds: i64,
}

impl Figures {
    fn add_payment(&mut self, p: &Payment) {
        self.payments += 1;
        self.sales += p.amount;
        self.tips += p.tip_amount;
    }
}

/// The UTC bounds of a local calendar day in `timezone`.
fn day_bounds(date: NaiveDate, timezone: &str) -> Result<(NaiveDateTime, NaiveDateTime), ApiError> {
    let tz: chrono_tz::Tz = timezone.parse().map_err(|_| ApiError::internal("stored time zone is invalid"))?;
    let start_of = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map(|t| t.naive_utc())
            .ok_or_else(|| ApiError::internal("a day without a start"))
    };
    let next = date.succ_opt().ok_or_else(|| ApiError::invalid("date out of range"))?;
    Ok((start_of(date)?, start_of(next)?))
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
    let venue_id = parse_id(&path, "venue")?;
    caller.0.require_venue(&venue_id, "venue")?;
    caller.0.require_role(&[Role::Manager])?;
    let date = NaiveDate::parse_from_str(&query.date, "%Y-%m-%d")
        .map_err(|_| ApiError::bad_request("date must be YYYY-MM-DD"))?;
    let report = state
        .db
        .run(move |conn| {
            let venue: Venue = venues::table.find(&venue_id).select(Venue::as_select()).first(conn)?;
            let (start, end) = day_bounds(date, &venue.timezone)?;
            let paid: Vec<Payment> = payments::table
                .filter(payments::venue_id.eq(&venue_id))
                .filter(payments::succeeded_at.ge(start))
                .filter(payments::succeeded_at.lt(end))
                .select(Payment::as_select())
                .load(conn)?;
            let refunded: Vec<(Refund, Payment)> = refunds::table
                .inner_join(payments::table)
                .filter(refunds::venue_id.eq(&venue_id))
                .filter(refunds::status.eq("succeeded"))
                .filter(refunds::decided_at.ge(start))
                .filter(refunds::decided_at.lt(end))
                .select((Refund::as_select(), Payment::as_select()))
                .load(conn)?;
            let names: HashMap<String, String> = staff::table
                .filter(staff::venue_id.eq(&venue_id))
                .select((staff::id, staff::name))
                .load::<(String, String)>(conn)?
                .into_iter()
                .collect();
            let (mut total, mut by_server, mut by_provider) =
                (Figures::default(), HashMap::<Option<String>, Figures>::new(), HashMap::<String, Figures>::new());
            for p in &paid {
                total.add_payment(p);
                by_server.entry(p.server_id.clone()).or_default().add_payment(p);
                by_provider.entry(p.provider.clone()).or_default().add_payment(p);
            }
            for (r, p) in &refunded {
                total.refunds += r.amount;
                by_server.entry(p.server_id.clone()).or_default().refunds += r.amount;
                by_provider.entry(p.provider.clone()).or_default().refunds += r.amount;
            }
            let mut servers: Vec<ServerFigures> = by_server
                .into_iter()
                .map(|(id, figures)| ServerFigures {
                    server: id.map(|id| StaffRef { name: names.get(&id).cloned().unwrap_or_default(), id: Some(id) }),
                    figures,
                })
                .collect();
            servers.sort_by_key(|s| s.server.as_ref().map(|r| r.name.clone()).unwrap_or_default());
            let mut providers: Vec<ProviderFigures> =
                by_provider.into_iter().map(|(provider, figures)| ProviderFigures { provider, figures }).collect();
            providers.sort_by_key(|p| p.provider.clone());
            Ok(DailyReport {
                date: date.to_string(),
                timezone: venue.timezone,
                currency: venue.currency,
                from: Timestamp(start),
                to: Timestamp(end),
                totals: total,
                by_server: servers,
                by_provider: providers,
            })
        })
        .await?;
    Ok(Reply::ok(report)?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_days_in_utc() {
        let day = NaiveDate::from_ymd_opt(2026, 7, 14).expect("date");
        let (start, end) = day_bounds(day, "Europe/Paris").expect("bounds");
        assert_eq!(start.to_string(), "2026-07-13 22:00:00");
        assert_eq!(end.to_string(), "2026-07-14 22:00:00");
        // The day clocks go back is 25 hours long.
        let (start, end) =
            day_bounds(NaiveDate::from_ymd_opt(2026, 10, 25).expect("date"), "Europe/Paris").expect("bounds");
        assert_eq!((end - start).num_hours(), 25);
    }
}
