//! The tax a payment contains, rate by rate, as a receipt or an invoice states it.
//!
//! A payment pays parts of the bill's priced lines: an items split names them, any other
//! split pays a share of the bill, spread over the lines in proportion to what each costs.
//! Each line's tax is then taken in the same proportion as the part of the line paid.

use serde::Serialize;

use crate::allocate::allocate;
use crate::money::{MinorUnit, MoneyError, mul_div_half_up};
use crate::pricing::PricedBill;

/// Tax at one rate contained in what was paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RateTax {
    pub rate_bps: u32,
    /// What was paid of lines taxed at this rate (tax included).
    pub base: MinorUnit,
    /// The tax it contains.
    pub tax: MinorUnit,
}

/// `amount`, a share of the bill not tied to lines, spread over the priced lines in
/// proportion to what each line costs (largest remainder): the parts sum to `amount`.
pub fn spread(priced: &PricedBill, amount: MinorUnit) -> Result<Vec<MinorUnit>, MoneyError> {
    if priced.lines.is_empty() {
        return Ok(Vec::new());
    }
    let weights: Vec<i64> = priced.lines.iter().map(|l| l.amount.get()).collect();
    allocate(amount, &weights)
}

/// The tax contained in `paid[i]` of each priced line `i` (at most the line's amount), summed
/// by rate, rates ascending; rates with nothing paid are left out.
pub fn tax_in(priced: &PricedBill, paid: &[MinorUnit]) -> Result<Vec<RateTax>, MoneyError> {
    let mut rates: Vec<RateTax> = Vec::new();
    for (line, part) in priced.lines.iter().zip(paid) {
        if part.get() <= 0 {
            continue;
        }
        let tax = if line.amount.get() <= 0 {
            MinorUnit::ZERO
        } else {
            mul_div_half_up(line.tax.get(), i128::from(part.get()), i128::from(line.amount.get()))?
        };
        match rates.iter_mut().find(|r| r.rate_bps == line.tax_rate_bps) {
            Some(rate) => {
                rate.base = rate.base.checked_add(*part)?;
                rate.tax = rate.tax.checked_add(tax)?;
            }
            None => rates.push(RateTax { rate_bps: line.tax_rate_bps, base: *part, tax }),
        }
    }
    rates.sort_by_key(|r| r.rate_bps);
    Ok(rates)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::{Line, PricingRules, TaxMode, price_bill};
    use proptest::prelude::*;

    fn bill(lines: &[(i64, i64, u32)], mode: TaxMode) -> PricedBill {
        let lines: Vec<Line> = lines
            .iter()
            .map(|&(quantity, unit_price, rate)| Line {
                quantity,
                unit_price: MinorUnit(unit_price),
                tax_rate_bps: Some(rate),
                discount: MinorUnit::ZERO,
            })
            .collect();
        price_bill(PricingRules { tax_mode: mode, tax_rate_bps: 0, service_charge_bps: 0 }, &lines, MinorUnit::ZERO)
            .expect("prices")
    }

    #[test]
    fn a_whole_bill_contains_its_tax_rate_by_rate() {
        // 2 × 11.90 at 20 % (3.97 tax) and a 10.70 dish at 10 % (0.97).
        let priced = bill(&[(2, 1190, 2000), (1, 1070, 1000)], TaxMode::Inclusive);
        let paid: Vec<MinorUnit> = priced.lines.iter().map(|l| l.amount).collect();
        let taxes = tax_in(&priced, &paid).expect("tax");
        assert_eq!(
            taxes,
            vec![
                RateTax { rate_bps: 1000, base: MinorUnit(1070), tax: priced.lines[1].tax },
                RateTax { rate_bps: 2000, base: MinorUnit(2380), tax: priced.lines[0].tax },
            ]
        );
        assert_eq!(taxes.iter().map(|t| t.tax.get()).sum::<i64>(), priced.tax.get());
    }

    #[test]
    fn a_third_of_the_bill_contains_a_third_of_its_tax() {
        let priced = bill(&[(3, 1000, 2000)], TaxMode::Inclusive); // 30.00, of which 5.00 tax
        let paid = spread(&priced, MinorUnit(1000)).expect("spread");
        assert_eq!(paid, vec![MinorUnit(1000)]);
        let taxes = tax_in(&priced, &paid).expect("tax");
        assert_eq!(taxes, vec![RateTax { rate_bps: 2000, base: MinorUnit(1000), tax: MinorUnit(167) }]);
    }

    proptest! {
        /// Spreading a share never takes more of a line than it costs, the parts sum to the
        /// share, and the tax found is within rounding of the share's part of the bill's tax.
        #[test]
        fn a_share_carries_its_part_of_the_tax(
            lines in prop::collection::vec((1i64..5, 0i64..100_000, prop::sample::select(vec![0u32, 550, 1000, 2000])), 1..8),
            exclusive in any::<bool>(),
            percent in 0i64..=100,
        ) {
            let priced = bill(&lines, if exclusive { TaxMode::Exclusive } else { TaxMode::Inclusive });
            let share = MinorUnit(priced.total.get() * percent / 100);
            let paid = spread(&priced, share).expect("spread");
            prop_assert_eq!(paid.iter().map(|p| p.get()).sum::<i64>(), share.get());
            for (part, line) in paid.iter().zip(&priced.lines) {
                prop_assert!(part.get() <= line.amount.get());
            }
            let taxes = tax_in(&priced, &paid).expect("tax");
            let tax: i64 = taxes.iter().map(|t| t.tax.get()).sum();
            let base: i64 = taxes.iter().map(|t| t.base.get()).sum();
            prop_assert_eq!(base, share.get());
            prop_assert!(tax <= share.get());
            // Each line rounds by at most half a unit, and the spread by at most one unit a line.
            let expected = i128::from(priced.tax.get()) * i128::from(share.get());
            let total = i128::from(priced.total.get().max(1));
            let slack = 2 * priced.lines.len() as i128;
            prop_assert!((i128::from(tax) * total - expected).abs() <= slack * total);
            if percent == 100 {
                prop_assert_eq!(tax, priced.tax.get());
            }
        }
    }
}
