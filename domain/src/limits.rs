//! How much a staff member may give away on a bill on their own: comps and discounts against
//! the venue's comp limit, refunds against its refund limit, by the same rule.
//!
//! Front-line staff fix small problems on the spot; above their limit the action waits for a
//! manager. A server's limit is per bill and cumulative: what they already gave on the bill
//! (their own requests that count — applied adjustments, committed refunds — including those a
//! manager approved) plus the new amount must stay within it. A manager has no limit.

use crate::money::{MinorUnit, MoneyError};
use crate::status::text_enum;

text_enum! {
    /// Who a venue credential speaks for: the POS system, a server or a manager.
    pub enum Role {
        Pos = "pos",
        Server = "server",
        Manager = "manager",
    }
}

impl Role {
    /// Servers and managers: the people who comp, discount, refund and answer guests.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Server | Role::Manager)
    }

    /// Approves or rejects what others requested above their limit.
    pub fn decides(self) -> bool {
        self == Role::Manager
    }

    /// What this role may give away on one bill without approval, given the venue's limit
    /// for servers; `None` for the POS, which gives nothing away at all.
    pub fn authority(self, server_limit: MinorUnit) -> Option<Authority> {
        match self {
            Role::Pos => None,
            Role::Server => Some(Authority::UpTo(server_limit)),
            Role::Manager => Some(Authority::Unlimited),
        }
    }
}

/// How much a staff member may give away on one bill without a manager's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    /// A manager: anything.
    Unlimited,
    /// A server: in total on the bill, at most this.
    UpTo(MinorUnit),
}

impl Authority {
    /// Whether `amount` more may be given on a bill where `used` was already given: always
    /// for a manager, else when `used + amount ≤ limit`. Exact for every `i64`, never
    /// overflowing.
    pub fn allows(self, used: MinorUnit, amount: MinorUnit) -> bool {
        match self {
            Authority::Unlimited => true,
            Authority::UpTo(limit) => i128::from(used.get()) + i128::from(amount.get()) <= i128::from(limit.get()),
        }
    }

    /// What may still be given on the bill without approval; `None` when unlimited. Never
    /// negative: a limit lowered below what was already given leaves nothing.
    pub fn left(self, used: MinorUnit) -> Option<MinorUnit> {
        match self {
            Authority::Unlimited => None,
            Authority::UpTo(limit) => Some(MinorUnit(limit.get().saturating_sub(used.get()).max(0))),
        }
    }
}

/// What a staff member already gave on a bill: the sum of the amounts of their own requests
/// that count (see [`crate::AdjustmentStatus::counts_against_limit`] and
/// [`crate::RefundStatus::counts_against_limit`]). Refuses overflow instead of wrapping.
pub fn used(amounts: impl IntoIterator<Item = MinorUnit>) -> Result<MinorUnit, MoneyError> {
    MinorUnit::sum(amounts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAX_AMOUNT: i64 = (1 << 53) - 1;

    #[test]
    fn roles_round_trip_like_the_database_check() {
        assert_eq!(Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(), ["pos", "server", "manager"]);
        for &role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("Manager"), None);
        assert!(Role::Server.is_staff() && Role::Manager.is_staff() && !Role::Pos.is_staff());
        assert!(Role::Manager.decides() && !Role::Server.decides());
    }

    #[test]
    fn a_server_within_the_venue_limit() {
        let server = Role::Server.authority(MinorUnit(1500)).expect("a server has a limit");
        assert!(server.allows(MinorUnit(1000), MinorUnit(500)), "exactly the limit is allowed");
        assert!(!server.allows(MinorUnit(1000), MinorUnit(501)));
        assert_eq!(server.left(MinorUnit(1000)), Some(MinorUnit(500)));
        assert_eq!(server.left(MinorUnit(2000)), Some(MinorUnit::ZERO), "a lowered limit leaves nothing");
        let zero = Role::Server.authority(MinorUnit::ZERO).expect("a server has a limit");
        assert!(!zero.allows(MinorUnit::ZERO, MinorUnit(1)), "a zero limit sends everything to a manager");
        assert_eq!(Role::Manager.authority(MinorUnit::ZERO), Some(Authority::Unlimited));
        assert_eq!(Role::Pos.authority(MinorUnit(1500)), None);
    }

    #[test]
    fn used_sums_without_wrapping() {
        assert_eq!(used([MinorUnit(300), MinorUnit(200)]), Ok(MinorUnit(500)));
        assert_eq!(used([]), Ok(MinorUnit::ZERO));
        assert_eq!(used([MinorUnit(i64::MAX), MinorUnit(1)]), Err(MoneyError::Overflow));
    }

    proptest! {
        #[test]
        fn a_manager_is_always_allowed(used in any::<i64>(), amount in any::<i64>()) {
            prop_assert!(Authority::Unlimited.allows(MinorUnit(used), MinorUnit(amount)));
            prop_assert_eq!(Authority::Unlimited.left(MinorUnit(used)), None);
        }

        #[test]
        fn a_server_is_allowed_up_to_the_limit(
            limit in 0..=MAX_AMOUNT,
            used in 0..=MAX_AMOUNT,
            amount in 0..=MAX_AMOUNT,
        ) {
            let server = Authority::UpTo(MinorUnit(limit));
            prop_assert_eq!(server.allows(MinorUnit(used), MinorUnit(amount)), used + amount <= limit);
            let left = server.left(MinorUnit(used)).expect("a server has a limit");
            prop_assert_eq!(server.allows(MinorUnit(used), MinorUnit(amount)), amount <= left.get());
            if used <= limit {
                prop_assert_eq!(left.get() + used, limit);
            } else {
                prop_assert_eq!(left, MinorUnit::ZERO);
            }
        }

        #[test]
        fn no_input_overflows(limit in any::<i64>(), used in any::<i64>(), amount in any::<i64>()) {
            let server = Authority::UpTo(MinorUnit(limit));
            let exact = i128::from(used) + i128::from(amount) <= i128::from(limit);
            prop_assert_eq!(server.allows(MinorUnit(used), MinorUnit(amount)), exact);
            prop_assert!(server.left(MinorUnit(used)).expect("a server has a limit") >= MinorUnit::ZERO);
        }
    }
}
