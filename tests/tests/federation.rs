//! The whole bemiddeling across seven real nodes over real QUIC — the scenario the demo plays
//! (`node::scenario`), with canaries for its people, seeded from the test's name: a zorgaanbieder registers with
//! consent and asks for bemiddeling; the Transferpunt sends the request back for completion, chooses the
//! herkomstgemeente, waits for the gemeente's akkoord and picks a corporatie round-robin; the first corporatie asks
//! for information and refuses with a reason, the next accepts; the client refuses the first offer with a reason
//! and accepts the second; a 3-partijen lease is signed; the zorgaanbieder reports the placement. A second case
//! goes from another zorgaanbieder to Heerenveen; a third, without consent, nowhere.
//!
//! Then: the Transferpunt holds everything, each corporatie only the aanmeldbericht of its own case (the one that
//! refused not even that any more), the uninvolved gemeente nothing — and canary values searched as raw bytes in
//! every node's files and in every log line are found only where the policy allows.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use node::scenario::{
    self, ACCOLADE as ACC, ELKIEN as ELK, HEERENVEEN as HRV, KWADRANT as ZA, LEEUWARDEN as LWD,
    LIMOR, TRANSFERPUNT as TP,
};
use serde_json::{Value, json};
use simulator::live::{files_contain, wait_until};
use weerthuis_tests::{TestNet, seed_for};

const WAIT: Duration = Duration::from_secs(30);

/// Every log line of the nodes, to search for canaries.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// With `WEERTHUIS_TEST_LOG_FILE` set, the captured logs are written there when the test ends (also on failure).
struct DumpOnDrop(Logs);

impl Drop for DumpOnDrop {
    fn drop(&mut self) {
        if let Ok(path) = std::env::var("WEERTHUIS_TEST_LOG_FILE") {
            let _ = std::fs::write(path, &*self.0.0.lock().unwrap());
        }
    }
}

fn capture_logs() -> Logs {
    let logs = Logs::default();
    let writer = logs.clone();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("debug,sqlx=warn"))
        .with_writer(move || writer.clone())
        .try_init();
    logs
}

fn section_names(h: &std::collections::BTreeMap<String, Value>) -> Vec<String> {
    h.keys().cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bemiddeling_end_to_end_across_seven_nodes_with_canaries() {
    let logs = capture_logs();
    let _dump = DumpOnDrop(logs.clone());
    let ids: Vec<&str> = scenario::PARTNERS.iter().map(|(id, _)| *id).collect();
    let net = TestNet::start(&ids).await;
    let seed = seed_for("bemiddeling_end_to_end_across_seven_nodes_with_canaries");
    let people = scenario::canaries(seed);
    let c2 = &people[1];

    // --- The scenario the demo plays: every step waits for what it needs (the sent-back request reaching the
    // zorgaanbieder, the informatieverzoek reaching it, the refusing corporatie losing its aanmeldbericht, …).
    let play = scenario::play(&net, &scenario::steps(&people), WAIT, |_, _, _| Ok(()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (case, case2) = (play.case(1), play.case(2));
    assert_eq!(
        play.assigned[0],
        vec![ACC.to_string(), ELK.to_string()],
        "fewest cases so far, ties by name; the refusal goes to the next corporatie"
    );
    assert_eq!(
        play.assigned[1],
        vec![ACC.to_string()],
        "one case each so far: om en om, ties by name"
    );
    let bemiddelingsverzoek = net.holds(TP, case).await["bemiddelingsverzoek"].clone();
    assert_eq!(
        bemiddelingsverzoek["ontbrekende_gegevens"],
        json!(["bemiddelingsverzoek.woonwens"]),
        "the Transferpunt's own edit survived the merge"
    );
    assert!(bemiddelingsverzoek.get("woonwens").is_some());

    // --- The second case: Limor's client, to Heerenveen through Accolade.
    assert!(
        net.holds(ELK, case2).await.is_empty(),
        "elkien has no part in the second case"
    );
    assert_eq!(
        section_names(&net.holds(ACC, case2).await),
        vec![format!("aanmeldbericht/{ACC}"), format!("reactie/{ACC}")]
    );
    assert_eq!(
        net.holds(ACC, case2).await[&format!("aanmeldbericht/{ACC}")]["beoogde_uitstroomgemeente"],
        json!("GM0074")
    );
    let hrv2 = net.holds(HRV, case2).await;
    assert!(hrv2["registratie"].get("reden_dakloosheid").is_none());
    assert!(
        !files_contain(net.node(HRV).dir.path(), &c2.reden),
        "reden_dakloosheid leaked to the uitstroomgemeente"
    );
    assert!(
        !files_contain(net.node(ELK).dir.path(), &c2.bsn),
        "the second case's BSN reached elkien"
    );

    what_each_node_holds(&net, &play, &people).await;
    canaries_only_where_allowed(&net, &people, &logs);
    every_disclosure_is_audited(&net, &people[0]).await;
}

/// The Transferpunt holds the whole of case A, the corporaties only their own, the uninvolved nothing, and
/// nothing of the case without consent left its zorgaanbieder.
async fn what_each_node_holds(
    net: &TestNet,
    play: &scenario::Play,
    people: &[scenario::Person; 3],
) {
    let (case, silent) = (play.case(1), play.case(3));
    let c = &people[0];
    // === What each node holds (sync is eventual: wait until the Transferpunt has every section).
    wait_until(
        "the Transferpunt holds every section of the first case",
        WAIT,
        || async {
            let h = net.holds(TP, case).await;
            [
                "registratie".to_string(),
                "plaatsing".to_string(),
                format!("reactie/{ACC}"),
                format!("reactie/{ELK}"),
                format!("gemeente/{LWD}"),
            ]
            .iter()
            .all(|s| h.contains_key(s))
        },
    )
    .await;
    let tp_holds = net.holds(TP, case).await;
    for section in scenario::WHOLE_WAY {
        assert!(
            tp_holds.contains_key(section),
            "the Transferpunt holds {section}: {:?}",
            section_names(&tp_holds)
        );
    }
    assert_eq!(tp_holds["registratie"]["reden_dakloosheid"], json!(c.reden));
    assert_eq!(
        tp_holds[&format!("reactie/{ACC}")]["toelichting_weigering"],
        json!(c.weigering)
    );
    assert_eq!(
        tp_holds[&format!("gemeente/{LWD}")]["gebiedsteam_contactpersoon"],
        json!("Gebiedsteam Leeuwarden-Oost")
    );
    // Everything the zorgaanbieder wrote is at the Transferpunt, exactly.
    let za_holds = net.holds(ZA, case).await;
    for section in [
        "registratie",
        "aanmelding",
        "vervolg_wonen",
        "plaatsing",
        "bemiddelingsverzoek",
    ] {
        assert_eq!(
            tp_holds[section], za_holds[section],
            "{section} is the same at both ends"
        );
    }

    let elk = net.holds(ELK, case).await;
    assert_eq!(
        section_names(&elk),
        vec![format!("aanmeldbericht/{ELK}"), format!("reactie/{ELK}")]
    );
    for field in elk[&format!("aanmeldbericht/{ELK}")]
        .as_object()
        .unwrap()
        .keys()
    {
        assert!(
            policies::DocumentKind::Aanmeldbericht
                .field(field)
                .is_some(),
            "{field}"
        );
    }
    assert!(
        net.holds(HRV, case).await.is_empty(),
        "the uninvolved gemeente holds nothing"
    );
    assert!(
        za_holds[&format!("reactie/{ACC}")]
            .get("reden_weigering")
            .is_none(),
        "not for the zorgaanbieder"
    );
    let lwd = net.holds(LWD, case).await;
    assert!(
        lwd.get("registratie")
            .is_some_and(|r| r.get("reden_dakloosheid").is_none())
    );
    assert!(!lwd.contains_key("ondersteuningsplan"));

    // Nothing of the case without consent left the zorgaanbieder.
    for p in [TP, LWD, HRV, ACC, ELK, LIMOR] {
        assert!(
            net.holds(p, silent).await.is_empty(),
            "{p} holds part of a case without consent"
        );
    }
}

/// Canaries, as raw bytes in every node's files (database, WAL, config) and in every log line.
fn canaries_only_where_allowed(net: &TestNet, people: &[scenario::Person; 3], logs: &Logs) {
    let [c, _, other] = people;
    let dir = |p: &str| net.node(p).dir.path().to_path_buf();
    let found = |p: &str, needle: &str| files_contain(&dir(p), needle);
    for p in [ZA, TP] {
        assert!(
            found(p, &c.reden),
            "{p} should hold reden_dakloosheid (the test must find what is there)"
        );
    }
    for p in [LWD, HRV, ACC, ELK, LIMOR] {
        assert!(!found(p, &c.reden), "reden_dakloosheid leaked to {p}");
    }
    for p in [ZA, TP, LWD, ELK] {
        assert!(found(p, &c.bsn), "{p} should hold the BSN");
        assert!(found(p, &c.name), "{p} should hold the name");
    }
    for p in [HRV, LIMOR] {
        assert!(
            !found(p, &c.bsn) && !found(p, &c.name),
            "{p}, uninvolved, holds the BSN or name"
        );
    }
    assert!(found(ACC, &c.weigering) && found(TP, &c.weigering));
    for p in [ELK, ZA, LWD, HRV, LIMOR] {
        assert!(
            !found(p, &c.weigering),
            "one corporatie's refusal reason reached {p}"
        );
    }
    for p in [TP, LWD, HRV, ACC, ELK, LIMOR] {
        for needle in [&other.bsn, &other.name, &other.reden] {
            assert!(
                !found(p, needle),
                "the case without consent leaked {needle} to {p}"
            );
        }
    }
    let log_text = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    assert!(log_text.len() > 1000, "logs were captured");
    for needle in [
        &c.bsn,
        &c.name,
        &c.reden,
        &c.weigering,
        &other.bsn,
        &other.reden,
    ] {
        assert!(
            !log_text.contains(needle.as_str()),
            "a log line holds {needle}"
        );
    }
}

/// Every disclosure is in the sender's audit log, with the flow and the policy version.
async fn every_disclosure_is_audited(net: &TestNet, c: &scenario::Person) {
    let audit = net.audit(TP).await;
    let to_elkien: Vec<_> = audit
        .iter()
        .map(|r| r.parse().unwrap())
        .filter(|e| {
            e.entry.name == node::audit::Operation::Disclosure
                && e.entry.peer.as_deref() == Some(ELK)
        })
        .collect();
    assert!(!to_elkien.is_empty());
    assert!(
        to_elkien
            .iter()
            .all(|e| e.entry.policy_version.as_deref() == Some("2026.1"))
    );
    assert!(to_elkien.iter().any(|e| {
        e.entry
            .processing_activity_id
            .contains("aanmeldbericht naar de toegewezen corporatie")
    }));
    assert!(to_elkien.iter().all(|e| {
        e.entry
            .fields
            .iter()
            .all(|f| f.starts_with("aanmeldbericht."))
    }));
    assert!(
        !String::from_utf8_lossy(
            &audit
                .iter()
                .map(|r| r.entry.clone())
                .collect::<Vec<_>>()
                .join("\n")
                .into_bytes()
        )
        .contains(&c.bsn),
        "the audit log holds names of fields, never values"
    );
}
