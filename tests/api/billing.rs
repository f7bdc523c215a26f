//! Black-box tests of the BillingService. Charges are made only for sessions driven through the
//! real SessionService; nothing is written to the store behind the services' backs.

mod accounts;
mod across_accounts;
mod charges;
mod cycle;
mod estimates;
mod overdue;
mod takebacks;

use carelog_blackbox::{Authed, Caller, TestApp, ctx, ctx_because};
use carelog_proto::v1 as proto;
use carelog_store::{RecordedEvent, StreamName, StreamQuery};
use chrono::{Duration, Utc};
use proto::billing_service_client::BillingServiceClient;
use proto::intake_service_client::IntakeServiceClient;
use proto::schedule_session_request::Kind;
use proto::session_service_client::SessionServiceClient;
use uuid::Uuid;

use crate::given;

fn id() -> String {
    Uuid::now_v7().to_string()
}

/// Who pays for the client's care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Payer {
    Insured,
    SelfPay,
}

/// How far a session got before billing looks at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Scheduled,
    Cancelled,
    NoShow,
    Held,
    Signed,
}

/// A registered client with an open episode (treatment and telehealth consents given, the listed
/// diagnoses recorded) and an open billing account, with the calls to drive them: `intake` and
/// `sessions` as the episode's own clinician, `billing` as a biller.
struct Clinic {
    intake: IntakeServiceClient<Authed>,
    sessions: SessionServiceClient<Authed>,
    billing: BillingServiceClient<Authed>,
    client_id: String,
    episode_id: String,
    clinician_id: String,
    account_id: String,
}

async fn clinic(app: &TestApp, payer: Payer, diagnoses: &[&str]) -> Clinic {
    let mut registration = crate::intake::register_request(Uuid::now_v7());
    if payer == Payer::SelfPay {
        use proto::register_client_request::{Payer, SelfPay};
        registration.payer = Some(Payer::SelfPay(SelfPay {}));
    }
    let e = given::open_episode_with(app, registration, Uuid::now_v7()).await;
    use proto::give_consent_request::{Kind, Telehealth, Treatment};
    for kind in [Kind::Treatment(Treatment {}), Kind::Telehealth(Telehealth {})] {
        given::consent(app, e.client_id, kind).await;
    }
    given::diagnosed(app, &e, diagnoses).await;
    let (client_id, account_id) = (e.client_id.to_string(), id());
    let mut billing = app.billing(&Caller::new("biller"));
    billing.open_account(open_account(&account_id, &client_id)).await.unwrap();
    Clinic {
        intake: app.intake(&e.clinician()),
        sessions: app.sessions(&e.clinician()),
        billing,
        client_id,
        episode_id: e.episode_id.to_string(),
        clinician_id: e.clinician_id.to_string(),
        account_id,
    }
}

impl Clinic {
    /// The episode's own clinician.
    fn clinician(&self) -> Caller {
        Caller::clinician(&self.clinician_id)
    }

    /// A session booked an hour ago and taken to `stage`. The patient was at home for telehealth.
    async fn session(&mut self, kind: Kind, minutes: u32, modality: proto::SessionModality, stage: Stage) -> String {
        let location = proto::hold_session_request::PatientLocation::Home;
        self.session_ago(kind, minutes, modality, location, stage, Duration::hours(1)).await
    }

    /// A session that started `ago` (the service date), taken to `stage`.
    async fn session_ago(
        &mut self,
        kind: Kind,
        minutes: u32,
        modality: proto::SessionModality,
        location: proto::hold_session_request::PatientLocation,
        stage: Stage,
        ago: Duration,
    ) -> String {
        let session_id = id();
        let then = Utc::now() - ago;
        let started = prost_types::Timestamp { seconds: then.timestamp(), nanos: 0 };
        let schedule = proto::ScheduleSessionRequest {
            context: ctx(),
            session_id: session_id.clone(),
            client_id: self.client_id.clone(),
            episode_id: self.episode_id.clone(),
            clinician_id: self.clinician_id.clone(),
            kind: kind as i32,
            starts_at: Some(started),
            planned_minutes: minutes,
            planned_modality: modality as i32,
        };
        self.sessions.schedule_session(schedule).await.unwrap();
        let session = session_id.clone();
        match stage {
            Stage::Scheduled => {}
            Stage::Cancelled => {
                let by = proto::cancel_session_request::CancelledBy::Client as i32;
                let cancel =
                    proto::CancelSessionRequest { context: ctx_because("unwell"), session_id, cancelled_by: by };
                self.sessions.cancel_session(cancel).await.unwrap();
            }
            Stage::NoShow => {
                self.sessions.record_no_show(proto::RecordNoShowRequest { context: ctx(), session_id }).await.unwrap();
            }
            Stage::Held | Stage::Signed => {
                let hold = proto::HoldSessionRequest {
                    context: ctx(),
                    session_id: session_id.clone(),
                    started_at: Some(started),
                    actual_minutes: minutes,
                    modality: modality as i32,
                    patient_location: location as i32,
                };
                self.sessions.hold_session(hold).await.unwrap();
                if stage == Stage::Signed {
                    self.sessions.sign_progress_note(self.note(session_id)).await.unwrap();
                }
            }
        }
        session
    }

    fn note(&self, session_id: String) -> proto::SignProgressNoteRequest {
        use proto::sign_progress_note_request::{Content, Dap};
        let dap = Dap {
            data: "Reports fewer panic episodes.".into(),
            assessment: "Anxiety easing with exposure work.".into(),
            plan: "Continue weekly CBT.".into(),
        };
        proto::SignProgressNoteRequest {
            context: ctx(),
            session_id,
            clinician_id: self.clinician_id.clone(),
            content: Some(Content::Dap(dap)),
            goals_addressed: vec![],
            plan_id: String::new(),
        }
    }

    /// A 55-minute video psychotherapy session from home, note signed.
    async fn signed_video(&mut self) -> String {
        self.session(Kind::Psychotherapy, 55, proto::SessionModality::Video, Stage::Signed).await
    }

    fn charge(&self, session_id: &str, diagnosis_pointers: &[u32]) -> proto::CreateChargeRequest {
        proto::CreateChargeRequest {
            context: ctx(),
            account_id: self.account_id.clone(),
            charge_id: id(),
            session_id: session_id.to_owned(),
            plan_id: String::new(),
            interactive_complexity: false,
            diagnosis_pointers: diagnosis_pointers.to_vec(),
        }
    }

    /// Charges the session (pointing at the first diagnosis) and returns the stored ChargeCreated.
    async fn charged(&mut self, app: &TestApp, session_id: &str) -> RecordedEvent {
        let receipt = self.billing.create_charge(self.charge(session_id, &[1])).await.unwrap().into_inner();
        assert_eq!(receipt.event_types, ["ChargeCreated"]);
        stored(app, &receipt.stream).await.swap_remove(usize::try_from(receipt.revision).unwrap())
    }
}

fn open_account(account_id: &str, client_id: &str) -> proto::OpenAccountRequest {
    proto::OpenAccountRequest { context: ctx(), account_id: account_id.into(), client_id: client_id.into() }
}

fn payment(account_id: &str, cents: i64) -> proto::ReceivePaymentRequest {
    proto::ReceivePaymentRequest {
        context: ctx(),
        account_id: account_id.into(),
        payment_id: id(),
        amount_cents: cents,
        method: proto::receive_payment_request::Method::Card as i32,
        ..Default::default()
    }
}

fn write_off(account_id: &str, cents: i64) -> proto::WriteOffRequest {
    proto::WriteOffRequest {
        context: ctx_because("sliding-scale agreement"),
        account_id: account_id.into(),
        write_off_id: id(),
        amount_cents: cents,
        reason: proto::write_off_request::Reason::FinancialHardship as i32,
    }
}

fn original_claim(account_id: &str, charge_ids: Vec<String>) -> proto::SubmitClaimRequest {
    use proto::submit_claim_request::{Kind, Original};
    proto::SubmitClaimRequest {
        context: ctx(),
        account_id: account_id.into(),
        claim_id: id(),
        kind: Some(Kind::Original(Original { charge_ids })),
    }
}

fn superbill(account_id: &str, charge_ids: Vec<String>) -> proto::IssueSuperbillRequest {
    proto::IssueSuperbillRequest { context: ctx(), account_id: account_id.into(), superbill_id: id(), charge_ids }
}

async fn stored(app: &TestApp, stream: &str) -> Vec<RecordedEvent> {
    app.store.read_stream(&StreamName::new(stream).unwrap(), StreamQuery::all()).await.unwrap()
}
