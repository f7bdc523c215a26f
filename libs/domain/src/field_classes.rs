//! The declaration itself: which class each field name holds in every event ([`KEYS`]), and where
//! an event type's own fields say otherwise ([`EVENTS`]). The read gate, the sealing at rest and
//! an erasure's scrub all derive from these two tables (see [`crate::disclosure`]).

use crate::disclosure::FieldClass::{self, *};

/// Field names that mean the same thing in every event and view.
#[rustfmt::skip]
pub const KEYS: &[(&str, FieldClass)] = &[
    // Ids of records.
    ("client_id", Identifier), ("episode_id", Identifier), ("consent_id", Identifier),
    ("assessment_id", Identifier), ("plan_id", Identifier), ("goal_id", Identifier),
    ("objective_id", Identifier), ("intervention_id", Identifier), ("session_id", Identifier),
    ("note_id", Identifier), ("addendum_id", Identifier), ("amendment_id", Identifier),
    ("account_id", Identifier), ("charge_id", Identifier), ("charge_ids", Identifier),
    ("claim_id", Identifier), ("payment_id", Identifier), ("remittance_id", Identifier),
    ("write_off_id", Identifier), ("superbill_id", Identifier), ("estimate_id", Identifier),
    ("reversal_id", Identifier), ("recoupment_id", Identifier),
    ("original", Identifier), ("goals_addressed", Identifier), ("content_hash", Identifier),
    // Ids of the people who acted.
    ("clinician_id", Identifier), ("registered_by", Identifier), ("recorded_by", Identifier),
    ("administered_by", Identifier), ("acknowledged_by", Identifier), ("diagnosed_by", Identifier),
    ("revised_by", Identifier), ("issued_by", Identifier), ("closed_by", Identifier),
    ("placed_by", Identifier), ("released_by", Identifier), ("erased_by", Identifier),
    ("drafted_by", Identifier), ("signed_by", Identifier), ("reviewed_by", Identifier),
    ("changed_by", Identifier), ("planned_by", Identifier), ("author", Identifier),
    ("requested_by", Identifier), ("decided_by", Identifier), ("rendering_clinician", Identifier),
    // When, what kind, how long, which status.
    ("registered_at", Administrative), ("opened_at", Administrative), ("given_at", Administrative),
    ("revoked_at", Administrative), ("administered_at", Administrative), ("raised_at", Administrative),
    ("acknowledged_at", Administrative), ("recorded_at", Administrative), ("revised_at", Administrative),
    ("issued_at", Administrative), ("closed_at", Administrative), ("placed_at", Administrative),
    ("released_at", Administrative), ("erased_at", Administrative), ("drafted_at", Administrative),
    ("signed_at", Administrative), ("reviewed_at", Administrative), ("changed_at", Administrative),
    ("planned_at", Administrative), ("starts_at", Administrative), ("started_at", Administrative),
    ("cancelled_at", Administrative), ("appended_at", Administrative), ("requested_at", Administrative),
    ("decided_at", Administrative), ("created_at", Administrative), ("submitted_at", Administrative),
    ("rejected_at", Administrative), ("posted_at", Administrative), ("received_at", Administrative),
    ("written_off_at", Administrative), ("reversed_at", Administrative), ("recouped_at", Administrative),
    ("service_date", Administrative), ("service_from", Administrative), ("service_to", Administrative), ("due_on", Administrative),
    ("next_review_due", Administrative), ("planned_end_on", Administrative), ("respond_by", Administrative),
    ("expires_on", Administrative), ("signed_on", Administrative), ("version", Administrative),
    ("kind", Administrative), ("format", Administrative), ("late", Administrative), ("late_entry", Administrative), ("refers_to", Administrative),
    ("written_at", Administrative), ("threshold_hours", Administrative), ("estimate_due_by", Administrative),
    ("modality", Administrative), ("planned_modality", Administrative), ("planned_minutes", Administrative),
    ("actual_minutes", Administrative), ("patient_location", Administrative), ("cancelled_by", Administrative),
    ("basis", Administrative), ("from", Administrative), ("to", Administrative),
    ("outcome", Administrative), ("right_to_revoke_acknowledged", Administrative), ("date", Administrative),
    ("status", Administrative),
    // Money and the codes a claim carries.
    ("cpt", Financial), ("modifiers", Financial), ("units", Financial), ("place_of_service", Financial),
    ("diagnosis_pointers", Financial), ("unit_fee", Financial), ("amount", Financial), ("total", Financial),
    ("paid", Financial), ("charged", Financial), ("adjusted", Financial),
    ("patient_responsibility", Financial), ("group", Financial), ("carc", Financial),
    ("remarks", Financial), ("method", Financial), ("payer_claim_number", Financial),
    ("plan_review_overdue", Financial),
    // Diagnoses.
    ("code", Diagnosis), ("code_set", Diagnosis), ("addresses", Diagnosis), ("diagnoses", Diagnosis),
    // Screening.
    ("instrument", Assessment), ("items", Assessment), ("severity", Assessment),
    ("item9_score", Assessment), ("rating", Assessment),
    // Who the client is and how to reach them.
    ("legal_name", Demographics), ("preferred_name", Demographics), ("date_of_birth", Demographics),
    ("phone", Contact), ("email", Contact), ("address", Contact),
    ("payer_name", Coverage), ("member_id", Demographics),
    // Free text written about the client's care.
    ("reason", ClinicalText), ("description", ClinicalText), ("measurable_target", ClinicalText),
    ("frequency", ClinicalText), ("aftercare", ClinicalText), ("discharge_summary", ClinicalText),
    ("text", ClinicalText), ("requested_change", ClinicalText), ("explanation", ClinicalText),
    ("action_taken", ClinicalText),
    ("comment", ClinicalText),
];

/// Fields whose class depends on the event they are in; these win over [`KEYS`].
#[rustfmt::skip]
pub(crate) const EVENTS: &[(&str, &[(&str, FieldClass)])] = &[
    ("ClientRegistered", &[("demographics.payer.kind", Coverage)]),
    ("ConsentGiven", &[
        ("kind.kind", Administrative), ("kind.expires_on", Administrative), ("kind.signed_on", Administrative),
        ("kind.expiry.kind", Administrative), ("kind.expiry.date", Administrative),
        ("kind.right_to_revoke_acknowledged", Administrative), ("kind.*", ConsentTerms),
    ]),
    ("AssessmentRecorded", &[("scores.*", Assessment), ("total", Assessment)]),
    ("DiagnosisRevised", &[("revision.kind", Diagnosis), ("revision.diagnosis.*", Diagnosis)]),
    ("DiagnosisRecorded", &[("diagnosis.*", Diagnosis)]),
    ("LegalHoldPlaced", &[("reason", Administrative)]),
    ("LegalHoldReleased", &[("reason", Administrative)]),
    ("ClientErased", &[("reason", Administrative)]),
    // The termination's reason is a category (goals met, referral, …), not free text.
    ("TerminationPlanned", &[("reason", Administrative)]),
    ("ProgressNoteSigned", &[("content.format", Administrative), ("content.*", ClinicalText)]),
    ("PsychotherapyNoteRecorded", &[("text", PsychotherapyNote)]),
    ("AccountOpened", &[("payer.member_id", Demographics), ("payer.*", Coverage)]),
    ("ClaimSubmitted", &[("frequency.kind", Financial)]),
    ("ClaimRejected", &[("reason", BillingText)]),
    ("WrittenOff", &[("reason", Financial), ("note", BillingText)]),
    ("RecordAccessed", &[
        ("rpc", Administrative), ("role", Administrative), ("purpose_of_use", Administrative),
        ("outcome", Administrative), ("detail.*", Administrative),
    ]),
    // The proofs service's signing-key changes (services/proofs keychain.rs): public keys and
    // signatures, no PHI.
    ("SigningKeyChanged", &[
        ("key", Identifier), ("previous_key", Identifier), ("log_size", Administrative), ("kind", Administrative),
        ("reason", Administrative), ("signature", Identifier), ("previous_signature", Identifier),
    ]),
];
