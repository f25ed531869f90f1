//! Bijlage 2, situatie 1 (issue #17 item 2): a corporatie housing a former client must be able to find out who is
//! involved and whom to call, also after the Transferpunt closed the case (often after the omklap to a regular
//! lease) — and to make a melding about its tenant — within what the policy lets it know. Real nodes over QUIC.

use node::bereikbaarheid::Bereikbaarheid;
use node::harness::files_contain;
use policies::DocumentKind as D;
use serde_json::json;
use weerthuis_tests::{TestNet, canary_client, wait_for};

const ZA: &str = "zorgaanbieder:kwadrant";
const TP: &str = "transferpunt:sdf";
const ELK: &str = "corporatie:elkien";
const WAIT: std::time::Duration = std::time::Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_case_is_closed_the_corporatie_still_knows_whom_to_call_and_nothing_else() {
    let net = TestNet::start(&[ZA, TP, ELK]).await;
    let (client, _) = canary_client("bereikbaar", "Huurder", 660_000, 1);
    let profiel = "ondersteuningsprofiel-bereikbaar-canary-1";
    let begeleider = "Begeleider-bereikbaar-canary-1";
    let case = net
        .assigned_case(
            &client,
            "zoekgedrag-bereikbaar-1",
            ELK,
            profiel,
            json!([{
                "naam": begeleider, "organisatie": "Kwadrant", "functie": "ambulant begeleider",
                "telefoonnummer": "0581234567", "mailadres": "begeleider@kwadrant.example"
            }]),
        )
        .await;
    let section = format!("aanmeldbericht/{ELK}");
    wait_for(&net, ELK, &case, &section, "bsn", json!(client.bsn)).await;

    // The client lives in the corporatie's home; the lease turned regular; the Transferpunt closes the case.
    let mut closed = net.holds(TP, &case).await["beoordeling"].clone();
    closed["datum_afgesloten"] = json!("2026-04-01");
    net.write(TP, &case, D::Beoordeling, None, &closed)
        .await
        .unwrap();

    // The corporatie keeps who its tenant is and whom to call, and nothing else of the aanmeldbericht: not in the
    // document, and — the old projection deleted — not in its files' history either.
    simulator::live::wait_until("the corporatie holds only the contacts", WAIT, || async {
        let held = net.holds(ELK, &case).await;
        let s = held.get(&section);
        s.is_some_and(|s| s.get("bsn").is_none() && s.get("ondersteuningsprofiel").is_none())
            && s.and_then(|s| s.get("contactpersonen")).is_some()
    })
    .await;
    let elkien = net.node(ELK).path().to_path_buf();
    simulator::live::wait_until(
        "the BSN and ondersteuningsprofiel are gone from the corporatie's files",
        WAIT,
        || {
            let elkien = elkien.clone();
            let (bsn, leef) = (client.bsn.clone(), profiel.to_string());
            async move { !files_contain(&elkien, &bsn) && !files_contain(&elkien, &leef) }
        },
    )
    .await;
    assert!(
        files_contain(&elkien, begeleider),
        "the contact person stays"
    );
    assert!(
        files_contain(&elkien, &client.name),
        "so does whose case it is"
    );

    // Whom to call, as the werkplek shows it: the begeleider from the aanmeldbericht, the uitstroomgemeente's
    // gebiedsteam, and the Transferpunt last.
    let n = net.node(ELK);
    let b: Bereikbaarheid = n.node().bereikbaarheid(&n.user, &case).await.unwrap();
    assert!(
        b.contactpersonen
            .iter()
            .any(|c| c.naam == begeleider && c.telefoon.as_deref() == Some("0581234567")),
        "{b:?}"
    );
    assert!(
        b.partners
            .iter()
            .any(|p| p.partner.to_string() == "gemeente:GM0080" && p.waarom.contains("gebiedsteam")),
        "{b:?}"
    );
    assert_eq!(
        b.partners.last().map(|p| p.partner.to_string()),
        Some(TP.to_string()),
        "{b:?}"
    );

    // And it can still make a melding about its tenant, which reaches the Transferpunt.
    let omschrijving = "overlast-bereikbaar-canary-1";
    net.write(
        ELK,
        &case,
        D::Melding,
        Some("melding-1"),
        json!({
            "datum_melding": "2026-05-02", "melder": "corporatie", "soort": "signaal", "ave_niveau": 2,
            "omschrijving": omschrijving, "status": "open"
        }),
    )
    .await
    .unwrap();
    wait_for(
        &net,
        TP,
        &case,
        "melding/melding-1",
        "omschrijving",
        json!(omschrijving),
    )
    .await;
}
