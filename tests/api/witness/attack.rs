//! What an attacker with database access (and no signing key) does to rewrite history: edit rows,
//! recompute their streams' chain hashes with the published hash layout, and throw the Merkle tree
//! and its checkpoints away for the server to rebuild. Both backends, straight SQL.

use carelog_blackbox::{Backend, TestApp};
use carelog_proofs::checkpoint::SignedCheckpoint;
use carelog_store::Database;
use carelog_store::merkle::empty_root;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::AssertSqlSafe;

/// A statement's parameter, bound the same way on either backend.
#[derive(Debug, Clone)]
enum Param {
    Int(i64),
    Bytes(Vec<u8>),
    Text(String),
}

impl rusqlite::ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Param::Int(v) => v.to_sql(),
            Param::Bytes(v) => v.to_sql(),
            Param::Text(v) => v.to_sql(),
        }
    }
}

/// The file the SQLite log lives in, opened behind the server's back.
async fn sqlite_file(db: &carelog_store::SqliteDatabase) -> rusqlite::Connection {
    rusqlite::Connection::open(db.file().await.expect("a file")).expect("open the file")
}

/// Runs `sql` (`$n` parameters, which both backends accept) with `params` on the log's database.
async fn execute(app: &TestApp, sql: &str, params: &[Param]) {
    match app.database() {
        Database::Sqlite(db) => {
            sqlite_file(&db).await.execute(sql, rusqlite::params_from_iter(params)).unwrap();
        }
        Database::Postgres(pool) => {
            let mut query = sqlx::query(AssertSqlSafe(sql.to_owned()));
            for param in params {
                query = match param.clone() {
                    Param::Int(v) => query.bind(v),
                    Param::Bytes(v) => query.bind(v),
                    Param::Text(v) => query.bind(v),
                };
            }
            query.execute(&pool).await.unwrap();
        }
    }
}

/// The domain-separated layout of an event's chain hash (libs/store row.rs), as an attacker
/// reading the source would rebuild it.
fn chain_hash(row: &Row, data: &str, prev_hash: &[u8]) -> Vec<u8> {
    fn put(hasher: &mut Sha256, bytes: &[u8]) {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    }
    let mut hasher = Sha256::new();
    hasher.update(b"carelog.event.v1\0");
    put(&mut hasher, prev_hash);
    put(&mut hasher, row.stream.as_bytes());
    hasher.update((row.revision as u64).to_be_bytes());
    hasher.update((row.position as u64).to_be_bytes());
    hasher.update(&row.event_id);
    put(&mut hasher, row.event_type.as_bytes());
    hasher.update((row.schema_version as u32).to_be_bytes());
    hasher.update(row.recorded_at.to_be_bytes());
    put(&mut hasher, data.as_bytes());
    put(&mut hasher, row.metadata.as_bytes());
    hasher.finalize().to_vec()
}

#[derive(Debug, sqlx::FromRow)]
struct Row {
    position: i64,
    event_id: Vec<u8>,
    stream: String,
    revision: i64,
    event_type: String,
    schema_version: i64,
    data: String,
    metadata: String,
    recorded_at: i64,
    prev_hash: Vec<u8>,
}

/// A [`SQLITE_ROWS`] row.
fn sqlite_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        position: r.get(0)?,
        event_id: r.get(1)?,
        stream: r.get(2)?,
        revision: r.get(3)?,
        event_type: r.get(4)?,
        schema_version: r.get(5)?,
        data: r.get(6)?,
        metadata: r.get(7)?,
        recorded_at: r.get(8)?,
        prev_hash: r.get(9)?,
    })
}

const SQLITE_ROWS: &str = "SELECT position, event_id, stream, revision, event_type, schema_version, data, metadata, \
    recorded_at, prev_hash FROM events WHERE stream = $1 AND revision >= $2 ORDER BY revision";
const POSTGRES_ROWS: &str = "SELECT position, uuid_send(event_id) AS event_id, stream, revision, event_type, \
    schema_version::bigint AS schema_version, data::text AS data, metadata::text AS metadata, \
    (extract(epoch FROM recorded_at) * 1000000)::bigint AS recorded_at, prev_hash \
    FROM events WHERE stream = $1 AND revision >= $2 ORDER BY revision";

/// Changes the first held session's minutes and swaps two sections of the first signed note,
/// recomputes every hash after them in their streams, and deletes the tree and its checkpoints.
/// The server must be stopped.
pub async fn rewrite_history(app: &TestApp) {
    disable_guards(app).await;
    edit_first(app, "SessionHeld", |data| {
        data["actual_minutes"] = Value::from(data["actual_minutes"].as_u64().expect("minutes") + 30);
    })
    .await;
    edit_first(app, "ProgressNoteSigned", |data| {
        let content = data["content"].as_object_mut().expect("note content");
        let keys: Vec<String> = content.keys().filter(|k| *k != "kind").cloned().collect();
        let (a, b) = (content[&keys[0]].clone(), content[&keys[1]].clone());
        assert_ne!(a, b, "two sections to swap");
        content.insert(keys[0].clone(), b);
        content.insert(keys[1].clone(), a);
    })
    .await;
    let empty = empty_root().to_vec();
    execute(app, "DELETE FROM merkle_nodes", &[]).await;
    execute(app, "DELETE FROM merkle_checkpoints", &[]).await;
    execute(app, "UPDATE merkle_tree SET size = 0, root = $1", &[Param::Bytes(empty)]).await;
}

/// Stores `checkpoint` as if the service had signed it.
pub async fn insert_checkpoint(app: &TestApp, checkpoint: &SignedCheckpoint) {
    const INSERT: &str = "INSERT INTO merkle_checkpoints (tree_size, root, signed_at, public_key, signature)
                          VALUES ($1, $2, $3, $4, $5)";
    let params = [
        Param::Int(checkpoint.tree_size as i64),
        Param::Bytes(checkpoint.root.to_vec()),
        Param::Int(checkpoint.signed_at.timestamp_micros()),
        Param::Bytes(checkpoint.public_key.to_vec()),
        Param::Bytes(checkpoint.signature.clone()),
    ];
    execute(app, INSERT, &params).await;
}

/// Drops (SQLite) or disables (PostgreSQL) the triggers that keep events and the tree immutable.
async fn disable_guards(app: &TestApp) {
    let sql = match app.database() {
        Database::Sqlite(_) => {
            "DROP TRIGGER IF EXISTS merkle_nodes_no_update; DROP TRIGGER IF EXISTS merkle_nodes_no_delete;
             DROP TRIGGER IF EXISTS merkle_checkpoints_no_update; DROP TRIGGER IF EXISTS merkle_checkpoints_no_delete;"
        }
        Database::Postgres(_) => {
            "ALTER TABLE merkle_nodes DISABLE TRIGGER merkle_nodes_immutable;
             ALTER TABLE merkle_checkpoints DISABLE TRIGGER merkle_checkpoints_immutable;"
        }
    };
    // `tamper` also switches the events' own guard off, for good.
    app.tamper(sql).await;
}

/// Rewrites the data of the first event of `event_type` with `edit` and recomputes the chain of its
/// stream from there on.
async fn edit_first(app: &TestApp, event_type: &str, edit: impl FnOnce(&mut Value)) {
    let (rows_sql, json) = match app.backend {
        Backend::Sqlite => (SQLITE_ROWS, ""),
        Backend::Postgres => (POSTGRES_ROWS, "::json"),
    };
    const FIRST: &str = "SELECT stream, revision FROM events WHERE event_type = $1 ORDER BY position LIMIT 1";
    let rows: Vec<Row> = match app.database() {
        Database::Sqlite(db) => {
            let conn = sqlite_file(&db).await;
            let (stream, revision): (String, i64) =
                conn.query_row(FIRST, [event_type], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
            let mut statement = conn.prepare(rows_sql).unwrap();
            let rows = statement.query_map(rusqlite::params![stream, revision], sqlite_row).unwrap();
            rows.collect::<Result<_, _>>().unwrap()
        }
        Database::Postgres(pool) => {
            let (stream, revision): (String, i64) =
                sqlx::query_as(FIRST).bind(event_type).fetch_one(&pool).await.unwrap();
            sqlx::query_as(rows_sql).bind(&stream).bind(revision).fetch_all(&pool).await.unwrap()
        }
    };
    let update = format!("UPDATE events SET data = $1{json}, prev_hash = $2, hash = $3 WHERE position = $4");
    let mut prev = rows[0].prev_hash.clone();
    let mut edit = Some(edit);
    for row in &rows {
        let mut data = row.data.clone();
        if let Some(edit) = edit.take() {
            let mut value: Value = serde_json::from_str(&row.data).unwrap();
            edit(&mut value);
            data = serde_json::to_string(&value).unwrap();
            assert_ne!(data, row.data, "the edit changed the row");
        }
        let hash = chain_hash(row, &data, &prev);
        let params = [Param::Text(data), Param::Bytes(prev), Param::Bytes(hash.clone()), Param::Int(row.position)];
        execute(app, &update, &params).await;
        prev = hash;
    }
}
