//! Givens the service tests share, set up the way a practice works under the access policy: the
//! front desk (the intake role) registers the client, opens the episode and takes consents; the
//! episode's own clinician — the one the client is assigned to — records diagnoses.

use carelog_auth::RECORD_ACCESSED;
use carelog_blackbox::{Caller, TestApp, ctx};
use carelog_proto::v1 as proto;
use carelog_store::{LogQuery, Position};
use proto::give_consent_request::Kind;
use uuid::Uuid;

/// The front desk: registers clients, opens episodes, takes consents and assessments.
pub fn front_desk() -> Caller {
    Caller::new("intake")
}

/// A registered client with an open episode of care, assigned to `clinician_id`.
#[derive(Debug, Clone, Copy)]
pub struct OpenEpisode {
    pub client_id: Uuid,
    pub episode_id: Uuid,
    pub clinician_id: Uuid,
}

impl OpenEpisode {
    /// The clinician the client is assigned to (the clinician of its latest episode).
    pub fn clinician(&self) -> Caller {
        Caller::with_id("clinician", self.clinician_id)
    }
}

/// Registers a client (insured, the standard demographics) and opens an episode with a clinician of its own.
pub async fn open_episode(app: &TestApp) -> OpenEpisode {
    open_episode_with(app, crate::intake::register_request(Uuid::now_v7()), Uuid::now_v7()).await
}

/// Registers the client `registration` names and opens an episode with `clinician_id` treating.
pub async fn open_episode_with(
    app: &TestApp,
    registration: proto::RegisterClientRequest,
    clinician_id: Uuid,
) -> OpenEpisode {
    let mut intake = app.intake(&front_desk());
    let client_id = Uuid::parse_str(&registration.client_id).expect("a client id");
    intake.register_client(registration).await.expect("register the client");
    let e = OpenEpisode { client_id, episode_id: Uuid::now_v7(), clinician_id };
    let open = proto::OpenEpisodeRequest {
        context: ctx(),
        client_id: e.client_id.to_string(),
        episode_id: e.episode_id.to_string(),
        clinician_id: e.clinician_id.to_string(),
        opened_at: None,
    };
    intake.open_episode(open).await.expect("open the episode");
    e
}

/// A consent of `kind` given at the front desk; returns its id.
pub async fn consent(app: &TestApp, client_id: Uuid, kind: Kind) -> String {
    let consent_id = Uuid::now_v7().to_string();
    let request = proto::GiveConsentRequest {
        context: ctx(),
        client_id: client_id.to_string(),
        consent_id: consent_id.clone(),
        given_at: None,
        kind: Some(kind),
    };
    app.intake(&front_desk()).give_consent(request).await.expect("give consent");
    consent_id
}

/// The diagnosis `code` (ICD-10-CM 2026), recorded by the episode's own clinician.
pub fn diagnosis(e: &OpenEpisode, code: &str) -> proto::RecordDiagnosisRequest {
    proto::RecordDiagnosisRequest {
        context: ctx(),
        client_id: e.client_id.to_string(),
        icd10_code: code.into(),
        code_set_version: "2026".into(),
        clinician_id: e.clinician_id.to_string(),
    }
}

/// Records each diagnosis as the episode's clinician.
pub async fn diagnosed(app: &TestApp, e: &OpenEpisode, codes: &[&str]) {
    let mut intake = app.intake(&e.clinician());
    for code in codes {
        intake.record_diagnosis(diagnosis(e, code)).await.expect("record diagnosis");
    }
}

/// Asserts that since position `before` the log gained nothing but the access log's record of
/// each denial listed (by reason code, in order): a refused call changes nothing else.
pub async fn assert_only_denials_logged(app: &TestApp, before: u64, codes: &[&str]) {
    let query = LogQuery::from(Position(before + 1), 1000);
    let since = app.store.read_all(&query).await.expect("read the log");
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let logged: Vec<(&str, String, String)> = since
        .iter()
        .map(|e| (e.event_type.as_str(), text(&e.data["outcome"]), text(&e.data["detail"]["code"])))
        .collect();
    let expected: Vec<(&str, String, String)> =
        codes.iter().map(|c| (RECORD_ACCESSED, "denied".to_owned(), (*c).to_owned())).collect();
    assert_eq!(logged, expected);
}

/// Whether `phrase` is anywhere in `message`, at any depth: in its encoded bytes (every text
/// field as sent on the wire) or its Debug text. For checks that a phrase never leaks.
pub fn mentions<M: prost::Message + std::fmt::Debug>(message: &M, phrase: &str) -> bool {
    assert!(!phrase.is_empty(), "an empty phrase is in everything");
    let bytes = message.encode_to_vec();
    bytes.windows(phrase.len()).any(|w| w == phrase.as_bytes()) || format!("{message:?}").contains(phrase)
}

/// The client's record in an episode reply (every successful reply carries one).
pub fn view_of(reply: proto::EpisodeReply) -> proto::EpisodeView {
    reply.view.expect("the reply carries the view")
}

/// The ledger in a ledger reply (every successful reply carries one).
pub fn ledger_of(reply: &proto::LedgerReply) -> &proto::LedgerView {
    reply.ledger.as_ref().expect("the reply carries the ledger")
}

/// The event type an envelope's data holds (its `oneof` member: `ClientRegistered`), if any.
pub fn data_type(envelope: &proto::EventEnvelope) -> Option<String> {
    let event = envelope.data.as_ref()?.event.as_ref()?;
    // A member's Debug text starts with its variant's name, which is the event type's.
    format!("{event:?}").split('(').next().map(str::to_owned)
}
