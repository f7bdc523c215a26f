//! Cold starts: every process of a deployment started at the same moment on a schema that does not
//! exist yet, many times over. Each must start (none exits on a duplicate key while creating the
//! schema or the projection's first generation) and both records replicas must report SERVING
//! throughout, as deploy/README.md promises ("replicas can start together").

use std::time::{Duration, Instant};

use sqlx::AssertSqlSafe;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::processes::{Process, Store};

/// How long after start-up the records replicas are watched for a NOT_SERVING moment.
const WATCH: Duration = Duration::from_secs(3);

const DEPLOYMENT: [(&str, &str); 7] = [
    ("intake", "carelog-intake"),
    ("planning", "carelog-planning"),
    ("sessions", "carelog-sessions"),
    ("billing", "carelog-billing"),
    ("records-a", "carelog-records"),
    ("records-b", "carelog-records"),
    ("proofs", "carelog-proofs"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_deployment_starts_together_on_a_fresh_schema_every_time() {
    let base = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let starts: usize = std::env::var("CARELOG_COLD_STARTS").ok().and_then(|n| n.parse().ok()).unwrap_or(6);
    let admin = sqlx::PgPool::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("this test needs PostgreSQL: {e}\nstart it or set DATABASE_URL"));
    let master_key = carelog_vault::SecretKey::generate().to_base64();
    for attempt in 1..=starts {
        let schema = format!("carelog_cold_{}", uuid::Uuid::new_v4().simple());
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}schema={schema}");
        let store = Store { url: &url, master_key: &master_key };
        let started = Instant::now();
        let processes = std::thread::scope(|scope| {
            let threads: Vec<_> = DEPLOYMENT
                .iter()
                .map(|(name, package)| scope.spawn(move || Process::start(name, package, &store, &[])))
                .collect();
            threads
                .into_iter()
                .map(|t| t.join().unwrap_or_else(|_| panic!("cold start {attempt}: a process did not start")))
                .collect::<Vec<Process>>()
        });
        let records: Vec<&Process> = processes.iter().filter(|p| p.name.starts_with("records")).collect();
        let watch_until = Instant::now() + WATCH;
        while Instant::now() < watch_until {
            for process in &records {
                let status = records_status(process).await;
                assert_eq!(
                    status,
                    Some(ServingStatus::Serving),
                    "cold start {attempt}: {} was not SERVING {:?} after start:\n{}",
                    process.name,
                    started.elapsed(),
                    process.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        for process in &processes {
            assert!(
                !process.logged("duplicate key"),
                "cold start {attempt}: {} hit a duplicate key:\n{}",
                process.name,
                process.log_tail()
            );
        }
        eprintln!("cold start {attempt}/{starts}: {} processes up in {:?}", processes.len(), started.elapsed());
        drop(processes);
        let _ = sqlx::query(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))).execute(&admin).await;
    }
}

async fn records_status(process: &Process) -> Option<ServingStatus> {
    let channel = Channel::from_shared(process.url()).ok()?.connect().await.ok()?;
    let request = HealthCheckRequest { service: "carelog.v1.RecordsService".into() };
    let reply = HealthClient::new(channel).check(request).await.ok()?.into_inner();
    ServingStatus::try_from(reply.status).ok()
}
