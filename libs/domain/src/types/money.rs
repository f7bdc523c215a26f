//! Money in integer cents (USD). Amounts charged, paid or adjusted are never negative; a balance
//! is signed because an overpayment leaves the client in credit.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// A non-negative amount in cents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Money(i64);

/// Upper bound for an amount and for every total of amounts (a trillion dollars). Sums are checked
/// against it ([`Money::checked_add`]), so a total a read model keeps is itself a valid `Money` and
/// a balance (a difference of at most five totals) stays far from `i64` overflow.
pub const MAX_CENTS: i64 = 100_000_000_000_000;

impl Money {
    /// Zero.
    pub const ZERO: Self = Self(0);
    /// The largest amount and the largest total ([`MAX_CENTS`]).
    pub const MAX: Self = Self(MAX_CENTS);

    /// Validates a non-negative amount in cents.
    pub fn from_cents(cents: i64) -> Result<Self, ValidationError> {
        if !(0..=MAX_CENTS).contains(&cents) {
            return Err(ValidationError::new("amount_cents", "must be a non-negative amount in cents"));
        }
        Ok(Self(cents))
    }

    /// Validates a strictly positive amount (payments, write-offs, fees).
    pub fn positive(cents: i64) -> Result<Self, ValidationError> {
        let m = Self::from_cents(cents)?;
        if m.0 == 0 {
            return Err(ValidationError::new("amount_cents", "must be greater than zero"));
        }
        Ok(m)
    }

    /// The amount in cents.
    pub fn cents(&self) -> i64 {
        self.0
    }

    /// `self × units`, or `None` beyond [`MAX_CENTS`].
    pub fn checked_times(&self, units: u16) -> Option<Self> {
        self.0.checked_mul(i64::from(units)).filter(|c| *c <= MAX_CENTS).map(Self)
    }

    /// `self + other`, or `None` beyond [`MAX_CENTS`]: no total is ever silently capped.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).filter(|c| *c <= MAX_CENTS).map(Self)
    }

    /// `self − other`, or `None` below zero: money taken back is never more than was there.
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.0.checked_sub(other.0).filter(|c| *c >= 0).map(Self)
    }

    /// The sum of `amounts`, or `None` if it (or any partial sum) lies beyond [`MAX_CENTS`].
    pub fn checked_sum(amounts: impl IntoIterator<Item = Self>) -> Option<Self> {
        amounts.into_iter().try_fold(Self::ZERO, Self::checked_add)
    }
}

impl TryFrom<i64> for Money {
    type Error = ValidationError;
    fn try_from(c: i64) -> Result<Self, Self::Error> {
        Self::from_cents(c)
    }
}
impl From<Money> for i64 {
    fn from(m: Money) -> Self {
        m.0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// A signed amount in cents: positive means the client owes, negative means a credit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Balance(i64);

impl Balance {
    /// From signed cents.
    pub fn from_cents(cents: i64) -> Self {
        Self(cents)
    }

    /// Signed cents.
    pub fn cents(&self) -> i64 {
        self.0
    }

    /// `self + m`. Saturates only past ±9.2e18 cents, which bounded totals never reach: a
    /// balance is at most five totals of at most [`MAX_CENTS`] each.
    #[must_use]
    pub fn plus(self, m: Money) -> Self {
        Self(self.0.saturating_add(m.0))
    }

    /// `self - m` (see [`plus`](Self::plus)).
    #[must_use]
    pub fn minus(self, m: Money) -> Self {
        Self(self.0.saturating_sub(m.0))
    }
}

impl fmt::Display for Balance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}${}.{:02}", a / 100, a % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_non_negative_cents() {
        assert_eq!(Money::from_cents(0).map(|m| m.cents()), Ok(0));
        assert_eq!(Money::from_cents(13_000).unwrap().to_string(), "$130.00");
        assert_eq!(Money::from_cents(-1).unwrap_err().field, "amount_cents");
        assert!(Money::from_cents(i64::MAX).is_err());
        assert_eq!(Money::positive(0).unwrap_err().reason, "must be greater than zero");
        assert!(serde_json::from_str::<Money>("-5").is_err());
        assert_eq!(serde_json::from_str::<Money>("5").unwrap().cents(), 5);
    }

    #[test]
    fn sums_and_balances() {
        let fees = [9_000, 13_000, 5].map(|c| Money::from_cents(c).unwrap());
        assert_eq!(Money::checked_sum(fees).map(|m| m.cents()), Some(22_005));
        assert_eq!(fees[0].checked_times(3).map(|m| m.cents()), Some(27_000));
        let b = Balance::default().plus(fees[0]).minus(fees[1]);
        assert_eq!((b.cents(), b.to_string()), (-4_000, "-$40.00".to_owned()));
    }

    /// Two amounts of the largest size each are valid; their sum is not, and is refused rather
    /// than capped or wrapped (a capped total once decoded as an invalid `Money` on the read side).
    #[test]
    fn every_sum_is_checked_against_the_bound() {
        let max = Money::from_cents(MAX_CENTS).unwrap();
        assert_eq!(max.checked_add(Money::ZERO), Some(max));
        assert_eq!(max.checked_add(Money::from_cents(1).unwrap()), None);
        assert_eq!(Money::checked_sum([max, max]), None);
        assert_eq!(max.checked_times(2), None);
        assert!(Money::from_cents(MAX_CENTS + 1).is_err());
    }
}
