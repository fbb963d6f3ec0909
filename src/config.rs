//! Every setting, read from `ROSTER_*` environment variables, with defaults that work on a laptop.
//! A bad value stops start-up with one sentence naming the setting.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::db::DatabaseUrl;

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub bind: SocketAddr,
    /// Base of the links in email and of the printed setup link, without a trailing slash.
    pub public_url: String,
    /// At least 64 bytes; signs and encrypts the session cookie.
    pub secret_key: Vec<u8>,
    pub smtp_url: Option<String>,
    pub mail_dir: PathBuf,
    pub mail_from: String,
    pub data_dir: PathBuf,
    pub log_filter: String,
    pub db_pool_size: u32,
    pub http_workers: usize,
    /// Invitation emails a workspace may send per day.
    pub invites_per_day: i64,
    /// How often the outbox worker looks for due mail when nothing wakes it.
    pub outbox_poll: std::time::Duration,
    /// Audit rows older than this many days are pruned by `roster audit prune`; `None` keeps all.
    pub audit_retention_days: Option<i64>,
}

/// A start-up problem, said in one sentence that names the setting and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl Config {
    /// Reads the environment. Creates the data folder and, when `ROSTER_SECRET_KEY` is unset, a
    /// secret key kept in it across restarts.
    pub fn from_env() -> Result<Config, ConfigError> {
        let data_dir = PathBuf::from(var("ROSTER_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database_url = match var("ROSTER_DATABASE_URL") {
            Some(raw) => DatabaseUrl::parse(&raw).map_err(|e| ConfigError(format!("ROSTER_DATABASE_URL {e}.")))?,
            None => DatabaseUrl::Sqlite(data_dir.join("roster.db").to_string_lossy().into_owned()),
        };
        let bind_raw = var("ROSTER_BIND").unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind: SocketAddr = bind_raw.parse().map_err(|_| {
            ConfigError(format!(
                "ROSTER_BIND is '{bind_raw}', which is not an address and port; use something like 127.0.0.1:8080."
            ))
        })?;
        let public_url = match var("ROSTER_PUBLIC_URL") {
            Some(url) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(ConfigError(format!(
                        "ROSTER_PUBLIC_URL is '{url}'; it must start with http:// or https:// (for example https://roster.example.com)."
                    )));
                }
                url.trim_end_matches('/').to_owned()
            }
            None => format!("http://{}", display_host(bind)),
        };
        let smtp_url = var("ROSTER_SMTP_URL");
        if let Some(url) = &smtp_url
            && !(url.starts_with("smtp://") || url.starts_with("smtps://"))
        {
            return Err(ConfigError(
                "ROSTER_SMTP_URL must start with smtp:// or smtps:// (for example smtp://user:pass@mail.example.com:587?tls=required)."
                    .into(),
            ));
        }
        let mail_dir = var("ROSTER_MAIL_DIR").map(PathBuf::from).unwrap_or_else(|| data_dir.join("mail"));
        let mail_from = var("ROSTER_MAIL_FROM").unwrap_or_else(|| "Roster <roster@localhost>".into());
        let log_filter = var("ROSTER_LOG").unwrap_or_else(|| "info,roster=info".into());
        let invites_per_day = match var("ROSTER_INVITES_PER_DAY") {
            Some(v) => v.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                ConfigError(format!("ROSTER_INVITES_PER_DAY is '{v}'; use a whole number above 0, like 200."))
            })?,
            None => 200,
        };
        let needs_data_dir = matches!(&database_url, DatabaseUrl::Sqlite(p) if Path::new(p).starts_with(&data_dir))
            || var("ROSTER_SECRET_KEY").is_none()
            || (smtp_url.is_none() && mail_dir.starts_with(&data_dir));
        if needs_data_dir {
            ensure_writable_dir(&data_dir)?;
        }
        let secret_key = match var("ROSTER_SECRET_KEY") {
            Some(k) if k.len() >= 64 => k.into_bytes(),
            Some(_) => {
                return Err(ConfigError(
                    "ROSTER_SECRET_KEY is shorter than 64 characters; use a long random value (for example `openssl rand -hex 64`) or unset it to have one generated in the data folder.".into(),
                ));
            }
            None => load_or_create_key(&data_dir)?,
        };
        Ok(Config {
            database_url,
            bind,
            public_url,
            secret_key,
            smtp_url,
            mail_dir,
            mail_from,
            data_dir,
            log_filter,
            db_pool_size: 10,
            http_workers: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            invites_per_day,
            outbox_poll: std::time::Duration::from_secs(5),
            audit_retention_days: match var("ROSTER_AUDIT_RETENTION_DAYS") {
                Some(v) => Some(v.parse::<i64>().ok().filter(|d| *d >= 1).ok_or_else(|| {
                    ConfigError(format!("ROSTER_AUDIT_RETENTION_DAYS is '{v}'; use a whole number of days, 1 or more (or unset it to keep every row)."))
                })?),
                None => None,
            },
        })
    }

    /// A configuration for tests and tools: everything under `dir`, port 0.
    pub fn for_dir(dir: &Path, database_url: DatabaseUrl) -> Config {
        Config {
            database_url,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: "http://127.0.0.1".into(),
            secret_key: crate::domain::token::random_hex(64).into_bytes(),
            smtp_url: None,
            mail_dir: dir.join("mail"),
            mail_from: "Roster <roster@localhost>".into(),
            data_dir: dir.to_path_buf(),
            log_filter: "warn".into(),
            db_pool_size: 8,
            http_workers: 2,
            invites_per_day: 200,
            outbox_poll: std::time::Duration::from_millis(200),
            audit_retention_days: None,
        }
    }

    /// Whether cookies must be `Secure` (the public URL is https).
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

fn display_host(bind: SocketAddr) -> String {
    if bind.ip().is_unspecified() { format!("localhost:{}", bind.port()) } else { bind.to_string() }
}

fn ensure_writable_dir(dir: &Path) -> Result<(), ConfigError> {
    let fail = |e: std::io::Error| {
        ConfigError(format!(
            "The data folder {} is not writable ({e}); set ROSTER_DATA_DIR to a folder Roster may write to.",
            dir.display()
        ))
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(".roster-write-test");
    std::fs::write(&probe, b"ok").map_err(fail)?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

fn load_or_create_key(dir: &Path) -> Result<Vec<u8>, ConfigError> {
    let path = dir.join("secret.key");
    match std::fs::read_to_string(&path) {
        Ok(k) if k.trim().len() >= 64 => return Ok(k.trim().as_bytes().to_vec()),
        Ok(_) => {
            return Err(ConfigError(format!(
                "{} holds a key shorter than 64 characters; delete it to have a new one generated (everyone will be signed out), or set ROSTER_SECRET_KEY.",
                path.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(ConfigError(format!(
                "Cannot read {} ({e}); fix its permissions or set ROSTER_SECRET_KEY.",
                path.display()
            )));
        }
    }
    let key = crate::domain::token::random_hex(64);
    write_private(&path, key.as_bytes()).map_err(|e| {
        ConfigError(format!(
            "Cannot write the session key to {} ({e}); set ROSTER_DATA_DIR to a writable folder or set ROSTER_SECRET_KEY.",
            path.display()
        ))
    })?;
    Ok(key.into_bytes())
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}
