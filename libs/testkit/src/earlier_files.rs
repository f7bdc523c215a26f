//! Files written by earlier builds, for tests that later builds still open them.

use std::io::Read;
use std::path::{Path, PathBuf};

/// What the SQLite fixture holds: `carelog demo` as main wrote it at f7a732b, when SQLite had two
/// drivers (sqlx's migrator and pool beside rusqlite), its WAL checkpointed into the file.
#[derive(Debug, Clone, Copy)]
pub struct SqlxEraDemo {
    /// The log's head: events at positions 1 ..= `head`.
    pub head: u64,
    pub streams: u64,
    /// The demo's one client, whose key is in `client_keys` and whose episode is a read model.
    pub client: &'static str,
    /// Leaves the Merkle builder had committed when the demo stopped.
    pub merkle_size: u64,
    /// The vault's master key (base64), kept beside the file as `carelog demo` created it.
    pub master_key: &'static str,
}

pub const SQLX_ERA_DEMO: SqlxEraDemo = SqlxEraDemo {
    head: 55,
    streams: 11,
    client: "01a24fcf-9028-704c-af66-3a3e60b5d438",
    merkle_size: 51,
    master_key: include_str!("../fixtures/sqlx-era-demo.db.master-key"),
};

const SQLX_ERA_DEMO_GZ: &[u8] = include_bytes!("../fixtures/sqlx-era-demo.db.gz");

/// Writes the fixture (see [`SQLX_ERA_DEMO`]) to `dir`, returning the file's path.
pub fn sqlx_era_demo_file(dir: &Path) -> PathBuf {
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(SQLX_ERA_DEMO_GZ).read_to_end(&mut bytes).expect("the fixture is gzip");
    let path = dir.join("sqlx-era-demo.db");
    std::fs::write(&path, bytes).expect("write the fixture");
    path
}
