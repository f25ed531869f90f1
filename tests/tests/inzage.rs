//! The federated inzage and the datalek report over real nodes (issue #13): the demo's scenario played on seven
//! nodes with canaries, then
//! - the zorgaanbieder's inzage lists exactly the partners that received data about the person — checked against
//!   the receivers' own receipt records, not against the sender's log it is made from — and its signed
//!   inzageverzoeken land in each of their privacy officers' queues and nowhere else;
//! - the Transferpunt's datalek report for a corporatie lists exactly the (case, field) pairs that corporatie's own
//!   log says it received, and as many rows as the fields of the disclosures in the Transferpunt's log.

use std::collections::BTreeSet;
use std::time::Duration;

use node::audit::{Operation, Status, StoredEntry};
use node::inzage::{self, Subject, datalek, verzoek};
use node::scenario::{self, ELKIEN as ELK, KWADRANT as ZA, TRANSFERPUNT as TP};
use node::store::CaseId;
use policies::bsn::Bsn;
use simulator::live::wait_until;
use weerthuis_tests::{TestNet, seed_for};

const WAIT: Duration = Duration::from_secs(60);

async fn entries(net: &TestNet, at: &str) -> Vec<StoredEntry> {
    net.audit(at)
        .await
        .iter()
        .map(|r| r.parse().unwrap())
        .collect()
}

/// The partners whose own log records data received from `sender` about `case`.
async fn received_from(net: &TestNet, sender: &str, case: &CaseId) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for id in scenario::IDS {
        if id == sender {
            continue;
        }
        let got = entries(net, id).await.iter().any(|e| {
            e.entry.name == Operation::Receipt
                && e.entry.status_code == Status::Ok
                && e.entry.peer.as_deref() == Some(sender)
                && e.entry.case_id.as_deref() == Some(case.as_str())
                && !e.entry.fields.is_empty()
        });
        if got {
            out.insert(id.to_string());
        }
    }
    out
}

/// The (case, field) pairs `receiver`'s own log records as received from `sender`.
async fn fields_received(
    net: &TestNet,
    receiver: &str,
    sender: &str,
) -> BTreeSet<(String, String)> {
    entries(net, receiver)
        .await
        .iter()
        .filter(|e| {
            e.entry.name == Operation::Receipt
                && e.entry.status_code == Status::Ok
                && e.entry.peer.as_deref() == Some(sender)
        })
        .flat_map(|e| {
            let case = e.entry.case_id.clone().unwrap_or_default();
            e.entry
                .fields
                .iter()
                .map(move |f| (case.clone(), f.clone()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn federated_inzage_and_datalek_over_real_nodes() {
    let ids: Vec<&str> = scenario::PARTNERS.iter().map(|(id, _)| *id).collect();
    let net = TestNet::start(&ids).await;
    let seed = seed_for("federated_inzage_and_datalek_over_real_nodes");
    let people = scenario::canaries(seed);
    let play = scenario::play(&net, &scenario::steps(&people), WAIT, |_, _, _| Ok(()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let case = play.case(1).clone();
    let person = &people[0];
    let za = net.node(ZA).node().clone();
    let bsn = Bsn::parse(&person.bsn).unwrap();

    // --- The inzage at the zorgaanbieder lists exactly the partners that received data about the person. Sync
    // is eventual: wait until every receiver has recorded what the zorgaanbieder's log says it sent.
    wait_until(
        "the receivers' records match the disclosure log",
        WAIT,
        || async {
            let r = inzage::inzage(&za, None, &Subject::Bsn(bsn.clone()))
                .await
                .unwrap();
            let listed: BTreeSet<String> = r.ontvangers.iter().cloned().collect();
            listed == received_from(&net, ZA, &case).await
        },
    )
    .await;
    let rapport = inzage::inzage(&za, None, &Subject::Bsn(bsn.clone()))
        .await
        .unwrap();
    assert_eq!(
        rapport.ontvangers.iter().cloned().collect::<BTreeSet<_>>(),
        received_from(&net, ZA, &case).await
    );
    assert_eq!(rapport.casussen.len(), 1);
    assert_eq!(rapport.casussen[0].casus, case.to_string());
    let receivers: BTreeSet<String> = rapport.ontvangers.iter().cloned().collect();
    assert!(receivers.contains(TP), "{receivers:?}");
    let others: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| *id != ZA && !receivers.contains(*id))
        .collect();
    assert!(
        !others.is_empty(),
        "some partner received nothing: {receivers:?}"
    );
    // Every disclosure names its flows with purpose and basis from the policy.
    for d in &rapport.casussen[0].verstrekkingen {
        assert!(receivers.contains(&d.ontvanger));
        assert!(!d.velden.is_empty());
    }
    assert!(
        rapport.casussen[0]
            .verstrekkingen
            .iter()
            .flat_map(|d| &d.stromen)
            .any(|s| s.grondslag.is_some()),
        "disclosures under a flow name their basis"
    );

    // --- The Transferpunt finds the person by BSN too, in what it received, with who sent it under which flow.
    let tp = net.node(TP).node().clone();
    let at_tp = inzage::inzage(&tp, None, &Subject::Bsn(bsn.clone()))
        .await
        .unwrap();
    assert_eq!(
        at_tp.casussen.len(),
        1,
        "the Transferpunt's BSN index finds the case"
    );
    let received: Vec<_> = at_tp.casussen[0]
        .ontvangen
        .iter()
        .chain(std::iter::empty())
        .collect();
    let mut from_za = at_tp.casussen[0]
        .ontvangen
        .iter()
        .filter(|o| o.afzender == ZA)
        .peekable();
    assert!(from_za.peek().is_some(), "{received:?}");
    assert!(
        from_za.all(|o| o.velden.iter().all(|v| v.stroom.is_some())),
        "every received field with its flow"
    );
    let html = inzage::render::html(&at_tp);
    assert!(html.contains(&person.reden), "the person sees the values");

    // --- The federated inzage: a signed request to each receiver, landing in its queue and nowhere else.
    let sent = verzoek::request_from_partners(&za, None, std::slice::from_ref(&case))
        .await
        .unwrap();
    let to: BTreeSet<String> = sent.iter().map(|r| r.peer.clone()).collect();
    assert_eq!(to, receivers);
    wait_until("every receiver queued its request", WAIT, || async {
        let mut all = true;
        for id in &receivers {
            let q = net.node(id).node().store().request_queue().await.unwrap();
            all &= q.len() == 1 && q[0].sender == ZA && q[0].case_id == case;
        }
        let out = za.store().outgoing_requests(None).await.unwrap();
        all && out.iter().all(|r| r.delivered_at.is_some())
    })
    .await;
    for id in &others {
        assert!(
            net.node(id)
                .node()
                .store()
                .request_queue()
                .await
                .unwrap()
                .is_empty(),
            "{id} received data from nobody about this person, and no request"
        );
    }
    let za_cert = protocol::pki::certs_from_pem(&net.node(ZA).cert.cert_pem)
        .unwrap()
        .remove(0);
    for id in &receivers {
        let q = net.node(id).node().store().request_queue().await.unwrap();
        let signed = verzoek::SignedVerzoek::from_bytes(&q[0].signed).unwrap();
        let v = signed
            .verify(&za_cert)
            .expect("signed by the zorgaanbieder's node key");
        assert_eq!((v.van.as_str(), v.aan.as_str()), (ZA, id.as_str()));
        let text = String::from_utf8_lossy(&q[0].signed);
        for (_, canary) in person.labelled() {
            assert!(
                !text.contains(canary),
                "the request names the case, not the person"
            );
        }
    }
    // Each partner answers for itself: the Transferpunt's privacy officer marks it handled.
    let tp_user = net.node(TP).user.clone();
    let id = tp.store().request_queue().await.unwrap()[0].id.clone();
    assert!(verzoek::mark_handled(&tp, &tp_user, &id).await.unwrap());
    assert!(
        !verzoek::mark_handled(&tp, &tp_user, &id).await.unwrap(),
        "once"
    );
    assert!(
        tp.store().request_queue().await.unwrap()[0]
            .handled_at
            .is_some()
    );
    let tp_log = entries(&net, TP).await;
    for activity in [verzoek::ACTIVITY_RECEIVED, verzoek::ACTIVITY_HANDLED] {
        assert!(
            tp_log
                .iter()
                .any(|e| e.entry.name == Operation::DataSubjectRequest
                    && e.entry.processing_activity_id == activity
                    && e.entry.peer.as_deref() == Some(ZA))
        );
    }

    // --- The datalek report: what the Transferpunt disclosed to elkien, checked against elkien's own receipts.
    let today = tp.clock_now().date();
    let filter = |veld: Option<&str>, casus: Option<&CaseId>| datalek::Filter {
        partner: Some(ELK.to_string()),
        van: today.previous_day().unwrap(),
        tot: today.next_day().unwrap(),
        veld: veld.map(str::to_string),
        casus: casus.map(ToString::to_string),
    };
    let report = datalek::datalek(&tp, Some(&tp_user), filter(None, None), true)
        .await
        .unwrap();
    let pairs: BTreeSet<(String, String)> = report
        .regels
        .iter()
        .map(|r| (r.casus.clone().unwrap(), r.veld.clone()))
        .collect();
    assert_eq!(
        pairs,
        fields_received(&net, ELK, TP).await,
        "exactly what elkien received"
    );
    assert!(
        pairs
            .iter()
            .any(|(c, f)| *c == case.to_string() && f.starts_with("aanmeldbericht.")),
        "the person's aanmeldbericht went to elkien, and is listed"
    );
    // As many rows as the fields of the Transferpunt's disclosures to elkien, counted from its raw log.
    let disclosed: usize = tp_log
        .iter()
        .filter(|e| {
            e.entry.name == Operation::Disclosure
                && e.entry.status_code == Status::Ok
                && e.entry.peer.as_deref() == Some(ELK)
        })
        .map(|e| e.entry.fields.len())
        .sum();
    assert_eq!(report.regels.len(), disclosed);
    assert!(report.regels.iter().all(|r| r.ontvanger == ELK));
    // Pseudonyms resolved locally; names only because they were asked for.
    for b in &report.betrokkenen {
        let c = b.casus.as_deref().unwrap();
        assert_eq!(b.betrokkene, tp.pseudonymiser().data_subject_id(c));
    }
    assert!(
        report
            .betrokkenen
            .iter()
            .any(|b| b.naam.as_deref() == Some(person.name.as_str()))
    );
    // The filters: one field, one case.
    let veld = report.regels[0].veld.clone();
    let one_field = datalek::datalek(&tp, None, filter(Some(&veld), None), false)
        .await
        .unwrap();
    assert_eq!(
        one_field.regels.len(),
        report.regels.iter().filter(|r| r.veld == veld).count()
    );
    assert!(one_field.betrokkenen.iter().all(|b| b.naam.is_none()));
    let one_case = datalek::datalek(&tp, None, filter(None, Some(&case)), false)
        .await
        .unwrap();
    assert_eq!(
        one_case.regels.len(),
        report
            .regels
            .iter()
            .filter(|r| r.casus.as_deref() == Some(case.as_str()))
            .count()
    );
    let csv = datalek::csv(&report);
    assert_eq!(csv.lines().count(), report.regels.len() + 1);

    // No value in any audit log: the inzage, the requests and the datalek record names only.
    for id in scenario::IDS {
        let text: String = net
            .audit(id)
            .await
            .iter()
            .map(|r| r.entry.clone())
            .collect();
        for p in &people {
            for (label, canary) in p.labelled() {
                assert!(!text.contains(canary), "{label} in the audit log of {id}");
            }
        }
    }
}
