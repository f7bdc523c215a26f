//! The Carelog gRPC API (`carelog.v1`), generated from `proto/carelog/v1` at build time.

#![allow(missing_docs, missing_debug_implementations, clippy::all, clippy::pedantic)]

pub mod v1 {
    tonic::include_proto!("carelog.v1");
}

/// The encoded file descriptor set, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("carelog_descriptor");
