//! How every Carelog command runs: validated metadata, load → decide → append with idempotency
//! and bounded retries, over the registry of aggregates, with results and errors in the domain's
//! terms. Nothing here knows gRPC but the `grpc` feature's mapping of [`ServiceError`] to a
//! status (Rust lets that impl live only beside the error): the runtime parses requests into
//! [`CommandMeta`] and turns [`Committed`] into replies.

#![forbid(unsafe_code)]

pub mod aggregate;
pub mod command_meta;
mod command_telemetry;
pub mod decision;
pub mod error;
pub mod execute;
mod metrics;
pub mod reach;
mod replay;
#[cfg(feature = "grpc")]
pub mod status;

pub use aggregate::{Aggregate, Loaded, client_events, load};
pub use command_meta::CommandMeta;
pub use command_telemetry::current_trace_id;
pub use decision::Decision;
pub use error::{FieldViolation, ServiceError};
pub use execute::{Committed, execute};
pub use reach::ClientReach;
