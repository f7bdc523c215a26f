//! What a practice decides about billing: its fees and whether an overdue plan review blocks a
//! charge. Defaults come from the domain; a binary may override them with flags or environment.

use std::collections::BTreeMap;

use carelog_domain::billing::{FeeSchedule, OverduePolicy};
use carelog_domain::types::{CptCode, Money};

/// Billing configuration shared by every call of the service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BillingConfig {
    /// Fee per unit of each CPT code; a code without a fee cannot be charged (`FEE_NOT_CONFIGURED`).
    pub fee_schedule: FeeSchedule,
    /// Warn (flag the charge) or block (`PLAN_REVIEW_OVERDUE`) when the plan review is overdue.
    pub overdue_policy: OverduePolicy,
}

/// Command-line and environment overrides of [`BillingConfig`].
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BillingArgs {
    /// What an overdue treatment plan review does to a new charge: `warn` or `block`.
    #[arg(long, env = "CARELOG_BILLING_OVERDUE_POLICY", value_parser = parse_policy, default_value = "warn")]
    pub overdue_policy: OverduePolicy,
    /// A fee overriding the default schedule, as `CPT=CENTS` (e.g. `90834=14000`); repeatable, or
    /// comma-separated in the environment.
    #[arg(long = "fee", env = "CARELOG_BILLING_FEES", value_parser = parse_fee, value_delimiter = ',')]
    pub fees: Vec<(CptCode, Money)>,
}

impl BillingArgs {
    /// The default schedule with the overrides applied; a later override of a code wins.
    pub fn config(&self) -> BillingConfig {
        let overrides: BTreeMap<CptCode, Money> = self.fees.iter().copied().collect();
        let defaults = FeeSchedule::default();
        let fee_schedule = FeeSchedule::new(
            CptCode::ALL.into_iter().filter_map(|c| overrides.get(&c).copied().or(defaults.fee(c)).map(|m| (c, m))),
        );
        BillingConfig { fee_schedule, overdue_policy: self.overdue_policy }
    }
}

fn parse_policy(raw: &str) -> Result<OverduePolicy, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "warn" => Ok(OverduePolicy::Warn),
        "block" => Ok(OverduePolicy::Block),
        other => Err(format!("{other:?} is not a policy: use warn or block")),
    }
}

fn parse_fee(raw: &str) -> Result<(CptCode, Money), String> {
    let (code, cents) = raw.split_once('=').ok_or_else(|| format!("{raw:?} is not CPT=CENTS"))?;
    let cpt = CptCode::parse(code).map_err(|e| e.reason)?;
    let cents: i64 = cents.trim().parse().map_err(|_| format!("{cents:?} is not a whole number of cents"))?;
    // A zero fee would create charges nobody can claim or collect; leave the code out instead.
    let fee = Money::positive(cents).map_err(|e| e.reason)?;
    Ok((cpt, fee))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        billing: BillingArgs,
    }

    fn parse(args: &[&str]) -> Result<BillingConfig, clap::Error> {
        Cli::try_parse_from(std::iter::once("carelog-billing").chain(args.iter().copied())).map(|c| c.billing.config())
    }

    #[test]
    fn defaults_are_the_domain_schedule_and_warn() {
        let config = parse(&[]).unwrap();
        assert_eq!(config, BillingConfig::default());
    }

    #[test]
    fn fees_override_single_codes_and_the_policy_can_block() {
        let config = parse(&["--fee", "90834=14000", "--fee", "90837=19000", "--overdue-policy", "block"]).unwrap();
        let fee = |c| config.fee_schedule.fee(c).map(|m| m.cents());
        assert_eq!(fee(CptCode::Psychotherapy45), Some(14_000));
        assert_eq!(fee(CptCode::Psychotherapy60), Some(19_000));
        assert_eq!(
            fee(CptCode::Psychotherapy30),
            FeeSchedule::default().fee(CptCode::Psychotherapy30).map(|m| m.cents())
        );
        assert_eq!(config.overdue_policy, OverduePolicy::Block);
    }

    #[test]
    fn bad_fees_and_policies_are_refused() {
        for bad in [&["--fee", "99213=100"][..], &["--fee", "90834"], &["--fee", "90834=-5"], &["--fee", "90834=0"]] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse(&["--overdue-policy", "ignore"]).is_err());
    }
}
