//! A pass is what the executor asks before a decision: a clinician writes only for clients
//! assigned to them, checked before the decision so a refusal reveals nothing about the record.

use carelog_executor::{ClientReach, ServiceError};
use carelog_store::EventStore;
use futures::future::BoxFuture;
use uuid::Uuid;

use crate::access::{self, Pass};
use crate::policy::Scope;

impl ClientReach for Pass {
    fn is_limited(&self) -> bool {
        self.scope == Scope::AssignedClients
    }

    fn check<'a>(&'a self, store: &'a dyn EventStore, client: Option<Uuid>) -> BoxFuture<'a, Result<(), ServiceError>> {
        Box::pin(async move {
            match client {
                Some(client) => access::reach(store, self, client).await,
                None => Err(access::deny(store, self, None, "CLIENT_NOT_ASSIGNED", "no client".into()).await),
            }
        })
    }
}
