//! The access log: who read which record, through which call, for what purpose and with what
//! outcome. The read gate appends one [`RecordAccessed`] per read of PHI and per denial (to the
//! client's `access-{client}` stream, or the caller's own when the access concerned no single
//! client); the audit index, the FHIR AuditEvents and the accounting of disclosures read the
//! entries back through the same type.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::error::DecodeError;

/// One access-log entry, as stored in a `RecordAccessed` event's data. The shape is the one the
/// log has held since the first entry (`fixtures/events/RecordAccessed.v1.json`); none of it is
/// PHI, every field is an identifier or administrative (`disclosure::event_classes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordAccessed {
    /// The call, e.g. `RecordsService/GetEpisode` or `Fhir/read`, or an offline activity.
    pub rpc: String,
    /// The caller's role, by the policy's name for it (`clinician`, `connector`, …).
    pub role: String,
    /// The clinician the caller acts as, if any.
    pub clinician_id: Option<Uuid>,
    /// Why, as the gate logged it: parsed here, once, for every reader of the log.
    pub purpose_of_use: LoggedPurpose,
    /// The client whose record was read; `None` when the access concerned no single client.
    pub client_id: Option<Uuid>,
    pub outcome: Outcome,
    /// What was read, e.g. `{"as_of_position": 42}`, or a denial's `{"code": …}`; never PHI.
    pub detail: serde_json::Value,
}

impl RecordAccessed {
    /// The stored event type.
    pub const EVENT_TYPE: &'static str = "RecordAccessed";

    /// Schema version of the data this code writes.
    pub fn schema_version() -> u32 {
        crate::upcast::current_version(Self::EVENT_TYPE)
    }

    /// Whether the access was let through (a denial read nothing).
    pub fn is_allowed(&self) -> bool {
        self.outcome == Outcome::Allowed
    }

    /// The entry as the envelope's `data`.
    pub fn to_data(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    /// The entry an envelope holds, from its `type`, `schema_version` and `data`.
    pub fn from_stored(event_type: &str, schema_version: u32, data: &serde_json::Value) -> Result<Self, DecodeError> {
        if event_type != Self::EVENT_TYPE {
            return Err(DecodeError::UnknownType(event_type.to_owned()));
        }
        let data = crate::upcast::upcast(event_type, schema_version, data)?;
        Self::deserialize(data.as_ref())
            .map_err(|source| DecodeError::Data { event_type: event_type.to_owned(), source })
    }
}

/// Whether the gate let the access through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Allowed,
    /// Refused; the reason is the envelope's `metadata.reason`.
    Denied,
}

impl Outcome {
    /// As stored: `allowed` or `denied`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Denied => "denied",
        }
    }

    /// The outcome a stored (or served) `allowed` or `denied` names.
    pub fn parse(stored: &str) -> Option<Self> {
        [Self::Allowed, Self::Denied].into_iter().find(|o| o.as_str() == stored)
    }
}

/// Why the caller reads: an HL7 v3 PurposeOfUse code, stored as the code (`TREAT`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PurposeOfUse {
    /// Treatment.
    Treat,
    /// Emergency treatment ("break the glass").
    Etreat,
    /// Payment.
    Hpaymt,
    /// Healthcare operations (audit, quality).
    Hoperat,
    /// System administration.
    Hsysadmin,
    /// Legal proceedings.
    Legal,
    /// The patient's own request (e.g. a copy of their record).
    Patrqt,
    /// Coordination of care (exports to another provider's EHR).
    Coc,
}

/// A purpose of use that is no HL7 v3 code we know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown purpose of use {code:?}; one of {}", PurposeOfUse::ALL.map(PurposeOfUse::code).join(", "))]
pub struct UnknownPurpose {
    pub code: String,
}

impl PurposeOfUse {
    pub const ALL: [PurposeOfUse; 8] =
        [Self::Treat, Self::Etreat, Self::Hpaymt, Self::Hoperat, Self::Hsysadmin, Self::Legal, Self::Patrqt, Self::Coc];

    pub fn code(self) -> &'static str {
        match self {
            Self::Treat => "TREAT",
            Self::Etreat => "ETREAT",
            Self::Hpaymt => "HPAYMT",
            Self::Hoperat => "HOPERAT",
            Self::Hsysadmin => "HSYSADMIN",
            Self::Legal => "LEGAL",
            Self::Patrqt => "PATRQT",
            Self::Coc => "COC",
        }
    }

    /// A declared code, in any case.
    pub fn parse(code: &str) -> Result<Self, UnknownPurpose> {
        Self::ALL
            .into_iter()
            .find(|p| p.code().eq_ignore_ascii_case(code))
            .ok_or_else(|| UnknownPurpose { code: code.to_owned() })
    }

    /// Treatment, payment or health care operations (coordination of care with another provider
    /// is treatment; system administration is operations).
    pub fn is_tpo(self) -> bool {
        matches!(self, Self::Treat | Self::Etreat | Self::Coc | Self::Hpaymt | Self::Hoperat | Self::Hsysadmin)
    }

    /// What the code means, for people.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Treat => "treatment",
            Self::Etreat => "emergency treatment",
            Self::Hpaymt => "payment",
            Self::Hoperat => "health care operations",
            Self::Hsysadmin => "system administration",
            Self::Legal => "legal proceedings",
            Self::Patrqt => "at the client's own request",
            Self::Coc => "coordination of care with another provider",
        }
    }
}

/// The purpose of use an access-log entry holds. The gate writes only [`PurposeOfUse`] codes,
/// but the log is forever and may be read by a build that knows fewer codes than the one that
/// wrote it: a code this build does not know is kept as stored, so the entry still reads (into
/// the audit trail, the AuditEvents and the accounting of disclosures, where it counts as
/// accountable) and encodes back to the very bytes it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoggedPurpose {
    Known(PurposeOfUse),
    /// A code no [`PurposeOfUse`] of this build is, exactly as stored.
    Unknown(UnknownPurpose),
}

impl LoggedPurpose {
    /// The stored code: a known purpose only when it is exactly its code (as the gate writes it),
    /// so that what was read is what is written back.
    pub fn from_code(code: &str) -> Self {
        match PurposeOfUse::ALL.into_iter().find(|p| p.code() == code) {
            Some(known) => Self::Known(known),
            None => Self::Unknown(UnknownPurpose { code: code.to_owned() }),
        }
    }

    /// The code as stored (`TREAT`, …).
    pub fn code(&self) -> &str {
        match self {
            Self::Known(p) => p.code(),
            Self::Unknown(u) => &u.code,
        }
    }

    /// The purpose, when this build knows its code.
    pub fn known(&self) -> Option<PurposeOfUse> {
        match self {
            Self::Known(p) => Some(*p),
            Self::Unknown(_) => None,
        }
    }

    /// Treatment, payment or operations ([`PurposeOfUse::is_tpo`]); an unknown code is not.
    pub fn is_tpo(&self) -> bool {
        self.known().is_some_and(PurposeOfUse::is_tpo)
    }

    /// What the code means, for people.
    pub fn meaning(&self) -> &'static str {
        self.known().map_or("a purpose of use this version does not know", PurposeOfUse::meaning)
    }
}

impl From<PurposeOfUse> for LoggedPurpose {
    fn from(purpose: PurposeOfUse) -> Self {
        Self::Known(purpose)
    }
}

impl Serialize for LoggedPurpose {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for LoggedPurpose {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::from_code(&String::deserialize(deserializer)?))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_purpose_is_stored_as_its_code_and_parsed_back_in_any_case() {
        for purpose in PurposeOfUse::ALL {
            assert_eq!(serde_json::to_value(purpose).unwrap(), json!(purpose.code()));
            assert_eq!(PurposeOfUse::parse(&purpose.code().to_lowercase()), Ok(purpose));
        }
        for outcome in [Outcome::Allowed, Outcome::Denied] {
            assert_eq!(serde_json::to_value(outcome).unwrap(), json!(outcome.as_str()));
            assert_eq!(Outcome::parse(outcome.as_str()), Some(outcome));
        }
        assert_eq!(Outcome::parse("maybe"), None);
        let unknown = PurposeOfUse::parse("CURIOSITY").unwrap_err();
        assert!(unknown.to_string().starts_with("unknown purpose of use \"CURIOSITY\"; one of TREAT, ETREAT"));
    }

    #[test]
    fn a_logged_code_this_build_does_not_know_reads_as_unknown_and_encodes_back_unchanged() {
        let entry = json!({"rpc": "Fhir/read", "role": "connector", "clinician_id": null,
            "purpose_of_use": "PUBHLTH", "client_id": null, "outcome": "allowed", "detail": {}});
        let read = RecordAccessed::from_stored("RecordAccessed", 1, &entry).expect("an unknown code still reads");
        assert_eq!(read.purpose_of_use, LoggedPurpose::Unknown(UnknownPurpose { code: "PUBHLTH".into() }));
        assert_eq!((read.purpose_of_use.code(), read.purpose_of_use.is_tpo()), ("PUBHLTH", false));
        assert_eq!(read.to_data().unwrap(), entry);
        // Only the exact code is the known purpose: another spelling is kept as it was stored.
        assert_eq!(LoggedPurpose::from_code("treat").code(), "treat");
        assert_eq!(LoggedPurpose::from_code("treat").known(), None);
        for purpose in PurposeOfUse::ALL {
            assert_eq!(LoggedPurpose::from_code(purpose.code()), LoggedPurpose::Known(purpose));
        }
    }

    #[test]
    fn an_entry_of_another_type_or_shape_is_refused() {
        let entry = json!({"rpc": "RecordsService/GetEpisode", "role": "clinician", "clinician_id": null,
            "purpose_of_use": "TREAT", "client_id": null, "outcome": "allowed", "detail": {}});
        assert!(RecordAccessed::from_stored("RecordAccessed", 1, &entry).is_ok());
        assert!(matches!(RecordAccessed::from_stored("ClientRegistered", 1, &entry), Err(DecodeError::UnknownType(_))));
        let mut odd = entry.clone();
        odd["outcome"] = json!("maybe");
        assert!(matches!(RecordAccessed::from_stored("RecordAccessed", 1, &odd), Err(DecodeError::Data { .. })));
    }
}
