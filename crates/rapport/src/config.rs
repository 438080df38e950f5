//! Configuration: flags over `RAPPORT_*` environment variables over a TOML file over
//! defaults. Flags and variables are read by clap; the file fills what they leave unset.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use secrecy::SecretString;
use serde::Deserialize;

/// The TOML file; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub jwt_secret: Option<SecretString>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else { return Ok(Self::default()) };
        let text = std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
    }
}

/// Which database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(String),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(DatabaseUrl::Sqlite(url.to_string()))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgres(url.to_string()))
        } else {
            bail!(
                "unsupported database URL scheme in {:?}: use sqlite://PATH (the default) or postgres://USER@HOST/DB",
                redact(url)
            )
        }
    }
}

/// A URL with any password replaced, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url
            .split('@')
            .next_back()
            .map(|rest| if url.contains('@') { format!("***@{rest}") } else { rest.to_string() })
            .unwrap_or_default(),
    }
}

/// The resolved settings of the database connection.
#[derive(Debug, Clone)]
pub struct DbConfig {
    pub data_dir: PathBuf,
    pub database: DatabaseUrl,
}

impl DbConfig {
    pub fn resolve(data_dir: Option<PathBuf>, database_url: Option<String>, file: &FileConfig) -> anyhow::Result<Self> {
        let data_dir = data_dir.or_else(|| file.data_dir.clone()).unwrap_or_else(|| PathBuf::from("rapport-data"));
        let url = match database_url.or_else(|| file.database_url.clone()) {
            Some(u) => u,
            None => format!("sqlite://{}", data_dir.join("rapport.db").display()),
        };
        Ok(Self { database: DatabaseUrl::parse(&url)?, data_dir })
    }
}
