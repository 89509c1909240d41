//! The users file: one user a line, `name role argon2-hash`, role `admin` or `read-only`.
//! Only hashes are stored. At the first start without a users file and without a configured
//! password, one `admin` user gets a random password, which the caller prints once; the
//! file then exists and later starts print nothing.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// The users file's name inside the data directory.
pub const USERS_FILE: &str = "users";
/// The user created at the first start.
pub const FIRST_USER: &str = "admin";

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Reads and changes everything.
    Admin,
    /// Reads everything; every POST is refused with 403.
    ReadOnly,
}

impl Role {
    /// The name used in the users file.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::ReadOnly => "read-only",
        }
    }

    fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "read-only" => Some(Role::ReadOnly),
            _ => None,
        }
    }
}

/// Why the users could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// The file could not be read or written.
    #[error("users file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// A line is not `name role hash`.
    #[error("users file {path}, line {line}: {reason}; each line is `name admin|read-only <argon2 hash>` (make a hash with `rmq-dashboard hash-password`)")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// Hashing failed (the system random source or argon2).
    #[error("hashing a password: {0}")]
    Hash(String),
}

struct User {
    role: Role,
    hash: String,
}

/// The known users and their password hashes.
pub struct Users {
    by_name: HashMap<String, User>,
    /// Verified against when the name is unknown, so a wrong name costs what a wrong
    /// password costs and timing does not tell which was wrong. Made at the first unknown
    /// name, not at start (a hash takes a while).
    decoy: OnceLock<String>,
}

/// How the users came to be, so the caller can print a generated password exactly once.
pub enum Origin {
    /// Read from the users file.
    File(PathBuf),
    /// The configured password for `admin`, kept in memory only.
    Configured,
    /// Generated now and saved (hashed) to the file; this is the only place it exists.
    Generated {
        /// The file it was saved to.
        path: PathBuf,
        /// The new password, to be printed once.
        password: String,
    },
}

impl Origin {
    /// Logs where the users came from; a generated password is logged here, the only time
    /// it is ever shown.
    pub fn log(&self) {
        match self {
            Origin::Generated { path, password } => tracing::warn!(
                "first start: created user `{FIRST_USER}` with password {password} (shown only \
                 now; its hash is in {}); add users there with `rmq-dashboard hash-password`",
                path.display()
            ),
            Origin::File(path) => tracing::info!("console users from {}", path.display()),
            Origin::Configured => {
                tracing::info!("console user `{FIRST_USER}` with the configured password")
            }
        }
    }
}

impl Users {
    /// Loads `data_dir/users`; when it does not exist, uses `configured` for `admin`, or
    /// generates a password, saves its hash to a new file and returns it in [`Origin`].
    pub fn load_or_init(
        data_dir: &Path,
        configured: Option<&str>,
    ) -> Result<(Users, Origin), UsersError> {
        let path = data_dir.join(USERS_FILE);
        let io = |source| UsersError::Io {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let users = Users::parse(&path, &text)?;
                return Ok((users, Origin::File(path)));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        if let Some(password) = configured {
            let users = Users::from_entries([(FIRST_USER, Role::Admin, hash_password(password)?)]);
            return Ok((users, Origin::Configured));
        }
        let password = random_password()?;
        let hash = hash_password(&password)?;
        std::fs::create_dir_all(data_dir).map_err(io)?;
        let line = format!("{FIRST_USER} {} {hash}\n", Role::Admin.as_str());
        write_private(&path, &line).map_err(io)?;
        let users = Users::from_entries([(FIRST_USER, Role::Admin, hash)]);
        Ok((users, Origin::Generated { path, password }))
    }

    fn from_entries<'a>(entries: impl IntoIterator<Item = (&'a str, Role, String)>) -> Users {
        let by_name = entries
            .into_iter()
            .map(|(name, role, hash)| (name.to_owned(), User { role, hash }))
            .collect();
        Users {
            by_name,
            decoy: OnceLock::new(),
        }
    }

    fn parse(path: &Path, text: &str) -> Result<Users, UsersError> {
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let malformed = |reason: String| UsersError::Malformed {
                path: path.to_owned(),
                line: i + 1,
                reason,
            };
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [name, role, hash] = fields[..] else {
                return Err(malformed(format!("{} fields instead of 3", fields.len())));
            };
            let role = Role::parse(role).ok_or_else(|| {
                malformed(format!("role `{role}` is neither admin nor read-only"))
            })?;
            PasswordHash::new(hash).map_err(|e| malformed(format!("not an argon2 hash: {e}")))?;
            entries.push((name, role, hash.to_owned()));
        }
        if entries.is_empty() {
            return Err(UsersError::Malformed {
                path: path.to_owned(),
                line: 0,
                reason: "no user in the file".into(),
            });
        }
        Ok(Users::from_entries(entries))
    }

    /// The user's role when `password` is theirs; `None` for a wrong name or a wrong password
    /// alike. Slow on purpose (argon2): call it off the async threads.
    pub fn verify(&self, name: &str, password: &str) -> Option<Role> {
        let (hash, role) = match self.by_name.get(name) {
            Some(u) => (u.hash.as_str(), Some(u.role)),
            None => (
                self.decoy
                    .get_or_init(|| hash_password("decoy").unwrap_or_default())
                    .as_str(),
                None,
            ),
        };
        let ok = PasswordHash::new(hash).ok().is_some_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        });
        if ok {
            role
        } else {
            None
        }
    }
}

/// argon2id memory per hash, in KiB: OWASP's 7 MiB / 5 passes choice, as strong as its
/// 19 MiB / 2 passes one, but the allocator keeps what a verification used, and the console's
/// resident memory after a login stays small this way (a verification uses the parameters
/// stored in the hash it checks).
const HASH_MEMORY_KIB: u32 = 7 * 1024;
/// argon2id passes per hash (see [`HASH_MEMORY_KIB`]).
const HASH_PASSES: u32 = 5;

/// The argon2id hash (PHC string) of `password` with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, UsersError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| UsersError::Hash(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| UsersError::Hash(e.to_string()))?;
    let params = argon2::Params::new(HASH_MEMORY_KIB, HASH_PASSES, 1, None)
        .map_err(|e| UsersError::Hash(e.to_string()))?;
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| UsersError::Hash(e.to_string()))
}

/// 24 random letters and digits (about 143 bits).
fn random_password() -> Result<String, UsersError> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut out = String::with_capacity(24);
    while out.len() < 24 {
        let mut byte = [0u8; 1];
        getrandom::fill(&mut byte).map_err(|e| UsersError::Hash(e.to_string()))?;
        // Rejection sampling keeps every character equally likely.
        let limit = 256 - 256 % ALPHABET.len();
        if usize::from(byte[0]) < limit {
            out.push(char::from(ALPHABET[usize::from(byte[0]) % ALPHABET.len()]));
        }
    }
    Ok(out)
}

/// Creates `path` readable by its owner only and writes `text`.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let (users, origin) = Users::load_or_init(dir.path(), None).unwrap();
        let Origin::Generated { password, .. } = origin else {
            panic!("first start must generate")
        };
        assert_eq!(users.verify(FIRST_USER, &password), Some(Role::Admin));
        assert_eq!(users.verify(FIRST_USER, "wrong"), None);
        assert_eq!(users.verify("nobody", &password), None);
        let text = std::fs::read_to_string(dir.path().join(USERS_FILE)).unwrap();
        assert!(!text.contains(&password), "only the hash is stored");
        let (again, origin) = Users::load_or_init(dir.path(), None).unwrap();
        assert!(matches!(origin, Origin::File(_)));
        assert_eq!(again.verify(FIRST_USER, &password), Some(Role::Admin));
    }

    #[test]
    fn hashes_use_the_small_memory_parameters() {
        let hash = hash_password("s3cret").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{hash}");
        let users = Users::from_entries([("ann", Role::Admin, hash)]);
        assert_eq!(users.verify("ann", "s3cret"), Some(Role::Admin));
        assert_eq!(users.verify("ann", "s3cre"), None);
    }

    #[test]
    fn malformed_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(USERS_FILE), "# c\nbob reader $argon2id$x\n").unwrap();
        let err = Users::load_or_init(dir.path(), None)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("line 2") && err.contains("reader"), "{err}");
    }
}
