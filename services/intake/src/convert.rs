//! Proto requests → validated domain commands. Every bad field is reported, by its proto name.

use carelog_domain::intake::{
    ConsentExpiry, ConsentKind, Contact, Demographics, DiagnosisRevision, EstimateRequestLine, IntakeCommand,
    Part2Consent, Payer, ReleaseOfInformation,
};
use carelog_domain::types::{
    ActorId, AssessmentId, AssessmentScores, ClientId, ClinicianId, CodeSetVersion, ConsentId, CptCode, Diagnosis,
    Email, EpisodeId, EstimateId, Icd10Code, Instrument, MemberId, Money, PersonName, PhoneNumber, Reason, ShortText,
};
use carelog_executor::{CommandMeta, ServiceError};
use carelog_proto::v1 as proto;
use carelog_runtime::parse::{self, Fields};
use proto::give_consent_request::Kind;
use proto::record_assessment_request::Instrument as ProtoInstrument;

#[cfg(test)]
mod fuzz;

/// A command on one client's stream.
pub type ClientCommand = (ClientId, IntakeCommand);

fn optional<T>(
    fields: &mut Fields,
    field: &str,
    raw: &str,
    parse: fn(&str) -> Result<T, carelog_domain::ValidationError>,
) -> Option<Option<T>> {
    if raw.trim().is_empty() { Some(None) } else { fields.take(field, parse(raw)).map(Some) }
}

fn actor(meta: &CommandMeta) -> Result<ActorId, ServiceError> {
    ActorId::parse(&meta.actor.id).map_err(|_| ServiceError::Unauthenticated("the actor id is not a UUID".into()))
}

pub fn register_client(r: &proto::RegisterClientRequest, meta: &CommandMeta) -> Result<ClientCommand, ServiceError> {
    let registered_by = actor(meta)?;
    let mut f = Fields::default();
    let client_id = f.take("client_id", ClientId::parse(&r.client_id));
    let legal_name = f.take("legal_name", PersonName::parse(&r.legal_name));
    let preferred_name = optional(&mut f, "preferred_name", &r.preferred_name, PersonName::parse);
    let date_of_birth = f.take("date_of_birth", parse::date("date_of_birth", &r.date_of_birth));
    if let Some(dob) = date_of_birth
        && dob > meta.now.date_naive()
    {
        f.violation("date_of_birth", "is in the future");
    }
    let phone = optional(&mut f, "phone", &r.phone, PhoneNumber::parse);
    let email = optional(&mut f, "email", &r.email, Email::parse);
    let address = optional(&mut f, "address", &r.address, ShortText::parse);
    let payer = match &r.payer {
        None => {
            f.violation("payer", "is required: self_pay or insurance");
            None
        }
        Some(proto::register_client_request::Payer::SelfPay(_)) => Some(Payer::SelfPay),
        Some(proto::register_client_request::Payer::Insurance(i)) => {
            let payer_name = f.take("insurance.payer_name", ShortText::parse(&i.payer_name));
            let member_id = f.take("insurance.member_id", MemberId::parse(&i.member_id));
            payer_name.zip(member_id).map(|(payer_name, member_id)| Payer::Insurance { payer_name, member_id })
        }
    };
    f.finish(|| {
        let demographics = Demographics {
            legal_name: legal_name?,
            preferred_name: preferred_name?,
            date_of_birth: Some(date_of_birth?),
            contact: Contact { phone: phone?, email: email?, address: address? },
            payer: payer?,
        };
        Some((client_id?, IntakeCommand::RegisterClient { client_id: client_id?, demographics, registered_by }))
    })
}

pub fn open_episode(r: &proto::OpenEpisodeRequest, meta: &CommandMeta) -> Result<ClientCommand, ServiceError> {
    let mut f = Fields::default();
    let client_id = f.take("client_id", ClientId::parse(&r.client_id));
    let episode_id = f.take("episode_id", EpisodeId::parse(&r.episode_id));
    let clinician_id = f.take("clinician_id", ClinicianId::parse(&r.clinician_id));
    let opened_at = f.take("opened_at", clinical_time("opened_at", r.opened_at.as_ref(), meta));
    f.finish(|| {
        Some((
            client_id?,
            IntakeCommand::OpenEpisode { episode_id: episode_id?, clinician_id: clinician_id?, opened_at: opened_at? },
        ))
    })
}

/// A clinical time from the request, defaulting to the command's occurred_at; never in the future.
fn clinical_time(
    field: &str,
    value: Option<&prost_types::Timestamp>,
    meta: &CommandMeta,
) -> parse::Parsed<chrono::DateTime<chrono::Utc>> {
    let time = parse::optional_timestamp(field, value)?.unwrap_or(meta.occurred_at);
    parse::past_time(field, time, meta.now)
}

pub fn give_consent(r: &proto::GiveConsentRequest, meta: &CommandMeta) -> Result<ClientCommand, ServiceError> {
    let recorded_by = actor(meta)?;
    let mut f = Fields::default();
    let client_id = f.take("client_id", ClientId::parse(&r.client_id));
    let consent_id = f.take("consent_id", ConsentId::parse(&r.consent_id));
    let given_at = f.take("given_at", clinical_time("given_at", r.given_at.as_ref(), meta));
    let kind = match &r.kind {
        None => {
            f.violation(
                "kind",
                "is required: treatment, telehealth, financial_policy, release_of_information or part2",
            );
            None
        }
        Some(Kind::Treatment(_)) => Some(ConsentKind::Treatment),
        Some(Kind::Telehealth(_)) => Some(ConsentKind::Telehealth),
        Some(Kind::FinancialPolicy(_)) => Some(ConsentKind::FinancialPolicy),
        Some(Kind::ReleaseOfInformation(roi)) => {
            let recipient = f.take("release_of_information.recipient", ShortText::parse(&roi.recipient));
            let purpose = f.take("release_of_information.purpose", ShortText::parse(&roi.purpose));
            let expires_on = f.take(
                "release_of_information.expires_on",
                parse::date("release_of_information.expires_on", &roi.expires_on),
            );
            (|| {
                Some(ConsentKind::ReleaseOfInformation(ReleaseOfInformation {
                    recipient: recipient?,
                    purpose: purpose?,
                    expires_on: expires_on?,
                }))
            })()
        }
        Some(Kind::Part2(p)) => part2(&mut f, p).map(ConsentKind::Part2),
    };
    f.finish(|| {
        Some((
            client_id?,
            IntakeCommand::GiveConsent { consent_id: consent_id?, kind: kind?, given_at: given_at?, recorded_by },
        ))
    })
}

fn part2(f: &mut Fields, p: &proto::give_consent_request::Part2) -> Option<Part2Consent> {
    let text = |f: &mut Fields, field: &str, raw: &str| f.take(&format!("part2.{field}"), ShortText::parse(raw));
    let disclosing_program = text(f, "disclosing_program", &p.disclosing_program);
    let recipient = text(f, "recipient", &p.recipient);
    let purpose = text(f, "purpose", &p.purpose);
    let information = text(f, "information", &p.information);
    let expiry = match (p.expires_on.trim().is_empty(), p.expires_upon_event.trim().is_empty()) {
        (false, true) => f
            .take("part2.expires_on", parse::date("part2.expires_on", &p.expires_on))
            .map(|date| ConsentExpiry::OnDate { date }),
        (true, false) => {
            text(f, "expires_upon_event", &p.expires_upon_event).map(|event| ConsentExpiry::UponEvent { event })
        }
        _ => {
            f.violation("part2.expires_on", "give exactly one of expires_on or expires_upon_event");
            None
        }
    };
    let signed_by = f.take("part2.signed_by", PersonName::parse(&p.signed_by));
    let signed_on = f.take("part2.signed_on", parse::date("part2.signed_on", &p.signed_on));
    Some(Part2Consent {
        disclosing_program: disclosing_program?,
        recipient: recipient?,
        purpose: purpose?,
        information: information?,
        expiry: expiry?,
        signed_by: signed_by?,
        signed_on: signed_on?,
        right_to_revoke_acknowledged: p.right_to_revoke_acknowledged,
    })
}

pub fn revoke_consent(r: &proto::RevokeConsentRequest, meta: &CommandMeta) -> Result<ClientCommand, ServiceError> {
    let mut f = Fields::default();
    let client_id = f.take("client_id", ClientId::parse(&r.client_id));
    let consent_id = f.take("consent_id", ConsentId::parse(&r.consent_id));
    let revoked_at = f.take("revoked_at", clinical_time("revoked_at", r.revoked_at.as_ref(), meta));
    let reason = f.take("context.reason", Reason::parse(meta.reason.as_deref().unwrap_or_default()));
    f.finish(|| {
        Some((
            client_id?,
            IntakeCommand::RevokeConsent { consent_id: consent_id?, reason: reason?, revoked_at: revoked_at? },
        ))
    })
}

pub fn record_assessment(
    r: &proto::RecordAssessmentRequest,
    meta: &CommandMeta,
) -> Result<ClientCommand, ServiceError> {
    let administered_by = actor(meta)?;
    let mut f = Fields::default();
    let client_id = f.take("client_id", ClientId::parse(&r.client_id));
    let assessment_id = f.take("assessment_id", AssessmentId::parse(&r.assessment_id));
    let instrument = match f.take("instrument", parse::enumeration::<ProtoInstrument>("instrument", r.instrument)) {
        Some(ProtoInstrument::Phq9) => Some(Instrument::Phq9),
        Some(ProtoInstrument::Gad7) => Some(Instrument::Gad7),
        Some(ProtoInstrument::Unspecified) | None => None,
    };
    let scores = instrument.and_then(|i| f.take("item_scores", AssessmentScores::parse(i, &r.item_scores)));
    let administered_at = f.take("administered_at", clinical_time("administered_at", r.administered_at.as_ref(), meta));
    f.finish(|| {
        Some((
            client_id?,
            IntakeCommand::RecordAssessment {
                assessment_id: assessment_id?,
                scores: scores?,
                administered_by,
                administered_at: administered_at?,
            },
        ))
    })
}

pub fn acknowledge_risk_flag(r: &proto::AcknowledgeRiskFlagRequest) -> Result<ClientCommand, ServiceError> {
    let mut f = Fields::default();
    let client_id = f.take("client_id", ClientId::parse(&r.client_id));
    let assessment_id = f.take("assessment_id", AssessmentId::parse(&r.assessment_id));
    let clinician_id = f.take("clinician_id", ClinicianId::parse(&r.clinician_id));
    let action_taken = f.take("action_taken", Reason::parse(&r.action_taken));
    f.finish(|| {
        Some((
            client_id?,
            IntakeCommand::AcknowledgeRiskFlag {
                assessment_id: assessment_id?,
                clinician_id: clinician_id?,
                action_taken: action_taken?,
            },
        ))
    })
}

fn diagnosis(f: &mut Fields, prefix: &str, code: &str, version: &str) -> Option<Diagnosis> {
    let code = f.take(&format!("{prefix}icd10_code"), Icd10Code::parse(code));
    let code_set = f.take(&format!("{prefix}code_set_version"), CodeSetVersion::parse(version));
    Some(Diagnosis { code: code?, code_set: code_set? })
}

pub fn record_diagnosis(r: &proto::RecordDiagnosisRequest) -> Result<ClientCommand, ServiceError> {
    let mut f = Fields::default();
    let client_id = f.take("client_id", ClientId::parse(&r.client_id));
    let diagnosis = diagnosis(&mut f, "", &r.icd10_code, &r.code_set_version);
    let clinician_id = f.take("clinician_id", ClinicianId::parse(&r.clinician_id));
    f.finish(|| {
        Some((client_id?, IntakeCommand::RecordDiagnosis { diagnosis: diagnosis?, clinician_id: clinician_id? }))
    })
}

pub fn revise_diagnosis(r: &proto::ReviseDiagnosisRequest, meta: &CommandMeta) -> Result<ClientCommand, ServiceError> {
    use proto::revise_diagnosis_request::Revision;
    let mut f = Fields::default();
    let client_id = f.take("client_id", ClientId::parse(&r.client_id));
    let code = f.take("icd10_code", Icd10Code::parse(&r.icd10_code));
    let clinician_id = f.take("clinician_id", ClinicianId::parse(&r.clinician_id));
    let reason = f.take("context.reason", Reason::parse(meta.reason.as_deref().unwrap_or_default()));
    let revision = match &r.revision {
        None => {
            f.violation("revision", "is required: resolved or changed_to");
            None
        }
        Some(Revision::Resolved(_)) => Some(DiagnosisRevision::Resolved),
        Some(Revision::ChangedTo(c)) => diagnosis(&mut f, "changed_to.", &c.icd10_code, &c.code_set_version)
            .map(|diagnosis| DiagnosisRevision::ChangedTo { diagnosis }),
    };
    f.finish(|| {
        Some((
            client_id?,
            IntakeCommand::ReviseDiagnosis {
                code: code?,
                revision: revision?,
                reason: reason?,
                clinician_id: clinician_id?,
            },
        ))
    })
}

pub fn issue_good_faith_estimate(
    r: &proto::IssueGoodFaithEstimateRequest,
    meta: &CommandMeta,
) -> Result<ClientCommand, ServiceError> {
    let issued_by = actor(meta)?;
    let mut f = Fields::default();
    let client_id = f.take("client_id", ClientId::parse(&r.client_id));
    let estimate_id = f.take("estimate_id", EstimateId::parse(&r.estimate_id));
    if r.lines.is_empty() {
        f.violation("lines", "an estimate needs at least one line");
    }
    let lines: Vec<Option<EstimateRequestLine>> = r
        .lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let cpt = f.take(&format!("lines[{i}].cpt"), CptCode::parse(&line.cpt));
            let unit_fee = f.take(&format!("lines[{i}].unit_fee_cents"), Money::from_cents(line.unit_fee_cents));
            let units = match u16::try_from(line.units) {
                Ok(units @ 1..=100) => Some(units),
                _ => {
                    f.violation(&format!("lines[{i}].units"), "must be 1 to 100");
                    None
                }
            };
            Some(EstimateRequestLine { cpt: cpt?, units: units?, unit_fee: unit_fee? })
        })
        .collect();
    f.finish(|| {
        let lines = lines.into_iter().collect::<Option<Vec<_>>>()?;
        Some((client_id?, IntakeCommand::IssueGoodFaithEstimate { estimate_id: estimate_id?, lines, issued_by }))
    })
}

/// `PlaceLegalHold` (`release` false) or `ReleaseLegalHold`: the reason comes from the context.
pub fn legal_hold(
    r: &proto::LegalHoldRequest,
    meta: &CommandMeta,
    release: bool,
) -> Result<ClientCommand, ServiceError> {
    let mut f = Fields::default();
    let client_id = f.take("client_id", ClientId::parse(&r.client_id));
    let reason = f.take("context.reason", Reason::parse(meta.reason.as_deref().unwrap_or_default()));
    let by = actor(meta)?;
    f.finish(|| {
        let reason = reason?;
        let command = if release {
            IntakeCommand::ReleaseLegalHold { reason, released_by: by }
        } else {
            IntakeCommand::PlaceLegalHold { reason, placed_by: by }
        };
        Some((client_id?, command))
    })
}
