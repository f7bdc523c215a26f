//! Identifiers. All are UUIDs; the aggregate roots (client, plan, session, account) are UUIDv7
//! so their streams sort by creation time, and they know their stream names (DESIGN §2).

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::error::ValidationError;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident, $field:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Uuid);

        impl $name {
            /// Field name used in validation errors.
            pub const FIELD: &'static str = $field;

            /// A fresh random (v4) id; prefer ids chosen by the caller for idempotency.
            pub fn new_v4() -> Self {
                Self(Uuid::new_v4())
            }

            /// A fresh time-ordered (v7) id.
            pub fn new_v7() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID, refusing the nil UUID.
            pub fn from_uuid(uuid: Uuid) -> Result<Self, ValidationError> {
                Self::check(uuid).map(Self)
            }

            /// Parses the hyphenated text form.
            pub fn parse(s: &str) -> Result<Self, ValidationError> {
                let uuid = Uuid::try_parse(s.trim())
                    .map_err(|_| ValidationError::new($field, "must be a UUID"))?;
                Self::from_uuid(uuid)
            }

            /// The underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

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
            fn from(id: $name) -> Self {
                id.to_string()
            }
        }
    };
}

macro_rules! plain_check {
    ($($name:ident),+) => {$(
        impl $name {
            fn check(uuid: Uuid) -> Result<Uuid, ValidationError> {
                if uuid.is_nil() {
                    return Err(ValidationError::new(Self::FIELD, "must not be the nil UUID"));
                }
                Ok(uuid)
            }
        }
    )+};
}

/// Aggregate roots: UUIDv7 only, with a stream name `{category}-{uuid}`.
macro_rules! root_id {
    ($($name:ident => $category:literal),+) => {$(
        impl $name {
            /// Stream category of this aggregate.
            pub const CATEGORY: &'static str = $category;

            fn check(uuid: Uuid) -> Result<Uuid, ValidationError> {
                if uuid.get_version_num() != 7 {
                    return Err(ValidationError::new(Self::FIELD, "must be a UUIDv7"));
                }
                Ok(uuid)
            }

            /// The aggregate's stream, e.g. `client-0190…`.
            pub fn stream_name(&self) -> String {
                format!("{}-{}", $category, self.0.hyphenated())
            }

            /// Parses a stream name back into the id.
            pub fn from_stream_name(stream: &str) -> Result<Self, ValidationError> {
                stream
                    .strip_prefix(concat!($category, "-"))
                    .ok_or_else(|| ValidationError::new("stream", concat!("must start with ", $category, "-")))
                    .and_then(Self::parse)
            }
        }
    )+};
}

uuid_id!(/// A client (patient) of the practice.
    ClientId, "client_id");
uuid_id!(/// A treatment plan.
    PlanId, "plan_id");
uuid_id!(/// A scheduled session.
    SessionId, "session_id");
uuid_id!(/// A billing account.
    AccountId, "account_id");
uuid_id!(/// An episode of care within a client's record.
    EpisodeId, "episode_id");
uuid_id!(/// A treatment-plan goal.
    GoalId, "goal_id");
uuid_id!(/// An objective under a goal.
    ObjectiveId, "objective_id");
uuid_id!(/// An intervention under a goal.
    InterventionId, "intervention_id");
uuid_id!(/// A charge on an account.
    ChargeId, "charge_id");
uuid_id!(/// An insurance claim.
    ClaimId, "claim_id");
uuid_id!(/// A posted remittance (835).
    RemittanceId, "remittance_id");
uuid_id!(/// A payer's recoupment (takeback) of part of a payment.
    RecoupmentId, "recoupment_id");
uuid_id!(/// A payment received.
    PaymentId, "payment_id");
uuid_id!(/// A write-off.
    WriteOffId, "write_off_id");
uuid_id!(/// A superbill.
    SuperbillId, "superbill_id");
uuid_id!(/// A licensed clinician.
    ClinicianId, "clinician_id");
uuid_id!(/// Any authenticated actor (staff member, client portal user, system).
    ActorId, "actor_id");
uuid_id!(/// A consent document.
    ConsentId, "consent_id");
uuid_id!(/// One administration of a standardized instrument.
    AssessmentId, "assessment_id");
uuid_id!(/// A Good Faith Estimate.
    EstimateId, "estimate_id");
uuid_id!(/// An addendum, correction or late entry to a progress note.
    AddendumId, "addendum_id");
uuid_id!(/// A HIPAA §164.526 amendment request.
    AmendmentId, "amendment_id");
uuid_id!(/// A psychotherapy note; it lives in its own stream (`psynote-{uuid}`).
    PsychotherapyNoteId, "psychotherapy_note_id");

root_id!(ClientId => "client", PlanId => "plan", SessionId => "session", AccountId => "account",
    PsychotherapyNoteId => "psynote");
plain_check!(
    EpisodeId,
    GoalId,
    ObjectiveId,
    InterventionId,
    ChargeId,
    ClaimId,
    RemittanceId,
    RecoupmentId,
    PaymentId,
    WriteOffId,
    SuperbillId,
    ClinicianId,
    ActorId,
    ConsentId,
    AssessmentId,
    EstimateId,
    AddendumId,
    AmendmentId
);

impl From<ClinicianId> for ActorId {
    fn from(id: ClinicianId) -> Self {
        Self(id.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_ids_are_v7_and_name_their_streams() {
        let id = ClientId::new_v7();
        assert_eq!(id.stream_name(), format!("client-{id}"));
        assert_eq!(ClientId::from_stream_name(&id.stream_name()), Ok(id));
        assert!(PlanId::new_v7().stream_name().starts_with("plan-"));
        assert!(SessionId::new_v7().stream_name().starts_with("session-"));
        assert!(AccountId::new_v7().stream_name().starts_with("account-"));
        assert!(PsychotherapyNoteId::new_v7().stream_name().starts_with("psynote-"));
    }

    #[test]
    fn root_ids_refuse_other_uuid_versions() {
        let v4 = Uuid::new_v4().to_string();
        let err = ClientId::parse(&v4).unwrap_err();
        assert_eq!((err.field.as_str(), err.reason.as_str()), ("client_id", "must be a UUIDv7"));
        assert!(AccountId::parse(&v4).is_err());
    }

    #[test]
    fn plain_ids_take_any_uuid_but_nil() {
        let v4 = Uuid::new_v4();
        assert_eq!(ChargeId::parse(&v4.to_string()).map(|c| c.as_uuid()), Ok(v4));
        assert_eq!(
            EpisodeId::parse("00000000-0000-0000-0000-000000000000").unwrap_err().reason,
            "must not be the nil UUID"
        );
    }

    #[test]
    fn malformed_ids_name_the_field() {
        for bad in ["", "client-1", "0190abcd", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"] {
            assert_eq!(SessionId::parse(bad).unwrap_err().field, "session_id", "{bad}");
        }
        assert_eq!(ClientId::from_stream_name("plan-x").unwrap_err().field, "stream");
    }

    #[test]
    fn ids_serialize_as_strings_and_revalidate() {
        let id = ClaimId::new_v4();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<ClaimId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<ClientId>(&json).is_err(), "v4 is not a client id");
    }
}
