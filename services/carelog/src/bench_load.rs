//! The calls `carelog bench` makes: prepared clients, and one caller's loop.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use carelog::demo::As;
use carelog_auth::Credentials;
use carelog_auth::Role;
use carelog_proto::v1 as proto;
use chrono::Utc;
use proto::billing_service_client::BillingServiceClient;
use proto::intake_service_client::IntakeServiceClient;
use proto::records_service_client::RecordsServiceClient;
use proto::session_service_client::SessionServiceClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use uuid::Uuid;

use crate::bench::Tally;

type Authed = InterceptedService<Channel, As>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    Append,
    Sessions,
    Mixed,
    /// GetEpisode of the prepared clients (read-model lookups).
    Reads,
    /// GetEpisodeAsOf at the head for one client with a long history (replays from the log).
    AsOf,
    /// The standard gRPC health check: the same connection and server layers with no handler or
    /// store behind them (health checks skip the token's check), so the floor every other mix
    /// stands on, measured in the same run.
    Health,
}

/// A client ready for sessions and charges.
#[derive(Debug, Clone)]
struct Prepared {
    client_id: String,
    episode_id: String,
    clinician_id: String,
    account_id: String,
    /// The log position of its last preparation: reads wait for the projection to reach it.
    ready_at: u64,
}

#[derive(Debug)]
pub struct Load {
    channel: Channel,
    credentials: Credentials,
    /// The one clinician every prepared client is assigned to, so session commands are theirs to make.
    clinician: Uuid,
    clients: Vec<Prepared>,
    /// A client with a long history and the log position after it, for as-of replays.
    history: Option<(String, u64)>,
}

fn id() -> String {
    Uuid::now_v7().to_string()
}

fn ctx() -> Option<proto::CommandContext> {
    Some(proto::CommandContext { command_id: id(), ..Default::default() })
}

struct Callers {
    intake: IntakeServiceClient<Authed>,
    /// Intake calls only the assigned clinician may make (diagnoses).
    clinical: IntakeServiceClient<Authed>,
    sessions: SessionServiceClient<Authed>,
    billing: BillingServiceClient<Authed>,
    records: RecordsServiceClient<Authed>,
    health: HealthClient<Authed>,
}

impl Callers {
    fn new(channel: &Channel, credentials: &Credentials, clinician: Uuid) -> Self {
        let with = |role| credentials.caller(Uuid::now_v7(), role);
        Self {
            intake: IntakeServiceClient::with_interceptor(channel.clone(), with(Role::Intake)),
            clinical: IntakeServiceClient::with_interceptor(
                channel.clone(),
                credentials.caller(clinician, Role::Clinician),
            ),
            sessions: SessionServiceClient::with_interceptor(
                channel.clone(),
                credentials.caller(clinician, Role::Clinician),
            ),
            billing: BillingServiceClient::with_interceptor(channel.clone(), with(Role::Biller)),
            records: RecordsServiceClient::with_interceptor(channel.clone(), with(Role::Auditor)),
            health: HealthClient::with_interceptor(channel.clone(), with(Role::Auditor)),
        }
    }
}

fn registration(client_id: &str) -> proto::RegisterClientRequest {
    proto::RegisterClientRequest {
        context: ctx(),
        client_id: client_id.to_owned(),
        legal_name: "Bench Client".into(),
        date_of_birth: "1985-02-03".into(),
        payer: Some(proto::register_client_request::Payer::Insurance(proto::register_client_request::Insurance {
            payer_name: "Bench Mutual".into(),
            member_id: "BM0000001".into(),
        })),
        ..Default::default()
    }
}

impl Load {
    /// Registers `count` clients with an open episode, treatment consent, a diagnosis and an account.
    pub async fn prepare(channel: Channel, credentials: Credentials, count: usize) -> anyhow::Result<Self> {
        let clinician = Uuid::now_v7();
        let mut c = Callers::new(&channel, &credentials, clinician);
        let mut clients = Vec::with_capacity(count);
        for _ in 0..count {
            let p = Prepared {
                client_id: id(),
                episode_id: id(),
                clinician_id: clinician.to_string(),
                account_id: id(),
                ready_at: 0,
            };
            c.intake.register_client(registration(&p.client_id)).await?;
            let open = proto::OpenEpisodeRequest {
                context: ctx(),
                client_id: p.client_id.clone(),
                episode_id: p.episode_id.clone(),
                clinician_id: p.clinician_id.clone(),
                opened_at: None,
            };
            c.intake.open_episode(open).await?;
            let consent = proto::GiveConsentRequest {
                context: ctx(),
                client_id: p.client_id.clone(),
                consent_id: id(),
                given_at: None,
                kind: Some(proto::give_consent_request::Kind::Treatment(Default::default())),
            };
            c.intake.give_consent(consent).await?;
            let diagnosis = proto::RecordDiagnosisRequest {
                context: ctx(),
                client_id: p.client_id.clone(),
                icd10_code: "F41.1".into(),
                code_set_version: "2026".into(),
                clinician_id: p.clinician_id.clone(),
            };
            c.clinical.record_diagnosis(diagnosis).await?;
            let account = proto::OpenAccountRequest {
                context: ctx(),
                account_id: p.account_id.clone(),
                client_id: p.client_id.clone(),
            };
            let opened = c.billing.open_account(account).await?;
            clients.push(Prepared { ready_at: opened.into_inner().position, ..p });
        }
        Ok(Self { channel, credentials, clinician, clients, history: None })
    }

    /// Gives the first prepared client `events` more events (PHQ-9 administrations), for as-of replays.
    pub async fn with_history(mut self, events: usize) -> anyhow::Result<Self> {
        let mut c = Callers::new(&self.channel, &self.credentials, self.clinician);
        let client = self.clients[0].client_id.clone();
        let mut position = 0;
        for _ in 0..events {
            let assessment = proto::RecordAssessmentRequest {
                context: ctx(),
                client_id: client.clone(),
                assessment_id: id(),
                instrument: proto::record_assessment_request::Instrument::Phq9 as i32,
                item_scores: vec![1, 1, 1, 1, 1, 1, 1, 1, 0],
                administered_at: None,
            };
            position = c.intake.record_assessment(assessment).await?.into_inner().position;
        }
        self.history = Some((client, position));
        Ok(self)
    }

    /// One caller: commands until `deadline`, each timed and counted.
    pub async fn drive(&self, caller: usize, mix: Workload, deadline: Instant, tally: &Tally) {
        let mut c = Callers::new(&self.channel, &self.credentials, self.clinician);
        let mut latencies = Vec::new();
        let mut round = 0;
        while Instant::now() < deadline {
            let client = &self.clients[(caller + round) % self.clients.len()];
            match (mix, round % 2) {
                (Workload::Sessions, _) | (Workload::Mixed, 1) => {
                    session_round(&mut c, client, tally, &mut latencies).await;
                }
                (Workload::Append | Workload::Mixed, _) => {
                    let started = Instant::now();
                    let outcome = c.intake.register_client(registration(&id())).await;
                    record(outcome, started, tally, &mut latencies);
                }
                (Workload::Reads, _) => {
                    let request =
                        proto::GetEpisodeRequest { client_id: client.client_id.clone(), min_position: client.ready_at };
                    let started = Instant::now();
                    let outcome = c.records.get_episode(request).await;
                    record(outcome, started, tally, &mut latencies);
                }
                (Workload::Health, _) => {
                    let started = Instant::now();
                    let outcome = c.health.check(HealthCheckRequest { service: String::new() }).await;
                    record(outcome, started, tally, &mut latencies);
                }
                (Workload::AsOf, _) => {
                    let Some((history, position)) = &self.history else { break };
                    let request = proto::GetEpisodeAsOfRequest {
                        client_id: history.clone(),
                        as_of: Some(proto::get_episode_as_of_request::AsOf::Position(*position)),
                    };
                    let started = Instant::now();
                    let outcome = c.records.get_episode_as_of(request).await;
                    record(outcome, started, tally, &mut latencies);
                }
            }
            round += 1;
        }
        tally.latencies.lock().await.extend(latencies);
    }
}

/// Schedule, hold and document a 53-minute session, then charge it: four commands.
async fn session_round(c: &mut Callers, p: &Prepared, tally: &Tally, latencies: &mut Vec<Duration>) {
    let session_id = id();
    let an_hour_ago = Utc::now() - chrono::Duration::hours(1);
    let at = Some(prost_types::Timestamp { seconds: an_hour_ago.timestamp(), nanos: 0 });
    let schedule = proto::ScheduleSessionRequest {
        context: ctx(),
        session_id: session_id.clone(),
        client_id: p.client_id.clone(),
        episode_id: p.episode_id.clone(),
        clinician_id: p.clinician_id.clone(),
        kind: proto::schedule_session_request::Kind::Psychotherapy as i32,
        starts_at: at,
        planned_minutes: 53,
        planned_modality: proto::SessionModality::InPerson as i32,
    };
    let started = Instant::now();
    if !record(c.sessions.schedule_session(schedule).await, started, tally, latencies) {
        return;
    }
    let hold = proto::HoldSessionRequest {
        context: ctx(),
        session_id: session_id.clone(),
        started_at: at,
        actual_minutes: 53,
        modality: proto::SessionModality::InPerson as i32,
        patient_location: 0,
    };
    let started = Instant::now();
    if !record(c.sessions.hold_session(hold).await, started, tally, latencies) {
        return;
    }
    let dap = proto::sign_progress_note_request::Dap {
        data: "Reports steady progress.".into(),
        assessment: "Improving.".into(),
        plan: "Continue weekly.".into(),
    };
    let sign = proto::SignProgressNoteRequest {
        context: ctx(),
        session_id: session_id.clone(),
        clinician_id: p.clinician_id.clone(),
        content: Some(proto::sign_progress_note_request::Content::Dap(dap)),
        goals_addressed: Vec::new(),
        plan_id: String::new(),
    };
    let started = Instant::now();
    if !record(c.sessions.sign_progress_note(sign).await, started, tally, latencies) {
        return;
    }
    let charge = proto::CreateChargeRequest {
        context: ctx(),
        account_id: p.account_id.clone(),
        charge_id: id(),
        session_id,
        plan_id: String::new(),
        interactive_complexity: false,
        diagnosis_pointers: vec![1],
    };
    let started = Instant::now();
    record(c.billing.create_charge(charge).await, started, tally, latencies);
}

/// What a call added to the log.
trait Appended {
    fn events(&self) -> u64;
}

impl Appended for proto::AppendReceipt {
    fn events(&self) -> u64 {
        self.event_types.len() as u64
    }
}

impl Appended for proto::EpisodeReply {
    fn events(&self) -> u64 {
        0
    }
}

impl Appended for tonic_health::pb::HealthCheckResponse {
    fn events(&self) -> u64 {
        0
    }
}

/// Counts one call; true when it succeeded.
fn record<T: Appended>(
    outcome: Result<tonic::Response<T>, tonic::Status>,
    started: Instant,
    tally: &Tally,
    latencies: &mut Vec<Duration>,
) -> bool {
    latencies.push(started.elapsed());
    match outcome {
        Ok(receipt) => {
            tally.commands.fetch_add(1, Ordering::Relaxed);
            tally.events.fetch_add(receipt.get_ref().events(), Ordering::Relaxed);
            true
        }
        Err(status) if status.code() == tonic::Code::Aborted => {
            tally.conflicts.fetch_add(1, Ordering::Relaxed);
            false
        }
        Err(status) => {
            if tally.errors.fetch_add(1, Ordering::Relaxed) < 3 {
                eprintln!("  error: {:?} {}", status.code(), status.message());
            }
            false
        }
    }
}
