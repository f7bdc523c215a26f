//! Carelog as a deployment runs it: intake, planning, sessions and billing each in an OS process of
//! its own and two records processes, all on one PostgreSQL schema. The demo episode runs through
//! them; the records process that projects is killed with SIGKILL in the middle; the other must take
//! over, and at the end the read models must equal a fresh fold of the log — every event applied
//! exactly once.

mod cold_start;
mod processes;

use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use carelog::demo::{self, Channels, Outcome};
use carelog_auth::Credentials;
use carelog_blackbox::{Caller, CallerHeaders};
use carelog_projections::persist::{Doc, Generation, ReadModels};
use carelog_projections::{RECORDS, Runner};
use carelog_proto::v1 as proto;
use carelog_proto::v1::records_service_client::RecordsServiceClient;
use carelog_store::{EventStore, PostgresOptions, PostgresStore};
use processes::{Process, Store};
use sqlx::AssertSqlSafe;
use tokio::sync::oneshot;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// The demo step after which the projecting process is killed (the episode has about fifty).
const KILL_AFTER_STEP: usize = 20;
/// Fast election settings so the test spends its time on the checks, not on timers.
const RECORDS_ARGS: [&str; 6] =
    ["--projector-retry-ms", "100", "--projector-check-ms", "100", "--checkpoint-poll-ms", "20"];
const TAKEOVER_LIMIT: Duration = Duration::from_secs(15);

/// A fresh schema on the test server; the URL names it so every process uses it. PHI is sealed
/// under one master key that every process (and this test's own fold) shares.
struct Schema {
    name: String,
    url: String,
    master_key: String,
    store: Arc<dyn EventStore>,
    database: carelog_store::Database,
    pool: sqlx::PgPool,
}

impl Schema {
    /// Creates the schema and migrates it once, before several processes start on it at once.
    async fn fresh() -> Self {
        let base = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!("carelog_multiproc_{}", uuid::Uuid::new_v4().simple());
        let store = PostgresStore::connect_with(PostgresOptions::new(&base).schema(&name))
            .await
            .unwrap_or_else(|e| panic!("this test needs PostgreSQL: {e}\nstart it or set DATABASE_URL"));
        let stored = carelog_store::OpenedStore::postgres(store.clone());
        ReadModels::open(stored.database.clone()).await.expect("read-model tables");
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}schema={name}");
        let pool = store.pool().clone();
        let master_key = carelog_vault::SecretKey::generate().to_base64();
        let key = carelog_vault::SecretKey::from_base64(&master_key).expect("key");
        let sealed: Arc<dyn EventStore> = carelog_vault::seal(&stored, key).await.expect("key store");
        Self { name, url, master_key, store: sealed, database: stored.database, pool }
    }

    async fn drop(self) {
        let drop = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name);
        let _ = sqlx::query(AssertSqlSafe(drop)).execute(&self.pool).await;
    }
}

async fn connect(process: &Process) -> Channel {
    Channel::from_shared(process.url()).expect("url").connect().await.expect("connect")
}

/// Whether the process reports that it projects (`carelog.projector` SERVING on grpc.health.v1).
async fn projects(process: &Process) -> bool {
    let Ok(channel) = Channel::from_shared(process.url()).expect("url").connect().await else { return false };
    let request = HealthCheckRequest { service: carelog_records::PROJECTOR_HEALTH.into() };
    match HealthClient::new(channel).check(request).await {
        Ok(reply) => reply.into_inner().status == ServingStatus::Serving as i32,
        Err(_) => false,
    }
}

async fn records_serving(process: &Process) -> bool {
    let channel = connect(process).await;
    let request = HealthCheckRequest { service: "carelog.v1.RecordsService".into() };
    HealthClient::new(channel).check(request).await.expect("health").into_inner().status
        == ServingStatus::Serving as i32
}

/// Waits until exactly one of `candidates` projects and returns its index.
async fn single_leader(candidates: &[&Process], within: Duration) -> usize {
    let deadline = Instant::now() + within;
    loop {
        let mut leading = Vec::new();
        for (index, process) in candidates.iter().enumerate() {
            if projects(process).await {
                leading.push(index);
            }
        }
        assert!(leading.len() <= 1, "two records processes project at once: {leading:?}");
        if let [one] = leading[..] {
            return one;
        }
        assert!(Instant::now() < deadline, "no records process took the projection within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The read model of `records` has folded everything up to `position` (read-your-writes).
async fn episode_at(records: &Process, client: &str, position: u64) -> proto::EpisodeReply {
    let channel = connect(records).await;
    let mut client_api = RecordsServiceClient::with_interceptor(channel, CallerHeaders::new(Caller::new("auditor")));
    let request = proto::GetEpisodeRequest { client_id: client.to_owned(), min_position: position };
    client_api.get_episode(request).await.unwrap_or_else(|e| panic!("{} at {position}: {e}", records.name)).into_inner()
}

fn comparable(docs: Vec<Doc>) -> Vec<(String, String, Option<String>, serde_json::Value)> {
    docs.into_iter().map(|d| (d.kind.as_str().to_owned(), d.key, d.owner, d.body)).collect()
}

/// Where the demo was when the test stopped it, to kill the projector mid-episode.
struct Paused {
    client_id: String,
    position: u64,
    resume: std_mpsc::Sender<()>,
}

/// Runs the demo on a thread of its own; after `KILL_AFTER_STEP` steps it pauses and reports where
/// it is, until the test lets it go on.
fn start_demo(urls: [String; 5]) -> (oneshot::Receiver<Paused>, std::thread::JoinHandle<anyhow::Result<Outcome>>) {
    let (paused_tx, paused) = oneshot::channel();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async move {
            let mut channels = Vec::new();
            for url in urls {
                channels.push(Channel::from_shared(url)?.connect().await?);
            }
            let [intake, planning, sessions, billing, records] = <[Channel; 5]>::try_from(channels).expect("five");
            let channels = Channels { intake, planning, sessions, billing, records };
            let (resume_tx, resume) = std_mpsc::channel();
            let mut paused_tx = Some((paused_tx, resume_tx));
            let mut steps = 0;
            let mut client_id = String::new();
            let credentials = Credentials::Issuer(carelog_blackbox::test_issuer());
            demo::run_with(channels, &credentials, move |_step, receipt| {
                steps += 1;
                if client_id.is_empty() {
                    client_id = receipt.stream.trim_start_matches("client-").to_owned();
                }
                if steps == KILL_AFTER_STEP
                    && let Some((paused_tx, resume_tx)) = paused_tx.take()
                {
                    let _ = paused_tx.send(Paused {
                        client_id: client_id.clone(),
                        position: receipt.position,
                        resume: resume_tx,
                    });
                    // Blocks only this thread's runtime: the services go on in their processes.
                    let _ = resume.recv();
                }
            })
            .await
        })
    });
    (paused, thread)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_projector_fails_over_to_another_process_without_losing_or_doubling_an_event() {
    let schema = Schema::fresh().await;
    let store = &Store { url: &schema.url, master_key: &schema.master_key };
    let intake = Process::start("intake", "carelog-intake", store, &[]);
    let planning = Process::start("planning", "carelog-planning", store, &[]);
    let sessions = Process::start("sessions", "carelog-sessions", store, &[]);
    let billing = Process::start("billing", "carelog-billing", store, &[]);
    let mut records = vec![
        Process::start("records-a", "carelog-records", store, &RECORDS_ARGS),
        Process::start("records-b", "carelog-records", store, &RECORDS_ARGS),
    ];
    let leader = single_leader(&[&records[0], &records[1]], TAKEOVER_LIMIT).await;
    let follower = 1 - leader;
    assert!(records_serving(&records[follower]).await, "a follower serves reads");

    // The demo reads its record back from the follower: that process never projected before the kill.
    let urls = [intake.url(), planning.url(), sessions.url(), billing.url(), records[follower].url()];
    let (paused, demo) = start_demo(urls);
    let Ok(paused) = paused.await else {
        panic!("the demo ended before step {KILL_AFTER_STEP}: {:?}", demo.join());
    };
    assert!(paused.position > 0);
    // Read-your-writes through a process that does not project: the follower polls the checkpoint
    // the leader commits, so this also proves the leader projected up to here.
    let mid = episode_at(&records[follower], &paused.client_id, paused.position).await;
    assert!(mid.position >= paused.position);

    let killed_pid = records[leader].pid();
    records[leader].kill();
    let killed_at = Instant::now();
    paused.resume.send(()).expect("resume the demo");

    assert_eq!(single_leader(&[&records[follower]], TAKEOVER_LIMIT).await, 0);
    let takeover = killed_at.elapsed();
    let outcome = tokio::task::spawn_blocking(move || demo.join().expect("demo thread"))
        .await
        .expect("join")
        .expect("the demo runs to the end through separate processes");
    assert!(records[follower].logged("projector: leading"), "the survivor logs that it leads");
    assert!(!records[follower].exited(), "the survivor is still running");
    eprintln!(
        "killed records pid {killed_pid} after step {KILL_AFTER_STEP} (position {}); the other led {:?} later",
        paused.position, takeover
    );

    // A replacement process joins as a follower and serves the whole record too.
    records.push(Process::start("records-c", "carelog-records", store, &RECORDS_ARGS));
    episode_at(&records[2], &outcome.client_id, outcome.last_position()).await;
    let leaders = single_leader(&[&records[follower], &records[2]], TAKEOVER_LIMIT).await;
    assert_eq!(leaders, 0, "the survivor keeps leading");

    // Reads of the record append RecordAccessed events too, so the log holds more than the demo wrote.
    let head = schema.store.head_position().await.expect("head").0;
    assert!(head >= outcome.last_position(), "every demo event is in the log");
    assert_read_models_are_exactly_the_log(&schema, head).await;
    drop((intake, planning, sessions, billing, records));
    schema.drop().await;
}

/// Every event folded exactly once: one audit row per position 1..=head, the checkpoint at head, and
/// every document equal to a fresh fold of the whole log.
async fn assert_read_models_are_exactly_the_log(schema: &Schema, head: u64) {
    let runner = Runner::new(Arc::clone(&schema.store), schema.database.clone()).await.expect("runner");
    let models = runner.models().clone();
    let deadline = Instant::now() + TAKEOVER_LIMIT;
    let live = loop {
        let live = models.live(RECORDS).await.expect("live generation");
        if live.checkpoint >= head || Instant::now() > deadline {
            break live;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(live.checkpoint, head, "the live checkpoint reached the head");
    let (rows, distinct, first, last): (i64, i64, Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT position), min(position), max(position) FROM audit_entries WHERE generation = $1",
    )
    .bind(live.id)
    .fetch_one(&schema.pool)
    .await
    .expect("audit rows");
    let head = i64::try_from(head).expect("head");
    assert_eq!((rows, distinct, first, last), (head, head, Some(1), Some(head)), "one audit row per event");

    let fresh = models.start_rebuild(RECORDS).await.expect("a fresh generation");
    runner.catch_up(Generation { id: fresh.id, checkpoint: 0 }, |_| {}).await.expect("fresh fold");
    let expected = comparable(models.all_docs(fresh.id).await.expect("fresh docs"));
    assert!(expected.len() >= 2, "an episode view and a ledger");
    assert_eq!(comparable(models.all_docs(live.id).await.expect("live docs")), expected);
}
