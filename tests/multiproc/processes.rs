//! Carelog's binaries as separate OS processes on loopback: finding (or building) them, starting
//! them on port 0, learning the port they bound, and killing them — always, even when a test fails.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::{Duration, SystemTime};

/// The binaries the multi-process tests run, by package (`carelog` for its `verify` commands).
pub const SERVICE_PACKAGES: [&str; 7] = [
    "carelog-intake",
    "carelog-planning",
    "carelog-sessions",
    "carelog-billing",
    "carelog-records",
    "carelog-proofs",
    "carelog",
];

/// How long a process may take to migrate, bind and announce its address.
const STARTUP: Duration = Duration::from_secs(60);

/// Where cargo put this test executable's sibling binaries (`target/<profile>/`): integration
/// tests only get `CARGO_BIN_EXE_*` for their own package. `cargo nextest run --workspace` (and
/// `cargo test --workspace`) build every binary; a narrower run builds the missing or stale ones here.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = BUILT.get_or_init(ensure_built).as_ref().unwrap_or_else(|e| panic!("{e}"));
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

fn ensure_built() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("locating the test executable: {e}"))?;
    // target/<profile>/deps/multiproc-HASH → target/<profile>
    let profile_dir = exe.parent().and_then(Path::parent).ok_or("the test executable has no target directory")?;
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().ok_or("no workspace root")?;
    let binaries: Vec<PathBuf> =
        SERVICE_PACKAGES.iter().map(|p| profile_dir.join(format!("{p}{}", std::env::consts::EXE_SUFFIX))).collect();
    let oldest_binary = binaries.iter().map(|b| modified(b)).min().flatten();
    let newest_source = ["libs", "services", "proto", "Cargo.lock"]
        .iter()
        .filter_map(|entry| newest_modification(&workspace.join(entry)))
        .max();
    let fresh = matches!((oldest_binary, newest_source), (Some(built), Some(source)) if built >= source);
    if fresh {
        return Ok(profile_dir.to_path_buf());
    }
    let profile = profile_dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
    let target_dir = profile_dir.parent().ok_or("no target directory")?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| option_env!("CARGO").unwrap_or("cargo").to_owned());
    let mut build = Command::new(cargo);
    build.current_dir(workspace).arg("build").arg("--bins").env("CARGO_TARGET_DIR", target_dir);
    match profile {
        "debug" => {}
        "release" => {
            build.arg("--release");
        }
        other => {
            build.args(["--profile", other]);
        }
    }
    for package in SERVICE_PACKAGES {
        build.args(["-p", package]);
    }
    eprintln!("building the service binaries: {build:?}");
    let status = build.status().map_err(|e| format!("running cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building the service binaries failed: {status}"));
    }
    Ok(profile_dir.to_path_buf())
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of a file or of any file under a directory.
fn newest_modification(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path).ok()?.filter_map(Result::ok).filter_map(|entry| newest_modification(&entry.path())).max()
}

/// The log every process shares: its URL and the master key that seals its PHI.
#[derive(Debug, Clone, Copy)]
pub struct Store<'a> {
    pub url: &'a str,
    pub master_key: &'a str,
}

/// One running service process. Dropping it kills the process (and shows its log if the test is
/// failing), so a failed assertion never leaves servers behind.
#[derive(Debug)]
pub struct Process {
    pub name: String,
    pub addr: SocketAddr,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Process {
    /// Starts `package`'s binary with `args` on a free loopback port and waits until it announces
    /// its address.
    pub fn start(name: &str, package: &str, store: &Store<'_>, args: &[&str]) -> Self {
        let mut child = Command::new(binary(package))
            .args(["--store", store.url, "--listen", "127.0.0.1:0"])
            .env("CARELOG_MASTER_KEY", store.master_key)
            .args(args)
            .env_remove("CARELOG_STORE")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            // Bearer tokens signed with the black-box tests' shared secret; plaintext on loopback.
            .env("CARELOG_AUTH_SECRET", carelog_blackbox::TEST_SECRET)
            .env_remove("CARELOG_ALLOW_ANONYMOUS")
            .env("CARELOG_ALLOW_PLAINTEXT", "true")
            // The same configured checkpoint signing key across restarts (PostgreSQL requires one).
            .env("CARELOG_SIGNING_KEY", "11".repeat(32))
            .env_remove("CARELOG_SIGNING_KEY_FILE")
            .env("RUST_LOG", "warn,carelog=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {package}: {e}"));
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (announced, address) = mpsc::channel();
        let lines = Arc::clone(&log);
        // Drains stderr for the life of the process (a full pipe would block it) and picks out the
        // "… listening on ADDR (store …)" line every binary prints once bound.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = listening_address(&line) {
                    let _ = announced.send(addr);
                }
                lines.lock().expect("log lock").push(line);
            }
        });
        let mut process = Self { name: name.to_owned(), addr: "0.0.0.0:0".parse().expect("addr"), child, log };
        match address.recv_timeout(STARTUP) {
            Ok(addr) => process.addr = addr,
            Err(_) => {
                panic!("{name} exited or did not announce its address within {STARTUP:?}:\n{}", process.log_tail())
            }
        }
        process
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown hook runs, the process's PostgreSQL sessions just end.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process has exited (for a crash the test did not cause).
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// The last lines it logged.
    pub fn log_tail(&self) -> String {
        let lines = self.log.lock().expect("log lock");
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Whether it logged a line containing `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        self.log.lock().expect("log lock").iter().any(|line| line.contains(needle))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- log of {} (pid {}) ---\n{}", self.name, self.pid(), self.log_tail());
        }
        self.kill();
    }
}

fn listening_address(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once(" listening on ")?;
    rest.split_whitespace().next()?.parse().ok()
}

#[test]
fn the_announced_address_is_read_from_the_startup_line() {
    let line = "RecordsService listening on 127.0.0.1:41235 (store postgres://postgres@127.0.0.1:5432/test)";
    assert_eq!(listening_address(line), Some("127.0.0.1:41235".parse().expect("addr")));
    assert_eq!(listening_address("2026-11-02 INFO serving"), None);
}
