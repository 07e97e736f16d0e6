//! How much one guest's part of a bill costs: whole units or a share of a line, k of N equal
//! shares, a tip. The rules guarantee that however a bill is split, and in whatever order
//! guests pay, the parts sum to the bill total exactly and no part is taken twice.

use serde::{Deserialize, Serialize};

use crate::allocate::split_equally;
use crate::money::{MinorUnit, MoneyError, mul_div_half_up};

/// Why a part cannot be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// More of a line than is left of it (paid or held by someone else).
    #[error("that part of the item is no longer available")]
    ItemUnavailable,
    /// More equal shares than the bill has left.
    #[error("those equal shares are no longer available")]
    SharesUnavailable,
    /// More money than the bill has left.
    #[error("the amount exceeds what remains to be paid")]
    ExceedsRemaining,
    #[error("amount out of range")]
    Overflow,
}

impl From<MoneyError> for SplitError {
    fn from(_: MoneyError) -> Self {
        SplitError::Overflow
    }
}

/// A part of a line: `num / den` of it, `0 < num/den ≤ 1`, kept reduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Fraction {
    pub num: i64,
    pub den: i64,
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs()
}

impl Fraction {
    pub const ZERO: Fraction = Fraction { num: 0, den: 1 };
    pub const ONE: Fraction = Fraction { num: 1, den: 1 };

    /// `num / den` reduced; `None` unless `0 ≤ num ≤ den` and `den > 0`.
    pub fn new(num: i64, den: i64) -> Option<Fraction> {
        if den <= 0 || num < 0 || num > den {
            return None;
        }
        let g = gcd(i128::from(num), i128::from(den)).max(1) as i64;
        Some(Fraction { num: num / g, den: den / g })
    }

    /// The sum, or `None` when it exceeds one (or the arithmetic would overflow).
    pub fn checked_add(self, other: Fraction) -> Option<Fraction> {
        let num = i128::from(self.num) * i128::from(other.den) + i128::from(other.num) * i128::from(self.den);
        let den = i128::from(self.den) * i128::from(other.den);
        let g = gcd(num, den).max(1);
        let (num, den) = (num / g, den / g);
        if num > den {
            return None;
        }
        Some(Fraction { num: i64::try_from(num).ok()?, den: i64::try_from(den).ok()? })
    }

    pub fn is_whole(self) -> bool {
        self.num == self.den
    }
}

/// The cost of taking `want` of a line of `amount` when `claimed` of it (costing
/// `claimed_amount`) is already paid or held.
///
/// Costs are cumulative roundings — the line's parts so far cost `amount × fraction` rounded
/// half up — so each part is within one minor unit of its exact value and the part that
/// completes the line costs exactly what is left: the parts always sum to `amount`.
pub fn item_part_cost(
    amount: MinorUnit,
    claimed: Fraction,
    claimed_amount: MinorUnit,
    want: Fraction,
) -> Result<MinorUnit, SplitError> {
    if want.num == 0 {
        return Err(SplitError::ItemUnavailable);
    }
    let after = claimed.checked_add(want).ok_or(SplitError::ItemUnavailable)?;
    let left = amount.checked_sub(claimed_amount)?.max(MinorUnit::ZERO);
    if after.is_whole() {
        return Ok(left);
    }
    let cumulative = mul_div_half_up(amount.get(), i128::from(after.num), i128::from(after.den))?;
    Ok(cumulative.checked_sub(claimed_amount)?.clamp(MinorUnit::ZERO, left))
}

/// The shares of an equal split not yet paid or held: what is left of the bill, in
/// `open_shares` equal parts by largest remainder (100.00 in 3 → 33.34, 33.33, 33.33).
///
/// Recomputing them from what is left whenever the bill changes is what keeps an equal split
/// true: shares already paid stay as they were, and the open ones always sum to exactly what
/// is left, so the last share ends the bill at zero and no share is larger than what is left.
pub fn open_shares(left: MinorUnit, open_shares: u32) -> Result<Vec<MinorUnit>, SplitError> {
    if open_shares == 0 {
        return Ok(Vec::new());
    }
    Ok(split_equally(left.max(MinorUnit::ZERO), open_shares)?)
}

/// The cost of `count` of the `open` equal shares of `left` (see [`open_shares`]): the first
/// `count` of them, which carry the odd units.
pub fn equal_shares_cost(left: MinorUnit, open: u32, count: u32) -> Result<MinorUnit, SplitError> {
    if count == 0 || count > open {
        return Err(SplitError::SharesUnavailable);
    }
    if left <= MinorUnit::ZERO {
        return Err(SplitError::ExceedsRemaining);
    }
    let shares = open_shares(left, open)?;
    Ok(MinorUnit::sum(shares[..count as usize].iter().copied())?)
}

/// A tip on top of a share: a fixed amount or a percentage of the share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tip {
    Amount(MinorUnit),
    PercentBps(u32),
}

impl Tip {
    /// The tip for `share`, percentages rounded half up.
    pub fn amount(self, share: MinorUnit) -> Result<MinorUnit, MoneyError> {
        match self {
            Tip::Amount(a) => Ok(a),
            Tip::PercentBps(bps) => share.percent_bps(bps),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn f(num: i64, den: i64) -> Fraction {
        Fraction::new(num, den).expect("valid fraction")
    }

    #[test]
    fn a_shared_dish_in_three() {
        let dish = MinorUnit(1000);
        let first = item_part_cost(dish, Fraction::ZERO, MinorUnit::ZERO, f(1, 3)).expect("free");
        let second = item_part_cost(dish, f(1, 3), first, f(1, 3)).expect("free");
        let third = item_part_cost(dish, f(2, 3), first.checked_add(second).expect("fits"), f(1, 3)).expect("free");
        assert_eq!((first, second, third), (MinorUnit(333), MinorUnit(334), MinorUnit(333)));
        assert_eq!(item_part_cost(dish, Fraction::ONE, dish, f(1, 3)), Err(SplitError::ItemUnavailable));
    }

    #[test]
    fn units_of_a_line() {
        // 3 beers for 14.50: one, then the other two.
        let line = MinorUnit(1450);
        let one = item_part_cost(line, Fraction::ZERO, MinorUnit::ZERO, f(1, 3)).expect("free");
        assert_eq!(one, MinorUnit(483));
        assert_eq!(item_part_cost(line, f(1, 3), one, f(2, 3)), Ok(MinorUnit(967)));
        assert_eq!(item_part_cost(line, f(1, 3), one, f(3, 3)), Err(SplitError::ItemUnavailable));
    }

    #[test]
    fn hundred_in_three_equal_shares() {
        let total = MinorUnit(10_000);
        assert_eq!(equal_shares_cost(total, 3, 1), Ok(MinorUnit(3334)));
        assert_eq!(equal_shares_cost(MinorUnit(6666), 2, 1), Ok(MinorUnit(3333)));
        assert_eq!(equal_shares_cost(MinorUnit(3333), 1, 1), Ok(MinorUnit(3333)));
        assert_eq!(equal_shares_cost(total, 3, 2), Ok(MinorUnit(6667)));
        assert_eq!(equal_shares_cost(MinorUnit::ZERO, 0, 1), Err(SplitError::SharesUnavailable));
        assert_eq!(equal_shares_cost(total, 3, 4), Err(SplitError::SharesUnavailable));
        assert_eq!(equal_shares_cost(MinorUnit::ZERO, 2, 1), Err(SplitError::ExceedsRemaining));
        // Someone paid a custom amount of 70.00 first: the shares are of the 30.00 left.
        assert_eq!(equal_shares_cost(MinorUnit(3000), 3, 1), Ok(MinorUnit(1000)));
        assert_eq!(open_shares(MinorUnit(100), 3), Ok(vec![MinorUnit(34), MinorUnit(33), MinorUnit(33)]));
    }

    #[test]
    fn tips_round_half_up() {
        assert_eq!(Tip::PercentBps(1500).amount(MinorUnit(3333)), Ok(MinorUnit(500)));
        assert_eq!(Tip::PercentBps(1000).amount(MinorUnit(5)), Ok(MinorUnit(1)));
        assert_eq!(Tip::Amount(MinorUnit(200)).amount(MinorUnit(3333)), Ok(MinorUnit(200)));
    }

    /// A claim on a line: whole units of a quantity, or one part of n.
    fn arb_claims() -> impl Strategy<Value = (i64, Vec<Fraction>)> {
        (1..20_i64, 1..8_i64).prop_flat_map(|(quantity, parts)| {
            let unit = Fraction::new(1, quantity).expect("valid");
            let share = Fraction::new(1, parts).expect("valid");
            (Just(quantity), prop::collection::vec(prop_oneof![Just(unit), Just(share)], 1..60))
        })
    }

    proptest! {
        #[test]
        fn parts_of_a_line_sum_to_it_exactly(amount in 0..10_000_000_i64, (_q, claims) in arb_claims()) {
            let amount = MinorUnit(amount);
            let (mut claimed, mut paid) = (Fraction::ZERO, MinorUnit::ZERO);
            for want in claims {
                match item_part_cost(amount, claimed, paid, want) {
                    Ok(cost) => {
                        prop_assert!(cost.get() >= 0);
                        claimed = claimed.checked_add(want).expect("checked by the cost");
                        paid = paid.checked_add(cost).expect("fits");
                        prop_assert!(paid <= amount);
                    }
                    Err(e) => prop_assert_eq!(e, SplitError::ItemUnavailable),
                }
            }
            // Whatever is left, taken whole, closes the line exactly.
            if !claimed.is_whole() {
                let rest = Fraction::new(claimed.den - claimed.num, claimed.den).expect("valid");
                let cost = item_part_cost(amount, claimed, paid, rest).expect("the rest is free");
                paid = paid.checked_add(cost).expect("fits");
            }
            prop_assert_eq!(paid, amount);
        }

        #[test]
        fn equal_shares_sum_to_the_total(total in 1..10_000_000_i64, parts in 1..30_u32, counts in prop::collection::vec(1..4_u32, 1..30)) {
            let total = MinorUnit(total);
            let (mut taken, mut remaining) = (0_u32, total);
            for count in counts {
                match equal_shares_cost(remaining, parts - taken, count) {
                    Ok(cost) => {
                        prop_assert!(cost > MinorUnit::ZERO || total.get() < i64::from(parts));
                        // No share is ever larger than what is left, nor than its fair part.
                        prop_assert!(cost <= remaining);
                        prop_assert!(cost.get() <= (remaining.get() * i64::from(count)).div_euclid(i64::from(parts - taken)) + i64::from(count));
                        taken += count;
                        remaining = remaining.checked_sub(cost).expect("fits");
                        prop_assert!(remaining >= MinorUnit::ZERO);
                    }
                    Err(e) => prop_assert!(e == SplitError::SharesUnavailable || e == SplitError::ExceedsRemaining),
                }
            }
            if taken == parts {
                prop_assert_eq!(remaining, MinorUnit::ZERO);
            }
        }
    }
}
