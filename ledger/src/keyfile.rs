//! Key files: a participant's or node's secret key on disk, as JSON with the public key beside
//! it, written with mode 0600.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::crypto::{Keypair, PublicKey};

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    public_key: PublicKey,
    secret_key: String,
}

/// Why a key file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// File system error.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The contents are not a key file.
    #[error("key file {path} is not valid: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// Writes a key file (mode 0600 on Unix); refuses to overwrite an existing file.
pub fn write(path: &Path, key: &Keypair) -> Result<(), KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.display().to_string(),
        source,
    };
    let body = serde_json::to_string_pretty(&KeyFile {
        public_key: key.public(),
        secret_key: hex::encode(key.seed()),
    })
    .map_err(|e| KeyFileError::Invalid {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write;
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(body.as_bytes()).map_err(io)?;
    f.write_all(b"\n").map_err(io)?;
    f.sync_all().map_err(io)
}

/// Reads a key file and checks that the public key matches the secret.
pub fn read(path: &Path) -> Result<Keypair, KeyFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let invalid = |reason: String| KeyFileError::Invalid {
        path: path.display().to_string(),
        reason,
    };
    let kf: KeyFile = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    let mut seed = [0u8; 32];
    hex::decode_to_slice(kf.secret_key.trim(), &mut seed)
        .map_err(|_| invalid("secret_key must be 64 hex characters".into()))?;
    let key = Keypair::from_seed(seed);
    if key.public() != kf.public_key {
        return Err(invalid("public_key does not match secret_key".into()));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_and_refuse_overwrite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("k.key");
        let k = Keypair::generate();
        write(&p, &k).expect("write");
        assert_eq!(read(&p).expect("read").public(), k.public());
        assert!(write(&p, &k).is_err(), "must not overwrite");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&p, "{\"public_key\":\"00\",\"secret_key\":\"00\"}").expect("w");
        assert!(read(&p).is_err());
    }
}
