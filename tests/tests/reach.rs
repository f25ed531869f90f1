//! Whom a node connects to (issue #14, goal 3): every node stays connected with the Transferpunt; any other pair
//! connects only while a case names it, and the dialling side closes the connection once it is idle. At national
//! size a full mesh would be 3.4 million pairs; these tests show the rule on real nodes over real QUIC.

use std::time::Duration;

use node::harness::LiveOptions;
use policies::DocumentKind;
use serde_json::json;
use simulator::live::wait_until;
use weerthuis_tests::TestNet;

const TP: &str = "transferpunt:sdf";
const ZA: &str = "zorgaanbieder:kwadrant";
const VERBLIJF: &str = "gemeente:GM0080";
const HERKOMST: &str = "gemeente:GM0074";
const ELKIEN: &str = "corporatie:elkien";
const ACCOLADE: &str = "corporatie:accolade";
const WAIT: Duration = Duration::from_secs(30);
/// Short, so the test sees a connection close; production waits minutes (`node::sync::IDLE_CLOSE`).
const IDLE: Duration = Duration::from_millis(1500);

fn connected(net: &TestNet, p: &str) -> Vec<String> {
    net.node(p)
        .fed
        .as_ref()
        .map(|f| f.connected().iter().map(|c| c.to_string()).collect())
        .unwrap_or_default()
}

/// Whom `at` received a projection of `case` from.
async fn senders(net: &TestNet, at: &str, case: &node::store::CaseId) -> Vec<String> {
    net.node(at)
        .node()
        .store()
        .projections_of_case(case)
        .await
        .unwrap()
        .into_iter()
        .filter(|p| p.receiver == at)
        .map(|p| p.sender)
        .collect()
}

async fn aanmelding_name(net: &TestNet, at: &str, case: &node::store::CaseId) -> Option<String> {
    net.holds(at, case)
        .await
        .get("aanmelding")
        .and_then(|a| a.get("achternaam_voorletters"))
        .and_then(|v| v.as_str().map(str::to_string))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_transferpunt_stays_connected_and_a_case_connects_the_partners_it_names() {
    let mut net = TestNet::start_with(
        &[TP, ZA, VERBLIJF, HERKOMST, ELKIEN, ACCOLADE],
        LiveOptions {
            idle_close: Some(IDLE),
            ..LiveOptions::default()
        },
    )
    .await;
    net.wait_connected().await;
    // Before any case: each node is connected with the Transferpunt only.
    for p in [ZA, VERBLIJF, HERKOMST, ELKIEN, ACCOLADE] {
        assert_eq!(connected(&net, p), vec![TP.to_string()], "{p}");
    }
    assert_eq!(connected(&net, TP).len(), 5);

    // A case at the zorgaanbieder names the two gemeenten (verblijf and herkomst): it dials them itself.
    let seed = weerthuis_tests::seed_for("reach") % 100_000;
    let first = format!("Bereik-{seed}, A.");
    let case = net.new_case(ZA).await;
    net.write(ZA, &case, DocumentKind::Registratie, None, json!({
        "achternaam_voorletters": first, "bsn": "999993653", "geboortedatum": "1979-02-03",
        "soort_voorziening": "maatschappelijke_opvang", "herkomstgemeente": "GM0074", "verblijfgemeente": "GM0080",
        "start_verblijf_opvang": "2025-05-01", "betrokken_zorgaanbieder": ZA, "reden_dakloosheid": "Schulden",
        "toestemming_gegevensdeling": true, "datum_toestemming": "2025-05-01"
    })).await.unwrap();
    write_aanmelding(&net, &case, &first).await;
    for g in [VERBLIJF, HERKOMST] {
        wait_until(&format!("{g} holds the aanmelding"), WAIT, || async {
            aanmelding_name(&net, g, &case).await.as_deref() == Some(first.as_str())
        })
        .await;
        // Straight from the zorgaanbieder, over the connection the case made.
        wait_until(
            &format!("{g} received from the zorgaanbieder itself"),
            WAIT,
            || async { senders(&net, g, &case).await.contains(&ZA.to_string()) },
        )
        .await;
    }
    // The corporaties no case names: never connected with anyone but the Transferpunt, and nothing of the case.
    for c in [ELKIEN, ACCOLADE] {
        assert_eq!(connected(&net, c), vec![TP.to_string()], "{c}");
        assert!(net.holds(c, &case).await.is_empty(), "{c}");
    }

    // Idle: the zorgaanbieder closes the connections it dialled; the Transferpunt's stay.
    wait_until("the idle connections close", WAIT, || async {
        connected(&net, ZA) == vec![TP.to_string()]
            && [VERBLIJF, HERKOMST]
                .iter()
                .all(|g| connected(&net, g) == vec![TP.to_string()])
    })
    .await;
    assert_eq!(
        net.connections(),
        (5, 5),
        "every node still with the Transferpunt"
    );

    // The next change dials again.
    let second = format!("Bereik-{seed}, B.");
    write_aanmelding(&net, &case, &second).await;
    for g in [VERBLIJF, HERKOMST] {
        wait_until(
            &format!("{g} holds the changed aanmelding"),
            WAIT,
            || async { aanmelding_name(&net, g, &case).await.as_deref() == Some(second.as_str()) },
        )
        .await;
    }

    // A restarted zorgaanbieder dials the partners its cases name, to reconcile what changed while it was away.
    wait_until("the idle connections close again", WAIT, || async {
        connected(&net, ZA) == vec![TP.to_string()]
    })
    .await;
    net.0.stop(ZA).await;
    net.0.restart(ZA).unwrap();
    wait_until(
        "the restarted zorgaanbieder dials the gemeenten",
        WAIT,
        || async {
            let c = connected(&net, ZA);
            c.contains(&VERBLIJF.to_string()) || c.contains(&HERKOMST.to_string())
        },
    )
    .await;
    assert!(
        !connected(&net, ZA)
            .iter()
            .any(|c| c.starts_with("corporatie:")),
        "no corporatie is dialled"
    );
    net.shutdown().await;
}

/// A case at the zorgaanbieder for a client staying in GM0080 who comes from `herkomst`, named `name`.
async fn case_from(net: &TestNet, herkomst: &str, name: &str) -> node::store::CaseId {
    let case = net.new_case(ZA).await;
    net.write(ZA, &case, DocumentKind::Registratie, None, json!({
        "achternaam_voorletters": name, "bsn": "999993653", "geboortedatum": "1979-02-03",
        "soort_voorziening": "maatschappelijke_opvang", "herkomstgemeente": herkomst, "verblijfgemeente": "GM0080",
        "start_verblijf_opvang": "2025-05-01", "betrokken_zorgaanbieder": ZA, "reden_dakloosheid": "Schulden",
        "toestemming_gegevensdeling": true, "datum_toestemming": "2025-05-01"
    })).await.unwrap();
    write_aanmelding(net, &case, name).await;
    case
}

/// The zorgaanbieder writes the case's aanmelding, for a client named `name`.
async fn write_aanmelding(net: &TestNet, case: &node::store::CaseId, name: &str) {
    net.write(ZA, case, DocumentKind::Aanmelding, None, json!({
        "achternaam_voorletters": name, "datum_aanmelding": "2025-05-08", "leefsituatie": "alleenstaand",
        "hoofdinkomen": "participatiewet"
    }))
    .await
    .unwrap();
}

fn reconciled_at_start(net: &TestNet, p: &str) -> u64 {
    net.node(p)
        .fed
        .as_ref()
        .unwrap()
        .stats()
        .reconciled_at_start
        .load(std::sync::atomic::Ordering::Relaxed)
}

/// A reconnect after a session that ended with everything reconciled reconciles the cases changed since and the
/// cases exchanged with the peer — not every case the node holds. What lets a national Transferpunt with 25,000
/// cases take back 2,600 peers after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_reconciles_what_changed_and_what_was_exchanged_not_every_case() {
    let mut net = TestNet::start(&[TP, ZA, VERBLIJF, HERKOMST]).await;
    net.wait_connected().await;
    let seed = weerthuis_tests::seed_for("reach-mark") % 100_000;
    // Four cases of clients from elsewhere (GM0074 relates to none of them), one from GM0074.
    let mut elsewhere = Vec::new();
    for (i, herkomst) in ["GM0059", "GM0072", "GM0090", "GM1900"].iter().enumerate() {
        elsewhere.push(case_from(&net, herkomst, &format!("Elders-{seed}-{i}, E.")).await);
    }
    let theirs = case_from(&net, "GM0074", &format!("Herkomst-{seed}, H.")).await;
    wait_until("GM0074 holds its case", WAIT, || async {
        aanmelding_name(&net, HERKOMST, &theirs).await.is_some()
    })
    .await;
    wait_until("the Transferpunt holds every case", WAIT, || async {
        let mut all = true;
        for c in elsewhere.iter().chain([&theirs]) {
            all &= aanmelding_name(&net, TP, c).await.is_some();
        }
        all
    })
    .await;
    // The Transferpunt's session with GM0074 brings it up to date with every case (it takes none of the four);
    // then GM0074 goes away.
    let written = net.node(TP).node().store().change_mark().await.unwrap();
    let herkomst: policies::PartnerId = HERKOMST.parse().unwrap();
    wait_until(
        "the session with GM0074 is up to date with the writes",
        WAIT,
        || async {
            net.node(TP)
                .fed
                .as_ref()
                .unwrap()
                .reconciled_up_to(&herkomst)
                .is_some_and(|m| m >= written)
        },
    )
    .await;
    net.0.stop(HERKOMST).await;
    wait_until("the Transferpunt saw GM0074 go", WAIT, || async {
        !connected(&net, TP).contains(&HERKOMST.to_string())
    })
    .await;
    // While it is away, its case changes at the zorgaanbieder, and so does one it has nothing to do with.
    let changed = format!("Herkomst-{seed}, G.");
    write_aanmelding(&net, &theirs, &changed).await;
    let before = reconciled_at_start(&net, TP);
    net.0.restart(HERKOMST).unwrap();
    wait_until("GM0074 catches up", WAIT, || async {
        aanmelding_name(&net, HERKOMST, &theirs).await.as_deref() == Some(changed.as_str())
    })
    .await;
    wait_until("the Transferpunt reconnected with GM0074", WAIT, || async {
        connected(&net, TP).contains(&HERKOMST.to_string())
    })
    .await;
    let reconciled = reconciled_at_start(&net, TP) - before;
    assert!(
        (1..=2).contains(&reconciled),
        "the Transferpunt reconciled {reconciled} cases with GM0074: its own case (and what changed), not all 5"
    );
    // And GM0074 holds nothing of the other cases.
    for c in &elsewhere {
        assert!(net.holds(HERKOMST, c).await.is_empty());
    }
    net.shutdown().await;
}

/// A Transferpunt that crashes ends no session cleanly, so no session keeps its mark as it ends. The marks its
/// running sessions moved are stored every few seconds (`keep_marks_loop`), so after recovering it reconciles
/// with each peer the cases exchanged with it and those changed since — not every case with every peer, which at
/// national size is 25,000 cases times 2,600 peers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_transferpunt_kept_the_marks_of_its_running_sessions() {
    let mut net = TestNet::start(&[TP, ZA, VERBLIJF, HERKOMST]).await;
    net.wait_connected().await;
    let seed = weerthuis_tests::seed_for("reach-crash-mark") % 100_000;
    const ELSEWHERE: usize = 6;
    let mut cases = Vec::new();
    for i in 0..ELSEWHERE {
        cases.push(case_from(&net, "GM0059", &format!("Elders-{seed}-{i}, E.")).await);
    }
    let theirs = case_from(&net, "GM0074", &format!("Herkomst-{seed}, H.")).await;
    cases.push(theirs.clone());
    wait_until("GM0074 holds its case", WAIT, || async {
        aanmelding_name(&net, HERKOMST, &theirs).await.is_some()
    })
    .await;
    wait_until("the Transferpunt holds every case", WAIT, || async {
        let mut all = true;
        for c in &cases {
            all &= aanmelding_name(&net, TP, c).await.is_some();
        }
        all
    })
    .await;
    // Every session of the Transferpunt has its mark at the writes above stored, while it still runs.
    let written = net.node(TP).node().store().change_mark().await.unwrap();
    wait_until(
        "the Transferpunt stored the marks of its running sessions",
        Duration::from_secs(60),
        || async {
            let store = net.node(TP).node().store().clone();
            let mut all = true;
            for peer in [ZA, VERBLIJF, HERKOMST] {
                all &= matches!(store.sync_mark(peer).await, Ok(Some((seq, _))) if seq >= written);
            }
            all
        },
    )
    .await;
    net.0.crash(TP);
    net.0.recover(TP).await.unwrap();
    wait_until(
        "every session of the recovered Transferpunt did its first reconcile",
        WAIT,
        || async {
            net.node(TP).fed.as_ref().is_some_and(|f| {
                f.stats()
                    .sessions_reconciled
                    .load(std::sync::atomic::Ordering::Relaxed)
                    >= 3
            })
        },
    )
    .await;
    let reconciled = reconciled_at_start(&net, TP);
    let every = 3 * cases.len() as u64;
    // The zorgaanbieder and GM0080 exchanged every case with it; GM0074 only its own.
    assert!(
        reconciled < every && reconciled > 2 * cases.len() as u64,
        "the recovered Transferpunt reconciled {reconciled} cases at the start of its sessions: the {} exchanged \
         with each peer, not every case with every peer ({every})",
        2 * cases.len() + 1
    );
    // Nothing was lost by it: the Transferpunt still holds every case, and a new write reaches it.
    let changed = format!("Herkomst-{seed}, G.");
    write_aanmelding(&net, &theirs, &changed).await;
    wait_until(
        "the change reaches the Transferpunt and GM0074",
        WAIT,
        || async {
            aanmelding_name(&net, TP, &theirs).await.as_deref() == Some(changed.as_str())
                && aanmelding_name(&net, HERKOMST, &theirs).await.as_deref()
                    == Some(changed.as_str())
        },
    )
    .await;
    for c in &cases {
        assert!(aanmelding_name(&net, TP, c).await.is_some());
    }
    net.shutdown().await;
}
