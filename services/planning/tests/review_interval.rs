//! The review interval is a deployment setting: a service mounted with a 30-day rule schedules
//! every next review 30 days out, over real gRPC on a real SQLite file. (The all-in-one server's
//! tests in `tests/` cover the 90-day default and every other rule.)

use std::sync::Arc;

use carelog_planning::PlanningConfig;
use carelog_proto::v1 as proto;
use carelog_proto::v1::intake_service_client::IntakeServiceClient;
use carelog_proto::v1::treatment_planning_service_client::TreatmentPlanningServiceClient;
use carelog_runtime::server;
use carelog_store::{EventStore, SqliteStore, StreamName, StreamQuery};
use tonic::Request;
use tonic::transport::Channel;
use uuid::Uuid;

/// The supervising clinician who registers, diagnoses and plans in this test (a supervisor may do
/// all three; the server runs without tokens, so the caller names itself in headers).
const CLINICIAN: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0042);

/// A request from that clinician, with a fresh command id in `context`.
fn call<T>(build: impl FnOnce(Option<proto::CommandContext>) -> T) -> Request<T> {
    let context = proto::CommandContext { command_id: Uuid::now_v7().to_string(), ..Default::default() };
    let mut request = Request::new(build(Some(context)));
    let metadata = request.metadata_mut();
    metadata.insert("x-carelog-actor", CLINICIAN.to_string().parse().expect("ascii"));
    metadata.insert("x-carelog-role", "supervisor".parse().expect("ascii"));
    metadata.insert("x-carelog-clinician", CLINICIAN.to_string().parse().expect("ascii"));
    request
}

fn day(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days)).format("%Y-%m-%d").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thirty_day_rule_schedules_reviews_thirty_days_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn EventStore> = Arc::new(SqliteStore::open(dir.path().join("carelog.db")).await.expect("sqlite"));
    let (router, health) = server::router(&server::ServerSettings::default()).expect("router");
    let router = carelog_intake::mount(router, &health, Arc::clone(&store));
    let config = PlanningConfig::review_every_days(30).expect("30 days is allowed");
    let router = carelog_planning::mount_with(router, &health, Arc::clone(&store), config);
    let (listener, addr) = server::bind("127.0.0.1:0".parse().expect("addr")).await.expect("bind");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server::serve(router, listener, async {
        let _ = stopped.await;
    }));
    let channel = Channel::from_shared(format!("http://{addr}")).expect("url").connect().await.expect("connect");
    let mut intake = IntakeServiceClient::new(channel.clone());
    let mut planning = TreatmentPlanningServiceClient::new(channel);

    let (client, episode) = (Uuid::now_v7().to_string(), Uuid::now_v7().to_string());
    let clinician = CLINICIAN.to_string();
    let (plan, goal) = (Uuid::now_v7().to_string(), Uuid::now_v7().to_string());
    intake
        .register_client(call(|context| proto::RegisterClientRequest {
            context,
            client_id: client.clone(),
            legal_name: "Sam Rivera".into(),
            date_of_birth: "1988-07-02".into(),
            payer: Some(proto::register_client_request::Payer::SelfPay(proto::register_client_request::SelfPay {})),
            ..Default::default()
        }))
        .await
        .expect("register");
    intake
        .open_episode(call(|context| proto::OpenEpisodeRequest {
            context,
            client_id: client.clone(),
            episode_id: episode.clone(),
            clinician_id: clinician.clone(),
            opened_at: None,
        }))
        .await
        .expect("open episode");
    intake
        .record_diagnosis(call(|context| proto::RecordDiagnosisRequest {
            context,
            client_id: client.clone(),
            icd10_code: "F41.1".into(),
            code_set_version: "2026".into(),
            clinician_id: clinician.clone(),
        }))
        .await
        .expect("diagnosis");
    planning
        .draft_plan(call(|context| proto::DraftPlanRequest {
            context,
            plan_id: plan.clone(),
            client_id: client.clone(),
            episode_id: episode.clone(),
            icd10_codes: vec!["F41.1".into()],
            clinician_id: clinician.clone(),
        }))
        .await
        .expect("draft");
    planning
        .set_goal(call(|context| proto::SetGoalRequest {
            context,
            plan_id: plan.clone(),
            goal_id: goal.clone(),
            description: "Reduce worry".into(),
            measurable_target: "GAD-7 below 5".into(),
            due_on: day(60),
        }))
        .await
        .expect("goal");
    let sign = |context| proto::SignPlanRequest { context, plan_id: plan.clone(), clinician_id: clinician.clone() };
    planning.sign_plan(call(sign)).await.expect("sign");
    let review = |context| proto::ReviewPlanRequest {
        context,
        plan_id: plan.clone(),
        clinician_id: clinician.clone(),
        progress: vec![proto::review_plan_request::GoalProgress {
            goal_id: goal.clone(),
            rating: proto::review_plan_request::Rating::Improving as i32,
            comment: String::new(),
        }],
        outcome: proto::review_plan_request::Outcome::Continue as i32,
    };
    planning.review_plan(call(review)).await.expect("review");

    let stream = StreamName::new(format!("plan-{plan}")).expect("stream");
    let events = store.read_stream(&stream, StreamQuery::all()).await.expect("read");
    let due: Vec<_> = events.iter().filter_map(|e| e.data.get("next_review_due")).collect();
    assert_eq!(due, [day(30).as_str(), day(30).as_str()]);

    let _ = stop.send(());
    serving.await.expect("server task").expect("server");
}

#[test]
fn the_review_interval_is_bounded() {
    assert_eq!(PlanningConfig::default(), PlanningConfig::review_every_days(90).expect("90 days"));
    for days in [0, 6, 366] {
        assert!(PlanningConfig::review_every_days(days).is_err(), "{days}");
    }
}
