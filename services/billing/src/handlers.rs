//! Command handlers: load → decide → append for the account stream, reading the client, session and plan streams a
//! decision depends on and appending only while they stay as read.

use std::sync::Arc;

use carelog_domain::billing::{self, AccountState, BillingCommand, BillingContext};
use carelog_domain::types::{ClientId, PlanId};
use carelog_domain::{DomainError, Entity};
use carelog_executor::aggregate::{Account, Client, Plan as TreatmentPlan, Session};
use carelog_executor::{CommandMeta, Committed, Decision, Loaded, ServiceError, client_events, execute, load};
use carelog_store::{EventStore, LogFilter, StreamName};
use chrono::{DateTime, Utc};

use crate::config::BillingConfig;
use crate::convert::{AccountRequest, Action};

/// Runs a billing request against its account's stream.
///
/// The decision closure may run several times (execute retries when another writer wins), so it
/// re-reads the other streams on every attempt and owns what its future uses.
pub async fn run(
    store: &Arc<dyn EventStore>,
    config: &Arc<BillingConfig>,
    meta: &CommandMeta,
    request: AccountRequest,
) -> Result<Committed, ServiceError> {
    let stream = stream_name(request.account_id.stream_name(), "account_id")?;
    let now = meta.now;
    match request.action {
        Action::Open { client_id } => {
            let client_stream = stream_of_client(client_id)?;
            execute::<Account>(store.as_ref(), &stream, meta, |loaded| {
                let (store, client_stream) = (Arc::clone(store), client_stream.clone());
                let account_id = request.account_id;
                Box::pin(async move {
                    let client = load::<Client>(store.as_ref(), &client_stream).await?;
                    let payer = client.state.payer.clone().ok_or_else(|| not_found(Entity::Client, client_id))?;
                    let command = BillingCommand::OpenAccount { account_id, client_id, payer };
                    let events = billing::decide(&command, &loaded.state, &BillingContext::at(now))?;
                    // The payer is copied from the record as read; should the record change
                    // meanwhile, decide again rather than open the account on a stale payer.
                    Ok(Decision::new(events).unless_changed(&client).tagged(client_id, None))
                })
            })
            .await
        }
        Action::Charge { session_id, plan_id, command } => {
            let reads = ChargeReads {
                store: Arc::clone(store),
                config: Arc::clone(config),
                session: stream_name(session_id.stream_name(), "session_id")?,
                plan: plan_id.map(|id| stream_name(id.stream_name(), "plan_id").map(|s| (id, s))).transpose()?,
            };
            // The charge's clinical time is the service's: when the session started (fixed once
            // held; the decision re-reads the session and refuses one not held).
            let held = load::<Session>(store.as_ref(), &reads.session).await?.state.held;
            let meta = &CommandMeta { occurred_at: held.map_or(meta.occurred_at, |h| h.started_at), ..meta.clone() };
            execute::<Account>(store.as_ref(), &stream, meta, |loaded| {
                let (reads, command) = (reads.clone(), command.clone());
                Box::pin(async move { reads.charge(loaded, &command, now).await })
            })
            .await
        }
        Action::Account(command) => {
            execute::<Account>(store.as_ref(), &stream, meta, |loaded| {
                let decided = billing::decide(&command, &loaded.state, &BillingContext::at(now));
                let client = loaded.state.client_id;
                Box::pin(async move {
                    let decision = Decision::new(decided?);
                    Ok(match client {
                        Some(client) => decision.tagged(client, None),
                        None => decision,
                    })
                })
            })
            .await
        }
    }
}

/// The streams a charge reads besides the account, and the practice's billing configuration.
#[derive(Debug, Clone)]
struct ChargeReads {
    store: Arc<dyn EventStore>,
    config: Arc<BillingConfig>,
    session: StreamName,
    plan: Option<(PlanId, StreamName)>,
}

impl ChargeReads {
    /// Reads the session, the account's client and the plan, decides, and conditions the append
    /// on all three: a session marked a no-show, a note not yet signed, a diagnosis resolved or a
    /// plan reviewed after these reads makes the append conflict and the decision run again.
    async fn charge(
        &self,
        account: &Loaded<AccountState>,
        command: &BillingCommand,
        now: DateTime<Utc>,
    ) -> Result<Decision<billing::BillingEvent>, ServiceError> {
        let Some(client_id) = account.state.client_id else {
            // No account yet: the domain refuses with ACCOUNT_NOT_FOUND before looking at the session.
            return Ok(Decision::new(billing::decide(command, &account.state, &BillingContext::at(now))?));
        };
        let store = self.store.as_ref();
        let session = load::<Session>(store, &self.session).await?;
        let client = load::<Client>(store, &stream_of_client(client_id)?).await?;
        let plan = match &self.plan {
            Some((plan_id, stream)) => {
                let plan = load::<TreatmentPlan>(store, stream).await?;
                let episode_matches = match (plan.state.episode_id, session.state.episode_id) {
                    (Some(plan_episode), Some(session_episode)) => plan_episode == session_episode,
                    _ => true,
                };
                // Naming another client's plan (or another episode's) must not switch the overdue
                // review check off.
                if plan.state.client_id != Some(client_id) || !episode_matches {
                    return Err(not_found(Entity::Plan, format!("{plan_id} for this session's client and episode")));
                }
                Some(plan)
            }
            None => None,
        };
        let others = other_accounts(store, client_id, &account.stream).await?;
        let charged_on_other_account = session
            .state
            .session_id
            .and_then(|id| others.iter().find_map(|other| other.state.charged_sessions.get(&id).copied()));
        let context = BillingContext {
            overdue_policy: self.config.overdue_policy,
            fee_schedule: self.config.fee_schedule.clone(),
            charged_on_other_account,
            ..BillingContext::at(now)
        }
        .for_session(session.state.clone(), &client.state, plan.as_ref().map(|p| &p.state));
        let events = billing::decide(command, &account.state, &context)?;
        let episode = session.state.episode_id.map(|e| e.to_string());
        let mut decided =
            Decision::new(events).unless_changed(&session).unless_changed(&client).tagged(client_id, episode);
        if let Some(plan) = &plan {
            decided = decided.unless_changed(plan);
        }
        // A charge of the same session on another account meanwhile makes this append conflict
        // and the decision run again, so two accounts never both charge one session.
        for other in &others {
            decided = decided.unless_changed(other);
        }
        Ok(decided)
    }
}

/// The client's accounts other than `this`, each folded at the revision read. The log is the
/// index: every account stream starts with its AccountOpened event, tagged with the client.
async fn other_accounts(
    store: &dyn EventStore,
    client_id: ClientId,
    this: &StreamName,
) -> Result<Vec<Loaded<AccountState>>, ServiceError> {
    let filter = LogFilter { categories: vec!["account".to_owned()], event_types: vec!["AccountOpened".to_owned()] };
    let mut streams: Vec<StreamName> = Vec::new();
    for opened in client_events(store, &client_id.to_string(), filter).await? {
        if &opened.stream != this && !streams.contains(&opened.stream) {
            streams.push(opened.stream);
        }
    }
    let mut accounts = Vec::with_capacity(streams.len());
    for stream in &streams {
        let account = load::<Account>(store, stream).await?;
        // The tag is the writer's claim; the account's own opening event is the fact.
        if account.state.client_id == Some(client_id) {
            accounts.push(account);
        }
    }
    Ok(accounts)
}

fn not_found(entity: Entity, id: impl ToString) -> ServiceError {
    DomainError::NotFound { entity, id: id.to_string() }.into()
}

fn stream_of_client(client_id: ClientId) -> Result<StreamName, ServiceError> {
    stream_name(client_id.stream_name(), "client_id")
}

/// A root id's stream name; root ids are validated UUIDv7s, so this fails only if the store's
/// naming rules and the domain's ever disagree.
fn stream_name(name: String, field: &str) -> Result<StreamName, ServiceError> {
    StreamName::new(name).map_err(|e| ServiceError::invalid(field, e.to_string()))
}
