//! The replicated PostgreSQL the HA test runs against: `scripts/ha-cluster.sh` (etcd, three
//! PostgreSQL 15 nodes under Patroni with synchronous replication, HAProxy), driven from here.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// HAProxy's port that follows the leader, and the one that spreads over hot standbys.
const WRITE_PORT: u16 = 15432;
const READ_PORT: u16 = 15433;

#[derive(Debug, Clone)]
pub struct Cluster {
    script: PathBuf,
}

impl Cluster {
    /// Starts the cluster (idempotent: an already running one is reused) and waits until every node
    /// streams. `None`, with the reason printed, when it cannot come up outside CI; under `CI=true`
    /// that is a failure, never a skip.
    pub fn up() -> Option<Self> {
        let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let cluster = Self { script: workspace.join("scripts/ha-cluster.sh") };
        let started = cluster.run(&["up"]).and_then(|_| cluster.run(&["wait", "180"]));
        match started {
            Ok(_) => Some(cluster),
            Err(error) if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
                panic!("the HA cluster must come up in CI: {error}")
            }
            Err(error) => {
                eprintln!(
                    "SKIPPED: the HA cluster did not come up ({error}); run `sudo scripts/ha-cluster.sh up` \
                     (it installs patroni, etcd-server and haproxy) and re-run"
                );
                None
            }
        }
    }

    pub fn write_url(&self, schema: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{WRITE_PORT}/postgres?schema={schema}")
    }

    pub fn read_url(&self, schema: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{READ_PORT}/postgres?schema={schema}")
    }

    /// SIGKILL to the leader's postmaster; returns the node's name.
    pub fn kill_postgres(&self) -> String {
        self.run(&["kill-postgres"]).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Stops the leader's Patroni (a switchover: it stops PostgreSQL and hands the lead over).
    pub fn stop_leader(&self) -> String {
        self.run(&["stop-leader"]).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn start_node(&self, node: &str) {
        self.run(&["start-node", node]).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Blocks until a leader accepts writes with a synchronous standby.
    pub fn wait_writable(&self, within: Duration) {
        self.run(&["writable", &within.as_secs().to_string()]).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Blocks until there is a writable leader, a synchronous standby and every node streams;
    /// returns how long that took.
    pub fn wait_complete(&self, within: Duration) -> Duration {
        let started = Instant::now();
        self.run(&["wait", &within.as_secs().to_string()]).unwrap_or_else(|e| panic!("{e}"));
        started.elapsed()
    }

    fn run(&self, args: &[&str]) -> Result<String, String> {
        let output = Command::new(&self.script)
            .args(args)
            .output()
            .map_err(|e| format!("running {}: {e}", self.script.display()))?;
        let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if output.status.success() {
            Ok(stdout.lines().last().unwrap_or_default().to_owned())
        } else {
            Err(format!(
                "{} {} failed ({}):\n{stdout}\n{}",
                self.script.display(),
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}
