//! The third-party tools the tests drive the server with, and how they are run.

use std::path::{Path, PathBuf};
use std::process::Command;

const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/client");

/// fhirpy's Python and the folder holding `@medplum/core`.
#[derive(Debug)]
pub struct Tools {
    python: PathBuf,
    node_dir: PathBuf,
}

impl Tools {
    /// The tools from `CARELOG_FHIR_CLIENT_ENV` (default `target/fhir-client-env`); `None`
    /// (after saying so) when they are missing locally; a failure under `CI=true`.
    pub fn find() -> Option<Self> {
        let dir = std::env::var_os("CARELOG_FHIR_CLIENT_ENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fhir-client-env"));
        let tools = Self { python: dir.join("venv/bin/python"), node_dir: dir.join("node") };
        if tools.python.exists() && tools.node_dir.join("node_modules/@medplum/core").exists() {
            return Some(tools);
        }
        let message = format!("fhirpy / @medplum/core not found in {}: run scripts/fhir-client-deps.sh", dir.display());
        assert!(std::env::var("CI").is_err(), "{message}");
        eprintln!("SKIPPED: {message}");
        None
    }

    /// Runs one phase of the client script; its output is shown when it fails.
    pub fn drive(&self, phase: &str, fixture: &Path) {
        let output = Command::new(&self.python)
            .arg(format!("{SCRIPTS}/drive.py"))
            .arg(phase)
            .arg(fixture)
            .output()
            .expect("python runs");
        report("drive.py", phase, &output);
    }

    /// Validates every resource the client received with @medplum/core.
    pub fn validate(&self, received: &Path) {
        report("validate.mjs", "all", &self.run_validator(received));
    }

    /// The validator is not a rubber stamp: a Consent without a policy (what Carelog exported
    /// before, ppc-1) and a Patient with an unknown element are refused.
    pub fn assert_validator_refuses_invalid(&self, scratch: &Path) {
        std::fs::create_dir_all(scratch).expect("scratch dir");
        let consent = r#"{"resourceType":"Consent","id":"c1","status":"active","scope":{"text":"treatment"},"category":[{"text":"consent"}],"patient":{"reference":"Patient/p1"}}"#;
        std::fs::write(scratch.join("consent.json"), consent).expect("write");
        std::fs::write(scratch.join("patient.json"), r#"{"resourceType":"Patient","id":"p1","colour":"red"}"#)
            .expect("write");
        let output = self.run_validator(scratch);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(!output.status.success(), "the validator accepted invalid resources:\n{stdout}");
        assert!(stdout.contains("ppc-1") && stdout.contains("2 errors"), "{stdout}");
    }

    fn run_validator(&self, dir: &Path) -> std::process::Output {
        Command::new("node")
            .arg(format!("{SCRIPTS}/validate.mjs"))
            .arg(dir)
            .current_dir(&self.node_dir)
            .output()
            .expect("node runs")
    }
}

fn report(script: &str, phase: &str, output: &std::process::Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("--- {script} {phase}\n{stdout}{stderr}");
    assert!(output.status.success(), "{script} {phase} failed:\n{stdout}\n{stderr}");
}
