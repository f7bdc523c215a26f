//! Where the master key comes from: `CARELOG_MASTER_KEY` (base64 of 32 bytes), a key file, or — for
//! the zero-set-up embedded SQLite default only — a key file created beside the database.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::cipher::SecretKey;

/// Where the master key was found, for the start-up log (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterKeySource {
    Environment,
    File(PathBuf),
    /// Generated beside the SQLite database on first use: fine for a laptop, not for production.
    CreatedBeside(PathBuf),
    LoadedBeside(PathBuf),
}

/// The master key: `file` if given, else `CARELOG_MASTER_KEY`, else (SQLite only) the file
/// `<database>.master-key`, created with mode 0600 if missing.
pub fn load_master_key(
    file: Option<&Path>,
    sqlite_database: Option<&Path>,
) -> Result<(SecretKey, MasterKeySource), String> {
    if let Some(path) = file {
        return read_key_file(path).map(|key| (key, MasterKeySource::File(path.to_owned())));
    }
    if let Ok(text) = std::env::var("CARELOG_MASTER_KEY") {
        let key = SecretKey::from_base64(&text).map_err(|e| format!("CARELOG_MASTER_KEY: {e}"))?;
        return Ok((key, MasterKeySource::Environment));
    }
    let Some(database) = sqlite_database else {
        return Err("no master key: set CARELOG_MASTER_KEY (base64 of 32 bytes, e.g. from `carelog keygen --master`) \
                    or pass --master-key-file"
            .into());
    };
    let mut beside = database.as_os_str().to_owned();
    beside.push(".master-key");
    let path = PathBuf::from(beside);
    if path.exists() {
        return read_key_file(&path).map(|key| (key, MasterKeySource::LoadedBeside(path)));
    }
    let key = SecretKey::generate();
    write_key_file(&path, &key)?;
    Ok((key, MasterKeySource::CreatedBeside(path)))
}

fn read_key_file(path: &Path) -> Result<SecretKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("master key file {}: {e}", path.display()))?;
    SecretKey::from_base64(&text).map_err(|e| format!("master key file {}: {e}", path.display()))
}

/// Writes a new key file readable by its owner only; refuses to overwrite one.
pub fn write_key_file(path: &Path, key: &SecretKey) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| format!("cannot create master key file {}: {e}", path.display()))?;
    writeln!(file, "{}", key.to_base64()).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_created_beside_the_database_once_with_owner_only_access() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("carelog.db");
        let (first, source) = load_master_key(None, Some(&db)).unwrap();
        let path = dir.path().join("carelog.db.master-key");
        assert_eq!(source, MasterKeySource::CreatedBeside(path.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let (again, source) = load_master_key(None, Some(&db)).unwrap();
        assert_eq!((again, source), (first.clone(), MasterKeySource::LoadedBeside(path.clone())));
        assert_eq!(load_master_key(Some(&path), None).unwrap().0, first);
        std::fs::write(&path, "c2hvcnQ=").unwrap();
        assert!(load_master_key(Some(&path), None).unwrap_err().contains("32 bytes"));
    }
}
