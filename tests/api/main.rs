//! Black-box tests of the gRPC API: every service on port 0, driven by the generated clients, on
//! a fresh SQLite file and a fresh PostgreSQL schema.

mod accepted;
mod access;
mod billing;
mod boundary;
mod episode;
mod erasure;
mod fhir;
mod given;
mod intake;
mod planning;
mod proofs;
mod quarantine;
mod records;
mod sessions;
mod transport;
mod witness;
