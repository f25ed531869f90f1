//! Policy versions through the federation: signed by the Transferpunt with a sequence number inside the
//! signature, chosen by that number (never by label or date), refused when replayed, when the signature is not the
//! Transferpunt's or when an invariant breaks; revocable by a signed revocation; a narrowing version takes effect
//! on its date everywhere and rotates the affected projections, a widening one only where the node's own privacy
//! officer accepted it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use node::distribution::{SignedPolicy, SignedRevocation, Standing};
use node::store::{StoredPolicy, StoredRevocation};
use policies::DocumentKind;
use policies::policy::COVENANT_POLICY;
use serde_json::json;
use simulator::live::{LiveNet, LiveOptions, wait_until};
use weerthuis_tests::TestNet;

const ZA: &str = "zorgaanbieder:kwadrant";
const TP: &str = "transferpunt:sdf";
const GM: &str = "gemeente:GM0080";
const WAIT: Duration = Duration::from_secs(30);

/// The shipped policy with another label and effective date.
fn labelled(body: &str, version: &str, effective_from: &str) -> String {
    assert!(
        body.contains("version = \"2026.1\"") && body.contains("effective_from = \"2026-01-01\"")
    );
    body.replace("version = \"2026.1\"", &format!("version = \"{version}\""))
        .replace(
            "effective_from = \"2026-01-01\"",
            &format!("effective_from = \"{effective_from}\""),
        )
}

/// The gemeenten no longer receive the client's main income with the aanmelding: narrows what a zorgaanbieder
/// discloses, widens nothing.
fn narrowed_rules() -> String {
    let gemeente_flows_end = "  \"aanmelding.*\",\n]\n";
    assert_eq!(
        COVENANT_POLICY.matches(gemeente_flows_end).count(),
        3,
        "the three aanmelding flows to gemeenten"
    );
    COVENANT_POLICY.replace(
        gemeente_flows_end,
        &format!("{gemeente_flows_end}except = [\"aanmelding.hoofdinkomen\"]\n"),
    )
}

fn narrowed() -> String {
    labelled(&narrowed_rules(), "2026.2", "2026-01-02")
}

/// The uitstroomgemeente also gets the date the Transferpunt received the request: widens what the Transferpunt
/// discloses, and nothing any other role discloses.
fn widened_rules() -> String {
    let wider = COVENANT_POLICY.replace(
        r#""beoordeling.status", "beoordeling.gekozen_uitstroomgemeente""#,
        r#""beoordeling.status", "beoordeling.datum_ontvangen", "beoordeling.gekozen_uitstroomgemeente""#,
    );
    assert_ne!(wider, COVENANT_POLICY);
    wider
}

/// Sign a version with the Transferpunt's key under `sequence` and publish it at the Transferpunt.
async fn publish(net: &TestNet, body: &str, sequence: u64) {
    let tp = net.node(TP);
    let signed = SignedPolicy::sign(body, sequence, &tp.cert.key_pem).unwrap();
    let policy = policies::Policy::load(body).unwrap();
    assert!(
        node::distribution::store(tp.node(), &signed, &policy)
            .await
            .unwrap(),
        "published"
    );
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Put a version signed with any key straight into the Transferpunt's store, bypassing every check (as a bug or
/// an intruder at the Transferpunt would): it passes it on like any other.
async fn publish_raw(net: &TestNet, body: &str, key_pem: &str, sequence: u64, version: &str) {
    let sig =
        protocol::pki::sign_with_key(key_pem, &node::distribution::policy_payload(sequence, body))
            .unwrap();
    net.node(TP)
        .node()
        .store()
        .put_policy(&StoredPolicy {
            sequence,
            version: version.into(),
            effective_from: "2026-01-01".into(),
            body: body.into(),
            signature: sig,
        })
        .await
        .unwrap();
}

fn in_force(net: &TestNet, p: &str) -> String {
    net.node(p).node().policy().meta.version.clone()
}

async fn wait_in_force(net: &TestNet, partners: &[&str], version: &str) {
    for p in partners {
        wait_until(&format!("{p} has {version} in force"), WAIT, || async {
            in_force(net, p) == version
        })
        .await;
    }
}

/// Long enough for every node's adoption loop to have run a few times.
async fn a_few_adoption_rounds() {
    tokio::time::sleep(node::sync::ADOPT_EVERY * 4).await;
}

fn refused(net: &TestNet, p: &str) -> u64 {
    net.node(p)
        .fed
        .as_ref()
        .unwrap()
        .stats()
        .refused
        .load(Ordering::Relaxed)
}

/// The text of every refusal (security event) in a node's audit log.
async fn refusals(net: &TestNet, p: &str) -> Vec<String> {
    net.audit(p)
        .await
        .into_iter()
        .map(|r| r.entry)
        .filter(|e| e.contains("\"name\":\"refusal\""))
        .collect()
}

/// Send `to` one artefact over a new connection made with `from`'s own certificate; the reason of the `Refused`
/// that comes back.
async fn send_artefact(net: &TestNet, from: &str, to: &str, kind: &str, data: Vec<u8>) -> String {
    let me = net.node(from);
    let tls = protocol::TlsSetup::from_pem(
        &me.cert.cert_pem,
        &me.cert.key_pem,
        net.ca.cert_pem(),
        protocol::Admitted::new([to.parse().unwrap()]),
    )
    .unwrap();
    let endpoint = protocol::Endpoint::bind("127.0.0.1:0".parse().unwrap(), &tls).unwrap();
    let addr = net.node(to).fed.as_ref().unwrap().local_addr().unwrap();
    let conn = endpoint.connect(addr, &to.parse().unwrap()).await.unwrap();
    conn.send(&protocol::Message::Artefact {
        kind: kind.into(),
        data,
    })
    .await
    .unwrap();
    tokio::time::timeout(WAIT, async {
        loop {
            match conn.recv().await {
                Ok(Some(protocol::Message::Refused { doc, reason })) if doc == "beleid" => {
                    break reason;
                }
                Ok(Some(_)) | Err(protocol::EndpointError::Frame(_)) => {}
                other => panic!("connection ended before the refusal: {other:?}"),
            }
        }
    })
    .await
    .expect("the artefact is refused")
}

/// A case whose projection from the zorgaanbieder to the gemeente was rotated by a narrowing policy version (the
/// income left the aanmelding flows).
async fn rotated_case() -> (TestNet, node::store::CaseId) {
    let (net, case, _) = rotated_case_with_the_old_generation().await;
    (net, case)
}

/// [`rotated_case`], with the zorgaanbieder's projection for the gemeente as it was before the rotation (values
/// and all: the sender keeps a withdrawn generation's history without values).
async fn rotated_case_with_the_old_generation()
-> (TestNet, node::store::CaseId, node::store::ProjectionRecord) {
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
    let old = net
        .node(ZA)
        .node()
        .store()
        .projections_of_case(&case)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.sender == ZA && p.receiver == GM && !p.retired)
        .expect("the zorgaanbieder's projection for the gemeente");

    // The Transferpunt signs and publishes 2026.2; every node puts it in force (its date has come).
    publish(&net, &narrowed(), 1).await;
    wait_in_force(&net, &[TP, ZA, GM], "2026.2").await;

    // The gemeente's projection was rotated: the old generation is gone, the new one lacks the income.
    wait_until("the gemeente no longer holds the income", WAIT, || async {
        let h = net.holds(GM, &case).await;
        h.get("aanmelding")
            .is_some_and(|a| a.get("hoofdinkomen").is_none() && a.get("leefsituatie").is_some())
    })
    .await;
    (net, case, old)
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
    let refused_before = refused(&net, ZA);

    // Breaks an invariant: reden_dakloosheid to the corporatie. Signed by the Transferpunt all the same.
    let breaking = COVENANT_POLICY
        .replace(
            "fields = [\"aanmeldbericht.*\"]",
            "fields = [\"aanmeldbericht.*\", \"registratie.reden_dakloosheid\"]",
        )
        .replace("version = \"2026.1\"", "version = \"2026.9\"");
    publish_raw(&net, &breaking, &tp_key, 1, "2026.9").await;
    // Signed by someone else than the Transferpunt.
    let other_key = net.node(GM).cert.key_pem.clone();
    let forged = COVENANT_POLICY.replace("version = \"2026.1\"", "version = \"2026.8\"");
    publish_raw(&net, &forged, &other_key, 2, "2026.8").await;
    // Valid, but not yet in force.
    publish(&net, &labelled(COVENANT_POLICY, "2099.1", "2099-01-01"), 3).await;

    wait_until("the zorgaanbieder refused two versions", WAIT, || async {
        refused(&net, ZA) >= refused_before + 2
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
    assert_eq!(stored, vec!["2099.1".to_string()]);
    assert_eq!(in_force(&net, ZA), "2026.1", "nothing new in force");
    let text = refusals(&net, ZA).await;
    assert!(
        text.iter()
            .any(|e| e.contains("corporatie ziet nooit de reden van dakloosheid")),
        "{text:?}"
    );
    assert!(text.iter().any(|e| e.contains("signature")), "{text:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_version_with_a_later_date_does_not_roll_back_a_newer_one() {
    let net = TestNet::start(&[TP, ZA, GM]).await;
    // 2026.9 is signed first (sequence 1), 2026.10 after it (sequence 2) with an earlier date. Compared as
    // (date, label), 2026.9 would win twice over: its date is later, and "2026.9" > "2026.10" as strings.
    publish(
        &net,
        &labelled(&narrowed_rules(), "2026.9", "2026-01-03"),
        1,
    )
    .await;
    publish(
        &net,
        &labelled(&narrowed_rules(), "2026.10", "2026-01-02"),
        2,
    )
    .await;
    wait_in_force(&net, &[TP, ZA, GM], "2026.10").await;
    a_few_adoption_rounds().await;
    for p in [TP, ZA, GM] {
        assert_eq!(
            in_force(&net, p),
            "2026.10",
            "{p} stays on the newest version"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_old_policy_version_is_refused() {
    let net = TestNet::start(&[TP, ZA, GM]).await;
    let tp = net.node(TP);
    // A version the Transferpunt once signed as sequence 1 but never published (a draft left lying around), and
    // the versions it did publish, 2 and 3.
    let old_body = labelled(COVENANT_POLICY, "2026.2-concept", "2026-01-05");
    let old = SignedPolicy::sign(&old_body, 1, &tp.cert.key_pem).unwrap();
    publish(
        &net,
        &labelled(&narrowed_rules(), "2026.2", "2026-01-02"),
        2,
    )
    .await;
    publish(
        &net,
        &labelled(&narrowed_rules(), "2026.3", "2026-01-03"),
        3,
    )
    .await;
    wait_in_force(&net, &[GM], "2026.3").await;

    // Publishing it now is refused at the Transferpunt itself.
    let err =
        node::distribution::store(tp.node(), &old, &policies::Policy::load(&old_body).unwrap())
            .await
            .unwrap_err()
            .to_string();
    assert!(
        err.contains("sequence` is 1") && err.contains("sequence 3"),
        "{err}"
    );

    // Replayed to the gemeente over a connection with the Transferpunt's own certificate.
    let reason = send_artefact(
        &net,
        TP,
        GM,
        node::distribution::POLICY_KIND,
        old.to_bytes(),
    )
    .await;
    assert!(
        reason.contains("2026.2-concept")
            && reason.contains("is 1")
            && reason.contains("sequence 3"),
        "names both numbers: {reason}"
    );
    let text = refusals(&net, GM).await;
    assert!(
        text.iter()
            .any(|e| e.contains("is 1, not above sequence 3")),
        "a security event: {text:?}"
    );
    a_few_adoption_rounds().await;
    assert_eq!(in_force(&net, GM), "2026.3");
    assert!(
        !net.node(GM)
            .node()
            .store()
            .policies()
            .await
            .unwrap()
            .iter()
            .any(|p| p.sequence == 1),
        "not stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_version_is_not_in_force() {
    let net = TestNet::start(&[TP, ZA, GM]).await;
    publish(
        &net,
        &labelled(&narrowed_rules(), "2026.2", "2026-01-02"),
        1,
    )
    .await;
    publish(
        &net,
        &labelled(&narrowed_rules(), "2026.3", "2026-01-03"),
        2,
    )
    .await;
    wait_in_force(&net, &[TP, ZA, GM], "2026.3").await;

    // The Transferpunt revokes 2026.3: every node falls back to 2026.2, the highest version before it.
    let tp = net.node(TP);
    let (_, version) = node::distribution::revoke(tp.node(), 2, &tp.cert.key_pem)
        .await
        .unwrap();
    assert_eq!(version, "2026.3");
    wait_in_force(&net, &[TP, ZA, GM], "2026.2").await;
    // A version signed before the revocation reached a node is revoked all the same: 2026.4 (sequence 3) is
    // published and revoked at once, and nowhere in force for longer than the revocation takes to arrive.
    publish(
        &net,
        &labelled(&narrowed_rules(), "2026.4", "2026-01-04"),
        3,
    )
    .await;
    node::distribution::revoke(tp.node(), 3, &tp.cert.key_pem)
        .await
        .unwrap();
    for p in [ZA, GM] {
        wait_until(&format!("{p} holds both revocations"), WAIT, || async {
            net.node(p)
                .node()
                .store()
                .revocations()
                .await
                .unwrap()
                .len()
                == 2
        })
        .await;
    }
    a_few_adoption_rounds().await;
    for p in [TP, ZA, GM] {
        assert_eq!(in_force(&net, p), "2026.2", "{p}");
        let last = net
            .node(p)
            .node()
            .store()
            .policy_adoptions()
            .await
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!((last.sequence, last.version.as_str()), (1, "2026.2"), "{p}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_revocation_is_refused() {
    let net = TestNet::start(&[TP, ZA, GM]).await;
    publish(&net, &narrowed(), 1).await;
    wait_in_force(&net, &[ZA], "2026.2").await;
    let refused_before = refused(&net, ZA);

    // "Revoke sequence 1", signed with the gemeente's key, passed on by the Transferpunt.
    let forged = SignedRevocation::sign(1, &net.node(GM).cert.key_pem).unwrap();
    net.node(TP)
        .node()
        .store()
        .put_revocation(&StoredRevocation {
            sequence: 1,
            signature: unhex(&forged.signature),
        })
        .await
        .unwrap();
    // The counter rises before the security event is in the audit log: wait for the record.
    wait_until("the zorgaanbieder refused the revocation", WAIT, || async {
        refused(&net, ZA) > refused_before
            && refusals(&net, ZA).await.iter().any(|e| {
                e.contains("policy-revocation refused") && e.contains("`signature` does not verify")
            })
    })
    .await;
    // A revocation signed by the Transferpunt, but offered by the zorgaanbieder: only the Transferpunt's word
    // counts, whatever it carries (security event; the gemeente does not answer it).
    let genuine = SignedRevocation::sign(1, &net.node(TP).cert.key_pem).unwrap();
    let before = refused(&net, GM);
    let za = net.node(ZA);
    let tls = protocol::TlsSetup::from_pem(
        &za.cert.cert_pem,
        &za.cert.key_pem,
        net.ca.cert_pem(),
        protocol::Admitted::new([GM.parse().unwrap()]),
    )
    .unwrap();
    let endpoint = protocol::Endpoint::bind("127.0.0.1:0".parse().unwrap(), &tls).unwrap();
    let conn = endpoint
        .connect(
            net.node(GM).fed.as_ref().unwrap().local_addr().unwrap(),
            &GM.parse().unwrap(),
        )
        .await
        .unwrap();
    conn.send(&protocol::Message::Artefact {
        kind: node::distribution::REVOCATION_KIND.into(),
        data: genuine.to_bytes(),
    })
    .await
    .unwrap();
    wait_until("the gemeente refused it", WAIT, || async {
        refused(&net, GM) > before
            && refusals(&net, GM).await.iter().any(|e| {
                e.contains(
                    "policy-revocation offered by zorgaanbieder:kwadrant, not by the Transferpunt",
                )
            })
    })
    .await;
    assert!(
        net.node(GM)
            .node()
            .store()
            .revocations()
            .await
            .unwrap()
            .is_empty()
    );

    assert!(
        net.node(ZA)
            .node()
            .store()
            .revocations()
            .await
            .unwrap()
            .is_empty()
    );
    a_few_adoption_rounds().await;
    assert_eq!(in_force(&net, ZA), "2026.2", "still in force");
}

/// A settable clock for every node of a federation.
fn clock_at(t: &Arc<AtomicI64>) -> node::store::Clock {
    let t = t.clone();
    Arc::new(move || time::OffsetDateTime::from_unix_timestamp(t.load(Ordering::Relaxed)).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_narrowing_version_takes_effect_on_its_date() {
    // 1 March 2026, noon.
    let now = Arc::new(AtomicI64::new(1_772_366_400));
    weerthuis_tests::init_logging();
    let net = TestNet(
        LiveNet::start_with(
            &[TP, ZA, GM],
            LiveOptions {
                clock: Some(clock_at(&now)),
                ..LiveOptions::default()
            },
        )
        .await
        .unwrap(),
    );
    // Sequence 1 widens what the Transferpunt discloses and is due: in force at the zorgaanbieder and the
    // gemeente, waiting at the Transferpunt. Sequence 2 narrows, from 2 March.
    publish(&net, &labelled(&widened_rules(), "2026.2", "2026-03-01"), 1).await;
    publish(
        &net,
        &labelled(&narrowed_rules(), "2026.3", "2026-03-02"),
        2,
    )
    .await;
    wait_in_force(&net, &[ZA, GM], "2026.2").await;
    a_few_adoption_rounds().await;
    assert_eq!(in_force(&net, TP), "2026.1", "the widening version waits");
    for p in [ZA, GM] {
        assert_eq!(
            in_force(&net, p),
            "2026.2",
            "{p}: 2026.3 waits for its date"
        );
    }

    // 2 March: the narrowing version is in force everywhere, without anyone accepting it.
    now.fetch_add(24 * 3600, Ordering::Relaxed);
    wait_in_force(&net, &[TP, ZA, GM], "2026.3").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_widening_version_waits_for_the_privacy_officer() {
    let net = TestNet::start(&[TP, ZA, GM]).await;
    publish(&net, &labelled(&widened_rules(), "2026.2", "2026-01-02"), 1).await;
    // It widens only what the Transferpunt discloses: in force at the others on its date.
    wait_in_force(&net, &[ZA, GM], "2026.2").await;
    a_few_adoption_rounds().await;
    assert_eq!(
        in_force(&net, TP),
        "2026.1",
        "waits for the Transferpunt's privacy officer"
    );

    // What the privacy officer is shown: exactly the new disclosure, by the Transferpunt.
    let tp = net.node(TP).node();
    let outlook = node::distribution::outlook(tp, &policies::Policy::covenant())
        .await
        .unwrap();
    let [upcoming] = &outlook.upcoming[..] else {
        panic!("one version above the one in force: {outlook:?}")
    };
    assert_eq!(upcoming.standing, Standing::AwaitsAcceptance);
    let shown = upcoming.newly.to_string();
    assert!(
        shown.contains("ontvangen van transferpunt")
            && shown.contains("beoordeling.datum_ontvangen"),
        "{shown}"
    );
    assert!(
        upcoming
            .newly
            .entries
            .iter()
            .all(|e| e.added && e.field.qualified_name() == "beoordeling.datum_ontvangen")
    );

    let (accepted, new) = node::distribution::accept(tp, "2026.2", "privacy officer SDF")
        .await
        .unwrap();
    assert!(new && accepted.sequence == 1);
    wait_in_force(&net, &[TP], "2026.2").await;
    let audit = net.audit(TP).await;
    assert!(
        audit
            .iter()
            .any(|r| r.entry.contains("\"name\":\"policy_decision\"")
                && r.entry.contains("aanvaard door de privacy officer")
                && r.entry.contains("privacy officer SDF")),
        "the acceptance is in the audit log"
    );
}

/// Found by the simulator's crash runs: a sync message for a withdrawn projection — one that overtook the `Forget`
/// on another stream, or was sent before a crash — brought the deleted fields back at the receiver.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_message_for_a_rotated_projection_does_not_bring_it_back() {
    let (net, case, old) = rotated_case_with_the_old_generation().await;
    // The old generation as it was sent, values and all; its sender now keeps its history without values.
    assert!(String::from_utf8_lossy(&old.snapshot).contains("participatiewet"));
    let retired = net
        .node(ZA)
        .node()
        .store()
        .load_projection(&old.wire_id)
        .await
        .unwrap()
        .expect("the retired generation at its sender");
    assert!(retired.retired);
    assert!(
        !String::from_utf8_lossy(&retired.snapshot).contains("participatiewet"),
        "the sender keeps no value of a withdrawn generation"
    );

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
        traceparent: None,
    })
    .await
    .unwrap();
    conn.send(&protocol::Message::Sync {
        doc: "sentinel".into(),
        data: Vec::new(),
        traceparent: None,
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
