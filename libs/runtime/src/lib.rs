//! The server runtime every Carelog binary shares: starting a server (health, reflection, auth,
//! limits, TLS), telemetry, the options every binary takes (store, listen address), parsing proto
//! primitives and a command's context, and replies (every error as the right gRPC status).

#![forbid(unsafe_code)]

pub mod command_context;
pub mod config;
pub mod frames;
pub mod grpc_telemetry;
pub mod idle;
mod metrics;
pub mod parse;
pub mod server;
pub mod server_setup;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use carelog_executor::status::ERROR_DOMAIN;
