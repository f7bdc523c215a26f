//! `carelog-proofs`: the ProofService (and the Merkle tree builder) alone.

use carelog_runtime::server::{self, StandaloneArgs};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    server::run_standalone_async(StandaloneArgs::parse(), "ProofService", carelog_proofs::mount).await
}
