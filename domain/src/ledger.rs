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
    /// Equal shares it takes, for an equal split.
    pub equal_count: Option<u32>,
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
    /// Equal shares paid or held, and of those paid.
    pub equal_taken: u32,
    pub equal_paid: u32,
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
        let (mut paid, mut pending, mut tips) = (MinorUnit::ZERO, MinorUnit::ZERO, MinorUnit::ZERO);
        let mut statuses = HashMap::with_capacity(payments.len());
        let (mut equal_taken, mut equal_paid) = (0_u32, 0_u32);
        for p in payments {
            statuses.insert(p.id.as_str(), p.status);
            if p.status.captured() {
                paid = paid.checked_add(p.amount)?;
                tips = tips.checked_add(p.tip)?;
            } else if p.status.holds() {
                pending = pending.checked_add(p.amount)?;
            }
            if let Some(count) = p.equal_count.filter(|_| p.status.takes_part()) {
                equal_taken = equal_taken.saturating_add(count);
                if p.status.captured() {
                    equal_paid = equal_paid.saturating_add(count);
                }
            }
        }
        let totals = Totals::new(&priced, paid, pending, tips).map_err(|_| LedgerError::BillOversubscribed)?;
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
        Ok(Ledger { priced, totals, lines: states, equal_taken, equal_paid })
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

    /// Prices what a guest asks to pay against what is left. `fixed_parts` is the number of
    /// equal shares the bill is being split in, once a first share was taken.
    pub fn price_split(&self, split: &SplitRequest, fixed_parts: Option<i64>) -> Result<PricedSplit, SplitRefusal> {
        let remaining = self.totals.remaining;
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
                if MinorUnit(*amount) > remaining {
                    return Err(SplitRefusal::AmountExceeds { remaining });
                }
                Ok(PricedSplit { amount: MinorUnit(*amount), parts: Vec::new(), equal: None })
            }
            SplitRequest::Equal { parts, count } => self.price_equal(*parts, *count, fixed_parts),
            SplitRequest::Items(items) => self.price_items(items),
        }
    }

    fn price_equal(&self, parts: i64, count: i64, fixed_parts: Option<i64>) -> Result<PricedSplit, SplitRefusal> {
        if !(2..=MAX_PARTS).contains(&parts) {
            return Err(SplitRefusal::PartsOutOfRange);
        }
        if !(1..=parts).contains(&count) {
            return Err(SplitRefusal::CountOutOfRange);
        }
        if let Some(fixed) = fixed_parts
            && self.equal_taken > 0
            && fixed != parts
        {
            return Err(SplitRefusal::SplitInOtherParts { parts: fixed });
        }
        // In range by the checks above.
        let (parts, count) = (parts as u32, count as u32);
        let amount = equal_shares_cost(self.totals.total, parts, self.equal_taken, count, self.totals.remaining)
            .map_err(SplitRefusal::Taken)?;
        Ok(PricedSplit { amount, parts: Vec::new(), equal: Some(EqualShares { parts, count }) })
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
    /// The bill is being split in this many equal shares.
    SplitInOtherParts {
        parts: i64,
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
        LedgerPayment { id: id.into(), status, amount: MinorUnit(amount), tip: MinorUnit(10), equal_count: None }
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
        let amount = |a| ledger.price_split(&SplitRequest::Amount(a), None);
        assert_eq!(amount(0), Err(SplitRefusal::AmountBelowOne));
        assert_eq!(amount(1001), Err(SplitRefusal::AmountExceeds { remaining: MinorUnit(1000) }));
        assert_eq!(amount(1000).map(|p| p.amount), Ok(MinorUnit(1000)));
        let equal = |parts, count, fixed| ledger.price_split(&SplitRequest::Equal { parts, count }, fixed);
        assert_eq!(equal(1, 1, None), Err(SplitRefusal::PartsOutOfRange));
        assert_eq!(equal(2, 3, None), Err(SplitRefusal::CountOutOfRange));
        let item = |id: &str| ItemRequest { item_id: id.into(), quantity: None, share_parts: None };
        let items = |list: Vec<ItemRequest>| ledger.price_split(&SplitRequest::Items(list), None);
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
        let ledger = Ledger::new(priced, &lines, &[share], &[]).expect("ledger");
        let equal = |parts| ledger.price_split(&SplitRequest::Equal { parts, count: 1 }, Some(3));
        assert_eq!(equal(2), Err(SplitRefusal::SplitInOtherParts { parts: 3 }));
        assert_eq!(equal(3).map(|p| p.amount), Ok(MinorUnit(3333)));
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
                let Ok(split) = ledger.price_split(&request, Some(3)) else { continue };
                let id = format!("p{n}");
                let status = if captured { PaymentStatus::Succeeded } else { PaymentStatus::Canceled };
                payments.push(LedgerPayment {
                    id: id.clone(),
                    status,
                    amount: split.amount,
                    tip: MinorUnit::ZERO,
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
}
