//! What a practice decides about its sessions: when documentation counts as a late entry, and
//! whether a self-pay service may be scheduled before its Good Faith Estimate. Defaults come from
//! the domain; a binary may override them with flags or environment.

use carelog_domain::sessions::{EstimatePolicy, SessionSettings};

/// Command-line and environment overrides of [`SessionSettings`].
#[derive(Debug, Clone, clap::Args)]
pub struct SessionsArgs {
    /// Hours after a service past which its documentation is labelled a late entry (1–720).
    #[arg(long, env = "CARELOG_LATE_ENTRY_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=720))]
    pub late_entry_hours: u32,
    /// Scheduling a self-pay service no Good Faith Estimate covers: `warn` (schedule it and show
    /// the estimate as due) or `refuse` (GOOD_FAITH_ESTIMATE_REQUIRED).
    #[arg(long, env = "CARELOG_ESTIMATE_POLICY", value_parser = parse_policy, default_value = "warn")]
    pub estimate_policy: EstimatePolicy,
}

impl Default for SessionsArgs {
    fn default() -> Self {
        Self { late_entry_hours: 24, estimate_policy: EstimatePolicy::default() }
    }
}

impl SessionsArgs {
    /// The practice's settings.
    pub fn config(&self) -> SessionSettings {
        SessionSettings {
            late_entry_after: chrono::Duration::hours(i64::from(self.late_entry_hours)),
            estimate_policy: self.estimate_policy,
        }
    }
}

fn parse_policy(raw: &str) -> Result<EstimatePolicy, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "warn" => Ok(EstimatePolicy::Warn),
        "refuse" => Ok(EstimatePolicy::Refuse),
        other => Err(format!("{other:?} is not a policy: use warn or refuse")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        sessions: SessionsArgs,
    }

    fn parse(args: &[&str]) -> Result<SessionSettings, clap::Error> {
        Cli::try_parse_from(std::iter::once("carelog-sessions").chain(args.iter().copied()))
            .map(|c| c.sessions.config())
    }

    #[test]
    fn defaults_are_24_hours_and_warn() {
        assert_eq!(parse(&[]).unwrap(), SessionSettings::default());
        assert_eq!(SessionsArgs::default().config(), SessionSettings::default());
    }

    #[test]
    fn the_threshold_and_policy_can_be_set_and_bad_values_are_refused() {
        let settings = parse(&["--late-entry-hours", "48", "--estimate-policy", "refuse"]).unwrap();
        assert_eq!(settings.late_entry_after, chrono::Duration::hours(48));
        assert_eq!(settings.estimate_policy, EstimatePolicy::Refuse);
        for bad in [&["--late-entry-hours", "0"][..], &["--late-entry-hours", "721"], &["--late-entry-hours", "-3"]] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse(&["--estimate-policy", "ignore"]).is_err());
    }
}
