//! `carelog-proofs`: the ProofService (and the Merkle tree builder) alone.

use carelog_runtime::server::{self, StandaloneArgs};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    server::run_standalone_async(StandaloneArgs::parse(), "ProofService", |router, health, storage| async move {
        let proofs = carelog_proofs::ProofsStorage::of(storage.stored).await;
        carelog_proofs::mount(router, health, storage.sealed, proofs).await
    })
    .await
}
