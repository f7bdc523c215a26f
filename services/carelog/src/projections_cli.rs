//! `carelog projections status`: how far the read models are and which events they could not
//! fold (quarantined), so an operator knows which clients' views are incomplete and since when.

use std::process::ExitCode;
use std::sync::Arc;

use carelog_projections::{RECORDS, Runner};
use carelog_runtime::config::StoreArg;

/// Operator commands for the read models.
#[derive(Debug, clap::Subcommand)]
pub enum ProjectionsCommand {
    /// The live generation's checkpoint against the log's head, and every quarantined event
    /// (position, document, event, error). Exits 2 while any event is quarantined.
    Status {
        #[command(flatten)]
        store: StoreArg,
    },
}

pub async fn run(command: ProjectionsCommand) -> anyhow::Result<ExitCode> {
    match command {
        ProjectionsCommand::Status { store } => status(store).await,
    }
}

async fn status(store: StoreArg) -> anyhow::Result<ExitCode> {
    let storage = store.open_sealed().await?;
    let (store, url): (Arc<dyn carelog_store::EventStore>, _) = (storage.sealed, storage.url);
    let head = store.head_position().await?.0;
    let runner = Runner::new(Arc::clone(&store), storage.stored.database).await?;
    let live = runner.models().live(RECORDS).await?;
    let quarantined = runner.models().quarantined(RECORDS).await?;
    println!("{url}: projection {RECORDS}, generation {}, checkpoint {} of {head}", live.id, live.checkpoint);
    if quarantined.is_empty() {
        println!("no event quarantined: every view is complete");
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} event(s) quarantined; these views are incomplete since the position shown:", quarantined.len());
    println!("{:>10}  {:<8} {:<44} {:<28} error", "position", "view", "key", "event");
    for q in &quarantined {
        println!("{:>10}  {:<8} {:<44} {:<28} {}", q.position, q.target.as_str(), q.key, q.event_type, q.error);
    }
    println!("after a fix, `carelog rebuild` folds them again (a rebuild starts with no quarantine)");
    Ok(ExitCode::from(2))
}
