//! `carelog token`: a bearer token for local use, minted from the configured shared secret.

use std::process::ExitCode;
use std::time::Duration;

use carelog_auth::AuthArgs;
use carelog_auth::Role;
use uuid::Uuid;

#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// intake, clinician, supervisor, biller, auditor, connector or admin.
    #[arg(long)]
    role: Role,
    /// The user the token speaks for (a UUID); a new one by default.
    #[arg(long)]
    subject: Option<Uuid>,
    /// For clinicians and supervisors: the clinician id they act as (default: the subject).
    #[arg(long)]
    clinician: Option<Uuid>,
    /// The user's display name (e.g. "Dr. Ana Ruiz"), recorded with what they do and shown to
    /// auditors; at most 100 characters, no control characters.
    #[arg(long)]
    name: Option<String>,
    /// Lifetime in hours.
    #[arg(long, default_value_t = 8)]
    hours: u64,
    #[command(flatten)]
    auth: AuthArgs,
}

pub fn run(args: TokenArgs) -> anyhow::Result<ExitCode> {
    let Some(issuer) = args.auth.issuer()? else {
        anyhow::bail!("no shared secret: set CARELOG_AUTH_SECRET (the same one `carelog serve` uses)");
    };
    let subject = args.subject.unwrap_or_else(Uuid::now_v7);
    let name = match args.name.as_deref().map(carelog_auth::display_name).transpose() {
        Ok(name) => name.flatten(),
        Err(error) => anyhow::bail!("--name: {error}"),
    };
    let lifetime = Duration::from_secs(args.hours.saturating_mul(3600));
    let token = issuer.mint_named(subject, args.role, args.clinician, name.as_deref(), lifetime);
    let who = name.map(|n| format!("{n} ({subject})")).unwrap_or_else(|| subject.to_string());
    eprintln!("token for {} {who}, valid {} h; send it as `authorization: Bearer <token>`", args.role, args.hours);
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}
