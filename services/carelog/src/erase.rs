//! `carelog erase --client ID --reason …`: records `ClientErased` through the domain's rules
//! (legal hold, open episode, retention period), shreds the client's data key, folds the erasure
//! into the read models (which scrubs them) and reclaims the old row versions. Run again after an
//! interruption, it finishes an erasure already recorded.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use carelog_domain::DomainError;
use carelog_domain::intake::IntakeCommand;
use carelog_domain::types::{ActorId, ClientId, Reason};
use carelog_executor::ServiceError;
use carelog_projections::Runner;
use carelog_proto::v1::CommandContext;
use carelog_runtime::config::StoreArg;
use carelog_store::{Actor, EventStore as _};
use chrono::Utc;
use uuid::Uuid;

#[derive(Debug, clap::Args)]
pub struct EraseArgs {
    #[command(flatten)]
    store: StoreArg,
    /// The client whose PHI is erased (the UUID of their `client-…` stream).
    #[arg(long)]
    client: String,
    /// Why (e.g. "GDPR art. 17 request of 2026-11-02, ticket 4711"). Stays readable: no PHI here.
    #[arg(long)]
    reason: String,
    /// Records are kept this many years after the last episode closed (state law; HIPAA: 6);
    /// 0 to 150.
    #[arg(long, default_value_t = 7, env = "CARELOG_RETENTION_YEARS",
          value_parser = clap::value_parser!(u32).range(0..=i64::from(carelog_domain::intake::MAX_RETENTION_YEARS)))]
    retention_years: u32,
    /// Who erases (a UUID recorded as the actor); default: a new id for this run.
    #[arg(long)]
    actor: Option<Uuid>,
}

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erased {
    /// Where `ClientErased` was recorded; `None` when it already was (an interrupted erase resumed).
    pub position: Option<u64>,
    pub shred: carelog_vault::ShredReport,
    /// The read models have folded the log up to here, the erasure included (they are scrubbed).
    pub projected_to: u64,
    /// No old version of a scrubbed row is left: SQLite truncated its WAL after the scrub,
    /// PostgreSQL vacuumed with no older snapshot running. `false`: a reader kept some; run again.
    pub old_versions_reclaimed: bool,
}

/// Records `ClientErased` through the domain's rules, shreds the client's key, then makes sure
/// the read models folded the erasure — scrubbing the episode view, ledgers and audit reasons —
/// and that no old version of a scrubbed row is left (SQLite WAL, PostgreSQL dead tuples). A
/// refusal (`Err(ServiceError::Domain(..))`, e.g. `LEGAL_HOLD_ACTIVE`) changes nothing.
pub async fn erase_client(
    store: &Arc<carelog_vault::SealedStore>,
    read_models: carelog_store::Database,
    client: ClientId,
    reason: Reason,
    retention_years: u32,
    actor: Uuid,
) -> Result<Erased, ServiceError> {
    let context = CommandContext {
        command_id: Uuid::now_v7().to_string(),
        reason: reason.as_str().to_owned(),
        ..Default::default()
    };
    let meta =
        carelog_runtime::command_context::parse(Some(&context), Actor::new(actor.to_string(), "admin"), Utc::now())?;
    let erased_by = ActorId::from_uuid(actor).map_err(|e| ServiceError::invalid("actor", e.reason))?;
    let command = IntakeCommand::EraseClient { reason: reason.clone(), erased_by, retention_years };
    let position =
        match carelog_intake::handlers::run(store.as_ref(), &meta, carelog_intake::LATE_ENTRY_AFTER, client, command)
            .await
        {
            Ok(committed) => Some(committed.position.0),
            Err(ServiceError::Domain(DomainError::AlreadyErased)) => None,
            Err(other) => return Err(other),
        };
    let shred = store
        .keys()
        .shred(&client.to_string(), reason.as_str())
        .await
        .map_err(|e| ServiceError::Store(e.into_store_error(carelog_store::Position::START)))?;
    // Folding it ourselves is safe beside a running projector (batches commit against the
    // checkpoint) and needs none: a resumed erasure folds up to the head.
    let target = match position {
        Some(position) => position,
        None => store.head_position().await?.0,
    };
    let runner =
        Runner::new(Arc::clone(store) as Arc<dyn carelog_store::EventStore>, read_models).await.map_err(projection)?;
    let projected_to = runner.catch_up_live_to(target).await.map_err(projection)?;
    let old_versions_reclaimed = runner.models().reclaim_rewritten().await.map_err(projection)?;
    Ok(Erased { position, shred, projected_to, old_versions_reclaimed })
}

fn projection(error: carelog_projections::ProjectionError) -> ServiceError {
    match error {
        carelog_projections::ProjectionError::Store(store) => ServiceError::Store(store),
        other => ServiceError::Store(carelog_store::StoreError::Database(format!("read models: {other}"))),
    }
}

pub async fn run(args: EraseArgs) -> anyhow::Result<ExitCode> {
    let client = ClientId::parse(&args.client).map_err(|e| anyhow::anyhow!("--client: {}", e.reason))?;
    let reason = Reason::parse(&args.reason).map_err(|e| anyhow::anyhow!("--reason: {}", e.reason))?;
    let storage = args.store.open_sealed().await?;
    let (store, url) = (storage.sealed, storage.url);
    let actor = args.actor.unwrap_or_else(Uuid::now_v7);
    let read_models = storage.stored.database;
    let erased = match erase_client(&store, read_models, client, reason, args.retention_years, actor).await {
        Ok(erased) => erased,
        Err(ServiceError::Domain(refusal)) => {
            eprintln!("refused: {} ({refusal}); nothing was changed", refusal.code());
            eprintln!("next: {}", next_step(&refusal, args.retention_years));
            return Ok(ExitCode::from(3));
        }
        Err(other) => return Err(other).context("erasing"),
    };
    match erased.position {
        Some(position) => println!("recorded ClientErased for client {client} at position {position} ({url})"),
        None => println!("client {client}: ClientErased was already recorded; finishing the shredding"),
    }
    if erased.shred.key_deleted {
        println!("shredded the data key of client {client}: their PHI now reads [erased] everywhere");
    } else {
        println!("the data key of client {client} was already shredded");
    }
    println!(
        "the read models folded the erasure (position {}): views, ledgers and audit reasons are scrubbed",
        erased.projected_to
    );
    if !erased.old_versions_reclaimed {
        eprintln!(
            "note: a long-running reader kept old row versions (SQLite WAL / PostgreSQL dead tuples) from being \
             reclaimed; run `carelog erase` again when idle"
        );
    }
    println!(
        "hashes cover the ciphertext: `carelog verify` still passes; other processes drop cached keys within 30 s"
    );
    Ok(ExitCode::SUCCESS)
}

/// What to do about a refusal.
fn next_step(refusal: &DomainError, retention_years: u32) -> String {
    match refusal.code() {
        "LEGAL_HOLD_ACTIVE" => {
            "a legal hold applies: once counsel lifts it, call IntakeService.ReleaseLegalHold, then erase".into()
        }
        "EPISODE_OPEN" => "close the open episode (discharge summary) first; retention runs from its close".into(),
        "RETENTION_PERIOD_ACTIVE" => format!(
            "records must be kept {retention_years} years after the last episode closed; erase after that date \
             (or pass --retention-years if your jurisdiction's period is shorter)"
        ),
        "CLIENT_NOT_FOUND" => "no client stream with that id: check --client and --store".into(),
        _ => "nothing was changed".into(),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        erase: super::EraseArgs,
    }

    /// An overflowing retention end once fell back to the close date and erased at once.
    #[test]
    fn the_retention_period_is_range_checked() {
        let parse =
            |years: &str| Cli::try_parse_from(["erase", "--client", "c", "--reason", "r", "--retention-years", years]);
        assert_eq!(parse("150").map(|c| c.erase.retention_years).ok(), Some(150));
        for bad in ["151", "1000000", "-1"] {
            assert!(parse(bad).is_err(), "{bad} accepted");
        }
    }
}
