//! Splitting one amount into parts that sum to it exactly.

use crate::money::{MinorUnit, MoneyError};

/// Splits `total` into shares proportional to `weights` by the largest-remainder method:
/// every share gets the floor of its exact quota, and the minor units left over go one each
/// to the shares with the largest remainders (ties: the earlier share first).
///
/// The shares always sum to `total` exactly. With equal weights they differ by at most one
/// minor unit and the larger ones come first (100.00 in 3 → 33.34, 33.33, 33.33).
/// When every weight is zero the split is equal, so a total spread over free lines still
/// lands somewhere. `total` and weights must be non-negative.
pub fn allocate(total: MinorUnit, weights: &[i64]) -> Result<Vec<MinorUnit>, MoneyError> {
    if weights.is_empty() {
        return if total == MinorUnit::ZERO { Ok(Vec::new()) } else { Err(MoneyError::Overflow) };
    }
    debug_assert!(total.get() >= 0 && weights.iter().all(|w| *w >= 0));
    let weight_sum: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    let (weights, weight_sum): (Vec<i128>, i128) = if weight_sum == 0 {
        (vec![1; weights.len()], weights.len() as i128)
    } else {
        (weights.iter().map(|w| i128::from(*w)).collect(), weight_sum)
    };
    let total_wide = i128::from(total.get());
    let mut shares = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    let mut given: i128 = 0;
    for (index, weight) in weights.iter().enumerate() {
        let exact = total_wide * weight;
        let floor = exact / weight_sum;
        given += floor;
        shares.push(floor);
        remainders.push((exact % weight_sum, index));
    }
    let mut left = total_wide - given;
    // Largest remainder first; among equals, the earlier index first.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, index) in remainders {
        if left == 0 {
            break;
        }
        shares[index] += 1;
        left -= 1;
    }
    shares.into_iter().map(|s| i64::try_from(s).map(MinorUnit).map_err(|_| MoneyError::Overflow)).collect()
}

/// `total` in `parts` equal shares (largest remainder): the first shares carry the odd units.
pub fn split_equally(total: MinorUnit, parts: u32) -> Result<Vec<MinorUnit>, MoneyError> {
    allocate(total, &vec![1; parts as usize])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn units(v: &[i64]) -> Vec<MinorUnit> {
        v.iter().copied().map(MinorUnit).collect()
    }

    #[test]
    fn hundred_in_three() {
        assert_eq!(split_equally(MinorUnit(10_000), 3), Ok(units(&[3334, 3333, 3333])));
    }

    #[test]
    fn proportional_with_remainders() {
        // 10 over weights 1:1:1:1 → 3,3,2,2; over 50:30:20 → 5,3,2.
        assert_eq!(allocate(MinorUnit(10), &[1, 1, 1, 1]), Ok(units(&[3, 3, 2, 2])));
        assert_eq!(allocate(MinorUnit(10), &[50, 30, 20]), Ok(units(&[5, 3, 2])));
        // 1 over 1:2 → the larger remainder (2/3) wins.
        assert_eq!(allocate(MinorUnit(1), &[1, 2]), Ok(units(&[0, 1])));
    }

    #[test]
    fn zero_weights_split_equally() {
        assert_eq!(allocate(MinorUnit(5), &[0, 0]), Ok(units(&[3, 2])));
        assert_eq!(allocate(MinorUnit(0), &[]), Ok(vec![]));
        assert_eq!(allocate(MinorUnit(1), &[]), Err(MoneyError::Overflow));
    }

    #[test]
    fn huge_amounts_do_not_overflow() {
        let shares = allocate(MinorUnit(i64::MAX), &[i64::MAX, i64::MAX, 1]).expect("fits");
        assert_eq!(shares.iter().map(|s| i128::from(s.get())).sum::<i128>(), i128::from(i64::MAX));
    }

    proptest! {
        #[test]
        fn shares_sum_exactly(total in 0..i64::MAX, weights in prop::collection::vec(0..1_000_000_000_i64, 1..40)) {
            let shares = allocate(MinorUnit(total), &weights).expect("non-negative inputs allocate");
            prop_assert_eq!(shares.len(), weights.len());
            prop_assert_eq!(shares.iter().map(|s| i128::from(s.get())).sum::<i128>(), i128::from(total));
            prop_assert!(shares.iter().all(|s| s.get() >= 0));
        }

        #[test]
        fn shares_stay_within_one_unit_of_their_quota(total in 0..1_000_000_000_000_i64, weights in prop::collection::vec(0..1_000_000_i64, 1..40)) {
            let shares = allocate(MinorUnit(total), &weights).expect("allocates");
            let sum: i128 = weights.iter().map(|w| i128::from(*w)).sum();
            prop_assume!(sum > 0);
            for (share, weight) in shares.iter().zip(&weights) {
                let exact_floor = i128::from(total) * i128::from(*weight) / sum;
                let s = i128::from(share.get());
                prop_assert!(s == exact_floor || s == exact_floor + 1);
            }
        }

        #[test]
        fn equal_shares_differ_by_at_most_one(total in 0..i64::MAX, parts in 1..500_u32) {
            let shares = split_equally(MinorUnit(total), parts).expect("allocates");
            let max = shares.iter().max().expect("parts ≥ 1");
            let min = shares.iter().min().expect("parts ≥ 1");
            prop_assert!(max.get() - min.get() <= 1);
            prop_assert!(shares.windows(2).all(|w| w[0] >= w[1]), "larger shares first");
            prop_assert_eq!(shares.iter().map(|s| i128::from(s.get())).sum::<i128>(), i128::from(total));
        }
    }
}
