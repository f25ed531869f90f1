//! Hosting several small partners in one process (issue #15 item 5).
//!
//! A small zorgaanbieder cannot run a server with an open port. Another party — a larger zorgaanbieder, a
//! regional IT cooperative — runs `weerthuis host` for it and for other small partners of the same role. Each
//! hosted partner (a *tenant*) is an ordinary node data directory under the host's directory: its own
//! configuration, database file, audit and BSN-index keys, certificate and key, users and policy. The host opens
//! every tenant with [`crate::app::start`] — exactly what `weerthuis run` starts for a node on its own server — and
//! serves all of them on one HTTP listener, choosing the tenant by the request's `Host` header.
//!
//! What the tenants share is the process, its async runtime and that listener; nothing that holds data. There is
//! no process-wide state in the node (no statics, no shared caches), each tenant is its own `Node` with its own
//! store, and a request reaches exactly one tenant's router. Cookies carry no `Domain`, so a browser sends a
//! tenant's werkplek session only to that tenant's host name. Each tenant remains its own controller: it can leave
//! the host by taking its directory to its own server and running `weerthuis run --dir` on it.
//!
//! Each tenant keeps its own QUIC endpoint (the `[federation]` section of its own configuration), on a port of
//! the host. Sharing one UDP port would need the TLS layer to pick a certificate by SNI and to verify the
//! client's certificate against a directory shared by the tenants; a port per tenant keeps the handshake exactly
//! the one a node on its own server runs, each tenant with its own directory copy and admitted set.
//!
//! A partner that runs its own node but cannot open a port has a second way in: it leaves `endpoint` out of its
//! directory entry and dials every partner that has one (see `sync::lifecycle`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use policies::{PartnerId, Role};
use serde::{Deserialize, Serialize};
use tower::ServiceExt as _;

use crate::app::{AppError, Started};
use crate::config::{ApiConfig, LogConfig};

/// The host's configuration file, in the host's directory.
pub const HOST_FILE: &str = "weerthuis-host.toml";

/// Where tenants' data directories are made, inside the host's directory.
pub const TENANTS_DIR: &str = "tenants";

/// A host's configuration: the role its tenants share, its one HTTP listener, and the tenants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// The role every tenant has: a host serves partners of one role, so every tenant lives under the same rules
    /// of the policy and one tenant's staff never see a screen made for another role.
    pub role: Role,
    /// The one HTTP listener for every tenant's werkplek and API.
    #[serde(default)]
    pub api: ApiConfig,
    /// Logging of the whole process.
    #[serde(default)]
    pub log: LogConfig,
    /// The hosted partners.
    #[serde(default, rename = "tenant")]
    pub tenants: Vec<Tenant>,
}

/// One hosted partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    /// Which partner (`zorgaanbieder:ZA-12`); its data directory's configuration must say the same.
    pub partner: PartnerId,
    /// The host name its staff and systems reach it by (`za12.weerthuis.example`): requests with this `Host`
    /// header go to this tenant.
    pub hostname: String,
    /// Its data directory; relative paths are relative to the host's directory.
    pub dir: PathBuf,
}

/// A host that cannot be set up or run.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The host file cannot be read or written.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// The host file is not a valid host configuration.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line.
        message: String,
    },
    /// The directory already holds a host.
    #[error("{0} already exists; refusing to overwrite it")]
    Exists(PathBuf),
    /// A tenant of another role than the host's.
    #[error(
        "tenant {partner}: field `partner` has role {has} (rule: every tenant of this host is a {host})"
    )]
    WrongRole {
        /// The partner.
        partner: PartnerId,
        /// Its role.
        has: Role,
        /// The host's role.
        host: Role,
    },
    /// The same partner twice.
    #[error("tenant {0}: field `partner` is already hosted here (rule: each partner once)")]
    DuplicatePartner(PartnerId),
    /// The same host name for two tenants.
    #[error(
        "tenant {partner}: field `hostname` {hostname:?} is already another tenant's (rule: one tenant per host name)"
    )]
    DuplicateHostname {
        /// The partner.
        partner: PartnerId,
        /// The host name.
        hostname: String,
    },
    /// A host name that is not one.
    #[error(
        "tenant {partner}: field `hostname` {hostname:?} is not a host name (rule: letters, digits, '-' and '.', e.g. za12.weerthuis.example)"
    )]
    BadHostname {
        /// The partner.
        partner: PartnerId,
        /// The host name given.
        hostname: String,
    },
    /// A tenant's data directory is another partner's.
    #[error(
        "tenant {listed}: its data directory {dir} holds the node of {found} (rule: a tenant's directory is its own)"
    )]
    WrongDirectory {
        /// The partner the host file names.
        listed: PartnerId,
        /// The directory.
        dir: PathBuf,
        /// The partner its configuration names.
        found: PartnerId,
    },
    /// A host without tenants has nothing to run.
    #[error("{0} hosts no tenant yet (add one: weerthuis host add)")]
    NoTenants(PathBuf),
    /// A tenant could not be set up or started.
    #[error("tenant {partner}: {cause}")]
    Tenant {
        /// The partner.
        partner: PartnerId,
        /// Why.
        cause: Box<AppError>,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> HostError + '_ {
    move |cause| HostError::Io {
        path: path.to_path_buf(),
        cause,
    }
}

impl HostConfig {
    /// Read and check `weerthuis-host.toml` in `dir`.
    pub fn load(dir: &Path) -> Result<HostConfig, HostError> {
        let path = dir.join(HOST_FILE);
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let cfg: HostConfig = toml::from_str(&text).map_err(|e| HostError::Parse {
            path: path.clone(),
            message: e.to_string(),
        })?;
        cfg.check()?;
        Ok(cfg)
    }

    fn save(&self, dir: &Path) -> Result<(), HostError> {
        let path = dir.join(HOST_FILE);
        let body = toml::to_string_pretty(self).expect("a host config always serialises");
        let text = format!(
            "# Weer Thuis host: several partners of one role, each its own node and controller, served by one\n\
             # process. Each [[tenant]]'s data directory is an ordinary node directory (weerthuis.toml, node.db,\n\
             # keys, certificate); run `weerthuis user|case|audit … --dir <its dir>` on it as on any node.\n\n{body}"
        );
        std::fs::write(&path, text).map_err(io(&path))
    }

    /// Every tenant of the host's role, each partner and host name once, every host name a host name.
    fn check(&self) -> Result<(), HostError> {
        let mut partners = std::collections::BTreeSet::new();
        let mut names = std::collections::BTreeSet::new();
        for t in &self.tenants {
            check_tenant(self.role, t)?;
            if !partners.insert(&t.partner) {
                return Err(HostError::DuplicatePartner(t.partner.clone()));
            }
            if !names.insert(t.hostname.as_str()) {
                return Err(HostError::DuplicateHostname {
                    partner: t.partner.clone(),
                    hostname: t.hostname.clone(),
                });
            }
        }
        Ok(())
    }

    /// A tenant's data directory, absolute.
    pub fn tenant_dir(&self, host_dir: &Path, tenant: &Tenant) -> PathBuf {
        if tenant.dir.is_relative() {
            host_dir.join(&tenant.dir)
        } else {
            tenant.dir.clone()
        }
    }
}

fn check_tenant(role: Role, t: &Tenant) -> Result<(), HostError> {
    if t.partner.role() != role {
        return Err(HostError::WrongRole {
            partner: t.partner.clone(),
            has: t.partner.role(),
            host: role,
        });
    }
    if !is_hostname(&t.hostname) {
        return Err(HostError::BadHostname {
            partner: t.partner.clone(),
            hostname: t.hostname.clone(),
        });
    }
    Ok(())
}

/// A DNS host name in lower case: labels of letters, digits and '-', not starting or ending with '-'.
fn is_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// Create a host's directory with its configuration and no tenants yet.
pub fn init(dir: &Path, role: Role, api: ApiConfig) -> Result<HostConfig, HostError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    if dir.join(HOST_FILE).exists() {
        return Err(HostError::Exists(dir.join(HOST_FILE)));
    }
    let cfg = HostConfig {
        role,
        api,
        log: LogConfig::default(),
        tenants: Vec::new(),
    };
    cfg.save(dir)?;
    Ok(cfg)
}

/// Add a tenant: check it against the host's rules, make its data directory (`tenants/<role>-<code>`, an ordinary
/// node directory, see [`crate::app::init`]) and record it. Returns the tenant with its directory.
pub async fn add_tenant(
    dir: &Path,
    partner: PartnerId,
    hostname: &str,
    database: Option<String>,
) -> Result<(Tenant, PathBuf), HostError> {
    let mut cfg = HostConfig::load(dir)?;
    let tenant = Tenant {
        dir: Path::new(TENANTS_DIR).join(format!("{}-{}", partner.role(), partner.code())),
        partner,
        hostname: hostname.to_ascii_lowercase(),
    };
    cfg.tenants.push(tenant.clone());
    // Checked before anything is made, so a refused tenant leaves no directory behind.
    cfg.check()?;
    let tenant_dir = cfg.tenant_dir(dir, &tenant);
    crate::app::init(&tenant_dir, tenant.partner.clone(), database)
        .await
        .map_err(|cause| HostError::Tenant {
            partner: tenant.partner.clone(),
            cause: Box::new(cause),
        })?;
    cfg.save(dir)?;
    Ok((tenant, tenant_dir))
}

/// The running tenants of a host, and those that could not start.
#[derive(Debug)]
pub struct Running {
    tenants: Vec<(Tenant, Started)>,
    /// Tenants that could not start, with why: their host names answer 503 while the others serve on.
    failed: Vec<(Tenant, String)>,
}

/// Open and start every tenant of the host in `dir` (each as `weerthuis run` would). A tenant that cannot start
/// (a broken configuration, a database that does not open) is logged and left out, and its host name answers 503,
/// so one tenant's fault does not stop the others' staff; only when no tenant starts is it an error.
pub async fn start(dir: &Path) -> Result<(HostConfig, Running), HostError> {
    let cfg = HostConfig::load(dir)?;
    if cfg.tenants.is_empty() {
        return Err(HostError::NoTenants(dir.join(HOST_FILE)));
    }
    let mut running = Running {
        tenants: Vec::new(),
        failed: Vec::new(),
    };
    let mut first_error = None;
    for t in &cfg.tenants {
        match start_tenant(&cfg, dir, t).await {
            Ok(started) => {
                tracing::info!(partner = %t.partner, hostname = %t.hostname, "tenant started");
                running.tenants.push((t.clone(), started));
            }
            Err(e) => {
                tracing::error!(partner = %t.partner, error = %e, "tenant could not start; the others serve on");
                running.failed.push((t.clone(), e.to_string()));
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) if running.tenants.is_empty() => Err(e),
        _ => Ok((cfg, running)),
    }
}

async fn start_tenant(cfg: &HostConfig, dir: &Path, t: &Tenant) -> Result<Started, HostError> {
    let tenant_dir = cfg.tenant_dir(dir, t);
    let started = crate::app::start(&tenant_dir)
        .await
        .map_err(|cause| HostError::Tenant {
            partner: t.partner.clone(),
            cause: Box::new(cause),
        })?;
    if started.node.partner() != &t.partner {
        let found = started.node.partner().clone();
        started.shutdown().await;
        return Err(HostError::WrongDirectory {
            listed: t.partner.clone(),
            dir: tenant_dir,
            found,
        });
    }
    Ok(started)
}

impl Running {
    /// The tenants' nodes, by partner.
    pub fn nodes(&self) -> impl Iterator<Item = &Arc<crate::service::Node>> {
        self.tenants.iter().map(|(_, s)| &s.node)
    }

    /// The tenants that could not start, with why.
    pub fn failed(&self) -> &[(Tenant, String)] {
        &self.failed
    }

    /// One router for all tenants: each request goes to the tenant its `Host` header names; a tenant that could
    /// not start answers 503; a request for a host name no tenant has is answered 404 and reaches no tenant.
    pub fn router(&self) -> axum::Router {
        let mut by_host: BTreeMap<String, Option<axum::Router>> = self
            .tenants
            .iter()
            .map(|(t, s)| (t.hostname.clone(), Some(s.router())))
            .collect();
        by_host.extend(self.failed.iter().map(|(t, _)| (t.hostname.clone(), None)));
        axum::Router::new()
            .fallback(dispatch)
            .with_state(Arc::new(by_host))
    }

    /// Stop every tenant (federation, purge, database).
    pub async fn shutdown(self) {
        for (_, started) in self.tenants {
            started.shutdown().await;
        }
    }
}

/// The host name of a `Host` header value: lower case, without the port.
fn host_name(value: &str) -> String {
    let value = value.trim();
    let name = match value.rsplit_once(':') {
        // `[::1]:8080` or `name:8080`; a bare IPv6 literal has no port here.
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => value,
    };
    name.to_ascii_lowercase()
}

async fn dispatch(
    State(by_host): State<Arc<BTreeMap<String, Option<axum::Router>>>>,
    request: Request,
) -> Response {
    use crate::api::Problem;
    // HTTP/1.1 carries the host in the Host header; a request in absolute form carries it in the URI.
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
        .map(host_name)
        .unwrap_or_default();
    match by_host.get(&host) {
        Some(Some(router)) => match router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
        Some(None) => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "Partner niet beschikbaar")
            .detail(format!(
                "De omgeving van {host:?} is niet gestart; de beheerder van deze server ziet in het logboek waarom."
            ))
            .into_response(),
        None => Problem::new(StatusCode::NOT_FOUND, "Onbekende partner")
            .detail(format!(
                "Op deze server is geen partner ingericht met de hostnaam {host:?}."
            ))
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_checked_and_read_without_port() {
        assert!(is_hostname("za12.weerthuis.example"));
        assert!(is_hostname("localhost"));
        assert!(!is_hostname(""));
        assert!(!is_hostname("ZA12.example"));
        assert!(!is_hostname("za_12.example"));
        assert!(!is_hostname("-za.example"));
        assert!(!is_hostname("za..example"));
        assert_eq!(host_name("ZA12.Example:8080"), "za12.example");
        assert_eq!(host_name("za12.example"), "za12.example");
        assert_eq!(host_name("[::1]:8080"), "[::1]");
    }

    #[test]
    fn a_tenant_of_another_role_or_twice_is_refused_naming_the_field() {
        let t = |p: &str, h: &str| Tenant {
            partner: p.parse().unwrap(),
            hostname: h.into(),
            dir: PathBuf::from("x"),
        };
        let cfg = |tenants| HostConfig {
            role: Role::Zorgaanbieder,
            api: ApiConfig::default(),
            log: LogConfig::default(),
            tenants,
        };
        let e = cfg(vec![t("gemeente:GM0080", "a.example")])
            .check()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("field `partner`") && e.contains("gemeente"),
            "{e}"
        );
        let e = cfg(vec![
            t("zorgaanbieder:a", "a.example"),
            t("zorgaanbieder:a", "b.example"),
        ])
        .check()
        .unwrap_err()
        .to_string();
        assert!(e.contains("already hosted"), "{e}");
        let e = cfg(vec![
            t("zorgaanbieder:a", "a.example"),
            t("zorgaanbieder:b", "a.example"),
        ])
        .check()
        .unwrap_err()
        .to_string();
        assert!(e.contains("field `hostname`"), "{e}");
        cfg(vec![
            t("zorgaanbieder:a", "a.example"),
            t("zorgaanbieder:b", "b.example"),
        ])
        .check()
        .unwrap();
    }
}
