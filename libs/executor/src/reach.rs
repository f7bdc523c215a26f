//! The port through which the executor asks how far a caller reaches, before a decision can
//! reveal anything about a record. Authorization implements it (`carelog_auth::Pass`).

use carelog_store::EventStore;
use futures::future::BoxFuture;
use uuid::Uuid;

use crate::error::ServiceError;

/// How far the caller of a command reaches among the clients.
pub trait ClientReach: std::fmt::Debug + Send + Sync {
    /// Whether the caller reaches only some clients: then every command must be for one of them.
    fn is_limited(&self) -> bool;

    /// Refuses, and records the refusal, unless the caller reaches `client`; `None` is a command
    /// whose client is unknown, which a limited caller never reaches.
    fn check<'a>(&'a self, store: &'a dyn EventStore, client: Option<Uuid>) -> BoxFuture<'a, Result<(), ServiceError>>;
}
