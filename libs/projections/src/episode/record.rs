//! The client stream's part of the episode view: episodes, consents, diagnoses, assessments,
//! risk flags and Good Faith Estimates.

use carelog_domain::intake::{AssessmentRecorded, ConsentKind, DiagnosisRevision, IntakeEvent};
use carelog_domain::sessions::LateEntry;
use carelog_domain::types::{
    ActorId, AssessmentId, AssessmentScores, ClinicianId, CodeSetVersion, ConsentId, EpisodeId, Icd10Code, NoteText,
    Reason, Severity,
};
use carelog_store::RecordedEvent;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::EpisodeView;
use crate::decode::orphan;
use crate::error::ViewError;

/// Whether an episode takes new clinical activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EpisodeStatus {
    Open,
    Closed,
}

/// One episode of care.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpisodeEntry {
    pub episode_id: EpisodeId,
    pub clinician_id: ClinicianId,
    pub opened_at: DateTime<Utc>,
    pub status: EpisodeStatus,
    pub closed: Option<EpisodeClosure>,
}

/// How an episode ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpisodeClosure {
    pub closed_by: ClinicianId,
    pub closed_at: DateTime<Utc>,
    pub discharge_summary: NoteText,
}

/// A revoked consent's revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub reason: Reason,
    pub revoked_at: DateTime<Utc>,
}

/// A consent with what decides its status. Expiry depends on the day it is asked about, so the
/// view stores the date and [`ConsentEntry::status_at`] evaluates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentEntry {
    pub consent_id: ConsentId,
    pub kind: ConsentKind,
    pub given_at: DateTime<Utc>,
    pub recorded_by: ActorId,
    /// Last day the consent applies, for consents that expire on a date.
    pub expires_on: Option<NaiveDate>,
    pub revoked: Option<Revocation>,
}

/// Whether a consent applies at a given time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ConsentStatus {
    Active,
    Revoked {
        reason: Reason,
        revoked_at: DateTime<Utc>,
    },
    Expired {
        expired_after: NaiveDate,
    },
    /// Asked about a time before it was given.
    NotYetGiven,
}

impl ConsentEntry {
    /// The status at `at`, with the domain's rule: revoked from `revoked_at` on, expired after
    /// the last day.
    pub fn status_at(&self, at: DateTime<Utc>) -> ConsentStatus {
        if at < self.given_at {
            return ConsentStatus::NotYetGiven;
        }
        if let Some(r) = self.revoked.as_ref().filter(|r| r.revoked_at <= at) {
            return ConsentStatus::Revoked { reason: r.reason.clone(), revoked_at: r.revoked_at };
        }
        match self.expires_on {
            Some(last_day) if at.date_naive() > last_day => ConsentStatus::Expired { expired_after: last_day },
            _ => ConsentStatus::Active,
        }
    }
}

/// Whether a diagnosis is still being treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosisStatus {
    Active,
    Resolved,
}

/// One change to a diagnosis: resolved, or recoded from `previous`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosisHistory {
    /// The code and code set before the change (the same as the entry's when resolved).
    pub previous_code: Icd10Code,
    pub previous_code_set: CodeSetVersion,
    pub resolved: bool,
    pub reason: Reason,
    pub revised_by: ClinicianId,
    pub revised_at: DateTime<Utc>,
}

/// A diagnosis in an episode, under its current code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosisEntry {
    pub episode_id: EpisodeId,
    pub code: Icd10Code,
    pub code_set: CodeSetVersion,
    pub status: DiagnosisStatus,
    pub diagnosed_by: ClinicianId,
    pub recorded_at: DateTime<Utc>,
    /// Changes in order; the last one explains the current code or the resolution.
    pub history: Vec<DiagnosisHistory>,
}

/// One administration of a PHQ-9 or GAD-7: the `AssessmentRecorded` event's fields with its
/// scores laid flat (`instrument` and `items` beside the total, the shape the read API has
/// always served), so not the event itself. The total and severity band are the ones the
/// domain decided when it was recorded ([`AssessmentScores::total`], [`AssessmentScores::severity`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentEntry {
    pub assessment_id: AssessmentId,
    pub episode_id: EpisodeId,
    /// The instrument and its range-checked item scores in questionnaire order.
    #[serde(flatten)]
    pub scores: AssessmentScores,
    pub total: u8,
    pub severity: Severity,
    pub administered_by: ActorId,
    pub administered_at: DateTime<Utc>,
    /// CMS late-entry label: recorded past the practice's threshold after the fact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_entry: Option<LateEntry>,
}

impl From<&AssessmentRecorded> for AssessmentEntry {
    fn from(e: &AssessmentRecorded) -> Self {
        Self {
            assessment_id: e.assessment_id,
            episode_id: e.episode_id,
            scores: e.scores.clone(),
            total: e.total,
            severity: e.severity,
            administered_by: e.administered_by,
            administered_at: e.administered_at,
            late_entry: e.late_entry,
        }
    }
}

/// A clinician's response to a risk flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    pub acknowledged_by: ClinicianId,
    pub action_taken: Reason,
    pub acknowledged_at: DateTime<Utc>,
}

/// A PHQ-9 item 9 answer above zero, and whether a clinician has responded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskFlagEntry {
    pub assessment_id: AssessmentId,
    pub episode_id: EpisodeId,
    pub item9_score: u8,
    pub raised_at: DateTime<Utc>,
    pub acknowledged: Option<Acknowledgement>,
}

impl EpisodeView {
    pub(super) fn apply_intake(&mut self, event: &RecordedEvent, e: &IntakeEvent) -> Result<(), ViewError> {
        match e {
            IntakeEvent::ClientRegistered(e) => {
                self.demographics = Some(e.demographics.clone());
                self.registered_by = Some(e.registered_by);
                self.registered_at = Some(e.registered_at);
            }
            IntakeEvent::EpisodeOpened(e) => self.episodes.push(EpisodeEntry {
                episode_id: e.episode_id,
                clinician_id: e.clinician_id,
                opened_at: e.opened_at,
                status: EpisodeStatus::Open,
                closed: None,
            }),
            IntakeEvent::LegalHoldPlaced(_) | IntakeEvent::LegalHoldReleased(_) => {}
            IntakeEvent::ClientErased(e) => {
                self.erase_phi(event)?;
                self.erased_at = Some(e.erased_at);
            }
            IntakeEvent::EpisodeClosed(e) => {
                let ep = self.episodes.iter_mut().find(|x| x.episode_id == e.episode_id);
                let ep = ep.ok_or_else(|| orphan(event, "episode"))?;
                ep.status = EpisodeStatus::Closed;
                ep.closed = Some(EpisodeClosure {
                    closed_by: e.closed_by,
                    closed_at: e.closed_at,
                    discharge_summary: e.discharge_summary.clone(),
                });
            }
            IntakeEvent::ConsentGiven(e) => self.consents.push(ConsentEntry {
                consent_id: e.consent_id,
                kind: e.kind.clone(),
                given_at: e.given_at,
                recorded_by: e.recorded_by,
                expires_on: e.kind.expires_on(),
                revoked: None,
            }),
            IntakeEvent::ConsentRevoked(e) => {
                let c = self.consents.iter_mut().find(|c| c.consent_id == e.consent_id);
                let c = c.ok_or_else(|| orphan(event, "consent"))?;
                c.revoked = Some(Revocation { reason: e.reason.clone(), revoked_at: e.revoked_at });
            }
            IntakeEvent::AssessmentRecorded(e) => self.assessments.push(e.into()),
            IntakeEvent::RiskFlagRaised(e) => self.risk_flags.push(RiskFlagEntry {
                assessment_id: e.assessment_id,
                episode_id: e.episode_id,
                item9_score: e.item9_score.get(),
                raised_at: e.raised_at,
                acknowledged: None,
            }),
            IntakeEvent::RiskFlagAcknowledged(e) => {
                let f = self.risk_flags.iter_mut().find(|f| f.assessment_id == e.assessment_id);
                let f = f.ok_or_else(|| orphan(event, "risk flag"))?;
                f.acknowledged = Some(Acknowledgement {
                    acknowledged_by: e.acknowledged_by,
                    action_taken: e.action_taken.clone(),
                    acknowledged_at: e.acknowledged_at,
                });
            }
            IntakeEvent::DiagnosisRecorded(e) => self.diagnoses.push(DiagnosisEntry {
                episode_id: e.episode_id,
                code: e.diagnosis.code.clone(),
                code_set: e.diagnosis.code_set,
                status: DiagnosisStatus::Active,
                diagnosed_by: e.diagnosed_by,
                recorded_at: e.recorded_at,
                history: Vec::new(),
            }),
            IntakeEvent::DiagnosisRevised(e) => {
                let d = self
                    .diagnoses
                    .iter_mut()
                    .find(|d| d.episode_id == e.episode_id && d.code == e.code && d.status == DiagnosisStatus::Active);
                let d = d.ok_or_else(|| orphan(event, "active diagnosis"))?;
                d.history.push(DiagnosisHistory {
                    previous_code: d.code.clone(),
                    previous_code_set: d.code_set,
                    resolved: matches!(e.revision, DiagnosisRevision::Resolved),
                    reason: e.reason.clone(),
                    revised_by: e.revised_by,
                    revised_at: e.revised_at,
                });
                match &e.revision {
                    DiagnosisRevision::Resolved => d.status = DiagnosisStatus::Resolved,
                    DiagnosisRevision::ChangedTo { diagnosis } => {
                        d.code = diagnosis.code.clone();
                        d.code_set = diagnosis.code_set;
                    }
                }
            }
            IntakeEvent::GoodFaithEstimateIssued(e) => {
                self.estimates.push(e.clone());
                self.billing.estimate_issued(e.estimate_id, e.issued_at, e.total);
                self.estimate_given(e.issued_at);
            }
        }
        Ok(())
    }

    /// Active diagnoses of an episode in the order claims point into.
    pub fn active_diagnoses(&self, episode: EpisodeId) -> impl Iterator<Item = &DiagnosisEntry> {
        self.diagnoses.iter().filter(move |d| d.episode_id == episode && d.status == DiagnosisStatus::Active)
    }
}
