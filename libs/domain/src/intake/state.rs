//! The client's record as folded from its events, with the queries other aggregates' contexts
//! are filled from.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::event::{ConsentExpiry, ConsentKind, DiagnosisRevision, IntakeEvent, Payer};
use crate::types::{
    AssessmentId, ClientId, ClinicianId, ConsentId, Diagnosis, EpisodeId, EstimateId, Icd10Code, Instrument, Severity,
};

/// Folded state of one client stream. `Default` is the state before any event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientState {
    pub client_id: Option<ClientId>,
    pub payer: Option<Payer>,
    /// In opening order; at most one is open.
    pub episodes: Vec<EpisodeRecord>,
    pub consents: BTreeMap<ConsentId, ConsentRecord>,
    pub assessments: BTreeMap<AssessmentId, AssessmentSummary>,
    pub risk_flags: BTreeMap<AssessmentId, RiskFlag>,
    /// Active diagnoses per episode, in the order recorded (the order claims point into).
    pub diagnoses: BTreeMap<EpisodeId, Vec<Diagnosis>>,
    /// Good Faith Estimates and when each was issued.
    pub estimates: BTreeMap<EstimateId, DateTime<Utc>>,
    pub registered_at: Option<DateTime<Utc>>,
    /// When the active legal hold was placed.
    pub legal_hold_since: Option<DateTime<Utc>>,
    pub erased_at: Option<DateTime<Utc>>,
}

/// One episode of care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpisodeRecord {
    pub episode_id: EpisodeId,
    pub clinician_id: ClinicianId,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// Whether an episode can take new clinical activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpisodeStatus {
    Open,
    Closed,
    /// Not in this client's record.
    Unknown,
}

/// The kind of a consent without its details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsentType {
    Treatment,
    Telehealth,
    FinancialPolicy,
    ReleaseOfInformation,
    Part2,
}

impl ConsentKind {
    /// The kind without its details.
    pub fn consent_type(&self) -> ConsentType {
        match self {
            Self::Treatment => ConsentType::Treatment,
            Self::Telehealth => ConsentType::Telehealth,
            Self::FinancialPolicy => ConsentType::FinancialPolicy,
            Self::ReleaseOfInformation(_) => ConsentType::ReleaseOfInformation,
            Self::Part2(_) => ConsentType::Part2,
        }
    }

    /// Last day the consent applies, if it expires on a date.
    pub fn expires_on(&self) -> Option<NaiveDate> {
        match self {
            Self::ReleaseOfInformation(r) => Some(r.expires_on),
            Self::Part2(p) => match p.expiry {
                ConsentExpiry::OnDate { date } => Some(date),
                ConsentExpiry::UponEvent { .. } => None,
            },
            _ => None,
        }
    }
}

/// A consent and whether it still applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    pub kind: ConsentKind,
    pub given_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ConsentRecord {
    /// Given by `at`, not revoked by then, and not past its expiry date.
    pub fn is_active_at(&self, at: DateTime<Utc>) -> bool {
        self.given_at <= at
            && self.revoked_at.is_none_or(|r| r > at)
            && self.kind.expires_on().is_none_or(|d| at.date_naive() <= d)
    }

    /// Whether it permits new activity decided at `now`: given by then, not expired, and no
    /// revocation recorded. A recorded revocation stops everything decided after it was recorded,
    /// whatever clinical time it carries: a decision never races the revocation's own clock.
    pub fn permits_new_activity(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.is_active_at(now)
    }
}

/// The scored result of one assessment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessmentSummary {
    pub instrument: Instrument,
    pub total: u8,
    pub severity: Severity,
    pub administered_at: DateTime<Utc>,
}

/// A raised risk flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskFlag {
    pub episode_id: EpisodeId,
    pub raised_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
}

impl ClientState {
    /// Whether `ClientRegistered` has happened.
    pub fn is_registered(&self) -> bool {
        self.client_id.is_some()
    }

    /// Where the retention period starts: the last episode's close, or registration if no
    /// episode was opened. `None` while an episode is open.
    pub fn retention_start(&self) -> Option<DateTime<Utc>> {
        if self.open_episode().is_some() {
            return None;
        }
        self.episodes.iter().filter_map(|e| e.closed_at).max().or(self.registered_at)
    }

    /// Whether the client pays for themselves.
    pub fn is_self_pay(&self) -> bool {
        matches!(self.payer, Some(Payer::SelfPay))
    }

    /// The open episode, if any.
    pub fn open_episode(&self) -> Option<&EpisodeRecord> {
        self.episodes.iter().find(|e| e.closed_at.is_none())
    }

    /// An episode by id.
    pub fn episode(&self, id: EpisodeId) -> Option<&EpisodeRecord> {
        self.episodes.iter().find(|e| e.episode_id == id)
    }

    /// Status of an episode.
    pub fn episode_status(&self, id: EpisodeId) -> EpisodeStatus {
        match self.episode(id) {
            Some(e) if e.closed_at.is_none() => EpisodeStatus::Open,
            Some(_) => EpisodeStatus::Closed,
            None => EpisodeStatus::Unknown,
        }
    }

    /// Whether some consent of `kind` applies at `at`.
    pub fn has_active_consent(&self, kind: ConsentType, at: DateTime<Utc>) -> bool {
        self.consents.values().any(|c| c.kind.consent_type() == kind && c.is_active_at(at))
    }

    /// Whether a consent of `kind` permits new activity decided at `now` (see
    /// [`ConsentRecord::permits_new_activity`]).
    pub fn permits_new_activity(&self, kind: ConsentType, now: DateTime<Utc>) -> bool {
        self.consents.values().any(|c| c.kind.consent_type() == kind && c.permits_new_activity(now))
    }

    /// Whether a consent of `kind` was revoked and none permits new activity at `now`.
    pub fn consent_withdrawn(&self, kind: ConsentType, now: DateTime<Utc>) -> bool {
        let revoked = self.consents.values().any(|c| c.kind.consent_type() == kind && c.revoked_at.is_some());
        revoked && !self.permits_new_activity(kind, now)
    }

    /// Active diagnoses of an episode, in the order recorded.
    pub fn active_diagnoses(&self, episode: EpisodeId) -> &[Diagnosis] {
        self.diagnoses.get(&episode).map_or(&[], Vec::as_slice)
    }

    /// Whether `code` is active in `episode`.
    pub fn is_diagnosis_active(&self, episode: EpisodeId, code: &Icd10Code) -> bool {
        self.active_diagnoses(episode).iter().any(|d| &d.code == code)
    }

    /// Risk flags of an episode not yet acknowledged.
    pub fn unacknowledged_risk_flags(&self, episode: EpisodeId) -> usize {
        self.risk_flags.values().filter(|f| f.episode_id == episode && f.acknowledged_at.is_none()).count()
    }

    /// Folds one event into the state.
    pub fn apply(&mut self, event: &IntakeEvent) {
        match event {
            IntakeEvent::ClientRegistered(e) => {
                self.client_id = Some(e.client_id);
                self.payer = Some(e.demographics.payer.clone());
                self.registered_at = Some(e.registered_at);
            }
            IntakeEvent::EpisodeOpened(e) => self.episodes.push(EpisodeRecord {
                episode_id: e.episode_id,
                clinician_id: e.clinician_id,
                opened_at: e.opened_at,
                closed_at: None,
            }),
            IntakeEvent::ConsentGiven(e) => {
                self.consents.insert(
                    e.consent_id,
                    ConsentRecord { kind: e.kind.clone(), given_at: e.given_at, revoked_at: None },
                );
            }
            IntakeEvent::ConsentRevoked(e) => {
                if let Some(c) = self.consents.get_mut(&e.consent_id) {
                    c.revoked_at = Some(e.revoked_at);
                }
            }
            IntakeEvent::AssessmentRecorded(e) => {
                self.assessments.insert(
                    e.assessment_id,
                    AssessmentSummary {
                        instrument: e.scores.instrument(),
                        total: e.total,
                        severity: e.severity,
                        administered_at: e.administered_at,
                    },
                );
            }
            IntakeEvent::RiskFlagRaised(e) => {
                self.risk_flags.insert(
                    e.assessment_id,
                    RiskFlag { episode_id: e.episode_id, raised_at: e.raised_at, acknowledged_at: None },
                );
            }
            IntakeEvent::RiskFlagAcknowledged(e) => {
                if let Some(f) = self.risk_flags.get_mut(&e.assessment_id) {
                    f.acknowledged_at = Some(e.acknowledged_at);
                }
            }
            IntakeEvent::DiagnosisRecorded(e) => {
                self.diagnoses.entry(e.episode_id).or_default().push(e.diagnosis.clone());
            }
            IntakeEvent::DiagnosisRevised(e) => {
                let list = self.diagnoses.entry(e.episode_id).or_default();
                match &e.revision {
                    DiagnosisRevision::Resolved => list.retain(|d| d.code != e.code),
                    // Recoding keeps the position so existing diagnosis pointers stay meaningful.
                    DiagnosisRevision::ChangedTo { diagnosis } => {
                        if let Some(d) = list.iter_mut().find(|d| d.code == e.code) {
                            *d = diagnosis.clone();
                        }
                    }
                }
            }
            IntakeEvent::GoodFaithEstimateIssued(e) => {
                self.estimates.insert(e.estimate_id, e.issued_at);
            }
            IntakeEvent::EpisodeClosed(e) => {
                if let Some(ep) = self.episodes.iter_mut().find(|x| x.episode_id == e.episode_id) {
                    ep.closed_at = Some(e.closed_at);
                }
            }
            IntakeEvent::LegalHoldPlaced(e) => self.legal_hold_since = Some(e.placed_at),
            IntakeEvent::LegalHoldReleased(_) => self.legal_hold_since = None,
            IntakeEvent::ClientErased(e) => self.erased_at = Some(e.erased_at),
        }
    }
}
