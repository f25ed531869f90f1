//! Helpers for the end-to-end tests in `tests/tests/`: a whole federation of real nodes — each with its own data
//! directory, SQLite database, certificate from a test federation CA, and QUIC endpoint on 127.0.0.1 with a port
//! chosen by the operating system.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use node::service::{FormView, Node, ServiceError};
use node::store::{CaseId, User};
use node::sync::{Federation, FederationConfig};
use policies::{DocumentKind, PartnerId};
use protocol::pki::CertifiedKey;
use protocol::{Admitted, Directory, DirectoryEntry, FederationCa, PeerId, TlsSetup};
use serde_json::Value;
use time::{Duration as TimeDuration, OffsetDateTime};

/// One running node.
pub struct TestNode {
    /// Its partner id.
    pub id: PartnerId,
    /// The node.
    pub node: Arc<Node>,
    /// Its federation side.
    pub fed: Option<Federation>,
    /// Its data directory (SQLite database, config).
    pub dir: tempfile::TempDir,
    /// A user for writes.
    pub user: User,
    /// Its certificate and key.
    pub cert: CertifiedKey,
}

/// A federation of nodes.
pub struct TestNet {
    /// The federation CA.
    pub ca: FederationCa,
    /// The nodes, by partner id.
    pub nodes: BTreeMap<String, TestNode>,
    /// The directory as last published.
    pub directory: Directory,
}

/// Log to the test output when `WEERTHUIS_TEST_LOG` is set (e.g. `node=debug`).
pub fn init_logging() {
    if let Ok(filter) = std::env::var("WEERTHUIS_TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

impl TestNet {
    /// Start a federation of these partners, all connected.
    pub async fn start(partners: &[&str]) -> TestNet {
        init_logging();
        let ca = FederationCa::create(
            "test-federatie",
            now() - TimeDuration::days(1),
            now() + TimeDuration::days(30),
        )
        .expect("CA");
        let mut net = TestNet {
            ca,
            nodes: BTreeMap::new(),
            directory: Directory {
                version: 1,
                partners: partners
                    .iter()
                    .map(|p| DirectoryEntry {
                        id: p.parse().expect("peer id"),
                        name: p.to_string(),
                        endpoint: None,
                        contacts: vec![],
                        werkgebied: if p.starts_with("corporatie:") {
                            vec!["GM0080".into(), "GM0074".into()]
                        } else {
                            vec![]
                        },
                    })
                    .collect(),
            },
        };
        for p in partners {
            net.add_node(p).await;
        }
        net.publish_endpoints();
        net
    }

    async fn add_node(&mut self, p: &str) {
        let id: PartnerId = p.parse().expect("partner id");
        let dir = tempfile::tempdir().expect("temp dir");
        node::app::init(dir.path(), id.clone(), None)
            .await
            .expect("init");
        let (_, node) = node::app::open(dir.path()).await.expect("open");
        let user = node
            .store()
            .create_user("test", "test")
            .await
            .expect("user")
            .user;
        let cert = self
            .ca
            .issue(
                &p.parse::<PeerId>().unwrap(),
                now() - TimeDuration::days(1),
                now() + TimeDuration::days(30),
            )
            .expect("certificate");
        let mut t = TestNode {
            id,
            node,
            fed: None,
            dir,
            user,
            cert,
        };
        t.fed = Some(self.start_federation(&t));
        self.nodes.insert(p.to_string(), t);
    }

    fn start_federation(&self, t: &TestNode) -> Federation {
        let tls = TlsSetup::from_pem(
            &t.cert.cert_pem,
            &t.cert.key_pem,
            self.ca.cert_pem(),
            Admitted::default(),
        )
        .expect("tls");
        Federation::start(
            t.node.clone(),
            FederationConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                tls,
                directory: self.directory.clone(),
                faults: None,
            },
        )
        .expect("federation starts")
    }

    /// Put every node's current address in the directory and hand it to every node.
    pub fn publish_endpoints(&mut self) {
        for e in &mut self.directory.partners {
            e.endpoint = self
                .nodes
                .get(e.id.as_str())
                .and_then(|n| n.fed.as_ref())
                .map(|f| f.local_addr().unwrap().to_string());
        }
        self.directory.version += 1;
        for n in self.nodes.values_mut() {
            if let Some(f) = n.fed.as_mut() {
                f.set_directory(self.directory.clone());
            }
        }
    }

    /// A node.
    pub fn node(&self, id: &str) -> &TestNode {
        &self.nodes[id]
    }

    /// Create a case at a node.
    pub async fn new_case(&self, at: &str) -> CaseId {
        let c = self.node(at).node.create_case().await.expect("case");
        c.id.parse().unwrap()
    }

    /// Write a form at a node, as its user.
    pub async fn write(
        &self,
        at: &str,
        case: &CaseId,
        kind: DocumentKind,
        instance: Option<&str>,
        form: Value,
    ) -> Result<FormView, ServiceError> {
        let n = self.node(at);
        n.node
            .write_form(&n.user, case, kind, instance, &form)
            .await
    }

    /// What a node holds of a case: every form (own, received whole, projected), as JSON per section.
    pub async fn holds(&self, at: &str, case: &CaseId) -> BTreeMap<String, Value> {
        let n = self.node(at);
        let mut out = BTreeMap::new();
        let Ok(loaded) = n.node.load_case(case).await else {
            return out;
        };
        for key in &loaded.keys {
            if let Ok(Some(stored)) = n.node.store().load_document(key).await {
                let am = stored.to_automerge(&n.id).unwrap();
                let name = if key.instance.is_empty() {
                    key.kind.name().to_string()
                } else {
                    format!("{}/{}", key.kind, key.instance)
                };
                out.insert(name, node::doc::read_json(&am).unwrap());
            }
        }
        for (section, form) in loaded.projected.iter().zip(&loaded.projected_forms) {
            out.entry(section.clone()).or_insert_with(|| form.to_json());
        }
        out
    }

    /// Stop a node's federation side (a crash or partition), keeping its data.
    pub async fn stop(&mut self, id: &str) {
        let n = self.nodes.get_mut(id).unwrap();
        if let Some(f) = n.fed.take() {
            f.shutdown().await;
        }
    }

    /// Start a stopped node's federation side again (a new port) and publish it.
    pub fn restart(&mut self, id: &str) {
        let fed = self.start_federation(&self.nodes[id]);
        self.nodes.get_mut(id).unwrap().fed = Some(fed);
        self.publish_endpoints();
    }
}

/// Wait until `check` holds, polling; panics with `what` after `limit`. Sync is eventual: tests wait for the state
/// they expect, with a generous bound, rather than for a fixed time.
pub async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting until {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A valid BSN (elfproef) unique to `seed`: a canary to search for in other nodes' files.
pub fn canary_bsn(seed: u32) -> String {
    let mut n = 100_000_000 + (seed.wrapping_mul(7_919) % 800_000_000);
    loop {
        let s = format!("{n:09}");
        if policies::bsn::Bsn::parse(&s).is_ok() {
            return s;
        }
        n += 1;
    }
}

/// Every file of a node's data directory with its bytes (database, write-ahead log, config).
pub fn files_of(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("data dir") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            out.push((
                path.display().to_string(),
                std::fs::read(&path).expect("read"),
            ));
        }
    }
    out
}

/// Whether `needle` occurs in any of a node's files.
pub fn node_files_contain(dir: &std::path::Path, needle: &str) -> bool {
    files_of(dir)
        .iter()
        .any(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
}
