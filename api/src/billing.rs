//! A stored bill priced through `domain` and its ledger, and the views of it that the API
//! renders.
//!
//! A bill is always read with the same two statements whatever its number of items, so the
//! guest's page costs the same for a coffee and for a banquet.

use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;

use tablepay_domain::ledger::{
    Accounts, Ledger, LedgerError, LedgerLine, LedgerPart, LedgerPayment, LedgerTender, SplitKind,
};
use tablepay_domain::{
    AdjustmentStatus, BillStatus, Currency, Fraction, ItemStatus, Line, MinorUnit, PaymentStatus, PricedBill,
    PricingRules, Role, TaxMode, TenderKind, TenderStatus, Totals, price_bill,
};

use crate::app::{AppError, Code};
use tablepay_store::DbConn;
use tablepay_store::rows::{Adjustment, AdjustmentLine, BillItem, Tender, Venue};

pub use tablepay_store::bills::BillRecord;

/// Loads a bill with everything the ledger and its views need (two statements).
pub fn load_bill(conn: &mut DbConn, bill_id: &str) -> Result<Option<BillRecord>, AppError> {
    Ok(tablepay_store::bills::load(conn, bill_id)?)
}

pub fn pricing_rules(venue: &Venue) -> Result<PricingRules, AppError> {
    let tax_mode = TaxMode::parse(&venue.tax_mode).ok_or_else(|| AppError::internal("stored tax mode is invalid"))?;
    Ok(PricingRules {
        tax_mode,
        tax_rate_bps: u32::try_from(venue.tax_rate_bps)
            .map_err(|_| AppError::internal("stored tax rate is invalid"))?,
        service_charge_bps: u32::try_from(venue.service_charge_bps)
            .map_err(|_| AppError::internal("stored service charge is invalid"))?,
    })
}

pub fn currency(venue: &Venue) -> Result<Currency, AppError> {
    venue.currency.parse().map_err(|_| AppError::internal("stored currency is invalid"))
}

/// Prices the active items. A bill that cannot be priced (amounts past the supported range)
/// is refused with 422 before it is ever stored, so this only fails on data we wrote.
pub fn price(venue: &Venue, items: &[BillItem], discounts: &[AdjustmentLine]) -> Result<PricedBill, AppError> {
    let lines: Vec<Line> = items
        .iter()
        .filter(|i| i.status.is_active())
        .map(|i| Line {
            quantity: i.quantity,
            unit_price: MinorUnit(i.unit_price),
            tax_rate_bps: i.tax_rate_bps.and_then(|r| u32::try_from(r).ok()),
            discount: MinorUnit(discounts.iter().filter(|d| d.item_id == i.id).map(|d| d.amount).sum()),
        })
        .collect();
    price_bill(pricing_rules(venue)?, &lines, MinorUnit::ZERO)
        .map_err(|e| AppError::invalid(format!("the bill cannot be priced: {e}")))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffRef {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemView {
    pub id: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub tax_rate_bps: u32,
    pub external_ref: Option<String>,
    /// Payable amount of the whole line: its price with its part of tax, service charge and
    /// discounts. The active lines' amounts sum to `totals.total`.
    pub amount: MinorUnit,
    pub tax: MinorUnit,
    pub paid_amount: MinorUnit,
    pub held_amount: MinorUnit,
    pub status: ItemStatus,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BillView {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub venue_id: Option<String>,
    pub table_id: String,
    pub table_label: String,
    pub external_ref: Option<String>,
    pub status: BillStatus,
    pub currency: &'static str,
    pub server: Option<StaffRef>,
    pub version: i64,
    pub items: Vec<ItemView>,
    pub adjustments: Vec<AdjustmentView>,
    /// Money taken outside tablepay and recorded on the bill (cash, card terminal, voucher).
    pub tenders: Vec<TenderView>,
    pub totals: Totals,
    pub split: Option<SplitView>,
    pub payments: Vec<PaymentSummary>,
    pub opened_at: Timestamp,
    pub paid_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    /// For a `merged` bill: the bill that took everything on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
}

/// Who is looking: staff and POS see ids; a guest sees names only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Venue,
    Guest,
}

/// The bill's ledger and its views, for a stored bill.
pub trait BillRecordExt {
    /// Prices the bill and accounts its payments. Fails with 409 when the bill would be
    /// worth less than what is paid or held (a change that must be refused).
    fn state(&self) -> Result<Ledger, AppError>;
    fn view(&self, audience: Audience) -> Result<BillView, AppError>;
}

impl BillRecordExt for BillRecord {
    fn state(&self) -> Result<Ledger, AppError> {
        let priced = price(&self.venue, &self.items, &self.adjustment_lines)?;
        let lines: Vec<LedgerLine> = self
            .items
            .iter()
            .filter(|i| i.status.is_active())
            .map(|i| LedgerLine { item_id: i.id.clone(), quantity: i.quantity })
            .collect();
        let round = self.bill.split_round;
        let payments: Vec<LedgerPayment> = self
            .payments
            .iter()
            .map(|p| LedgerPayment {
                id: p.id.clone(),
                status: p.status,
                amount: MinorUnit(p.amount),
                tip: MinorUnit(p.tip_amount),
                refunded: MinorUnit(p.refunded_amount),
                equal_count: (p.split_type == SplitKind::Equal && p.split_round == round)
                    .then(|| u32::try_from(p.equal_count.unwrap_or(0)).unwrap_or(0)),
            })
            .collect();
        let parts: Vec<LedgerPart> = self
            .parts
            .iter()
            .map(|p| LedgerPart {
                payment_id: p.payment_id.clone(),
                item_id: p.item_id.clone(),
                fraction: Fraction { num: p.fraction_num, den: p.fraction_den },
                amount: MinorUnit(p.amount),
            })
            .collect();
        let tenders: Vec<LedgerTender> = self
            .tenders
            .iter()
            .filter(|t| t.status == TenderStatus::Recorded)
            .map(|t| LedgerTender { amount: MinorUnit(t.amount), tip: MinorUnit(t.tip_amount) })
            .collect();
        let taken_off = MinorUnit(
            self.adjustments
                .iter()
                .filter(|a| a.kind == REFUND_ADJUSTMENT && a.status == AdjustmentStatus::Applied)
                .map(|a| a.amount)
                .sum(),
        );
        let accounts = Accounts {
            payments: &payments,
            parts: &parts,
            tenders: &tenders,
            taken_off,
            equal_parts: self.bill.equal_parts.and_then(|p| u32::try_from(p).ok()),
        };
        Ledger::account(priced, &lines, &accounts).map_err(|e| match e {
            LedgerError::BillOversubscribed => AppError::conflict(Code::Conflict, e.to_string()),
            LedgerError::LineOversubscribed => AppError::conflict(Code::ItemPaid, e.to_string()),
            LedgerError::BadPart | LedgerError::Overflow => AppError::internal(format!("stored bill: {e}")),
        })
    }

    fn view(&self, audience: Audience) -> Result<BillView, AppError> {
        let state = self.state()?;
        let rules = pricing_rules(&self.venue)?;
        let mut priced_lines = state.priced.lines.iter();
        let items = self
            .items
            .iter()
            .map(|item| {
                let line = if item.status.is_active() { priced_lines.next().copied() } else { None };
                let taken = state.lines.get(&item.id);
                ItemView {
                    id: item.id.clone(),
                    name: item.name.clone(),
                    quantity: item.quantity,
                    unit_price: item.unit_price,
                    tax_rate_bps: line.map_or_else(
                        || item.tax_rate_bps.and_then(|r| u32::try_from(r).ok()).unwrap_or(rules.tax_rate_bps),
                        |l| l.tax_rate_bps,
                    ),
                    external_ref: item.external_ref.clone(),
                    amount: line.map_or(MinorUnit::ZERO, |l| l.amount),
                    tax: line.map_or(MinorUnit::ZERO, |l| l.tax),
                    paid_amount: taken.map_or(MinorUnit::ZERO, |t| t.paid),
                    held_amount: taken.map_or(MinorUnit::ZERO, |t| t.held),
                    status: item.status,
                }
            })
            .collect();
        let guest = audience == Audience::Guest;
        let split = state.equal.parts.map(|parts| SplitView {
            kind: "equal",
            parts,
            paid_parts: state.equal.paid,
            taken_parts: state.equal.taken,
            open_shares: state.open_shares(),
        });
        let payments = self
            .payments
            .iter()
            .map(|p| PaymentSummary {
                id: p.id.clone(),
                status: p.status,
                amount: p.amount,
                tip_amount: p.tip_amount,
                refunded_amount: p.refunded_amount,
                split_type: p.split_type,
                created_at: Timestamp(p.created_at),
            })
            .collect();
        Ok(BillView {
            id: self.bill.id.clone(),
            venue_id: (!guest).then(|| self.bill.venue_id.clone()),
            table_id: self.bill.table_id.clone(),
            table_label: self.table.label.clone(),
            external_ref: self.bill.external_ref.clone(),
            status: self.bill.status,
            currency: currency(&self.venue)?.code(),
            server: self.server.as_ref().map(|s| StaffRef { id: (!guest).then(|| s.id.clone()), name: s.name.clone() }),
            version: self.bill.version,
            items,
            adjustments: self.adjustments.iter().map(|a| AdjustmentView::from_row(a, audience)).collect(),
            tenders: self.tenders.iter().map(|t| TenderView::from_row(t, audience)).collect(),
            totals: state.totals,
            split,
            payments,
            opened_at: Timestamp(self.bill.opened_at),
            paid_at: self.bill.paid_at.map(Timestamp),
            closed_at: self.bill.closed_at.map(Timestamp),
            merged_into: self.bill.merged_into.clone(),
        })
    }
}

/// The `kind` of an adjustment that records a refund taken off the bill.
pub const REFUND_ADJUSTMENT: &str = "refund";

/// A bill being split in equal shares of what was left when the split began: `parts` fixed by
/// its first share, how many are paid, how many are paid or held, and what each open share
/// (neither paid nor held) costs now. Open shares follow later changes of the bill, so the
/// last one always ends it at zero.
#[derive(Debug, Serialize, ToSchema)]
pub struct SplitView {
    #[serde(rename = "type")]
    #[schema(rename = "type", value_type = String, example = "equal")]
    pub kind: &'static str,
    pub parts: u32,
    pub paid_parts: u32,
    pub taken_parts: u32,
    /// The amount of each share still open, first to last; empty once every share is paid or held.
    #[schema(value_type = Vec<i64>)]
    pub open_shares: Vec<MinorUnit>,
}

/// Money taken outside tablepay and recorded on a bill.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenderView {
    pub id: String,
    pub bill_id: String,
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub kind: TenderKind,
    pub amount: i64,
    pub tip_amount: i64,
    pub reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub status: TenderStatus,
    /// Who recorded it (no id for a guest's eyes).
    pub recorded_by: StaffRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub void_reason: Option<String>,
    pub created_at: Timestamp,
    pub voided_at: Option<Timestamp>,
}

impl TenderView {
    pub fn from_row(t: &Tender, audience: Audience) -> TenderView {
        let staff = audience == Audience::Venue;
        TenderView {
            id: t.id.clone(),
            bill_id: t.bill_id.clone(),
            kind: t.kind,
            amount: t.amount,
            tip_amount: t.tip_amount,
            reference: if staff { t.reference.clone() } else { None },
            note: if staff { t.note.clone() } else { None },
            status: t.status,
            recorded_by: StaffRef { id: staff.then(|| t.recorded_by_id.clone()), name: t.recorded_by_name.clone() },
            void_reason: if staff { t.void_reason.clone() } else { None },
            created_at: Timestamp(t.created_at),
            voided_at: t.voided_at.map(Timestamp),
        }
    }
}

/// Who did something: `{id, name, role}` (no id for a guest's eyes).
#[derive(Debug, Serialize, ToSchema)]
pub struct Actor {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    pub role: Role,
}

/// A comp or discount on a bill.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdjustmentView {
    pub id: String,
    pub bill_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub item_id: Option<String>,
    pub amount: i64,
    pub percent_bps: Option<i32>,
    pub reason: String,
    pub status: AdjustmentStatus,
    pub created_by: Actor,
    pub approved_by: Option<Actor>,
    pub created_at: Timestamp,
}

impl AdjustmentView {
    pub fn from_row(a: &Adjustment, audience: Audience) -> AdjustmentView {
        let staff = audience == Audience::Venue;
        AdjustmentView {
            id: a.id.clone(),
            bill_id: a.bill_id.clone(),
            kind: a.kind.clone(),
            item_id: a.item_id.clone(),
            amount: a.amount,
            percent_bps: a.percent_bps,
            reason: a.reason.clone(),
            status: a.status,
            created_by: Actor {
                id: staff.then(|| a.created_by_id.clone()),
                name: a.created_by_name.clone(),
                role: a.created_by_role,
            },
            approved_by: a.approved_by_name.as_ref().map(|name| Actor {
                id: if staff { a.approved_by_id.clone() } else { None },
                name: name.clone(),
                role: Role::Manager,
            }),
            created_at: Timestamp(a.created_at),
        }
    }
}

/// A payment as listed on its bill.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentSummary {
    pub id: String,
    pub status: PaymentStatus,
    pub amount: i64,
    pub tip_amount: i64,
    /// What has been refunded of `amount + tip_amount` so far.
    pub refunded_amount: i64,
    pub split_type: SplitKind,
    pub created_at: Timestamp,
}

/// A UTC time rendered as RFC 3339 (`2026-11-23T15:26:05.123Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp(pub NaiveDateTime);

/// In the OpenAPI document: an RFC 3339 date-time string.
impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::DateTime)))
            .into()
    }
}

impl ToSchema for Timestamp {}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    }
}
