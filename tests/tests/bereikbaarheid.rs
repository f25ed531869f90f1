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

/// A tenant the corporatie holds no case of: a former client housed through the regular route. Its vaste
/// contactpersoon sends the Transferpunt a huurdermelding; the Transferpunt files it in the tenant's case; the
/// corporatie gets an answer that does not say whether the tenant was known, and learns nothing of the case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corporatie_without_the_case_makes_a_huurdermelding_the_transferpunt_files_and_learns_nothing_back()
 {
    use node::huurdermelding::{ANTWOORD, Huurdermelding};

    let net = TestNet::start(&[ZA, TP, ELK]).await;
    net.wait_connected().await;
    let (client, zoekgedrag) = canary_client("huurdermelding", "Regulier", 670_000, 1);
    let case = net
        .request_case(&client, &zoekgedrag, Some("Een woning"), true)
        .await;
    wait_for(&net, TP, &case, "registratie", "bsn", json!(client.bsn)).await;

    let elk = net.node(ELK);
    let today = elk.node().clock_now().date();
    let melding = |bsn: &str, omschrijving: &str| Huurdermelding {
        id: String::new(),
        bsn: bsn.into(),
        datum_melding: today,
        soort: "incident".into(),
        ave_niveau: 2,
        omschrijving: omschrijving.into(),
        gemeld_bij_toezichthouder: Some(false),
        woongemeente: "GM0080".into(),
        contactpersoon: node::harness::vaste_contactpersoon(ELK, 1),
        telefoonnummer: "058 123 4567".into(),
    };

    // Bad input is refused before anything is stored, naming the field and the rule.
    let mut wrong = melding("123456789", "x");
    wrong.woongemeente = "GM9999".into();
    wrong.gemeld_bij_toezichthouder = None;
    wrong.contactpersoon = "Iemand Anders".into();
    let e = elk
        .node()
        .meld_huurder(&elk.user, wrong)
        .await
        .expect_err("refused")
        .to_string();
    for named in [
        "bsn",
        "elfproef",
        "woongemeente",
        "contactpersoon",
        "vaste_contactpersoon",
        "gemeld_bij_toezichthouder",
    ] {
        assert!(e.contains(named), "{named} in {e}");
    }
    assert!(!e.contains("Iemand Anders"), "{e}");
    assert!(elk.node().huurdermeldingen().await.unwrap().is_empty());

    // A tenant the Transferpunt knows: the melding lands in the case, with whom to call back.
    let omschrijving = "overlast-huurdermelding-canary-1";
    let sent = elk
        .node()
        .meld_huurder(&elk.user, melding(&client.bsn, omschrijving))
        .await
        .expect("a huurdermelding is made");
    let section = format!("melding/huurder-{}", sent.id);
    wait_for(&net, TP, &case, &section, "soort", json!("incident")).await;
    let filed = net.holds(TP, &case).await[&section].clone();
    assert_eq!(filed["melder"], json!("corporatie"));
    let text = filed["omschrijving"].as_str().unwrap();
    assert!(
        text.contains(omschrijving) && text.contains("058 123 4567"),
        "{text}"
    );

    // A tenant it does not know: the same answer, and nothing of the tenant kept at the Transferpunt.
    let (stranger, _) = canary_client("huurdermelding", "Onbekend", 670_000, 2);
    let unknown_text = "overlast-onbekende-huurder-canary-2";
    let other = elk
        .node()
        .meld_huurder(&elk.user, melding(&stranger.bsn, unknown_text))
        .await
        .expect("a huurdermelding is made");
    simulator::live::wait_until("the Transferpunt confirms both", WAIT, || async {
        let list = elk.node().huurdermeldingen().await.unwrap();
        list.len() == 2 && list.iter().all(|m| m.antwoord.as_deref() == Some(ANTWOORD))
    })
    .await;
    let tp = net.node(TP).path().to_path_buf();
    assert!(
        !files_contain(&tp, &stranger.bsn),
        "an unknown tenant's BSN is not kept"
    );
    assert!(
        !files_contain(&tp, unknown_text),
        "nor what was said about them"
    );
    assert!(
        !net.holds(TP, &case)
            .await
            .contains_key(&format!("melding/huurder-{}", other.id))
    );

    // The corporatie learns nothing of the case, and keeps no BSN or text once confirmed.
    let elkien = elk.path().to_path_buf();
    simulator::live::wait_until("the corporatie keeps no BSN or text", WAIT, || {
        let elkien = elkien.clone();
        let (bsn, bsn2) = (client.bsn.clone(), stranger.bsn.clone());
        async move {
            !files_contain(&elkien, &bsn)
                && !files_contain(&elkien, &bsn2)
                && !files_contain(&elkien, omschrijving)
        }
    })
    .await;
    for canary in [&zoekgedrag, &client.name, &client.reden_dakloosheid] {
        assert!(
            !files_contain(&elkien, canary),
            "{canary} reached the corporatie"
        );
    }
    // Nor does the zorgaanbieder get the corporatie's words: no flow carries a melding from the Transferpunt.
    assert!(!files_contain(net.node(ZA).path(), omschrijving));

    // Whom to call meanwhile: the woongemeente's gebiedsteam, then the Transferpunt.
    let b = elk
        .node()
        .bereikbaarheid_zonder_dossier("GM0080")
        .await
        .unwrap();
    let who: Vec<String> = b.partners.iter().map(|p| p.partner.to_string()).collect();
    assert_eq!(who, vec!["gemeente:GM0080".to_string(), TP.to_string()]);
    let e = elk
        .node()
        .bereikbaarheid_zonder_dossier("GM9999")
        .await
        .expect_err("an unknown gemeente");
    assert!(e.to_string().contains("woongemeente"), "{e}");
}
