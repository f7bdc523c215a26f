//! Clinical and billing code sets: ICD-10-CM diagnoses, CPT procedures, modifiers, place of
//! service, claim-adjustment reason codes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// Implements `FromStr`, `TryFrom<String>`, `Into<String>` and `Display` from `parse`/`as_str`.
macro_rules! string_codec {
    ($($name:ident),+) => {$(
        impl FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> Self {
                v.as_str().to_owned()
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )+};
}
pub(crate) use string_codec;

/// An ICD-10-CM code from chapter 5 (mental, behavioral and neurodevelopmental disorders),
/// e.g. `F32.1`, `F43.10`. Input is case-insensitive and the dot is optional; the stored form
/// is upper case with the dot after the category.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Icd10Code(String);

impl Icd10Code {
    /// Parses an F-code.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let err = |reason: &str| ValidationError::new("icd10_code", reason);
        let t = s.trim().to_ascii_uppercase();
        if !t.is_ascii() {
            return Err(err("must be letters, digits and a dot"));
        }
        if !t.starts_with('F') {
            return Err(err("must be an F-code (mental and behavioral disorders)"));
        }
        let (category, sub) = match t.split_once('.') {
            Some((c, sub)) if c.len() == 3 && (1..=4).contains(&sub.len()) => (c, sub),
            Some(_) => return Err(err("must look like F32.1: a 3-character category, a dot, 1 to 4 characters")),
            None if (3..=7).contains(&t.len()) => t.split_at(3),
            None => return Err(err("must have 3 to 7 characters, e.g. F41.1")),
        };
        if !category[1..].bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("category must be F followed by two digits"));
        }
        if !sub.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(err("subcategory must be letters or digits"));
        }
        Ok(Self(if sub.is_empty() { category.to_owned() } else { format!("{category}.{sub}") }))
    }

    /// The code, e.g. `F43.10`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The ICD-10-CM code-set release (fiscal year, e.g. `2026`) a diagnosis was coded against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CodeSetVersion(u16);

impl CodeSetVersion {
    /// ICD-10-CM took effect in the US on 2015-10-01 (fiscal year 2016).
    pub const FIRST: u16 = 2016;

    /// Parses a four-digit release year.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let err = || ValidationError::new("code_set_version", "must be an ICD-10-CM release year from 2016 to 2100");
        let y: u16 = s.trim().parse().map_err(|_| err())?;
        if !(Self::FIRST..=2100).contains(&y) || s.trim().len() != 4 {
            return Err(err());
        }
        Ok(Self(y))
    }

    /// The release year.
    pub fn year(&self) -> u16 {
        self.0
    }

    fn as_str(&self) -> String {
        self.0.to_string()
    }
}

impl FromStr for CodeSetVersion {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
impl TryFrom<String> for CodeSetVersion {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<CodeSetVersion> for String {
    fn from(v: CodeSetVersion) -> Self {
        v.as_str()
    }
}
impl fmt::Display for CodeSetVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A coded diagnosis: the code and the release it was taken from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Diagnosis {
    pub code: Icd10Code,
    pub code_set: CodeSetVersion,
}

/// The psychotherapy CPT codes this practice bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum CptCode {
    /// 90791 psychiatric diagnostic evaluation (intake).
    DiagnosticEvaluation,
    /// 90832 psychotherapy, 16–37 minutes.
    Psychotherapy30,
    /// 90834 psychotherapy, 38–52 minutes.
    Psychotherapy45,
    /// 90837 psychotherapy, 53 minutes or more.
    Psychotherapy60,
    /// 90839 psychotherapy for crisis, first 60 minutes (30–74).
    Crisis,
    /// 90840 psychotherapy for crisis, each additional 30 minutes (add-on to 90839).
    CrisisAddOn,
    /// 90785 interactive complexity (add-on).
    InteractiveComplexity,
    /// 90846 family psychotherapy without the patient.
    FamilyWithoutPatient,
    /// 90847 family psychotherapy with the patient.
    FamilyWithPatient,
}

impl CptCode {
    /// Every code, in numeric order.
    pub const ALL: [Self; 9] = [
        Self::InteractiveComplexity,
        Self::DiagnosticEvaluation,
        Self::Psychotherapy30,
        Self::Psychotherapy45,
        Self::Psychotherapy60,
        Self::Crisis,
        Self::CrisisAddOn,
        Self::FamilyWithoutPatient,
        Self::FamilyWithPatient,
    ];

    /// Parses the five-digit code.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL.into_iter().find(|c| c.as_str() == s.trim()).ok_or_else(|| {
            ValidationError::new(
                "cpt_code",
                "must be one of 90785, 90791, 90832, 90834, 90837, 90839, 90840, 90846, 90847",
            )
        })
    }

    /// The five-digit code.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::DiagnosticEvaluation => "90791",
            Self::Psychotherapy30 => "90832",
            Self::Psychotherapy45 => "90834",
            Self::Psychotherapy60 => "90837",
            Self::Crisis => "90839",
            Self::CrisisAddOn => "90840",
            Self::InteractiveComplexity => "90785",
            Self::FamilyWithoutPatient => "90846",
            Self::FamilyWithPatient => "90847",
        }
    }

    /// Add-on codes are never billed alone.
    pub fn is_add_on(&self) -> bool {
        matches!(self, Self::CrisisAddOn | Self::InteractiveComplexity)
    }

    /// Whether `self` (an add-on) may be reported with `primary`. CPT allows 90785 with the
    /// diagnostic evaluation and the timed psychotherapy codes, but not with crisis or family codes.
    pub fn add_on_allowed_with(&self, primary: CptCode) -> bool {
        match self {
            Self::CrisisAddOn => primary == Self::Crisis,
            Self::InteractiveComplexity => matches!(
                primary,
                Self::DiagnosticEvaluation | Self::Psychotherapy30 | Self::Psychotherapy45 | Self::Psychotherapy60
            ),
            _ => false,
        }
    }
}
string_codec!(Icd10Code, CptCode);

/// A CPT modifier for telehealth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Modifier {
    /// 95: synchronous audio-video telemedicine.
    Video95,
    /// 93: synchronous audio-only telemedicine.
    Audio93,
}

impl Modifier {
    /// Parses `95` or `93`.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match s.trim() {
            "95" => Ok(Self::Video95),
            "93" => Ok(Self::Audio93),
            _ => Err(ValidationError::new("modifier", "must be 95 (video) or 93 (audio only)")),
        }
    }

    /// The two-character modifier.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Video95 => "95",
            Self::Audio93 => "93",
        }
    }
}

/// CMS place-of-service code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum PlaceOfService {
    /// 02: telehealth provided other than in the patient's home.
    TelehealthOther02,
    /// 10: telehealth provided in the patient's home.
    TelehealthHome10,
    /// 11: office.
    Office11,
}

impl PlaceOfService {
    /// Parses `02`, `10` or `11`.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match s.trim() {
            "02" => Ok(Self::TelehealthOther02),
            "10" => Ok(Self::TelehealthHome10),
            "11" => Ok(Self::Office11),
            _ => Err(ValidationError::new("place_of_service", "must be 02, 10 or 11")),
        }
    }

    /// The two-digit code.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::TelehealthOther02 => "02",
            Self::TelehealthHome10 => "10",
            Self::Office11 => "11",
        }
    }
}
string_codec!(Modifier, PlaceOfService);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icd10_f_codes_parse_and_normalize() {
        for (input, want) in [
            ("F32.1", "F32.1"),
            ("f41.1", "F41.1"),
            ("F4310", "F43.10"),
            (" F43.10 ", "F43.10"),
            ("F33.41", "F33.41"),
            ("F90.2", "F90.2"),
            ("F10.20", "F10.20"),
            ("F99", "F99"),
        ] {
            assert_eq!(Icd10Code::parse(input).map(|c| c.to_string()), Ok(want.to_owned()), "{input}");
        }
    }

    #[test]
    fn icd10_rejects_other_chapters_and_malformed_codes() {
        for bad in ["", "Z63.0", "E11.9", "F3", "F3A.1", "F32.", "F3.21", "F32.1.1", "F32.12345", "F32-1"] {
            assert_eq!(Icd10Code::parse(bad).unwrap_err().field, "icd10_code", "{bad:?}");
        }
    }

    #[test]
    fn code_set_versions_are_release_years() {
        assert_eq!(CodeSetVersion::parse("2026").map(|v| v.year()), Ok(2026));
        for bad in ["2015", "26", "20260", "abcd", "", "2101"] {
            assert!(CodeSetVersion::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cpt_codes_round_trip_and_unknown_codes_are_refused() {
        for c in CptCode::ALL {
            assert_eq!(CptCode::parse(c.as_str()), Ok(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<CptCode>(&json).unwrap(), c);
        }
        for bad in ["", "90833", "99213", "9083", "abcde"] {
            assert_eq!(CptCode::parse(bad).unwrap_err().field, "cpt_code", "{bad:?}");
        }
    }

    #[test]
    fn add_on_compatibility() {
        use CptCode::*;
        assert!(InteractiveComplexity.is_add_on() && CrisisAddOn.is_add_on());
        assert!(!Psychotherapy45.is_add_on());
        assert!(InteractiveComplexity.add_on_allowed_with(Psychotherapy45));
        assert!(InteractiveComplexity.add_on_allowed_with(DiagnosticEvaluation));
        assert!(!InteractiveComplexity.add_on_allowed_with(Crisis));
        assert!(!InteractiveComplexity.add_on_allowed_with(FamilyWithPatient));
        assert!(CrisisAddOn.add_on_allowed_with(Crisis));
        assert!(!CrisisAddOn.add_on_allowed_with(Psychotherapy60));
    }

    #[test]
    fn modifiers_and_places_of_service() {
        assert_eq!(Modifier::parse("95"), Ok(Modifier::Video95));
        assert_eq!(Modifier::parse("93"), Ok(Modifier::Audio93));
        assert_eq!(Modifier::parse("GT").unwrap_err().field, "modifier");
        assert_eq!(PlaceOfService::parse("02"), Ok(PlaceOfService::TelehealthOther02));
        assert_eq!(PlaceOfService::parse("10"), Ok(PlaceOfService::TelehealthHome10));
        assert_eq!(PlaceOfService::parse("11").map(|p| p.to_string()), Ok("11".to_owned()));
        for bad in ["2", "12", "", "office"] {
            assert_eq!(PlaceOfService::parse(bad).unwrap_err().field, "place_of_service");
        }
    }
}
