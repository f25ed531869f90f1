//! Assembling a node from its data directory, and serving its API until shutdown. The binary only parses
//! arguments and passes a shutdown signal (mini-redis style: library first).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use policies::{Gemeenten, PartnerId, Policy};
use time::OffsetDateTime;
use tokio::net::TcpListener;

use crate::audit::Pseudonymiser;
use crate::config::{CONFIG_FILE, Config, ConfigError};
use crate::service::Node;
use crate::store::{Clock, OpenError, Store, StoreOptions};

/// The file holding the node's secret for pseudonymising data subjects in the audit log.
pub const AUDIT_KEY_FILE: &str = "audit.key";

/// Setting up or running a node failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The configuration cannot be read.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database cannot be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The policy file is invalid or refused.
    #[error("policy {path}: {cause}")]
    Policy {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: policies::PolicyError,
    },
    /// A file of the data directory cannot be read or written.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// The data directory already holds a node.
    #[error("{0} already holds a node configuration; refusing to overwrite it")]
    Exists(PathBuf),
    /// The audit key is malformed.
    #[error("{0}: expected 64 hex digits")]
    BadKey(PathBuf),
    /// A file is not the signed federation directory it should be.
    #[error("{path} is not a signed directory: {cause}")]
    NotADirectory {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: serde_json::Error,
    },
    /// The node's certificate, key or the federation's CA or directory do not hold together (a signature that
    /// does not verify, a key that is not the certificate's).
    #[error(transparent)]
    Pki(#[from] protocol::pki::PkiError),
    /// The BSN index could not be built.
    #[error("BSN index: {0}")]
    Index(String),
    /// The federation side could not start.
    #[error(transparent)]
    Federation(#[from] crate::sync::FederationError),
    /// The federation directory (the configured file, or the one stored from the federation) is refused.
    #[error(transparent)]
    Directory(#[from] crate::directory::DirectoryError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AppError + '_ {
    move |source| AppError::Io {
        path: path.to_path_buf(),
        cause: source,
    }
}

/// Create a node's data directory: configuration, audit key, database with its schema.
pub async fn init(
    dir: &Path,
    partner: PartnerId,
    database: Option<String>,
) -> Result<Config, AppError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    // Absolute, so the database is found whatever directory the service is started from.
    let dir = &dir.canonicalize().map_err(io(dir))?;
    let cfg_path = dir.join(CONFIG_FILE);
    if cfg_path.exists() {
        return Err(AppError::Exists(cfg_path));
    }
    let mut cfg = Config::new(partner, dir);
    if let Some(db) = database {
        cfg.database = db;
    }
    let key_path = dir.join(AUDIT_KEY_FILE);
    write_secret(&key_path, &crate::audit::hex(&rand::random::<[u8; 32]>()))?;
    let bsn_key_path = dir.join(crate::bsn_index::BSN_INDEX_KEY_FILE);
    write_secret(
        &bsn_key_path,
        &crate::audit::hex(&rand::random::<[u8; 32]>()),
    )?;
    std::fs::write(&cfg_path, cfg.to_toml()).map_err(io(&cfg_path))?;
    // Create the database and run the migrations now, so a wrong URL shows at init, not at the first start.
    Store::open(&cfg.database).await?.close().await;
    Ok(cfg)
}

fn write_secret(path: &Path, text: &str) -> Result<(), AppError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io(path))?;
    f.write_all(text.as_bytes()).map_err(io(path))
}

/// The BSN index's key: read, or — a data directory made before the index existed — made now (mode 0600).
fn bsn_key(dir: &Path) -> Result<crate::bsn_index::BsnKey, AppError> {
    let path = dir.join(crate::bsn_index::BSN_INDEX_KEY_FILE);
    if !path.exists() {
        match write_secret(&path, &crate::audit::hex(&rand::random::<[u8; 32]>())) {
            Ok(()) => tracing::info!(file = %path.display(), "BSN index key made"),
            // Another process made it at the same moment: read theirs.
            Err(AppError::Io { cause, .. })
                if cause.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(crate::bsn_index::BsnKey::new(read_key(
        dir,
        crate::bsn_index::BSN_INDEX_KEY_FILE,
    )?))
}

fn read_key(dir: &Path, file: &str) -> Result<[u8; 32], AppError> {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let text = text.trim();
    if text.len() != 64 {
        return Err(AppError::BadKey(path));
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
            .map_err(|_| AppError::BadKey(path.clone()))?;
    }
    Ok(key)
}

/// Load the policy in force: the configured file, or the shipped covenant policy.
pub fn load_policy(cfg: &Config) -> Result<Policy, AppError> {
    match &cfg.policy {
        None => Ok(Policy::covenant()),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(io(path))?;
            Policy::load(&text).map_err(|source| AppError::Policy {
                path: path.clone(),
                cause: source,
            })
        }
    }
}

/// Open the node in a data directory, with the system clock.
pub async fn open(dir: &Path) -> Result<(Config, Arc<Node>), AppError> {
    open_with_clock(dir, Arc::new(OffsetDateTime::now_utc)).await
}

/// Open the node in a data directory with a given clock (tests, simulator).
pub async fn open_with_clock(dir: &Path, clock: Clock) -> Result<(Config, Arc<Node>), AppError> {
    let cfg = Config::load(dir)?;
    let policy = load_policy(&cfg)?;
    let key = read_key(dir, AUDIT_KEY_FILE)?;
    let bsn_key = bsn_key(dir)?;
    let store = Store::open_with(
        &cfg.database,
        StoreOptions {
            clock: clock.clone(),
            ..StoreOptions::default()
        },
    )
    .await?;
    let node = Node::new(
        cfg.partner.clone(),
        store,
        Arc::new(policy),
        Arc::new(Gemeenten::friesland()),
        Pseudonymiser::new(key),
        clock,
    )
    .with_bsn_key(bsn_key);
    node.ensure_bsn_index()
        .await
        .map_err(|e| AppError::Index(e.to_string()))?;
    Ok((cfg, Arc::new(node)))
}

/// Read a signed directory and verify it against the CA certificate.
pub fn load_directory(ca_cert: &Path, signed: &Path) -> Result<protocol::pki::Directory, AppError> {
    let read = |p: &Path| std::fs::read_to_string(p).map_err(io(p));
    Ok(read_signed_directory(signed)?.verify(&read(ca_cert)?)?)
}

/// Read a signed directory file (not yet verified).
pub fn read_signed_directory(signed: &Path) -> Result<protocol::pki::SignedDirectory, AppError> {
    let text = std::fs::read_to_string(signed).map_err(io(signed))?;
    serde_json::from_str(&text).map_err(|cause| AppError::NotADirectory {
        path: signed.to_path_buf(),
        cause,
    })
}

/// Start the federation side from the files named in the configuration. The directory is the configured file's,
/// or the newer one this node received from the federation before (`crate::directory::at_start`).
pub async fn start_federation(
    dir: &Path,
    files: &crate::config::FederationFiles,
    node: Arc<Node>,
) -> Result<crate::sync::Federation, AppError> {
    let f = files.resolved(dir);
    let read = |p: &PathBuf| std::fs::read_to_string(p).map_err(io(p));
    let tls = protocol::TlsSetup::from_pem(
        &read(&f.certificate)?,
        &read(&f.key)?,
        &read(&f.ca)?,
        protocol::Admitted::default(),
    )?;
    let file = read_signed_directory(&f.directory)?;
    let (directory, signed) = crate::directory::at_start(node.store(), &file, &tls.ca_pem).await?;
    node.set_signing_key(read(&f.key)?);
    let fed = crate::sync::Federation::start(
        node,
        crate::sync::FederationConfig {
            listen: f.listen,
            tls,
            directory,
            signed_directory: Some(signed),
            faults: None,
            idle_close: f
                .idle_close_secs
                .map_or(crate::sync::IDLE_CLOSE, std::time::Duration::from_secs),
        },
    )?;
    if let Ok(addr) = fed.local_addr() {
        tracing::info!(%addr, "federation listening");
    }
    Ok(fed)
}

/// A node's running parts besides its HTTP listener: the federation side (when configured), the metrics it
/// reports to, and the daily bewaartermijn purge. What `weerthuis run` starts for its one node and `weerthuis host`
/// for each tenant, so a hosted partner runs exactly what a partner on its own server runs.
pub struct Started {
    /// The configuration read from the data directory.
    pub config: Config,
    /// The node.
    pub node: Arc<Node>,
    /// `GET /metrics`'s source, with the federation attached.
    pub metrics: Arc<crate::metrics::Registry>,
    federation: Option<crate::sync::Federation>,
    purge: crate::bewaartermijn::Daily,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started")
            .field("partner", self.node.partner())
            .field("federation", &self.federation.is_some())
            .finish_non_exhaustive()
    }
}

/// Open the node in `dir` and start its federation side (if its configuration has one) and its purge.
pub async fn start(dir: &Path) -> Result<Started, AppError> {
    let (config, node) = open(dir).await?;
    let federation = match &config.federation {
        Some(files) => Some(start_federation(dir, files, node.clone()).await?),
        None => {
            tracing::info!(partner = %node.partner(), "no [federation] section: running the local API only");
            None
        }
    };
    let metrics = Arc::new(crate::metrics::Registry::new());
    if let Some(f) = &federation {
        metrics.attach_federation(f.probe());
    }
    let purge = crate::bewaartermijn::Daily::start(node.clone(), crate::bewaartermijn::PURGE_EVERY);
    Ok(Started {
        config,
        node,
        metrics,
        federation,
        purge,
    })
}

impl Started {
    /// The local API's router for this node.
    pub fn router(&self) -> axum::Router {
        crate::api::router_with_metrics(
            self.node.clone(),
            self.config.api.max_body_bytes,
            self.metrics.clone(),
        )
    }

    /// Stop the purge and the federation side, then close the database.
    pub async fn shutdown(self) {
        self.purge.shutdown().await;
        if let Some(f) = self.federation {
            f.shutdown().await;
        }
        self.node.store().close().await;
    }
}

/// Serve the local API on `listener` until `shutdown` resolves; then finish the requests in flight.
pub async fn serve(
    listener: TcpListener,
    node: Arc<Node>,
    max_body_bytes: usize,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_metrics(listener, node, max_body_bytes, Arc::default(), shutdown).await
}

/// [`serve`], with `GET /metrics` reporting from `metrics` (to which the federation is attached).
pub async fn serve_with_metrics(
    listener: TcpListener,
    node: Arc<Node>,
    max_body_bytes: usize,
    metrics: Arc<crate::metrics::Registry>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = crate::api::router_with_metrics(node.clone(), max_body_bytes, metrics);
    tracing::info!(partner = %node.partner(), addr = %listener.local_addr()?, "local API listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    node.store().close().await;
    tracing::info!("stopped");
    Ok(())
}
