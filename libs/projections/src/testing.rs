//! Test fixtures: real envelopes built from domain events, as the store would return them.

use std::collections::BTreeMap;

use carelog_domain::billing::BillingEvent;
use carelog_domain::intake::IntakeEvent;
use carelog_domain::planning::PlanningEvent;
use carelog_domain::sessions::SessionEvent;
use carelog_domain::types::{
    ClientId, CodeSetVersion, ContentHash, Diagnosis, EpisodeId, Icd10Code, Minutes, Money, NoteText, PersonName,
    Reason, ShortText,
};
use carelog_store::{Actor, EventHash, Metadata, Position, RecordedEvent, StreamName, Tags};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::Value;
use uuid::Uuid;

/// A domain event that can be put in an envelope.
pub trait DomainEvent {
    fn parts(&self) -> (&'static str, u32, Value);
}

macro_rules! domain_event {
    ($($t:ty),+) => {$(
        impl DomainEvent for $t {
            fn parts(&self) -> (&'static str, u32, Value) {
                (self.event_type(), self.schema_version(), self.to_data().expect("event data serializes"))
            }
        }
    )+};
}
domain_event!(IntakeEvent, PlanningEvent, SessionEvent, BillingEvent);

/// A growing log: positions from 1, gapless revisions per stream, store time one second apart.
#[derive(Debug, Default)]
pub struct Log {
    pub events: Vec<RecordedEvent>,
    revisions: BTreeMap<String, u64>,
}

impl Log {
    /// Appends `event` to `stream`, tagged with `client` and `episode`, and returns a copy.
    pub fn append<E: DomainEvent>(
        &mut self,
        stream: &str,
        client: Option<ClientId>,
        episode: Option<EpisodeId>,
        event: impl Into<E>,
    ) -> RecordedEvent {
        let (event_type, schema_version, data) = event.into().parts();
        let position = self.events.len() as u64 + 1;
        let revision = self.revisions.entry(stream.to_owned()).or_default();
        let recorded_at = at(0, 0) + Duration::seconds(position as i64);
        let recorded = RecordedEvent {
            event_id: Uuid::now_v7(),
            stream: StreamName::new(stream).expect("valid stream name"),
            revision: *revision,
            position: Position(position),
            event_type: event_type.to_owned(),
            schema_version,
            data,
            metadata: Metadata {
                actor: Actor::new("clinician-7", "clinician"),
                occurred_at: recorded_at - Duration::minutes(5),
                correlation_id: Uuid::now_v7(),
                causation_id: None,
                trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".to_owned()),
                reason: None,
                tags: Tags { client: client.map(|c| c.to_string()), episode: episode.map(|e| e.to_string()) },
                command: None,
            },
            recorded_at,
            prev_hash: EventHash::GENESIS,
            hash: EventHash::GENESIS,
        };
        *revision += 1;
        self.events.push(recorded.clone());
        recorded
    }
}

/// 2026-03-02 (a Monday) at `hour`:00 UTC, plus `days`.
pub fn at(days: i64, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, hour, 0, 0).single().expect("valid time") + Duration::days(days)
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

pub fn dx(code: &str) -> Diagnosis {
    Diagnosis { code: icd(code), code_set: CodeSetVersion::parse("2026").expect("code set") }
}

pub fn icd(code: &str) -> Icd10Code {
    Icd10Code::parse(code).expect("icd code")
}

pub fn reason(s: &str) -> Reason {
    Reason::parse(s).expect("reason")
}

pub fn short(s: &str) -> ShortText {
    ShortText::parse(s).expect("short text")
}

pub fn note(s: &str) -> NoteText {
    NoteText::parse(s).expect("note text")
}

pub fn name(s: &str) -> PersonName {
    PersonName::parse(s).expect("name")
}

pub fn mins(n: u32) -> Minutes {
    Minutes::new(n).expect("minutes")
}

pub fn cents(n: i64) -> Money {
    Money::from_cents(n).expect("money")
}

pub fn hash(c: char) -> ContentHash {
    ContentHash::parse(&c.to_string().repeat(64)).expect("content hash")
}

/// A charge of one 90834 line for `amount_cents`, in person, pointing at F32.1.
pub fn charge(
    charge_id: carelog_domain::types::ChargeId,
    episode_id: EpisodeId,
    service_date: NaiveDate,
    amount_cents: i64,
) -> BillingEvent {
    use carelog_domain::billing::{ChargeCreated, ChargeLine};
    use carelog_domain::types::{ClinicianId, CptCode, DiagnosisPointer, PlaceOfService, SessionId};
    let amount = cents(amount_cents);
    ChargeCreated {
        charge_id,
        session_id: SessionId::new_v7(),
        episode_id,
        rendering_clinician: ClinicianId::new_v4(),
        service_date,
        diagnoses: vec![icd("F32.1")],
        lines: vec![ChargeLine {
            cpt: CptCode::Psychotherapy45,
            modifiers: Vec::new(),
            units: 1,
            place_of_service: PlaceOfService::Office11,
            diagnosis_pointers: vec![DiagnosisPointer::new(1).expect("pointer")],
            unit_fee: amount,
            amount,
        }],
        total: amount,
        plan_review_overdue: false,
        created_at: service_date.and_hms_opt(18, 0, 0).expect("time").and_utc(),
    }
    .into()
}

/// The claims of [`billing_history`], by what happens to them.
#[derive(Debug, Clone, Copy)]
pub struct Claims {
    pub rejected: carelog_domain::types::ClaimId,
    pub replaced: carelog_domain::types::ClaimId,
    pub paid: carelog_domain::types::ClaimId,
    pub voided: carelog_domain::types::ClaimId,
    pub void_request: carelog_domain::types::ClaimId,
}

/// A year of billing on one account: three $150 charges; a claim rejected, resubmitted,
/// replaced and paid ($200 paid, $60 CO-45, $40 patient responsibility); a $30 payment; a $10
/// write-off; a superbill; and a claim that was voided. Balance: $450 − 200 − 60 − 30 − 10 = $150.
pub fn billing_history(
    account_id: carelog_domain::types::AccountId,
    client_id: ClientId,
    episode: EpisodeId,
) -> (Vec<BillingEvent>, Claims) {
    use carelog_domain::billing::*;
    use carelog_domain::intake::Payer;
    use carelog_domain::types::{
        CarcCode, ChargeId, ClaimId, PaymentId, RarcCode, RemittanceId, SuperbillId, WriteOffId,
    };
    let (c1, c2, c3) = (ChargeId::new_v4(), ChargeId::new_v4(), ChargeId::new_v4());
    let claims = Claims {
        rejected: ClaimId::new_v4(),
        replaced: ClaimId::new_v4(),
        paid: ClaimId::new_v4(),
        voided: ClaimId::new_v4(),
        void_request: ClaimId::new_v4(),
    };
    let submit = |claim_id, frequency, charge_ids: Vec<ChargeId>| -> BillingEvent {
        let total = cents(15_000 * charge_ids.len() as i64);
        ClaimSubmitted {
            claim_id,
            frequency,
            payer_claim_number: None,
            charge_ids,
            total,
            service_from: Some(date(2026, 3, 2)),
            service_to: Some(date(2026, 3, 9)),
            submitted_at: at(3, 9),
        }
        .into()
    };
    let line = |charge_id| RemittanceLine {
        charge_id,
        charged: cents(15_000),
        paid: cents(10_000),
        patient_responsibility: cents(2_000),
        adjustments: vec![Adjustment {
            group: AdjustmentGroup::ContractualObligation,
            carc: CarcCode::parse("45").expect("carc"),
            amount: cents(3_000),
        }],
        remarks: vec![RarcCode::parse("N130").expect("rarc")],
    };
    let payer = Payer::SelfPay;
    let events = vec![
        AccountOpened { account_id, client_id, payer, opened_at: at(0, 9) }.into(),
        charge(c1, episode, date(2026, 3, 2), 15_000),
        charge(c2, episode, date(2026, 3, 9), 15_000),
        submit(claims.rejected, ClaimFrequency::Original, vec![c1, c2]),
        ClaimRejected { claim_id: claims.rejected, reason: reason("Invalid member id"), rejected_at: at(4, 9) }.into(),
        submit(claims.replaced, ClaimFrequency::Original, vec![c1, c2]),
        submit(claims.paid, ClaimFrequency::Replacement { original: claims.replaced }, vec![c1, c2]),
        RemittancePosted {
            remittance_id: RemittanceId::new_v4(),
            claim_id: claims.paid,
            payer_claim_number: Some(short("PCN-778")),
            lines: vec![line(c1), line(c2)],
            paid: cents(20_000),
            adjusted: cents(6_000),
            patient_responsibility: cents(4_000),
            posted_at: at(30, 9),
        }
        .into(),
        PaymentReceived {
            payment_id: PaymentId::new_v4(),
            amount: cents(3_000),
            method: PaymentMethod::Card,
            service_date: Some(date(2026, 3, 2)),
            received_at: at(31, 9),
        }
        .into(),
        WrittenOff {
            write_off_id: WriteOffId::new_v4(),
            amount: cents(1_000),
            reason: WriteOffReason::SmallBalance,
            note: reason("Courtesy"),
            written_off_at: at(32, 9),
        }
        .into(),
        SuperbillIssued {
            superbill_id: SuperbillId::new_v4(),
            charge_ids: vec![c1],
            total: cents(15_000),
            issued_at: at(33, 9),
        }
        .into(),
        charge(c3, episode, date(2026, 4, 6), 15_000),
        submit(claims.voided, ClaimFrequency::Original, vec![c3]),
        submit(claims.void_request, ClaimFrequency::Void { original: claims.voided }, vec![c3]),
    ];
    (events, claims)
}

/// `clients` charts (registration, consent, a held session with its signed note, a year of
/// billing) interleaved event by event, as concurrent episodes are in the log; the client at index
/// `erased` is erased after its chart. Positions from 1.
pub fn interleaved_charts(clients: usize, erased: Option<usize>) -> Vec<RecordedEvent> {
    use carelog_domain::intake::{ClientErased, ConsentKind};
    use carelog_domain::types::ActorId;

    let charts: Vec<Vec<RecordedEvent>> = (0..clients)
        .map(|i| {
            let mut chart = crate::episode::tests::Chart::new();
            chart.register();
            chart.consent(ConsentKind::Treatment);
            let session = chart.schedule(at(7, 15));
            chart.hold(session, at(7, 15), 50);
            chart.sign_note(session, Vec::new(), at(7, 17));
            for e in billing_history(chart.account, chart.client, chart.episode).0 {
                chart.billing(e);
            }
            if erased == Some(i) {
                let (erased_by, erased_at) = (ActorId::new_v4(), at(50, 9));
                chart.intake(ClientErased { reason: reason("erasure request"), erased_by, erased_at });
            }
            chart.log.events
        })
        .collect();
    let mut log = Vec::new();
    let longest = charts.iter().map(Vec::len).max().unwrap_or_default();
    for i in 0..longest {
        for event in charts.iter().filter_map(|chart| chart.get(i)) {
            let position = Position(log.len() as u64 + 1);
            log.push(RecordedEvent { position, ..event.clone() });
        }
    }
    log
}
