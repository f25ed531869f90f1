//! The federation: policy-filtered Automerge sync with the other partners' nodes, over QUIC with mutual TLS.
//!
//! One connection per pair of nodes that exchange data: a pair with a Transferpunt stays connected (the node with
//! the smaller partner id dials, with backoff), any other pair connects when a case names it and closes when idle
//! ([`reach`]). One session task per connection. On every (re)connect a session reconciles — every case, or after
//! a clean session with the peer only the cases changed since and those exchanged with it (change marks, see
//! `session::Session::reconcile_at_start`); afterwards it pushes the cases whose documents change. What it shares comes from [`plan`]; what it accepts is decided by the pure receive core
//! ([`receive`], with the rules in [`accept`]), which checks every op of a message on a fork before anything is
//! stored; the tokio session only loads, stores and sends what the core says.
//!
//! **Architecture invariant:** nothing leaves this node that [`plan::plan`] did not put in a full-document share or
//! a projection for that peer, and nothing is stored that did not pass the checks in [`receive`].

pub mod accept;
mod lifecycle;
pub mod plan;
mod reach;
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
use tracing::Instrument as _;

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
    /// The same directory as the federation CA signed it, to pass on (the Transferpunt) and to compare with what
    /// arrives; `None` for a directory a test hands the node directly.
    pub signed_directory: Option<protocol::SignedDirectory>,
    /// Faults to inject into the node's UDP socket (the simulator only); `None` in production: quinn's own socket.
    pub faults: Option<protocol::faulty::FaultHandle>,
    /// How long a connection dialled on demand (a pair without a Transferpunt, see `reach`) may be idle before
    /// the dialling side closes it.
    pub idle_close: Duration,
}

/// The default for [`FederationConfig::idle_close`]: long enough that a begeleider's next edit of the afternoon
/// finds the connection open, short enough that a large partner does not keep hundreds open for nothing.
pub const IDLE_CLOSE: Duration = Duration::from_secs(300);

/// Counters for monitoring.
#[derive(Debug, Default)]
pub struct Stats {
    /// Messages refused (security events).
    pub refused: std::sync::atomic::AtomicU64,
    /// Sync messages sent.
    pub sent: std::sync::atomic::AtomicU64,
    /// Sync messages received and accepted.
    pub accepted: std::sync::atomic::AtomicU64,
    /// Bytes of sync payload sent (Automerge sync messages, before framing, batching and QUIC).
    pub bytes_sent: std::sync::atomic::AtomicU64,
    /// Bytes sent in UDP datagrams (QUIC and TLS included), counted at every retry tick and when a connection ends.
    pub wire_bytes_sent: std::sync::atomic::AtomicU64,
    /// Cases reconciled when a session began, over all sessions: every case at a first meeting, the changed and
    /// the exchanged ones after a clean session (`Session::reconcile_at_start`).
    pub reconciled_at_start: std::sync::atomic::AtomicU64,
    /// Sessions that finished the reconcile they begin with.
    pub sessions_reconciled: std::sync::atomic::AtomicU64,
}

pub(crate) struct Inner {
    node: Arc<Node>,
    me: PartnerId,
    endpoint: Endpoint,
    directory: RwLock<Directory>,
    /// The signed form of the directory in force, if it came signed.
    signed_directory: RwLock<Option<protocol::SignedDirectory>>,
    /// The federation CA's certificate, PEM: what a directory that arrives is verified against.
    ca_pem: String,
    /// Bumped whenever a directory is applied: sessions check their peer again, the dialler dials anew.
    directory_changed: watch::Sender<u64>,
    /// Set once this node applied a directory that does not list it: it left the federation.
    removed: std::sync::atomic::AtomicBool,
    /// When this node's own certificate expires (for the warning and `/metrics`).
    own_not_after: Option<time::OffsetDateTime>,
    /// When the federation CA's certificate expires.
    ca_not_after: Option<time::OffsetDateTime>,
    admitted: Admitted,
    shutdown: watch::Receiver<bool>,
    connected: RwLock<BTreeMap<PartnerId, protocol::Connection>>,
    stats: Stats,
    /// When a message last arrived from each peer (for metrics: see [`Probe`]).
    last_received: RwLock<BTreeMap<PartnerId, std::time::Instant>>,
    /// See [`FederationConfig::idle_close`].
    idle_close: Duration,
    /// Per connected peer, the change mark up to which its session reconciled everything (see
    /// [`Federation::reconciled_up_to`]).
    marks: RwLock<BTreeMap<PartnerId, u64>>,
    /// Marks moved by running sessions and not stored yet: `keep_marks_loop` stores them together, so a crash
    /// (which ends no session cleanly) does not make every peer's next session reconcile every case.
    unkept_marks: std::sync::Mutex<BTreeMap<String, (u64, String)>>,
    /// Which partners each case names, shared by the sessions (see [`reach::Named`]).
    named: reach::Named,
    /// The policy versions and revocations to pass on, as last read, and when (see [`Inner::artefacts`]).
    artefacts:
        tokio::sync::Mutex<Option<(std::time::Instant, Arc<Vec<crate::distribution::Artefact>>)>>,
}

/// How long the artefacts read for one session's retry tick serve the others.
const ARTEFACTS_FRESH: Duration = Duration::from_millis(500);

impl Inner {
    /// The policy versions and revocations this node passes on (`distribution::artefacts`), read at most once per
    /// [`ARTEFACTS_FRESH`] for all sessions together: every session looks at each retry tick, and a national
    /// Transferpunt's 2,600 sessions each reading every stored policy body twice a second would be its largest
    /// idle cost. `None` when they cannot be read.
    async fn artefacts(&self) -> Option<Arc<Vec<crate::distribution::Artefact>>> {
        let mut held = self.artefacts.lock().await;
        if let Some((read_at, artefacts)) = held.as_ref()
            && read_at.elapsed() < ARTEFACTS_FRESH
        {
            return Some(artefacts.clone());
        }
        let artefacts = Arc::new(crate::distribution::artefacts(&self.node).await.ok()?);
        *held = Some((std::time::Instant::now(), artefacts.clone()));
        Some(artefacts)
    }
}

/// The running federation side of a node.
pub struct Federation {
    inner: Arc<Inner>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
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
        let (stop, shutdown) = watch::channel(false);
        let ca_not_after = protocol::pki::certs_from_pem(&cfg.tls.ca_pem)
            .ok()
            .and_then(|c| protocol::pki::not_after(c.first()?).ok());
        let inner = Arc::new(Inner {
            me: node.partner().clone(),
            node,
            endpoint,
            directory: RwLock::new(Directory {
                version: 0,
                partners: Vec::new(),
                revoked: Vec::new(),
            }),
            signed_directory: RwLock::new(None),
            ca_pem: cfg.tls.ca_pem.clone(),
            directory_changed: watch::channel(0).0,
            removed: std::sync::atomic::AtomicBool::new(false),
            own_not_after: cfg
                .tls
                .chain
                .first()
                .and_then(|c| protocol::pki::not_after(c).ok()),
            ca_not_after,
            admitted: cfg.tls.admitted.clone(),
            shutdown,
            connected: RwLock::new(BTreeMap::new()),
            stats: Stats::default(),
            last_received: RwLock::new(BTreeMap::new()),
            idle_close: cfg.idle_close,
            marks: RwLock::new(BTreeMap::new()),
            unkept_marks: Default::default(),
            named: reach::Named::default(),
            artefacts: Default::default(),
        });
        lifecycle::apply(&inner, cfg.directory, cfg.signed_directory);
        // Every line the federation side logs names the partner: several nodes may share one process and one log
        // (`weerthuis host`, the demo). Tasks spawned inside take the span along (`in_current_span`).
        let span = tracing::info_span!("node", partner = %inner.me);
        let mut tasks = JoinSet::new();
        tasks.spawn(accept_loop(inner.clone()).instrument(span.clone()));
        tasks.spawn(adopt_loop(inner.clone()).instrument(span.clone()));
        tasks.spawn(keep_marks_loop(inner.clone()).instrument(span.clone()));
        tasks.spawn(lifecycle::directory_loop(inner.clone()).instrument(span));
        Ok(Federation { inner, stop, tasks })
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

    /// The change mark (`Store::change_mark`) up to which the session with `peer` brought it up to date, as that
    /// session last moved it; `None` before it first did. A reconnect after the session ends reconciles only what
    /// changed after it and what was exchanged with the peer.
    pub fn reconciled_up_to(&self, peer: &PartnerId) -> Option<u64> {
        self.inner
            .marks
            .read()
            .expect("marks lock")
            .get(peer)
            .copied()
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    /// A read-only handle for the metrics endpoint (see [`Probe`]).
    pub fn probe(&self) -> Probe {
        Probe(Arc::downgrade(&self.inner))
    }

    /// Replace the directory without a signature (a test harness standing in for the operator): partners no
    /// longer in it, and revoked keys, are refused at their next handshake and their current connections closed;
    /// new partners with an endpoint are dialled, moved ones at their new address.
    pub fn set_directory(&mut self, directory: Directory) {
        lifecycle::apply(&self.inner, directory, None);
    }

    /// Verify a directory signed by the federation CA, store it (refused when its version is below one stored,
    /// or another text under a stored version) and apply it now when it is newer than the one in force. Returns
    /// whether it was new here. What `weerthuis directory install` does to a stopped node's store, at once.
    pub async fn install_directory(
        &self,
        signed: &protocol::SignedDirectory,
    ) -> Result<bool, crate::directory::DirectoryError> {
        let dir = crate::directory::verify(signed, &self.inner.ca_pem)?;
        let new = crate::directory::store(self.inner.node.store(), signed, &dir).await?;
        lifecycle::apply_if_newer(&self.inner, dir, signed.clone());
        Ok(new)
    }

    /// The directory in force.
    pub fn directory(&self) -> Directory {
        self.inner.directory.read().expect("directory lock").clone()
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
/// How often the marks running sessions moved are stored (see [`keep_marks_loop`]).
const KEEP_MARKS_EVERY: Duration = Duration::from_secs(10);

/// Store the marks the running sessions moved, all in one transaction, every [`KEEP_MARKS_EVERY`]. A session keeps
/// its mark itself when it ends; a crash ends none, and without this every peer's next session after a restart
/// would reconcile every case — at a national Transferpunt, every case with each of its 2,600 peers (#14). A
/// mark is moved only while its session has everything reconciled, so storing it early is as safe as at the end:
/// what was sent after it and lost in the crash belongs to a case exchanged with the peer, which the next session
/// reconciles whatever its mark.
async fn keep_marks_loop(inner: Arc<Inner>) {
    let mut shutdown = inner.shutdown.clone();
    let mut tick = tokio::time::interval(KEEP_MARKS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => break,
        }
        let marks: Vec<(String, u64, String)> =
            std::mem::take(&mut *inner.unkept_marks.lock().expect("unkept marks lock"))
                .into_iter()
                .map(|(peer, (seq, policy))| (peer, seq, policy))
                .collect();
        if let Err(e) = inner.node.store().put_sync_marks(&marks).await {
            tracing::debug!(error = %e, marks = marks.len(), "marks not kept now; the sessions keep theirs when they end");
        }
    }
}

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
                Some(Ok(conn)) if inner.removed.load(std::sync::atomic::Ordering::Relaxed) => {
                    conn.close("this node is no longer in the federation directory");
                }
                Some(Ok(conn)) => {
                    let inner = inner.clone();
                    sessions.spawn(async move { session::run(inner, conn, None).await; }.in_current_span());
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

/// How a partner is dialled (see [`reach`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dial {
    /// For the federation's life: redialled whenever the connection is lost.
    Permanent,
    /// Until the connection has been idle for [`FederationConfig::idle_close`] (closed by this side), or the
    /// partner connected itself.
    OnDemand,
}

/// Dial a partner until the federation stops, the partner leaves the directory (or this node does), or — dialled
/// on demand — its connection went idle: then the loop ends and returns the partner, so the dialler can dial it
/// again.
async fn dial_loop(inner: Arc<Inner>, peer: PartnerId, addr: SocketAddr, mode: Dial) -> PartnerId {
    let mut shutdown = inner.shutdown.clone();
    let mut directories = inner.directory_changed.subscribe();
    let mut backoff = MIN_BACKOFF;
    let peer_id: PeerId = peer.to_string().parse().expect("partner ids are peer ids");
    loop {
        if *shutdown.borrow() {
            break;
        }
        // The peer may have moved: take its address from the directory as it is now. Gone from it: stop.
        let listed = inner
            .directory
            .read()
            .expect("directory lock")
            .partners
            .iter()
            .find(|e| e.id == peer_id)
            .map(|e| e.endpoint.as_deref().and_then(|a| a.parse().ok()));
        let Some(now_at) = listed else {
            tracing::info!(peer = %peer, "partner no longer in the federation directory: not dialled any more");
            break;
        };
        if inner.removed.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        // Dialled on demand, the partner may have connected itself meanwhile: that connection serves.
        if mode == Dial::OnDemand
            && inner
                .connected
                .read()
                .expect("connected lock")
                .contains_key(&peer)
        {
            break;
        }
        let addr = now_at.unwrap_or(addr);
        match tokio::time::timeout(DIAL_TIMEOUT, inner.endpoint.connect(addr, &peer_id)).await {
            Ok(Ok(conn)) => {
                backoff = MIN_BACKOFF;
                let idle = (mode == Dial::OnDemand).then_some(inner.idle_close);
                if session::run(inner.clone(), conn, idle).await == session::Ended::Idle {
                    break;
                }
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
            // A new directory (the peer moved, or came back): dial at once.
            _ = directories.changed() => backoff = MIN_BACKOFF,
            _ = shutdown.changed() => break,
        }
    }
    peer
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
    /// The version of the federation directory in force.
    pub directory_version: u64,
    /// When certificates this node depends on expire: `("node", …)` its own, `("ca", …)` the federation CA's.
    pub certificates: Vec<CertificateReading>,
}

/// When a certificate expires, as a [`Probe`] reads it.
#[derive(Debug, Clone)]
pub struct CertificateReading {
    /// Which: `node` (this node's own) or `ca` (the federation CA's).
    pub certificate: &'static str,
    /// Its `notAfter`, as a Unix timestamp.
    pub not_after: i64,
    /// Seconds from the reading until then (negative: expired).
    pub expires_in: i64,
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
            directory_version: inner.directory.read().expect("directory lock").version,
            certificates: {
                let now = time::OffsetDateTime::now_utc();
                [("node", inner.own_not_after), ("ca", inner.ca_not_after)]
                    .into_iter()
                    .filter_map(|(certificate, at)| {
                        let at = at?;
                        Some(CertificateReading {
                            certificate,
                            not_after: at.unix_timestamp(),
                            expires_in: (at - now).whole_seconds(),
                        })
                    })
                    .collect()
            },
        })
    }
}
