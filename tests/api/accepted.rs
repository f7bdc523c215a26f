//! Whatever the write side accepts, both backends store and every projection folds: random
//! sequences of commands over all four command services, hostile edge values included (times
//! from before 1900 to 9999, reasons with control characters, dates in every wrong shape,
//! amounts up to and past the bound), run against a real server on SQLite and on PostgreSQL.
//! Every call must be accepted or refused with a caller's error, never INTERNAL or UNAVAILABLE;
//! afterwards every view reads complete (nothing quarantined), a rebuild gives the same views,
//! and every client's FHIR export succeeds. With the boundary's checks removed it finds the
//! stalls they prevent (a clinical time of the year −5000 or a NUL in a reason on PostgreSQL,
//! two payments whose sum passes the bound).
//!
//! `CARELOG_PROPTEST_SEQUENCES` (default 200) sequences per backend; `CARELOG_PROPTEST_SEED`
//! replays one run.

use carelog_blackbox::{Caller, TestApp, on_both_backends};
use carelog_projections::{RECORDS, Runner};
use carelog_proto::v1 as proto;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use tonic::Code;
use uuid::Uuid;

use crate::given;
use proto::give_consent_request::{Kind, Telehealth, Treatment};

/// Hostile and ordinary clinical times (seconds since 1970), and "none" (the server's clock).
const TIMES: &[Option<i64>] = &[
    None,
    Some(-219_983_443_200), // the year −5000
    Some(-62_135_596_800),  // 0001-01-01
    Some(-2_208_988_801),   // 1899-12-31T23:59:59
    Some(-2_208_988_800),   // 1900-01-01
    Some(0),
    Some(1_700_000_000),
    Some(7_258_118_400),   // 2200-01-01
    Some(253_402_300_799), // 9999-12-31T23:59:59
];

const REASONS: &[&str] = &[
    "",
    "ordinary reason",
    "late entry\u{0}",
    "bell\u{7}",
    "line one\nline two\ttabbed",
    "[erased]",
    "\u{202e}reversed ünïcödé",
    "   ",
];

const AMOUNTS: &[i64] =
    &[-1, 0, 1, 12_345, 50_000_000_000_000, 99_999_999_999_999, 100_000_000_000_000, 100_000_000_000_001, i64::MAX];

const DATES: &[&str] =
    &["1991-03-14", "1900-01-01", "0000-01-01", "1987-1-1", "+1987-01-01", "2199-12-31", "2200-01-01", ""];

/// Hostile parts of a command's context.
#[derive(Debug, Clone)]
struct Hostile {
    time: Option<i64>,
    reason: &'static str,
}

#[derive(Debug, Clone)]
enum Step {
    Assessment(Hostile, Vec<u32>),
    Diagnosis(Hostile),
    Plan(Hostile, &'static str),
    Session(Hostile, Option<i64>, u32),
    Charge(Hostile),
    Payment(Hostile, i64),
    WriteOff(Hostile, i64),
    Hold(Hostile),
}

#[derive(Debug, Clone)]
struct Sequence {
    registration: Hostile,
    date_of_birth: &'static str,
    steps: Vec<Step>,
}

fn hostile() -> impl Strategy<Value = Hostile> {
    (prop::sample::select(TIMES), prop::sample::select(REASONS)).prop_map(|(time, reason)| Hostile { time, reason })
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (hostile(), prop::collection::vec(0u32..5, 9)).prop_map(|(h, items)| Step::Assessment(h, items)),
        hostile().prop_map(Step::Diagnosis),
        (hostile(), prop::sample::select(DATES)).prop_map(|(h, d)| Step::Plan(h, d)),
        (hostile(), prop::sample::select(TIMES), 1u32..200).prop_map(|(h, t, m)| Step::Session(h, t, m)),
        hostile().prop_map(Step::Charge),
        (hostile(), prop::sample::select(AMOUNTS)).prop_map(|(h, a)| Step::Payment(h, a)),
        (hostile(), prop::sample::select(AMOUNTS)).prop_map(|(h, a)| Step::WriteOff(h, a)),
        hostile().prop_map(Step::Hold),
    ]
}

fn sequence() -> impl Strategy<Value = Sequence> {
    (hostile(), prop::sample::select(DATES), prop::collection::vec(step(), 4..16))
        .prop_map(|(registration, date_of_birth, steps)| Sequence { registration, date_of_birth, steps })
}

fn context(h: &Hostile) -> Option<proto::CommandContext> {
    Some(proto::CommandContext {
        command_id: Uuid::now_v7().to_string(),
        occurred_at: h.time.map(|seconds| prost_types::Timestamp { seconds, nanos: 0 }),
        reason: h.reason.to_owned(),
        ..Default::default()
    })
}

/// Accepted, or refused as the caller's error: never a fault of the server.
#[track_caller]
fn accepted_or_refused<T>(outcome: Result<tonic::Response<T>, tonic::Status>, seq: &Sequence) -> Option<T> {
    match outcome {
        Ok(reply) => Some(reply.into_inner()),
        Err(status) => {
            let callers = [Code::InvalidArgument, Code::FailedPrecondition, Code::NotFound, Code::AlreadyExists];
            assert!(callers.contains(&status.code()), "{status:?}\nin {seq:#?}");
            None
        }
    }
}

/// Drives one sequence as a practice would: the front desk registers (with the hostile context
/// and date of birth, falling back to ordinary values if those were refused), then each step.
async fn run(app: &TestApp, seq: &Sequence) -> (Uuid, String) {
    let mut registration = crate::intake::register_request(Uuid::now_v7());
    registration.context = context(&seq.registration);
    registration.date_of_birth = seq.date_of_birth.into();
    let mut intake = app.intake(&given::front_desk());
    let client_id = Uuid::parse_str(&registration.client_id).expect("client id");
    let mut ordinary = registration.clone();
    if accepted_or_refused(intake.register_client(registration).await, seq).is_none() {
        (ordinary.context, ordinary.date_of_birth) = (carelog_blackbox::ctx(), "1991-03-14".into());
        intake.register_client(ordinary).await.expect("an ordinary registration");
    }
    let e = given::OpenEpisode { client_id, episode_id: Uuid::now_v7(), clinician_id: Uuid::now_v7() };
    let open = proto::OpenEpisodeRequest {
        context: carelog_blackbox::ctx(),
        client_id: client_id.to_string(),
        episode_id: e.episode_id.to_string(),
        clinician_id: e.clinician_id.to_string(),
        opened_at: None,
    };
    intake.open_episode(open).await.expect("open the episode");
    for kind in [Kind::Treatment(Treatment {}), Kind::Telehealth(Telehealth {})] {
        given::consent(app, client_id, kind).await;
    }
    given::diagnosed(app, &e, &["F41.1"]).await;
    let account_id = Uuid::now_v7().to_string();
    let mut billing = app.billing(&Caller::new("biller"));
    let open = proto::OpenAccountRequest {
        context: carelog_blackbox::ctx(),
        account_id: account_id.clone(),
        client_id: client_id.to_string(),
    };
    billing.open_account(open).await.expect("open the account");
    let (mut clinical, mut sessions) = (app.intake(&e.clinician()), app.sessions(&e.clinician()));
    let mut planning = app.planning(&e.clinician());
    let mut signed: Vec<String> = Vec::new();
    for step in &seq.steps {
        match step {
            Step::Assessment(h, items) => {
                let request = proto::RecordAssessmentRequest {
                    context: context(h),
                    client_id: client_id.to_string(),
                    assessment_id: Uuid::now_v7().to_string(),
                    instrument: proto::record_assessment_request::Instrument::Phq9 as i32,
                    item_scores: items.clone(),
                    administered_at: None,
                };
                accepted_or_refused(app.intake(&given::front_desk()).record_assessment(request).await, seq);
            }
            Step::Diagnosis(h) => {
                let mut request = given::diagnosis(&e, "F32.1");
                request.context = context(h);
                accepted_or_refused(clinical.record_diagnosis(request).await, seq);
            }
            Step::Plan(h, due_on) => {
                let plan_id = Uuid::now_v7();
                let mut draft = crate::planning::draft(&e, plan_id, &["F41.1"]);
                draft.context = context(h);
                if accepted_or_refused(planning.draft_plan(draft).await, seq).is_some() {
                    let mut goal = crate::planning::goal(plan_id, Uuid::now_v7());
                    (goal.context, goal.due_on) = (context(h), (*due_on).to_owned());
                    accepted_or_refused(planning.set_goal(goal).await, seq);
                }
            }
            Step::Session(h, started, minutes) => {
                if let Some(id) = session(&mut sessions, &e, h, *started, *minutes, seq).await {
                    signed.push(id);
                }
            }
            Step::Charge(h) => {
                let Some(session_id) = signed.pop() else { continue };
                let request = proto::CreateChargeRequest {
                    context: context(h),
                    account_id: account_id.clone(),
                    charge_id: Uuid::now_v7().to_string(),
                    session_id,
                    plan_id: String::new(),
                    interactive_complexity: false,
                    diagnosis_pointers: vec![1],
                };
                accepted_or_refused(billing.create_charge(request).await, seq);
            }
            Step::Payment(h, cents) => {
                let request = proto::ReceivePaymentRequest {
                    context: context(h),
                    account_id: account_id.clone(),
                    payment_id: Uuid::now_v7().to_string(),
                    amount_cents: *cents,
                    method: proto::receive_payment_request::Method::Card as i32,
                    ..Default::default()
                };
                accepted_or_refused(billing.receive_payment(request).await, seq);
            }
            Step::WriteOff(h, cents) => {
                let request = proto::WriteOffRequest {
                    context: context(h),
                    account_id: account_id.clone(),
                    write_off_id: Uuid::now_v7().to_string(),
                    amount_cents: *cents,
                    reason: proto::write_off_request::Reason::SmallBalance as i32,
                };
                accepted_or_refused(billing.write_off(request).await, seq);
            }
            Step::Hold(h) => {
                let hold = proto::LegalHoldRequest { context: context(h), client_id: client_id.to_string() };
                let mut admin = app.intake(&Caller::new("admin"));
                if accepted_or_refused(admin.place_legal_hold(hold.clone()).await, seq).is_some() {
                    let release = proto::LegalHoldRequest { context: context(h), ..hold };
                    accepted_or_refused(admin.release_legal_hold(release).await, seq);
                }
            }
        }
    }
    (client_id, account_id)
}

/// Schedules, holds and signs a session at the hostile times; the id once its note is signed.
async fn session(
    sessions: &mut proto::session_service_client::SessionServiceClient<carelog_blackbox::Authed>,
    e: &given::OpenEpisode,
    h: &Hostile,
    started: Option<i64>,
    minutes: u32,
    seq: &Sequence,
) -> Option<String> {
    let session_id = Uuid::now_v7().to_string();
    let an_hour_ago = chrono::Utc::now().timestamp() - 3600;
    let starts_at = Some(prost_types::Timestamp { seconds: started.unwrap_or(an_hour_ago), nanos: 0 });
    let schedule = proto::ScheduleSessionRequest {
        context: context(h),
        session_id: session_id.clone(),
        client_id: e.client_id.to_string(),
        episode_id: e.episode_id.to_string(),
        clinician_id: e.clinician_id.to_string(),
        kind: proto::schedule_session_request::Kind::Psychotherapy as i32,
        starts_at,
        planned_minutes: minutes,
        planned_modality: proto::SessionModality::Video as i32,
    };
    accepted_or_refused(sessions.schedule_session(schedule).await, seq)?;
    let hold = proto::HoldSessionRequest {
        context: context(h),
        session_id: session_id.clone(),
        started_at: starts_at,
        actual_minutes: minutes,
        modality: proto::SessionModality::Video as i32,
        patient_location: proto::hold_session_request::PatientLocation::Home as i32,
    };
    accepted_or_refused(sessions.hold_session(hold).await, seq)?;
    use proto::sign_progress_note_request::{Content, Dap};
    let dap = Dap { data: "Calmer.".into(), assessment: h.reason.into(), plan: "Continue.".into() };
    let note = proto::SignProgressNoteRequest {
        context: context(h),
        session_id: session_id.clone(),
        clinician_id: e.clinician_id.to_string(),
        content: Some(Content::Dap(dap)),
        goals_addressed: vec![],
        plan_id: String::new(),
    };
    accepted_or_refused(sessions.sign_progress_note(note).await, seq).map(|_| session_id)
}

fn sequences() -> (u64, Vec<Sequence>) {
    let count = std::env::var("CARELOG_PROPTEST_SEQUENCES").ok().and_then(|n| n.parse().ok()).unwrap_or(200);
    let seed = std::env::var("CARELOG_PROPTEST_SEED").ok().and_then(|n| n.parse().ok()).unwrap_or_else(rand_seed);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = sequence();
    let all = (0..count).map(|_| strategy.new_tree(&mut runner).expect("a sequence").current()).collect();
    (seed, all)
}

fn rand_seed() -> u64 {
    u64::from(std::process::id()) ^ chrono::Utc::now().timestamp_subsec_nanos() as u64
}

async fn every_accepted_command_is_stored_projected_rebuilt_and_exported(app: &TestApp) {
    let (seed, all) = sequences();
    eprintln!("CARELOG_PROPTEST_SEED={seed} ({} sequences)", all.len());
    // A few sequences at once, as a clinic's callers would be.
    let mut made = Vec::new();
    for chunk in all.chunks(6) {
        made.extend(futures::future::join_all(chunk.iter().map(|seq| run(app, seq))).await);
    }
    let head = app.event_count().await;
    let mut records = app.records(&Caller::new("auditor"));
    for (client, account) in &made {
        let request = proto::GetEpisodeRequest { client_id: client.to_string(), min_position: head };
        let reply = records.get_episode(request).await.unwrap_or_else(|e| panic!("seed {seed}: {e:?}"));
        let view = crate::given::view_of(reply.into_inner());
        assert!(view.incomplete.is_empty(), "seed {seed}: client {client} incomplete: {:?}", view.incomplete);
        let ledger = proto::GetLedgerRequest { account_id: account.clone(), min_position: head, ..Default::default() };
        let reply = records.get_ledger(ledger).await.unwrap_or_else(|e| panic!("seed {seed}: {e:?}"));
        let reply = reply.into_inner();
        let incomplete = &crate::given::ledger_of(&reply).incomplete;
        assert!(incomplete.is_empty(), "seed {seed}: ledger {account} incomplete: {incomplete:?}");
        let export = proto::ExportEpisodeFhirRequest { client_id: client.to_string(), ..Default::default() };
        records
            .export_episode_fhir(export)
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: FHIR export of {client}: {e:?}"));
    }
    let runner = Runner::new(app.store.clone(), app.database()).await.expect("runner");
    let quarantined = runner.models().quarantined(RECORDS).await.expect("quarantine");
    assert!(quarantined.is_empty(), "seed {seed}: {quarantined:#?}");
    let live = runner.models().live(RECORDS).await.expect("live");
    let before = runner.models().all_docs(live.id).await.expect("docs");
    runner.rebuild(|_| {}).await.expect("rebuild");
    let rebuilt = runner.models().live(RECORDS).await.expect("live");
    let after = runner.models().all_docs(rebuilt.id).await.expect("docs");
    assert!(before == after, "seed {seed}: a rebuild gives other views");
}

on_both_backends!(every_accepted_command_is_stored_projected_rebuilt_and_exported);
