//! Facts about a held session: its duration, modality and where the patient was.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::codes::{Modifier, PlaceOfService};
use crate::error::ValidationError;

/// Face-to-face minutes, 1 to 600.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct Minutes(u16);

impl Minutes {
    /// Validates 1..=600 (anything longer is a data-entry error, not a session).
    pub fn new(n: u32) -> Result<Self, ValidationError> {
        match u16::try_from(n) {
            Ok(m @ 1..=600) => Ok(Self(m)),
            _ => Err(ValidationError::new("minutes", "must be 1 to 600")),
        }
    }

    /// The minutes.
    pub fn get(&self) -> u16 {
        self.0
    }
}

impl TryFrom<u16> for Minutes {
    type Error = ValidationError;
    fn try_from(n: u16) -> Result<Self, Self::Error> {
        Self::new(u32::from(n))
    }
}
impl From<Minutes> for u16 {
    fn from(m: Minutes) -> Self {
        m.0
    }
}

/// How the session was delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    InPerson,
    Video,
    Audio,
}

impl Modality {
    /// Video and audio-only sessions are telehealth and need telehealth consent.
    pub fn is_telehealth(&self) -> bool {
        !matches!(self, Self::InPerson)
    }

    /// The telehealth modifier for the claim line, if any.
    pub fn modifier(&self) -> Option<Modifier> {
        match self {
            Self::InPerson => None,
            Self::Video => Some(Modifier::Video95),
            Self::Audio => Some(Modifier::Audio93),
        }
    }

    /// Place of service: office in person; for telehealth 10 when the patient is at home, else 02.
    pub fn place_of_service(&self, location: Option<PatientLocation>) -> PlaceOfService {
        match (self, location) {
            (Self::InPerson, _) => PlaceOfService::Office11,
            (_, Some(PatientLocation::Home)) => PlaceOfService::TelehealthHome10,
            (_, _) => PlaceOfService::TelehealthOther02,
        }
    }
}

/// Where the patient was during a telehealth session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatientLocation {
    Home,
    Other,
}

/// SHA-256 of a progress note's canonical content, as 64 lower-case hex digits. The service
/// computes it (see `sessions::NoteContent::canonical_text`) so this crate stays free of crypto.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContentHash(String);

impl ContentHash {
    /// Validates 64 hex digits (normalised to lower case).
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let t = s.trim().to_ascii_lowercase();
        if t.len() != 64 || !t.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(ValidationError::new("content_hash", "must be 64 hex digits (SHA-256)"));
        }
        Ok(Self(t))
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ContentHash {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<ContentHash> for String {
    fn from(h: ContentHash) -> Self {
        h.0
    }
}
impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_are_1_to_600() {
        assert_eq!(Minutes::new(1).map(|m| m.get()), Ok(1));
        assert_eq!(Minutes::new(600).map(|m| m.get()), Ok(600));
        for bad in [0, 601, 70_000] {
            assert_eq!(Minutes::new(bad).unwrap_err().field, "minutes", "{bad}");
        }
        assert!(serde_json::from_str::<Minutes>("0").is_err());
    }

    #[test]
    fn place_of_service_and_modifier_follow_modality_and_location() {
        use Modality::*;
        use PatientLocation::*;
        let cases = [
            (InPerson, None, PlaceOfService::Office11, None),
            (Video, Some(Home), PlaceOfService::TelehealthHome10, Some(Modifier::Video95)),
            (Video, Some(Other), PlaceOfService::TelehealthOther02, Some(Modifier::Video95)),
            (Audio, Some(Home), PlaceOfService::TelehealthHome10, Some(Modifier::Audio93)),
            (Audio, Some(Other), PlaceOfService::TelehealthOther02, Some(Modifier::Audio93)),
        ];
        for (m, loc, pos, modifier) in cases {
            assert_eq!((m.place_of_service(loc), m.modifier()), (pos, modifier), "{m:?} {loc:?}");
        }
        assert!(Video.is_telehealth() && Audio.is_telehealth() && !InPerson.is_telehealth());
    }

    #[test]
    fn content_hashes_are_sha256_hex() {
        let h = "AB".repeat(32);
        assert_eq!(ContentHash::parse(&h).unwrap().as_str(), "ab".repeat(32));
        for bad in ["", "abc", &"g".repeat(64), &"a".repeat(65)] {
            assert_eq!(ContentHash::parse(bad).unwrap_err().field, "content_hash");
        }
    }
}
