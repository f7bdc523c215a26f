//! Which event last changed each exported resource: its stream revision (`meta.versionId`),
//! recorded time (`meta.lastUpdated`) and who, when and why (the Provenance).
//!
//! Every resource maps to exactly one stream (Patient, EpisodeOfCare, Consent, Condition and
//! Observation to the client stream; CarePlan and Goal to the plan stream; Encounter and
//! DocumentReference to the session stream; Coverage and Claim to the account stream), so the
//! revision of the event that last changed it is a version that only ever goes up.

use std::collections::BTreeMap;

use carelog_domain::billing::BillingEvent;
use carelog_domain::intake::IntakeEvent;
use carelog_domain::planning::PlanningEvent;
use carelog_domain::sessions::SessionEvent;
use carelog_domain::types::{ClientId, SessionId};
use carelog_projections::{EpisodeView, ViewError};
use carelog_store::RecordedEvent;
use chrono::{DateTime, Utc};

use crate::ids;

/// The event that last changed a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// The event's revision within its stream.
    pub revision: u64,
    pub recorded_at: DateTime<Utc>,
    /// Clinical time (earlier than `recorded_at` for a late entry).
    pub occurred_at: DateTime<Utc>,
    pub actor_id: String,
    pub actor_role: String,
    /// Why, as the command's context said.
    pub reason: Option<String>,
    pub event_type: String,
    /// How many events have changed the resource: 1 means this event created it.
    pub changes: u32,
}

/// Stamps by (resource type, id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stamps {
    by_resource: BTreeMap<(&'static str, String), Stamp>,
}

impl Stamps {
    /// The stamp of a resource, if an event changed it.
    pub fn get(&self, resource_type: &'static str, id: &str) -> Option<&Stamp> {
        self.by_resource.get(&(resource_type, id.to_owned()))
    }

    /// How many events have changed each resource of `resource_type`, by id.
    pub fn changes_of_type(&self, resource_type: &str) -> impl Iterator<Item = (&str, u32)> {
        self.by_resource
            .iter()
            .filter(move |((t, _), _)| *t == resource_type)
            .map(|((_, id), s)| (id.as_str(), s.changes))
    }

    /// Records which resources `event` changed; `view` is the episode view with `event` already
    /// folded in (it tells which diagnosis a revision hit).
    pub(crate) fn observe(
        &mut self,
        client: ClientId,
        view: &EpisodeView,
        event: &RecordedEvent,
    ) -> Result<(), ViewError> {
        for key in touched(client, view, event)? {
            let m = &event.metadata;
            let changes = self.by_resource.get(&key).map_or(0, |s| s.changes) + 1;
            let stamp = Stamp {
                revision: event.revision,
                recorded_at: event.recorded_at,
                occurred_at: m.occurred_at,
                actor_id: m.actor.id.clone(),
                actor_role: m.actor.role.clone(),
                reason: m.reason.clone(),
                event_type: event.event_type.clone(),
                changes,
            };
            self.by_resource.insert(key, stamp);
        }
        Ok(())
    }
}

type Key = (&'static str, String);

fn key(resource_type: &'static str, id: impl ToString) -> Key {
    (resource_type, id.to_string())
}

/// The resources an event changes. Events about another client, and psychotherapy notes, change
/// none: nothing of a `psynote-…` stream is exported, not even its time.
fn touched(client: ClientId, view: &EpisodeView, event: &RecordedEvent) -> Result<Vec<Key>, ViewError> {
    if event.metadata.tags.client.as_deref().is_some_and(|c| c != client.to_string()) {
        return Ok(Vec::new());
    }
    let (kind, version, data) = (event.event_type.as_str(), event.schema_version, &event.data);
    let decode_error = |source| ViewError::Decode {
        position: event.position,
        stream: event.stream.to_string(),
        event_type: event.event_type.clone(),
        source,
    };
    let stream_uuid = || event.stream.as_str().split_once('-').map(|(_, id)| id.to_owned()).unwrap_or_default();
    Ok(match event.category() {
        "client" => match IntakeEvent::from_stored(kind, version, data).map_err(decode_error)? {
            // Erasure rewrites the Patient (and every PHI field elsewhere) to erased markers.
            IntakeEvent::ClientRegistered(_) | IntakeEvent::ClientErased(_) => vec![key("Patient", client)],
            IntakeEvent::EpisodeOpened(e) => vec![key("EpisodeOfCare", e.episode_id)],
            IntakeEvent::EpisodeClosed(e) => vec![key("EpisodeOfCare", e.episode_id)],
            IntakeEvent::ConsentGiven(e) => vec![key("Consent", e.consent_id)],
            IntakeEvent::ConsentRevoked(e) => vec![key("Consent", e.consent_id)],
            IntakeEvent::AssessmentRecorded(e) => vec![key("Observation", e.assessment_id)],
            IntakeEvent::DiagnosisRecorded(_) => {
                vec![key("Condition", ids::condition(client, view.diagnoses.len().saturating_sub(1)))]
            }
            IntakeEvent::DiagnosisRevised(e) => view
                .diagnoses
                .iter()
                .rposition(|d| {
                    d.episode_id == e.episode_id
                        && d.history.last().is_some_and(|h| h.previous_code == e.code && h.revised_at == e.revised_at)
                })
                .map(|index| vec![key("Condition", ids::condition(client, index))])
                .unwrap_or_default(),
            IntakeEvent::RiskFlagRaised(_)
            | IntakeEvent::RiskFlagAcknowledged(_)
            | IntakeEvent::GoodFaithEstimateIssued(_)
            | IntakeEvent::LegalHoldPlaced(_)
            | IntakeEvent::LegalHoldReleased(_) => Vec::new(),
        },
        "plan" => match PlanningEvent::from_stored(kind, version, data).map_err(decode_error)? {
            PlanningEvent::GoalSet(e) => vec![key("Goal", e.goal_id), key("CarePlan", stream_uuid())],
            PlanningEvent::ObjectiveAdded(e) => vec![key("Goal", e.goal_id)],
            PlanningEvent::InterventionAdded(e) => vec![key("Goal", e.goal_id), key("CarePlan", stream_uuid())],
            PlanningEvent::GoalStatusChanged(e) => vec![key("Goal", e.goal_id), key("CarePlan", stream_uuid())],
            PlanningEvent::PlanReviewed(e) => {
                let mut keys: Vec<Key> = e.progress.iter().map(|p| key("Goal", p.goal_id)).collect();
                keys.push(key("CarePlan", stream_uuid()));
                keys
            }
            PlanningEvent::TreatmentPlanDrafted(_)
            | PlanningEvent::TreatmentPlanSigned(_)
            | PlanningEvent::TerminationPlanned(_) => vec![key("CarePlan", stream_uuid())],
        },
        "session" => {
            let session = SessionId::from_stream_name(event.stream.as_str()).map_err(|source| ViewError::StreamId {
                position: event.position,
                stream: event.stream.to_string(),
                source,
            })?;
            match SessionEvent::from_stored(kind, version, data).map_err(decode_error)? {
                SessionEvent::ProgressNoteSigned(_) => vec![key("DocumentReference", ids::progress_note(session))],
                // An addendum is a document of its own and may change the original's docStatus.
                SessionEvent::NoteAddendumAppended(e) => {
                    vec![key("DocumentReference", e.addendum_id), key("DocumentReference", ids::progress_note(session))]
                }
                SessionEvent::AmendmentRequested(_)
                | SessionEvent::AmendmentDecided(_)
                | SessionEvent::PsychotherapyNoteRecorded(_) => Vec::new(),
                SessionEvent::SessionScheduled(_)
                | SessionEvent::SessionHeld(_)
                | SessionEvent::SessionCancelled(_)
                | SessionEvent::NoShowRecorded(_) => vec![key("Encounter", session)],
            }
        }
        "account" => match BillingEvent::from_stored(kind, version, data).map_err(decode_error)? {
            BillingEvent::AccountOpened(_) => vec![key("Coverage", stream_uuid())],
            BillingEvent::ClaimSubmitted(e) => {
                let mut keys = vec![key("Claim", e.claim_id)];
                keys.extend(e.frequency.original().map(|original| key("Claim", original)));
                keys
            }
            _ => Vec::new(),
        },
        _ => Vec::new(),
    })
}
