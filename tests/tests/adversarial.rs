//! A hostile partner with a valid certificate, driven by hand over real QUIC: it asks for case documents and
//! projections it may not have, pushes changes to fields it may not write, forges another partner's Automerge
//! actor, sends malformed and oversized frames — and partners that should not get in at all (another CA, removed
//! from the directory) are refused at the handshake. Every time the honest nodes give nothing away, store nothing,
//! record the refusal, and keep syncing with each other.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use automerge::sync::{State, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use policies::examples::{self as ex, Client, fictitious_bsn};
use policies::{DocumentKind, PartnerId};
use protocol::frame::{MAX_FRAME_LEN, PROTOCOL_VERSION};
use protocol::{
    Admitted, Connection, DirectoryEntry, Endpoint, FederationCa, Message, PeerId, TlsSetup,
};
use serde_json::{Value, json};
use simulator::live::wait_until;
use time::{Duration as TimeDuration, OffsetDateTime};
use weerthuis_tests::{TestNet, asking, authored_as, carries_changes, carrying_changes};

const ZA: &str = "zorgaanbieder:kwadrant";
const TP: &str = "transferpunt:sdf";
const GM: &str = "gemeente:GM0080";
const ELKIEN: &str = "corporatie:elkien";
const ROGUE: &str = "corporatie:rogue";
const ROGUE_ZA: &str = "zorgaanbieder:rogue";

const WAIT: Duration = Duration::from_secs(30);

/// The client's BSN, and another client's (fictitious).
static BSN: LazyLock<String> = LazyLock::new(|| fictitious_bsn(1));
static OTHER_BSN: LazyLock<String> = LazyLock::new(|| fictitious_bsn(2));

fn partner(s: &str) -> PartnerId {
    s.parse().unwrap()
}

fn peer(s: &str) -> PeerId {
    s.parse().unwrap()
}

fn registratie(zorgaanbieder: &str, bsn: &str) -> Value {
    let client = Client {
        bsn: bsn.to_string(),
        ..Client::new("Jansen, P.", 0)
    };
    ex::registratie(
        &client,
        zorgaanbieder,
        true,
        "maatschappelijke_opvang",
        "GM0080",
        "2025-09-01",
    )
}

/// The rogue zorgaanbieder registers a client of its own at the Transferpunt, as an honest node does: a projection
/// holding the registratie and the facts (a registratie is only ever the zorgaanbieder's to write, so it never
/// travels whole).
async fn rogue_registers(net: &TestNet, rogue: &Rogue, case: &node::store::CaseId) {
    let meta = serde_json::to_value(node::projection::Meta {
        receiver_relations: vec![policies::Relation::Transferpunt],
        sender_relations: vec![policies::Relation::BetrokkenZorgaanbieder],
        phase: policies::Fase::Registratie,
        consent: true,
        voorziening: None,
        policy_version: "2026.1".into(),
        others: Default::default(),
    })
    .unwrap();
    let mut projection = authored_as(
        ROGUE_ZA,
        &json!({ "_meta": meta, "registratie": registratie(ROGUE_ZA, &BSN) }),
    );
    rogue
        .sync(
            &format!("p/{case}/{ROGUE_ZA}/{TP}/1"),
            carrying_changes(&mut projection),
        )
        .await;
    wait_until(
        "the Transferpunt takes the rogue's own registratie",
        WAIT,
        || async { net.holds(TP, case).await.contains_key("registratie") },
    )
    .await;
}

fn aanmelding() -> Value {
    ex::aanmelding(&Client::new("Jansen, P.", 0), "2025-09-10")
}

/// A partner driven by hand: a valid certificate from `ca`, speaking the wire protocol itself.
struct Rogue {
    _endpoint: Endpoint,
    conn: Connection,
    inbox: Arc<Mutex<Vec<Message>>>,
    reader: tokio::task::JoinHandle<()>,
    sentinels: u32,
}

impl Drop for Rogue {
    fn drop(&mut self) {
        self.reader.abort();
        self.conn.close("rogue done");
    }
}

/// Put a partner in the federation directory (without an endpoint: nobody dials it) and hand the directory to
/// every node.
fn enlist(net: &mut TestNet, id: &str) {
    if !net.directory.partners.iter().any(|p| p.id.as_str() == id) {
        // A copy of a non-corporatie entry, renamed: whatever else an entry holds stays empty.
        let mut entry: DirectoryEntry = net
            .directory
            .partners
            .iter()
            .find(|p| !p.id.as_str().starts_with("corporatie:"))
            .expect("a partner that is not a corporatie")
            .clone();
        entry.id = peer(id);
        entry.name = id.to_string();
        entry.endpoint = None;
        entry.contacts.clear();
        net.directory.partners.push(entry);
    }
    net.publish_endpoints();
}

fn endpoint_with(ca: &FederationCa, trusted_ca: &str, id: &str, admitted: &[&str]) -> Endpoint {
    let now = OffsetDateTime::now_utc();
    let cert = ca
        .issue(
            &peer(id),
            now - TimeDuration::days(1),
            now + TimeDuration::days(30),
        )
        .unwrap();
    let tls = TlsSetup::from_pem(
        &cert.cert_pem,
        &cert.key_pem,
        trusted_ca,
        Admitted::new(admitted.iter().map(|p| peer(p))),
    )
    .unwrap();
    Endpoint::bind("127.0.0.1:0".parse().unwrap(), &tls).unwrap()
}

fn addr_of(net: &TestNet, id: &str) -> std::net::SocketAddr {
    net.node(id).fed.as_ref().unwrap().local_addr().unwrap()
}

impl Rogue {
    /// Enlist `id` in the directory with a certificate from the federation CA and connect to `to`.
    async fn connect(net: &mut TestNet, id: &str, to: &str) -> Rogue {
        enlist(net, id);
        let endpoint = endpoint_with(&net.ca, net.ca.cert_pem(), id, &[to]);
        let conn = endpoint.connect(addr_of(net, to), &peer(to)).await.unwrap();
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let (reader_conn, reader_inbox) = (conn.clone(), inbox.clone());
        let reader = tokio::spawn(async move {
            loop {
                match reader_conn.recv().await {
                    Ok(Some(m)) => reader_inbox.lock().unwrap().push(m),
                    Ok(None) | Err(protocol::EndpointError::Connection { .. }) => break,
                    Err(_) => {}
                }
            }
        });
        Rogue {
            _endpoint: endpoint,
            conn,
            inbox,
            reader,
            sentinels: 0,
        }
    }

    async fn send(&self, m: Message) {
        self.conn.send(&m).await.unwrap();
    }

    async fn sync(&self, doc: &str, data: Vec<u8>) {
        self.send(Message::Sync {
            doc: doc.to_string(),
            data,
            traceparent: None,
        })
        .await;
    }

    fn received(&self) -> Vec<Message> {
        self.inbox.lock().unwrap().clone()
    }

    /// Everything received about `doc`.
    fn about(&self, doc: &str) -> Vec<Message> {
        self.received()
            .into_iter()
            .filter(|m| m.doc() == Some(doc))
            .collect()
    }

    /// Wait until the node has answered everything sent before: it handles a peer's messages in order, and a
    /// message for a document name that does not parse is always answered `NotAvailable`.
    async fn settle(&mut self) {
        self.sentinels += 1;
        let doc = format!("sentinel/{}", self.sentinels);
        self.sync(&doc, asking()).await;
        let inbox = self.inbox.clone();
        wait_until("the node answers the sentinel", WAIT, || {
            let found = inbox.lock().unwrap().iter().any(|m| m.doc() == Some(&doc));
            async move { found }
        })
        .await;
    }

    /// Play the receiving side of the sync protocol for `doc` honestly, as far as the node will go: answer every
    /// sync message it sends, and return what arrived.
    async fn pull(&mut self, doc: &str) -> AutoCommit {
        let mut am = AutoCommit::new();
        let mut state = State::new();
        let mut seen = 0;
        for _ in 0..4 {
            let msgs: Vec<Vec<u8>> = self
                .about(doc)
                .into_iter()
                .filter_map(|m| match m {
                    Message::Sync { data, .. } => Some(data),
                    _ => None,
                })
                .skip(seen)
                .collect();
            seen += msgs.len();
            for m in msgs {
                let m = automerge::sync::Message::decode(&m).unwrap();
                am.sync().receive_sync_message(&mut state, m).unwrap();
            }
            if let Some(reply) = am.sync().generate_sync_message(&mut state) {
                self.sync(doc, reply.encode()).await;
            }
            self.settle().await;
        }
        am
    }

    /// Wait for the first answer about `doc`.
    async fn answer(&self, doc: &str) -> Message {
        wait_until(&format!("an answer about {doc}"), WAIT, || {
            let found = !self.about(doc).is_empty();
            async move { found }
        })
        .await;
        self.about(doc).remove(0)
    }
}

async fn refusals(net: &TestNet, at: &str) -> Vec<String> {
    net.audit(at)
        .await
        .into_iter()
        .map(|r| r.entry)
        .filter(|e| e.contains(r#""name":"refusal""#))
        .collect()
}

fn refused_count(net: &TestNet, at: &str) -> u64 {
    net.node(at)
        .fed
        .as_ref()
        .unwrap()
        .stats()
        .refused
        .load(Ordering::Relaxed)
}

/// A federation with one case that went all the way to an aanmeldbericht for elkien, which elkien holds.
async fn assigned_case() -> (TestNet, node::store::CaseId) {
    let net = TestNet::start(&[ZA, TP, GM, ELKIEN]).await;
    let case = net
        .case_with(
            ZA,
            &[
                (DocumentKind::Registratie, registratie(ZA, &BSN)),
                (DocumentKind::Aanmelding, aanmelding()),
            ],
        )
        .await;
    // The Transferpunt must know the zorgaanbieder is the case's before it takes the bemiddelingsverzoek from it.
    wait_until("the Transferpunt holds the registratie", WAIT, || async {
        net.holds(TP, &case).await.contains_key("registratie")
    })
    .await;
    net.write(
        ZA,
        &case,
        DocumentKind::Bemiddelingsverzoek,
        None,
        ex::ingediend(
            ex::bemiddelingsverzoek(
                "2025-11-03",
                "Kwadrant",
                Some("kleine woning in Leeuwarden"),
            ),
            "2025-11-03",
            1,
        ),
    )
    .await
    .unwrap();
    wait_until(
        "the Transferpunt holds the bemiddelingsverzoek",
        WAIT,
        || async {
            let held = net.holds(TP, &case).await;
            held.contains_key("bemiddelingsverzoek") && held.contains_key("registratie")
        },
    )
    .await;
    net.write(
        TP,
        &case,
        DocumentKind::Beoordeling,
        None,
        json!({
            "status": "goedgekeurd", "datum_ontvangen": "2025-11-04", "gekozen_uitstroomgemeente": "GM0080",
            "toegewezen_corporatie": ELKIEN
        }),
    )
    .await
    .unwrap();
    net.write(
        TP,
        &case,
        DocumentKind::Aanmeldbericht,
        Some(ELKIEN),
        json!({
            "corporatie": ELKIEN, "datum_verzonden": "2025-11-20", "bsn": BSN.as_str(),
            "achternaam_initialen": "Jansen, P.", "beoogde_uitstroomgemeente": "GM0080"
        }),
    )
    .await
    .unwrap();
    wait_until("elkien holds its aanmeldbericht", WAIT, || async {
        net.holds(ELKIEN, &case)
            .await
            .get(&format!("aanmeldbericht/{ELKIEN}"))
            .and_then(|a| a.get("bsn"))
            .is_some()
    })
    .await;
    (net, case)
}

/// Write a new form at the zorgaanbieder and see it arrive at the Transferpunt.
async fn honest_nodes_keep_syncing(net: &TestNet) {
    let case = net
        .case_with(
            ZA,
            &[(DocumentKind::Registratie, registratie(ZA, &OTHER_BSN))],
        )
        .await;
    wait_until(
        "a new registratie reaches the Transferpunt",
        WAIT,
        || async {
            net.holds(TP, &case)
                .await
                .get("registratie")
                .and_then(|r| r.get("bsn"))
                .is_some_and(|b| b == OTHER_BSN.as_str())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rogue_corporatie_gets_nothing_it_may_not_have() {
    let (mut net, case) = assigned_case().await;
    let mut rogue = Rogue::connect(&mut net, ROGUE, TP).await;
    let asked = [
        format!("c/{case}/registratie"),
        format!("c/{case}/aanmelding"),
        format!("c/{case}/bemiddelingsverzoek"),
        format!("c/{case}/beoordeling"),
        format!("c/{case}/aanmeldbericht/{ELKIEN}"),
        format!("c/{case}/aanmeldbericht/{ROGUE}"),
        format!("c/{case}/reactie/{ROGUE}"),
        format!("p/{case}/{TP}/{ROGUE}/1"),
        format!("p/{case}/{TP}/{ELKIEN}/1"),
        format!("p/{case}/{TP}/{GM}/1"),
        format!("p/{case}/{ZA}/{TP}/1"),
        format!("p/{case}/{ZA}/{ROGUE}/1"),
    ];
    for doc in &asked {
        rogue.sync(doc, asking()).await;
    }
    rogue.settle().await;
    // Even playing the sync protocol through, it gets nothing of any of them.
    for doc in &asked {
        let mut pulled = rogue.pull(doc).await;
        assert!(
            pulled.get_heads().is_empty(),
            "{doc}: {:?}",
            node::doc::read_json(&pulled)
        );
    }
    for doc in &asked {
        let answers = rogue.about(doc);
        assert!(
            answers
                .iter()
                .all(|m| matches!(m, Message::NotAvailable { .. })),
            "{doc}: {answers:?}"
        );
    }
    // Nothing at all travelled to it: no document, no projection, not even heads.
    let syncs: Vec<_> = rogue
        .received()
        .into_iter()
        .filter(|m| matches!(m, Message::Sync { .. }))
        .collect();
    assert!(syncs.is_empty(), "{syncs:?}");

    // A change to the case later does not reach it either.
    net.write(ZA, &case, DocumentKind::Aanmelding, None, {
        let mut a = aanmelding();
        a["hoofdinkomen"] = json!("werk");
        a
    })
    .await
    .unwrap();
    wait_until(
        "the Transferpunt holds the new aanmelding",
        WAIT,
        || async {
            net.holds(TP, &case).await["aanmelding"].get("hoofdinkomen") == Some(&json!("werk"))
        },
    )
    .await;
    rogue.settle().await;
    assert!(!rogue.received().iter().any(carries_changes));
    honest_nodes_keep_syncing(&net).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rogue_corporatie_cannot_write_into_a_case() {
    let (mut net, case) = assigned_case().await;
    let before = net.holds(TP, &case).await;
    let mut rogue = Rogue::connect(&mut net, ROGUE, TP).await;

    let registratie_doc = format!("c/{case}/registratie");
    let verzoek_doc = format!("c/{case}/bemiddelingsverzoek");
    let reactie_doc = format!("c/{case}/reactie/{ROGUE}");
    let mut bsn = authored_as(ROGUE, &json!({ "bsn": "999999990" }));
    rogue
        .sync(&registratie_doc, carrying_changes(&mut bsn))
        .await;
    let mut verzoek = authored_as(
        ROGUE,
        &json!({ "datum_verzoek": "2025-11-03", "datum_ingediend": "2025-11-03", "ontbrekende_gegevens": ["aanmelding.hoofdinkomen"] }),
    );
    rogue
        .sync(&verzoek_doc, carrying_changes(&mut verzoek))
        .await;
    let mut reactie = authored_as(
        ROGUE,
        &json!({ "corporatie": ROGUE, "besluit": "geaccepteerd", "datum_besluit": "2025-11-21" }),
    );
    rogue
        .sync(&reactie_doc, carrying_changes(&mut reactie))
        .await;
    rogue.settle().await;

    for doc in [&registratie_doc, &verzoek_doc, &reactie_doc] {
        let answers = rogue.about(doc);
        assert!(!answers.is_empty(), "{doc}: no answer");
        assert!(
            answers
                .iter()
                .all(|m| matches!(m, Message::Refused { .. } | Message::NotAvailable { .. })),
            "{doc}: {answers:?}"
        );
    }
    let syncs: Vec<_> = rogue
        .received()
        .into_iter()
        .filter(|m| matches!(m, Message::Sync { .. }))
        .collect();
    assert!(syncs.is_empty(), "nothing travelled to it: {syncs:?}");
    assert_eq!(
        net.holds(TP, &case).await,
        before,
        "nothing changed at the Transferpunt"
    );
    assert!(
        !net.holds(TP, &case)
            .await
            .keys()
            .any(|k| k.starts_with("reactie")),
        "no reactie from a corporatie not assigned"
    );
    honest_nodes_keep_syncing(&net).await;
    assert_eq!(net.holds(TP, &case).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_the_peer_may_not_write_is_refused_recorded_and_told() {
    let mut net = TestNet::start(&[ZA, TP, GM]).await;
    let mut rogue = Rogue::connect(&mut net, ROGUE_ZA, TP).await;
    // Its own client: a registratie naming itself is a new case it may start.
    let case = node::store::CaseId::random();
    rogue_registers(&net, &rogue, &case).await;
    let refused_before = refused_count(&net, TP);
    let audit_before = refusals(&net, TP).await.len();

    // The bemiddelingsverzoek is its to write, except what the Transferpunt marks as missing.
    let doc = format!("c/{case}/bemiddelingsverzoek");
    let mut verzoek = authored_as(
        ROGUE_ZA,
        &json!({ "datum_verzoek": "2025-11-03", "datum_ingediend": "2025-11-03", "ontbrekende_gegevens": ["aanmelding.hoofdinkomen"] }),
    );
    rogue.sync(&doc, carrying_changes(&mut verzoek)).await;
    let answer = rogue.answer(&doc).await;
    let Message::Refused { reason, .. } = &answer else {
        panic!("expected a refusal, got {answer:?}")
    };
    assert!(reason.contains("ontbrekende_gegevens"), "{reason}");
    assert!(
        !net.holds(TP, &case)
            .await
            .contains_key("bemiddelingsverzoek")
    );
    assert!(refused_count(&net, TP) > refused_before);
    let recorded = refusals(&net, TP).await;
    assert!(
        recorded.len() > audit_before,
        "the refusal is in the audit log"
    );
    assert!(
        recorded
            .iter()
            .any(|e| e.contains(&doc) && e.contains(ROGUE_ZA)),
        "{recorded:?}"
    );
    // The same document is no longer synced on this connection: a second try is not taken either.
    let mut fine = authored_as(
        ROGUE_ZA,
        &json!({ "datum_verzoek": "2025-11-03", "datum_ingediend": "2025-11-03" }),
    );
    rogue.sync(&doc, carrying_changes(&mut fine)).await;
    rogue.settle().await;
    assert!(
        !net.holds(TP, &case)
            .await
            .contains_key("bemiddelingsverzoek")
    );
    honest_nodes_keep_syncing(&net).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_authored_as_another_partner_are_refused() {
    let mut net = TestNet::start(&[ZA, TP, GM]).await;
    let mut rogue = Rogue::connect(&mut net, ROGUE_ZA, TP).await;
    let audit_before = refusals(&net, TP).await.len();

    // A registratie is the zorgaanbieder's alone to write: pushed whole it is never taken, whoever's it says it is.
    let case = node::store::CaseId::random();
    let doc = format!("c/{case}/registratie");
    let mut forged = authored_as(ZA, &registratie(ROGUE_ZA, &BSN));
    rogue.sync(&doc, carrying_changes(&mut forged)).await;
    let answer = rogue.answer(&doc).await;
    assert!(
        matches!(
            answer,
            Message::Refused { .. } | Message::NotAvailable { .. }
        ),
        "{answer:?}"
    );

    // Its own case, then a bemiddelingsverzoek with one change by itself and one forged as kwadrant's on top.
    let case2 = node::store::CaseId::random();
    rogue_registers(&net, &rogue, &case2).await;
    let doc2 = format!("c/{case2}/bemiddelingsverzoek");
    let mut mixed = authored_as(
        ROGUE_ZA,
        &json!({ "datum_verzoek": "2025-11-03", "datum_ingediend": "2025-11-03" }),
    );
    mixed.set_actor(node::doc::actor_for(&partner(ZA)));
    mixed.put(ROOT, "woonwens", "Leeuwarden").unwrap();
    mixed.commit();
    rogue.sync(&doc2, carrying_changes(&mut mixed)).await;
    let answer = rogue.answer(&doc2).await;
    assert!(matches!(answer, Message::Refused { .. }), "{answer:?}");

    // A projection for the Transferpunt, written as if by kwadrant.
    let case3 = node::store::CaseId::random();
    let doc3 = format!("p/{case3}/{ROGUE_ZA}/{TP}/1");
    let meta = serde_json::to_value(node::projection::Meta {
        receiver_relations: vec![policies::Relation::Transferpunt],
        sender_relations: vec![policies::Relation::BetrokkenZorgaanbieder],
        phase: policies::Fase::Aanmelding,
        consent: true,
        voorziening: None,
        policy_version: "2026.1".into(),
        others: Default::default(),
    })
    .unwrap();
    let mut projection = authored_as(ZA, &json!({ "_meta": meta, "aanmelding": aanmelding() }));
    rogue.sync(&doc3, carrying_changes(&mut projection)).await;
    let answer = rogue.answer(&doc3).await;
    assert!(matches!(answer, Message::Refused { .. }), "{answer:?}");

    rogue.settle().await;
    for c in [&case, &case3] {
        assert!(net.holds(TP, c).await.is_empty(), "nothing of {c} stored");
    }
    assert!(
        !net.holds(TP, &case2)
            .await
            .contains_key("bemiddelingsverzoek"),
        "the mixed bemiddelingsverzoek is not stored"
    );
    assert!(refusals(&net, TP).await.len() >= audit_before + 3);
    honest_nodes_keep_syncing(&net).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_frames_leave_the_node_serving() {
    let mut net = TestNet::start(&[ZA, TP, GM]).await;
    let mut rogue = Rogue::connect(&mut net, ROGUE, TP).await;
    let refused_before = refused_count(&net, TP);

    // A payload that is not a message.
    rogue
        .conn
        .send_raw(b"\x01\x00\x00\x00\x04\xff\xff\xff\xff")
        .await
        .unwrap();
    // A length far over the cap, and one just over it: refused before anything is allocated.
    let mut huge = vec![PROTOCOL_VERSION];
    huge.extend_from_slice(&u32::MAX.to_be_bytes());
    rogue.conn.send_raw(&huge).await.unwrap();
    let mut over = vec![PROTOCOL_VERSION];
    over.extend_from_slice(&(MAX_FRAME_LEN + 1).to_be_bytes());
    over.extend_from_slice(&[0; 64]);
    rogue.conn.send_raw(&over).await.unwrap();
    // A version this node does not speak, a frame cut short, a header alone, an empty stream.
    rogue.conn.send_raw(b"\x07\x00\x00\x00\x00").await.unwrap();
    rogue
        .conn
        .send_raw(b"\x01\x00\x00\x10\x00abc")
        .await
        .unwrap();
    rogue.conn.send_raw(b"\x01\x00").await.unwrap();
    rogue.conn.send_raw(b"").await.unwrap();
    // Trailing bytes after a valid message.
    let mut trailing = protocol::frame::encode(&Message::NotAvailable { doc: "x".into() }).unwrap();
    trailing.extend_from_slice(b"junk");
    rogue.conn.send_raw(&trailing).await.unwrap();
    // A document id longer than the protocol allows, crafted by hand.
    let long = Message::Sync {
        doc: "c/".repeat(5_000),
        data: vec![],
        traceparent: None,
    };
    let payload_long = postcard_like(&long);
    rogue.conn.send_raw(&payload_long).await.unwrap();
    // Well-framed messages whose content is garbage: not an Automerge sync message, odd document names.
    let case = net.new_case(ZA).await;
    rogue
        .sync(&format!("c/{case}/registratie"), b"not automerge".to_vec())
        .await;
    rogue.sync("c/../../etc/passwd", asking()).await;
    rogue.sync("p/x/y/z/18446744073709551616", asking()).await;
    rogue.sync("", vec![]).await;
    rogue
        .send(Message::Forget {
            doc: format!("p/{case}/{ZA}/{TP}/1"),
            reason: "delete it".into(),
        })
        .await;
    rogue
        .send(Message::Artefact {
            kind: "policy".into(),
            data: vec![0; 1024],
        })
        .await;

    // The connection still serves the rogue itself, in order…
    rogue.settle().await;
    assert!(
        refused_count(&net, TP) > refused_before,
        "malformed frames are counted as security events"
    );
    // …and the node keeps serving honest traffic.
    honest_nodes_keep_syncing(&net).await;
    assert!(
        net.node(TP)
            .fed
            .as_ref()
            .unwrap()
            .connected()
            .contains(&partner(ZA))
    );
}

/// A frame around a message, built without the encoder's checks (so a document id over the limit can be sent).
fn postcard_like(msg: &Message) -> Vec<u8> {
    // postcard encodes an enum as its variant index (varint), strings and byte vectors as a varint length and bytes.
    fn varint(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        }
    }
    let Message::Sync { doc, data, .. } = msg else {
        unreachable!()
    };
    let mut payload = Vec::new();
    varint(0, &mut payload);
    varint(doc.len(), &mut payload);
    payload.extend_from_slice(doc.as_bytes());
    varint(data.len(), &mut payload);
    payload.extend_from_slice(data);
    let mut frame = vec![PROTOCOL_VERSION];
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(&payload);
    frame
}

/// Whether a connection attempt from `endpoint` to `to` is refused: the dial fails, or the connection is closed
/// by the server before it carries anything.
async fn refused_at_handshake(endpoint: &Endpoint, net: &TestNet, to: &str) -> bool {
    match endpoint.connect(addr_of(net, to), &peer(to)).await {
        Err(_) => true,
        Ok(conn) => {
            // TLS 1.3: the client may finish before the server has judged its certificate; it learns of the refusal
            // when the connection closes.
            let _ = conn.send(&Message::NotAvailable { doc: "x".into() }).await;
            tokio::time::timeout(WAIT, conn.closed()).await.is_ok() && conn.recv().await.is_err()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_another_ca_is_refused_by_the_node() {
    let mut net = TestNet::start(&[ZA, TP]).await;
    enlist(&mut net, ROGUE);
    let other = FederationCa::create(
        "een andere CA",
        OffsetDateTime::now_utc() - TimeDuration::days(1),
        OffsetDateTime::now_utc() + TimeDuration::days(30),
    )
    .unwrap();
    let refused_before = refused_count(&net, TP);
    // A partner id in the directory, signed by the other CA (which trusts ours, to get as far as it can).
    let endpoint = endpoint_with(&other, net.ca.cert_pem(), ROGUE, &[TP]);
    assert!(refused_at_handshake(&endpoint, &net, TP).await);
    // Even under an honest partner's id.
    let endpoint = endpoint_with(&other, net.ca.cert_pem(), ZA, &[TP]);
    assert!(refused_at_handshake(&endpoint, &net, TP).await);
    wait_until("the node counts both refusals", WAIT, || async {
        refused_count(&net, TP) >= refused_before + 2
    })
    .await;
    assert!(
        !net.node(TP)
            .fed
            .as_ref()
            .unwrap()
            .connected()
            .contains(&partner(ROGUE))
    );
    honest_nodes_keep_syncing(&net).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_removed_from_the_directory_is_refused_by_the_node() {
    let mut net = TestNet::start(&[ZA, TP, ELKIEN]).await;
    wait_until("elkien is connected to the Transferpunt", WAIT, || async {
        net.node(TP)
            .fed
            .as_ref()
            .unwrap()
            .connected()
            .contains(&partner(ELKIEN))
    })
    .await;
    // A valid certificate, but the partner is gone from the directory: its connection is closed, and its
    // own node's redials and a hand-made connection with its certificate are refused at the handshake.
    net.directory.partners.retain(|p| p.id.as_str() != ELKIEN);
    net.publish_endpoints();
    wait_until("the Transferpunt dropped elkien", WAIT, || async {
        !net.node(TP)
            .fed
            .as_ref()
            .unwrap()
            .connected()
            .contains(&partner(ELKIEN))
    })
    .await;
    let refused_before = refused_count(&net, TP);
    let cert = &net.node(ELKIEN).cert;
    let tls = TlsSetup::from_pem(
        &cert.cert_pem,
        &cert.key_pem,
        net.ca.cert_pem(),
        Admitted::new([peer(TP)]),
    )
    .unwrap();
    let endpoint = Endpoint::bind("127.0.0.1:0".parse().unwrap(), &tls).unwrap();
    assert!(refused_at_handshake(&endpoint, &net, TP).await);
    wait_until("the node counts the refusal", WAIT, || async {
        refused_count(&net, TP) > refused_before
    })
    .await;
    assert!(
        !net.node(TP)
            .fed
            .as_ref()
            .unwrap()
            .connected()
            .contains(&partner(ELKIEN))
    );
    let still: BTreeSet<PartnerId> = net
        .node(TP)
        .fed
        .as_ref()
        .unwrap()
        .connected()
        .into_iter()
        .collect();
    assert!(still.contains(&partner(ZA)), "{still:?}");
    honest_nodes_keep_syncing(&net).await;
}

/// Regressions for bugs the adversarial tests found.
mod regressions {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_push_by_a_non_participant_is_recorded_as_a_security_event() {
        let (mut net, case) = assigned_case().await;
        let audit_before = refusals(&net, TP).await.len();
        let refused_before = refused_count(&net, TP);
        let mut rogue = Rogue::connect(&mut net, ROGUE, TP).await;
        let doc = format!("c/{case}/registratie");
        let mut bsn = authored_as(ROGUE, &json!({ "bsn": "999999990" }));
        rogue.sync(&doc, carrying_changes(&mut bsn)).await;
        rogue.settle().await;
        // Answered like a document that does not exist, but recorded and counted all the same.
        assert!(matches!(rogue.about(&doc)[0], Message::NotAvailable { .. }));
        assert!(refused_count(&net, TP) > refused_before);
        assert!(refusals(&net, TP).await.len() > audit_before);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn changes_authored_as_the_receiver_are_refused() {
        let mut net = TestNet::start(&[ZA, TP, GM]).await;
        let mut rogue = Rogue::connect(&mut net, ROGUE_ZA, TP).await;
        let case = node::store::CaseId::random();
        rogue_registers(&net, &rogue, &case).await;
        let doc = format!("c/{case}/bemiddelingsverzoek");
        let mut forged = authored_as(
            TP,
            &json!({ "datum_verzoek": "2025-11-03", "datum_ingediend": "2025-11-03", "ontbrekende_gegevens": ["aanmelding.hoofdinkomen"],
                     "toelichting_transferpunt": "geschreven door de rogue" }),
        );
        rogue.sync(&doc, carrying_changes(&mut forged)).await;
        rogue.settle().await;
        assert!(
            !net.holds(TP, &case)
                .await
                .contains_key("bemiddelingsverzoek")
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_corporatie_declaring_itself_assigned_gets_nothing() {
        let (mut net, case) = assigned_case().await;
        let mut rogue = Rogue::connect(&mut net, ROGUE, TP).await;
        let meta = serde_json::to_value(node::projection::Meta {
            receiver_relations: vec![policies::Relation::Transferpunt],
            sender_relations: vec![policies::Relation::ToegewezenCorporatie],
            phase: policies::Fase::Bemiddeling,
            consent: true,
            voorziening: None,
            policy_version: "2026.1".into(),
            others: Default::default(),
        })
        .unwrap();
        let doc = format!("p/{case}/{ROGUE}/{TP}/1");
        let mut p = authored_as(ROGUE, &json!({ "_meta": meta }));
        rogue.sync(&doc, carrying_changes(&mut p)).await;
        rogue.settle().await;
        let doc2 = format!("p/{case}/{ROGUE}/{TP}/2");
        let mut p = authored_as(
            ROGUE,
            &json!({ "_meta": meta, format!("reactie/{ROGUE}"): {
                "besluit": "geaccepteerd", "datum_besluit": "2025-11-21" } }),
        );
        rogue.sync(&doc2, carrying_changes(&mut p)).await;
        rogue.settle().await;
        // Something changes in the case: the Transferpunt reconciles with every peer.
        net.write(ZA, &case, DocumentKind::Aanmelding, None, {
            let mut a = aanmelding();
            a["hoofdinkomen"] = json!("werk");
            a
        })
        .await
        .unwrap();
        wait_until("TP has new aanmelding", WAIT, || async {
            net.holds(TP, &case).await["aanmelding"].get("hoofdinkomen") == Some(&json!("werk"))
        })
        .await;
        rogue.settle().await;
        // Even playing the protocol through, the rogue pulls nothing from a projection the Transferpunt would
        // have written for an assigned corporatie.
        let mut pulled = rogue.pull(&format!("p/{case}/{TP}/{ROGUE}/1")).await;
        assert!(pulled.get_heads().is_empty());
        assert!(!net.holds(TP, &case).await.keys().any(|k| k.contains(ROGUE)));
        assert!(!rogue.received().iter().any(carries_changes));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_bemiddelingsverzoek_right_after_the_registratie_arrives() {
        let net = TestNet::start(&[ZA, TP]).await;
        let case = net.new_case(ZA).await;
        net.write(
            ZA,
            &case,
            DocumentKind::Registratie,
            None,
            registratie(ZA, &BSN),
        )
        .await
        .unwrap();
        net.write(
            ZA,
            &case,
            DocumentKind::Bemiddelingsverzoek,
            None,
            ex::ingediend(
                ex::bemiddelingsverzoek("2025-11-03", "Kwadrant", Some("Een woning")),
                "2025-11-03",
                1,
            ),
        )
        .await
        .unwrap();
        wait_until("TP holds the bemiddelingsverzoek", WAIT, || async {
            net.holds(TP, &case)
                .await
                .contains_key("bemiddelingsverzoek")
        })
        .await;
    }
}
