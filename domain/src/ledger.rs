//! A bill's ledger: from its priced lines and its payments with the parts they take, what is
//! paid, what is held, what remains, what each line has left, and whether the bill is covered
//! (the moment the table settles). Pricing a guest's split against it lives here too, so the
//! rule "two guests never pay the same euro" has one home.
//!
//! Invariant, checked on every construction: `paid + pending + remaining == total`, each part
//! non-negative, and no line is taken beyond its amount.

use std::collections::{HashMap, HashSet};

use crate::money::{MinorUnit, MoneyError};
use crate::pricing::{PricedBill, Totals};
use crate::split::{Fraction, SplitError, equal_shares_cost, item_part_cost};
use crate::status::PaymentStatus;

/// At most this many equal shares, or parts of one shared dish.
pub const MAX_PARTS: i64 = 100;
/// At most this many lines in one items split.
pub const MAX_ITEMS_IN_SPLIT: usize = 200;

/// An active line of the bill, in the order [`PricedBill::lines`] prices them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerLine {
    pub item_id: String,
    pub quantity: i64,
}

/// A payment as the ledger counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerPayment {
    pub id: String,
    pub status: PaymentStatus,
    /// The part of the bill it pays (tips apart).
    pub amount: MinorUnit,
    pub tip: MinorUnit,
    /// What has gone back to the guest of `amount + tip`: the bill's part first, then the tip.
    pub refunded: MinorUnit,
    /// Equal shares it takes of the bill's current equal split (`None` for other splits and
    /// for shares of a split that was started over).
    pub equal_count: Option<u32>,
}

impl LedgerPayment {
    /// The part of the refunds that gave back bill money (the rest gave back the tip).
    pub fn refunded_of_bill(&self) -> MinorUnit {
        self.refunded.min(self.amount).max(MinorUnit::ZERO)
    }

    /// The tip the venue keeps.
    pub fn tip_kept(&self) -> MinorUnit {
        let of_tip = (self.refunded.get() - self.amount.get()).max(0);
        MinorUnit((self.tip.get() - of_tip).max(0))
    }
}

/// Money taken outside tablepay and recorded on the bill (cash, the venue's own card
/// terminal, a voucher). Only recorded tenders are given to the ledger; void ones count nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerTender {
    pub amount: MinorUnit,
    pub tip: MinorUnit,
}

/// Everything that pays a bill or takes from what it is worth, besides its priced lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct Accounts<'a> {
    pub payments: &'a [LedgerPayment],
    pub parts: &'a [LedgerPart],
    pub tenders: &'a [LedgerTender],
    /// Refunds taken off the bill (`adjust_bill`): the bill is worth that much less.
    pub taken_off: MinorUnit,
    /// The number of equal shares the bill is being split in, once a first share was taken.
    pub equal_parts: Option<u32>,
}

/// A part of a line that a payment takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerPart {
    pub payment_id: String,
    pub item_id: String,
    pub fraction: Fraction,
    pub amount: MinorUnit,
}

/// What is taken of one line: paid or held parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineState {
    /// The line's payable amount.
    pub amount: MinorUnit,
    /// How much of the line is paid or held, as a fraction.
    pub claimed: Fraction,
    pub paid: MinorUnit,
    pub held: MinorUnit,
    /// Whole units of the line.
    pub quantity: i64,
}

impl LineState {
    /// Paid and held together.
    pub fn taken(&self) -> MinorUnit {
        MinorUnit(self.paid.get().saturating_add(self.held.get()))
    }
}

/// Why a ledger cannot be built from what is stored or proposed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// The bill would be worth less than what is paid or held (a change to refuse).
    #[error("the bill cannot be worth less than what is already paid or held")]
    BillOversubscribed,
    /// A line would be worth less than what is paid or held of it.
    #[error("an item cannot be worth less than what is paid or held of it")]
    LineOversubscribed,
    /// A part names no fraction (only data we did not write can).
    #[error("a stored item part is not a fraction")]
    BadPart,
    #[error("amount out of range")]
    Overflow,
}

impl From<MoneyError> for LedgerError {
    fn from(_: MoneyError) -> Self {
        LedgerError::Overflow
    }
}

/// A bill's figures, derived from its priced lines and its payments.
#[derive(Debug, Clone)]
pub struct Ledger {
    pub priced: PricedBill,
    pub totals: Totals,
    /// Per active item id.
    pub lines: HashMap<String, LineState>,
    /// The bill's current equal split, if one was started.
    pub equal: EqualSplit,
}

/// The state of a bill's equal split: into how many shares, how many are paid or held, and of
/// those how many paid and how many held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EqualSplit {
    pub parts: Option<u32>,
    pub taken: u32,
    pub paid: u32,
    pub held: u32,
}

impl EqualSplit {
    /// A split runs while it has shares nobody paid or holds, or a share is held (and may be
    /// let go). While it runs, guests pay shares (or everything left), not items or amounts.
    pub fn running(&self) -> bool {
        self.parts.is_some_and(|parts| self.taken < parts || self.held > 0)
    }

    /// Shares neither paid nor held.
    pub fn open(&self) -> u32 {
        self.parts.map_or(0, |parts| parts.saturating_sub(self.taken))
    }
}

impl Ledger {
    /// Accounts `payments` and their `parts` against the priced bill. `lines` are the active
    /// lines in the order `priced.lines` has them.
    pub fn new(
        priced: PricedBill,
        lines: &[LedgerLine],
        payments: &[LedgerPayment],
        parts: &[LedgerPart],
    ) -> Result<Ledger, LedgerError> {
        Ledger::account(priced, lines, &Accounts { payments, parts, ..Accounts::default() })
    }

    /// Accounts payments, their parts, tenders and refunds against the priced bill:
    /// `paid` is what the venue keeps (captured payments and tenders, less the bill's part of
    /// refunds), `total` is the priced bill less the refunds taken off it.
    pub fn account(priced: PricedBill, lines: &[LedgerLine], accounts: &Accounts<'_>) -> Result<Ledger, LedgerError> {
        let (mut captured, mut pending, mut tips, mut refunded) =
            (MinorUnit::ZERO, MinorUnit::ZERO, MinorUnit::ZERO, MinorUnit::ZERO);
        let mut statuses = HashMap::with_capacity(accounts.payments.len());
        let mut equal = EqualSplit { parts: accounts.equal_parts, ..EqualSplit::default() };
        for p in accounts.payments {
            statuses.insert(p.id.as_str(), p.status);
            if p.status.captured() {
                captured = captured.checked_add(p.amount)?;
                refunded = refunded.checked_add(p.refunded_of_bill())?;
                tips = tips.checked_add(p.tip_kept())?;
            } else if p.status.holds() {
                pending = pending.checked_add(p.amount)?;
            }
            if let Some(count) = p.equal_count.filter(|_| p.status.takes_part()) {
                equal.taken = equal.taken.saturating_add(count);
                if p.status.captured() {
                    equal.paid = equal.paid.saturating_add(count);
                } else {
                    equal.held = equal.held.saturating_add(count);
                }
            }
        }
        let mut tendered = MinorUnit::ZERO;
        for t in accounts.tenders {
            tendered = tendered.checked_add(t.amount)?;
            tips = tips.checked_add(t.tip)?;
        }
        let paid = captured.checked_add(tendered)?.checked_sub(refunded)?;
        let totals = totals(&priced, accounts.taken_off, paid, pending, tips)?;
        let totals = Totals { refunded, tendered, ..totals };
        let states = line_states(&priced, lines, accounts.parts, &statuses)?;
        Ok(Ledger { priced, totals, lines: states, equal })
    }

    /// What is neither paid nor held.
    pub fn remaining(&self) -> MinorUnit {
        self.totals.remaining
    }

    /// Whether the bill is fully paid: the moment an open bill settles. A bill of nothing
    /// never settles by payment (there is nothing to pay; staff close it).
    pub fn covered(&self) -> bool {
        self.totals.total > MinorUnit::ZERO && self.totals.paid == self.totals.total
    }

    /// Prices what a guest asks to pay against what is left.
    pub fn price_split(&self, split: &SplitRequest) -> Result<PricedSplit, SplitRefusal> {
        let remaining = self.totals.remaining;
        let running = self.equal.running().then(|| self.equal.parts.unwrap_or(0));
        match split {
            SplitRequest::Remaining => {
                if remaining <= MinorUnit::ZERO {
                    return Err(SplitRefusal::NothingRemains);
                }
                Ok(PricedSplit { amount: remaining, parts: Vec::new(), equal: None })
            }
            SplitRequest::Amount(amount) => {
                if *amount < 1 {
                    return Err(SplitRefusal::AmountBelowOne);
                }
                if let Some(parts) = running {
                    return Err(SplitRefusal::SplitInProgress { parts });
                }
                if MinorUnit(*amount) > remaining {
                    return Err(SplitRefusal::AmountExceeds { remaining });
                }
                Ok(PricedSplit { amount: MinorUnit(*amount), parts: Vec::new(), equal: None })
            }
            SplitRequest::Equal { parts, count } => self.price_equal(*parts, *count),
            SplitRequest::Items(items) => {
                if let Some(parts) = running {
                    return Err(SplitRefusal::SplitInProgress { parts });
                }
                self.price_items(items)
            }
        }
    }

    /// `count` of `parts` equal shares of what is left. The running split's shares are the
    /// open ones; any other number of parts starts the split over on what is left now, which
    /// is refused while a share of the running split is held.
    fn price_equal(&self, parts: i64, count: i64) -> Result<PricedSplit, SplitRefusal> {
        if !(2..=MAX_PARTS).contains(&parts) {
            return Err(SplitRefusal::PartsOutOfRange);
        }
        if !(1..=parts).contains(&count) {
            return Err(SplitRefusal::CountOutOfRange);
        }
        // In range by the checks above.
        let (parts, count) = (parts as u32, count as u32);
        let left = self.totals.remaining;
        let (open, new_split) = match self.equal.parts {
            Some(running) if self.equal.running() && running == parts => (self.equal.open(), false),
            Some(running) if self.equal.held > 0 => return Err(SplitRefusal::SplitInProgress { parts: running }),
            _ => (parts, true),
        };
        let amount = equal_shares_cost(left, open, count).map_err(SplitRefusal::Taken)?;
        if amount == MinorUnit::ZERO {
            return Err(SplitRefusal::Taken(SplitError::ExceedsRemaining));
        }
        Ok(PricedSplit { amount, parts: Vec::new(), equal: Some(EqualShares { parts, count, new_split }) })
    }

    /// The open shares of the running equal split, each as it would cost now (the first carry
    /// the odd units); empty when no split runs.
    pub fn open_shares(&self) -> Vec<MinorUnit> {
        if !self.equal.running() {
            return Vec::new();
        }
        crate::split::open_shares(self.totals.remaining, self.equal.open()).unwrap_or_default()
    }

    fn price_items(&self, items: &[ItemRequest]) -> Result<PricedSplit, SplitRefusal> {
        if items.is_empty() || items.len() > MAX_ITEMS_IN_SPLIT {
            return Err(SplitRefusal::ItemCount);
        }
        let mut seen = HashSet::with_capacity(items.len());
        let mut parts = Vec::with_capacity(items.len());
        for (index, claim) in items.iter().enumerate() {
            if !seen.insert(claim.item_id.as_str()) {
                return Err(SplitRefusal::ItemTwice { index });
            }
            let Some(line) = self.lines.get(&claim.item_id) else {
                return Err(SplitRefusal::NotAnActiveItem { index });
            };
            let want = match (claim.quantity, claim.share_parts) {
                (Some(q), None) if (1..=line.quantity).contains(&q) => Fraction::new(q, line.quantity),
                (None, Some(parts)) if (2..=MAX_PARTS).contains(&parts) => Fraction::new(1, parts),
                (None, None) if !line.claimed.is_whole() => {
                    Fraction::new(line.claimed.den - line.claimed.num, line.claimed.den)
                }
                (None, None) => return Err(SplitRefusal::Taken(SplitError::ItemUnavailable)),
                _ => return Err(SplitRefusal::BadItemPart { index, quantity: line.quantity }),
            }
            .ok_or(SplitRefusal::NotAPart { index })?;
            let cost = item_part_cost(line.amount, line.claimed, line.taken(), want).map_err(SplitRefusal::Taken)?;
            parts.push(PricedPart { item_id: claim.item_id.clone(), fraction: want, amount: cost });
        }
        let amount = MinorUnit::sum(parts.iter().map(|p| p.amount)).map_err(|_| SplitRefusal::Overflow)?;
        if amount > self.totals.remaining {
            return Err(SplitRefusal::ItemsExceed { cost: amount, remaining: self.totals.remaining });
        }
        if amount == MinorUnit::ZERO {
            return Err(SplitRefusal::CostsNothing);
        }
        Ok(PricedSplit { amount, parts, equal: None })
    }
}

/// The bill's totals: the priced bill less what refunds took off it, and what is paid, held
/// and left of that.
fn totals(
    priced: &PricedBill,
    taken_off: MinorUnit,
    paid: MinorUnit,
    pending: MinorUnit,
    tips: MinorUnit,
) -> Result<Totals, LedgerError> {
    let total = priced.total.checked_sub(taken_off)?;
    let discounts = priced.discounts.checked_add(taken_off)?;
    let remaining = total.checked_sub(paid.checked_add(pending)?)?;
    if total.get() < 0 || paid.get() < 0 || pending.get() < 0 || remaining.get() < 0 || taken_off.get() < 0 {
        return Err(LedgerError::BillOversubscribed);
    }
    let totals = Totals::new(priced, MinorUnit::ZERO, MinorUnit::ZERO, tips).map_err(|_| LedgerError::Overflow)?;
    Ok(Totals { discounts, total, paid, pending, remaining, ..totals })
}

/// What is paid and held of each active line.
fn line_states(
    priced: &PricedBill,
    lines: &[LedgerLine],
    parts: &[LedgerPart],
    statuses: &HashMap<&str, PaymentStatus>,
) -> Result<HashMap<String, LineState>, LedgerError> {
    let mut states: HashMap<String, LineState> = lines
        .iter()
        .zip(priced.lines.iter().map(|l| l.amount).chain(std::iter::repeat(MinorUnit::ZERO)))
        .map(|(line, amount)| {
            let state = LineState {
                amount,
                claimed: Fraction::ZERO,
                paid: MinorUnit::ZERO,
                held: MinorUnit::ZERO,
                quantity: line.quantity,
            };
            (line.item_id.clone(), state)
        })
        .collect();
    for part in parts {
        let Some(state) = states.get_mut(&part.item_id) else { continue };
        let Some(status) = statuses.get(part.payment_id.as_str()).copied().filter(|s| s.takes_part()) else {
            continue;
        };
        if Fraction::new(part.fraction.num, part.fraction.den).is_none() {
            return Err(LedgerError::BadPart);
        }
        state.claimed = state.claimed.checked_add(part.fraction).unwrap_or(Fraction::ONE);
        if status.captured() {
            state.paid = state.paid.checked_add(part.amount)?;
        } else {
            state.held = state.held.checked_add(part.amount)?;
        }
    }
    if states.values().any(|s| s.taken() > s.amount) {
        return Err(LedgerError::LineOversubscribed);
    }
    Ok(states)
}

/// What a guest asks to pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitRequest {
    /// Everything neither paid nor held.
    Remaining,
    /// A custom amount.
    Amount(i64),
    /// `count` of `parts` equal shares.
    Equal {
        parts: i64,
        count: i64,
    },
    Items(Vec<ItemRequest>),
}

impl SplitRequest {
    /// The kind stored with the payment and shown on its receipt.
    pub fn kind(&self) -> SplitKind {
        match self {
            SplitRequest::Remaining => SplitKind::Remaining,
            SplitRequest::Equal { .. } => SplitKind::Equal,
            SplitRequest::Items(_) => SplitKind::Items,
            SplitRequest::Amount(_) => SplitKind::Amount,
        }
    }
}

crate::status::text_enum! {
    /// How a payment split the bill: the `type` of its split request.
    pub enum SplitKind {
        Remaining = "remaining",
        Equal = "equal",
        Items = "items",
        Amount = "amount",
    }
}

/// A line, or part of one, in an items split: whole units, a share of a shared dish, or
/// (neither given) whatever is left of the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRequest {
    pub item_id: String,
    pub quantity: Option<i64>,
    pub share_parts: Option<i64>,
}

/// A priced split: what the payment pays of the bill and, for an items split, the part of
/// each line it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedSplit {
    pub amount: MinorUnit,
    pub parts: Vec<PricedPart>,
    pub equal: Option<EqualShares>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedPart {
    pub item_id: String,
    pub fraction: Fraction,
    pub amount: MinorUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EqualShares {
    pub parts: u32,
    pub count: u32,
    /// This payment starts the split (the first share, or another number of parts): the
    /// bill's split becomes `parts` shares of what is left, and earlier shares stop counting.
    pub new_split: bool,
}

/// Why a split cannot be paid. The first group is a request that breaks a rule whatever the
/// bill (422); the second a request the bill's current state refuses (409).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitRefusal {
    AmountBelowOne,
    PartsOutOfRange,
    CountOutOfRange,
    ItemCount,
    ItemTwice {
        index: usize,
    },
    NotAnActiveItem {
        index: usize,
    },
    BadItemPart {
        index: usize,
        quantity: i64,
    },
    NotAPart {
        index: usize,
    },
    CostsNothing,
    Overflow,
    NothingRemains,
    AmountExceeds {
        remaining: MinorUnit,
    },
    ItemsExceed {
        cost: MinorUnit,
        remaining: MinorUnit,
    },
    /// The bill is being split in this many equal shares: pay shares of it, or everything left.
    SplitInProgress {
        parts: u32,
    },
    /// That part is paid or held by someone else, or is more than is left.
    Taken(SplitError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::{Line, PricingRules, TaxMode, price_bill};
    use proptest::prelude::*;

    fn bill(prices: &[i64]) -> (PricedBill, Vec<LedgerLine>) {
        let rules = PricingRules { tax_mode: TaxMode::Inclusive, tax_rate_bps: 1000, service_charge_bps: 0 };
        let lines: Vec<Line> = prices
            .iter()
            .map(|p| Line { quantity: 1, unit_price: MinorUnit(*p), tax_rate_bps: None, discount: MinorUnit::ZERO })
            .collect();
        let priced = price_bill(rules, &lines, MinorUnit::ZERO).expect("priced");
        let ids = (0..prices.len()).map(|i| LedgerLine { item_id: format!("i{i}"), quantity: 1 }).collect();
        (priced, ids)
    }

    fn payment(id: &str, status: PaymentStatus, amount: i64) -> LedgerPayment {
        LedgerPayment {
            id: id.into(),
            status,
            amount: MinorUnit(amount),
            tip: MinorUnit(10),
            refunded: MinorUnit::ZERO,
            equal_count: None,
        }
    }

    #[test]
    fn paid_held_and_remaining() {
        let (priced, lines) = bill(&[3000, 7000]);
        let payments = [
            payment("a", PaymentStatus::Succeeded, 3000),
            payment("b", PaymentStatus::Pending, 2000),
            payment("c", PaymentStatus::Failed, 5000),
            payment("d", PaymentStatus::Expired, 5000),
        ];
        let parts = [LedgerPart {
            payment_id: "a".into(),
            item_id: "i0".into(),
            fraction: Fraction::ONE,
            amount: MinorUnit(3000),
        }];
        let ledger = Ledger::new(priced, &lines, &payments, &parts).expect("ledger");
        assert_eq!(ledger.totals.paid, MinorUnit(3000));
        assert_eq!(ledger.totals.pending, MinorUnit(2000));
        assert_eq!(ledger.totals.remaining, MinorUnit(5000));
        assert_eq!(ledger.totals.tips, MinorUnit(10));
        assert_eq!(ledger.lines["i0"].paid, MinorUnit(3000));
        assert!(ledger.lines["i0"].claimed.is_whole());
        assert!(!ledger.covered());
    }

    #[test]
    fn a_bill_worth_less_than_what_is_paid_is_refused() {
        let (priced, lines) = bill(&[1000]);
        let payments = [payment("a", PaymentStatus::Succeeded, 1500)];
        assert_eq!(Ledger::new(priced, &lines, &payments, &[]).err(), Some(LedgerError::BillOversubscribed));
    }

    #[test]
    fn a_line_worth_less_than_its_parts_is_refused() {
        let (priced, lines) = bill(&[1000, 1000]);
        let payments = [payment("a", PaymentStatus::Pending, 1500)];
        let parts = [LedgerPart {
            payment_id: "a".into(),
            item_id: "i0".into(),
            fraction: Fraction::ONE,
            amount: MinorUnit(1500),
        }];
        assert_eq!(Ledger::new(priced, &lines, &payments, &parts).err(), Some(LedgerError::LineOversubscribed));
    }

    #[test]
    fn a_bill_of_nothing_is_never_covered() {
        let (priced, lines) = bill(&[0]);
        let ledger = Ledger::new(priced, &lines, &[], &[]).expect("ledger");
        assert!(!ledger.covered());
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        let (priced, lines) = bill(&[3000, 7000]);
        let ledger = Ledger::new(priced, &lines, &[payment("a", PaymentStatus::Pending, 9000)], &[]).expect("ledger");
        let amount = |a| ledger.price_split(&SplitRequest::Amount(a));
        assert_eq!(amount(0), Err(SplitRefusal::AmountBelowOne));
        assert_eq!(amount(1001), Err(SplitRefusal::AmountExceeds { remaining: MinorUnit(1000) }));
        assert_eq!(amount(1000).map(|p| p.amount), Ok(MinorUnit(1000)));
        let equal = |parts, count| ledger.price_split(&SplitRequest::Equal { parts, count });
        assert_eq!(equal(1, 1), Err(SplitRefusal::PartsOutOfRange));
        assert_eq!(equal(2, 3), Err(SplitRefusal::CountOutOfRange));
        let item = |id: &str| ItemRequest { item_id: id.into(), quantity: None, share_parts: None };
        let items = |list: Vec<ItemRequest>| ledger.price_split(&SplitRequest::Items(list));
        assert_eq!(items(vec![]), Err(SplitRefusal::ItemCount));
        assert_eq!(items(vec![item("i0"), item("i0")]), Err(SplitRefusal::ItemTwice { index: 1 }));
        assert_eq!(items(vec![item("nope")]), Err(SplitRefusal::NotAnActiveItem { index: 0 }));
        let two = ItemRequest { quantity: Some(2), ..item("i0") };
        assert_eq!(items(vec![two]), Err(SplitRefusal::BadItemPart { index: 0, quantity: 1 }));
        assert_eq!(
            items(vec![item("i1")]),
            Err(SplitRefusal::ItemsExceed { cost: MinorUnit(7000), remaining: MinorUnit(1000) })
        );
    }

    #[test]
    fn an_equal_split_keeps_its_number_of_parts() {
        let (priced, lines) = bill(&[10000]);
        let share = LedgerPayment { equal_count: Some(1), ..payment("a", PaymentStatus::Pending, 3334) };
        let payments = [share];
        let accounts = Accounts { payments: &payments, equal_parts: Some(3), ..Accounts::default() };
        let ledger = Ledger::account(priced, &lines, &accounts).expect("ledger");
        let equal = |parts| ledger.price_split(&SplitRequest::Equal { parts, count: 1 });
        assert_eq!(equal(2), Err(SplitRefusal::SplitInProgress { parts: 3 }));
        assert_eq!(equal(3).map(|p| p.amount), Ok(MinorUnit(3333)));
        assert_eq!(ledger.open_shares(), vec![MinorUnit(3333), MinorUnit(3333)]);
        let amount = ledger.price_split(&SplitRequest::Amount(100));
        assert_eq!(amount, Err(SplitRefusal::SplitInProgress { parts: 3 }));
        assert_eq!(ledger.price_split(&SplitRequest::Remaining).map(|p| p.amount), Ok(MinorUnit(6666)));
    }

    /// A guest's action in the property test: an item, an equal share of 3, an amount, or
    /// everything left; then whether it is captured or released.
    #[derive(Debug, Clone)]
    enum Step {
        Item(usize, Option<i64>),
        Equal,
        Amount(i64),
        Remaining,
    }

    fn arb_step() -> impl Strategy<Value = (Step, bool)> {
        let step = prop_oneof![
            (0..6_usize, prop::option::of(2..4_i64)).prop_map(|(i, share)| Step::Item(i, share)),
            Just(Step::Equal),
            (1..5_000_i64).prop_map(Step::Amount),
            Just(Step::Remaining),
        ];
        (step, prop::bool::weighted(0.8))
    }

    proptest! {
        /// However guests split and in whatever order they pay or let holds go, the ledger
        /// never takes more than the bill, and when it is covered what was paid is the total.
        #[test]
        fn the_ledger_never_takes_more_than_the_bill(
            prices in prop::collection::vec(0..20_000_i64, 1..6),
            steps in prop::collection::vec(arb_step(), 1..25),
        ) {
            let (priced, lines) = bill(&prices);
            let mut payments: Vec<LedgerPayment> = Vec::new();
            let mut parts: Vec<LedgerPart> = Vec::new();
            for (n, (step, captured)) in steps.into_iter().enumerate() {
                let ledger = Ledger::new(priced.clone(), &lines, &payments, &parts).expect("consistent");
                let t = ledger.totals;
                prop_assert_eq!(t.paid.get() + t.pending.get() + t.remaining.get(), t.total.get());
                prop_assert!(t.paid.get() >= 0 && t.pending.get() >= 0 && t.remaining.get() >= 0);
                let request = match step {
                    Step::Item(i, share) => SplitRequest::Items(vec![ItemRequest {
                        item_id: format!("i{}", i % prices.len()),
                        quantity: None,
                        share_parts: share,
                    }]),
                    Step::Equal => SplitRequest::Equal { parts: 3, count: 1 },
                    Step::Amount(a) => SplitRequest::Amount(a),
                    Step::Remaining => SplitRequest::Remaining,
                };
                let Ok(split) = ledger.price_split(&request) else { continue };
                let id = format!("p{n}");
                let status = if captured { PaymentStatus::Succeeded } else { PaymentStatus::Canceled };
                payments.push(LedgerPayment {
                    id: id.clone(),
                    status,
                    amount: split.amount,
                    tip: MinorUnit::ZERO,
                    refunded: MinorUnit::ZERO,
                    equal_count: split.equal.map(|e| e.count),
                });
                parts.extend(split.parts.into_iter().map(|p| LedgerPart {
                    payment_id: id.clone(),
                    item_id: p.item_id,
                    fraction: p.fraction,
                    amount: p.amount,
                }));
            }
            let ledger = Ledger::new(priced, &lines, &payments, &parts).expect("consistent");
            let captured = MinorUnit::sum(payments.iter().filter(|p| p.status.captured()).map(|p| p.amount));
            prop_assert_eq!(captured, Ok(ledger.totals.paid));
            if ledger.covered() {
                prop_assert_eq!(ledger.totals.paid, ledger.totals.total);
            }
            for line in ledger.lines.values() {
                prop_assert!(line.taken() <= line.amount);
            }
        }
    }

    /// A bill of lines with per-line comps, priced inclusive at 10 %.
    fn bill_with_comps(prices: &[i64], comps: &[i64]) -> Option<(PricedBill, Vec<LedgerLine>)> {
        let rules = PricingRules { tax_mode: TaxMode::Inclusive, tax_rate_bps: 1000, service_charge_bps: 0 };
        let lines: Vec<Line> = prices
            .iter()
            .zip(comps)
            .map(|(p, c)| Line { quantity: 1, unit_price: MinorUnit(*p), tax_rate_bps: None, discount: MinorUnit(*c) })
            .collect();
        let priced = price_bill(rules, &lines, MinorUnit::ZERO).ok()?;
        let ids = (0..prices.len()).map(|i| LedgerLine { item_id: format!("i{i}"), quantity: 1 }).collect();
        Some((priced, ids))
    }

    /// A bill as the API keeps it, for the property below: payments with the split round
    /// they belong to, tenders, refunds taken off the bill, comps.
    #[derive(Default)]
    struct Table {
        prices: Vec<i64>,
        comps: Vec<i64>,
        payments: Vec<(LedgerPayment, u32)>,
        parts: Vec<LedgerPart>,
        tenders: Vec<LedgerTender>,
        taken_off: MinorUnit,
        equal_parts: Option<u32>,
        round: u32,
        settled: bool,
    }

    impl Table {
        fn ledger_with(&self, comps: &[i64], taken_off: MinorUnit) -> Result<Ledger, LedgerError> {
            let (priced, lines) = bill_with_comps(&self.prices, comps).ok_or(LedgerError::Overflow)?;
            let payments: Vec<LedgerPayment> = self
                .payments
                .iter()
                .map(|(p, round)| LedgerPayment {
                    equal_count: p.equal_count.filter(|_| *round == self.round),
                    ..p.clone()
                })
                .collect();
            let accounts = Accounts {
                payments: &payments,
                parts: &self.parts,
                tenders: &self.tenders,
                taken_off,
                equal_parts: self.equal_parts,
            };
            Ledger::account(priced, &lines, &accounts)
        }

        fn ledger(&self) -> Ledger {
            self.ledger_with(&self.comps, self.taken_off).expect("the table's ledger stays consistent")
        }
    }

    #[test]
    fn equal_shares_of_what_is_left_follow_a_comp() {
        // A pays items worth 20.00 of 100.00; B and C split the rest in two: 40.00 each; a
        // comp of 10.00 after B paid leaves C a share of 30.00, and the bill ends at zero.
        let (priced, lines) = bill(&[2000, 8000]);
        let a = LedgerPayment { ..payment("a", PaymentStatus::Succeeded, 2000) };
        let a_part = LedgerPart {
            payment_id: "a".into(),
            item_id: "i0".into(),
            fraction: Fraction::ONE,
            amount: MinorUnit(2000),
        };
        let ledger =
            Ledger::new(priced, &lines, std::slice::from_ref(&a), std::slice::from_ref(&a_part)).expect("ledger");
        let b_share = ledger.price_split(&SplitRequest::Equal { parts: 2, count: 1 }).expect("a share");
        assert_eq!(b_share.amount, MinorUnit(4000));
        assert_eq!(b_share.equal, Some(EqualShares { parts: 2, count: 1, new_split: true }));
        let b = LedgerPayment { equal_count: Some(1), ..payment("b", PaymentStatus::Succeeded, 4000) };
        let (comped, lines) = bill_with_comps(&[2000, 8000], &[0, 1000]).expect("priced");
        let payments = [a, b];
        let parts = [a_part];
        let accounts = Accounts { payments: &payments, parts: &parts, equal_parts: Some(2), ..Accounts::default() };
        let ledger = Ledger::account(comped, &lines, &accounts).expect("ledger");
        assert_eq!(ledger.open_shares(), vec![MinorUnit(3000)]);
        let c_share = ledger.price_split(&SplitRequest::Equal { parts: 2, count: 1 }).expect("the last share");
        assert_eq!(c_share.amount, MinorUnit(3000));
        assert_eq!(c_share.amount, ledger.totals.remaining);
        assert_eq!(ledger.price_split(&SplitRequest::Amount(100)), Err(SplitRefusal::SplitInProgress { parts: 2 }));
    }

    #[test]
    fn refunds_lower_paid_and_the_bill_when_adjusted() {
        let (priced, lines) = bill(&[5000]);
        let paid = LedgerPayment { refunded: MinorUnit(1000), ..payment("a", PaymentStatus::PartiallyRefunded, 5000) };
        // A refund gives back the bill's part first, then the tip.
        let all_but_half_the_tip = LedgerPayment { refunded: MinorUnit(5005), ..paid.clone() };
        assert_eq!(
            (all_but_half_the_tip.refunded_of_bill(), all_but_half_the_tip.tip_kept()),
            (MinorUnit(5000), MinorUnit(5))
        );
        let tender = LedgerTender { amount: MinorUnit(0), tip: MinorUnit(50) };
        let payments = [paid];
        let tenders = [tender];
        // 10.00 refunded of 50.00 + 0.10 tip, taken off the bill; a tender's tip of 0.50.
        let accounts =
            Accounts { payments: &payments, tenders: &tenders, taken_off: MinorUnit(1000), ..Accounts::default() };
        let ledger = Ledger::account(priced.clone(), &lines, &accounts).expect("ledger");
        let t = ledger.totals;
        assert_eq!(
            (t.total, t.paid, t.remaining, t.refunded, t.tips),
            (MinorUnit(4000), MinorUnit(4000), MinorUnit::ZERO, MinorUnit(1000), MinorUnit(60))
        );
        assert_eq!(t.discounts, MinorUnit(1000));
        // Not taken off: the 10.00 is payable again.
        let accounts = Accounts { taken_off: MinorUnit::ZERO, ..accounts };
        let ledger = Ledger::account(priced, &lines, &accounts).expect("ledger");
        assert_eq!((ledger.totals.total, ledger.totals.remaining), (MinorUnit(5000), MinorUnit(1000)));
    }

    /// One thing that happens at a table in the property below.
    #[derive(Debug, Clone)]
    enum Event {
        Pay(Step, Outcome),
        Equal { parts: i64, count: i64, outcome: Outcome },
        Resolve { nth: usize, capture: bool },
        Tender(i64, i64),
        Comp { line: usize, amount: i64 },
        Refund { nth: usize, amount: i64, adjust: bool },
    }

    #[derive(Debug, Clone, Copy)]
    enum Outcome {
        Capture,
        Release,
        Hold,
    }

    fn arb_event() -> impl Strategy<Value = Event> {
        let outcome = prop_oneof![Just(Outcome::Capture), Just(Outcome::Release), Just(Outcome::Hold)];
        prop_oneof![
            (arb_step(), outcome.clone()).prop_map(|((step, _), o)| Event::Pay(step, o)),
            (2..5_i64, 1..3_i64, outcome).prop_map(|(parts, count, outcome)| Event::Equal { parts, count, outcome }),
            (0..4_usize, any::<bool>()).prop_map(|(nth, capture)| Event::Resolve { nth, capture }),
            (1..6_000_i64, 0..500_i64).prop_map(|(a, t)| Event::Tender(a, t)),
            (0..6_usize, 1..6_000_i64).prop_map(|(line, amount)| Event::Comp { line, amount }),
            (0..6_usize, 1..8_000_i64, any::<bool>()).prop_map(|(nth, amount, adjust)| Event::Refund {
                nth,
                amount,
                adjust
            }),
        ]
    }

    /// Applies one event as the API would, refusing what the API refuses.
    fn apply(table: &mut Table, event: Event, n: usize) {
        let ledger = table.ledger();
        let open = !table.settled;
        match event {
            Event::Pay(step, outcome) if open => {
                let request = match step {
                    Step::Item(i, share) => SplitRequest::Items(vec![ItemRequest {
                        item_id: format!("i{}", i % table.prices.len()),
                        quantity: None,
                        share_parts: share,
                    }]),
                    Step::Equal => SplitRequest::Equal { parts: 3, count: 1 },
                    Step::Amount(a) => SplitRequest::Amount(a),
                    Step::Remaining => SplitRequest::Remaining,
                };
                if let Ok(split) = ledger.price_split(&request) {
                    pay(table, split, outcome, n);
                }
            }
            Event::Equal { parts, count, outcome } if open => {
                if let Ok(split) = ledger.price_split(&SplitRequest::Equal { parts, count }) {
                    let open_shares = ledger.open_shares();
                    if let Some(e) = split.equal.filter(|e| !e.new_split) {
                        // The shares priced are the open ones the page offered.
                        let offered = MinorUnit::sum(open_shares[..e.count as usize].iter().copied()).expect("fits");
                        assert_eq!(split.amount, offered);
                        if e.count as usize == open_shares.len() {
                            assert_eq!(split.amount, ledger.totals.remaining, "the last share ends the bill");
                        }
                    }
                    assert!(split.amount <= ledger.totals.remaining);
                    pay(table, split, outcome, n);
                }
            }
            Event::Resolve { nth, capture } => {
                let pending: Vec<usize> = (0..table.payments.len())
                    .filter(|i| table.payments[*i].0.status == PaymentStatus::Pending)
                    .collect();
                if let Some(&i) = pending.get(nth) {
                    table.payments[i].0.status =
                        if capture { PaymentStatus::Succeeded } else { PaymentStatus::Canceled };
                }
            }
            Event::Tender(amount, tip) if open && MinorUnit(amount) <= ledger.totals.remaining => {
                table.tenders.push(LedgerTender { amount: MinorUnit(amount), tip: MinorUnit(tip) });
            }
            Event::Comp { line, amount } if open => {
                let mut comps = table.comps.clone();
                let i = line % comps.len();
                comps[i] = (comps[i] + amount).min(table.prices[i]);
                // A comp that would take the bill below what is paid or held is refused.
                if table.ledger_with(&comps, table.taken_off).is_ok() {
                    table.comps = comps;
                }
            }
            Event::Refund { nth, amount, adjust } => {
                let captured: Vec<usize> =
                    (0..table.payments.len()).filter(|i| table.payments[*i].0.status.captured()).collect();
                let Some(&i) = captured.get(nth) else { return };
                if !adjust && !open {
                    return; // payable again only on an open bill
                }
                let p = &table.payments[i].0;
                let left = p.amount.get() + p.tip.get() - p.refunded.get();
                let amount = amount.min(left);
                if amount < 1 {
                    return;
                }
                let before = p.refunded_of_bill();
                let mut refunded = p.clone();
                refunded.refunded = MinorUnit(p.refunded.get() + amount);
                refunded.status = if refunded.refunded.get() == p.amount.get() + p.tip.get() {
                    PaymentStatus::Refunded
                } else {
                    PaymentStatus::PartiallyRefunded
                };
                let of_bill = refunded.refunded_of_bill().checked_sub(before).expect("fits");
                table.payments[i].0 = refunded;
                if adjust {
                    table.taken_off = table.taken_off.checked_add(of_bill).expect("fits");
                }
            }
            _ => {}
        }
    }

    fn pay(table: &mut Table, split: PricedSplit, outcome: Outcome, n: usize) {
        if let Some(e) = split.equal.filter(|e| e.new_split) {
            table.equal_parts = Some(e.parts);
            table.round += 1;
        }
        let id = format!("p{n}");
        let status = match outcome {
            Outcome::Capture => PaymentStatus::Succeeded,
            Outcome::Release => PaymentStatus::Canceled,
            Outcome::Hold => PaymentStatus::Pending,
        };
        let payment = LedgerPayment {
            id: id.clone(),
            status,
            amount: split.amount,
            tip: MinorUnit(n as i64 % 3 * 50),
            refunded: MinorUnit::ZERO,
            equal_count: split.equal.map(|e| e.count),
        };
        table.payments.push((payment, table.round));
        table.parts.extend(split.parts.into_iter().map(|p| LedgerPart {
            payment_id: id.clone(),
            item_id: p.item_id,
            fraction: p.fraction,
            amount: p.amount,
        }));
    }

    proptest! {
        /// For any sequence of item payments, equal shares, tenders, comps, refunds taken off
        /// the bill or not, and releases: `paid + pending + remaining == total` with each part
        /// non-negative after every step, no line is taken beyond its amount, and when the bill
        /// settles what guests and tenders paid, net of refunds, is exactly its total.
        #[test]
        fn the_bill_balances_whatever_happens_at_the_table(
            prices in prop::collection::vec(0..20_000_i64, 1..6),
            events in prop::collection::vec(arb_event(), 1..40),
        ) {
            let mut table = Table { comps: vec![0; prices.len()], prices, ..Table::default() };
            for (n, event) in events.into_iter().enumerate() {
                apply(&mut table, event, n);
                let ledger = table.ledger();
                let t = ledger.totals;
                prop_assert_eq!(t.paid.get() + t.pending.get() + t.remaining.get(), t.total.get());
                prop_assert!(t.paid.get() >= 0 && t.pending.get() >= 0 && t.remaining.get() >= 0);
                for line in ledger.lines.values() {
                    prop_assert!(line.taken() <= line.amount);
                }
                if !table.settled && ledger.covered() {
                    table.settled = true;
                    let captured: i64 = table.payments.iter().filter(|(p, _)| p.status.captured()).map(|(p, _)| p.amount.get()).sum();
                    let refunded: i64 = table.payments.iter().map(|(p, _)| p.refunded.get().min(p.amount.get())).sum();
                    let tendered: i64 = table.tenders.iter().map(|t| t.amount.get()).sum();
                    prop_assert_eq!(captured + tendered - refunded, t.total.get());
                }
                if table.settled {
                    // Refunds on a settled bill are taken off it: it stays exactly paid.
                    prop_assert_eq!(t.paid, t.total);
                    prop_assert_eq!(t.pending, MinorUnit::ZERO);
                }
            }
        }
    }
}
