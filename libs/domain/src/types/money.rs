//! Money in integer cents (USD). Amounts charged, paid or adjusted are never negative; a balance
//! is signed because an overpayment leaves the client in credit.

use std::fmt;
use std::iter::Sum;
use std::ops::Add;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// A non-negative amount in cents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Money(i64);

/// Upper bound for a single amount: keeps every sum far from overflow (a trillion dollars).
const MAX_CENTS: i64 = 100_000_000_000_000;

impl Money {
    /// Zero.
    pub const ZERO: Self = Self(0);

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

    /// Multiplies by a unit count (saturating at the bound rather than overflowing).
    pub fn times(&self, units: u16) -> Self {
        Self(self.0.saturating_mul(i64::from(units)).min(MAX_CENTS))
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Self) -> Self {
        Self(self.0.saturating_add(rhs.0))
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::ZERO, Add::add)
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

    /// `self + m`.
    #[must_use]
    pub fn plus(self, m: Money) -> Self {
        Self(self.0.saturating_add(m.0))
    }

    /// `self - m`.
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
        assert_eq!(fees.iter().copied().sum::<Money>().cents(), 22_005);
        assert_eq!(fees[0].times(3).cents(), 27_000);
        let b = Balance::default().plus(fees[0]).minus(fees[1]);
        assert_eq!((b.cents(), b.to_string()), (-4_000, "-$40.00".to_owned()));
    }
}
