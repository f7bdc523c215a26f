//! Carelog on a replicated PostgreSQL (Patroni, synchronous replication, HAProxy; started by
//! `scripts/ha-cluster.sh`) losing its primary under load. Two intake processes take journaled
//! writes from 8 writers, two records processes elect a projector on the primary, a third reads
//! from the hot standbys, a proofs process builds the Merkle tree. Each round SIGKILLs the leader's
//! postmaster, then stops the leader's Patroni (a switchover). Afterwards: no acknowledged command
//! lost, none stored twice, `carelog verify` and `carelog audit verify-tree` pass, the read models
//! equal a rebuild, and the write outage of every failover is printed (RTO).
//!
//! `CARELOG_HA_ROUNDS` (default 1) asks for more rounds. Outside CI the test is skipped, saying so,
//! when the cluster cannot be started (it needs root to install packages and run as `postgres`).

#[path = "../multiproc/processes.rs"]
#[allow(dead_code)]
mod processes;

mod cluster;
mod load;
mod verdict;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use cluster::Cluster;
use load::Journal;
use processes::{Process, Store};
use tonic::transport::Channel;

/// Fast election and polling, so the test measures the database's failover, not our timers.
const RECORDS_ARGS: [&str; 6] =
    ["--projector-retry-ms", "200", "--projector-check-ms", "200", "--checkpoint-poll-ms", "20"];
const WRITERS: usize = 8;
const READERS: usize = 2;
/// Longest a failover may stop writes before the test calls it a failure.
const OUTAGE_LIMIT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
enum Failure {
    /// SIGKILL to the leader's postmaster: Patroni restarts it or promotes the synchronous standby.
    KillPostgres,
    /// The leader's Patroni stopped: it shuts PostgreSQL down and hands over (a switchover).
    StopLeader,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_acknowledged_write_is_lost_when_the_primary_fails_over() {
    let Some(cluster) = Cluster::up() else { return };
    let rounds: usize = std::env::var("CARELOG_HA_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(1);
    let schema = format!("carelog_ha_{}", uuid::Uuid::new_v4().simple());
    let url = cluster.write_url(&schema);
    let read_url = cluster.read_url(&schema);
    let master_key = carelog_vault::SecretKey::generate().to_base64();
    let store = Store { url: &url, master_key: &master_key };

    // Every process starts at once on a schema that does not exist yet: a cold start of a deployment.
    let mut replica_args = RECORDS_ARGS.to_vec();
    replica_args.extend(["--read-store", read_url.as_str()]);
    let specs: Vec<(&str, &str, Vec<&str>)> = vec![
        ("intake-a", "carelog-intake", vec![]),
        ("intake-b", "carelog-intake", vec![]),
        ("records-a", "carelog-records", RECORDS_ARGS.to_vec()),
        ("records-b", "carelog-records", RECORDS_ARGS.to_vec()),
        ("records-replica", "carelog-records", replica_args),
        ("proofs", "carelog-proofs", vec![]),
    ];
    let processes = start_together(&store, &specs);
    let [intake_a, intake_b, records_a, records_b, replica, proofs] =
        <[Process; 6]>::try_from(processes).expect("six processes");

    let journal = Arc::new(Journal::default());
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let intake = if writer % 2 == 0 { &intake_a } else { &intake_b };
        tasks.push(tokio::spawn(load::writer(Arc::clone(&journal), lazy(intake))));
    }
    for _ in 0..READERS {
        tasks.push(tokio::spawn(load::reader(Arc::clone(&journal), lazy(&replica))));
    }
    wait_for_acks(&journal, Instant::now(), 50, Duration::from_secs(60)).await;

    let mut outages = Vec::new();
    for round in 1..=rounds {
        for failure in [Failure::KillPostgres, Failure::StopLeader] {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let outage = fail_over(&cluster, &journal, failure).await;
            eprintln!("round {round}: {failure:?}: writes stopped for {:.2} s", outage.as_secs_f64());
            assert!(outage < OUTAGE_LIMIT, "{failure:?} stopped writes for {outage:?}");
            outages.push((failure, outage));
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    journal.stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("load task");
    }
    let wrong = journal.wrong.lock().expect("journal").clone();
    assert!(wrong.is_empty(), "callers got answers other than UNAVAILABLE during failover: {wrong:#?}");

    let mut check = verdict::Check::open(&url, &schema, &master_key).await;
    let counts = check.compare_with_journal(&journal).await;
    check.chains_and_tree_verify(&store).await;
    check.read_models_equal_a_rebuild().await;
    check.replica_reads_the_head(&replica).await;
    for process in [&intake_a, &intake_b, &records_a, &records_b, &replica, &proofs] {
        assert!(!process.logged("panicked"), "{} panicked:\n{}", process.name, process.log_tail());
    }
    let worst = outages.iter().map(|(_, o)| *o).max().unwrap_or_default();
    eprintln!(
        "HA summary: {} failovers, {} commands acknowledged ({} retried calls, {} already applied on retry), \
         {} lost, {} duplicated; replica reads {} ok / {} unavailable; longest write outage (RTO) {:.2} s: {:?}",
        outages.len(),
        counts.acknowledged,
        journal.retries.load(Ordering::Relaxed),
        counts.already_applied,
        counts.lost,
        counts.duplicated,
        journal.reads_ok.load(Ordering::Relaxed),
        journal.reads_unavailable.load(Ordering::Relaxed),
        worst.as_secs_f64(),
        outages.iter().map(|(f, o)| format!("{f:?} {:.2} s", o.as_secs_f64())).collect::<Vec<_>>(),
    );
    assert_eq!((counts.lost, counts.duplicated), (0, 0), "RPO must be 0 and every command applied once");
    drop((intake_a, intake_b, records_a, records_b, replica, proofs));
    check.drop_schema().await;
}

/// Starts every process at the same moment (threads), as an orchestrator would.
fn start_together(store: &Store<'_>, specs: &[(&str, &str, Vec<&str>)]) -> Vec<Process> {
    std::thread::scope(|scope| {
        let started: Vec<_> = specs
            .iter()
            .map(|(name, package, args)| scope.spawn(move || Process::start(name, package, store, args)))
            .collect();
        started.into_iter().map(|t| t.join().unwrap_or_else(|_| panic!("a process did not start"))).collect()
    })
}

/// A channel that connects on first use and reconnects after its process's connection breaks.
fn lazy(process: &Process) -> Channel {
    Channel::from_shared(process.url()).expect("url").connect_lazy()
}

/// Injects `failure`, waits for the cluster to take writes again and for the writers to get
/// acknowledgements, restores the cluster to three streaming nodes, and returns the longest time
/// without any acknowledged write around the failure.
async fn fail_over(cluster: &Cluster, journal: &Journal, failure: Failure) -> Duration {
    let injected = Instant::now();
    let node = match failure {
        Failure::KillPostgres => cluster.kill_postgres(),
        Failure::StopLeader => cluster.stop_leader(),
    };
    // Let the failure take hold, so the writable check below sees the cluster after it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let waiting = cluster.clone();
    tokio::task::spawn_blocking(move || waiting.wait_writable(Duration::from_secs(120))).await.expect("writable");
    let writable = Instant::now();
    let back = wait_for_acks(journal, writable, 10, OUTAGE_LIMIT).await;
    if matches!(failure, Failure::StopLeader) {
        cluster.start_node(&node);
    }
    let waiting = cluster.clone();
    tokio::task::spawn_blocking(move || waiting.wait_complete(Duration::from_secs(180))).await.expect("complete");
    journal.longest_gap(injected, back)
}

/// Waits until `count` commands were acknowledged after `after`; returns when the first of them was.
async fn wait_for_acks(journal: &Journal, after: Instant, count: usize, within: Duration) -> Instant {
    let deadline = Instant::now() + within;
    loop {
        let mut times: Vec<Instant> =
            journal.acks.lock().expect("journal").iter().map(|a| a.at).filter(|at| *at > after).collect();
        if times.len() >= count {
            times.sort();
            return times[0];
        }
        let wrong = journal.wrong.lock().expect("journal").clone();
        assert!(wrong.is_empty(), "wrong answers: {wrong:#?}");
        assert!(Instant::now() < deadline, "no {count} acknowledged writes within {within:?} after the failure");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
