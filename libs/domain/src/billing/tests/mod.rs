//! Given/when/then tests of the billing account's rules.

mod charges;
mod claims;
mod takebacks;

use super::*;
use crate::intake::EpisodeStatus;
use crate::intake::Payer;
use crate::sessions::{self, NoteContent, SessionCommand, SessionContext, SessionKind, SessionState};
use crate::testing::*;
use crate::types::*;

struct Books {
    account: AccountId,
    client: ClientId,
    clinician: ClinicianId,
}

fn books() -> Books {
    Books { account: AccountId::new_v7(), client: ClientId::new_v7(), clinician: ClinicianId::new_v4() }
}

fn insured() -> Payer {
    Payer::Insurance { payer_name: short("Blue Plan"), member_id: MemberId::parse("XYZ123").unwrap() }
}

/// How far a session got before billing looks at it.
#[derive(Clone, Copy, PartialEq)]
enum Stage {
    Scheduled,
    Cancelled,
    NoShow,
    HeldUnsigned,
    Signed,
}

impl Books {
    fn session(
        &self,
        kind: SessionKind,
        minutes: u32,
        modality: Modality,
        location: Option<PatientLocation>,
        stage: Stage,
    ) -> SessionState {
        let ctx = SessionContext {
            client_registered: true,
            episode: EpisodeStatus::Open,
            episode_clinician: Some(self.clinician),
            treatment_consent_active: true,
            telehealth_consent_active: true,
            ..SessionContext::bare(now(), sessions::SessionSettings::default())
        };
        let mut cmds = vec![SessionCommand::ScheduleSession {
            session_id: SessionId::new_v7(),
            client_id: self.client,
            episode_id: EpisodeId::new_v4(),
            clinician_id: self.clinician,
            kind,
            starts_at: at(0, 10),
            planned_minutes: mins(53),
            planned_modality: modality,
        }];
        match stage {
            Stage::Scheduled => {}
            Stage::Cancelled => cmds.push(SessionCommand::CancelSession {
                cancelled_by: sessions::CancelledBy::Client,
                reason: reason("ill"),
            }),
            Stage::NoShow => cmds.push(SessionCommand::RecordNoShow { recorded_by: ActorId::new_v4() }),
            Stage::HeldUnsigned | Stage::Signed => cmds.push(SessionCommand::HoldSession {
                started_at: at(0, 10),
                actual_minutes: mins(minutes),
                modality,
                patient_location: location,
            }),
        }
        if stage == Stage::Signed {
            let content = NoteContent::Dap { data: note("d"), assessment: note("a"), plan: note("p") };
            cmds.push(SessionCommand::SignProgressNote {
                content,
                goals_addressed: vec![],
                content_hash: ContentHash::parse(&"1".repeat(64)).unwrap(),
                clinician_id: self.clinician,
            });
        }
        cmds.iter().fold(SessionState::default(), |s, c| {
            sessions::decide(c, &s, &ctx).unwrap().iter().fold(s, sessions::evolve)
        })
    }

    /// A 55-minute video session from home, note signed.
    fn signed_video(&self) -> SessionState {
        self.session(SessionKind::Psychotherapy, 55, Modality::Video, Some(PatientLocation::Home), Stage::Signed)
    }

    fn open(&self, payer: Payer) -> BillingCommand {
        BillingCommand::OpenAccount { account_id: self.account, client_id: self.client, payer }
    }

    fn account(&self, payer: Payer) -> AccountState {
        decide(&self.open(payer), &AccountState::default(), &BillingContext::at(now()))
            .unwrap()
            .iter()
            .fold(AccountState::default(), evolve)
    }
}

/// Context for charging `session`: F32.1 and F41.1 active, review current.
fn charging(session: SessionState) -> BillingContext {
    BillingContext { session, active_diagnoses: vec![code("F32.1"), code("F41.1")], ..BillingContext::at(now()) }
}

fn charge(id: ChargeId) -> BillingCommand {
    BillingCommand::CreateCharge {
        charge_id: id,
        interactive_complexity: false,
        diagnosis_pointers: DiagnosisPointer::parse_list(&[1, 2]).unwrap(),
    }
}

fn run(state: AccountState, cmd: &BillingCommand, ctx: &BillingContext) -> AccountState {
    decide(cmd, &state, ctx).unwrap().iter().fold(state, evolve)
}

fn plain(cmd: &BillingCommand, s: &AccountState) -> Result<Vec<BillingEvent>, crate::DomainError> {
    decide(cmd, s, &BillingContext::at(now()))
}

/// An insured account with one charge (90837, $180.00) for a signed video session.
fn charged(b: &Books) -> (AccountState, ChargeId) {
    let id = ChargeId::new_v4();
    (run(b.account(insured()), &charge(id), &charging(b.signed_video())), id)
}

fn submit(claim_id: ClaimId, request: ClaimRequest) -> BillingCommand {
    BillingCommand::SubmitClaim { claim_id, request }
}

fn line(charge_id: ChargeId, charged: i64, paid: i64, co: i64, pr: i64) -> RemittanceLine {
    let adjustments = vec![Adjustment {
        group: AdjustmentGroup::ContractualObligation,
        carc: CarcCode::parse("45").unwrap(),
        amount: cents(co),
    }];
    RemittanceLine {
        charge_id,
        charged: cents(charged),
        paid: cents(paid),
        patient_responsibility: cents(pr),
        adjustments,
        remarks: vec![RarcCode::parse("N130").unwrap()],
    }
}

fn remit(claim_id: ClaimId, lines: Vec<RemittanceLine>) -> BillingCommand {
    BillingCommand::PostRemittance {
        remittance_id: RemittanceId::new_v4(),
        claim_id,
        payer_claim_number: Some(short("PCN-1")),
        lines,
    }
}
