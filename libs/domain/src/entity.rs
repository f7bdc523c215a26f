//! The kinds of record a rule can find missing or duplicated, each with its own reason code.

use std::fmt;

/// The kinds of things a rule can find missing or duplicated; each gives its own reason code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    Client,
    Episode,
    Consent,
    Assessment,
    RiskFlag,
    Estimate,
    Plan,
    Goal,
    Objective,
    Intervention,
    Session,
    Addendum,
    Amendment,
    Account,
    Charge,
    Claim,
    Remittance,
    Recoupment,
    Payment,
    WriteOff,
    Superbill,
}

impl Entity {
    fn name(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Episode => "episode",
            Self::Consent => "consent",
            Self::Assessment => "assessment",
            Self::RiskFlag => "risk flag",
            Self::Estimate => "good faith estimate",
            Self::Plan => "treatment plan",
            Self::Goal => "goal",
            Self::Objective => "objective",
            Self::Intervention => "intervention",
            Self::Session => "session",
            Self::Addendum => "addendum",
            Self::Amendment => "amendment request",
            Self::Account => "account",
            Self::Charge => "charge",
            Self::Claim => "claim",
            Self::Remittance => "remittance",
            Self::Recoupment => "recoupment",
            Self::Payment => "payment",
            Self::WriteOff => "write-off",
            Self::Superbill => "superbill",
        }
    }

    pub(crate) fn not_found_code(self) -> &'static str {
        match self {
            Self::Client => "CLIENT_NOT_FOUND",
            Self::Episode => "EPISODE_NOT_FOUND",
            Self::Consent => "CONSENT_NOT_FOUND",
            Self::Assessment => "ASSESSMENT_NOT_FOUND",
            Self::RiskFlag => "RISK_FLAG_NOT_FOUND",
            Self::Estimate => "ESTIMATE_NOT_FOUND",
            Self::Plan => "PLAN_NOT_FOUND",
            Self::Goal => "GOAL_NOT_FOUND",
            Self::Objective => "OBJECTIVE_NOT_FOUND",
            Self::Intervention => "INTERVENTION_NOT_FOUND",
            Self::Session => "SESSION_NOT_FOUND",
            Self::Addendum => "ADDENDUM_NOT_FOUND",
            Self::Amendment => "AMENDMENT_NOT_FOUND",
            Self::Account => "ACCOUNT_NOT_FOUND",
            Self::Charge => "CHARGE_NOT_FOUND",
            Self::Claim => "CLAIM_NOT_FOUND",
            Self::Remittance => "REMITTANCE_NOT_FOUND",
            Self::Recoupment => "RECOUPMENT_NOT_FOUND",
            Self::Payment => "PAYMENT_NOT_FOUND",
            Self::WriteOff => "WRITE_OFF_NOT_FOUND",
            Self::Superbill => "SUPERBILL_NOT_FOUND",
        }
    }

    pub(crate) fn exists_code(self) -> &'static str {
        match self {
            Self::Client => "CLIENT_ALREADY_REGISTERED",
            Self::Episode => "EPISODE_ALREADY_EXISTS",
            Self::Consent => "CONSENT_ALREADY_EXISTS",
            Self::Assessment => "ASSESSMENT_ALREADY_EXISTS",
            Self::RiskFlag => "RISK_FLAG_ALREADY_EXISTS",
            Self::Estimate => "ESTIMATE_ALREADY_EXISTS",
            Self::Plan => "PLAN_ALREADY_EXISTS",
            Self::Goal => "GOAL_ALREADY_EXISTS",
            Self::Objective => "OBJECTIVE_ALREADY_EXISTS",
            Self::Intervention => "INTERVENTION_ALREADY_EXISTS",
            Self::Session => "SESSION_ALREADY_EXISTS",
            Self::Addendum => "ADDENDUM_ALREADY_EXISTS",
            Self::Amendment => "AMENDMENT_ALREADY_EXISTS",
            Self::Account => "ACCOUNT_ALREADY_EXISTS",
            Self::Charge => "CHARGE_ALREADY_EXISTS",
            Self::Claim => "CLAIM_ALREADY_EXISTS",
            Self::Remittance => "REMITTANCE_ALREADY_EXISTS",
            Self::Recoupment => "RECOUPMENT_ALREADY_EXISTS",
            Self::Payment => "PAYMENT_ALREADY_EXISTS",
            Self::WriteOff => "WRITE_OFF_ALREADY_EXISTS",
            Self::Superbill => "SUPERBILL_ALREADY_EXISTS",
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
