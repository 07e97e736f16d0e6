//! Comps and discounts: what one takes off the bill and how that lowers its lines. A comp
//! makes an item (or the whole bill) free; a discount takes an amount or a percentage. A
//! server applies them within the venue's comp limit at once; above it they wait for a
//! manager (see [`crate::app::approvals`]).

use tablepay_domain::{AdjustmentStatus, Approval, Fraction, ItemId, MinorUnit, allocate};
use tablepay_store::rows::{Adjustment, AdjustmentLine};

use crate::app::access::Permission;
use tablepay_domain::{AdjustmentId, BillId};
use tablepay_store::{DbConn, Store, adjustments as stored, now};

use crate::app::access::VenueCaller;
use crate::app::approvals::{self, Decided, Outcome, Pending, Request};
use crate::app::bills::lock_venue_bill;
use crate::app::events::bill_event;
use crate::app::outcomes::settle_if_paid;
use crate::app::venues::MAX_BPS;
use crate::app::{AppError, AppResult, Code};
use crate::audit::{self, Entry};
use crate::billing::{AdjustmentView, Audience, BillRecord, BillRecordExt, REFUND_ADJUSTMENT, load_bill};
use tablepay_store::new_id;

/// What kind of reduction: a comp (free) or a discount (an amount or a percentage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Comp,
    Discount,
}

impl Kind {
    pub fn parse(text: &str) -> AppResult<Kind> {
        match text {
            "comp" => Ok(Kind::Comp),
            "discount" => Ok(Kind::Discount),
            _ => Err(AppError::invalid("type must be \"comp\" or \"discount\"")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Comp => "comp",
            Kind::Discount => "discount",
        }
    }
}

/// A comp or discount as requested; the reason was checked at the edge.
#[derive(Debug)]
pub struct NewAdjustment {
    pub kind: Kind,
    /// An item of the bill, as sent; none for the whole bill.
    pub item_id: Option<String>,
    pub amount: Option<i64>,
    pub percent_bps: Option<i64>,
    pub reason: String,
}

/// Requests a comp or discount on a bill of the caller's venue: applied at once within the
/// caller's limit, else waiting for a manager (refused now if it could never be applied).
pub async fn request(
    store: &Store,
    caller: VenueCaller,
    bill_id: BillId,
    new: NewAdjustment,
) -> AppResult<Outcome<AdjustmentView>> {
    store.write(move |conn| -> AppResult<_> { request_in(conn, &caller, bill_id.as_str(), new) }).await
}

fn request_in(
    conn: &mut DbConn,
    caller: &VenueCaller,
    bill_id: &str,
    new: NewAdjustment,
) -> AppResult<Outcome<AdjustmentView>> {
    let record = lock_venue_bill(conn, bill_id, caller)?;
    caller.require(Permission::ServeGuests)?;
    require_open(&record)?;
    let item_id = new.item_id.as_deref().map(|raw| active_item(&record, raw)).transpose()?;
    let (amount, percent_bps) = reduction(&record, &new, item_id.as_deref())?;
    let counted = record
        .adjustments
        .iter()
        .filter(|a| a.created_by_id == caller.actor_id())
        .filter(|a| a.kind != REFUND_ADJUSTMENT && a.status.counts_against_limit())
        .map(|a| a.amount);
    let status: AdjustmentStatus = approvals::request_status(caller, record.venue.server_comp_limit, counted, amount)?;
    let applied = !status.awaits_approval();
    let adjustment = Adjustment {
        id: new_id(),
        venue_id: record.venue.id.clone(),
        bill_id: record.bill.id.clone(),
        item_id,
        kind: new.kind.as_str().to_owned(),
        amount,
        percent_bps,
        reason: new.reason,
        status,
        created_by_id: caller.actor_id().to_owned(),
        created_by_name: caller.actor_name().to_owned(),
        created_by_role: caller.role,
        approved_by_id: None,
        approved_by_name: None,
        decided_at: applied.then(now),
        created_at: now(),
        refund_id: None,
    };
    stored::insert(conn, &adjustment)?;
    audit_request(conn, caller, &adjustment, applied)?;
    let view = AdjustmentView::from_row(&adjustment, Audience::Venue);
    if applied {
        let updated = apply(conn, &record, &adjustment)?;
        bill_event(conn, &updated, "bill.updated")?;
        Ok(Outcome::Done(view))
    } else {
        // Refuse now what could never be approved.
        stored::dry_run(conn, |c| apply(c, &record, &adjustment).map(drop))?;
        // The bill's version moves with every change of it, a request waiting on it included.
        tablepay_store::bills::bump(conn, &record.bill.id, adjustment.created_at)?;
        approvals::announce_pending(conn, &record.venue.id, Adjustment::NOUN, &view)?;
        Ok(Outcome::Pending(view))
    }
}

fn audit_request(conn: &mut DbConn, caller: &VenueCaller, adjustment: &Adjustment, applied: bool) -> AppResult<()> {
    audit::record(
        conn,
        caller,
        Entry {
            action: if applied { "adjustment.applied" } else { "adjustment.requested" },
            bill_id: Some(&adjustment.bill_id),
            subject_id: Some(&adjustment.id),
            amount: Some(adjustment.amount),
            reason: Some(&adjustment.reason),
            details: serde_json::json!({
                "type": adjustment.kind,
                "item_id": adjustment.item_id,
                "percent_bps": adjustment.percent_bps,
            }),
            ..Entry::default()
        },
    )?;
    Ok(())
}

/// Only an open bill is comped or discounted.
fn require_open(record: &BillRecord) -> AppResult<()> {
    if record.bill.status.accepts_changes() {
        Ok(())
    } else {
        Err(AppError::conflict(Code::BillNotOpen, format!("the bill is {}", record.bill.status)))
    }
}

/// The canonical id of an active item of the bill named by `raw`.
fn active_item(record: &BillRecord, raw: &str) -> AppResult<String> {
    let id = ItemId::parse(raw).map_err(|_| AppError::invalid("item_id is not an item of this bill"))?.into_inner();
    record
        .items
        .iter()
        .any(|i| i.id == id && i.status.is_active())
        .then_some(id)
        .ok_or_else(|| AppError::invalid("item_id is not an active item of this bill"))
}

/// What the request takes off (and the percentage it was asked as), within what is left to
/// discount of the item or the bill.
fn reduction(record: &BillRecord, new: &NewAdjustment, item_id: Option<&str>) -> AppResult<(i64, Option<i32>)> {
    let prices = discountable(record)?;
    let base: i64 = match item_id {
        Some(id) => prices.iter().find(|(i, _)| i == id).map_or(0, |(_, p)| *p),
        None => prices.iter().map(|(_, p)| p).sum(),
    };
    let (amount, percent) = match (new.kind, new.amount, new.percent_bps) {
        (Kind::Comp, None, None) => (base, None),
        (Kind::Comp, _, _) => return Err(AppError::invalid("a comp takes no amount: it makes the item or bill free")),
        (Kind::Discount, Some(a), None) if a >= 1 => (a, None),
        (Kind::Discount, None, Some(p)) if (1..=MAX_BPS).contains(&p) => {
            let share = u32::try_from(p).map_err(|_| AppError::invalid("amount out of range"))?;
            let amount = MinorUnit(base).percent_bps(share).map_err(|_| AppError::invalid("amount out of range"))?;
            (amount.get(), i32::try_from(p).ok())
        }
        _ => {
            return Err(AppError::invalid(format!(
                "a discount takes either amount ≥ 1 or percent_bps from 1 to {MAX_BPS}"
            )));
        }
    };
    if amount < 1 {
        return Err(AppError::invalid("there is nothing left to discount"));
    }
    if amount > base {
        return Err(AppError::conflict(
            Code::Conflict,
            format!("the adjustment exceeds what is left to discount ({base})"),
        ));
    }
    Ok((amount, percent))
}

/// The price still discountable on each active line: gross minus what discounts took.
fn discountable(record: &BillRecord) -> AppResult<Vec<(String, i64)>> {
    let state = record.state()?;
    let mut lines = state.priced.lines.iter();
    Ok(record
        .items
        .iter()
        .filter(|i| i.status.is_active())
        .filter_map(|i| lines.next().map(|l| (i.id.clone(), l.gross.get() - l.discount.get())))
        .collect())
}

/// How an adjustment lowers the lines. A bill-wide one is spread over what is not yet paid
/// or held, so it never lowers a line below what guests already took of it.
fn spread(record: &BillRecord, adjustment: &Adjustment) -> AppResult<Vec<AdjustmentLine>> {
    let line = |item_id: &str, amount: i64| AdjustmentLine {
        adjustment_id: adjustment.id.clone(),
        bill_id: record.bill.id.clone(),
        item_id: item_id.to_owned(),
        amount,
    };
    if let Some(item_id) = &adjustment.item_id {
        return Ok(vec![line(item_id, adjustment.amount)]);
    }
    let state = record.state()?;
    let open: Vec<(String, i64)> = discountable(record)?
        .into_iter()
        .map(|(id, price)| {
            let claimed = state.lines.get(&id).map_or(Fraction::ZERO, |s| s.claimed);
            let free = i128::from(price) * i128::from(claimed.den - claimed.num) / i128::from(claimed.den.max(1));
            (id, i64::try_from(free).unwrap_or(0))
        })
        .collect();
    let room: i64 = open.iter().map(|(_, w)| w).sum();
    if room < adjustment.amount {
        return Err(below_paid());
    }
    let weights: Vec<i64> = open.iter().map(|(_, w)| *w).collect();
    let shares =
        allocate(MinorUnit(adjustment.amount), &weights).map_err(|_| AppError::invalid("amount out of range"))?;
    Ok(open.iter().zip(shares).filter(|(_, s)| s.get() > 0).map(|((id, _), s)| line(id, s.get())).collect())
}

fn below_paid() -> AppError {
    AppError::conflict(Code::Conflict, "the adjustment would lower the bill below what is already paid or held")
}

/// Applies an adjustment's lines and checks the bill still holds what is paid and held; a
/// bill lowered to exactly what is paid settles.
fn apply(conn: &mut DbConn, record: &BillRecord, adjustment: &Adjustment) -> AppResult<BillRecord> {
    let lines = spread(record, adjustment)?;
    stored::insert_lines(conn, &lines)?;
    tablepay_store::bills::bump_content(conn, &record.bill.id, now())?;
    let updated = load_bill(conn, &record.bill.id)?.ok_or_else(|| AppError::internal("bill vanished"))?;
    updated.state().map_err(|e| if matches!(e, AppError::Conflict(..)) { below_paid() } else { e })?;
    settle_if_paid(conn, &record.bill.id, now())?;
    Ok(updated)
}

impl Request for Adjustment {
    type Status = AdjustmentStatus;
    type Locked = BillRecord;
    const NOUN: &'static str = "adjustment";

    fn find(conn: &mut DbConn, id: &str) -> AppResult<Option<Adjustment>> {
        Ok(stored::find(conn, id)?)
    }

    fn venue_id(&self) -> &str {
        &self.venue_id
    }

    fn requested_by(&self) -> &str {
        &self.created_by_id
    }

    fn status(&self) -> AdjustmentStatus {
        self.status
    }

    fn lock(&self, conn: &mut DbConn, caller: &VenueCaller) -> AppResult<BillRecord> {
        lock_venue_bill(conn, &self.bill_id, caller)
    }
}

/// A manager other than the requester approves (the adjustment is applied) or rejects a
/// pending comp or discount.
pub async fn decide(store: &Store, caller: VenueCaller, id: AdjustmentId, approve: bool) -> AppResult<AdjustmentView> {
    store.write(move |conn| -> AppResult<_> { decide_in(conn, &caller, id.as_str(), approve) }).await
}

fn decide_in(conn: &mut DbConn, caller: &VenueCaller, id: &str, approve: bool) -> AppResult<AdjustmentView> {
    let Pending { request: mut adjustment, locked: record, next } =
        approvals::pending::<Adjustment>(conn, caller, id, approve)?;
    if approve {
        require_open(&record)?;
    }
    let decision = stored::AdjustmentDecision {
        status: next,
        approved_by_id: caller.actor_id(),
        approved_by_name: caller.actor_name(),
        decided_at: now(),
    };
    stored::record_decision(conn, &adjustment.id, &decision)?;
    adjustment.status = next;
    adjustment.approved_by_id = Some(caller.actor_id().to_owned());
    adjustment.approved_by_name = Some(caller.actor_name().to_owned());
    adjustment.decided_at = Some(decision.decided_at);
    approvals::audit_decision(
        conn,
        caller,
        Decided {
            noun: Adjustment::NOUN,
            approved: approve,
            bill_id: &adjustment.bill_id,
            id: &adjustment.id,
            amount: adjustment.amount,
            reason: &adjustment.reason,
            requested_by: &adjustment.created_by_name,
        },
    )?;
    let view = AdjustmentView::from_row(&adjustment, Audience::Venue);
    approvals::announce_decision(conn, &record.venue.id, Adjustment::NOUN, approve, &view)?;
    if approve {
        let updated = apply(conn, &record, &adjustment)?;
        bill_event(conn, &updated, "bill.updated")?;
    } else {
        tablepay_store::bills::bump(conn, &record.bill.id, decision.decided_at)?;
    }
    Ok(view)
}
