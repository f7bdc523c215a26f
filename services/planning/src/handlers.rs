//! Command handlers: load → decide → append for the plan stream. Every decision also reads the client's record (the
//! episode's status and its active diagnoses), so the append carries a condition that the client
//! stream has not moved since: a diagnosis resolved or an episode closed while the plan command
//! ran makes the append conflict and the command run again against the new record.

use std::sync::Arc;

use carelog_domain::planning::{self, PlanState, PlanningCommand, PlanningContext, ReviewRule};
use carelog_domain::types::{ClientId, EpisodeId, PlanId};
use carelog_domain::{DomainError, Entity};
use carelog_executor::aggregate::{Client, Plan as PlanAggregate};
use carelog_executor::{CommandMeta, Committed, Decision, ServiceError, execute, load};
use carelog_store::{EventStore, StreamName};

/// Runs a planning command against the plan's stream.
#[tracing::instrument(skip_all, err(level = "info"), fields(plan = %plan_id))]
pub async fn run(
    store: &Arc<dyn EventStore>,
    meta: &CommandMeta,
    review_rule: ReviewRule,
    plan_id: PlanId,
    command: PlanningCommand,
) -> Result<Committed, ServiceError> {
    let stream = plan_stream(plan_id)?;
    execute::<PlanAggregate>(store.as_ref(), &stream, meta, |loaded| {
        // `execute` wants a future that borrows only the loaded plan, so each attempt takes its
        // own handle on the store and its own copy of the command.
        // Plans are timed by clinical time: a plan signed on paper last week and entered today is due
        // for review from last week (and may already be overdue).
        let (store, command, now) = (Arc::clone(store), command.clone(), meta.occurred_at);
        Box::pin(async move {
            let (client_id, episode_id) = subject(plan_id, &command, &loaded.state)?;
            let client = load::<Client>(store.as_ref(), &client_stream(client_id)?).await?;
            if !client.state.is_registered() {
                return Err(DomainError::NotFound { entity: Entity::Client, id: client_id.to_string() }.into());
            }
            let context = PlanningContext::from_client(&client.state, episode_id, now, review_rule);
            let events = planning::decide(&command, &loaded.state, &context)?;
            Ok(Decision::new(events).unless_changed(&client).tagged(client_id, Some(episode_id.to_string())))
        })
    })
    .await
}

/// The client and episode whose record the decision reads: the plan's own once it is drafted, the
/// command's for a first draft. (A re-draft naming another client or episode is refused by
/// `decide` with PLAN_ALREADY_EXISTS.)
fn subject(
    plan_id: PlanId,
    command: &PlanningCommand,
    state: &PlanState,
) -> Result<(ClientId, EpisodeId), ServiceError> {
    match (command, state.client_id, state.episode_id) {
        (PlanningCommand::DraftPlan { client_id, episode_id, .. }, _, _) => Ok((*client_id, *episode_id)),
        (_, Some(client_id), Some(episode_id)) => Ok((client_id, episode_id)),
        // Without a draft there is no client to read; `decide` would report the missing episode
        // first, which would mislead the caller about what is missing.
        _ => Err(DomainError::NotFound { entity: Entity::Plan, id: plan_id.to_string() }.into()),
    }
}

pub fn plan_stream(plan_id: PlanId) -> Result<StreamName, ServiceError> {
    StreamName::new(plan_id.stream_name()).map_err(|e| ServiceError::invalid("plan_id", e.to_string()))
}

fn client_stream(client_id: ClientId) -> Result<StreamName, ServiceError> {
    StreamName::new(client_id.stream_name()).map_err(|e| ServiceError::invalid("client_id", e.to_string()))
}
