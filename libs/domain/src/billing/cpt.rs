//! Procedure coding: which CPT codes a held session supports, and what the practice charges.

use std::collections::BTreeMap;

use crate::error::DomainError;
use crate::sessions::SessionKind;
use crate::types::{CptCode, Minutes, Money};

/// A code and its unit count on a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Procedure {
    pub cpt: CptCode,
    pub units: u16,
}

const fn one(cpt: CptCode) -> Procedure {
    Procedure { cpt, units: 1 }
}

/// Codes for a held session, following the CPT time rules for psychotherapy: 90832 for 16–37
/// minutes, 90834 for 38–52, 90837 for 53 or more, nothing under 16; crisis 90839 for 30–74
/// minutes plus one 90840 per further 30 minutes (75–104 one, 105–134 two, …), and under 30
/// minutes of crisis care coded as ordinary psychotherapy; family therapy (50-minute codes)
/// from 26 minutes; the diagnostic evaluation is untimed. Interactive complexity (90785) is
/// added only to a primary code that allows it.
pub fn derive_procedures(
    kind: SessionKind,
    minutes: Minutes,
    interactive_complexity: bool,
) -> Result<Vec<Procedure>, DomainError> {
    let m = minutes.get();
    let mut out = match kind {
        SessionKind::Intake => vec![one(CptCode::DiagnosticEvaluation)],
        SessionKind::Psychotherapy => vec![one(psychotherapy(m)?)],
        SessionKind::Crisis if m < 30 => vec![one(psychotherapy(m)?)],
        SessionKind::Crisis if m < 75 => vec![one(CptCode::Crisis)],
        SessionKind::Crisis => {
            vec![one(CptCode::Crisis), Procedure { cpt: CptCode::CrisisAddOn, units: (m - 75) / 30 + 1 }]
        }
        SessionKind::FamilyWithPatient | SessionKind::FamilyWithoutPatient if m < 26 => {
            return Err(DomainError::DurationNotBillable { minutes: m, minimum: 26 });
        }
        SessionKind::FamilyWithPatient => vec![one(CptCode::FamilyWithPatient)],
        SessionKind::FamilyWithoutPatient => vec![one(CptCode::FamilyWithoutPatient)],
    };
    if interactive_complexity {
        out.push(one(CptCode::InteractiveComplexity));
    }
    let codes: Vec<CptCode> = out.iter().map(|p| p.cpt).collect();
    check_add_ons(&codes)?;
    Ok(out)
}

fn psychotherapy(minutes: u16) -> Result<CptCode, DomainError> {
    match minutes {
        0..=15 => Err(DomainError::DurationNotBillable { minutes, minimum: 16 }),
        16..=37 => Ok(CptCode::Psychotherapy30),
        38..=52 => Ok(CptCode::Psychotherapy45),
        _ => Ok(CptCode::Psychotherapy60),
    }
}

/// Every add-on code needs a primary code on the same claim that allows it.
pub fn check_add_ons(codes: &[CptCode]) -> Result<(), DomainError> {
    for add_on in codes.iter().filter(|c| c.is_add_on()) {
        if !codes.iter().any(|p| !p.is_add_on() && add_on.add_on_allowed_with(*p)) {
            return Err(DomainError::AddonRequiresPrimary(add_on.to_string()));
        }
    }
    Ok(())
}

/// The practice's fee per unit of each code (configuration, supplied by the service).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeSchedule(BTreeMap<CptCode, Money>);

impl FeeSchedule {
    /// A schedule from explicit fees.
    pub fn new(fees: impl IntoIterator<Item = (CptCode, Money)>) -> Self {
        Self(fees.into_iter().collect())
    }

    /// The fee per unit, if configured.
    pub fn fee(&self, cpt: CptCode) -> Option<Money> {
        self.0.get(&cpt).copied()
    }
}

impl Default for FeeSchedule {
    /// Illustrative self-pay fees in cents; a practice configures its own.
    fn default() -> Self {
        let fee = |c| Money::from_cents(c).unwrap_or(Money::ZERO);
        Self::new([
            (CptCode::DiagnosticEvaluation, fee(20_000)),
            (CptCode::Psychotherapy30, fee(9_000)),
            (CptCode::Psychotherapy45, fee(13_000)),
            (CptCode::Psychotherapy60, fee(18_000)),
            (CptCode::Crisis, fee(20_000)),
            (CptCode::CrisisAddOn, fee(9_500)),
            (CptCode::InteractiveComplexity, fee(1_500)),
            (CptCode::FamilyWithoutPatient, fee(12_000)),
            (CptCode::FamilyWithPatient, fee(12_500)),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{code_of, mins};
    use CptCode::*;

    fn codes(kind: SessionKind, m: u32, ic: bool) -> Result<Vec<(CptCode, u16)>, DomainError> {
        derive_procedures(kind, mins(m), ic).map(|ps| ps.iter().map(|p| (p.cpt, p.units)).collect())
    }

    #[test]
    fn psychotherapy_codes_at_the_time_boundaries() {
        let p = SessionKind::Psychotherapy;
        assert_eq!(code_of(codes(p, 15, false)), "DURATION_NOT_BILLABLE");
        assert_eq!(code_of(codes(p, 1, false)), "DURATION_NOT_BILLABLE");
        for (m, want) in [
            (16, Psychotherapy30),
            (37, Psychotherapy30),
            (38, Psychotherapy45),
            (52, Psychotherapy45),
            (53, Psychotherapy60),
            (90, Psychotherapy60),
        ] {
            assert_eq!(codes(p, m, false).unwrap(), [(want, 1)], "{m} minutes");
        }
    }

    #[test]
    fn intake_is_the_untimed_diagnostic_evaluation() {
        assert_eq!(codes(SessionKind::Intake, 10, false).unwrap(), [(DiagnosticEvaluation, 1)]);
    }

    #[test]
    fn crisis_codes_and_add_on_units() {
        let c = SessionKind::Crisis;
        assert_eq!(codes(c, 29, false).unwrap(), [(Psychotherapy30, 1)], "under 30 minutes is ordinary psychotherapy");
        assert_eq!(code_of(codes(c, 15, false)), "DURATION_NOT_BILLABLE");
        assert_eq!(codes(c, 30, false).unwrap(), [(Crisis, 1)]);
        assert_eq!(codes(c, 74, false).unwrap(), [(Crisis, 1)]);
        assert_eq!(codes(c, 75, false).unwrap(), [(Crisis, 1), (CrisisAddOn, 1)]);
        assert_eq!(codes(c, 104, false).unwrap(), [(Crisis, 1), (CrisisAddOn, 1)]);
        assert_eq!(codes(c, 105, false).unwrap(), [(Crisis, 1), (CrisisAddOn, 2)]);
    }

    #[test]
    fn family_therapy_from_26_minutes() {
        assert_eq!(code_of(codes(SessionKind::FamilyWithPatient, 25, false)), "DURATION_NOT_BILLABLE");
        assert_eq!(codes(SessionKind::FamilyWithPatient, 26, false).unwrap(), [(FamilyWithPatient, 1)]);
        assert_eq!(codes(SessionKind::FamilyWithoutPatient, 50, false).unwrap(), [(FamilyWithoutPatient, 1)]);
    }

    #[test]
    fn interactive_complexity_only_with_a_primary_that_allows_it() {
        assert_eq!(
            codes(SessionKind::Psychotherapy, 45, true).unwrap(),
            [(Psychotherapy45, 1), (InteractiveComplexity, 1)]
        );
        assert_eq!(
            codes(SessionKind::Intake, 60, true).unwrap(),
            [(DiagnosticEvaluation, 1), (InteractiveComplexity, 1)]
        );
        assert_eq!(code_of(codes(SessionKind::Crisis, 60, true)), "ADDON_REQUIRES_PRIMARY");
        assert_eq!(code_of(codes(SessionKind::FamilyWithPatient, 50, true)), "ADDON_REQUIRES_PRIMARY");
        assert!(check_add_ons(&[InteractiveComplexity]).is_err());
        assert!(check_add_ons(&[CrisisAddOn]).is_err());
        assert!(check_add_ons(&[Crisis, CrisisAddOn]).is_ok());
    }

    #[test]
    fn fees_come_from_the_schedule() {
        let s = FeeSchedule::new([(Psychotherapy45, Money::from_cents(14_000).unwrap())]);
        assert_eq!(s.fee(Psychotherapy45).map(|m| m.cents()), Some(14_000));
        assert_eq!(s.fee(Psychotherapy60), None);
        assert!(CptCode::ALL.iter().all(|c| FeeSchedule::default().fee(*c).is_some()));
    }
}
