//! Use case: what staff watch. The floor (every table with its current bill, priced by the
//! ledger), the audit log, and a day's sales in the venue's time zone.
//!
//! The floor and the report read a fixed number of statements whatever the number of tables
//! and bills (a test counts them): everything is read at once, then grouped here.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use serde::Serialize;
use tablepay_domain::{BillStatus, MinorUnit};
use tablepay_store::Store;
use tablepay_store::floor::{self as stored, FloorRows};
use tablepay_store::rows::{
    Adjustment, AdjustmentLine, AssistanceRequest, AuditEntry, Bill, BillItem, DiningTable, Payment, Staff, Tender,
};
use utoipa::ToSchema;

use crate::app::{AppError, AppResult};
use crate::billing::{BillRecord, BillRecordExt, StaffRef, Timestamp};
use tablepay_domain::VenueId;

#[derive(Debug, Serialize, ToSchema)]
pub struct FloorBill {
    id: String,
    total: i64,
    paid: i64,
    pending: i64,
    remaining: i64,
    tips: i64,
    /// Refunds that went through (already off `paid`).
    refunded: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FloorTable {
    id: String,
    label: String,
    status: &'static str,
    bill: Option<FloorBill>,
    open_assistance: usize,
    last_activity_at: Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FloorView {
    tables: Vec<FloorTable>,
}

fn group<T>(rows: Vec<T>, key: impl Fn(&T) -> String) -> HashMap<String, Vec<T>> {
    let mut map: HashMap<String, Vec<T>> = HashMap::new();
    for row in rows {
        map.entry(key(&row)).or_default().push(row);
    }
    map
}

/// The venue's floor: every table, by label, with its current bill and open calls.
pub async fn floor(store: &Store, venue_id: VenueId) -> AppResult<FloorView> {
    store.run(move |conn| -> AppResult<_> { Floor::new(stored::load(conn, venue_id.as_str())?).view() }).await
}

/// The floor's rows grouped by the bill or the table they belong to.
struct Floor {
    rows: FloorRows,
    items: HashMap<String, Vec<BillItem>>,
    payments: HashMap<String, Vec<Payment>>,
    discounts: HashMap<String, Vec<AdjustmentLine>>,
    refunds: HashMap<String, Vec<Adjustment>>,
    tenders: HashMap<String, Vec<Tender>>,
    servers: HashMap<String, Staff>,
    calls: HashMap<String, Vec<AssistanceRequest>>,
}

impl Floor {
    fn new(mut rows: FloorRows) -> Floor {
        Floor {
            items: group(std::mem::take(&mut rows.items), |i| i.bill_id.clone()),
            payments: group(std::mem::take(&mut rows.payments), |p| p.bill_id.clone()),
            discounts: group(std::mem::take(&mut rows.adjustment_lines), |a| a.bill_id.clone()),
            refunds: group(std::mem::take(&mut rows.refund_adjustments), |a| a.bill_id.clone()),
            tenders: group(std::mem::take(&mut rows.tenders), |t| t.bill_id.clone()),
            servers: std::mem::take(&mut rows.staff).into_iter().map(|s| (s.id.clone(), s)).collect(),
            calls: group(std::mem::take(&mut rows.calls), |a| a.table_id.clone()),
            rows,
        }
    }

    fn view(mut self) -> AppResult<FloorView> {
        // The newest open-or-paid bill of each table is its current one.
        let by_table: HashMap<String, Bill> =
            std::mem::take(&mut self.rows.bills).into_iter().map(|b| (b.table_id.clone(), b)).collect();
        let tables = std::mem::take(&mut self.rows.tables);
        let tables =
            tables.iter().map(|table| self.table(table, by_table.get(&table.id))).collect::<AppResult<Vec<_>>>()?;
        Ok(FloorView { tables })
    }

    fn table(&mut self, table: &DiningTable, bill: Option<&Bill>) -> AppResult<FloorTable> {
        let open_calls = self.calls.get(&table.id).map_or(&[][..], Vec::as_slice);
        let open_assistance = open_calls.len();
        let mut last = open_calls.iter().map(|c| c.created_at).max().unwrap_or(table.created_at).max(table.created_at);
        let (status, bill) = match bill {
            None => ("free", None),
            Some(bill) => {
                last = last.max(bill.updated_at);
                let (status, view) = self.bill(table, bill)?;
                (status, Some(view))
            }
        };
        Ok(FloorTable {
            id: table.id.clone(),
            label: table.label.clone(),
            status,
            bill,
            open_assistance,
            last_activity_at: Timestamp(last),
        })
    }

    /// The table's status from its bill (`paid`, `partially_paid` or `open`) and the bill's figures.
    fn bill(&mut self, table: &DiningTable, bill: &Bill) -> AppResult<(&'static str, FloorBill)> {
        let record = BillRecord {
            bill: bill.clone(),
            venue: self.rows.venue.clone(),
            table: table.clone(),
            server: bill.server_id.as_ref().and_then(|id| self.servers.get(id).cloned()),
            items: self.items.remove(&bill.id).unwrap_or_default(),
            payments: self.payments.remove(&bill.id).unwrap_or_default(),
            parts: Vec::new(),
            adjustments: self.refunds.remove(&bill.id).unwrap_or_default(),
            adjustment_lines: self.discounts.remove(&bill.id).unwrap_or_default(),
            tenders: self.tenders.remove(&bill.id).unwrap_or_default(),
        };
        let totals = record.state()?.totals;
        let status = match bill.status {
            BillStatus::Paid => "paid",
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
            refunded: totals.refunded.get(),
        };
        Ok((status, view))
    }
}

/// A page of the venue's audit log, newest first: `fetch` entries after `cursor`.
pub async fn audit_log(
    store: &Store,
    venue_id: VenueId,
    cursor: Option<String>,
    fetch: i64,
) -> AppResult<Vec<AuditEntry>> {
    store
        .run(move |conn| -> AppResult<_> { Ok(stored::audit_page(conn, venue_id.as_str(), cursor.as_deref(), fetch)?) })
        .await
}

/// A day's sales of the venue, in its time zone.
#[derive(Debug, Serialize, ToSchema)]
pub struct DailyReport {
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
pub struct ServerFigures {
    /// `null` for payments of bills without a server.
    server: Option<StaffRef>,
    #[serde(flatten)]
    figures: Figures,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderFigures {
    provider: String,
    #[serde(flatten)]
    figures: Figures,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Figures {
    payments: u32,
    sales: i64,
    tips: i64,
    refunds: i64,
}

impl Figures {
    fn add_payment(&mut self, p: &Payment) -> AppResult<()> {
        self.payments += 1;
        self.sales = add(self.sales, p.amount)?;
        self.tips = add(self.tips, p.tip_amount)?;
        Ok(())
    }

    fn add_refund(&mut self, amount: i64) -> AppResult<()> {
        self.refunds = add(self.refunds, amount)?;
        Ok(())
    }
}

/// A report's running sum: never wraps, never passes what JSON readers hold exactly.
fn add(sum: i64, amount: i64) -> AppResult<i64> {
    Ok(MinorUnit(sum)
        .checked_add(MinorUnit(amount))
        .map_err(|e| AppError::invalid(format!("the report's sums: {e}")))?
        .get())
}

/// The UTC bounds of a local calendar day in `timezone`.
fn day_bounds(date: NaiveDate, timezone: &str) -> AppResult<(NaiveDateTime, NaiveDateTime)> {
    let tz: chrono_tz::Tz = timezone.parse().map_err(|_| AppError::internal("stored time zone is invalid"))?;
    let start_of = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map(|t| t.naive_utc())
            .ok_or_else(|| AppError::internal("a day without a start"))
    };
    let next = date.succ_opt().ok_or_else(|| AppError::invalid("date out of range"))?;
    Ok((start_of(date)?, start_of(next)?))
}

/// Sales, tips and refunds of the venue's local day `date`, per server and per provider.
pub async fn daily_report(store: &Store, venue_id: VenueId, date: NaiveDate) -> AppResult<DailyReport> {
    store
        .run(move |conn| -> AppResult<_> {
            let venue = stored::venue(conn, venue_id.as_str())?;
            let (start, end) = day_bounds(date, &venue.timezone)?;
            let activity = stored::activity(conn, venue_id.as_str(), start, end)?;
            let (mut totals, mut by_server, mut by_provider) =
                (Figures::default(), HashMap::<Option<String>, Figures>::new(), HashMap::<String, Figures>::new());
            for p in &activity.payments {
                totals.add_payment(p)?;
                by_server.entry(p.server_id.clone()).or_default().add_payment(p)?;
                by_provider.entry(p.provider.clone()).or_default().add_payment(p)?;
            }
            for (r, p) in &activity.refunds {
                totals.add_refund(r.amount)?;
                by_server.entry(p.server_id.clone()).or_default().add_refund(r.amount)?;
                by_provider.entry(p.provider.clone()).or_default().add_refund(r.amount)?;
            }
            let names = &activity.staff_names;
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
                totals,
                by_server: servers,
                by_provider: providers,
            })
        })
        .await
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
