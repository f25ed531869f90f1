//! Policy versions through the federation: signed by the Transferpunt, adopted on their effective date, refused
//! when the signature is not the Transferpunt's or an invariant breaks; a narrowing version rotates the affected
//! projections, so the partner no longer holds what it may no longer have.

use std::time::Duration;

use node::distribution::SignedPolicy;
use node::store::StoredPolicy;
use policies::DocumentKind;
use policies::policy::COVENANT_POLICY;
use serde_json::json;
use simulator::live::wait_until;
use weerthuis_tests::TestNet;

const ZA: &str = "zorgaanbieder:kwadrant";
const TP: &str = "transferpunt:sdf";
const GM: &str = "gemeente:GM0080";
const WAIT: Duration = Duration::from_secs(30);

fn narrowed() -> String {
    // The gemeenten no longer receive the client's main income with the aanmelding.
    let gemeente_flows_end = "  \"aanmelding.*\",\n]\n";
    assert_eq!(
        COVENANT_POLICY.matches(gemeente_flows_end).count(),
        3,
        "the three aanmelding flows to gemeenten"
    );
    COVENANT_POLICY
        .replace(
            gemeente_flows_end,
            &format!("{gemeente_flows_end}except = [\"aanmelding.hoofdinkomen\"]\n"),
        )
        .replace("version = \"2026.1\"", "version = \"2026.2\"")
        .replace(
            "effective_from = \"2026-01-01\"",
            "effective_from = \"2026-01-02\"",
        )
}

async fn publish_raw(
    net: &TestNet,
    body: &str,
    key_pem: &str,
    version: &str,
    effective_from: &str,
) {
    let sig = protocol::pki::sign_with_key(key_pem, body.as_bytes()).unwrap();
    net.node(TP)
        .node()
        .store()
        .put_policy(&StoredPolicy {
            version: version.into(),
            effective_from: effective_from.into(),
            body: body.into(),
            signature: sig,
        })
        .await
        .unwrap();
}

/// A case whose projection from the zorgaanbieder to the gemeente was rotated by a narrowing policy version (the
/// income left the aanmelding flows).
async fn rotated_case() -> (TestNet, node::store::CaseId) {
    let net = TestNet::start(&[TP, ZA, GM]).await;
    let case = net.new_case(ZA).await;
    net.write(ZA, &case, DocumentKind::Registratie, None, json!({
        "achternaam_voorletters": "Dijkstra, A.", "bsn": "999993653", "geboortedatum": "1979-02-03",
        "soort_voorziening": "maatschappelijke_opvang", "herkomstgemeente": "GM0080", "verblijfgemeente": "GM0080",
        "start_verblijf_opvang": "2025-05-01", "betrokken_zorgaanbieder": ZA, "reden_dakloosheid": "Schulden",
        "toestemming_gegevensdeling": true, "datum_toestemming": "2025-05-01"
    })).await.unwrap();
    net.write(ZA, &case, DocumentKind::Aanmelding, None, json!({
        "achternaam_voorletters": "Dijkstra, A.", "datum_aanmelding": "2025-05-08", "leefsituatie": "alleenstaand",
        "hoofdinkomen": "participatiewet"
    })).await.unwrap();
    wait_until("the gemeente holds the income", WAIT, || async {
        net.holds(GM, &case)
            .await
            .get("aanmelding")
            .and_then(|a| a.get("hoofdinkomen"))
            .is_some()
    })
    .await;

    // The Transferpunt signs and publishes 2026.2; every node puts it in force (its date has come).
    let tp = net.node(TP);
    let body = narrowed();
    let signed = SignedPolicy::sign(&body, &tp.cert.key_pem).unwrap();
    let policy = policies::Policy::load(&body).unwrap();
    node::distribution::store(tp.node(), &signed, &policy)
        .await
        .unwrap();
    for p in [TP, ZA, GM] {
        wait_until(&format!("{p} has 2026.2 in force"), WAIT, || async {
            net.node(p).node().policy().meta.version == "2026.2"
        })
        .await;
    }

    // The gemeente's projection was rotated: the old generation is gone, the new one lacks the income.
    wait_until("the gemeente no longer holds the income", WAIT, || async {
        let h = net.holds(GM, &case).await;
        h.get("aanmelding")
            .is_some_and(|a| a.get("hoofdinkomen").is_none() && a.get("leefsituatie").is_some())
    })
    .await;
    (net, case)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_narrowing_policy_is_adopted_and_rotates_projections() {
    let (net, case) = rotated_case().await;
    let projections: Vec<_> = net
        .node(GM)
        .node()
        .store()
        .projections_of_case(&case)
        .await
        .unwrap()
        .into_iter()
        .filter(|p| p.sender == ZA)
        .collect();
    assert!(
        projections.iter().any(|p| !p.retired && p.generation >= 2)
            && projections
                .iter()
                .all(|p| !p.retired
                    || !String::from_utf8_lossy(&p.snapshot).contains("participatiewet")),
        "the old projection, whose history holds the income, is deleted: {:?}",
        projections.iter().map(|p| &p.wire_id).collect::<Vec<_>>()
    );
    // Every disclosure after the change names the new version.
    let za_audit = net.audit(ZA).await;
    let last_disclosure = za_audit
        .iter()
        .rev()
        .map(|r| r.parse().unwrap())
        .find(|e| {
            e.entry.name == node::audit::Operation::Disclosure
                && e.entry.peer.as_deref() == Some(GM)
        })
        .unwrap();
    assert_eq!(
        last_disclosure.entry.policy_version.as_deref(),
        Some("2026.2")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_policy_versions_are_refused_and_future_ones_wait() {
    let net = TestNet::start(&[TP, ZA, GM]).await;
    let tp_key = net.node(TP).cert.key_pem.clone();
    let refused_before = net
        .node(ZA)
        .fed
        .as_ref()
        .unwrap()
        .stats()
        .refused
        .load(std::sync::atomic::Ordering::Relaxed);

    // Breaks an invariant: reden_dakloosheid to the corporatie. Signed by the Transferpunt all the same.
    let breaking = COVENANT_POLICY
        .replace(
            "fields = [\"aanmeldbericht.*\"]",
            "fields = [\"aanmeldbericht.*\", \"registratie.reden_dakloosheid\"]",
        )
        .replace("version = \"2026.1\"", "version = \"2026.9\"");
    publish_raw(&net, &breaking, &tp_key, "2026.9", "2026-01-01").await;
    // Signed by someone else than the Transferpunt.
    let other_key = net.node(GM).cert.key_pem.clone();
    let forged = COVENANT_POLICY.replace("version = \"2026.1\"", "version = \"2026.8\"");
    publish_raw(&net, &forged, &other_key, "2026.8", "2026-01-01").await;
    // Valid, but not yet in force.
    let future = COVENANT_POLICY
        .replace("version = \"2026.1\"", "version = \"2099.1\"")
        .replace(
            "effective_from = \"2026-01-01\"",
            "effective_from = \"2099-01-01\"",
        );
    let signed = SignedPolicy::sign(&future, &tp_key).unwrap();
    node::distribution::store(
        net.node(TP).node(),
        &signed,
        &policies::Policy::load(&future).unwrap(),
    )
    .await
    .unwrap();

    wait_until("the zorgaanbieder refused two versions", WAIT, || async {
        net.node(ZA)
            .fed
            .as_ref()
            .unwrap()
            .stats()
            .refused
            .load(std::sync::atomic::Ordering::Relaxed)
            >= refused_before + 2
    })
    .await;
    wait_until(
        "the zorgaanbieder stored the future version",
        WAIT,
        || async {
            net.node(ZA)
                .node()
                .store()
                .policies()
                .await
                .unwrap()
                .iter()
                .any(|p| p.version == "2099.1")
        },
    )
    .await;
    let stored: Vec<String> = net
        .node(ZA)
        .node()
        .store()
        .policies()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.version)
        .collect();
    assert!(
        !stored.contains(&"2026.9".to_string()) && !stored.contains(&"2026.8".to_string()),
        "{stored:?}"
    );
    assert_eq!(
        net.node(ZA).node().policy().meta.version,
        "2026.1",
        "nothing new in force"
    );
    let refusals = net.audit(ZA).await;
    let text: Vec<String> = refusals
        .iter()
        .map(|r| r.entry.clone())
        .filter(|e| e.contains("\"name\":\"refusal\""))
        .collect();
    assert!(
        text.iter()
            .any(|e| e.contains("corporatie ziet nooit de reden van dakloosheid")),
        "{text:?}"
    );
    assert!(text.iter().any(|e| e.contains("signature")), "{text:?}");
}

/// Found by the simulator's crash runs: a sync message for a withdrawn projection — one that overtook the `Forget`
/// on another stream, or was sent before a crash — brought the deleted fields back at the receiver.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_message_for_a_rotated_projection_does_not_bring_it_back() {
    let (net, case) = rotated_case().await;
    // The old generation, as its sender keeps it (retired, history and all).
    let old = net
        .node(ZA)
        .node()
        .store()
        .projections_of_case(&case)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.sender == ZA && p.receiver == GM && p.retired)
        .expect("the retired generation at its sender");
    assert!(String::from_utf8_lossy(&old.snapshot).contains("participatiewet"));

    // Played to the gemeente by the zorgaanbieder (its own certificate) as a late message, then a sentinel the
    // gemeente answers after it: a node handles one connection's messages in order.
    let za = net.node(ZA);
    let tls = protocol::TlsSetup::from_pem(
        &za.cert.cert_pem,
        &za.cert.key_pem,
        net.ca.cert_pem(),
        protocol::Admitted::new([GM.parse().unwrap()]),
    )
    .unwrap();
    let endpoint = protocol::Endpoint::bind("127.0.0.1:0".parse().unwrap(), &tls).unwrap();
    let gm_addr = net.node(GM).fed.as_ref().unwrap().local_addr().unwrap();
    let conn = endpoint
        .connect(gm_addr, &GM.parse().unwrap())
        .await
        .unwrap();
    let mut am = node::doc::load(&old.snapshot, []).unwrap();
    let data = protocol::sync::SyncSession::new()
        .generate(&mut am)
        .expect("a first sync message");
    conn.send(&protocol::Message::Sync {
        doc: old.wire_id.clone(),
        data,
    })
    .await
    .unwrap();
    conn.send(&protocol::Message::Sync {
        doc: "sentinel".into(),
        data: Vec::new(),
    })
    .await
    .unwrap();
    tokio::time::timeout(WAIT, async {
        loop {
            match conn.recv().await {
                Ok(Some(m)) if m.doc() == Some("sentinel") => break,
                Ok(Some(_)) | Err(protocol::EndpointError::Frame(_)) => {}
                other => panic!("connection ended before the sentinel: {other:?}"),
            }
        }
    })
    .await
    .expect("the gemeente answers the sentinel");

    let at_gemeente = net
        .node(GM)
        .node()
        .store()
        .load_projection(&old.wire_id)
        .await
        .unwrap()
        .expect("the withdrawn generation's facts");
    assert!(at_gemeente.retired, "still withdrawn");
    assert!(
        !String::from_utf8_lossy(&at_gemeente.snapshot).contains("participatiewet"),
        "the deleted income did not come back"
    );
    let h = net.holds(GM, &case).await;
    assert!(
        h.get("aanmelding")
            .is_some_and(|a| a.get("hoofdinkomen").is_none())
    );
}
