//! Identifiers and codes that only billing uses: payer member ids, diagnosis pointers and the
//! X12 835 adjustment codes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::codes::string_codec;
use crate::error::ValidationError;

/// An insurance member (subscriber) id as printed on the card: 2–30 letters, digits or hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MemberId(String);

impl MemberId {
    /// Parses and upper-cases a member id.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let t = s.trim().to_ascii_uppercase();
        let ok = (2..=30).contains(&t.len()) && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !ok {
            return Err(ValidationError::new("member_id", "must be 2 to 30 letters, digits or hyphens"));
        }
        Ok(Self(t))
    }

    /// The member id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The erased marker: what a read model keeps once the client's PHI was shredded.
    pub fn erased() -> Self {
        Self(super::ERASED.to_owned())
    }
}

/// A claim line's pointer (1-based, CMS-1500 box 24E letters A–L) into the claim's diagnoses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct DiagnosisPointer(u8);

impl DiagnosisPointer {
    /// 1 to 12.
    pub fn new(n: u8) -> Result<Self, ValidationError> {
        if !(1..=12).contains(&n) {
            return Err(ValidationError::new("diagnosis_pointers", "each pointer must be 1 to 12"));
        }
        Ok(Self(n))
    }

    /// Parses a list of 1 to 4 distinct pointers; the first is the primary diagnosis.
    pub fn parse_list(raw: &[u32]) -> Result<Vec<Self>, ValidationError> {
        if raw.is_empty() || raw.len() > 4 {
            return Err(ValidationError::new("diagnosis_pointers", "must have 1 to 4 pointers"));
        }
        let mut out: Vec<Self> = Vec::with_capacity(raw.len());
        for &n in raw {
            let p = u8::try_from(n)
                .map_err(|_| ValidationError::new("diagnosis_pointers", "each pointer must be 1 to 12"))
                .and_then(Self::new)?;
            if out.contains(&p) {
                return Err(ValidationError::new("diagnosis_pointers", "pointers must be distinct"));
            }
            out.push(p);
        }
        Ok(out)
    }

    /// The 1-based position.
    pub fn get(&self) -> u8 {
        self.0
    }

    /// The CMS-1500 letter, A for 1.
    pub fn letter(&self) -> char {
        char::from(b'A' + self.0 - 1)
    }
}

impl TryFrom<u8> for DiagnosisPointer {
    type Error = ValidationError;
    fn try_from(n: u8) -> Result<Self, Self::Error> {
        Self::new(n)
    }
}
impl From<DiagnosisPointer> for u8 {
    fn from(p: DiagnosisPointer) -> Self {
        p.0
    }
}

/// Claim Adjustment Reason Code (X12 835 CAS), e.g. `45`, `253`, `B7`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CarcCode(String);

impl CarcCode {
    /// One to three letters or digits.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let t = s.trim().to_ascii_uppercase();
        if !(1..=3).contains(&t.len()) || !t.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ValidationError::new("carc", "must be a claim adjustment reason code such as 45 or B7"));
        }
        Ok(Self(t))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Remittance Advice Remark Code, e.g. `N130`, `M15`, `MA01`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RarcCode(String);

impl RarcCode {
    /// `M`, `MA` or `N` followed by one to four digits.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let t = s.trim().to_ascii_uppercase();
        let digits = t.strip_prefix("MA").or_else(|| t.strip_prefix('M')).or_else(|| t.strip_prefix('N'));
        match digits {
            Some(d) if (1..=4).contains(&d.len()) && d.chars().all(|c| c.is_ascii_digit()) => Ok(Self(t)),
            _ => Err(ValidationError::new("rarc", "must be a remark code such as N130, M15 or MA01")),
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_codec!(CarcCode, RarcCode);

impl FromStr for MemberId {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Decoding also accepts the erased marker, so an erased history still loads.
impl TryFrom<String> for MemberId {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s == super::ERASED {
            return Ok(Self(s));
        }
        Self::parse(&s)
    }
}

impl From<MemberId> for String {
    fn from(v: MemberId) -> Self {
        v.0
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_ids() {
        assert_eq!(MemberId::parse(" xyz-12345 ").unwrap().as_str(), "XYZ-12345");
        for bad in ["", "X", "has space", "é123", &"9".repeat(31)] {
            assert_eq!(MemberId::parse(bad).unwrap_err().field, "member_id", "{bad:?}");
        }
    }

    #[test]
    fn diagnosis_pointers() {
        let ps = DiagnosisPointer::parse_list(&[1, 3]).unwrap();
        assert_eq!(ps.iter().map(DiagnosisPointer::letter).collect::<String>(), "AC");
        assert!(DiagnosisPointer::parse_list(&[]).is_err());
        assert!(DiagnosisPointer::parse_list(&[1, 2, 3, 4, 5]).is_err());
        assert!(DiagnosisPointer::parse_list(&[0]).is_err());
        assert!(DiagnosisPointer::parse_list(&[13]).is_err());
        assert!(DiagnosisPointer::parse_list(&[300]).is_err());
        assert_eq!(DiagnosisPointer::parse_list(&[2, 2]).unwrap_err().reason, "pointers must be distinct");
        assert!(serde_json::from_str::<DiagnosisPointer>("0").is_err());
    }

    #[test]
    fn adjustment_reason_and_remark_codes() {
        assert_eq!(CarcCode::parse("45").unwrap().as_str(), "45");
        assert_eq!(CarcCode::parse("b7").unwrap().as_str(), "B7");
        for bad in ["", "1234", "4 5"] {
            assert_eq!(CarcCode::parse(bad).unwrap_err().field, "carc");
        }
        for good in ["N130", "M15", "MA01", "n4"] {
            assert!(RarcCode::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "N", "X12", "N12345", "MAX1"] {
            assert_eq!(RarcCode::parse(bad).unwrap_err().field, "rarc", "{bad}");
        }
    }
}
