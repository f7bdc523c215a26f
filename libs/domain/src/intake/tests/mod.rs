//! Given/when/then tests of the client aggregate's rules.

mod clinical;
mod erasure;
mod registration;
mod stored;

use chrono::Duration;

use super::*;
use crate::testing::*;
use crate::types::*;

struct Clinic {
    client: ClientId,
    episode: EpisodeId,
    clinician: ClinicianId,
    staff: ActorId,
}

fn clinic() -> Clinic {
    Clinic {
        client: ClientId::new_v7(),
        episode: EpisodeId::new_v4(),
        clinician: ClinicianId::new_v4(),
        staff: ActorId::new_v4(),
    }
}

fn demographics(payer: Payer) -> Demographics {
    Demographics {
        legal_name: name("Jordan Rivera"),
        preferred_name: Some(name("Jo")),
        date_of_birth: Some(date(1990, 5, 17)),
        contact: Contact {
            phone: Some(PhoneNumber::parse("+1 555 010 0199").unwrap()),
            email: Some(Email::parse("jo@example.org").unwrap()),
            address: None,
        },
        payer,
    }
}

fn insured() -> Payer {
    Payer::Insurance { payer_name: short("Blue Plan"), member_id: MemberId::parse("XYZ123456").unwrap() }
}

impl Clinic {
    fn register(&self, payer: Payer) -> IntakeCommand {
        IntakeCommand::RegisterClient {
            client_id: self.client,
            demographics: demographics(payer),
            registered_by: self.staff,
        }
    }

    fn open(&self) -> IntakeCommand {
        IntakeCommand::OpenEpisode { episode_id: self.episode, clinician_id: self.clinician, opened_at: at(0, 9) }
    }

    fn consent(&self, id: ConsentId, kind: ConsentKind) -> IntakeCommand {
        IntakeCommand::GiveConsent { consent_id: id, kind, given_at: at(0, 9), recorded_by: self.staff }
    }

    fn assess(&self, id: AssessmentId, instrument: Instrument, items: &[u32]) -> IntakeCommand {
        IntakeCommand::RecordAssessment {
            assessment_id: id,
            scores: AssessmentScores::parse(instrument, items).unwrap(),
            administered_by: self.staff,
            administered_at: at(0, 10),
        }
    }

    fn diagnose(&self, c: &str) -> IntakeCommand {
        IntakeCommand::RecordDiagnosis { diagnosis: dx(c), clinician_id: self.clinician }
    }

    fn close(&self) -> IntakeCommand {
        IntakeCommand::CloseEpisode {
            episode_id: self.episode,
            clinician_id: self.clinician,
            discharge_summary: note("Goals met; relapse-prevention plan reviewed."),
        }
    }

    /// Runs commands from an empty stream, failing on the first refusal.
    fn given(&self, cmds: &[IntakeCommand]) -> ClientState {
        cmds.iter().fold(ClientState::default(), |s, c| {
            let events = decide(c, &s, &IntakeContext::at(now())).unwrap();
            events.iter().fold(s, evolve)
        })
    }

    /// A registered self-pay client with an open episode.
    fn in_treatment(&self) -> ClientState {
        self.given(&[self.register(Payer::SelfPay), self.open()])
    }
}

fn when(cmd: &IntakeCommand, state: &ClientState) -> Result<Vec<IntakeEvent>, crate::DomainError> {
    decide(cmd, state, &IntakeContext::at(now()))
}

fn part2(right_to_revoke: bool, expiry: ConsentExpiry) -> ConsentKind {
    ConsentKind::Part2(Part2Consent {
        disclosing_program: short("Carelog Outpatient SUD Program"),
        recipient: short("Dr. Lee, primary care"),
        purpose: short("care coordination"),
        information: short("diagnosis and medication list"),
        expiry,
        signed_by: name("Jordan Rivera"),
        signed_on: date(2026, 3, 2),
        right_to_revoke_acknowledged: right_to_revoke,
    })
}
