//! The transport: TLS and mutual TLS handshakes accepted and refused, and the limits a server puts
//! on what one caller can send.

use carelog::app::AppStore;
use carelog_blackbox::{Caller, CallerHeaders, TestApp, on_both_backends, test_authenticator};
use carelog_proto::v1 as proto;
use carelog_proto::v1::intake_service_client::IntakeServiceClient;
use carelog_runtime::server::ServerSettings;
use carelog_store::{OpenedStore, SqliteStore};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity, ServerTlsConfig};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// A certificate authority that signs leaf certificates.
struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Authority {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA");
        Self { issuer }
    }

    fn certificate(&self) -> Certificate {
        Certificate::from_pem(self.issuer.pem())
    }

    /// A leaf for `name` (a DNS name for servers, any name for clients).
    fn sign(&self, name: &str) -> Identity {
        let key = KeyPair::generate().expect("leaf key");
        let mut params = CertificateParams::new(vec![name.to_owned()]).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.signed_by(&key, &self.issuer).expect("sign leaf");
        Identity::from_pem(cert.pem(), key.serialize_pem())
    }
}

/// A server with every service on TLS (mutual when `client_ca` is given), on a temp SQLite file.
async fn tls_server(
    server: Identity,
    client_ca: Option<Certificate>,
) -> (carelog::app::RunningServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = AppStore::unsealed(OpenedStore::sqlite(
        SqliteStore::open(dir.path().join("carelog.db")).await.expect("sqlite"),
    ));
    let mut tls = ServerTlsConfig::new().identity(server);
    if let Some(ca) = client_ca {
        tls = tls.client_ca_root(ca);
    }
    let mut settings = ServerSettings::local(test_authenticator());
    settings.tls = Some(tls);
    let config = carelog::app::AppConfig { server: settings, ..Default::default() };
    let running = carelog::app::start_with(store, "127.0.0.1:0".parse().unwrap(), config).await.expect("start");
    (running, dir)
}

async fn connect(addr: std::net::SocketAddr, tls: Option<ClientTlsConfig>) -> Result<Channel, tonic::transport::Error> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut endpoint = Channel::from_shared(format!("{scheme}://localhost:{}", addr.port())).expect("url");
    if let Some(tls) = tls {
        endpoint = endpoint.tls_config(tls)?;
    }
    endpoint.connect().await
}

/// Whether a health check over a fresh connection succeeds.
async fn handshake(addr: std::net::SocketAddr, tls: Option<ClientTlsConfig>) -> bool {
    match connect(addr, tls).await {
        Ok(channel) => HealthClient::new(channel).check(HealthCheckRequest::default()).await.is_ok(),
        Err(_) => false,
    }
}

fn trusting(ca: &Authority) -> ClientTlsConfig {
    ClientTlsConfig::new().ca_certificate(ca.certificate()).domain_name("localhost")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_clients_that_trust_its_certificate_and_no_one_in_plaintext() {
    let ca = Authority::new("Carelog test CA");
    let (server, _dir) = tls_server(ca.sign("localhost"), None).await;
    assert!(handshake(server.addr, Some(trusting(&ca))).await, "a client trusting the CA connects");
    assert!(!handshake(server.addr, None).await, "plaintext is refused");
    let stranger = Authority::new("Someone else's CA");
    assert!(!handshake(server.addr, Some(trusting(&stranger))).await, "a client that does not trust the server's CA");
    // Over TLS, calls still need a token; with one they are served.
    let channel = connect(server.addr, Some(trusting(&ca))).await.expect("connect");
    let mut anonymous = IntakeServiceClient::new(channel.clone());
    let status = anonymous.register_client(proto::RegisterClientRequest::default()).await.expect_err("no token");
    assert_eq!(status.code(), Code::Unauthenticated);
    let mut intake = IntakeServiceClient::with_interceptor(channel, CallerHeaders::new(Caller::new("intake")));
    let status = intake.register_client(proto::RegisterClientRequest::default()).await.expect_err("empty request");
    assert_eq!(status.code(), Code::InvalidArgument, "authenticated and validated: {status:?}");
    server.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_admits_only_clients_with_a_certificate_from_its_client_ca() {
    let (server_ca, client_ca, rogue_ca) =
        (Authority::new("server CA"), Authority::new("client CA"), Authority::new("rogue"));
    let (server, _dir) = tls_server(server_ca.sign("localhost"), Some(client_ca.certificate())).await;
    let with_identity = |identity: Identity| trusting(&server_ca).identity(identity);
    assert!(
        handshake(server.addr, Some(with_identity(client_ca.sign("ehr-connector")))).await,
        "a client certificate from the client CA"
    );
    assert!(!handshake(server.addr, Some(trusting(&server_ca))).await, "no client certificate");
    assert!(
        !handshake(server.addr, Some(with_identity(rogue_ca.sign("ehr-connector")))).await,
        "a certificate from another CA"
    );
    assert!(!handshake(server.addr, None).await, "plaintext");
    server.stop().await.expect("stop");
}

#[test]
fn serve_refuses_to_start_open_unless_told_to() {
    use carelog_runtime::server::SecurityArgs;
    let refused = ServerSettings::from_args(&SecurityArgs::default()).expect_err("no key, no TLS");
    assert!(refused.to_string().contains("CARELOG_AUTH_SECRET"), "{refused}");
    let mut args = SecurityArgs::default();
    args.auth.allow_anonymous = true;
    let refused = ServerSettings::from_args(&args).expect_err("no TLS");
    assert!(refused.to_string().contains("--allow-plaintext"), "{refused}");
    args.tls.allow_plaintext = true;
    assert!(ServerSettings::from_args(&args).is_ok());
    args.auth.auth_secret = Some("too short".into());
    assert!(ServerSettings::from_args(&args).is_err(), "a short secret is refused");
}

/// A request above the size limit is refused before it is decoded, and stores nothing.
async fn an_oversized_request_is_refused(app: &TestApp) {
    let before = app.event_count().await;
    let mut intake = app.intake(&Caller::new("intake"));
    let huge = proto::RegisterClientRequest {
        context: carelog_blackbox::ctx(),
        client_id: uuid::Uuid::now_v7().to_string(),
        legal_name: "x".repeat(carelog_runtime::server::MAX_REQUEST_BYTES + 1),
        ..Default::default()
    };
    let status = intake.register_client(huge).await.expect_err("oversized");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert_eq!(app.event_count().await, before);
}

on_both_backends!(an_oversized_request_is_refused);

/// A call that outlives the server's deadline is cut off, whatever the caller asked for: here a
/// read that waits for its own write while the projector cannot commit (a lock held on its
/// checkpoint table in PostgreSQL, as a long vacuum or a stuck transaction would).
async fn a_call_past_the_servers_deadline_is_cut_off(app: &TestApp) {
    let carelog_store::Database::Postgres(pool) = app.database() else { panic!("PostgreSQL") };
    let mut blocking = pool.begin().await.expect("begin");
    sqlx::query("LOCK TABLE projection_generations IN EXCLUSIVE MODE").execute(&mut *blocking).await.expect("lock");
    let mut intake = app.intake(&Caller::new("intake"));
    let registered = intake.register_client(crate::intake::register_request(uuid::Uuid::now_v7())).await;
    let position = registered.expect("the log takes writes").into_inner().position;
    let mut records = app.records(&Caller::new("auditor"));
    // Waiting for the read model would take the read-your-writes limit (5 s).
    let started = std::time::Instant::now();
    let request = proto::GetEpisodeRequest { client_id: uuid::Uuid::now_v7().to_string(), min_position: position };
    let status = records.get_episode(request).await.expect_err("cut off");
    drop(blocking);
    assert!(matches!(status.code(), Code::Cancelled | Code::DeadlineExceeded), "{status:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "cut at the 1 s deadline: {:?}", started.elapsed());
}

/// Connections whose peer says nothing (not even the HTTP/2 preface) are closed after two
/// keepalive intervals and a timeout; a live client with no call open answers the server's PINGs
/// and keeps its connection.
async fn silent_connections_are_closed_and_live_idle_clients_kept(app: &TestApp) {
    use tokio::io::AsyncReadExt as _;
    let mut silent = tokio::net::TcpStream::connect(app.address()).await.expect("connect");
    let started = std::time::Instant::now();
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            match silent.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "a silent connection is closed");
    assert!(started.elapsed() >= std::time::Duration::from_secs(2), "not before the idle limit");
    let mut health = HealthClient::new(app.channel());
    health.check(HealthCheckRequest::default()).await.expect("a call");
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    health.check(HealthCheckRequest::default()).await.expect("the idle but live connection still serves");
}

mod limits {
    fn config(limit: impl FnOnce(&mut carelog_runtime::server::LimitArgs)) -> carelog::app::AppConfig {
        let mut config = carelog::app::AppConfig::default();
        limit(&mut config.server.limits);
        config
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_a_call_past_the_servers_deadline_is_cut_off() {
        let config = config(|l| l.request_timeout_seconds = 1);
        let app = carelog_blackbox::TestApp::spawn_with(carelog_blackbox::Backend::Postgres, config).await;
        super::a_call_past_the_servers_deadline_is_cut_off(&app).await;
        app.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_silent_connections_are_closed_and_live_idle_clients_kept() {
        let config = config(|l| (l.keepalive_interval_seconds, l.keepalive_timeout_seconds) = (1, 1));
        let app = carelog_blackbox::TestApp::spawn_with(carelog_blackbox::Backend::Sqlite, config).await;
        super::silent_connections_are_closed_and_live_idle_clients_kept(&app).await;
        app.stop().await;
    }
}
