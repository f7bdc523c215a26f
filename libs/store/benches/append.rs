//! Append throughput and latency on both backends, beside raw PostgreSQL inserts measured in the same run.
//!
//! `cargo bench -p carelog-store --bench append` (add `-- --seconds N` to change the time per scenario).
//! Needs PostgreSQL at DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).

use std::sync::Arc;
use std::time::{Duration, Instant};

use carelog_store::{
    Actor, AppendRequest, EventStore, ExpectedRevision, Metadata, NewEvent, PostgresOptions, PostgresStore,
    SqliteStore, StreamName,
};
use chrono::Utc;
use sqlx::AssertSqlSafe;
use uuid::Uuid;

#[derive(Debug, Clone, Copy)]
struct Scenario {
    writers: usize,
    batch: usize,
}

const SCENARIOS: [Scenario; 4] = [
    Scenario { writers: 1, batch: 1 },
    Scenario { writers: 8, batch: 1 },
    Scenario { writers: 64, batch: 1 },
    Scenario { writers: 1, batch: 100 },
];

#[derive(Debug)]
struct Figures {
    events_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// `--name value` from the command line.
fn arg(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

fn main() -> anyhow::Result<()> {
    let seconds = arg("--seconds").map(|s| s.parse::<u64>()).transpose()?.unwrap_or(5);
    // `--writers 8` runs only the scenarios with that many writers.
    let writers = arg("--writers").map(|s| s.parse::<usize>()).transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(Duration::from_secs(seconds), writers))
}

async fn run(duration: Duration, only_writers: Option<usize>) -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("carelog_bench_{}", Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&url).await?;
    let dir = tempfile::tempdir()?;
    println!("{} s per scenario; positions are dense and commit-ordered on both backends\n", duration.as_secs());
    println!("| backend | writers | events/append | events/s | p50 ms | p99 ms | vs raw PostgreSQL |");
    println!("|---|---|---|---|---|---|---|");
    for scenario in SCENARIOS.into_iter().filter(|s| only_writers.is_none_or(|w| w == s.writers)) {
        let baseline = raw_postgres(&url, &schema, scenario, duration).await?;
        print_row("raw PostgreSQL INSERT", scenario, &baseline, &baseline);
        let postgres = PostgresStore::connect_with(
            PostgresOptions::new(&url).schema(format!("{schema}_{}_{}", scenario.writers, scenario.batch)),
        )
        .await?;
        let figures = measure(Arc::new(postgres), scenario, duration).await?;
        print_row("carelog postgres", scenario, &figures, &baseline);
        let path = dir.path().join(format!("bench-{}-{}.db", scenario.writers, scenario.batch));
        let sqlite = SqliteStore::open(&path).await?;
        let figures = measure(Arc::new(sqlite), scenario, duration).await?;
        print_row("carelog sqlite", scenario, &figures, &baseline);
    }
    let schemas: Vec<(String,)> = sqlx::query_as("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE $1")
        .bind(format!("{schema}%"))
        .fetch_all(&admin)
        .await?;
    for (name,) in schemas {
        sqlx::query(AssertSqlSafe(format!("DROP SCHEMA \"{name}\" CASCADE"))).execute(&admin).await?;
    }
    Ok(())
}

fn print_row(backend: &str, s: Scenario, f: &Figures, baseline: &Figures) {
    println!(
        "| {backend} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2}× |",
        s.writers,
        s.batch,
        f.events_per_sec,
        f.p50_ms,
        f.p99_ms,
        f.events_per_sec / baseline.events_per_sec
    );
}

fn new_event() -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "SessionHeld".into(),
        schema_version: 1,
        data: serde_json::json!({ "minutes": 53, "modality": "video", "location": "home", "note": "x".repeat(200) }),
        metadata: Metadata::by(Actor::new("clinician-1", "clinician"), Utc::now()),
    }
}

/// Each writer appends to its own streams with exact expected revisions, as the services do.
async fn measure(store: Arc<dyn EventStore>, s: Scenario, duration: Duration) -> anyhow::Result<Figures> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for writer in 0..s.writers {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut stream_no = 0;
            let mut revision: Option<u64> = None;
            while started.elapsed() < duration {
                if revision.is_some_and(|r| r >= 999) {
                    stream_no += 1;
                    revision = None;
                }
                let stream = StreamName::new(format!("session-w{writer}s{stream_no}"))?;
                let expected = revision.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
                let events = (0..s.batch).map(|_| new_event()).collect();
                let begun = Instant::now();
                let result = store.append(AppendRequest::new(stream, expected, events)).await?;
                latencies.push(begun.elapsed());
                revision = Some(result.last_revision);
            }
            anyhow::Ok(latencies)
        }));
    }
    collect(tasks, s.batch, started).await
}

/// The baseline: autocommitted single-row INSERTs (or one transaction per batch) into a plain table.
async fn raw_postgres(url: &str, schema: &str, s: Scenario, duration: Duration) -> anyhow::Result<Figures> {
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(s.writers as u32).connect(url).await?;
    let table = format!("\"{schema}_raw_{}_{}\"", s.writers, s.batch);
    sqlx::query(AssertSqlSafe(format!("DROP TABLE IF EXISTS {table}"))).execute(&pool).await?;
    sqlx::query(AssertSqlSafe(format!(
        "CREATE TABLE {table} (id bigserial PRIMARY KEY, event_id uuid NOT NULL, data json NOT NULL)"
    )))
    .execute(&pool)
    .await?;
    let insert = format!("INSERT INTO {table} (event_id, data) VALUES ($1, $2::json)");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..s.writers {
        let (pool, insert) = (pool.clone(), insert.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while started.elapsed() < duration {
                let begun = Instant::now();
                let mut tx = pool.begin().await?;
                for _ in 0..s.batch {
                    let data = new_event().data.to_string();
                    sqlx::query(AssertSqlSafe(insert.clone()))
                        .bind(Uuid::now_v7())
                        .bind(data)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                latencies.push(begun.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let figures = collect(tasks, s.batch, started).await;
    sqlx::query(AssertSqlSafe(format!("DROP TABLE {table}"))).execute(&pool).await?;
    figures
}

async fn collect(
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<Vec<Duration>>>>,
    batch: usize,
    started: Instant,
) -> anyhow::Result<Figures> {
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let percentile = |q: f64| {
        let index = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[index].as_secs_f64() * 1000.0
    };
    Ok(Figures {
        events_per_sec: (latencies.len() * batch) as f64 / elapsed,
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
    })
}
