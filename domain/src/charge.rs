//! What a guest is charged for their part: the provider's rules on amounts, and the tip that
//! absorbs them.
//!
//! Providers cannot charge every amount (Stripe takes KWD in multiples of 10 fils, and
//! nothing below a per-currency minimum). The bill's parts stay exact — they must sum to the
//! bill total — so the charge is rounded up through the tip, and a part that could not be
//! charged, or would leave a rest that could not, is refused before any provider is asked.

use crate::money::{MinorUnit, MoneyError};

/// Amounts a provider accepts, in ISO 4217 minor units of the currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChargeRules {
    /// Every charged amount is a multiple of this (10 for KWD on Stripe). At least 1.
    pub granularity: i64,
    /// The smallest amount a charge may have.
    pub minimum: i64,
}

impl ChargeRules {
    pub const ANY: ChargeRules = ChargeRules { granularity: 1, minimum: 1 };

    /// The smallest chargeable amount ≥ `amount`; `None` when it does not fit in an `i64`,
    /// or when the rules are broken (a granularity below 1 has no multiples to round to).
    pub fn round_up(self, amount: i64) -> Option<i64> {
        if self.granularity < 1 {
            return None;
        }
        let rem = amount.rem_euclid(self.granularity);
        if rem == 0 { Some(amount) } else { amount.checked_add(self.granularity - rem) }
    }

    /// Whether the provider can charge exactly `amount`.
    pub fn chargeable(self, amount: i64) -> bool {
        self.granularity >= 1 && amount >= self.minimum && amount % self.granularity == 0
    }
}

/// One guest's charge: their part of the bill, the tip, and what the provider collects.
/// `amount + tip == total`, and `total` is chargeable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    /// The part of the bill paid, exactly as priced.
    pub amount: MinorUnit,
    /// The guest's tip plus the rounding up to the provider's granularity (less than one
    /// granularity step).
    pub tip: MinorUnit,
    /// What the provider is asked to collect.
    pub total: MinorUnit,
}

/// Why a part cannot be charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChargeError {
    /// The charge, rounded, is below the provider's minimum: the guest adds a tip or pays a
    /// larger part.
    #[error("the charge {charge} is below the smallest charge the provider accepts ({minimum})")]
    BelowMinimum { charge: MinorUnit, minimum: MinorUnit },
    /// Paying this part would leave a rest too small for anyone to pay: the guest pays the
    /// remaining amount instead.
    #[error("paying this would leave {left}, less than the smallest charge the provider accepts ({minimum})")]
    LeavesTooLittle { left: MinorUnit, minimum: MinorUnit },
    #[error("amount out of range")]
    Overflow,
}

impl From<MoneyError> for ChargeError {
    fn from(_: MoneyError) -> Self {
        ChargeError::Overflow
    }
}

/// The charge for a priced part `share` with `tip`, on a bill that has `remaining` to pay
/// before this payment. `share` and `tip` are non-negative (callers guarantee it).
///
/// Checks in this order: `share + tip` fits; the total rounded up to `rules.granularity`
/// fits (the rounding goes to the tip); the total reaches `rules.minimum`; what the part
/// leaves of the bill is either nothing or at least `rules.minimum`.
pub fn charge(
    rules: ChargeRules,
    share: MinorUnit,
    tip: MinorUnit,
    remaining: MinorUnit,
) -> Result<Charge, ChargeError> {
    let exact = share.checked_add(tip)?;
    let total = MinorUnit(rules.round_up(exact.get()).ok_or(ChargeError::Overflow)?);
    let tip = tip.checked_add(total.checked_sub(exact)?)?;
    let minimum = MinorUnit(rules.minimum);
    if total < minimum {
        return Err(ChargeError::BelowMinimum { charge: total, minimum });
    }
    let left = remaining.checked_sub(share)?;
    if left > MinorUnit::ZERO && left < minimum {
        return Err(ChargeError::LeavesTooLittle { left, minimum });
    }
    Ok(Charge { amount: share, tip, total })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAX_AMOUNT: i64 = (1 << 53) - 1;
    const KWD_ON_STRIPE: ChargeRules = ChargeRules { granularity: 10, minimum: 200 };

    #[test]
    fn rounding_to_granularity() {
        assert_eq!(KWD_ON_STRIPE.round_up(33_335), Some(33_340));
        assert_eq!(KWD_ON_STRIPE.round_up(33_340), Some(33_340));
        assert_eq!(KWD_ON_STRIPE.round_up(i64::MAX), None);
        assert!(
            KWD_ON_STRIPE.chargeable(33_340) && !KWD_ON_STRIPE.chargeable(33_335) && !KWD_ON_STRIPE.chargeable(190)
        );
        assert_eq!(ChargeRules::ANY.round_up(7), Some(7));
        let broken = ChargeRules { granularity: 0, minimum: 1 };
        assert_eq!(broken.round_up(7), None);
        assert!(!broken.chargeable(7));
    }

    #[test]
    fn the_tip_absorbs_the_rounding() {
        // 4.463 KWD is not chargeable on Stripe: the share stays exact, the tip takes 7 fils.
        let c = charge(KWD_ON_STRIPE, MinorUnit(4463), MinorUnit::ZERO, MinorUnit(10_000)).expect("chargeable");
        assert_eq!(c, Charge { amount: MinorUnit(4463), tip: MinorUnit(7), total: MinorUnit(4470) });
        let c = charge(KWD_ON_STRIPE, MinorUnit(4463), MinorUnit(500), MinorUnit(4463)).expect("chargeable");
        assert_eq!(c, Charge { amount: MinorUnit(4463), tip: MinorUnit(507), total: MinorUnit(4970) });
    }

    #[test]
    fn refuses_charges_below_the_minimum() {
        assert_eq!(
            charge(KWD_ON_STRIPE, MinorUnit(150), MinorUnit(31), MinorUnit(10_000)),
            Err(ChargeError::BelowMinimum { charge: MinorUnit(200 - 10), minimum: MinorUnit(200) })
        );
        // A tip lifts it over.
        assert!(charge(KWD_ON_STRIPE, MinorUnit(150), MinorUnit(50), MinorUnit(10_000)).is_ok());
    }

    #[test]
    fn refuses_leaving_a_rest_nobody_can_pay() {
        assert_eq!(
            charge(KWD_ON_STRIPE, MinorUnit(9_900), MinorUnit::ZERO, MinorUnit(10_000)),
            Err(ChargeError::LeavesTooLittle { left: MinorUnit(100), minimum: MinorUnit(200) })
        );
        assert!(
            charge(KWD_ON_STRIPE, MinorUnit(9_800), MinorUnit::ZERO, MinorUnit(10_000)).is_ok(),
            "0.200 is payable"
        );
        assert!(charge(KWD_ON_STRIPE, MinorUnit(10_000), MinorUnit::ZERO, MinorUnit(10_000)).is_ok(), "nothing left");
    }

    #[test]
    fn checks_in_the_order_of_the_api() {
        // Below the minimum and leaving too little: the minimum is reported.
        assert!(matches!(
            charge(KWD_ON_STRIPE, MinorUnit(100), MinorUnit::ZERO, MinorUnit(150)),
            Err(ChargeError::BelowMinimum { .. })
        ));
        assert_eq!(
            charge(ChargeRules::ANY, MinorUnit(i64::MAX), MinorUnit(1), MinorUnit::ZERO),
            Err(ChargeError::Overflow)
        );
        assert_eq!(
            charge(KWD_ON_STRIPE, MinorUnit(i64::MAX - 3), MinorUnit::ZERO, MinorUnit::ZERO),
            Err(ChargeError::Overflow)
        );
        assert_eq!(
            charge(ChargeRules::ANY, MinorUnit(5), MinorUnit::ZERO, MinorUnit(i64::MIN)),
            Err(ChargeError::Overflow)
        );
    }

    proptest! {
        #[test]
        fn the_total_is_chargeable_and_only_the_tip_moves(
            granularity in 1..=1000_i64,
            minimum in 0..=10_000_i64,
            share in 0..=MAX_AMOUNT,
            tip in 0..=MAX_AMOUNT,
            rest in 0..=MAX_AMOUNT,
        ) {
            let rules = ChargeRules { granularity, minimum };
            let remaining = MinorUnit(share + rest);
            let exact = share + tip;
            let rounded = (exact + granularity - 1) / granularity * granularity;
            let left = remaining.get() - share;
            match charge(rules, MinorUnit(share), MinorUnit(tip), remaining) {
                Ok(c) => {
                    prop_assert_eq!(c.amount, MinorUnit(share));
                    prop_assert_eq!(c.total.get() % granularity, 0);
                    prop_assert!(c.total.get() >= exact);
                    prop_assert!(c.total.get() - exact < granularity);
                    prop_assert_eq!(c.amount.get() + c.tip.get(), c.total.get());
                    prop_assert!(c.tip.get() >= tip);
                    prop_assert!(rules.chargeable(c.total.get()));
                    prop_assert!(c.total.get() <= crate::money::MAX_SAFE);
                    prop_assert!(rounded >= minimum && !(0 < left && left < minimum));
                }
                Err(ChargeError::BelowMinimum { charge, minimum: m }) => {
                    prop_assert_eq!((charge.get(), m.get()), (rounded, minimum));
                    prop_assert!(rounded < minimum);
                }
                Err(ChargeError::LeavesTooLittle { left: l, minimum: m }) => {
                    prop_assert_eq!((l.get(), m.get()), (left, minimum));
                    prop_assert!(rounded >= minimum && 0 < left && left < minimum);
                }
                // Every amount stays within 2^53 − 1: a charge past it is refused, nothing else is.
                Err(ChargeError::Overflow) => prop_assert!(rounded > crate::money::MAX_SAFE, "overflow below 2^53"),
            }
        }
    }
}
