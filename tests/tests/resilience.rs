//! Nodes that go away and come back: a Transferpunt restarted in the middle of a sync, a node partitioned away
//! while both sides change the same co-written document, and a gemeente that was offline while many cases were
//! created. Afterwards every node holds the same values as the node that wrote them.

use std::time::Duration;

use node::store::CaseId;
use policies::DocumentKind;
use policies::examples::{self as ex, Client};
use serde_json::{Value, json};
use simulator::live::wait_until;
use weerthuis_tests::TestNet;

const ZA: &str = "zorgaanbieder:kwadrant";
const TP: &str = "transferpunt:sdf";
const GM: &str = "gemeente:GM0080";

const WAIT: Duration = Duration::from_secs(40);

fn registratie(n: usize) -> Value {
    ex::registratie(
        &Client::numbered(n as u64),
        ZA,
        true,
        "maatschappelijke_opvang",
        "GM0080",
        "2025-09-01",
    )
}

fn aanmelding(n: usize) -> Value {
    ex::aanmelding(&Client::numbered(n as u64), "2025-09-10")
}

/// Register `n` new cases at the zorgaanbieder, each with a registratie and an aanmelding.
async fn register(net: &TestNet, from: usize, n: usize) -> Vec<CaseId> {
    let mut cases = Vec::new();
    for i in from..from + n {
        let case = net.new_case(ZA).await;
        net.write(ZA, &case, DocumentKind::Registratie, None, registratie(i))
            .await
            .unwrap();
        net.write(ZA, &case, DocumentKind::Aanmelding, None, aanmelding(i))
            .await
            .unwrap();
        cases.push(case);
    }
    cases
}

/// Whether `at` holds `section` of `case` exactly as the zorgaanbieder wrote it, restricted to the fields `at`
/// holds (a projection carries only some).
async fn holds_as_written(net: &TestNet, at: &str, case: &CaseId, section: &str) -> bool {
    let theirs = net.holds(at, case).await;
    let ours = net.holds(ZA, case).await;
    let (Some(Value::Object(t)), Some(Value::Object(o))) = (theirs.get(section), ours.get(section))
    else {
        return false;
    };
    !t.is_empty() && t.iter().all(|(k, v)| o.get(k) == Some(v))
}

async fn all_arrived(net: &TestNet, at: &str, cases: &[CaseId], sections: &[&str]) -> bool {
    for case in cases {
        for section in sections {
            if !holds_as_written(net, at, case, section).await {
                return false;
            }
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transferpunt_restarted_mid_sync_catches_up() {
    let mut net = TestNet::start(&[ZA, TP, GM]).await;
    let first = register(&net, 0, 20).await;
    // Stop it as soon as the first case is in: the rest is still on its way.
    wait_until("the first case reaches the Transferpunt", WAIT, || async {
        net.holds(TP, &first[0]).await.contains_key("registratie")
    })
    .await;
    net.stop(TP).await;
    // Meanwhile the zorgaanbieder goes on: new cases and a changed aanmelding.
    let second = register(&net, 20, 5).await;
    let mut changed = aanmelding(0);
    changed["hoofdinkomen"] = json!("werk");
    net.write(ZA, &first[0], DocumentKind::Aanmelding, None, changed)
        .await
        .unwrap();
    net.restart(TP);

    let all: Vec<CaseId> = first.iter().chain(&second).cloned().collect();
    wait_until(
        "every case reaches the Transferpunt as written",
        WAIT,
        || async { all_arrived(&net, TP, &all, &["registratie", "aanmelding"]).await },
    )
    .await;
    assert_eq!(
        net.holds(TP, &first[0]).await["aanmelding"]["hoofdinkomen"],
        "werk"
    );
    wait_until("and the gemeente", WAIT, || async {
        all_arrived(&net, GM, &all, &["registratie", "aanmelding"]).await
    })
    .await;
    // Whole registratie at the Transferpunt, BSN but no reden_dakloosheid at the gemeente.
    let tp = net.holds(TP, &all[24]).await;
    assert_eq!(
        tp["registratie"],
        net.holds(ZA, &all[24]).await["registratie"]
    );
    let gm = net.holds(GM, &all[24]).await;
    assert!(gm["registratie"].get("reden_dakloosheid").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_edits_on_both_sides_of_a_partition_merge() {
    let mut net = TestNet::start(&[ZA, TP, GM]).await;
    let case = register(&net, 0, 1).await.remove(0);
    wait_until("the Transferpunt holds the registratie", WAIT, || async {
        net.holds(TP, &case).await.contains_key("registratie")
    })
    .await;
    // Submitted (only a submitted request travels to the Transferpunt).
    let verzoek = ex::ingediend(
        ex::bemiddelingsverzoek("2025-11-03", "Kwadrant", Some("Een woning")),
        "2025-11-03",
        1,
    );
    net.write(
        ZA,
        &case,
        DocumentKind::Bemiddelingsverzoek,
        None,
        verzoek.clone(),
    )
    .await
    .unwrap();
    wait_until(
        "the Transferpunt holds the bemiddelingsverzoek",
        WAIT,
        || async { net.holds(TP, &case).await.get("bemiddelingsverzoek") == Some(&verzoek) },
    )
    .await;

    // The Transferpunt is cut off. Both sides change the case.
    net.stop(TP).await;
    let mut za_aanmelding = aanmelding(0);
    za_aanmelding["hoofdinkomen"] = json!("participatiewet");
    net.write(
        ZA,
        &case,
        DocumentKind::Aanmelding,
        None,
        za_aanmelding.clone(),
    )
    .await
    .unwrap();
    let mut za_verzoek = verzoek.clone();
    za_verzoek["woonwens"] = json!("kleine woning in Leeuwarden");
    net.write(
        ZA,
        &case,
        DocumentKind::Bemiddelingsverzoek,
        None,
        za_verzoek.clone(),
    )
    .await
    .unwrap();
    // The Transferpunt marks what is missing in the same document, without having seen the woonwens.
    let mut tp_verzoek = net.holds(TP, &case).await["bemiddelingsverzoek"].clone();
    tp_verzoek["ontbrekende_gegevens"] = json!(["aanmelding.hoofdinkomen"]);
    tp_verzoek["toelichting_transferpunt"] = json!("Graag het hoofdinkomen aanvullen.");
    net.write(
        TP,
        &case,
        DocumentKind::Bemiddelingsverzoek,
        None,
        tp_verzoek,
    )
    .await
    .unwrap();
    net.restart(TP);

    let mut merged = za_verzoek;
    merged["ontbrekende_gegevens"] = json!(["aanmelding.hoofdinkomen"]);
    merged["toelichting_transferpunt"] = json!("Graag het hoofdinkomen aanvullen.");
    wait_until("both hold the merged bemiddelingsverzoek", WAIT, || async {
        net.holds(TP, &case).await.get("bemiddelingsverzoek") == Some(&merged)
            && net.holds(ZA, &case).await.get("bemiddelingsverzoek") == Some(&merged)
    })
    .await;
    wait_until(
        "the Transferpunt holds the new aanmelding",
        WAIT,
        || async { net.holds(TP, &case).await.get("aanmelding") == Some(&za_aanmelding) },
    )
    .await;
    // The same document on both nodes: same history, same heads.
    let heads = |at: &str| {
        let n = net.node(at);
        let key =
            node::store::DocKey::instance(case.clone(), DocumentKind::Bemiddelingsverzoek, "");
        async move {
            let stored = n.node().store().load_document(&key).await.unwrap().unwrap();
            let mut am = stored.to_automerge(&n.id).unwrap();
            am.get_heads()
        }
    };
    wait_until(
        "the bemiddelingsverzoek has the same heads on both",
        WAIT,
        || async { heads(TP).await == heads(ZA).await },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gemeente_offline_while_many_cases_were_created_catches_up() {
    let mut net = TestNet::start(&[ZA, TP, GM]).await;
    let before = register(&net, 0, 3).await;
    wait_until("the gemeente holds the first cases", WAIT, || async {
        all_arrived(&net, GM, &before, &["aanmelding"]).await
    })
    .await;
    net.stop(GM).await;
    let during = register(&net, 3, 40).await;
    wait_until("the Transferpunt holds them all", WAIT, || async {
        all_arrived(&net, TP, &during, &["registratie", "aanmelding"]).await
    })
    .await;
    for case in &during {
        assert!(
            net.holds(GM, case).await.is_empty(),
            "nothing while offline"
        );
    }
    net.restart(GM);
    wait_until("the gemeente catches up on every case", WAIT, || async {
        all_arrived(&net, GM, &during, &["registratie", "aanmelding"]).await
    })
    .await;
    for case in before.iter().chain(&during) {
        let gm = net.holds(GM, case).await;
        assert!(gm["registratie"].get("reden_dakloosheid").is_none());
    }
}

/// Regression: a peer that came back on a new address was never dialled again.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_zorgaanbieder_is_redialled_at_its_new_address() {
    let mut net = TestNet::start(&[ZA, TP]).await;
    let first = register(&net, 0, 1).await;
    wait_until("first arrives", WAIT, || async {
        all_arrived(&net, TP, &first, &["registratie"]).await
    })
    .await;
    net.stop(ZA).await;
    let later = register(&net, 1, 1).await;
    net.restart(ZA); // a new port, published in a new directory
    wait_until(
        "the case written while the zorgaanbieder was down reaches the Transferpunt",
        Duration::from_secs(20),
        || async { all_arrived(&net, TP, &later, &["registratie"]).await },
    )
    .await;
}
