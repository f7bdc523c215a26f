//! The all-in-one Carelog server: every service in one process over one event store.

#![forbid(unsafe_code)]

pub mod app;
pub mod connect;
pub mod demo;
pub mod erase;
pub mod export;
pub mod witness;
