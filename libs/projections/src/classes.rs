//! The class of every field of the read models as clients receive them (the episode view, the
//! ledger, caseload alerts), declared beside the views: the read gate redacts each reply by these
//! and the role's table, and a field declared nowhere is withheld (see `carelog_domain::disclosure`).

use carelog_domain::disclosure::Classes;
use carelog_domain::disclosure::FieldClass::*;

/// The client's record as `GetEpisode` and `GetEpisodeAsOf` serve it.
#[rustfmt::skip]
pub static EPISODE_VIEW: Classes = Classes::new(&[
    ("demographics.payer.kind", Coverage),
    ("consents[].kind.kind", Administrative), ("consents[].kind.expires_on", Administrative),
    ("consents[].kind.signed_on", Administrative), ("consents[].kind.expiry.kind", Administrative),
    ("consents[].kind.expiry.date", Administrative),
    ("consents[].kind.right_to_revoke_acknowledged", Administrative), ("consents[].kind.*", ConsentTerms),
    ("diagnoses[].status", Diagnosis), ("diagnoses[].history[].previous_code", Diagnosis),
    ("diagnoses[].history[].previous_code_set", Diagnosis), ("diagnoses[].history[].resolved", Diagnosis),
    ("assessments[].total", Assessment),
    ("plans[].signed_version", Administrative), ("plans[].discharged", Administrative),
    ("plans[].termination.reason", Administrative),
    ("sessions[].note.content.format", Administrative),
    ("sessions[].note.content.*", ClinicalText),
    ("sessions[].psychotherapy_notes", Administrative), ("psychotherapy_notes", Administrative),
    ("billing.*", Financial),
    ("last_position", Administrative), ("last_recorded_at", Administrative), ("erased_at", Administrative),
    ("incomplete[].*", Administrative),
    // The live record's alerts (GetEpisode computes them at call time), as in CASELOAD_ALERTS.
    ("alerts[].kind.kind", Administrative), ("alerts[].kind.ended_at", Administrative),
    ("alerts[].kind.hours_since", Administrative), ("alerts[].kind.due", Administrative),
    ("alerts[].kind.days_overdue", Administrative), ("alerts[].kind.days_left", Administrative),
    ("alerts[].kind.eligibility.*", Financial),
]);

/// An account's ledger with its aging buckets.
#[rustfmt::skip]
pub static LEDGER: Classes = Classes::new(&[
    ("payer.member_id", Demographics), ("payer.*", Coverage),
    ("totals.*", Financial), ("balance", Financial), ("aging.*", Financial),
    ("payer_balance", Financial), ("patient_balance", Financial), ("charges[].adjudication.*", Financial),
    ("dispute_resolution.*", Financial),
    ("remittances[].reversed_by", Identifier),
    ("claims[].frequency.kind", Financial), ("claims[].frequency_code", Financial),
    ("claims[].superseded_by", Identifier), ("claims[].remittances[]", Identifier),
    ("claims[].rejection.reason", BillingText),
    ("write_offs[].reason", Financial), ("write_offs[].note", BillingText),
    ("last_position", Administrative), ("last_recorded_at", Administrative), ("erased_at", Administrative),
    ("incomplete[].*", Administrative),
]);

/// A caseload's alerts (a JSON array of them).
#[rustfmt::skip]
pub static CASELOAD_ALERTS: Classes = Classes::new(&[
    ("[].kind.kind", Administrative), ("[].kind.ended_at", Administrative), ("[].kind.hours_since", Administrative),
    ("[].kind.due", Administrative), ("[].kind.days_overdue", Administrative), ("[].kind.days_left", Administrative),
    ("[].kind.eligibility.*", Financial),
]);
