//! Helpers for the end-to-end tests in `tests/tests/` and the benchmarks in `tests/benches/`: a whole federation
//! of real nodes — each with its own data directory, SQLite database, certificate from a test federation CA, and
//! QUIC endpoint on 127.0.0.1 with a port chosen by the operating system.
//!
//! Why a thin layer: the federation is the simulator's [`LiveNet`], the one implementation of "real nodes in one
//! process" (also behind the fault and cross-check runs), and the helpers the tests share with it live there too
//! ([`simulator::live::wait_until`], [`simulator::live::files_contain`]); example forms and fictitious BSNs come
//! from [`policies::examples`]. [`TestNet`] only adds what keeps the tests plain, which costs less
//! code than moving every test onto [`LiveNet`]'s fallible API: set-up that cannot fail in a test panics here
//! instead of each call ending in `.unwrap()`, and [`TestNet::restart`] keeps the tests' meaning of a restart — a
//! *new* port, published in a new directory ([`LiveNet::restart`] re-binds the old one). Everything else
//! ([`LiveNet::write`], [`LiveNet::holds`], [`LiveNet::stop`], [`LiveNet::publish_endpoints`], the CA, the
//! directory, the nodes) is [`LiveNet`]'s, through `Deref`.
//!
//! [`browser`]: the harness for tests in real headless Chromium (the werkplek's end-to-end tests).

pub mod browser;

use std::ops::{Deref, DerefMut};

use automerge::sync::{State, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT};
use node::store::CaseId;
use simulator::live::{LiveNet, LiveNode};

/// A federation of nodes: a [`LiveNet`] with the tests' conveniences.
pub struct TestNet(pub LiveNet);

impl Deref for TestNet {
    type Target = LiveNet;

    fn deref(&self) -> &LiveNet {
        &self.0
    }
}

impl DerefMut for TestNet {
    fn deref_mut(&mut self) -> &mut LiveNet {
        &mut self.0
    }
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

/// A seed derived from a test's name (FNV-1a), printed so a failing run can be replayed: the same name gives the
/// same seed on every machine; `WEERTHUIS_TEST_SEED` overrides it.
pub fn seed_for(test: &str) -> u64 {
    let seed = match std::env::var("WEERTHUIS_TEST_SEED") {
        Ok(s) => s.trim().parse().expect("WEERTHUIS_TEST_SEED is a number"),
        Err(_) => test.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        }),
    };
    eprintln!("{test}: seed {seed} (replay with WEERTHUIS_TEST_SEED={seed})");
    seed
}

impl TestNet {
    /// Start a federation of these partners, all connected.
    pub async fn start(partners: &[&str]) -> TestNet {
        init_logging();
        TestNet(LiveNet::start(partners).await.expect("federation starts"))
    }

    /// Start a federation of these partners, all connected, run as `options` say (e.g. each node on a PostgreSQL
    /// database of its own).
    pub async fn start_with(partners: &[&str], options: simulator::live::LiveOptions) -> TestNet {
        init_logging();
        TestNet(
            LiveNet::start_with(partners, options)
                .await
                .expect("federation starts"),
        )
    }

    /// Wait (30 s at most) until every node is connected to the Transferpunt: the pairs that stay connected (other
    /// pairs connect when a case names them, `node::sync::reach`).
    pub async fn wait_connected(&self) {
        simulator::live::wait_until(
            "the nodes connect",
            std::time::Duration::from_secs(30),
            || async {
                let (up, all) = self.connections();
                up == all
            },
        )
        .await;
    }

    /// A node.
    pub fn node(&self, id: &str) -> &LiveNode {
        self.0.get(id)
    }

    /// Every record of a node's audit log, in order.
    pub async fn audit(&self, at: &str) -> Vec<node::audit::AuditRecord> {
        self.node(at)
            .node()
            .store()
            .audit_records(0, u32::MAX)
            .await
            .expect("the audit log reads")
    }

    /// Create a case at a node.
    pub async fn new_case(&self, at: &str) -> CaseId {
        self.0.new_case(at).await.expect("case")
    }

    /// A new case at a node with these forms written, in order.
    pub async fn case_with(
        &self,
        at: &str,
        forms: &[(policies::DocumentKind, serde_json::Value)],
    ) -> CaseId {
        let case = self.new_case(at).await;
        for (kind, form) in forms {
            self.0
                .write(at, &case, *kind, None, form)
                .await
                .unwrap_or_else(|e| panic!("{at} writes {kind}: {e}"));
        }
        case
    }

    /// A client's case at the scenario's zorgaanbieder (Kwadrant, herkomstgemeente Leeuwarden): registratie with
    /// consent, aanmelding, vervolg wonen and a bemiddelingsverzoek whose `toelichting_zoekgedrag` is `zoekgedrag`
    /// (a canary) and whose woonwens is `woonwens`. With `submit` the request is submitted, so the Transferpunt holds
    /// it whole; otherwise it stays a draft at the zorgaanbieder.
    pub async fn request_case(
        &self,
        client: &policies::examples::Client,
        zoekgedrag: &str,
        woonwens: Option<&str>,
        submit: bool,
    ) -> CaseId {
        use policies::DocumentKind as D;
        use policies::examples as ex;
        const ZA: &str = node::scenario::KWADRANT;
        let mut verzoek = ex::bemiddelingsverzoek("2025-10-01", "Kwadrant", woonwens);
        verzoek["toelichting_zoekgedrag"] = serde_json::json!(zoekgedrag);
        let case = self
            .case_with(
                ZA,
                &[
                    (
                        D::Registratie,
                        ex::registratie(
                            client,
                            ZA,
                            true,
                            "maatschappelijke_opvang",
                            "GM0080",
                            "2025-06-01",
                        ),
                    ),
                    (D::Aanmelding, ex::aanmelding(client, "2025-06-10")),
                    (
                        D::VervolgWonen,
                        ex::vervolg_wonen(client, "GM0080", "2025-09-01"),
                    ),
                    (D::Bemiddelingsverzoek, verzoek),
                ],
            )
            .await;
        if submit {
            let za = self.node(ZA);
            za.node()
                .submit_request(&za.user, &case)
                .await
                .expect("the request is complete");
        }
        case
    }

    /// [`TestNet::request_case`] submitted and taken up: once the Transferpunt holds the request, it approves it
    /// for Leeuwarden and assigns `corporatie` with an aanmeldbericht about `client` (`ondersteuningsprofiel` and
    /// `contactpersonen` as given — canaries, or what a test checks), and returns once the corporatie holds it.
    pub async fn assigned_case(
        &self,
        client: &policies::examples::Client,
        zoekgedrag: &str,
        corporatie: &str,
        ondersteuningsprofiel: &str,
        contactpersonen: serde_json::Value,
    ) -> CaseId {
        use policies::DocumentKind as D;
        const TP: &str = node::scenario::TRANSFERPUNT;
        let case = self
            .request_case(client, zoekgedrag, Some("Eenpersoonswoning"), true)
            .await;
        simulator::live::wait_until(
            "the Transferpunt holds the request",
            std::time::Duration::from_secs(60),
            || async {
                self.holds(TP, &case)
                    .await
                    .contains_key("bemiddelingsverzoek")
            },
        )
        .await;
        let beoordeling = serde_json::json!({
            "status": "goedgekeurd", "datum_ontvangen": "2025-10-02", "datum_volledig": "2025-10-02",
            "gekozen_uitstroomgemeente": "GM0080", "toegewezen_corporatie": corporatie, "corporatie_historie": []
        });
        self.write(TP, &case, D::Beoordeling, None, beoordeling)
            .await
            .expect("the beoordeling is written");
        let aanmeldbericht = serde_json::json!({
            "corporatie": corporatie, "datum_verzonden": "2025-10-20", "bsn": client.bsn,
            "achternaam_initialen": client.name, "beoogde_uitstroomgemeente": "GM0080",
            "leefsituatie": "alleenstaand", "ondersteuningsprofiel": ondersteuningsprofiel,
            "contactpersonen": contactpersonen
        });
        self.write(
            TP,
            &case,
            D::Aanmeldbericht,
            Some(corporatie),
            aanmeldbericht,
        )
        .await
        .expect("the aanmeldbericht is written");
        // Every caller goes on at the corporatie: it waits until the aanmeldbericht is there.
        wait_for(
            self,
            corporatie,
            &case,
            &format!("aanmeldbericht/{corporatie}"),
            "bsn",
            serde_json::json!(client.bsn),
        )
        .await;
        case
    }

    /// Start a stopped node's federation side again on a new port and publish it: peers find it only through the
    /// new directory.
    pub fn restart(&mut self, id: &str) {
        self.0.restart_elsewhere(id).expect("federation restarts");
    }
}

/// The value of `section.name` as `at` holds it for `case` (its own forms and what was projected to it).
pub async fn field(
    net: &TestNet,
    at: &str,
    case: &CaseId,
    section: &str,
    name: &str,
) -> Option<serde_json::Value> {
    net.holds(at, case)
        .await
        .get(section)
        .and_then(|s| s.get(name))
        .cloned()
}

/// Wait (60 s at most) until `at` holds `section.name` = `want` for `case`.
pub async fn wait_for(
    net: &TestNet,
    at: &str,
    case: &CaseId,
    section: &str,
    name: &str,
    want: serde_json::Value,
) {
    simulator::live::wait_until(
        &format!("{at} holds {section}.{name} = {want}"),
        std::time::Duration::from_secs(60),
        || async { field(net, at, case, section, name).await.as_ref() == Some(&want) },
    )
    .await;
}

/// A client for a canary test, and a zoekgedrag: name, BSN, reden_dakloosheid and zoekgedrag unique to `what` (the
/// test's subject), `surname` and `tag`; the BSN is the `bsn_base + tag`-th fictitious one.
pub fn canary_client(
    what: &str,
    surname: &str,
    bsn_base: u64,
    tag: u64,
) -> (policies::examples::Client, String) {
    let client = policies::examples::Client {
        name: format!("{surname}{tag}, Q."),
        bsn: policies::examples::fictitious_bsn(bsn_base + tag),
        reden_dakloosheid: format!("reden-{what}-{tag}-canary"),
    };
    (client, format!("zoekgedrag-{what}-{tag}-canary"))
}

/// A canary client's values as they are stored: name, BSN, reden_dakloosheid, zoekgedrag.
pub fn canaries(client: &policies::examples::Client, zoekgedrag: &str) -> Vec<String> {
    vec![
        client.name.clone(),
        client.bsn.clone(),
        client.reden_dakloosheid.clone(),
        zoekgedrag.to_string(),
    ]
}

/// The registratie of the `n`-th of many made-up clients (the benchmarks): with consent, MO, in Leeuwarden, at
/// the scenario's zorgaanbieder.
pub fn client_registratie(n: u64) -> serde_json::Value {
    policies::examples::registratie(
        &policies::examples::Client::numbered(n),
        node::scenario::KWADRANT,
        true,
        "maatschappelijke_opvang",
        "GM0080",
        "2025-06-01",
    )
}

/// A telefoonnummer unique to `i`: what a benchmark edits, and then looks for at the receiver.
pub fn telefoon(i: u64) -> String {
    format!("06{:08}", 10_000_000 + i)
}

/// The `n`-th client's aanmelding, carrying [`telefoon`]`(i)`.
pub fn client_aanmelding(n: u64, i: u64) -> serde_json::Value {
    let mut a =
        policies::examples::aanmelding(&policies::examples::Client::numbered(n), "2025-06-10");
    a["telefoonnummer"] = serde_json::json!(telefoon(i));
    a
}

// --- Crafting what a rogue peer sends: documents under any actor id, and sync messages.

/// Write a JSON value into an Automerge map, the way the node lays out forms.
pub fn put_json(doc: &mut AutoCommit, obj: &ObjId, key: &str, v: &serde_json::Value) {
    match v {
        serde_json::Value::String(s) => doc.put(obj, key, s.as_str()).unwrap(),
        serde_json::Value::Bool(b) => doc.put(obj, key, *b).unwrap(),
        serde_json::Value::Number(n) => doc.put(obj, key, n.as_i64().unwrap()).unwrap(),
        serde_json::Value::Null => doc.put(obj, key, ()).unwrap(),
        serde_json::Value::Array(items) => {
            let list = doc.put_object(obj, key, ObjType::List).unwrap();
            for (i, item) in items.iter().enumerate() {
                match item {
                    serde_json::Value::Object(m) => {
                        let rec = doc.insert_object(&list, i, ObjType::Map).unwrap();
                        for (k, v) in m {
                            put_json(doc, &rec, k, v);
                        }
                    }
                    serde_json::Value::String(s) => doc.insert(&list, i, s.as_str()).unwrap(),
                    other => panic!("unsupported list item {other}"),
                }
            }
        }
        serde_json::Value::Object(m) => {
            let map = doc.put_object(obj, key, ObjType::Map).unwrap();
            for (k, v) in m {
                put_json(doc, &map, k, v);
            }
        }
    }
}

/// A document holding `json` at its root, every change authored by `actor`'s Automerge actor id.
pub fn authored_as(actor: &str, json: &serde_json::Value) -> AutoCommit {
    let mut doc =
        AutoCommit::new().with_actor(node::doc::actor_for(&actor.parse().expect("a partner id")));
    for (k, v) in json.as_object().unwrap() {
        put_json(&mut doc, &ROOT, k, v);
    }
    doc.commit();
    doc
}

/// An encoded Automerge sync message that carries every change of `doc`: what a peer sends a receiver it believes
/// has nothing of the document.
pub fn carrying_changes(doc: &mut AutoCommit) -> Vec<u8> {
    protocol::sync::SyncSession::for_empty_peer()
        .generate(doc)
        .expect("a message with every change")
}

/// The first sync message of a peer that holds nothing of a document: a request for all of it.
pub fn asking() -> Vec<u8> {
    AutoCommit::new()
        .sync()
        .generate_sync_message(&mut State::new())
        .expect("a first message")
        .encode()
}

/// Whether a message is a sync message carrying changes (or one that does not decode).
pub fn carries_changes(m: &protocol::Message) -> bool {
    match m {
        protocol::Message::Sync { data, .. } => {
            automerge::sync::Message::decode(data).map_or(true, |m| !m.changes.is_empty())
        }
        _ => false,
    }
}
