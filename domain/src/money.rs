//! Amounts of money as integers of a currency's minor unit.
//!
//! A float never comes near money here: every amount is an `i64` count of minor units
//! (cents for EUR, yen for JPY, fils for KWD) and every operation whose result would leave
//! ±[`MAX_SAFE`] reports [`MoneyError::Overflow`] instead of wrapping: the API sends amounts as
//! JSON numbers, and JavaScript reads integers beyond 2^53 − 1 wrongly.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The largest amount anywhere, input or computed: 2^53 − 1, the largest integer every JSON
/// reader (JavaScript's numbers above all) holds exactly (API.md, Conventions).
pub const MAX_SAFE: i64 = 9_007_199_254_740_991;

/// Errors of money arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The result is beyond ±[`MAX_SAFE`] minor units.
    #[error("amount beyond 9007199254740991 minor units")]
    Overflow,
}

/// An amount in a currency's minor unit. The currency travels beside it (a bill has one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct MinorUnit(pub i64);

impl MinorUnit {
    pub const ZERO: MinorUnit = MinorUnit(0);

    pub fn get(self) -> i64 {
        self.0
    }

    /// `value` as an amount if it is within ±[`MAX_SAFE`].
    pub fn safe(value: i64) -> Result<MinorUnit, MoneyError> {
        if (-MAX_SAFE..=MAX_SAFE).contains(&value) { Ok(MinorUnit(value)) } else { Err(MoneyError::Overflow) }
    }

    pub fn checked_add(self, other: MinorUnit) -> Result<MinorUnit, MoneyError> {
        self.0.checked_add(other.0).ok_or(MoneyError::Overflow).and_then(MinorUnit::safe)
    }

    pub fn checked_sub(self, other: MinorUnit) -> Result<MinorUnit, MoneyError> {
        self.0.checked_sub(other.0).ok_or(MoneyError::Overflow).and_then(MinorUnit::safe)
    }

    pub fn checked_mul(self, factor: i64) -> Result<MinorUnit, MoneyError> {
        self.0.checked_mul(factor).ok_or(MoneyError::Overflow).and_then(MinorUnit::safe)
    }

    /// `self × bps / 10 000`, rounded half up (away from zero for the non-negative amounts we price).
    pub fn percent_bps(self, bps: u32) -> Result<MinorUnit, MoneyError> {
        mul_div_half_up(self.0, i128::from(bps), 10_000)
    }

    /// Sums amounts, refusing overflow.
    pub fn sum<I: IntoIterator<Item = MinorUnit>>(amounts: I) -> Result<MinorUnit, MoneyError> {
        amounts.into_iter().try_fold(MinorUnit::ZERO, MinorUnit::checked_add)
    }
}

impl fmt::Display for MinorUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// `value × numerator / denominator` rounded half up, computed in `i128` so no intermediate overflows.
/// `value` must be non-negative and `numerator`, `denominator` positive (callers guarantee it).
pub(crate) fn mul_div_half_up(value: i64, numerator: i128, denominator: i128) -> Result<MinorUnit, MoneyError> {
    debug_assert!(denominator > 0);
    let product = i128::from(value) * numerator;
    let rounded = (product * 2 + denominator).div_euclid(denominator * 2);
    i64::try_from(rounded).map_err(|_| MoneyError::Overflow).and_then(MinorUnit::safe)
}

/// An ISO 4217 currency code that is in circulation, with its minor-unit exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    exponent: u8,
}

/// The code is not an active ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown currency code {0:?}: expected an active ISO 4217 code such as EUR")]
pub struct UnknownCurrency(pub String);

impl Currency {
    /// The three-letter code, upper case.
    pub fn code(self) -> &'static str {
        self.code
    }

    /// Digits after the decimal point: EUR 2, JPY 0, KWD 3.
    pub fn exponent(self) -> u8 {
        self.exponent
    }

    /// Renders an amount for people, e.g. `12.50 EUR`, `1200 JPY`, `1.250 KWD`.
    pub fn format(self, amount: MinorUnit) -> String {
        let exponent = u32::from(self.exponent);
        if exponent == 0 {
            return format!("{} {}", amount.0, self.code);
        }
        let scale = 10_u64.pow(exponent);
        let sign = if amount.0 < 0 { "-" } else { "" };
        let abs = amount.0.unsigned_abs();
        format!("{sign}{}.{:0width$} {}", abs / scale, abs % scale, self.code, width = exponent as usize)
    }
}

impl FromStr for Currency {
    type Err = UnknownCurrency;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CURRENCIES
            .iter()
            .find(|(code, _)| *code == s)
            .map(|&(code, exponent)| Currency { code, exponent })
            .ok_or_else(|| UnknownCurrency(s.to_owned()))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

/// Active ISO 4217 codes (list one, 2025) with their minor-unit exponents. Codes for
/// precious metals, testing and bond units (XAU, XTS, XBA …) are left out: nobody pays a
/// dinner in them.
#[rustfmt::skip]
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2), ("AFN", 2), ("ALL", 2), ("AMD", 2), ("AOA", 2), ("ARS", 2), ("AUD", 2), ("AWG", 2),
    ("AZN", 2), ("BAM", 2), ("BBD", 2), ("BDT", 2), ("BHD", 3), ("BIF", 0), ("BMD", 2), ("BND", 2),
    ("BOB", 2), ("BOV", 2), ("BRL", 2), ("BSD", 2), ("BTN", 2), ("BWP", 2), ("BYN", 2), ("BZD", 2),
    ("CAD", 2), ("CDF", 2), ("CHE", 2), ("CHF", 2), ("CHW", 2), ("CLF", 4), ("CLP", 0), ("CNY", 2),
    ("COP", 2), ("COU", 2), ("CRC", 2), ("CUP", 2), ("CVE", 2), ("CZK", 2), ("DJF", 0), ("DKK", 2),
    ("DOP", 2), ("DZD", 2), ("EGP", 2), ("ERN", 2), ("ETB", 2), ("EUR", 2), ("FJD", 2), ("FKP", 2),
    ("GBP", 2), ("GEL", 2), ("GHS", 2), ("GIP", 2), ("GMD", 2), ("GNF", 0), ("GTQ", 2), ("GYD", 2),
    ("HKD", 2), ("HNL", 2), ("HTG", 2), ("HUF", 2), ("IDR", 2), ("ILS", 2), ("INR", 2), ("IQD", 3),
    ("IRR", 2), ("ISK", 0), ("JMD", 2), ("JOD", 3), ("JPY", 0), ("KES", 2), ("KGS", 2), ("KHR", 2),
    ("KMF", 0), ("KPW", 2), ("KRW", 0), ("KWD", 3), ("KYD", 2), ("KZT", 2), ("LAK", 2), ("LBP", 2),
    ("LKR", 2), ("LRD", 2), ("LSL", 2), ("LYD", 3), ("MAD", 2), ("MDL", 2), ("MGA", 2), ("MKD", 2),
    ("MMK", 2), ("MNT", 2), ("MOP", 2), ("MRU", 2), ("MUR", 2), ("MVR", 2), ("MWK", 2), ("MXN", 2),
    ("MXV", 2), ("MYR", 2), ("MZN", 2), ("NAD", 2), ("NGN", 2), ("NIO", 2), ("NOK", 2), ("NPR", 2),
    ("NZD", 2), ("OMR", 3), ("PAB", 2), ("PEN", 2), ("PGK", 2), ("PHP", 2), ("PKR", 2), ("PLN", 2),
    ("PYG", 0), ("QAR", 2), ("RON", 2), ("RSD", 2), ("RUB", 2), ("RWF", 0), ("SAR", 2), ("SBD", 2),
    ("SCR", 2), ("SDG", 2), ("SEK", 2), ("SGD", 2), ("SHP", 2), ("SLE", 2), ("SOS", 2), ("SRD", 2),
    ("SSP", 2), ("STN", 2), ("SVC", 2), ("SYP", 2), ("SZL", 2), ("THB", 2), ("TJS", 2), ("TMT", 2),
    ("TND", 3), ("TOP", 2), ("TRY", 2), ("TTD", 2), ("TWD", 2), ("TZS", 2), ("UAH", 2), ("UGX", 0),
    ("USD", 2), ("USN", 2), ("UYI", 0), ("UYU", 2), ("UYW", 4), ("UZS", 2), ("VED", 2), ("VES", 2),
    ("VND", 0), ("VUV", 0), ("WST", 2), ("XAF", 0), ("XCD", 2), ("XCG", 2), ("XOF", 0), ("XPF", 0),
    ("YER", 2), ("ZAR", 2), ("ZMW", 2), ("ZWG", 2),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponents_of_common_codes() {
        let exp = |c: &str| c.parse::<Currency>().map(Currency::exponent);
        assert_eq!(exp("EUR"), Ok(2));
        assert_eq!(exp("USD"), Ok(2));
        assert_eq!(exp("JPY"), Ok(0));
        assert_eq!(exp("KWD"), Ok(3));
        assert_eq!(exp("CLF"), Ok(4));
        assert!(exp("eur").is_err(), "codes are upper case");
        assert!(exp("XAU").is_err(), "gold is no dinner currency");
        assert!(exp("DEM").is_err(), "withdrawn codes are refused");
    }

    #[test]
    fn codes_are_unique_and_sorted() {
        assert!(CURRENCIES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn formats_with_the_exponent() {
        let c = |s: &str| s.parse::<Currency>().expect("known code");
        assert_eq!(c("EUR").format(MinorUnit(1250)), "12.50 EUR");
        assert_eq!(c("EUR").format(MinorUnit(-5)), "-0.05 EUR");
        assert_eq!(c("JPY").format(MinorUnit(1200)), "1200 JPY");
        assert_eq!(c("KWD").format(MinorUnit(1250)), "1.250 KWD");
    }

    #[test]
    fn percent_rounds_half_up() {
        assert_eq!(MinorUnit(50).percent_bps(1000), Ok(MinorUnit(5)));
        assert_eq!(MinorUnit(5).percent_bps(1000), Ok(MinorUnit(1))); // 0.5 → 1
        assert_eq!(MinorUnit(4).percent_bps(1000), Ok(MinorUnit(0))); // 0.4 → 0
        assert_eq!(MinorUnit(i64::MAX).percent_bps(20_000), Err(MoneyError::Overflow));
    }

    #[test]
    fn arithmetic_refuses_overflow() {
        assert_eq!(MinorUnit(i64::MAX).checked_add(MinorUnit(1)), Err(MoneyError::Overflow));
        assert_eq!(MinorUnit(i64::MAX / 2 + 1).checked_mul(2), Err(MoneyError::Overflow));
        assert_eq!(MinorUnit::sum([MinorUnit(i64::MAX), MinorUnit(1)]), Err(MoneyError::Overflow));
        // Every result stays within what JSON readers hold exactly.
        assert_eq!(MinorUnit(MAX_SAFE).checked_add(MinorUnit(0)), Ok(MinorUnit(MAX_SAFE)));
        assert_eq!(MinorUnit(MAX_SAFE).checked_add(MinorUnit(1)), Err(MoneyError::Overflow));
        assert_eq!(MinorUnit(-MAX_SAFE).checked_sub(MinorUnit(1)), Err(MoneyError::Overflow));
        assert_eq!(MinorUnit(1_000_000_000_000_000).checked_mul(10), Err(MoneyError::Overflow));
        assert_eq!(MinorUnit(MAX_SAFE).percent_bps(10_001), Err(MoneyError::Overflow));
        assert_eq!(MinorUnit::sum([MinorUnit(MAX_SAFE - 1), MinorUnit(1)]), Ok(MinorUnit(MAX_SAFE)));
    }
}
