//! One realistic outpatient episode, driven through the public gRPC API exactly as an integrating
//! health system would: intake → consents → PHQ-9/GAD-7 → diagnosis → signed plan → weekly sessions
//! with signed notes, a no-show and an addendum → charges, claim, remittance, payment → plan review →
//! termination → episode closed. Clinical times are backdated over eight weeks.

mod care;
mod closing;

use std::collections::BTreeMap;

use anyhow::Context;
use carelog_auth::Role;
use carelog_auth::{CallAs, Credentials};
use carelog_proto::v1 as proto;
use chrono::{DateTime, Duration, Utc};
use proto::billing_service_client::BillingServiceClient;
use proto::intake_service_client::IntakeServiceClient;
use proto::records_service_client::RecordsServiceClient;
use proto::session_service_client::SessionServiceClient;
use proto::treatment_planning_service_client::TreatmentPlanningServiceClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tracing::Instrument;
use uuid::Uuid;

/// A caller: its credentials (a token, or self-named headers) go with every request.
pub type As = CallAs;

/// A caller with the credentials this process was given (`CARELOG_TOKEN`, `CARELOG_AUTH_SECRET`,
/// or none: self-named, for servers started with `--allow-anonymous`).
pub fn caller(id: Uuid, role: Role) -> As {
    static CREDENTIALS: std::sync::OnceLock<Credentials> = std::sync::OnceLock::new();
    CREDENTIALS
        .get_or_init(|| {
            Credentials::from_env().unwrap_or_else(|error| {
                eprintln!("warning: {error:#}; calling without a token");
                Credentials::SelfNamed
            })
        })
        .caller(id, role)
}

type Authed = InterceptedService<Channel, As>;

/// Told about every step as it completes.
type Progress = Box<dyn FnMut(&str, &proto::AppendReceipt) + Send>;

/// What the demo did, for the summary and for tests.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub client_id: String,
    pub account_id: String,
    pub plan_id: String,
    pub clinician_id: String,
    /// Every receipt in order: (step, receipt).
    pub receipts: Vec<(String, proto::AppendReceipt)>,
    /// The client's record at the end, from the RecordsService.
    pub episode: proto::EpisodeView,
    pub balance_cents: i64,
    /// How long the final read waited for the projection to fold the last command: the projection
    /// lag as a client sees it.
    pub read_your_writes_wait: std::time::Duration,
}

impl Outcome {
    pub fn event_counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for (_, receipt) in &self.receipts {
            for event_type in &receipt.event_types {
                *counts.entry(event_type.clone()).or_default() += 1;
            }
        }
        counts
    }

    pub fn last_position(&self) -> u64 {
        self.receipts.iter().map(|(_, r)| r.position).max().unwrap_or_default()
    }
}

struct Demo {
    intake: IntakeServiceClient<Authed>,
    /// The treating clinician's intake calls (diagnoses are the clinician's to make).
    diagnosing: IntakeServiceClient<Authed>,
    planning: TreatmentPlanningServiceClient<Authed>,
    sessions: SessionServiceClient<Authed>,
    billing: BillingServiceClient<Authed>,
    /// The biller's reads (ledgers; episodes without note text).
    records: RecordsServiceClient<Authed>,
    /// The treating clinician's reads of the chart.
    chart: RecordsServiceClient<Authed>,
    outcome: Outcome,
    episode_id: String,
    start: DateTime<Utc>,
    progress: Progress,
}

fn id() -> String {
    Uuid::now_v7().to_string()
}

fn ts(time: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds: time.timestamp(), nanos: 0 })
}

/// A context for a fact that happened at `at`.
fn at(at: DateTime<Utc>) -> Option<proto::CommandContext> {
    Some(proto::CommandContext { command_id: id(), occurred_at: ts(at), ..Default::default() })
}

fn because(at_time: DateTime<Utc>, reason: &str) -> Option<proto::CommandContext> {
    let mut context = at(at_time);
    if let Some(c) = context.as_mut() {
        c.reason = reason.to_owned();
    }
    context
}

/// Where each service is reached: one channel for the all-in-one server, or one per process.
#[derive(Debug, Clone)]
pub struct Channels {
    pub intake: Channel,
    pub planning: Channel,
    pub sessions: Channel,
    pub billing: Channel,
    pub records: Channel,
}

impl From<Channel> for Channels {
    fn from(channel: Channel) -> Self {
        Self {
            intake: channel.clone(),
            planning: channel.clone(),
            sessions: channel.clone(),
            billing: channel.clone(),
            records: channel,
        }
    }
}

/// Runs the episode over `channel`; `progress` sees every step as it completes.
pub async fn run(
    channel: Channel,
    progress: impl FnMut(&str, &proto::AppendReceipt) + Send + 'static,
) -> anyhow::Result<Outcome> {
    run_on(Channels::from(channel), progress).await
}

/// Runs the episode against services that may each live in a process of their own.
pub async fn run_on(
    channels: Channels,
    progress: impl FnMut(&str, &proto::AppendReceipt) + Send + 'static,
) -> anyhow::Result<Outcome> {
    let credentials = Credentials::from_env()?;
    run_with(channels, &credentials, progress).await
}

/// `run_on` with the given credentials (the embedded demo mints its own tokens).
pub async fn run_with(
    channels: Channels,
    credentials: &Credentials,
    progress: impl FnMut(&str, &proto::AppendReceipt) + Send + 'static,
) -> anyhow::Result<Outcome> {
    // Named, so the audit trail reads as people rather than ids.
    let clinician = credentials.named_caller(Uuid::now_v7(), Role::Clinician, Some("Dr. Ana Ruiz"));
    let front_desk = credentials.named_caller(Uuid::now_v7(), Role::Intake, Some("Dana Whitfield"));
    let biller = credentials.named_caller(Uuid::now_v7(), Role::Biller, Some("Sam Okafor"));
    let mut demo = Demo {
        diagnosing: IntakeServiceClient::with_interceptor(channels.intake.clone(), clinician.clone()),
        intake: IntakeServiceClient::with_interceptor(channels.intake, front_desk),
        planning: TreatmentPlanningServiceClient::with_interceptor(channels.planning, clinician.clone()),
        sessions: SessionServiceClient::with_interceptor(channels.sessions, clinician.clone()),
        billing: BillingServiceClient::with_interceptor(channels.billing, biller.clone()),
        chart: RecordsServiceClient::with_interceptor(channels.records.clone(), clinician.clone()),
        records: RecordsServiceClient::with_interceptor(channels.records, biller),
        outcome: Outcome {
            client_id: id(),
            account_id: id(),
            plan_id: id(),
            clinician_id: clinician.subject.to_string(),
            ..Outcome::default()
        },
        episode_id: String::new(),
        start: Utc::now() - Duration::weeks(8),
        progress: Box::new(progress),
    };
    // One trace per phase of the episode (each call a server span inside it): small enough to
    // read in a trace viewer, whole enough to follow a step from the call to the stored event.
    let phase = |name: &'static str| tracing::info_span!("demo.phase", otel.name = name, demo.phase = name);
    demo.intake_and_consent().instrument(phase("demo intake and consent")).await?;
    let goals = demo.treatment_plan().instrument(phase("demo treatment plan")).await?;
    let charges = demo.weekly_sessions(&goals).instrument(phase("demo weekly sessions")).await?;
    demo.bill(&charges).instrument(phase("demo billing")).await?;
    demo.review_and_close(&goals).instrument(phase("demo review and close")).await?;
    demo.read_back().instrument(phase("demo read back")).await?;
    Ok(demo.outcome)
}

impl Demo {
    fn record(&mut self, step: &str, receipt: tonic::Response<proto::AppendReceipt>) {
        let receipt = receipt.into_inner();
        (self.progress)(step, &receipt);
        self.outcome.receipts.push((step.to_owned(), receipt));
    }

    fn day(&self, days: i64, hour: u32) -> DateTime<Utc> {
        let midnight = self.start.date_naive().and_hms_opt(hour, 0, 0).unwrap_or_default().and_utc();
        midnight + Duration::days(days)
    }

    async fn intake_and_consent(&mut self) -> anyhow::Result<()> {
        let client = self.outcome.client_id.clone();
        let r = self
            .intake
            .register_client(proto::RegisterClientRequest {
                context: at(self.day(0, 9)),
                client_id: client.clone(),
                legal_name: "Alexandra Maria Reyes".into(),
                preferred_name: "Alex".into(),
                date_of_birth: "1988-06-21".into(),
                phone: "+1 (555) 013-4477".into(),
                email: "alex.reyes@example.org".into(),
                address: "44 Harbor Lane, Portland, OR".into(),
                payer: Some(proto::register_client_request::Payer::Insurance(
                    proto::register_client_request::Insurance {
                        payer_name: "Cascade Mutual Health".into(),
                        member_id: "CMH884120377".into(),
                    },
                )),
            })
            .await
            .context("registering the client")?;
        self.record("client registered", r);
        let episode = id();
        let r = self
            .intake
            .open_episode(proto::OpenEpisodeRequest {
                context: at(self.day(0, 9)),
                client_id: client.clone(),
                episode_id: episode.clone(),
                clinician_id: self.outcome.clinician_id.clone(),
                opened_at: ts(self.day(0, 9)),
            })
            .await
            .context("opening the episode")?;
        self.record("episode opened", r);
        use proto::give_consent_request::Kind;
        for (label, kind) in [
            ("treatment consent", Kind::Treatment(Default::default())),
            ("telehealth consent", Kind::Telehealth(Default::default())),
            ("financial policy", Kind::FinancialPolicy(Default::default())),
        ] {
            let r = self
                .intake
                .give_consent(proto::GiveConsentRequest {
                    context: at(self.day(0, 9)),
                    client_id: client.clone(),
                    consent_id: id(),
                    given_at: ts(self.day(0, 9)),
                    kind: Some(kind),
                })
                .await
                .with_context(|| format!("recording the {label}"))?;
            self.record(label, r);
        }
        use proto::record_assessment_request::Instrument;
        for (label, instrument, items) in [
            ("PHQ-9 (moderate)", Instrument::Phq9, vec![2, 2, 1, 2, 1, 2, 1, 1, 0]),
            ("GAD-7 (moderate)", Instrument::Gad7, vec![2, 2, 2, 1, 1, 2, 2]),
        ] {
            let r = self
                .intake
                .record_assessment(proto::RecordAssessmentRequest {
                    context: at(self.day(0, 10)),
                    client_id: client.clone(),
                    assessment_id: id(),
                    instrument: instrument as i32,
                    item_scores: items,
                    administered_at: ts(self.day(0, 10)),
                })
                .await
                .with_context(|| format!("recording the {label}"))?;
            self.record(label, r);
        }
        let r = self
            .diagnosing
            .record_diagnosis(proto::RecordDiagnosisRequest {
                context: at(self.day(0, 11)),
                client_id: client,
                icd10_code: "F41.1".into(),
                code_set_version: "2026".into(),
                clinician_id: self.outcome.clinician_id.clone(),
            })
            .await
            .context("recording the diagnosis")?;
        self.record("diagnosis F41.1 (generalized anxiety disorder)", r);
        self.episode_id = episode;
        Ok(())
    }
}
