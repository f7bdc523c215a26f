//! Where the signing key comes from: a key file or an environment variable in production; for the
//! embedded default, a development key generated beside the SQLite file on first start. On
//! PostgreSQL there is no default: without a configured key the server refuses to start, unless
//! told to sign with a throw-away development key (`--dev-ephemeral-signing-key`).

use std::path::{Path, PathBuf};

use ed25519_dalek::{SigningKey, VerifyingKey};

/// Path of a file holding the secret key (64 hex characters: the Ed25519 seed).
pub const KEY_FILE_ENV: &str = "CARELOG_SIGNING_KEY_FILE";
/// The secret key itself (64 hex characters), for secret managers that inject variables.
pub const KEY_ENV: &str = "CARELOG_SIGNING_KEY";
/// Any value but empty or `0`: sign with a key made at start and never written (development only).
pub const DEV_EPHEMERAL_ENV: &str = "CARELOG_DEV_EPHEMERAL_SIGNING_KEY";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{source_name}: {reason}")]
    Malformed { source_name: String, reason: String },
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error(
        "no checkpoint signing key: on PostgreSQL set {KEY_FILE_ENV} to a key made with `carelog keygen` (kept \
         off the database host), or, for development only, start with --dev-ephemeral-signing-key \
         ({DEV_EPHEMERAL_ENV}=1)"
    )]
    Missing,
}

/// Where the server's signing key comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum KeySource {
    /// `CARELOG_SIGNING_KEY_FILE`, then `CARELOG_SIGNING_KEY`, then a development key.
    #[default]
    Auto,
    File(PathBuf),
    /// A key already loaded (tests, embedding programs).
    Given(SigningKey),
}

/// Parses 64 hex characters (surrounding whitespace ignored) into 32 bytes.
fn parse_hex32(text: &str, source_name: &str) -> Result<[u8; 32], KeyError> {
    let malformed = |reason: String| KeyError::Malformed { source_name: source_name.to_owned(), reason };
    let bytes = hex::decode(text.trim()).map_err(|e| malformed(format!("not hex: {e}")))?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| malformed(format!("{} bytes, a key is 32", bytes.len())))
}

fn read(path: &Path) -> Result<String, KeyError> {
    std::fs::read_to_string(path).map_err(|error| KeyError::Io { path: path.display().to_string(), error })
}

pub fn read_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    Ok(SigningKey::from_bytes(&parse_hex32(&read(path)?, &path.display().to_string())?))
}

pub fn read_public_key(path: &Path) -> Result<VerifyingKey, KeyError> {
    let name = path.display().to_string();
    let bytes = parse_hex32(&read(path)?, &name)?;
    VerifyingKey::from_bytes(&bytes)
        .map_err(|e| KeyError::Malformed { source_name: name, reason: format!("not an Ed25519 public key: {e}") })
}

/// A new key from the operating system's random source.
pub fn generate() -> SigningKey {
    SigningKey::from_bytes(&rand::random::<[u8; 32]>())
}

/// Writes `key` to `path` (owner-only where the platform allows) and its public half to `path.pub`.
pub fn write_key_pair(key: &SigningKey, path: &Path) -> Result<PathBuf, KeyError> {
    let io = |error| KeyError::Io { path: path.display().to_string(), error };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    std::io::Write::write_all(&mut file, format!("{}\n", hex::encode(key.to_bytes())).as_bytes()).map_err(io)?;
    let public = public_path(path);
    std::fs::write(&public, format!("{}\n", hex::encode(key.verifying_key().to_bytes())))
        .map_err(|error| KeyError::Io { path: public.display().to_string(), error })?;
    Ok(public)
}

pub fn public_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Loads the server's key. With nothing configured, an embedded SQLite log falls back to a
/// development key kept beside the file (loudly); any other store refuses to start unless
/// `dev_ephemeral` asks for a key that lives only as long as the process. Neither belongs in
/// production: whoever can read the key can sign a rewritten log.
/// `embedded_file`: the embedded log's file, if the log is one.
pub fn load(source: &KeySource, dev_ephemeral: bool, embedded_file: Option<&Path>) -> Result<SigningKey, KeyError> {
    match source {
        KeySource::File(path) => return read_signing_key(path),
        KeySource::Given(key) => return Ok(key.clone()),
        KeySource::Auto => {}
    }
    if let Some(path) = std::env::var_os(KEY_FILE_ENV).filter(|p| !p.is_empty()) {
        return read_signing_key(Path::new(&path));
    }
    if let Some(hex) = std::env::var(KEY_ENV).ok().filter(|k| !k.is_empty()) {
        return Ok(SigningKey::from_bytes(&parse_hex32(&hex, KEY_ENV)?));
    }
    if dev_ephemeral {
        carelog_runtime::telemetry::notice(
            true,
            "WARNING: --dev-ephemeral-signing-key: checkpoints are signed with a throw-away DEVELOPMENT key; \
             every start introduces a new key, which auditors' witnesses will refuse",
        );
        return Ok(generate());
    }
    let Some(db_file) = embedded_file else { return Err(KeyError::Missing) };
    let path = PathBuf::from(format!("{}.signing-key", db_file.display()));
    if path.exists() {
        return read_signing_key(&path);
    }
    let key = generate();
    write_key_pair(&key, &path)?;
    carelog_runtime::telemetry::notice(
        true,
        &format!(
            "WARNING: generated a DEVELOPMENT checkpoint signing key at {} (public key: {}.pub).\n\
         Anyone who can read it can sign a rewritten log: for real use, make a key with `carelog keygen`,\n\
         keep it away from the database, and set {KEY_FILE_ENV}.",
            path.display(),
            path.display()
        ),
    );
    Ok(key)
}
