//! The federation: policy-filtered Automerge sync with the other partners' nodes, over QUIC with mutual TLS.
//!
//! One connection per pair of nodes (the node with the smaller partner id dials, with backoff), one session task
//! per connection. On every (re)connect a session reconciles every case; afterwards it pushes the cases whose
//! documents change. What it shares comes from [`plan`]; what it accepts is decided by the pure receive core
//! ([`receive`], with the rules in [`accept`]), which checks every op of a message on a fork before anything is
//! stored; the tokio session only loads, stores and sends what the core says.
//!
//! **Architecture invariant:** nothing leaves this node that [`plan::plan`] did not put in a full-document share or
//! a projection for that peer, and nothing is stored that did not pass the checks in [`receive`].

pub mod accept;
pub mod plan;
pub mod receive;
mod session;
pub use crate::wire;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use policies::PartnerId;
use protocol::{Admitted, Directory, Endpoint, PeerId, TlsSetup};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::service::Node;

/// First wait before redialling a peer; doubles up to [`MAX_BACKOFF`].
pub const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// Longest wait between dials.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Longest a dial may take. A peer that went away answers nothing, so without a bound a dial waits for QUIC's idle
/// timeout (30 s) before the directory's new address for a restarted peer is tried.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(5);

/// Starting the federation side failed.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// The endpoint could not be set up.
    #[error(transparent)]
    Endpoint(#[from] protocol::EndpointError),
    /// The certificate does not name this node's partner.
    #[error("the node certificate is for {cert}, but this node is {node}")]
    WrongCertificate {
        /// What the certificate says.
        cert: String,
        /// What the configuration says.
        node: String,
    },
    /// The certificate cannot be read.
    #[error(transparent)]
    Pki(#[from] protocol::pki::PkiError),
}

/// What the federation side needs.
#[derive(Debug, Clone)]
pub struct FederationConfig {
    /// Where to listen (port 0 in tests).
    pub listen: SocketAddr,
    /// This node's certificate, key and the federation CA.
    pub tls: TlsSetup,
    /// The federation directory (verified).
    pub directory: Directory,
    /// Faults to inject into the node's UDP socket (the simulator only); `None` in production: quinn's own socket.
    pub faults: Option<protocol::faulty::FaultHandle>,
}

/// Counters for monitoring.
#[derive(Debug, Default)]
pub struct Stats {
    /// Messages refused (security events).
    pub refused: std::sync::atomic::AtomicU64,
    /// Sync messages sent.
    pub sent: std::sync::atomic::AtomicU64,
    /// Sync messages received and accepted.
    pub accepted: std::sync::atomic::AtomicU64,
    /// Bytes of sync payload sent (Automerge sync messages, before framing and QUIC).
    pub bytes_sent: std::sync::atomic::AtomicU64,
}

pub(crate) struct Inner {
    node: Arc<Node>,
    me: PartnerId,
    endpoint: Endpoint,
    directory: RwLock<Directory>,
    admitted: Admitted,
    shutdown: watch::Receiver<bool>,
    connected: RwLock<BTreeMap<PartnerId, protocol::Connection>>,
    stats: Stats,
    /// When a message last arrived from each peer (for metrics: see [`Probe`]).
    last_received: RwLock<BTreeMap<PartnerId, std::time::Instant>>,
}

/// The running federation side of a node.
pub struct Federation {
    inner: Arc<Inner>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    dialing: std::collections::BTreeSet<PartnerId>,
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Federation")
            .field("me", &self.inner.me)
            .finish_non_exhaustive()
    }
}

fn corporaties(directory: &Directory) -> Vec<(PartnerId, Vec<String>)> {
    directory
        .partners
        .iter()
        .filter_map(|e| Some((partner_of(&e.id)?, e.werkgebied.clone())))
        .filter(|(p, _)| p.role() == policies::Role::Corporatie)
        .collect()
}

fn partner_of(peer: &PeerId) -> Option<PartnerId> {
    peer.as_str().parse().ok()
}

impl Federation {
    /// Bind the endpoint, start accepting, and dial every partner in the directory this node should dial.
    pub fn start(node: Arc<Node>, cfg: FederationConfig) -> Result<Federation, FederationError> {
        let own = cfg.tls.own_id()?;
        if own.as_str() != node.partner().to_string() {
            return Err(FederationError::WrongCertificate {
                cert: own.to_string(),
                node: node.partner().to_string(),
            });
        }
        let endpoint = Endpoint::bind_with(cfg.listen, &cfg.tls, cfg.faults.as_ref())?;
        node.set_corporaties(corporaties(&cfg.directory));
        cfg.tls
            .admitted
            .replace(cfg.directory.partners.iter().map(|p| p.id.clone()));
        let (stop, shutdown) = watch::channel(false);
        let inner = Arc::new(Inner {
            me: node.partner().clone(),
            node,
            endpoint,
            directory: RwLock::new(cfg.directory),
            admitted: cfg.tls.admitted.clone(),
            shutdown,
            connected: RwLock::new(BTreeMap::new()),
            stats: Stats::default(),
            last_received: RwLock::new(BTreeMap::new()),
        });
        let mut tasks = JoinSet::new();
        tasks.spawn(accept_loop(inner.clone()));
        tasks.spawn(adopt_loop(inner.clone()));
        let mut fed = Federation {
            inner,
            stop,
            tasks,
            dialing: Default::default(),
        };
        fed.dial_new();
        Ok(fed)
    }

    /// Start dialling the partners in the directory this node dials (those with a larger partner id and an
    /// endpoint) that it does not dial yet.
    fn dial_new(&mut self) {
        let me = self.inner.me.to_string();
        let peers: Vec<(PartnerId, SocketAddr)> = self
            .inner
            .directory
            .read()
            .expect("directory lock")
            .partners
            .iter()
            .filter_map(|e| {
                let id = partner_of(&e.id)?;
                let addr = e.endpoint.as_deref()?.parse().ok()?;
                (id.to_string() > me).then_some((id, addr))
            })
            .collect();
        for (peer, addr) in peers {
            if self.dialing.insert(peer.clone()) {
                self.tasks.spawn(dial_loop(self.inner.clone(), peer, addr));
            }
        }
    }

    /// Where the endpoint listens.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.endpoint.local_addr()
    }

    /// The peers connected now.
    pub fn connected(&self) -> Vec<PartnerId> {
        self.inner
            .connected
            .read()
            .expect("connected lock")
            .keys()
            .cloned()
            .collect()
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    /// A read-only handle for the metrics endpoint (see [`Probe`]).
    pub fn probe(&self) -> Probe {
        Probe(Arc::downgrade(&self.inner))
    }

    /// Replace the directory: partners no longer in it are refused at their next handshake, and their current
    /// connections are closed; new partners with an endpoint are dialled.
    pub fn set_directory(&mut self, directory: Directory) {
        self.inner
            .admitted
            .replace(directory.partners.iter().map(|p| p.id.clone()));
        let still: Vec<PartnerId> = directory
            .partners
            .iter()
            .filter_map(|p| partner_of(&p.id))
            .collect();
        for (peer, conn) in self.inner.connected.read().expect("connected lock").iter() {
            if !still.contains(peer) {
                conn.close("removed from the federation directory");
            }
        }
        self.inner.node.set_corporaties(corporaties(&directory));
        *self.inner.directory.write().expect("directory lock") = directory;
        self.dial_new();
    }

    /// Stop: close connections, end every task.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        self.inner.endpoint.close();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// How often stored policy versions are checked for one whose date has come.
pub const ADOPT_EVERY: Duration = Duration::from_millis(500);

/// Put stored policy versions in force when their date comes; then let every session re-plan every case (a
/// narrowed policy rotates projections).
async fn adopt_loop(inner: Arc<Inner>) {
    let mut shutdown = inner.shutdown.clone();
    let mut tick = tokio::time::interval(ADOPT_EVERY);
    let mut adopter = crate::distribution::Adopter::new(&inner.node);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => break,
        }
        match adopter.adopt_due(&inner.node).await {
            Ok(Some(version)) => {
                tracing::info!(version = %version, "new policy version in force; re-planning every case");
                if let Ok(cases) = inner.node.store().list_cases().await {
                    for c in cases {
                        inner.node.notify_changed(&c.id);
                    }
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "a stored policy version could not be put in force")
            }
        }
    }
}

async fn accept_loop(inner: Arc<Inner>) {
    let mut shutdown = inner.shutdown.clone();
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            incoming = inner.endpoint.accept() => match incoming {
                None => break,
                Some(Ok(conn)) => {
                    sessions.spawn(session::run(inner.clone(), conn));
                }
                Some(Err(e)) => {
                    inner.stats.refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!(error = %e, "refused a connection at the handshake");
                }
            },
            _ = shutdown.changed() => break,
        }
    }
    sessions.shutdown().await;
}

async fn dial_loop(inner: Arc<Inner>, peer: PartnerId, addr: SocketAddr) {
    let mut shutdown = inner.shutdown.clone();
    let mut backoff = MIN_BACKOFF;
    let peer_id: PeerId = peer.to_string().parse().expect("partner ids are peer ids");
    loop {
        if *shutdown.borrow() {
            break;
        }
        // The peer may have moved: take its address from the directory as it is now.
        let addr = inner
            .directory
            .read()
            .expect("directory lock")
            .partners
            .iter()
            .find(|e| e.id == peer_id)
            .and_then(|e| e.endpoint.as_deref()?.parse().ok())
            .unwrap_or(addr);
        match tokio::time::timeout(DIAL_TIMEOUT, inner.endpoint.connect(addr, &peer_id)).await {
            Ok(Ok(conn)) => {
                backoff = MIN_BACKOFF;
                session::run(inner.clone(), conn).await;
            }
            Ok(Err(e)) => {
                tracing::debug!(peer = %peer, error = %e, "dial failed; retrying");
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Err(_) => {
                tracing::debug!(peer = %peer, %addr, "dial timed out; retrying");
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => break,
        }
    }
}

// --- Metrics: a read-only view of a running federation, for `crate::metrics` (GET /metrics).

/// A read-only handle on a running federation for the metrics endpoint. It keeps nothing alive: once the
/// federation has shut down, [`Probe::read`] answers `None`.
#[derive(Debug, Clone)]
pub struct Probe(std::sync::Weak<Inner>);

/// What a [`Probe`] reads at one moment.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    /// Every partner in the directory but this node (and any connected peer not in it), in id order.
    pub peers: Vec<PeerReading>,
    /// The counters of [`Stats`], as they are now.
    pub sent: u64,
    /// Sync messages received and accepted.
    pub accepted: u64,
    /// Messages refused (security events).
    pub refused: u64,
    /// Bytes of sync payload sent.
    pub bytes_sent: u64,
}

/// One peer, as a [`Probe`] reads it.
#[derive(Debug, Clone)]
pub struct PeerReading {
    /// The peer.
    pub peer: PartnerId,
    /// Whether a connection to it is up now.
    pub connected: bool,
    /// How long ago its last message arrived, if one did since the federation started.
    pub since_last_message: Option<Duration>,
}

impl Probe {
    /// Read connections and counters now; `None` once the federation has shut down.
    pub fn read(&self) -> Option<Reading> {
        use std::sync::atomic::Ordering::Relaxed;
        let inner = self.0.upgrade()?;
        let connected = inner.connected.read().expect("connected lock");
        let last = inner.last_received.read().expect("last_received lock");
        let mut peers: std::collections::BTreeSet<PartnerId> = inner
            .directory
            .read()
            .expect("directory lock")
            .partners
            .iter()
            .filter_map(|e| partner_of(&e.id))
            .collect();
        peers.extend(connected.keys().cloned());
        peers.remove(&inner.me);
        let now = std::time::Instant::now();
        Some(Reading {
            peers: peers
                .into_iter()
                .map(|peer| PeerReading {
                    connected: connected.contains_key(&peer),
                    since_last_message: last.get(&peer).map(|t| now.saturating_duration_since(*t)),
                    peer,
                })
                .collect(),
            sent: inner.stats.sent.load(Relaxed),
            accepted: inner.stats.accepted.load(Relaxed),
            refused: inner.stats.refused.load(Relaxed),
            bytes_sent: inner.stats.bytes_sent.load(Relaxed),
        })
    }
}
