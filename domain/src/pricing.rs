//! Pricing a bill: lines, tax, discounts, service charge, and the totals a guest sees.
//!
//! Each line's payable `amount` carries its own part of tax (exclusive mode), discounts and
//! service charge, allocated by largest remainder, so that the lines' amounts always sum to
//! the bill total exactly: a guest who pays "my items" and one who pays "the rest" can never
//! leave a cent unpaid or pay one twice.

use serde::{Deserialize, Serialize};

use crate::allocate::allocate;
use crate::money::{MinorUnit, MoneyError, mul_div_half_up};

/// Whether menu prices include tax (most of Europe) or tax is added on top (most of the US).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaxMode {
    /// Prices include tax; the tax inside them is shown, not added.
    Inclusive,
    /// Tax is added per line, rounded half up.
    Exclusive,
}

impl TaxMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TaxMode::Inclusive => "inclusive",
            TaxMode::Exclusive => "exclusive",
        }
    }

    pub fn parse(s: &str) -> Option<TaxMode> {
        match s {
            "inclusive" => Some(TaxMode::Inclusive),
            "exclusive" => Some(TaxMode::Exclusive),
            _ => None,
        }
    }
}

/// The venue's pricing rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PricingRules {
    pub tax_mode: TaxMode,
    /// Default tax rate of a line, in basis points.
    pub tax_rate_bps: u32,
    /// Service charge on each line's discounted price, in basis points.
    pub service_charge_bps: u32,
}

/// One active line of a bill as the POS sent it, with the discounts that apply to it alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub quantity: i64,
    pub unit_price: MinorUnit,
    /// Overrides the venue's rate for this line (e.g. a reduced rate for food).
    pub tax_rate_bps: Option<u32>,
    /// Comps and discounts on this line, never more than its price.
    pub discount: MinorUnit,
}

/// A line after pricing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PricedLine {
    /// `quantity × unit_price`.
    pub gross: MinorUnit,
    /// Discounts on this line plus its share of bill-wide discounts.
    pub discount: MinorUnit,
    /// The rate applied.
    pub tax_rate_bps: u32,
    /// Tax of this line: added in exclusive mode, contained in inclusive mode.
    pub tax: MinorUnit,
    /// This line's service charge.
    pub service_charge: MinorUnit,
    /// What paying this whole line costs: the line's part of the bill total.
    pub amount: MinorUnit,
}

/// A priced bill. `total == Σ lines.amount`, always.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedBill {
    pub lines: Vec<PricedLine>,
    pub subtotal: MinorUnit,
    pub discounts: MinorUnit,
    pub tax: MinorUnit,
    pub service_charge: MinorUnit,
    pub total: MinorUnit,
}

/// Why a bill cannot be priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("an amount of this bill would exceed 9007199254740991 minor units")]
    Overflow,
    #[error("quantity must be at least 1 and prices, rates and discounts non-negative")]
    Negative,
    #[error("discounts exceed the price they apply to")]
    DiscountTooLarge,
}

impl From<MoneyError> for PricingError {
    fn from(_: MoneyError) -> Self {
        PricingError::Overflow
    }
}

/// Prices `lines` under `rules`, with `bill_discount` spread over the lines in proportion to
/// what is left of each after its own discounts.
pub fn price_bill(rules: PricingRules, lines: &[Line], bill_discount: MinorUnit) -> Result<PricedBill, PricingError> {
    if bill_discount.get() < 0 || lines.iter().any(|l| l.quantity < 1 || l.unit_price.get() < 0 || l.discount.get() < 0)
    {
        return Err(PricingError::Negative);
    }
    let gross: Vec<MinorUnit> = lines.iter().map(|l| l.unit_price.checked_mul(l.quantity)).collect::<Result<_, _>>()?;
    let subtotal = MinorUnit::sum(gross.iter().copied())?;

    let mut after_own_discount = Vec::with_capacity(lines.len());
    for (line, gross) in lines.iter().zip(&gross) {
        if line.discount > *gross {
            return Err(PricingError::DiscountTooLarge);
        }
        after_own_discount.push(gross.checked_sub(line.discount)?.get());
    }
    let discountable = MinorUnit::sum(after_own_discount.iter().map(|v| MinorUnit(*v)))?.get();
    if bill_discount.get() > discountable {
        return Err(PricingError::DiscountTooLarge);
    }
    let bill_discount_shares = allocate(bill_discount, &after_own_discount)?;

    let mut priced = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let discount = line.discount.checked_add(bill_discount_shares[i])?;
        let base = gross[i].checked_sub(discount)?;
        let rate = line.tax_rate_bps.unwrap_or(rules.tax_rate_bps);
        let tax = match rules.tax_mode {
            TaxMode::Exclusive => mul_div_half_up(base.get(), i128::from(rate), 10_000)?,
            TaxMode::Inclusive => mul_div_half_up(base.get(), i128::from(rate), 10_000 + i128::from(rate))?,
        };
        priced.push(PricedLine {
            gross: gross[i],
            discount,
            tax_rate_bps: rate,
            tax,
            service_charge: MinorUnit::ZERO,
            amount: base,
        });
    }

    let discounts = MinorUnit::sum(priced.iter().map(|l| l.discount))?;
    // Service charge is computed per line (rounded half up, like tax), so a line's amount
    // never moves when other lines are added or voided: what a guest already paid for a
    // line stays exactly what that line costs.
    for line in priced.iter_mut() {
        let service = line.amount.percent_bps(rules.service_charge_bps)?;
        line.service_charge = service;
        let added_tax = if rules.tax_mode == TaxMode::Exclusive { line.tax } else { MinorUnit::ZERO };
        line.amount = line.amount.checked_add(added_tax)?.checked_add(service)?;
    }
    let service_charge = MinorUnit::sum(priced.iter().map(|l| l.service_charge))?;
    let tax = MinorUnit::sum(priced.iter().map(|l| l.tax))?;
    let total = MinorUnit::sum(priced.iter().map(|l| l.amount))?;
    Ok(PricedBill { lines: priced, subtotal, discounts, tax, service_charge, total })
}

/// The figures of a bill a guest and the staff see.
/// Invariant: `paid + pending + remaining == total`, each non-negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Totals {
    pub subtotal: MinorUnit,
    pub discounts: MinorUnit,
    pub tax: MinorUnit,
    pub service_charge: MinorUnit,
    pub total: MinorUnit,
    pub paid: MinorUnit,
    pub pending: MinorUnit,
    pub remaining: MinorUnit,
    /// Tips are kept apart from the bill amount: they never count towards `total`.
    pub tips: MinorUnit,
    /// The bill's part of what was refunded to guests (already taken out of `paid`).
    pub refunded: MinorUnit,
    /// What tenders recorded outside tablepay paid (part of `paid`).
    pub tendered: MinorUnit,
}

/// Paid and held amounts together exceed the bill total: the caller must refuse the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("paid and pending amounts exceed the bill total")]
pub struct Oversubscribed;

impl Totals {
    pub fn new(
        bill: &PricedBill,
        paid: MinorUnit,
        pending: MinorUnit,
        tips: MinorUnit,
    ) -> Result<Totals, Oversubscribed> {
        let taken = paid.checked_add(pending).map_err(|_| Oversubscribed)?;
        let remaining = bill.total.checked_sub(taken).map_err(|_| Oversubscribed)?;
        if paid.get() < 0 || pending.get() < 0 || remaining.get() < 0 {
            return Err(Oversubscribed);
        }
        Ok(Totals {
            subtotal: bill.subtotal,
            discounts: bill.discounts,
            tax: bill.tax,
            service_charge: bill.service_charge,
            total: bill.total,
            paid,
            pending,
            remaining,
            tips,
            refunded: MinorUnit::ZERO,
            tendered: MinorUnit::ZERO,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(quantity: i64, unit_price: i64, tax_rate_bps: Option<u32>) -> Line {
        Line { quantity, unit_price: MinorUnit(unit_price), tax_rate_bps, discount: MinorUnit::ZERO }
    }

    fn rules(tax_mode: TaxMode, tax_rate_bps: u32, service_charge_bps: u32) -> PricingRules {
        PricingRules { tax_mode, tax_rate_bps, service_charge_bps }
    }

    #[test]
    fn inclusive_tax_is_shown_not_added() {
        // 2 × 11.90 at 19 % → 23.80 gross of which 3.80 tax; a 7 % line of 10.70 holds 0.70.
        let bill = price_bill(
            rules(TaxMode::Inclusive, 1900, 0),
            &[line(2, 1190, None), line(1, 1070, Some(700))],
            MinorUnit::ZERO,
        )
        .expect("prices");
        assert_eq!(bill.subtotal, MinorUnit(3450));
        assert_eq!(bill.tax, MinorUnit(380 + 70));
        assert_eq!(bill.total, MinorUnit(3450));
    }

    #[test]
    fn exclusive_tax_is_added_per_line_half_up() {
        // 3 × 3.33 = 9.99 at 8.75 % → 0.874 → 0.87; 1 × 0.05 at 10 % → 0.005 → 0.01.
        let bill = price_bill(
            rules(TaxMode::Exclusive, 875, 0),
            &[line(3, 333, None), line(1, 5, Some(1000))],
            MinorUnit::ZERO,
        )
        .expect("prices");
        assert_eq!(bill.lines[0].tax, MinorUnit(87));
        assert_eq!(bill.lines[1].tax, MinorUnit(1));
        assert_eq!(bill.total, MinorUnit(999 + 87 + 5 + 1));
    }

    #[test]
    fn service_charge_spreads_over_lines() {
        // 10 % service on 10.00 + 20.00 exclusive of 0 % tax → 3.00, split 1.00 / 2.00.
        let bill = price_bill(
            rules(TaxMode::Exclusive, 0, 1000),
            &[line(1, 1000, None), line(1, 2000, None)],
            MinorUnit::ZERO,
        )
        .expect("prices");
        assert_eq!(bill.service_charge, MinorUnit(300));
        assert_eq!(bill.lines.iter().map(|l| l.amount).collect::<Vec<_>>(), vec![MinorUnit(1100), MinorUnit(2200)]);
        assert_eq!(bill.total, MinorUnit(3300));
    }

    #[test]
    fn discounts_lower_the_taxable_base() {
        let mut comped = line(1, 1000, None);
        comped.discount = MinorUnit(1000);
        let bill = price_bill(rules(TaxMode::Exclusive, 1000, 0), &[comped, line(1, 1000, None)], MinorUnit(500))
            .expect("prices");
        assert_eq!(bill.discounts, MinorUnit(1500));
        assert_eq!(bill.lines[0].amount, MinorUnit(0));
        assert_eq!(bill.lines[1].amount, MinorUnit(550));
        assert_eq!(bill.total, MinorUnit(550));
    }

    #[test]
    fn refuses_bad_lines() {
        let r = rules(TaxMode::Exclusive, 0, 0);
        assert_eq!(price_bill(r, &[line(0, 100, None)], MinorUnit::ZERO), Err(PricingError::Negative));
        assert_eq!(price_bill(r, &[line(1, -1, None)], MinorUnit::ZERO), Err(PricingError::Negative));
        assert_eq!(price_bill(r, &[line(2, i64::MAX, None)], MinorUnit::ZERO), Err(PricingError::Overflow));
        assert_eq!(
            price_bill(r, &[line(1, i64::MAX, None), line(1, 1, None)], MinorUnit::ZERO),
            Err(PricingError::Overflow)
        );
        assert_eq!(price_bill(r, &[line(1, 100, None)], MinorUnit(101)), Err(PricingError::DiscountTooLarge));
        let tax = rules(TaxMode::Exclusive, 10_000, 0);
        assert_eq!(price_bill(tax, &[line(1, i64::MAX, None)], MinorUnit::ZERO), Err(PricingError::Overflow));
    }

    #[test]
    fn totals_keep_the_invariant() {
        let bill =
            price_bill(rules(TaxMode::Inclusive, 0, 0), &[line(1, 10_000, None)], MinorUnit::ZERO).expect("prices");
        let totals = Totals::new(&bill, MinorUnit(3334), MinorUnit(3333), MinorUnit(500)).expect("fits");
        assert_eq!(totals.remaining, MinorUnit(3333));
        assert_eq!(totals.tips, MinorUnit(500));
        assert_eq!(Totals::new(&bill, MinorUnit(10_000), MinorUnit(1), MinorUnit::ZERO), Err(Oversubscribed));
    }

    fn arb_line() -> impl Strategy<Value = Line> {
        (1..50_i64, 0..100_000_i64, prop::option::of(0..3000_u32), 0..=100_u32).prop_map(|(q, p, r, pct)| Line {
            quantity: q,
            unit_price: MinorUnit(p),
            tax_rate_bps: r,
            discount: MinorUnit(q * p * i64::from(pct) / 100),
        })
    }

    proptest! {
        #[test]
        fn lines_sum_to_the_total(
            exclusive in any::<bool>(),
            tax in 0..3000_u32,
            service in 0..2500_u32,
            lines in prop::collection::vec(arb_line(), 0..30),
            discount_pct in 0..=100_i64,
        ) {
            let mode = if exclusive { TaxMode::Exclusive } else { TaxMode::Inclusive };
            let left: i64 = lines.iter().map(|l| l.quantity * l.unit_price.get() - l.discount.get()).sum();
            let bill_discount = MinorUnit(left * discount_pct / 100);
            let bill = price_bill(rules(mode, tax, service), &lines, bill_discount).expect("prices");
            prop_assert_eq!(MinorUnit::sum(bill.lines.iter().map(|l| l.amount)), Ok(bill.total));
            let added_tax = if exclusive { bill.tax.get() } else { 0 };
            prop_assert_eq!(bill.total.get(), bill.subtotal.get() - bill.discounts.get() + added_tax + bill.service_charge.get());
            prop_assert_eq!(bill.discounts.get(), lines.iter().map(|l| l.discount.get()).sum::<i64>() + bill_discount.get());
            for l in &bill.lines {
                prop_assert!(l.amount.get() >= 0 && l.tax.get() >= 0 && l.discount <= l.gross);
                if !exclusive {
                    prop_assert!(l.tax.get() <= l.gross.get() - l.discount.get());
                }
            }
        }

        #[test]
        fn totals_partition_the_total(total in 0..1_000_000_000_i64, paid_pct in 0..=100_i64, pending_pct in 0..=100_i64) {
            let bill = price_bill(rules(TaxMode::Inclusive, 0, 0), &[line(1, total, None)], MinorUnit::ZERO).expect("prices");
            let paid = total * paid_pct / 100;
            let pending = (total - paid) * pending_pct / 100;
            let t = Totals::new(&bill, MinorUnit(paid), MinorUnit(pending), MinorUnit::ZERO).expect("fits");
            prop_assert_eq!(t.paid.get() + t.pending.get() + t.remaining.get(), t.total.get());
            prop_assert!(t.remaining.get() >= 0);
        }
    }
}
