//! The episode view: one client's current record, folded from every stream about the client —
//! the client stream (intake), the plan, session and psychotherapy-note streams, and the billing
//! account.
//!
//! The fold keeps everything in event order (`Vec`) or keyed (`BTreeMap`), never in a hash
//! map, so folding the same events twice serializes to the same JSON byte for byte: a rebuild
//! from position 0 must be indistinguishable from the live view.

mod billing;
mod erasure;
mod plan;
mod record;
mod session;
#[cfg(test)]
pub(crate) mod tests;

use carelog_domain::billing::BillingEvent;
use carelog_domain::intake::{Demographics, GoodFaithEstimateIssued, Payer};
use carelog_domain::planning::PlanningEvent;
use carelog_domain::sessions::SessionEvent;
use carelog_domain::types::{AccountId, ActorId, ClientId, ClinicianId, PlanId, SessionId};
use carelog_store::{Position, RecordedEvent};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use billing::{BillingSummary, DISPUTE_THRESHOLD, DisputeEligibility, EstimatePeriod};
pub use plan::{GoalStatusChange, GoalView, InterventionView, ObjectiveView, PlanStatus, PlanView};
pub use record::{
    Acknowledgement, AssessmentEntry, ConsentEntry, ConsentStatus, DiagnosisEntry, DiagnosisHistory, DiagnosisStatus,
    EpisodeClosure, EpisodeEntry, EpisodeStatus, Revocation, RiskFlagEntry,
};
pub use session::{AmendmentOutcome, AmendmentView, ProgressNoteView, SessionStatus, SessionView};

use crate::decode::{CLINICAL_CATEGORIES, DecodeOnce, Decoded, stream_id};
use crate::error::ViewError;

/// One client's record as the events say it stands.
///
/// Build it with [`EpisodeView::new`] for a known client, or start from `Default` and let the
/// first event about a client decide whose view it is; then [`apply`](Self::apply) every event
/// of the log in position order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpisodeView {
    /// Whose record this is; `None` until the first event about a client.
    pub client_id: Option<ClientId>,
    /// Name, date of birth, contact and payer, as registered.
    pub demographics: Option<Demographics>,
    pub registered_by: Option<ActorId>,
    pub registered_at: Option<DateTime<Utc>>,
    /// Episodes of care in opening order; at most one is open.
    pub episodes: Vec<EpisodeEntry>,
    /// Consents in the order given.
    pub consents: Vec<ConsentEntry>,
    /// Diagnoses in the order recorded; a recoded diagnosis keeps its place (claims point into
    /// this order) and carries its history.
    pub diagnoses: Vec<DiagnosisEntry>,
    /// Assessments in the order administered.
    pub assessments: Vec<AssessmentEntry>,
    pub risk_flags: Vec<RiskFlagEntry>,
    /// Good Faith Estimates issued to a self-pay client.
    pub estimates: Vec<GoodFaithEstimateIssued>,
    /// Treatment plans in drafting order.
    pub plans: Vec<PlanView>,
    /// Sessions in scheduling order, each with its progress note.
    pub sessions: Vec<SessionView>,
    /// How many psychotherapy notes exist. Their text is never part of this view: it is readable
    /// only by its author and must not leak into a record others read or export.
    pub psychotherapy_notes: u32,
    pub billing: BillingSummary,
    /// Position of the last event folded into this view.
    pub last_position: Position,
    /// Store time of the last event folded into this view.
    pub last_recorded_at: Option<DateTime<Utc>>,
    /// How many events have been folded in: goes up by one per event, so it serves as an ETag.
    pub version: u64,
    /// When the client's PHI was erased (crypto-shredded); every PHI field then reads `[erased]`.
    #[serde(default)]
    pub erased_at: Option<DateTime<Utc>>,
    /// Events this view could not fold, oldest first (see [`crate::quarantine`]): when present
    /// the view is incomplete since the first one's position. Absent on a complete view.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<crate::quarantine::Incomplete>,
}

impl EpisodeView {
    /// An empty view of `client`'s record; events about other clients are ignored.
    pub fn new(client: ClientId) -> Self {
        Self { client_id: Some(client), ..Self::default() }
    }

    /// Folds one envelope into the view.
    ///
    /// Events about another client, events of categories that are not part of the record
    /// (e.g. `access`) and events at or before [`last_position`](Self::last_position) (a
    /// redelivery) leave the view unchanged. An event is about this client when its
    /// `tags.client` says so; untagged events are attributed by their stream (the client's own
    /// stream, or a plan, session or account stream this view already holds).
    ///
    /// # Errors
    /// [`ViewError`] when the envelope cannot be decoded or refers to something the record
    /// never saw; the view is then unchanged.
    pub fn apply(&mut self, event: &RecordedEvent) -> Result<(), ViewError> {
        self.apply_once(event, &mut DecodeOnce::default())
    }

    /// [`apply`](Self::apply), with the envelope decoded at most once across the views folding it.
    pub(crate) fn apply_once(&mut self, event: &RecordedEvent, decoding: &mut DecodeOnce) -> Result<(), ViewError> {
        if !CLINICAL_CATEGORIES.contains(&event.category()) {
            return Ok(());
        }
        if self.version > 0 && event.position <= self.last_position {
            return Ok(());
        }
        let tagged = tagged_client(event)?;
        if tagged.is_some() && self.client_id.is_some() && tagged != self.client_id {
            return Ok(());
        }
        let Some(decoded) = decoding.get(event)? else {
            return Ok(());
        };
        let owner = match tagged {
            Some(client) => Some(client),
            None => self.untagged_owner(event, decoded)?,
        };
        let Some(owner) = owner else {
            return Ok(());
        };
        if self.client_id.is_some_and(|mine| mine != owner) {
            return Ok(());
        }
        match decoded {
            Decoded::Intake(e) => self.apply_intake(event, e)?,
            Decoded::Planning(e) => self.apply_planning(event, e)?,
            Decoded::Session(e) => self.apply_session(event, e)?,
            Decoded::PsychotherapyNote(e) => self.apply_psychotherapy_note(event, e)?,
            Decoded::Billing(e) => self.billing.apply(event, e)?,
        }
        self.client_id = Some(owner);
        self.last_position = event.position;
        self.last_recorded_at = Some(event.recorded_at);
        self.version += 1;
        Ok(())
    }

    /// The clinician the client is assigned to: the open episode's, else the last episode's.
    pub fn assigned_clinician(&self) -> Option<ClinicianId> {
        self.episodes.iter().find(|e| e.status == EpisodeStatus::Open).or(self.episodes.last()).map(|e| e.clinician_id)
    }

    /// Who pays, as registered.
    pub fn payer(&self) -> Option<&Payer> {
        self.demographics.as_ref().map(|d| &d.payer)
    }

    /// The open episode, if any.
    pub fn open_episode(&self) -> Option<&EpisodeEntry> {
        self.episodes.iter().find(|e| e.status == EpisodeStatus::Open)
    }

    /// A session by id.
    pub fn session(&self, id: SessionId) -> Option<&SessionView> {
        self.sessions.iter().find(|s| s.session_id == id)
    }

    /// A plan by id.
    pub fn plan(&self, id: PlanId) -> Option<&PlanView> {
        self.plans.iter().find(|p| p.plan_id == id)
    }

    /// Works out whose an untagged event is from its stream, or from the client id the opening
    /// event of a plan, session or account carries. `None`: it cannot be told, so not ours.
    fn untagged_owner(&self, event: &RecordedEvent, decoded: &Decoded) -> Result<Option<ClientId>, ViewError> {
        let known = |yes: bool| if yes { self.client_id } else { None };
        Ok(match decoded {
            Decoded::Intake(_) => Some(stream_id(event, ClientId::from_stream_name)?),
            Decoded::Planning(PlanningEvent::TreatmentPlanDrafted(e)) => Some(e.client_id),
            Decoded::Planning(_) => known(self.plan(stream_id(event, PlanId::from_stream_name)?).is_some()),
            Decoded::Session(SessionEvent::SessionScheduled(e)) => Some(e.client_id),
            Decoded::Session(_) => known(self.session(stream_id(event, SessionId::from_stream_name)?).is_some()),
            Decoded::PsychotherapyNote(SessionEvent::PsychotherapyNoteRecorded(e)) => {
                known(self.session(e.session_id).is_some())
            }
            Decoded::PsychotherapyNote(_) => None,
            Decoded::Billing(BillingEvent::AccountOpened(e)) => Some(e.client_id),
            Decoded::Billing(_) => {
                known(self.billing.accounts.contains(&stream_id(event, AccountId::from_stream_name)?))
            }
        })
    }

    /// Counts a psychotherapy note against its session; the text is dropped here on purpose.
    fn apply_psychotherapy_note(&mut self, event: &RecordedEvent, e: &SessionEvent) -> Result<(), ViewError> {
        let SessionEvent::PsychotherapyNoteRecorded(note) = e else {
            return Ok(());
        };
        let session = self.session_index(event, note.session_id)?;
        self.sessions[session].psychotherapy_notes += 1;
        self.psychotherapy_notes += 1;
        Ok(())
    }
}

/// The client an event is tagged with, if any.
fn tagged_client(event: &RecordedEvent) -> Result<Option<ClientId>, ViewError> {
    let Some(tag) = &event.metadata.tags.client else {
        return Ok(None);
    };
    ClientId::parse(tag).map(Some).map_err(|source| ViewError::ClientTag {
        position: event.position,
        tag: tag.clone(),
        source,
    })
}
