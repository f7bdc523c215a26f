//! `carelog audit …` (the audit trail, proofs, checkpoints, the offline check, the tree recheck)
//! and `carelog keygen`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use carelog_proofs::checkpoint::SignedCheckpoint;
use carelog_proofs::offline::{self, ProofFile};
use carelog_proofs::signed_from_proto;
use carelog_proto::v1 as proto;
use carelog_proto::v1::proof_service_client::ProofServiceClient;
use carelog_runtime::config::StoreArg;
use carelog_store::merkle::{MerkleTree, TreeError};
use ed25519_dalek::VerifyingKey;

use carelog::witness::status_error;

use crate::audit_report::{self, Format};
use crate::records_cli::ServerArg;

/// `carelog audit --client ID` prints the trail as before; the subcommands audit the whole log.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct AuditArgs {
    #[command(flatten)]
    server: ServerArg,
    /// The client whose audit trail to print (same as `carelog audit trail --client ID`).
    #[arg(long, required = true)]
    client: Option<String>,
    /// table (aligned columns), json or csv.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    #[command(subcommand)]
    command: Option<AuditCommand>,
}

#[derive(Debug, clap::Subcommand)]
enum AuditCommand {
    /// Prints a client's audit trail: every event with who, when, why and its correlation id.
    Trail {
        #[command(flatten)]
        server: ServerArg,
        #[arg(long)]
        client: String,
        /// table (aligned columns), json or csv.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// What changed in a client's record between two points (log positions or RFC 3339 recorded
    /// times): the events in between with who and why, and every field added, changed or removed.
    Diff {
        #[command(flatten)]
        server: ServerArg,
        #[arg(long)]
        client: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// table (aligned columns), json or csv (the changes only).
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Prints a client's accounting of disclosures (HIPAA §164.528): every read outside
    /// treatment, payment and operations and every export or connector read, with date,
    /// recipient, purpose and what was disclosed.
    Disclosures {
        #[command(flatten)]
        server: ServerArg,
        #[arg(long)]
        client: String,
        /// Only disclosures recorded at or after this RFC 3339 time.
        #[arg(long)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// table (aligned columns), json or csv.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Finds clients by name words (any order, case or accents), date of birth (YYYY-MM-DD) and/or
    /// member id, every one given matching; prints their ids. Each client found is logged as read.
    Find {
        #[command(flatten)]
        server: ServerArg,
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long = "date-of-birth", default_value = "")]
        date_of_birth: String,
        #[arg(long = "member-id", default_value = "")]
        member_id: String,
    },
    /// Fetches a proof from the server and saves it for `carelog audit check`.
    #[command(subcommand)]
    Prove(ProveCommand),
    /// Keeps your own log of the log's checkpoints in --dir: pulls the newest signed checkpoint,
    /// verifies its signature under the keys you trust and a consistency proof from the last one
    /// kept, then keeps it. Exits 2, saying what diverged, on any inconsistency.
    Witness {
        #[command(flatten)]
        server: ServerArg,
        /// Your checkpoint log (created on the first run); keep it where the practice cannot write.
        #[arg(long)]
        dir: PathBuf,
        /// The log's public key (required on the first run; repeat for several). Kept in DIR/keys.txt.
        #[arg(long = "public-key")]
        public_keys: Vec<PathBuf>,
        /// Ask the server to sign the tree as built now, instead of taking its newest checkpoint.
        #[arg(long)]
        sign_now: bool,
    },
    /// Saves a signed checkpoint (signed now, or the newest one at --size).
    Checkpoint {
        #[command(flatten)]
        server: ServerArg,
        /// The newest checkpoint already signed at this tree size, instead of signing one now.
        #[arg(long)]
        size: Option<u64>,
        /// Where to save it (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verifies a saved proof against a saved checkpoint and the log's public key, offline.
    Check {
        #[arg(long)]
        checkpoint: PathBuf,
        #[arg(long)]
        proof: PathBuf,
        #[arg(long)]
        public_key: PathBuf,
    },
    /// Recomputes the Merkle tree from the log's rows and compares it with the stored tree and
    /// every stored signed checkpoint, whose signatures must verify under a trusted key; exits
    /// non-zero and names the first altered position or checkpoint.
    VerifyTree {
        #[command(flatten)]
        store: StoreArg,
        /// The log's public key as the auditor holds it (repeat for a key change); without one,
        /// signatures are checked against the keys stored beside them, which a rewrite of the
        /// database could replace.
        #[arg(long = "public-key")]
        public_keys: Vec<PathBuf>,
    },
}

#[derive(Debug, clap::Subcommand)]
enum ProveCommand {
    /// That the event at --position is in the log of --size events (default: a checkpoint signed now).
    Inclusion {
        #[command(flatten)]
        server: ServerArg,
        #[arg(long)]
        position: u64,
        #[arg(long)]
        size: Option<u64>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// That the log of --from events is a prefix of the log of --to events (default: signed now).
    Consistency {
        #[command(flatten)]
        server: ServerArg,
        #[arg(long)]
        from: u64,
        #[arg(long)]
        to: Option<u64>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// The ProofService over the connection (TLS and token included) the server arguments name.
async fn proof_client(server: &ServerArg) -> anyhow::Result<Proofs> {
    let (channel, caller) = server.connect().await?;
    Ok(ProofServiceClient::with_interceptor(channel, caller))
}

type Proofs = carelog::witness::Proofs<carelog::demo::As>;

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where to write the secret key (64 hex characters); the public key goes to FILE.pub.
    #[arg(long)]
    out: PathBuf,
}

pub async fn audit(args: AuditArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        None => audit_report::trail(args.server, args.client.context("--client")?, args.format).await,
        Some(AuditCommand::Trail { server, client, format }) => audit_report::trail(server, client, format).await,
        Some(AuditCommand::Diff { server, client, from, to, format }) => {
            crate::audit_diff::diff(server, client, from, to, format).await
        }
        Some(AuditCommand::Disclosures { server, client, since, format }) => {
            audit_report::disclosures(server, client, since, format).await
        }
        Some(AuditCommand::Find { server, name, date_of_birth, member_id }) => {
            crate::audit_find::find(server, name, date_of_birth, member_id).await
        }
        Some(AuditCommand::Prove(prove)) => prove_command(prove).await,
        Some(AuditCommand::Witness { server, dir, public_keys, sign_now }) => {
            use carelog::witness::{DIVERGED_EXIT, Outcome, WHAT_TO_DO, witness};
            match witness(&mut proof_client(&server).await?, &dir, &public_keys, sign_now).await? {
                Outcome::Kept(message) => {
                    println!("{message}");
                    Ok(ExitCode::SUCCESS)
                }
                Outcome::Diverged(message) => {
                    println!("DIVERGED: {message}\n{WHAT_TO_DO}");
                    Ok(ExitCode::from(DIVERGED_EXIT))
                }
            }
        }
        Some(AuditCommand::Checkpoint { server, size, out }) => {
            let checkpoint = fetch_checkpoint(&mut proof_client(&server).await?, size).await?;
            eprintln!("checkpoint: {} events, root {}", checkpoint.tree_size, hex::encode(checkpoint.root));
            save(out.as_deref(), &checkpoint)
        }
        Some(AuditCommand::Check { checkpoint, proof, public_key }) => check(&checkpoint, &proof, &public_key),
        Some(AuditCommand::VerifyTree { store, public_keys }) => verify_tree(store, &public_keys).await,
    }
}

pub fn keygen(args: KeygenArgs) -> anyhow::Result<ExitCode> {
    let key = carelog_proofs::keys::generate();
    let public = carelog_proofs::keys::write_key_pair(&key, &args.out)?;
    eprintln!("secret key: {} (keep it off the database host; set CARELOG_SIGNING_KEY_FILE)", args.out.display());
    eprintln!("public key: {} (give it to your auditors)", public.display());
    Ok(ExitCode::SUCCESS)
}

/// A checkpoint signed now, or the newest one at `size`.
async fn fetch_checkpoint(client: &mut Proofs, size: Option<u64>) -> anyhow::Result<SignedCheckpoint> {
    use proto::get_proof_checkpoint_request::Which;
    let reply = match size {
        None => client.sign_checkpoint(proto::SignCheckpointRequest {}).await,
        Some(size) => {
            client.get_checkpoint(proto::GetProofCheckpointRequest { which: Some(Which::TreeSize(size)) }).await
        }
    };
    Ok(signed_from_proto(&reply.map_err(status_error)?.into_inner())?)
}

async fn prove_command(command: ProveCommand) -> anyhow::Result<ExitCode> {
    match command {
        ProveCommand::Inclusion { server, position, size, out } => {
            let mut client = proof_client(&server).await?;
            let size = match size {
                Some(size) => size,
                None => fetch_checkpoint(&mut client, None).await?.tree_size,
            };
            let request = proto::ProveInclusionRequest { position, tree_size: size };
            let reply = client.prove_inclusion(request).await.map_err(status_error)?.into_inner();
            save(out.as_deref(), &ProofFile::try_from(&reply)?)
        }
        ProveCommand::Consistency { server, from, to, out } => {
            let mut client = proof_client(&server).await?;
            let to = match to {
                Some(to) => to,
                None => fetch_checkpoint(&mut client, None).await?.tree_size,
            };
            let request = proto::ProveConsistencyRequest { old_size: from, new_size: to };
            let reply = client.prove_consistency(request).await.map_err(status_error)?.into_inner();
            save(out.as_deref(), &ProofFile::try_from(&reply)?)
        }
    }
}

fn save(out: Option<&Path>, value: &impl serde::Serialize) -> anyhow::Result<ExitCode> {
    let json = serde_json::to_string_pretty(value)?;
    match out {
        Some(path) => {
            std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
            eprintln!("saved {}", path.display());
        }
        None => println!("{json}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a {what} file", path.display()))
}

fn check(checkpoint: &Path, proof: &Path, public_key: &Path) -> anyhow::Result<ExitCode> {
    let checkpoint: SignedCheckpoint = read_json(checkpoint, "Carelog checkpoint")?;
    let proof: ProofFile = read_json(proof, "Carelog proof")?;
    let key = carelog_proofs::keys::read_public_key(public_key)?;
    match offline::check(&checkpoint, &proof, &key) {
        Ok(checked) => {
            println!("{checked}");
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            println!("REJECTED: {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn verify_tree(store: StoreArg, public_keys: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let trusted =
        public_keys.iter().map(|path| carelog_proofs::keys::read_public_key(path)).collect::<Result<Vec<_>, _>>()?;
    let url = store.url()?;
    let opened = carelog_store::open(&url).await?;
    let tree = MerkleTree::new(opened.database.clone());
    let (size, _) = tree.head().await?;
    if size == 0 {
        println!("the tree is empty: nothing to verify");
        return Ok(ExitCode::SUCCESS);
    }
    // Keys the trusted ones vouch for through the log's key changes (a handover they signed, or an
    // earlier key they named): a rotation passes, a key written into the database does not.
    let changes: Vec<_> =
        carelog_proofs::keylog::changes(opened.log.as_ref()).await?.into_iter().map(|c| c.change).collect();
    let trusted: Vec<[u8; 32]> = trusted.iter().map(VerifyingKey::to_bytes).collect();
    let trusted: Vec<VerifyingKey> = carelog_proofs::keychain::trusted_closure(&trusted, &changes)
        .iter()
        .filter_map(|k| VerifyingKey::from_bytes(k).ok())
        .collect();
    match tree.check_rows(size, &[]).await {
        Ok(check) => {
            let checkpoints = tree.signed_up_to(size).await?;
            let signed = checkpoints.len();
            if let Some(bad) = checkpoints.into_iter().find_map(|c| forged(c, &trusted)) {
                println!("TAMPERED: {bad}");
                return Ok(ExitCode::FAILURE);
            }
            if trusted.is_empty() {
                eprintln!(
                    "note: signatures were checked against the keys stored with them; give --public-key (the \
                     log's key as you hold it) to check they were signed by the log"
                );
            }
            println!("OK: {size} events give the stored tree's roots and all {signed} signed checkpoints' roots");
            for (at, root) in check.roots.iter().rev().take(1) {
                println!("root at {at}: {}", hex::encode(root));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(
            error
            @ (TreeError::Tampered { .. } | TreeError::RootMismatch { .. } | TreeError::CheckpointMismatch { .. }),
        ) => {
            println!("TAMPERED: {error}");
            Ok(ExitCode::FAILURE)
        }
        Err(error) => Err(error.into()),
    }
}

/// Why a stored checkpoint's signature is not the log's, if it is not: it must verify under one
/// of the trusted keys (or, with none given, under the key stored beside it).
fn forged(stored: carelog_store::merkle::StoredCheckpoint, trusted: &[VerifyingKey]) -> Option<String> {
    let (id, size) = (stored.id, stored.tree_size);
    let signed = carelog_proofs::signed_from_stored(stored);
    let verifies = match trusted {
        [] => VerifyingKey::from_bytes(&signed.public_key).is_ok_and(|key| signed.verify(&key).is_ok()),
        keys => keys.iter().any(|key| signed.verify(key).is_ok()),
    };
    let under = if trusted.is_empty() { "the key stored with it" } else { "any trusted key" };
    (!verifies).then(|| format!("signed checkpoint #{id} (tree size {size}) does not verify under {under}"))
}
