//! Settings: command-line flags first, then `CASEBRIDGE_*` environment variables (both
//! handled by clap), then an optional TOML file, then the defaults.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://./casebridge-data/casebridge.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The keys a config file may set; every one is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct FileConfig {
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub token_ttl_minutes: Option<i64>,
    pub client_token_ttl_minutes: Option<i64>,
    /// A web session's absolute lifetime.
    pub session_ttl_minutes: Option<i64>,
    /// A web session ends after this long without a request.
    pub session_idle_minutes: Option<i64>,
    /// Hosts webhooks may reach at private addresses and over plain HTTP.
    pub webhook_allowed_hosts: Option<Vec<String>>,
    /// How long a node holds a webhook delivery before another may send it (ms).
    pub webhook_lease_ms: Option<u64>,
    /// The first webhook retry waits about this long, doubling each time (ms)…
    pub webhook_retry_base_ms: Option<u64>,
    /// …up to this (ms).
    pub webhook_retry_max_ms: Option<u64>,
    /// A webhook callback that has not answered in this time has failed the attempt (ms).
    pub webhook_timeout_ms: Option<u64>,
    /// Webhook retries stop this long after the first attempt.
    pub webhook_retry_window_minutes: Option<u64>,
    pub case_inactivity_days: Option<i64>,
    /// The mail server for notification emails.
    pub smtp_url: Option<String>,
    /// A private CA's certificate (PEM) that the mail server's certificate chains to.
    pub smtp_ca_file: Option<PathBuf>,
    /// The sender of notification emails.
    pub mail_from: Option<String>,
    pub public_url: Option<String>,
    pub signing_key_file: Option<PathBuf>,
    pub master_key_file: Option<PathBuf>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the config file {}", path.display()))?;
        toml::from_str(&text)
            .with_context(|| format!("the config file {} is not valid", path.display()))
    }
}

/// The first value given: flag or environment, then file, then default.
pub fn pick(given: Option<String>, file: Option<String>, default: &str) -> String {
    given.or(file).unwrap_or_else(|| default.to_owned())
}

/// The text of a secret key file, created with one new random key (64 hex digits) and
/// mode 0600 when it does not exist yet.
pub fn read_or_create_key_file(path: &Path, what: &str) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
            let text = format!("{}\n", hex::encode(key));
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = match options.open(path) {
                Ok(file) => file,
                // Another process made it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read the {what} {}", path.display()));
                }
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot create the {what} {}", path.display()))
                }
            };
            std::io::Write::write_all(&mut file, text.as_bytes())?;
            tracing::warn!(path = %path.display(), "generated a new {what}; back it up, apart from the database");
            Ok(text)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read the {what} {}", path.display())),
    }
}

/// The receipt-signing key in `path` (64 hex digits), generated when missing.
pub fn load_or_create_signing_key(path: &Path) -> anyhow::Result<[u8; 32]> {
    let text = read_or_create_key_file(path, "receipt-signing key")?;
    hex::decode(text.trim())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .with_context(|| {
            format!(
                "the signing key {} is not 64 hexadecimal digits",
                path.display()
            )
        })
}

/// Beside a SQLite database: the default place of a key file named `name`.
pub fn beside_database(database_url: &str, name: &str) -> Option<PathBuf> {
    let path = database_url.strip_prefix("sqlite://")?.split('?').next()?;
    Some(Path::new(path).parent()?.join(name))
}

/// Where the demo keeps the sign-ins it created, beside a SQLite database.
pub fn demo_logins_path(database_url: &str) -> Option<PathBuf> {
    let path = database_url.strip_prefix("sqlite://")?.split('?').next()?;
    Some(Path::new(path).parent()?.join("demo-logins.txt"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_environment_win_over_the_file_which_wins_over_defaults() {
        assert_eq!(pick(Some("a".into()), Some("b".into()), "c"), "a");
        assert_eq!(pick(None, Some("b".into()), "c"), "b");
        assert_eq!(pick(None, None, "c"), "c");
    }

    #[test]
    fn unknown_keys_in_the_file_are_an_error() {
        assert!(toml::from_str::<FileConfig>("listen = \"0.0.0.0:1\"").is_ok());
        assert!(toml::from_str::<FileConfig>("lisen = \"0.0.0.0:1\"").is_err());
        let keys: FileConfig = toml::from_str(
            "public_url = \"https://cb.example\"\nmaster_key_file = \"/etc/cb/master.key\"\nsigning_key_file = \"/etc/cb/signing.key\"\n",
        )
        .unwrap();
        assert_eq!(
            keys.master_key_file.unwrap(),
            Path::new("/etc/cb/master.key")
        );
        assert_eq!(keys.public_url.as_deref(), Some("https://cb.example"));
        assert!(keys.signing_key_file.is_some());
    }

    #[test]
    fn demo_logins_sit_beside_a_sqlite_database() {
        assert_eq!(
            demo_logins_path(DEFAULT_DATABASE_URL).unwrap(),
            Path::new("./casebridge-data/demo-logins.txt")
        );
        assert!(demo_logins_path("postgres://localhost/db").is_none());
    }
}
