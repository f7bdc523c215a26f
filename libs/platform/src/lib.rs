//! Plumbing every Carelog service shares: turning a gRPC command into validated metadata, running
//! load → decide → append with idempotency and bounded retries, mapping every error to the right
//! gRPC status, and starting a server with health and reflection.

#![forbid(unsafe_code)]

pub mod actor;
pub mod aggregate;
pub mod auth;
pub mod command;
mod command_telemetry;
pub mod config;
pub mod error;
pub mod frames;
pub mod grpc_telemetry;
pub mod idle;
mod metrics;
pub mod parse;
pub mod server;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use aggregate::{Aggregate, Loaded, client_events, load};
pub use auth::{Gate, Pass, Principal, Role};
pub use command::{CommandMeta, Plan, execute};
pub use error::{FieldViolation, ServiceError};
