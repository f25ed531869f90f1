//! Vergetelheid (AVG art. 17, issue #13) across real nodes over QUIC, shown with the canary method: a case the
//! zorgaanbieder erases is gone from its files — documents, their whole Automerge history, what it received —
//! and the partners that received part of it (the Transferpunt: its projection and the submitted
//! bemiddelingsverzoek held whole; the gemeente: its projection, and what the Transferpunt passed on) are told and
//! delete it, so the canary bytes are in no node's files afterwards. Another client's case is untouched, and the erasure leaves a tombstone in the
//! audit log that names no personal data.

use std::time::Duration;

use node::store::CaseId;
use node::vergetelheid::Grond;
use policies::examples::Client;
use simulator::live::{files_contain, wait_until};
use weerthuis_tests::{TestNet, canaries, canary_client};

const TP: &str = "transferpunt:sdf";
const ZA: &str = "zorgaanbieder:kwadrant";
const GM: &str = "gemeente:GM0080";

const WAIT: Duration = Duration::from_secs(40);

/// A case at the zorgaanbieder with a submitted bemiddelingsverzoek: the Transferpunt holds the request whole and a
/// projection of the rest, the herkomstgemeente a projection.
async fn submitted_case(net: &TestNet, client: &Client, zoekgedrag: &str) -> CaseId {
    net.request_case(client, zoekgedrag, Some("Een woning"), true)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_case_is_gone_from_every_nodes_files_and_the_partners_were_told() {
    let net = TestNet::start(&[TP, ZA, GM]).await;
    net.wait_connected().await;
    let (erased_client, erased_zoekgedrag) = canary_client("vergetelheid", "Vergeetmij", 93000, 1);
    let (kept_client, kept_zoekgedrag) = canary_client("vergetelheid", "Vergeetmij", 93000, 2);
    let erased = submitted_case(&net, &erased_client, &erased_zoekgedrag).await;
    let kept = submitted_case(&net, &kept_client, &kept_zoekgedrag).await;

    // Before: the Transferpunt holds both requests whole and the gemeente the client's name — and the canary
    // search finds them there.
    for (client, zoekgedrag) in [
        (&erased_client, &erased_zoekgedrag),
        (&kept_client, &kept_zoekgedrag),
    ] {
        wait_until("the Transferpunt holds the request", WAIT, || async {
            files_contain(net.node(TP).path(), zoekgedrag)
                && files_contain(net.node(TP).path(), &client.reden_dakloosheid)
        })
        .await;
        wait_until("the gemeente holds the client's name", WAIT, || async {
            files_contain(net.node(GM).path(), &client.name)
        })
        .await;
    }

    let za = net.node(ZA);
    let indexed = |entries: Vec<(Vec<u8>, CaseId)>| entries.iter().any(|(_, c)| *c == erased);
    assert!(
        indexed(za.node().store().bsn_index_entries().await.unwrap()),
        "the BSN index finds the case before"
    );
    let done = za
        .node()
        .erase_case(&za.user, &erased, Grond::ToestemmingIngetrokken)
        .await
        .expect("the case is erased");
    assert_eq!(
        done.told,
        vec![GM.to_string(), TP.to_string()],
        "both partners that received data are told"
    );
    assert!(
        !za.node()
            .store()
            .list_cases()
            .await
            .unwrap()
            .iter()
            .any(|c| c.id == erased),
        "the case is gone at the zorgaanbieder"
    );
    assert!(
        !indexed(za.node().store().bsn_index_entries().await.unwrap()),
        "and so is its BSN index entry"
    );

    // After: not a byte of the erased client's data in any node's files (history, write-ahead log and all).
    for value in canaries(&erased_client, &erased_zoekgedrag) {
        for at in [ZA, TP, GM] {
            wait_until(&format!("{at} no longer holds {value:?}"), WAIT, || async {
                !files_contain(net.node(at).path(), &value)
            })
            .await;
        }
    }
    // Neither partner wrote anything of its own into the case: each erased it whole, the Transferpunt telling the
    // gemeente in turn (what it had passed on).
    for at in [TP, GM] {
        wait_until(&format!("{at} no longer has the case"), WAIT, || async {
            !net.node(at)
                .node()
                .store()
                .list_cases()
                .await
                .unwrap()
                .iter()
                .any(|c| c.id == erased)
        })
        .await;
    }
    // The other client's case is untouched, at the zorgaanbieder and the Transferpunt.
    for value in canaries(&kept_client, &kept_zoekgedrag) {
        for at in [ZA, TP] {
            assert!(
                files_contain(net.node(at).path(), &value),
                "{at} still holds the other case's {value:?}"
            );
        }
    }
    assert!(
        net.holds(TP, &kept)
            .await
            .contains_key("bemiddelingsverzoek"),
        "the Transferpunt still holds the other request"
    );

    // The tombstone: an erasure entry for the case's pseudonym, with the ground and no field, no value.
    let tombstones: Vec<_> = net
        .audit(ZA)
        .await
        .iter()
        .filter_map(|r| r.parse().ok())
        .filter(|e| e.entry.name == node::audit::Operation::Erasure)
        .collect();
    assert_eq!(tombstones.len(), 1, "one tombstone");
    let t = &tombstones[0].entry;
    assert_eq!(t.case_id.as_deref(), Some(erased.as_str()));
    assert!(t.fields.is_empty());
    assert!(t.purpose.contains("art. 17"), "{}", t.purpose);
}
