//! Compiles `proto/carelog/v1/*.proto` with protox (pure Rust): no `protoc` binary is needed.

use std::path::{Path, PathBuf};
use std::{env, fs, io};

use prost::Message;

fn main() -> io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files: Vec<PathBuf> =
        fs::read_dir(root.join("carelog/v1"))?.map(|entry| entry.map(|e| e.path())).collect::<Result<_, _>>()?;
    files.retain(|path| path.extension().is_some_and(|ext| ext == "proto"));
    files.sort();
    let descriptors = protox::compile(&files, [&root]).map_err(|e| io::Error::other(e.to_string()))?;
    // tonic-reflection serves this set; compile_fds does not write it itself.
    let out = PathBuf::from(env::var("OUT_DIR").map_err(io::Error::other)?);
    fs::write(out.join("carelog_descriptor.bin"), descriptors.encode_to_vec())?;
    // Type names let `typed::from_json` find a message's descriptor from its Rust type.
    let mut config = prost_build::Config::new();
    config.enable_type_names();
    // Malformed bodies are the caller's error: see src/codec.rs.
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .codec_path("crate::codec::StrictCodec")
        .compile_fds_with_config(descriptors, config)
}
