//! Load with a journal: writers register clients and open their episodes with command ids they note
//! before sending, retry the same id after any failure until it is acknowledged, and note every
//! acknowledgement with its time; readers read those clients back from a replica with
//! `min_position`. Afterwards the journal is compared with the log.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use carelog_blackbox::{Caller, CallerHeaders};
use carelog_proto::v1 as proto;
use carelog_proto::v1::intake_service_client::IntakeServiceClient;
use carelog_proto::v1::records_service_client::RecordsServiceClient;
use tonic::transport::Channel;
use tonic::{Code, Status};
use uuid::Uuid;

/// One call's limit: past it the outcome is unknown, and the writer retries with the same id.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// A writer gives up on one command after this long (the test then fails: the outage was longer).
const GIVE_UP: Duration = Duration::from_secs(90);

/// One acknowledged command.
#[derive(Debug, Clone)]
pub struct Ack {
    pub client_id: String,
    pub event_type: String,
    pub position: u64,
    pub at: Instant,
    pub already_applied: bool,
}

/// What the load saw.
#[derive(Debug, Default)]
pub struct Journal {
    /// Commands sent at least once, by id: the client and whether it was acknowledged.
    pub sent: Mutex<Vec<(String, String)>>,
    pub acks: Mutex<Vec<Ack>>,
    /// Refusals that are not "unavailable, retry": a wrong answer.
    pub wrong: Mutex<Vec<String>>,
    pub retries: AtomicU64,
    pub reads_ok: AtomicU64,
    pub reads_unavailable: AtomicU64,
    pub stop: AtomicBool,
}

/// The codes a caller may see while the database fails over; anything else is a wrong answer.
fn retryable(status: &Status) -> bool {
    matches!(status.code(), Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled)
}

fn context(command_id: &str) -> Option<proto::CommandContext> {
    Some(proto::CommandContext { command_id: command_id.to_owned(), ..Default::default() })
}

/// Registers clients and opens their episodes until told to stop.
pub async fn writer(journal: Arc<Journal>, channel: Channel) {
    let intake = IntakeServiceClient::with_interceptor(channel, CallerHeaders::new(Caller::new("intake")));
    let clinician = Uuid::now_v7().to_string();
    while !journal.stop.load(Ordering::Relaxed) {
        let client_id = Uuid::now_v7().to_string();
        let register = proto::RegisterClientRequest {
            context: None,
            client_id: client_id.clone(),
            legal_name: "Robin Example".into(),
            preferred_name: String::new(),
            date_of_birth: "1990-01-01".into(),
            phone: String::new(),
            email: String::new(),
            address: String::new(),
            payer: Some(proto::register_client_request::Payer::SelfPay(proto::register_client_request::SelfPay {})),
        };
        let registered = send(&journal, &client_id, |id| {
            let mut intake = intake.clone();
            let request = proto::RegisterClientRequest { context: context(id), ..register.clone() };
            async move { intake.register_client(with_timeout(request)).await }
        })
        .await;
        if !registered {
            return;
        }
        let open = proto::OpenEpisodeRequest {
            context: None,
            client_id: client_id.clone(),
            episode_id: Uuid::now_v7().to_string(),
            clinician_id: clinician.clone(),
            opened_at: None,
        };
        let opened = send(&journal, &client_id, |id| {
            let mut intake = intake.clone();
            let request = proto::OpenEpisodeRequest { context: context(id), ..open.clone() };
            async move { intake.open_episode(with_timeout(request)).await }
        })
        .await;
        if !opened {
            return;
        }
    }
}

fn with_timeout<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(CALL_TIMEOUT);
    request
}

/// Sends one command under a fresh id, retrying the same id until acknowledged; false if it gave up
/// or got a wrong answer.
async fn send<F, Fut>(journal: &Journal, client_id: &str, mut call: F) -> bool
where
    F: FnMut(&str) -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<proto::AppendReceipt>, Status>>,
{
    let command_id = Uuid::now_v7().to_string();
    journal.sent.lock().expect("journal").push((command_id.clone(), client_id.to_owned()));
    let started = Instant::now();
    loop {
        match call(&command_id).await {
            Ok(reply) => {
                let receipt = reply.into_inner();
                journal.acks.lock().expect("journal").push(Ack {
                    client_id: client_id.to_owned(),
                    event_type: receipt.event_types.first().cloned().unwrap_or_default(),
                    position: receipt.position,
                    at: Instant::now(),
                    already_applied: receipt.already_applied,
                });
                return true;
            }
            Err(status) if retryable(&status) && started.elapsed() < GIVE_UP => {
                journal.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(status) => {
                journal.wrong.lock().expect("journal").push(format!("command {command_id}: {status:?}"));
                return false;
            }
        }
    }
}

/// Reads acknowledged clients back from `channel` (a replica on a hot standby) with read-your-writes.
pub async fn reader(journal: Arc<Journal>, channel: Channel) {
    let mut records = RecordsServiceClient::with_interceptor(channel, CallerHeaders::new(Caller::new("auditor")));
    let mut turn = 0usize;
    while !journal.stop.load(Ordering::Relaxed) {
        turn += 1;
        let pick = {
            let acks = journal.acks.lock().expect("journal");
            (!acks.is_empty()).then(|| acks[acks.len() - 1 - turn % acks.len().min(50)].clone())
        };
        let Some(ack) = pick else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let request = proto::GetEpisodeRequest { client_id: ack.client_id.clone(), min_position: ack.position };
        match records.get_episode(with_timeout(request)).await {
            Ok(reply) => {
                let reply = reply.into_inner();
                if reply.client_id != ack.client_id || reply.position < ack.position {
                    journal.wrong.lock().expect("journal").push(format!(
                        "read of {} at {} answered {} at {}",
                        ack.client_id, ack.position, reply.client_id, reply.position
                    ));
                }
                journal.reads_ok.fetch_add(1, Ordering::Relaxed);
            }
            Err(status) if retryable(&status) => {
                journal.reads_unavailable.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(status) => {
                journal.wrong.lock().expect("journal").push(format!("read of {}: {status:?}", ack.client_id))
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Journal {
    /// The longest time without any acknowledgement in `[from, to]`: the write outage callers saw.
    pub fn longest_gap(&self, from: Instant, to: Instant) -> Duration {
        let mut times: Vec<Instant> = self.acks.lock().expect("journal").iter().map(|a| a.at).collect();
        times.sort();
        let mut last = from;
        let mut longest = Duration::ZERO;
        for at in times.into_iter().filter(|at| *at > from && *at <= to) {
            longest = longest.max(at - last);
            last = at;
        }
        longest
    }
}
