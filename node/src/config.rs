//! A node's configuration: one TOML file in the node's data directory, with environment overrides for the
//! operator who runs it under systemd or in a container.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use policies::PartnerId;
use serde::{Deserialize, Serialize};

/// The config file's name inside the data directory.
pub const CONFIG_FILE: &str = "weerthuis.toml";

/// The largest request body the local API accepts by default.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

/// A node's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Which partner this node is (`gemeente:GM0080`). Its certificate must say the same.
    pub partner: PartnerId,
    /// The database: `sqlite://…` (default, a file in the data directory) or `postgres://…`.
    pub database: String,
    /// The local API for the partner's staff and systems.
    #[serde(default)]
    pub api: ApiConfig,
    /// The policy file in force; absent: the covenant policy shipped with this release.
    #[serde(default)]
    pub policy: Option<PathBuf>,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// The federation side: absent, the node runs its local API only.
    #[serde(default)]
    pub federation: Option<FederationFiles>,
}

/// Where the federation side listens and finds its certificate, the federation CA and the signed directory.
/// Relative paths are relative to the data directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationFiles {
    /// The UDP address for QUIC (`0.0.0.0:4433`).
    pub listen: SocketAddr,
    /// This node's certificate (PEM), issued by the federation CA.
    pub certificate: PathBuf,
    /// This node's private key (PEM).
    pub key: PathBuf,
    /// The federation CA's certificate (PEM).
    pub ca: PathBuf,
    /// The federation directory, signed by the CA (JSON).
    pub directory: PathBuf,
    /// Seconds a connection dialled on demand (to a partner other than the Transferpunt, while a case names it)
    /// may be idle before this node closes it; unset: 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_close_secs: Option<u64>,
}

impl FederationFiles {
    /// The same, with relative paths made relative to `dir`.
    pub fn resolved(&self, dir: &Path) -> FederationFiles {
        let r = |p: &PathBuf| {
            if p.is_relative() {
                dir.join(p)
            } else {
                p.clone()
            }
        };
        FederationFiles {
            listen: self.listen,
            certificate: r(&self.certificate),
            key: r(&self.key),
            ca: r(&self.ca),
            directory: r(&self.directory),
            idle_close_secs: self.idle_close_secs,
        }
    }
}

/// The local HTTP API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Where it listens. Keep it inside the partner's network.
    pub listen: SocketAddr,
    /// The largest request body accepted.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
}

fn default_max_body() -> usize {
    DEFAULT_MAX_BODY_BYTES
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// Log output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Text or JSON.
    #[serde(default)]
    pub format: LogFormat,
}

/// A configuration that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {path}: {cause}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// The file is not a valid configuration.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line.
        message: String,
    },
    /// An environment override is invalid.
    #[error("environment variable {var}: {message}")]
    Env {
        /// The variable.
        var: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// The environment variables that override the file, for systemd units and containers.
pub const ENV_OVERRIDES: [&str; 4] = [
    "WEERTHUIS_DATABASE",
    "WEERTHUIS_API_LISTEN",
    "WEERTHUIS_POLICY",
    "WEERTHUIS_LOG_FORMAT",
];

impl Config {
    /// The default configuration for a new node in `dir`: SQLite in the directory, API on localhost.
    pub fn new(partner: PartnerId, dir: &Path) -> Config {
        Config {
            partner,
            database: format!("sqlite://{}", dir.join("node.db").display()),
            api: ApiConfig::default(),
            policy: None,
            log: LogConfig::default(),
            federation: None,
        }
    }

    /// Read `weerthuis.toml` from a data directory and apply environment overrides.
    pub fn load(dir: &Path) -> Result<Config, ConfigError> {
        Self::load_with_env(dir, |k| std::env::var(k).ok())
    }

    /// As [`Config::load`], with the environment given (for tests).
    pub fn load_with_env(
        dir: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            cause: source,
        })?;
        let mut cfg: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if let Some(v) = env("WEERTHUIS_DATABASE") {
            cfg.database = v;
        }
        if let Some(v) = env("WEERTHUIS_API_LISTEN") {
            cfg.api.listen = v.parse().map_err(|e| ConfigError::Env {
                var: "WEERTHUIS_API_LISTEN",
                message: format!("{e} (expected host:port, e.g. 127.0.0.1:8080)"),
            })?;
        }
        if let Some(v) = env("WEERTHUIS_POLICY") {
            cfg.policy = Some(PathBuf::from(v));
        }
        if let Some(v) = env("WEERTHUIS_LOG_FORMAT") {
            cfg.log.format = match v.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => {
                    return Err(ConfigError::Env {
                        var: "WEERTHUIS_LOG_FORMAT",
                        message: format!("{other:?} is not text or json"),
                    });
                }
            };
        }
        // A relative policy path is relative to the data directory, not to wherever the service was started.
        if let Some(p) = &cfg.policy
            && p.is_relative()
        {
            cfg.policy = Some(dir.join(p));
        }
        Ok(cfg)
    }

    /// The configuration as TOML, with comments for the operator.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string_pretty(self).expect("a config always serialises");
        format!(
            "# Weer Thuis node configuration. Environment variables override: {}.\n\
             # database: sqlite://<file> (default) or postgres://user:password@host/dbname\n\n{body}",
            ENV_OVERRIDES.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_overrides() {
        let dir = std::env::temp_dir().join(format!("weerthuis-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = Config::new("gemeente:GM0080".parse().unwrap(), &dir);
        std::fs::write(dir.join(CONFIG_FILE), cfg.to_toml()).unwrap();
        assert_eq!(Config::load_with_env(&dir, |_| None).unwrap(), cfg);

        let over = Config::load_with_env(&dir, |k| match k {
            "WEERTHUIS_DATABASE" => Some("postgres://x@localhost/y".into()),
            "WEERTHUIS_API_LISTEN" => Some("127.0.0.1:9999".into()),
            "WEERTHUIS_LOG_FORMAT" => Some("json".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(over.database, "postgres://x@localhost/y");
        assert_eq!(over.api.listen.port(), 9999);
        assert_eq!(over.log.format, LogFormat::Json);

        let bad = Config::load_with_env(&dir, |k| {
            (k == "WEERTHUIS_API_LISTEN").then(|| "nowhere".into())
        });
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("WEERTHUIS_API_LISTEN")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
