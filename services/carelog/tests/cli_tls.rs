//! The README's production set-up, end to end from the command line: `carelog serve` with TLS
//! (mutual, with a client CA) and bearer tokens, then the demo, the record and audit commands and
//! the proof commands over https with a minted token — and the refusals when any part is missing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

const SECRET: &str = "carelog-cli-tls-test-shared-secret-0123456789abcdef";

/// A CA that signs the server's and the client's certificates, written as PEM files.
fn certificates(dir: &Path) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "Carelog test CA");
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA");
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    for (name, file) in [("localhost", "server"), ("cli-operator", "client")] {
        let key = KeyPair::generate().expect("leaf key");
        let mut params = CertificateParams::new(vec![name.to_owned()]).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.signed_by(&key, &ca).expect("sign leaf");
        std::fs::write(dir.join(format!("{file}.pem")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{file}.key")), key.serialize_pem()).unwrap();
    }
}

fn carelog() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_carelog"));
    for name in ["DATABASE_URL", "CARELOG_TOKEN", "CARELOG_AUTH_SECRET", "CARELOG_SERVER", "CARELOG_STORE"] {
        command.env_remove(name);
    }
    command
}

fn run(command: &mut Command) -> (bool, String, String) {
    let Output { status, stdout, stderr } = command.output().expect("run carelog");
    (status.success(), String::from_utf8_lossy(&stdout).into_owned(), String::from_utf8_lossy(&stderr).into_owned())
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The CLI's TLS flags for `dir`'s certificates, the client certificate included.
fn tls(dir: &Path) -> Vec<String> {
    let path = |file: &str| dir.join(file).display().to_string();
    vec![
        "--ca-cert".into(),
        path("ca.pem"),
        "--client-cert".into(),
        path("client.pem"),
        "--client-key".into(),
        path("client.key"),
        "--tls-domain".into(),
        "localhost".into(),
    ]
}

#[test]
fn the_production_example_works_from_the_cli_over_mutual_tls_with_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    certificates(dir);
    let key: PathBuf = dir.join("signing.key");
    let (ok, _, err) = run(carelog().args(["keygen", "--out"]).arg(&key));
    assert!(ok, "{err}");
    let port = free_port();
    let server = format!("https://127.0.0.1:{port}");
    let _serve = Server(
        carelog()
            .args(["serve", "--store", &format!("sqlite:{}", dir.join("carelog.db").display())])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--tls-cert")
            .arg(dir.join("server.pem"))
            .arg("--tls-key")
            .arg(dir.join("server.key"))
            .arg("--tls-client-ca")
            .arg(dir.join("ca.pem"))
            .env("CARELOG_AUTH_SECRET", SECRET)
            .env("CARELOG_SIGNING_KEY_FILE", &key)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start carelog serve"),
    );

    // The demo mints each caller's token from the shared secret, as an integration would.
    let started = Instant::now();
    let demo = loop {
        let attempt =
            run(carelog().args(["demo", "--server", &server]).args(tls(dir)).env("CARELOG_AUTH_SECRET", SECRET));
        if attempt.0 || started.elapsed() > Duration::from_secs(30) {
            break attempt;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(demo.0, "demo over mutual TLS: {}{}", demo.1, demo.2);
    let client = demo.1.split("client-").nth(1).and_then(|rest| rest.get(..36)).expect("a client stream").to_owned();

    // An auditor's token, minted once, then used alone (no secret in the CLI's environment).
    let (ok, token, err) = run(carelog().args(["token", "--role", "auditor"]).env("CARELOG_AUTH_SECRET", SECRET));
    assert!(ok, "{err}");
    let as_auditor = |args: &[&str]| {
        run(carelog().args(args).args(["--server", &server]).args(tls(dir)).env("CARELOG_TOKEN", token.trim()))
    };
    let (ok, view, err) = as_auditor(&["episode", "--client", &client]);
    assert!(ok && view.contains("\"legal_name\""), "{err}");
    let (ok, trail, err) = as_auditor(&["audit", "--client", &client]);
    assert!(ok && trail.contains("ClientRegistered") && trail.contains("RecordAccessed"), "{err}");
    let checkpoint = dir.join("checkpoint.json").display().to_string();
    let (ok, _, err) = as_auditor(&["audit", "checkpoint", "--out", &checkpoint]);
    assert!(ok, "checkpoint: {err}");
    let proof = dir.join("inclusion.json").display().to_string();
    let (ok, _, err) = as_auditor(&["audit", "prove", "inclusion", "--position", "1", "--out", &proof]);
    assert!(ok, "inclusion proof: {err}");
    let size =
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&checkpoint).unwrap()).unwrap()["tree_size"]
            .as_u64()
            .expect("the checkpoint's size");
    let (ok, _, err) =
        as_auditor(&["audit", "prove", "inclusion", "--position", "1", "--size", &size.to_string(), "--out", &proof]);
    assert!(ok, "inclusion proof at the checkpoint: {err}");
    let public = format!("{}.pub", key.display());
    let (ok, out, err) = run(carelog().args([
        "audit",
        "check",
        "--checkpoint",
        &checkpoint,
        "--proof",
        &proof,
        "--public-key",
        &public,
    ]));
    assert!(ok && out.starts_with("OK"), "offline check: {out}{err}");

    // The auditor's own checkpoint log, over the same mutual TLS with the token: kept, then extended.
    let witness_dir = dir.join("witness").display().to_string();
    let witness = |extra: &[&str]| {
        let mut command = carelog();
        command.args(["audit", "witness", "--dir", &witness_dir, "--server", &server]).args(tls(dir)).args(extra);
        let output = command.env("CARELOG_TOKEN", token.trim()).output().expect("run carelog audit witness");
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        (output.status.code(), text)
    };
    let (code, out) = witness(&["--public-key", &public]);
    assert_eq!(code, Some(0), "first witness run: {out}");
    assert!(out.contains("OK: kept the first checkpoint"), "{out}");
    let (ok, _, err) = as_auditor(&["episode", "--client", &client]);
    assert!(ok, "{err}");
    let (code, out) = witness(&["--sign-now"]);
    assert_eq!(code, Some(0), "second witness run: {out}");
    assert!(out.contains("extends"), "{out}");
    // A kept root the log does not extend (a fork) exits 2 and says what diverged and what to do.
    let kept = dir.join("witness").join("checkpoints.jsonl");
    let text = std::fs::read_to_string(&kept).unwrap();
    let last = text.lines().last().unwrap();
    let mut forked: serde_json::Value = serde_json::from_str(last).unwrap();
    forked["checkpoint"]["root"] = serde_json::Value::from("00".repeat(32));
    std::fs::write(&kept, format!("{text}{forked}\n")).unwrap();
    let (ok, _, err) = as_auditor(&["episode", "--client", &client]);
    assert!(ok, "{err}");
    let (code, out) = witness(&["--sign-now"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("DIVERGED") && out.contains("was rewritten") && out.contains("Keep this directory"), "{out}");

    // The console on its own, in front of the same server over mutual TLS: an auditor signs in
    // with their token and reads the record, verified, through it.
    let console_port = free_port();
    let _console = Server(
        carelog()
            .args(["console", "--listen", &format!("127.0.0.1:{console_port}"), "--records-url", &server])
            .args(tls(dir))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start carelog console"),
    );
    let mut browser = Browser { port: console_port, cookie: String::new() };
    let started = Instant::now();
    let signed_in = loop {
        match browser.send("POST", "/signin", &format!("token={}", token.trim())) {
            Some(reply) => break reply,
            None if started.elapsed() < Duration::from_secs(30) => std::thread::sleep(Duration::from_millis(200)),
            None => panic!("the console did not start"),
        }
    };
    assert!(signed_in.starts_with("HTTP/1.1 303"), "sign-in through the console over mutual TLS: {signed_in}");
    let home = browser.send("GET", "/", "").unwrap();
    let csrf = home.split(r#"name="csrf" value=""#).nth(1).and_then(|r| r.split('"').next()).expect("a form");
    let opened = browser.send("POST", "/client", &format!("csrf={csrf}&client_id={client}")).unwrap();
    assert!(opened.starts_with("HTTP/1.1 303"), "{opened}");
    let episode = browser.send("GET", "/episode", "").unwrap();
    assert!(episode.contains("Hash chains intact") && episode.contains("Alexandra"), "{episode}");
    let (ok, _, err) = run(carelog().args(["console", "--records-url", &server]));
    assert!(!ok && err.contains("--ca-cert"), "the console refuses https without a CA: {err}");

    // Refusals: no token; no client certificate; plaintext to a TLS server; https without a CA.
    let (ok, _, err) = run(carelog().args(["episode", "--client", &client, "--server", &server]).args(tls(dir)));
    assert!(!ok && err.contains("Unauthenticated"), "no token: {err}");
    let ca = dir.join("ca.pem").display().to_string();
    let only_ca = ["--ca-cert", &ca, "--tls-domain", "localhost"];
    let (ok, _, err) = run(carelog()
        .args(["episode", "--client", &client, "--server", &server])
        .args(only_ca)
        .env("CARELOG_TOKEN", token.trim()));
    assert!(!ok, "a client without a certificate was let in: {err}");
    let plain = format!("http://127.0.0.1:{port}");
    let (ok, _, err) = run(carelog().args(["episode", "--client", &client, "--server", &plain]));
    assert!(!ok, "plaintext reached a TLS server: {err}");
    let (ok, _, err) =
        run(carelog().args(["audit", "checkpoint", "--server", &server]).env("CARELOG_TOKEN", token.trim()));
    assert!(!ok && err.contains("--ca-cert"), "https without a CA: {err}");
}

/// Just enough HTTP/1.1 to drive the console: keeps its session cookie.
struct Browser {
    port: u16,
    cookie: String,
}

impl Browser {
    /// The whole reply (status line, headers, body), or None when nothing listens yet.
    fn send(&mut self, method: &str, path: &str, form: &str) -> Option<String> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        let cookie = if self.cookie.is_empty() { String::new() } else { format!("Cookie: {}\r\n", self.cookie) };
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n{cookie}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
            self.port,
            form.len()
        );
        stream.write_all(request.as_bytes()).ok()?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply).ok()?;
        if let Some(set) = reply.lines().find_map(|l| l.strip_prefix("set-cookie: ")) {
            self.cookie = set.split(';').next().unwrap_or_default().to_owned();
        }
        Some(reply)
    }
}
