//! The one in-process harness: a live federation of real [`Node`]s, each with its own data directory and SQLite
//! database, a certificate from a federation CA made in memory, a QUIC endpoint on 127.0.0.1 with a port the
//! operating system chooses — optionally over a fault-injecting socket ([`protocol::faulty`]) — and, if asked, its
//! local API. `weerthuis demo`, the end-to-end tests (`tests/`) and the simulator's fault, cross-check and oracle
//! runs all start their federations here (it lives in `node` because the demo is the node's command and `node`
//! cannot depend on the simulator).
//!
//! Nodes can be stopped and started (the federation side only), or crashed: the federation's tasks are aborted
//! where they are and the [`Node`] dropped, then reopened from its directory as a restarted process would be.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::service::{FormView, Node, ServiceError};
use crate::store::{CaseId, User};
use crate::sync::plan::Plan;
use crate::sync::{Federation, FederationConfig};
use policies::{DocumentKind, PartnerId, Role};
use protocol::faulty::FaultHandle;
use protocol::pki::CertifiedKey;
use protocol::{Admitted, Directory, DirectoryEntry, FederationCa, PeerId, TlsSetup};
use serde_json::Value;
use time::{Duration as TimeDuration, OffsetDateTime};

/// Makes the fault handle for a node's socket each time its federation side starts: (partner, incarnation) →
/// handle, or `None` for a faultless socket.
pub type FaultFactory = Box<dyn Fn(&PartnerId, u32) -> Option<FaultHandle> + Send + Sync>;

/// A node's data directory: a temporary one (removed with the node), or one under [`LiveOptions::root`] (kept).
pub struct NodeDir {
    path: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl NodeDir {
    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A node's local API, served while the harness runs (with [`LiveOptions::api`]).
pub struct ApiServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// One node of a [`LiveNet`].
pub struct LiveNode {
    /// Its partner id.
    pub id: PartnerId,
    /// The node; `None` while crashed.
    pub node: Option<Arc<Node>>,
    /// Its federation side; `None` while stopped or crashed.
    pub fed: Option<Federation>,
    /// The fault handle of its current socket, if faults are injected.
    pub faults: Option<FaultHandle>,
    /// Its data directory (SQLite database, write-ahead log, config).
    pub dir: NodeDir,
    /// A user for writes.
    pub user: User,
    /// That user's bearer token for the local API.
    pub token: String,
    /// Its local API, if started.
    pub api: Option<ApiServer>,
    /// Its certificate and key.
    pub cert: CertifiedKey,
    /// Where its federation side last listened: a restart binds there again, as a restarted node keeps its
    /// configured port (and peers dialling the old address find it).
    pub last_addr: Option<SocketAddr>,
    /// How often its federation side has been started.
    pub incarnation: u32,
}

impl LiveNode {
    /// The running node. Panics while it is crashed.
    pub fn node(&self) -> &Arc<Node> {
        self.node.as_ref().expect("the node is running")
    }

    /// Its data directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Where its local API listens, if started.
    pub fn api_addr(&self) -> Option<SocketAddr> {
        self.api.as_ref().map(|a| a.addr)
    }
}

/// A federation of live nodes.
pub struct LiveNet {
    /// The federation CA.
    pub ca: FederationCa,
    /// The nodes, by partner id.
    pub nodes: BTreeMap<String, LiveNode>,
    /// The directory as last published.
    pub directory: Directory,
    options: LiveOptions,
}

/// How a [`LiveNet`] is run.
#[derive(Default)]
pub struct LiveOptions {
    /// Makes each federation side's fault handle; `None`: quinn's own sockets.
    pub faults: Option<FaultFactory>,
    /// The nodes' clock (dates a node writes itself, e.g. in an assignment); `None`: the system clock.
    pub clock: Option<crate::store::Clock>,
    /// The policy every node runs (TOML text, written to each data directory and named in its configuration);
    /// `None`: the shipped covenant policy.
    pub policy: Option<String>,
    /// Where the nodes' data directories go (one per node, named after its id, kept), with the CA's certificate
    /// and key in `ca/` and each node's in its directory, as `weerthuis ca` and `init` lay them out; `None`: a
    /// temporary directory per node, removed with it.
    pub root: Option<PathBuf>,
    /// Also serve every node's local API (with `GET /metrics`) on 127.0.0.1, a port the system chooses.
    pub api: bool,
    /// The federation CA's name; `None`: `simulatie-federatie`.
    pub ca_name: Option<String>,
    /// Each node's database URL, by partner id (a PostgreSQL database per node, or for some, for the benchmarks);
    /// `None` — for all, or from the function for one — the embedded SQLite file in its data directory.
    pub database: Option<DatabaseFor>,
    /// How long a connection dialled on demand may be idle ([`crate::sync::FederationConfig::idle_close`]);
    /// `None`: [`crate::sync::IDLE_CLOSE`].
    pub idle_close: Option<std::time::Duration>,
}

/// A node's database URL from its partner id ([`LiveOptions::database`]).
pub type DatabaseFor = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Starting or running a live federation failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LiveError(String);

impl LiveError {
    /// An error in words.
    pub fn from_message(e: impl std::fmt::Display) -> LiveError {
        LiveError(e.to_string())
    }
}

fn err(what: &str, e: impl std::fmt::Display) -> LiveError {
    LiveError(format!("{what}: {e}"))
}

/// Write a secret file readable by its owner only.
fn write_private(path: &Path, text: &str) -> Result<(), LiveError> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| err(&path.display().to_string(), e))
}

fn write_public(path: &Path, text: &str) -> Result<(), LiveError> {
    std::fs::write(path, text).map_err(|e| err(&path.display().to_string(), e))
}

/// The vaste contactpersonen (Afspraak 3g) a harness directory lists for partner `p`: two made-up names, so a
/// melding can be presented to the Transferpunt (only they may, `crate::meldingen`).
pub fn vaste_contactpersonen(p: &str) -> Vec<protocol::pki::Contact> {
    (1..=2)
        .map(|i| protocol::pki::Contact {
            naam: vaste_contactpersoon(p, i),
            email: format!("contact{i}@{}.example", p.replace(':', "-")),
            telefoon: None,
        })
        .collect()
}

/// The name of the `i`th (1 or 2) vaste contactpersoon of `p` in a harness directory.
pub fn vaste_contactpersoon(p: &str, i: u8) -> String {
    format!("Contactpersoon {i} van {p}")
}

impl LiveNet {
    /// Start these partners (`role:code`), all connected, without faults.
    pub async fn start(partners: &[&str]) -> Result<LiveNet, LiveError> {
        Self::start_with(partners, LiveOptions::default()).await
    }

    /// Start these partners with these options.
    pub async fn start_with(partners: &[&str], options: LiveOptions) -> Result<LiveNet, LiveError> {
        let ca = FederationCa::create(
            options.ca_name.as_deref().unwrap_or("simulatie-federatie"),
            now() - TimeDuration::days(1),
            now() + TimeDuration::days(30),
        )
        .map_err(|e| err("federation CA", e))?;
        if let Some(root) = &options.root {
            let dir = root.join("ca");
            std::fs::create_dir_all(&dir).map_err(|e| err("ca directory", e))?;
            write_public(&dir.join(crate::cli::pki::CA_CERT), ca.cert_pem())?;
            write_private(&dir.join(crate::cli::pki::CA_KEY), &ca.key_pem())?;
        }
        let mut partners_in = Vec::new();
        for p in partners {
            partners_in.push(DirectoryEntry {
                id: p.parse().map_err(|e| err(p, e))?,
                name: p.to_string(),
                endpoint: None,
                contacts: vaste_contactpersonen(p),
                // Every corporatie works in both gemeenten of the scenarios.
                werkgebied: if p.starts_with("corporatie:") {
                    vec!["GM0080".into(), "GM0074".into()]
                } else {
                    vec![]
                },
                bereikbaar: None,
                telefoon_24_uur: None,
            });
        }
        let mut net = LiveNet {
            ca,
            nodes: BTreeMap::new(),
            directory: Directory {
                version: 1,
                partners: partners_in,
                revoked: vec![],
            },
            options,
        };
        for p in partners {
            net.add_node(p).await?;
        }
        net.publish_endpoints();
        Ok(net)
    }

    async fn add_node(&mut self, p: &str) -> Result<(), LiveError> {
        let id: PartnerId = p.parse().map_err(|e| err(p, e))?;
        let dir = match &self.options.root {
            Some(root) => {
                let path = root.join(p.replace(':', "-"));
                std::fs::create_dir_all(&path).map_err(|e| err("data directory", e))?;
                NodeDir { path, _temp: None }
            }
            None => {
                let temp = tempfile::tempdir().map_err(|e| err("temp dir", e))?;
                NodeDir {
                    path: temp.path().to_path_buf(),
                    _temp: Some(temp),
                }
            }
        };
        let database = self
            .options
            .database
            .as_ref()
            .and_then(|url_for| url_for(p));
        let mut cfg = crate::app::init(dir.path(), id.clone(), database)
            .await
            .map_err(|e| err("init", e))?;
        if let Some(text) = &self.options.policy {
            let path = dir.path().join("policy.toml");
            std::fs::write(&path, text).map_err(|e| err("policy", e))?;
            cfg.policy = Some(path);
            std::fs::write(dir.path().join(crate::config::CONFIG_FILE), cfg.to_toml())
                .map_err(|e| err("config", e))?;
        }
        let node = self.open(dir.path()).await?;
        let new_user = node
            .store()
            .create_user("simulatie", "simulatie: het scenario en de API")
            .await
            .map_err(|e| err("user", e))?;
        let cert = self
            .ca
            .issue(
                &p.parse::<PeerId>().map_err(|e| err(p, e))?,
                now() - TimeDuration::days(1),
                now() + TimeDuration::days(30),
            )
            .map_err(|e| err("certificate", e))?;
        if self.options.root.is_some() {
            write_public(&dir.path().join(crate::cli::pki::NODE_CERT), &cert.cert_pem)?;
            write_private(&dir.path().join(crate::cli::pki::NODE_KEY), &cert.key_pem)?;
        }
        let api = None;
        self.nodes.insert(
            p.to_string(),
            LiveNode {
                id,
                node: Some(node),
                fed: None,
                faults: None,
                dir,
                user: new_user.user,
                token: new_user.token,
                api,
                cert,
                last_addr: None,
                incarnation: 0,
            },
        );
        self.start_federation(p)?;
        if self.options.api {
            let api = self.serve_api(p).await?;
            self.nodes.get_mut(p).expect("node").api = Some(api);
        }
        Ok(())
    }

    /// Serve a node's local API with its federation's metrics.
    async fn serve_api(&self, id: &str) -> Result<ApiServer, LiveError> {
        let n = self.get(id);
        let metrics = Arc::new(crate::metrics::Registry::new());
        if let Some(f) = &n.fed {
            metrics.attach_federation(f.probe());
        }
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|e| err("api", e))?;
        let addr = listener.local_addr().map_err(|e| err("api", e))?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(crate::app::serve_with_metrics(
            listener,
            n.node().clone(),
            crate::config::DEFAULT_MAX_BODY_BYTES,
            metrics,
            async {
                let _ = stopped.await;
            },
        ));
        Ok(ApiServer {
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// How many of the pairs that stay connected — a Transferpunt and any other node (`sync::reach`) — are
    /// connected, and how many such pairs there are. Other pairs connect while a case names them.
    pub fn connections(&self) -> (usize, usize) {
        let ids: Vec<PartnerId> = self.nodes.keys().filter_map(|k| k.parse().ok()).collect();
        let stays = |a: &PartnerId, b: &PartnerId| {
            a != b && (a.role() == Role::Transferpunt || b.role() == Role::Transferpunt)
        };
        let mut up = 0;
        let mut all = 0;
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                if !stays(a, b) {
                    continue;
                }
                all += 1;
                let linked = |x: &PartnerId, y: &PartnerId| {
                    self.nodes[&x.to_string()]
                        .fed
                        .as_ref()
                        .is_some_and(|f| f.connected().contains(y))
                };
                if linked(a, b) && linked(b, a) {
                    up += 1;
                }
            }
        }
        (up, all)
    }

    /// Stop every node gracefully: every federation side first (closing connections), then every API (which
    /// closes its database).
    pub async fn shutdown(&mut self) {
        for n in self.nodes.values_mut() {
            if let Some(f) = n.fed.take() {
                f.shutdown().await;
            }
        }
        for n in self.nodes.values_mut() {
            let Some(api) = n.api.as_mut() else { continue };
            if let Some(stop) = api.stop.take() {
                let _ = stop.send(());
            }
            if let Some(task) = api.task.take() {
                match task.await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(node = %n.id, error = %e, "API stopped with an error")
                    }
                    Err(e) => tracing::warn!(node = %n.id, error = %e, "API task failed"),
                }
            }
        }
    }

    fn start_federation(&mut self, id: &str) -> Result<(), LiveError> {
        let faults = {
            let n = &self.nodes[id];
            self.options
                .faults
                .as_ref()
                .and_then(|f| f(&n.id, n.incarnation))
        };
        let n = &self.nodes[id];
        n.node().set_signing_key(n.cert.key_pem.clone());
        let tls = TlsSetup::from_pem(
            &n.cert.cert_pem,
            &n.cert.key_pem,
            self.ca.cert_pem(),
            Admitted::default(),
        )
        .map_err(|e| err("tls", e))?;
        let start = |listen: SocketAddr| {
            Federation::start(
                n.node().clone(),
                FederationConfig {
                    listen,
                    tls: tls.clone(),
                    directory: self.directory.clone(),
                    signed_directory: None,
                    faults: faults.clone(),
                    idle_close: self.options.idle_close.unwrap_or(crate::sync::IDLE_CLOSE),
                },
            )
        };
        let any: SocketAddr = ([127, 0, 0, 1], 0).into();
        // The old port if it is still free; another one (published below) if not.
        let fed = match n.last_addr {
            Some(addr) => start(addr).or_else(|e| {
                tracing::debug!(error = %e, node = id, "old port taken; listening on another");
                start(any)
            }),
            None => start(any),
        }
        .map_err(|e| err("federation", e))?;
        let addr = fed.local_addr().map_err(|e| err("address", e))?;
        let n = self.nodes.get_mut(id).expect("node");
        n.fed = Some(fed);
        n.faults = faults;
        n.last_addr = Some(addr);
        n.incarnation += 1;
        Ok(())
    }

    /// Put every running node's current address in the directory and hand it to every running node.
    pub fn publish_endpoints(&mut self) {
        for e in &mut self.directory.partners {
            let addr = self
                .nodes
                .get(e.id.as_str())
                .and_then(|n| n.fed.as_ref())
                .and_then(|f| f.local_addr().ok())
                .map(|a| a.to_string());
            // A stopped node keeps its last address: peers keep trying it, and it comes back there.
            if addr.is_some() {
                e.endpoint = addr;
            }
        }
        self.directory.version += 1;
        for n in self.nodes.values_mut() {
            if let Some(f) = n.fed.as_mut() {
                f.set_directory(self.directory.clone());
            }
        }
    }

    /// A new partner joins: its node is made and started with the directory as it is here plus its own entry
    /// (address filled in), and that directory is kept as [`LiveNet::directory`] — but handed to no other node.
    /// The others learn of it from a signed directory (a test signs [`LiveNet::directory`] with
    /// [`LiveNet::ca`] and installs it at the Transferpunt), as a real federation does.
    pub async fn join(&mut self, p: &str) -> Result<(), LiveError> {
        let peer: PeerId = p.parse().map_err(|e| err(p, e))?;
        if !self.directory.partners.iter().any(|e| e.id == peer) {
            self.directory.partners.push(DirectoryEntry {
                id: peer.clone(),
                name: p.to_string(),
                endpoint: None,
                contacts: vaste_contactpersonen(p),
                werkgebied: if p.starts_with("corporatie:") {
                    vec!["GM0080".into(), "GM0074".into()]
                } else {
                    vec![]
                },
                bereikbaar: None,
                telefoon_24_uur: None,
            });
        }
        self.add_node(p).await?;
        let addr = self.nodes[p].last_addr.map(|a| a.to_string());
        if let Some(e) = self.directory.partners.iter_mut().find(|e| e.id == peer) {
            e.endpoint = addr;
        }
        Ok(())
    }

    /// The CA renews a node's certificate (same partner id, a new key) and the node's federation side starts
    /// again with it, on its old port if free (published, as [`LiveNet::restart`] does).
    pub async fn renew_certificate(&mut self, id: &str) -> Result<(), LiveError> {
        self.stop(id).await;
        let old = protocol::pki::certs_from_pem(&self.nodes[id].cert.cert_pem)
            .map_err(|e| err("certificate", e))?
            .remove(0);
        let (_, cert) = self
            .ca
            .renew(
                &old,
                now(),
                now() - TimeDuration::days(1),
                now() + TimeDuration::days(30),
            )
            .map_err(|e| err("renewal", e))?;
        self.nodes.get_mut(id).expect("node").cert = cert;
        self.restart(id)
    }

    /// A node.
    pub fn get(&self, id: &str) -> &LiveNode {
        &self.nodes[id]
    }

    /// The partner ids, in order.
    pub fn ids(&self) -> Vec<String> {
        self.nodes.keys().cloned().collect()
    }

    /// Create a case at a node.
    pub async fn new_case(&self, at: &str) -> Result<CaseId, ServiceError> {
        let c = self.get(at).node().create_case().await?;
        Ok(c.id.parse().expect("a node's case ids parse"))
    }

    /// Write a form (by value or by reference) at a node, as its user.
    pub async fn write(
        &self,
        at: &str,
        case: &CaseId,
        kind: DocumentKind,
        instance: Option<&str>,
        form: impl Borrow<Value>,
    ) -> Result<FormView, ServiceError> {
        let n = self.get(at);
        n.node()
            .write_form(&n.user, case, kind, instance, form.borrow())
            .await
    }

    /// Stop a node's federation side (its connections close), keeping the node and its data.
    pub async fn stop(&mut self, id: &str) {
        let n = self.nodes.get_mut(id).expect("node");
        if let Some(f) = n.fed.take() {
            f.shutdown().await;
        }
    }

    /// Start a stopped node's federation side again (on its old port if free) and publish it.
    pub fn restart(&mut self, id: &str) -> Result<(), LiveError> {
        self.start_federation(id)?;
        self.publish_endpoints();
        Ok(())
    }

    /// Start a stopped node's federation side again on a port other than its last, and publish it: a node that
    /// moved, which peers find only through the new directory (the old port is held while binding, so the
    /// operating system cannot hand it out again).
    pub fn restart_elsewhere(&mut self, id: &str) -> Result<(), LiveError> {
        let old = self.nodes.get_mut(id).expect("node").last_addr.take();
        let _held = old.and_then(|addr| std::net::UdpSocket::bind(addr).ok());
        self.restart(id)
    }

    /// Crash a node: its federation tasks are aborted wherever they are (an unfinished database transaction is
    /// rolled back, as after a process kill), and the node itself is dropped. In one process the operating
    /// system's part of a crash cannot be had: quinn closes the dropped connections, so peers learn of it at once
    /// rather than after the idle timeout.
    pub fn crash(&mut self, id: &str) {
        let n = self.nodes.get_mut(id).expect("node");
        // Dropping a `Federation` without `shutdown` aborts its tasks.
        drop(n.fed.take());
        drop(n.node.take());
        n.faults = None;
    }

    /// Reopen a crashed node from its data directory and start its federation side.
    pub async fn recover(&mut self, id: &str) -> Result<(), LiveError> {
        // The aborted tasks let go of the node's database asynchronously; give them a moment.
        tokio::task::yield_now().await;
        let node = self.open(self.get(id).path()).await?;
        self.nodes.get_mut(id).expect("node").node = Some(node);
        self.restart(id)
    }

    async fn open(&self, dir: &Path) -> Result<Arc<Node>, LiveError> {
        let opened = match &self.options.clock {
            Some(clock) => crate::app::open_with_clock(dir, clock.clone()).await,
            None => crate::app::open(dir).await,
        };
        opened.map(|(_, n)| n).map_err(|e| err("open", e))
    }

    /// Whether a node is running (not crashed).
    pub fn is_up(&self, id: &str) -> bool {
        self.get(id).node.is_some()
    }

    /// The case documents a node holds of a case (its own and those received whole), as JSON by section.
    pub async fn documents(&self, at: &str, case: &CaseId) -> BTreeMap<String, Value> {
        let n = self.get(at);
        let node = n.node();
        let mut out = BTreeMap::new();
        let Ok(metas) = node.store().list_documents(case).await else {
            return out;
        };
        for meta in metas {
            if let Ok(Some(stored)) = node.store().load_document(&meta.key).await
                && let Ok(am) = stored.to_automerge(&n.id)
                && let Ok(json) = crate::doc::read_json(&am)
            {
                out.insert(
                    crate::projection::section_name(meta.key.kind, &meta.key.instance),
                    json,
                );
            }
        }
        out
    }

    /// What a node holds of a case: every form (own, received whole, projected), as JSON per section.
    pub async fn holds(&self, at: &str, case: &CaseId) -> BTreeMap<String, Value> {
        let mut out = self.documents(at, case).await;
        let node = self.get(at).node();
        if let Ok(loaded) = node.load_case(case).await {
            for (section, form) in &loaded.projected_sections {
                out.entry(section.clone()).or_insert_with(|| form.to_json());
            }
        }
        out
    }

    /// Every refusal (a security event) `at` recorded, in words: the peer, the case, the document and the reason.
    /// Honest nodes never refuse each other, so in a federation of honest nodes this is empty.
    pub async fn refusals(&self, at: &str) -> Vec<String> {
        let store = self.get(at).node().store();
        let mut out = Vec::new();
        let mut after = 0;
        while let Ok(page) = store.audit_records(after, 500).await {
            let Some(last) = page.last() else { break };
            after = last.seq;
            for entry in page.iter().filter_map(|r| r.parse().ok()) {
                let e = entry.entry;
                if e.name == crate::audit::Operation::Refusal {
                    out.push(format!(
                        "{at} refused {} (case {}, {}): {}",
                        e.peer.as_deref().unwrap_or("?"),
                        e.case_id.as_deref().unwrap_or("-"),
                        e.document.as_deref().unwrap_or("-"),
                        e.processing_activity_id
                    ));
                }
            }
        }
        out
    }

    /// What `sender`'s plan for `receiver` is for a case now: the plan the sender's session makes.
    pub async fn plan(&self, sender: &str, receiver: &str, case: &CaseId) -> Option<Plan> {
        let peer: PartnerId = receiver.parse().ok()?;
        crate::sync::plan::plan_for(self.get(sender).node(), &peer, case).await
    }

    /// Where `sender`'s plan for `receiver` and what `receiver` holds from `sender` differ for a case, in words;
    /// empty when the receiver holds exactly what the plan says: every document shared whole equal at both ends,
    /// one live projection from the sender equal to the planned one (none when the plan has none), and any
    /// projection the sender withdrew reduced to its facts (`_meta`). A sender that does not know the case plans
    /// nothing for it (its sessions reconcile only the cases it has).
    pub async fn plan_differences(
        &self,
        sender: &str,
        receiver: &str,
        case: &CaseId,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let knows = self
            .get(sender)
            .node()
            .store()
            .list_cases()
            .await
            .map(|cases| cases.iter().any(|c| &c.id == case))
            .unwrap_or(false);
        if !knows {
            return out;
        }
        let Some(plan) = self.plan(sender, receiver, case).await else {
            return out;
        };
        let theirs = self.documents(receiver, case).await;
        let ours = self.documents(sender, case).await;
        for k in &plan.full {
            let section = crate::projection::section_name(k.kind, &k.instance);
            if theirs.get(&section) != ours.get(&section) {
                let absent = Value::Object(serde_json::Map::new());
                out.push(format!(
                    "{section} (whole) differs: {}",
                    json_difference(
                        theirs.get(&section).unwrap_or(&absent),
                        ours.get(&section).unwrap_or(&absent)
                    )
                ));
            }
        }
        let rnode = self.get(receiver).node();
        let read = |snapshot: &[u8]| {
            crate::doc::load(snapshot, [])
                .ok()
                .and_then(|am| crate::doc::read_json(&am).ok())
        };
        let (retired, live): (Vec<_>, Vec<_>) = rnode
            .store()
            .projections_of_case(case)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p.sender == sender && p.receiver == receiver)
            .partition(|p| p.retired);
        for p in &retired {
            let data = match read(&p.snapshot) {
                Some(Value::Object(m)) => m.keys().any(|k| k != crate::projection::META),
                _ => false,
            };
            if data {
                out.push(format!(
                    "withdrawn projection generation {} still holds data",
                    p.generation
                ));
            }
        }
        let planned = Value::Object(plan.projection.clone());
        match (plan.projection.is_empty(), live.as_slice()) {
            (true, []) => {}
            (true, held) => out.push(format!(
                "holds {} live projection(s) the plan no longer has",
                held.len()
            )),
            (false, [p]) => {
                let held = read(&p.snapshot).unwrap_or(Value::Null);
                if held != planned {
                    out.push(format!(
                        "projection generation {} differs from the plan: {}",
                        p.generation,
                        json_difference(&held, &planned)
                    ));
                }
            }
            (false, []) => out.push("holds no live projection".into()),
            (false, held) => out.push(format!(
                "holds {} live projections (generations {:?}); one expected",
                held.len(),
                held.iter().map(|p| p.generation).collect::<Vec<_>>()
            )),
        }
        out
    }
}

/// Where two JSON objects differ, section by section: `section: held → planned`.
fn json_difference(held: &Value, planned: &Value) -> String {
    let empty = serde_json::Map::new();
    let h = held.as_object().unwrap_or(&empty);
    let p = planned.as_object().unwrap_or(&empty);
    let keys: std::collections::BTreeSet<&String> = h.keys().chain(p.keys()).collect();
    keys.into_iter()
        .filter(|k| h.get(*k) != p.get(*k))
        .map(|k| {
            let show = |v: Option<&Value>| v.map_or("(none)".to_string(), |v| v.to_string());
            format!("{k}: {} → {}", show(h.get(k)), show(p.get(k)))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Every file of a data directory with its bytes (database, write-ahead log, config), in name order.
pub fn files_of(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file()
                && let Ok(bytes) = std::fs::read(&path)
            {
                out.push((path, bytes));
            }
        }
    }
    out.sort();
    out
}

/// Whether `needle` occurs as raw bytes in any file of a data directory.
pub fn files_contain(dir: &Path, needle: &str) -> bool {
    let needle = needle.as_bytes();
    !needle.is_empty()
        && files_of(dir)
            .iter()
            .any(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle))
}

/// Wait until `check` holds, polling every 50 ms; `false` if it still does not after `limit`.
pub async fn eventually<F, Fut>(limit: Duration, check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    poll(limit, Duration::from_millis(50), check).await
}

/// Wait until `check` holds, polling every 25 ms; panics with `what` after `limit`. Sync is eventual: tests wait
/// for the state they expect, with a generous bound, rather than for a fixed time.
pub async fn wait_until<F, Fut>(what: &str, limit: Duration, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    // The end-to-end tests' pace: some check a state that lasts only until a node's next redial.
    if !poll(limit, Duration::from_millis(25), check).await {
        panic!("timed out waiting until {what}");
    }
}

async fn poll<F, Fut>(limit: Duration, every: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(every).await;
    }
}
