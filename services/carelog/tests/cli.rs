//! The `carelog` binary as an operator runs it: `migrate` and `verify` against real stores.

use std::process::Command;

use carelog::app::AppStore;
use carelog_store::{
    Actor, AppendRequest, EventStore, ExpectedRevision, Metadata, NewEvent, OpenedStore, PostgresOptions,
    PostgresStore, SqliteStore, StreamName,
};
use sqlx::AssertSqlSafe;
use uuid::Uuid;

/// Runs the binary with `args` and the environment `env` adds (no DATABASE_URL of the caller's).
fn run_carelog(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_carelog"))
        .args(args)
        .env_remove("DATABASE_URL")
        .envs(env.iter().copied())
        .output()
        .expect("run carelog")
}

fn carelog(args: &[&str]) -> (i32, String) {
    let output = run_carelog(args, &[]);
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), text)
}

async fn seed(store: &dyn EventStore) {
    for name in ["client-a", "client-b"] {
        let events = (0..3)
            .map(|i| NewEvent {
                event_id: Uuid::now_v7(),
                event_type: "Noted".into(),
                schema_version: 1,
                data: serde_json::json!({ "n": i }),
                metadata: Metadata::by(Actor::new("auditor", "admin"), chrono::Utc::now()),
            })
            .collect();
        let stream = StreamName::new(name).unwrap();
        store.append(AppendRequest::new(stream, ExpectedRevision::NoStream, events)).await.unwrap();
    }
}

#[tokio::test]
async fn sqlite_verify_passes_then_names_the_altered_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    let store = SqliteStore::open(&path).await.unwrap();
    seed(&store).await;
    let url = format!("sqlite:{}", path.display());
    let (code, out) = carelog(&["verify", "--store", &url]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact") && out.contains("6 events"), "{out}");

    let file = rusqlite::Connection::open(&path).unwrap();
    file.execute("DROP TRIGGER events_no_update", []).unwrap();
    file.execute("UPDATE events SET data = '{\"n\":42}' WHERE position = 5", []).unwrap();
    let (code, out) = carelog(&["verify", "--store", &url]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("TAMPERED") && out.contains("first break: position 5 stream client-b revision 1"), "{out}");
}

#[tokio::test]
async fn postgres_verify_names_a_deleted_row() {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("carelog_cli_{}", Uuid::new_v4().simple());
    let store = PostgresStore::connect_with(PostgresOptions::new(&url).schema(&schema)).await.expect("PostgreSQL");
    seed(&store).await;
    let scoped = format!("{url}{}options=-csearch_path%3D{schema}", if url.contains('?') { "&" } else { "?" });
    let (code, out) = carelog(&["verify", "--store", &scoped]);
    assert_eq!(code, 0, "{out}");
    sqlx::query("ALTER TABLE events DISABLE TRIGGER events_immutable").execute(store.pool()).await.unwrap();
    sqlx::query("DELETE FROM events WHERE position = 2").execute(store.pool()).await.unwrap();
    let (code, out) = carelog(&["verify", "--store", &scoped]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("first break: position 3 stream client-a"), "{out}");
    sqlx::query(AssertSqlSafe(format!("DROP SCHEMA \"{schema}\" CASCADE"))).execute(store.pool()).await.unwrap();
}

#[test]
fn a_malformed_store_url_says_what_to_write() {
    let (code, out) = carelog(&["verify", "--store", "mysql://db/x"]);
    assert_ne!(code, 0);
    assert!(out.contains("sqlite:PATH or postgres://"), "{out}");
}

/// `carelog seed` drives whole episodes through its own server, whose projector reads the same
/// commit setting as `carelog serve`'s, from the flag or the environment, hostile values refused.
#[test]
fn seed_drives_episodes_with_the_servers_projector_commit_setting() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("seeded.db").display());
    let (code, out) =
        carelog(&["seed", "--store", &store, "--episodes", "2", "--concurrency", "2", "--projector-commit-ms", "5"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(": 2 episodes,"), "{out}");
    let refused = run_carelog(&["seed", "--store", &store, "--episodes", "1"], &[("CARELOG_PROJECTOR_COMMIT_MS", "0")]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--projector-commit-ms"));
}

/// The records commands against a running server, and a rebuild of its store from another process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_episode_audit_and_rebuild_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.db");
    let stored = OpenedStore::sqlite(SqliteStore::open(&path).await.unwrap());
    let store = std::sync::Arc::clone(&stored.log);
    let server = carelog::app::start(AppStore::unsealed(stored), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let channel = tonic::transport::Channel::from_shared(server.url()).unwrap().connect().await.unwrap();
    let outcome = carelog::demo::run(channel, |_, _| {}).await.unwrap();
    let url = server.url();
    let (code, out) = carelog(&["episode", "--server", &url, "--client", &outcome.client_id, "--as-of", "2"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("AS RECORDED")
            && out.contains("at log position 2")
            && out.contains("\"legal_name\": \"Alexandra Maria Reyes\""),
        "{out}"
    );
    let (code, out) = carelog(&["episode", "--server", &url, "--client", &outcome.client_id, "--as-of", "tuesday"]);
    assert_ne!(code, 0);
    assert!(out.contains("RFC 3339"), "{out}");
    let (code, out) = carelog(&["audit", "--server", &url, "--client", &outcome.client_id]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ClientRegistered") && out.contains("EpisodeClosed"), "{out}");
    let (code, out) = carelog(&["episode", "--server", &url, "--client", &uuid::Uuid::now_v7().to_string()]);
    assert_ne!(code, 0);
    assert!(out.contains("NotFound"), "{out}");
    let store_url = format!("sqlite:{}", path.display());
    let (code, out) = carelog(&["rebuild", "--store", &store_url]);
    assert_eq!(code, 0, "{out}");
    // The log holds the demo's commands and the access-log entries of every read since.
    let head = store.head_position().await.unwrap().0;
    assert!(head > outcome.last_position());
    assert!(out.contains(&format!("{head} events")) && out.contains("events/s"), "{out}");
    server.stop().await.unwrap();
}

/// `carelog bench` starts its own server as production runs it (tokens checked, PHI sealed) and
/// drives every workload through it without a refused call: a role the policy denies, or a
/// clinician not assigned to the prepared clients, would show as errors in the summary. The
/// health mix (the transport's floor) answers on the same connection and stores nothing.
#[test]
fn bench_drives_each_workload_through_an_authenticated_server() {
    let dir = tempfile::tempdir().unwrap();
    for mix in ["mixed", "reads", "health"] {
        let url = format!("sqlite:{}", dir.path().join(format!("{mix}.db")).display());
        let output = Command::new(env!("CARGO_BIN_EXE_carelog"))
            .args(["bench", "--store", &url, "--mix", mix, "--concurrency", "2", "--duration", "1", "--clients", "1"])
            .env_remove("DATABASE_URL")
            .env_remove("CARELOG_TOKEN")
            .env_remove("CARELOG_AUTH_SECRET")
            .output()
            .expect("run carelog bench");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{mix}: {stderr}");
        assert!(stderr.contains("bearer tokens checked"), "{mix}: {stderr}");
        let summary: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON summary");
        assert_eq!(summary["errors"], 0, "{mix}: {summary}\n{stderr}");
        assert!(summary["commands"].as_u64().unwrap() > 0, "{mix}: {summary}");
        if mix == "health" {
            assert_eq!(summary["events"], 0, "the health check stored events: {summary}");
        }
    }
}

const NEWEST_CHECKPOINT: &str =
    "SELECT id, tree_size, root, signed_at FROM merkle_checkpoints ORDER BY id DESC LIMIT 1";

/// A stored checkpoint row (id, size, root, time) re-signed with `key`, as an attacker with the
/// database would: its id and the forged checkpoint.
fn re_signed(
    (id, size, root, signed_at): (i64, i64, Vec<u8>, i64),
    key: &ed25519_dalek::SigningKey,
) -> (i64, carelog_proofs::checkpoint::SignedCheckpoint) {
    let at = chrono::DateTime::from_timestamp_micros(signed_at).unwrap();
    (id, carelog_proofs::checkpoint::SignedCheckpoint::sign(key, size as u64, root.try_into().unwrap(), at))
}

/// `audit verify-tree` checks every stored checkpoint's signature, not only its root: a signature
/// altered in the database, or a checkpoint re-signed with a key that is not the log's, fails it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_verify_tree_refuses_a_checkpoint_the_log_did_not_sign() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.db");
    let stored = OpenedStore::sqlite(SqliteStore::open(&path).await.unwrap());
    let server = carelog::app::start(AppStore::unsealed(stored), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let channel = tonic::transport::Channel::from_shared(server.url()).unwrap().connect().await.unwrap();
    carelog::demo::run(channel, |_, _| {}).await.unwrap();
    let (code, out) = carelog(&["audit", "checkpoint", "--server", &server.url()]);
    assert_eq!(code, 0, "{out}");
    server.stop().await.unwrap();
    let url = format!("sqlite:{}", path.display());
    let log_key = format!("{}.signing-key.pub", path.display());
    let (code, out) = carelog(&["audit", "verify-tree", "--store", &url, "--public-key", &log_key]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK:"), "{out}");

    // An attacker with the database re-signs the checkpoint with a key of their own.
    let attacker = dir.path().join("attacker.key");
    let (code, out) = carelog(&["keygen", "--out", &attacker.display().to_string()]);
    assert_eq!(code, 0, "{out}");
    let key = carelog_proofs::keys::read_signing_key(&attacker).unwrap();
    let file = rusqlite::Connection::open(&path).unwrap();
    let newest = file.query_row(NEWEST_CHECKPOINT, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap();
    let (id, forged) = re_signed(newest, &key);
    file.execute("DROP TRIGGER merkle_checkpoints_no_update", []).unwrap();
    file.execute(
        "UPDATE merkle_checkpoints SET public_key = ?, signature = ? WHERE id = ?",
        rusqlite::params![forged.public_key.to_vec(), forged.signature.clone(), id],
    )
    .unwrap();
    let (code, out) = carelog(&["audit", "verify-tree", "--store", &url, "--public-key", &log_key]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("TAMPERED") && out.contains(&format!("checkpoint #{id}")), "{out}");

    // A signature that verifies under no key at all fails even without a trusted key.
    file.execute("UPDATE merkle_checkpoints SET signature = ? WHERE id = ?", rusqlite::params![vec![7u8; 64], id])
        .unwrap();
    let (code, out) = carelog(&["audit", "verify-tree", "--store", &url]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("does not verify under the key stored with it"), "{out}");
}

/// `carelog projections status` names every event the read models could not fold, and exits 2
/// while there is one; with none it exits 0.
#[tokio::test]
async fn sqlite_projections_status_lists_quarantined_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    let store = SqliteStore::open(&path).await.unwrap();
    seed(&store).await;
    let url = format!("sqlite:{}", path.display());
    let (code, out) = carelog(&["projections", "status", "--store", &url]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("checkpoint 0 of 6") && out.contains("no event quarantined"), "{out}");
    let (code, out) = carelog(&["rebuild", "--store", &url]);
    assert_eq!(code, 0, "{out}");

    // An event type no build knows, as a bug would write one, about a client of its own.
    let client = Uuid::now_v7().to_string();
    let mut metadata = Metadata::by(Actor::new("intake", "intake"), chrono::Utc::now());
    metadata.tags.client = Some(client.clone());
    let bogus = NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "ClientTeleported".into(),
        schema_version: 1,
        data: serde_json::json!({}),
        metadata,
    };
    let stream = StreamName::new(format!("client-{client}")).unwrap();
    store.append(AppendRequest::new(stream, ExpectedRevision::NoStream, vec![bogus])).await.unwrap();
    let (code, out) = carelog(&["rebuild", "--store", &url]);
    assert_eq!(code, 0, "a rebuild is not stopped by it: {out}");
    let (code, out) = carelog(&["projections", "status", "--store", &url]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("checkpoint 7 of 7") && out.contains("1 event(s) quarantined"), "{out}");
    let line = out.lines().find(|l| l.contains("ClientTeleported")).unwrap_or_else(|| panic!("{out}"));
    assert!(line.trim_start().starts_with('7') && line.contains(&client) && line.contains("episode"), "{line}");
}

/// `audit verify-tree` on PostgreSQL with the auditor's key: a rotation whose handover the old key
/// signed passes with the old key alone; a checkpoint re-signed in the database with another key
/// fails, naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_verify_tree_follows_a_handover_and_refuses_a_re_signed_checkpoint() {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("carelog_cli_{}", Uuid::new_v4().simple());
    let store = PostgresStore::connect_with(PostgresOptions::new(&url).schema(&schema)).await.expect("PostgreSQL");
    let pool = store.pool().clone();
    let stored = OpenedStore::postgres(store);
    let dir = tempfile::tempdir().unwrap();
    let old_key = dir.path().join("old.key");
    let (code, out) = carelog(&["keygen", "--out", &old_key.display().to_string()]);
    assert_eq!(code, 0, "{out}");
    let old = carelog_proofs::keys::read_signing_key(&old_key).unwrap();
    let start = |proofs: carelog_proofs::ProofsConfig| {
        let config = carelog::app::AppConfig { proofs: Some(proofs), ..Default::default() };
        carelog::app::start_with(AppStore::unsealed(stored.clone()), "127.0.0.1:0".parse().unwrap(), config)
    };
    let sign = |server: &carelog::app::RunningServer| {
        let (code, out) = carelog(&["audit", "checkpoint", "--server", &server.url()]);
        assert_eq!(code, 0, "{out}");
    };
    let server = start(carelog_proofs::ProofsConfig::with_key(old.clone())).await.unwrap();
    seed(stored.log.as_ref()).await;
    sign(&server);
    server.stop().await.unwrap();
    let new = carelog_proofs::keys::generate();
    let handover = carelog_proofs::ProofsConfig {
        previous_key: Some(old_key.clone()),
        ..carelog_proofs::ProofsConfig::with_key(new.clone())
    };
    let server = start(handover).await.unwrap();
    sign(&server);
    server.stop().await.unwrap();

    let scoped = format!("{url}{}options=-csearch_path%3D{schema}", if url.contains('?') { "&" } else { "?" });
    let old_public = format!("{}.pub", old_key.display());
    let (code, out) = carelog(&["audit", "verify-tree", "--store", &scoped, "--public-key", &old_public]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("all 2 signed checkpoints"), "{out}");

    // The attacker re-signs the newest checkpoint with a key of their own.
    let attacker = carelog_proofs::keys::generate();
    let (id, forged) = re_signed(sqlx::query_as(NEWEST_CHECKPOINT).fetch_one(&pool).await.unwrap(), &attacker);
    sqlx::query("ALTER TABLE merkle_checkpoints DISABLE TRIGGER merkle_checkpoints_immutable")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE merkle_checkpoints SET public_key = $1, signature = $2 WHERE id = $3")
        .bind(forged.public_key.to_vec())
        .bind(forged.signature.clone())
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let (code, out) = carelog(&["audit", "verify-tree", "--store", &scoped, "--public-key", &old_public]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("TAMPERED") && out.contains(&format!("checkpoint #{id}")), "{out}");
    sqlx::query(AssertSqlSafe(format!("DROP SCHEMA \"{schema}\" CASCADE"))).execute(&pool).await.unwrap();
}
