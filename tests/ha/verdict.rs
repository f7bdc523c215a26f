//! After the failovers: the log against the writers' journal, the hash chains and the Merkle tree
//! through the real CLI, the read models against a fresh fold, and read-your-writes on the replica.

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use carelog_blackbox::{Caller, CallerHeaders};
use carelog_projections::persist::{Doc, Generation};
use carelog_projections::{RECORDS, Runner};
use carelog_proto::v1 as proto;
use carelog_proto::v1::records_service_client::RecordsServiceClient;
use carelog_store::{EventStore, PostgresOptions, PostgresStore};
use sqlx::AssertSqlSafe;
use tonic::transport::Channel;

use crate::load::Journal;
use crate::processes::{self, Process, Store};

/// How the log compares with what callers were told.
#[derive(Debug, Default)]
pub struct Counts {
    pub acknowledged: usize,
    pub already_applied: usize,
    /// Acknowledged commands whose event is not in the log (the RPO, in commands).
    pub lost: usize,
    /// Events stored more than once for one command.
    pub duplicated: usize,
}

pub struct Check {
    schema: String,
    store: Arc<dyn EventStore>,
    database: carelog_store::Database,
    pool: sqlx::PgPool,
    last_client: Option<String>,
}

impl Check {
    pub async fn open(url: &str, schema: &str, master_key: &str) -> Self {
        let base = url.split_once('?').map_or(url, |(base, _)| base);
        let store = PostgresStore::connect_with(PostgresOptions::new(base).schema(schema)).await.expect("connect");
        let pool = store.pool().clone();
        let stored = carelog_store::OpenedStore::postgres(store);
        let key = carelog_vault::SecretKey::from_base64(master_key).expect("key");
        let sealed: Arc<dyn EventStore> = carelog_vault::seal(&stored, key).await.expect("key store");
        Self { schema: schema.to_owned(), store: sealed, database: stored.database, pool, last_client: None }
    }

    /// Every acknowledged command's event is in the log exactly once; no command's event twice.
    pub async fn compare_with_journal(&mut self, journal: &Journal) -> Counts {
        let stored: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT stream, event_type, count(*) FROM events WHERE category = 'client' GROUP BY stream, event_type",
        )
        .fetch_all(&self.pool)
        .await
        .expect("event counts");
        let stored: HashMap<(String, String), i64> = stored.into_iter().map(|(s, t, n)| ((s, t), n)).collect();
        let acks = journal.acks.lock().expect("journal").clone();
        let mut counts = Counts { acknowledged: acks.len(), ..Counts::default() };
        for ack in &acks {
            counts.already_applied += usize::from(ack.already_applied);
            let key = (format!("client-{}", ack.client_id), ack.event_type.clone());
            if stored.get(&key).copied().unwrap_or(0) == 0 {
                eprintln!(
                    "LOST: acknowledged {} of client {} at position {}",
                    ack.event_type, ack.client_id, ack.position
                );
                counts.lost += 1;
            }
        }
        for ((stream, event_type), n) in &stored {
            if *n > 1 {
                eprintln!("DUPLICATED: {event_type} in {stream} stored {n} times");
                counts.duplicated += usize::try_from(*n - 1).unwrap_or(usize::MAX);
            }
        }
        self.last_client = acks.last().map(|a| a.client_id.clone());
        counts
    }

    /// `carelog verify` (hash chains) and `carelog audit verify-tree` (the Merkle tree) exit 0.
    pub async fn chains_and_tree_verify(&self, store: &Store<'_>) {
        for args in [vec!["verify"], vec!["audit", "verify-tree"]] {
            let output = Command::new(processes::binary("carelog"))
                .args(&args)
                .args(["--store", store.url])
                .env("CARELOG_MASTER_KEY", store.master_key)
                .env_remove("CARELOG_STORE")
                .env("RUST_LOG", "warn")
                .output()
                .expect("run carelog");
            assert!(
                output.status.success(),
                "carelog {} failed after the failovers:\n{}\n{}",
                args.join(" "),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }

    /// The live read models hold every event exactly once: equal to a fresh fold of the whole log.
    pub async fn read_models_equal_a_rebuild(&self) {
        let head = self.store.head_position().await.expect("head").0;
        let runner = Runner::new(Arc::clone(&self.store), self.database.clone()).await.expect("runner");
        let models = runner.models().clone();
        let deadline = Instant::now() + Duration::from_secs(30);
        let live = loop {
            let live = models.live(RECORDS).await.expect("live generation");
            if live.checkpoint >= head || Instant::now() > deadline {
                break live;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(live.checkpoint >= head, "the projector resumed on the new primary and reached the head");
        let fresh = models.start_rebuild(RECORDS).await.expect("a fresh generation");
        runner.catch_up(Generation { id: fresh.id, checkpoint: 0 }, |_| {}).await.expect("fresh fold");
        let fresh_checkpoint = models.checkpoint(fresh.id).await.expect("checkpoint");
        let live = models.live(RECORDS).await.expect("live");
        // Reads go on appending access events; compare at one position.
        let live_docs = comparable(models.all_docs(live.id).await.expect("live docs"), fresh_checkpoint);
        let fresh_docs = comparable(models.all_docs(fresh.id).await.expect("fresh docs"), fresh_checkpoint);
        assert!(fresh_docs.len() >= 2, "the load wrote episode views");
        assert_eq!(live_docs, fresh_docs, "the read models equal a fresh fold of the log");
    }

    /// The replica on a hot standby answers a read of the last client at the log's head.
    pub async fn replica_reads_the_head(&self, replica: &Process) {
        let Some(client) = &self.last_client else { return };
        let head = self.store.head_position().await.expect("head").0;
        let channel = Channel::from_shared(replica.url()).expect("url").connect().await.expect("connect");
        let mut records = RecordsServiceClient::with_interceptor(channel, CallerHeaders::new(Caller::new("auditor")));
        let request = proto::GetEpisodeRequest { client_id: client.clone(), min_position: head };
        let reply = records.get_episode(request).await.expect("read-your-writes on the replica").into_inner();
        assert!(reply.position >= head);
    }

    pub async fn drop_schema(self) {
        let drop = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.schema);
        let _ = sqlx::query(AssertSqlSafe(drop)).execute(&self.pool).await;
    }
}

/// Documents as comparable tuples, limited to those whose last event is at or before `upto`.
fn comparable(docs: Vec<Doc>, upto: u64) -> Vec<(String, String, Option<String>, serde_json::Value)> {
    docs.into_iter()
        .filter(|d| d.position <= upto)
        .map(|d| (d.kind.as_str().to_owned(), d.key, d.owner, d.body))
        .collect()
}
