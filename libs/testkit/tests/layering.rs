//! The layering of docs/adr/0005-ports-and-adapters.md, checked on every test run: each workspace
//! crate's Cargo.toml may name only crates of a lower layer, backend drivers only where adapters
//! live, and no source file outside a backend adapter may name a backend. Code that breaks a rule
//! today is listed below with the step of issue 26 that removes it; the lists only ever shrink.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Layer of every workspace crate: a `[dependencies]` entry must point to a strictly lower layer.
const LAYERS: &[(&str, u8)] = &[
    // Foundations: pure types and generated code, no I/O of their own.
    ("carelog-domain", 0),
    ("carelog-proto", 0),
    ("carelog-testkit", 0),
    // The event log: the EventStore trait, envelopes, and the backends' adapters.
    ("carelog-store", 1),
    // Libraries that own a storage port (client keys; read models and leader election).
    ("carelog-vault", 2),
    ("carelog-projections", 2),
    // FHIR R4 mapping over the read models; what an auditor is handed (diffs, reports) over the typed API.
    ("carelog-fhir", 3),
    ("carelog-audit", 3),
    // The command executor: load → decide → append over the aggregates, in the domain's terms.
    ("carelog-executor", 3),
    // Authorization: principals, tokens, policy, the read gate and its access log.
    ("carelog-auth", 4),
    // The server runtime: bootstrap, telemetry, options, proto parsing, replies.
    ("carelog-runtime", 5),
    // Services: siblings, composed only by the all-in-one binary.
    ("carelog-intake", 6),
    ("carelog-planning", 6),
    ("carelog-sessions", 6),
    ("carelog-billing", 6),
    ("carelog-records", 6),
    ("carelog-proofs", 6),
    ("carelog-console", 6),
    ("carelog-fhir-server", 6),
    // The composition root: the all-in-one binary and CLI.
    ("carelog", 7),
    // The black-box harness runs the whole system.
    ("carelog-blackbox", 8),
];

/// Crates any crate's tests may use: the harnesses and the whole system run end to end.
const TEST_HARNESSES: &[&str] = &["carelog-testkit", "carelog-blackbox", "carelog"];

/// Database drivers: only crates that hold backend adapters may link them (tests may, to look at
/// what is stored).
const DRIVERS: &[&str] = &["sqlx", "sqlx-core", "sqlx-postgres", "rusqlite", "kurrentdb"];
const ADAPTER_CRATES: &[&str] = &["carelog-store", "carelog-vault", "carelog-projections"];

/// Edges that break the layering today: (crate, dependency, why it is still here).
const ALLOWED_EDGES: &[(&str, &str, &str)] = &[
    ("carelog-records", "carelog-console", "the records binary starts the console beside it; belongs in a binary"),
    ("carelog-fhir-server", "carelog-records", "shares records' FHIR release (read gate); move it below services"),
    ("carelog-planning", "carelog-intake", "dev: review-interval tests register clients through intake"),
];

/// Crates outside the adapters that link a driver today: (crate, driver, why).
const ALLOWED_DRIVERS: &[(&str, &str, &str)] = &[("carelog", "sqlx", "bench.rs measures raw PostgreSQL inserts")];

/// Names of a backend in source code.
const BACKEND_NAMES: &[&str] = &[
    "Database::Sqlite",
    "Database::Postgres",
    "PgPool",
    "SqlitePool",
    "PgConnection",
    "SqliteConnection",
    "rusqlite::",
];

/// Source files (from the workspace root) outside an adapter that name a backend today, and why.
const ALLOWED_BACKEND_FILES: &[(&str, &str)] = &[
    ("libs/projections/src/runner_tests.rs", "tests poke the read-model tables"),
    ("services/carelog/src/bench.rs", "measures raw PostgreSQL inserts"),
    ("tests/src/lib.rs", "the black-box harness resets the database between tests"),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// The crate's package name and its workspace dependencies by section (`dependencies`, `dev-dependencies`…).
#[derive(Debug)]
struct Manifest {
    name: String,
    deps: BTreeMap<String, BTreeSet<String>>,
}

fn parse_manifest(text: &str) -> Manifest {
    let (mut name, mut section) = (String::new(), String::new());
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            // `[target.'cfg(unix)'.dependencies]` counts as `dependencies`.
            section = header.rsplit('.').next().unwrap_or(header).to_owned();
            continue;
        }
        let key = line.split(['=', '.']).next().unwrap_or("").trim().trim_matches('"');
        if section == "package" && key == "name" {
            name = line.split('"').nth(1).expect("quoted package name").to_owned();
        } else if section.ends_with("dependencies") {
            deps.entry(section.clone()).or_default().insert(key.to_owned());
        }
    }
    Manifest { name, deps }
}

fn workspace_manifests() -> Vec<(String, Manifest)> {
    let root = root();
    let text = std::fs::read_to_string(root.join("Cargo.toml")).expect("workspace Cargo.toml");
    let members = text.split("members = [").nth(1).and_then(|rest| rest.split(']').next()).expect("members list");
    let dirs: Vec<String> = members.split('"').skip(1).step_by(2).map(str::to_owned).collect();
    assert!(dirs.len() >= LAYERS.len(), "members: {dirs:?}");
    dirs.into_iter()
        .map(|dir| {
            let text = std::fs::read_to_string(root.join(&dir).join("Cargo.toml")).expect("member Cargo.toml");
            (dir, parse_manifest(&text))
        })
        .collect()
}

fn layer(name: &str) -> Option<u8> {
    LAYERS.iter().find(|(crate_name, _)| *crate_name == name).map(|(_, layer)| *layer)
}

/// Every dependency of one manifest that points the wrong way, as `crate -> dependency (section)`.
fn wrong_way(manifest: &Manifest) -> Vec<String> {
    let own = layer(&manifest.name).unwrap_or_else(|| panic!("{} has no layer in LAYERS", manifest.name));
    let mut wrong = Vec::new();
    for (section, deps) in &manifest.deps {
        let testing = section == "dev-dependencies";
        for dep in deps.iter().filter(|d| layer(d).is_some() && **d != manifest.name) {
            let harness = testing && TEST_HARNESSES.contains(&dep.as_str());
            let allowed = ALLOWED_EDGES.iter().any(|(from, to, _)| *from == manifest.name && to == dep);
            if layer(dep).is_some_and(|l| l >= own) && !harness && !allowed {
                wrong.push(format!(
                    "{} (layer {own}) -> {dep} (layer {}) in [{section}]",
                    manifest.name,
                    layer(dep).unwrap_or(0)
                ));
            }
        }
    }
    wrong
}

fn drivers_outside_adapters(manifest: &Manifest) -> Vec<String> {
    let harness = TEST_HARNESSES.contains(&manifest.name.as_str()) && manifest.name != "carelog";
    if harness || ADAPTER_CRATES.contains(&manifest.name.as_str()) {
        return Vec::new();
    }
    let linked = manifest.deps.get("dependencies").into_iter().flatten();
    linked
        .filter(|dep| DRIVERS.contains(&dep.as_str()))
        .filter(|dep| !ALLOWED_DRIVERS.iter().any(|(from, driver, _)| *from == manifest.name && driver == dep))
        .map(|dep| format!("{} links {dep}", manifest.name))
        .collect()
}

#[test]
fn every_workspace_crate_has_a_layer_and_depends_only_downwards() {
    let manifests = workspace_manifests();
    let names: BTreeSet<&str> = manifests.iter().map(|(_, m)| m.name.as_str()).collect();
    let layered: BTreeSet<&str> = LAYERS.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, layered, "every workspace crate needs a layer in LAYERS (and the ADR)");
    let wrong: Vec<String> = manifests.iter().flat_map(|(_, m)| wrong_way(m)).collect();
    assert!(
        wrong.is_empty(),
        "dependencies pointing the wrong way (docs/adr/0005-ports-and-adapters.md):\n{}",
        wrong.join("\n")
    );
    for (from, to, _) in ALLOWED_EDGES {
        let manifest = &manifests.iter().find(|(_, m)| m.name == *from).expect("allowed crate").1;
        assert!(
            manifest.deps.values().any(|deps| deps.contains(*to)),
            "{from} -> {to} is gone: drop it from ALLOWED_EDGES"
        );
    }
}

#[test]
fn only_crates_holding_adapters_link_a_database_driver() {
    let manifests = workspace_manifests();
    let outside: Vec<String> = manifests.iter().flat_map(|(_, m)| drivers_outside_adapters(m)).collect();
    assert!(outside.is_empty(), "database drivers outside the adapters:\n{}", outside.join("\n"));
    for (from, driver, _) in ALLOWED_DRIVERS {
        let manifest = &manifests.iter().find(|(_, m)| m.name == *from).expect("allowed crate").1;
        let linked = manifest.deps.get("dependencies").is_some_and(|deps| deps.contains(*driver));
        assert!(linked, "{from} no longer links {driver}: drop it from ALLOWED_DRIVERS");
    }
}

/// SQLite has one driver, rusqlite: measured 1.35–4× faster than sqlx's (BENCHMARKS.md, issue 26).
/// However sqlx's SQLite driver is switched on (the workspace's features, a member's, another
/// crate's), it puts these packages in the lock file.
const SECOND_SQLITE_DRIVER: &[&str] = &["sqlx-sqlite"];

/// The package names of a Cargo.lock.
fn locked_packages(lock: &str) -> BTreeSet<&str> {
    lock.lines().filter_map(|line| line.strip_prefix("name = \"")?.strip_suffix('"')).collect()
}

/// The lines of a Cargo.toml that give sqlx a `sqlite` feature.
fn sqlx_sqlite_features(manifest: &str) -> Vec<&str> {
    manifest.lines().filter(|line| line.trim_start().starts_with("sqlx") && line.contains("\"sqlite\"")).collect()
}

#[test]
fn sqlite_has_one_driver() {
    let root = root();
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).expect("Cargo.lock");
    let second: Vec<_> = locked_packages(&lock).into_iter().filter(|p| SECOND_SQLITE_DRIVER.contains(p)).collect();
    assert!(second.is_empty(), "a second SQLite driver is linked (use rusqlite): {second:?}");
    let mut manifests = vec![String::from(".")];
    manifests.extend(workspace_manifests().into_iter().map(|(dir, _)| dir));
    for dir in manifests {
        let text = std::fs::read_to_string(root.join(&dir).join("Cargo.toml")).expect("Cargo.toml");
        let lines = sqlx_sqlite_features(&text);
        assert!(lines.is_empty(), "{dir}/Cargo.toml switches on sqlx's SQLite driver (use rusqlite): {lines:?}");
    }
}

#[test]
fn the_driver_checks_see_a_second_sqlite_driver() {
    let lock = "[[package]]\nname = \"sqlx\"\nversion = \"0.9.0\"\n\n[[package]]\nname = \"sqlx-sqlite\"\n";
    assert_eq!(locked_packages(lock).into_iter().collect::<Vec<_>>(), ["sqlx", "sqlx-sqlite"]);
    let manifest = "[dependencies]\nsqlx = { workspace = true, features = [\"sqlite\"] }\nrusqlite = \"0.39\"\n";
    assert_eq!(sqlx_sqlite_features(manifest), ["sqlx = { workspace = true, features = [\"sqlite\"] }"]);
}

/// Whether a source path lies in a backend adapter: a directory or file named for a backend, or
/// the `adapters` module where a port owner turns the store's database handle into its adapter.
fn is_adapter(relative: &Path) -> bool {
    relative.components().any(|part| {
        let part = part.as_os_str().to_string_lossy();
        let stem = part.strip_suffix(".rs").unwrap_or(&part);
        stem == "adapters" || ["sqlite", "postgres", "kurrentdb"].iter().any(|backend| stem.starts_with(backend))
    })
}

fn rust_sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn no_source_outside_a_backend_adapter_names_a_backend() {
    let root = root();
    let mut sources = Vec::new();
    for (dir, _) in workspace_manifests() {
        rust_sources(&root.join(dir).join("src"), &mut sources);
    }
    let mut naming = BTreeSet::new();
    for path in sources {
        let relative = path.strip_prefix(&root).expect("under the root").to_path_buf();
        let text = std::fs::read_to_string(&path).expect("source");
        if !is_adapter(&relative) && BACKEND_NAMES.iter().any(|name| text.contains(name)) {
            naming.insert(relative.to_string_lossy().into_owned());
        }
    }
    let allowed: BTreeSet<String> = ALLOWED_BACKEND_FILES.iter().map(|(file, _)| (*file).to_owned()).collect();
    let new: Vec<_> = naming.difference(&allowed).collect();
    assert!(new.is_empty(), "files outside a backend adapter that name a backend (move the code into one):\n{new:?}");
    let stale: Vec<_> = allowed.difference(&naming).collect();
    assert!(stale.is_empty(), "no longer name a backend: drop them from ALLOWED_BACKEND_FILES:\n{stale:?}");
}

#[test]
fn the_manifest_reader_sees_every_kind_of_dependency_entry() {
    let manifest = parse_manifest(
        "[package]\nname = \"x\"\n[dependencies]\ncarelog-store.workspace = true\nsqlx = { workspace = true }\n\
         [target.'cfg(unix)'.dependencies]\nrusqlite = \"0.39\"\n[dev-dependencies]\n\"carelog-vault\" = { path = \"v\" }\n",
    );
    assert_eq!(manifest.name, "x");
    let deps = &manifest.deps["dependencies"];
    assert_eq!(deps.iter().map(String::as_str).collect::<Vec<_>>(), ["carelog-store", "rusqlite", "sqlx"]);
    assert!(manifest.deps["dev-dependencies"].contains("carelog-vault"));
    assert!(
        is_adapter(Path::new("libs/vault/src/keys/postgres.rs")) && !is_adapter(Path::new("libs/vault/src/keys.rs"))
    );
}

/// gRPC crates: the command executor works in the domain's terms and may not need them.
const WIRE_CRATES: &[&str] = &["tonic", "tonic-types", "prost", "prost-types", "carelog-proto"];

#[test]
fn the_executor_needs_no_grpc() {
    let text = std::fs::read_to_string(root().join("libs/executor/Cargo.toml")).expect("executor Cargo.toml");
    // Optional entries are the `grpc` feature's Status mapping, compiled only for the runtime.
    let required: Vec<&str> = text
        .lines()
        .filter(|line| !line.contains("optional = true"))
        .filter_map(|line| line.split(['=', '.']).next().map(str::trim))
        .filter(|key| WIRE_CRATES.contains(key))
        .collect();
    assert!(required.is_empty(), "carelog-executor requires {required:?}: keep gRPC in carelog-runtime");
}

/// Library crates (everything under `libs/`) return typed errors a caller can match on; `anyhow`
/// is for binaries and tests (`[dev-dependencies]`).
#[test]
fn no_library_depends_on_anyhow() {
    let with_anyhow: Vec<String> = workspace_manifests()
        .into_iter()
        .filter(|(dir, _)| dir.starts_with("libs/"))
        .filter(|(_, m)| m.deps.get("dependencies").is_some_and(|deps| deps.contains("anyhow")))
        .map(|(_, m)| m.name)
        .collect();
    assert!(with_anyhow.is_empty(), "{with_anyhow:?} depend on anyhow: return a thiserror enum instead");
}
