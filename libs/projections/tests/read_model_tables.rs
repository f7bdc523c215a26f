//! The contract of the read models' storage port, one suite on every backend's adapter: a real
//! SQLite file and the real PostgreSQL (a schema of its own per test).

use std::sync::Arc;

use carelog_domain::types::ERASED;
use carelog_projections::persist::{AuditQuery, AuditRow, BatchWrite, DocKind, DocWrite, ReadModels, SearchEntry};
use carelog_projections::quarantine::{Quarantined, Target};
use carelog_projections::{AccessFacts, ProjectionError};
use carelog_store::{EventStore, OpenedStore, PostgresOptions, PostgresStore, SqliteStore};
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

const P: &str = "contract";

/// The read models on a backend, and what keeps their database alive.
struct Backend {
    models: ReadModels,
    _store: Arc<dyn EventStore>,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let OpenedStore { log: store, database, .. } =
        OpenedStore::sqlite(SqliteStore::open(dir.path().join("log.db")).await.unwrap());
    let models = ReadModels::open(database).await.unwrap();
    Backend { models, _store: store, _dir: Some(dir) }
}

async fn postgres() -> Backend {
    let url = carelog_testkit::postgres_url().await;
    let schema = format!("carelog_readmodels_{}", Uuid::new_v4().simple());
    let OpenedStore { log: store, database, .. } = OpenedStore::postgres(
        PostgresStore::connect_with(PostgresOptions::new(&url).schema(&schema))
            .await
            .unwrap_or_else(|e| panic!("these tests need PostgreSQL: {e}")),
    );
    let models = ReadModels::open(database).await.unwrap();
    Backend { models, _store: store, _dir: None }
}

fn doc(kind: DocKind, key: &str, owner: Option<&str>, body: serde_json::Value, position: u64) -> DocWrite {
    DocWrite { kind, key: key.into(), owner: owner.map(Into::into), json: body.to_string(), position }
}

fn time(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap()
}

fn audit(position: u64, client: &str, reason: &str) -> AuditRow {
    AuditRow {
        position,
        client: Some(client.into()),
        stream: format!("client-{client}"),
        revision: position - 1,
        event_type: "ClientRegistered".into(),
        actor_id: "actor-1".into(),
        actor_role: "intake".into(),
        // Display names are free text: quotes and Unicode come back exactly.
        actor_name: Some("Dr. O'Brien-Nguyễn \"Sam\"".into()),
        occurred_at: time(1_700_000_000_000_000),
        recorded_at: time(1_700_000_000_000_000 + i64::try_from(position).unwrap()),
        reason: Some(reason.into()),
        correlation_id: format!("corr-{position}"),
        causation_id: None,
        access: (position % 2 == 1).then(|| AccessFacts {
            rpc: Some("GetEpisode".into()),
            purpose_of_use: Some("TREAT".into()),
            outcome: Some("allowed".into()),
        }),
    }
}

fn batch(generation: i64, from: u64, to: u64) -> BatchWrite {
    BatchWrite { generation, from, to, ..BatchWrite::default() }
}

async fn a_batch_moves_the_checkpoint_with_its_documents_and_audit_rows(b: Backend) {
    let live = b.models.live(P).await.unwrap();
    assert_eq!(live.checkpoint, 0);
    assert_eq!(b.models.live(P).await.unwrap(), live, "the live generation is created once");
    // Keys an attacker might choose: quotes, a LIKE wildcard, Unicode, a long one.
    let keys = ["a'b\"c", "50%_off", "zé\u{202e}", &"k".repeat(2_000)];
    let mut write = batch(live.id, 0, 7);
    for (i, key) in keys.iter().enumerate() {
        write.docs.push(doc(DocKind::Episode, key, Some("owner-1"), json!({"n": i}), 3));
    }
    write.docs.push(doc(DocKind::Ledger, "account-1", Some("owner-1"), json!({"balance": 5}), 7));
    write.audit = vec![audit(3, "c1", "intake"), audit(7, "c2", "billing")];
    b.models.commit(write).await.unwrap();

    assert_eq!(b.models.checkpoint(live.id).await.unwrap(), 7);
    for (i, key) in keys.iter().enumerate() {
        let found = b.models.live_doc(P, DocKind::Episode, key).await.unwrap().expect(key);
        assert_eq!((found.body, found.position, found.owner.as_deref()), (json!({"n": i}), 3, Some("owner-1")));
    }
    assert_eq!(b.models.live_doc(P, DocKind::Episode, "50%").await.unwrap(), None, "a key matched as a pattern");
    assert_eq!(b.models.live_doc(P, DocKind::Ledger, keys[0]).await.unwrap(), None, "kinds are kept apart");
    let loaded = b.models.load(live.id, DocKind::Episode, &[keys[1].to_owned(), "absent".into()]).await.unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&loaded[0].json).unwrap(), json!({"n": 1}));
    assert_eq!(b.models.load_owned(live.id, DocKind::Ledger, "owner-1").await.unwrap().len(), 1);
    assert_eq!(b.models.live_docs_owned_by(P, DocKind::Episode, "owner-1").await.unwrap().len(), keys.len());
    let all = b.models.all_docs(live.id).await.unwrap();
    let order: Vec<_> = all.iter().map(|d| (d.kind, d.key.clone())).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "all_docs comes in (kind, key) order");

    let page = AuditQuery { client: Some("c2".into()), limit: 10, ..AuditQuery::default() };
    assert_eq!(b.models.audit(P, &page).await.unwrap(), vec![audit(7, "c2", "billing")]);
    let after = AuditQuery { after: 3, limit: 10, ..AuditQuery::default() };
    assert_eq!(b.models.audit(P, &after).await.unwrap().iter().map(|r| r.position).collect::<Vec<_>>(), [7]);
}

async fn a_batch_from_a_stale_checkpoint_writes_nothing(b: Backend) {
    let live = b.models.live(P).await.unwrap();
    b.models.commit(batch(live.id, 0, 4)).await.unwrap();
    let mut stale = batch(live.id, 0, 9);
    stale.docs.push(doc(DocKind::Episode, "late", None, json!({}), 9));
    stale.audit.push(audit(9, "c9", "late"));
    let error = b.models.commit(stale).await.unwrap_err();
    assert!(matches!(error, ProjectionError::StaleCheckpoint { generation } if generation == live.id), "{error}");
    assert_eq!(b.models.checkpoint(live.id).await.unwrap(), 4);
    assert_eq!(b.models.live_doc(P, DocKind::Episode, "late").await.unwrap(), None);
    assert!(b.models.audit(P, &AuditQuery { limit: 10, ..AuditQuery::default() }).await.unwrap().is_empty());
}

async fn a_rebuild_is_swapped_in_and_the_retired_generation_purged(b: Backend) {
    let live = b.models.live(P).await.unwrap();
    let mut old = batch(live.id, 0, 2);
    old.docs.push(doc(DocKind::Episode, "c1", None, json!({"v": "old"}), 2));
    b.models.commit(old).await.unwrap();

    let rebuild = b.models.start_rebuild(P).await.unwrap();
    assert_ne!(rebuild.id, live.id);
    assert_eq!(rebuild.checkpoint, 0);
    let mut new = batch(rebuild.id, 0, 2);
    new.docs.push(doc(DocKind::Episode, "c1", None, json!({"v": "new"}), 2));
    b.models.commit(new).await.unwrap();
    assert_eq!(b.models.live_doc(P, DocKind::Episode, "c1").await.unwrap().unwrap().body, json!({"v": "old"}));

    b.models.swap(P, rebuild.id).await.unwrap();
    assert_eq!(b.models.live(P).await.unwrap().id, rebuild.id);
    assert_eq!(b.models.live_doc(P, DocKind::Episode, "c1").await.unwrap().unwrap().body, json!({"v": "new"}));
    assert!(b.models.purge_retired(P).await.unwrap() >= 1);
    assert!(b.models.all_docs(live.id).await.unwrap().is_empty(), "the retired generation's rows stay");
    assert_eq!(b.models.purge_retired(P).await.unwrap(), 0);
}

async fn an_erasure_scrubs_audit_reasons_and_quarantined_events_are_kept(b: Backend) {
    let live = b.models.live(P).await.unwrap();
    let mut first = batch(live.id, 0, 2);
    first.audit = vec![audit(1, "gone", "told us about her divorce"), audit(2, "kept", "routine")];
    b.models.commit(first).await.unwrap();
    let poison = Quarantined {
        position: 3,
        target: Target::Doc(DocKind::Episode),
        key: "kept".into(),
        client: Some("kept".into()),
        stream: "client-kept".into(),
        event_type: "Unfoldable".into(),
        error: "no such field".into(),
    };
    let mut second = batch(live.id, 2, 3);
    second.erased = vec!["gone".into()];
    second.quarantined = vec![poison.clone()];
    b.models.commit(second).await.unwrap();

    let rows = b.models.audit(P, &AuditQuery { limit: 10, ..AuditQuery::default() }).await.unwrap();
    assert_eq!(rows[0].reason.as_deref(), Some(ERASED));
    assert_eq!(rows[1].reason.as_deref(), Some("routine"), "another client's reason was scrubbed");
    assert_eq!(b.models.quarantined(P).await.unwrap(), vec![poison]);
    assert!(b.models.reclaim_rewritten().await.unwrap());
}

async fn search_tokens_are_replaced_per_client_intersected_paged_and_purged(b: Backend) {
    let entry = |client: &str, tokens: &[&str]| SearchEntry {
        client: client.into(),
        tokens: tokens.iter().map(|t| (*t).to_owned()).collect(),
    };
    let tokens = |list: &[&str]| list.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
    let live = b.models.live(P).await.unwrap();
    let mut first = batch(live.id, 0, 2);
    first.search = vec![entry("c1", &["zoe", "rivera", "1990"]), entry("c2", &["zoe", "martin"])];
    b.models.commit(first).await.unwrap();
    assert_eq!(b.models.search_clients(P, &tokens(&["zoe"]), "", 10).await.unwrap(), ["c1", "c2"]);
    assert_eq!(b.models.search_clients(P, &tokens(&["zoe", "rivera"]), "", 10).await.unwrap(), ["c1"]);
    assert_eq!(b.models.search_clients(P, &tokens(&["zoe"]), "c1", 10).await.unwrap(), ["c2"], "after c1");
    assert_eq!(b.models.search_clients(P, &tokens(&["zoe"]), "", 1).await.unwrap(), ["c1"], "limited");
    assert!(b.models.search_clients(P, &tokens(&["rivera", "martin"]), "", 10).await.unwrap().is_empty());
    // A client's tokens are replaced whole; none left means out of the index (an erasure).
    let mut second = batch(live.id, 2, 3);
    second.search = vec![entry("c1", &["ana"]), entry("c2", &[])];
    b.models.commit(second).await.unwrap();
    assert!(b.models.search_clients(P, &tokens(&["zoe"]), "", 10).await.unwrap().is_empty());
    assert_eq!(b.models.search_clients(P, &tokens(&["ana"]), "", 10).await.unwrap(), ["c1"]);
    // A rebuilt generation answers once swapped in; the retired one's rows are purged.
    let rebuild = b.models.start_rebuild(P).await.unwrap();
    let mut rebuilt = batch(rebuild.id, 0, 3);
    rebuilt.search = vec![entry("c3", &["ana"])];
    b.models.commit(rebuilt).await.unwrap();
    assert_eq!(b.models.search_clients(P, &tokens(&["ana"]), "", 10).await.unwrap(), ["c1"], "not swapped yet");
    b.models.swap(P, rebuild.id).await.unwrap();
    assert_eq!(b.models.search_clients(P, &tokens(&["ana"]), "", 10).await.unwrap(), ["c3"]);
    assert!(b.models.purge_retired(P).await.unwrap() >= 1);
}

/// The live checkpoint, read without creating anything (as a records replica reads it on a hot
/// standby): none before the projection exists, then the live generation's, across a swap.
async fn the_live_checkpoint_is_read_without_creating_the_projection(b: Backend) {
    assert_eq!(b.models.live_checkpoint(P).await.unwrap(), None);
    assert_eq!(b.models.live_checkpoint(P).await.unwrap(), None, "reading created nothing");
    let live = b.models.live(P).await.unwrap();
    assert_eq!(b.models.live_checkpoint(P).await.unwrap(), Some(0));
    b.models.commit(batch(live.id, 0, 5)).await.unwrap();
    assert_eq!(b.models.live_checkpoint(P).await.unwrap(), Some(5));
    let rebuild = b.models.start_rebuild(P).await.unwrap();
    b.models.commit(batch(rebuild.id, 0, 3)).await.unwrap();
    assert_eq!(b.models.live_checkpoint(P).await.unwrap(), Some(5), "a rebuild is not live before its swap");
    b.models.swap(P, rebuild.id).await.unwrap();
    assert_eq!(b.models.live_checkpoint(P).await.unwrap(), Some(3));
    assert_eq!(b.models.live_checkpoint("another projection").await.unwrap(), None);
}

carelog_testkit::on_every_backend!(
    sqlite: sqlite, postgres: postgres;
    the_live_checkpoint_is_read_without_creating_the_projection,
    search_tokens_are_replaced_per_client_intersected_paged_and_purged,
    a_batch_moves_the_checkpoint_with_its_documents_and_audit_rows,
    a_batch_from_a_stale_checkpoint_writes_nothing,
    a_rebuild_is_swapped_in_and_the_retired_generation_purged,
    an_erasure_scrubs_audit_reasons_and_quarantined_events_are_kept,
);

/// The read models of a file an earlier build wrote (sqlx's migrator, `carelog demo` at f7a732b)
/// open as they were: nothing migrated again, the live generation and its documents read back,
/// and a batch commits on top.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_read_models_of_a_file_the_sqlx_era_build_wrote_open_and_take_batches() {
    let dir = tempfile::tempdir().unwrap();
    let path = carelog_testkit::sqlx_era_demo_file(dir.path());
    let records = || {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let sql = "SELECT version, description, installed_on, success, checksum, execution_time
                   FROM _carelog_projection_migrations ORDER BY version";
        let mut statement = conn.prepare(sql).unwrap();
        let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)));
        rows.unwrap().collect::<Result<Vec<(i64, String, String, bool, Vec<u8>, i64)>, _>>().unwrap()
    };
    let before = records();
    assert_eq!(before.len(), 4);
    let OpenedStore { log: _store, database, .. } = OpenedStore::sqlite(SqliteStore::open(&path).await.unwrap());
    let models = ReadModels::open(database).await.expect("the earlier read models open");
    assert_eq!(records(), before, "nothing migrated again");

    let client = carelog_testkit::SQLX_ERA_DEMO.client;
    let live = models.live("records").await.unwrap();
    assert_eq!((live.id, live.checkpoint), (1, 53));
    let episode = models.live_doc("records", DocKind::Episode, client).await.unwrap().expect("the demo's episode");
    assert_eq!(episode.key, client);
    assert_eq!(models.live_docs_owned_by("records", DocKind::Ledger, client).await.unwrap().len(), 1);
    models.commit(batch(live.id, 53, 55)).await.unwrap();
    assert_eq!(models.live_checkpoint("records").await.unwrap(), Some(55));
}
