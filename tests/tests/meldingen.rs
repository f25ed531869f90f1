//! Meldingen as a process (issue #17 item 1; Afspraak 7, Bijlage 1 7c–h, Bijlage 2), across real nodes over QUIC:
//! a melding raised at the corporatie, escalated up the AVE ladder to AVE 3 with its history kept, presented to
//! the Transferpunt by a vaste contactpersoon from the signed directory (and refused, nothing stored, when someone
//! else presents it), the Transferpunt's overleg with binding afspraken recorded, and its terugkoppeling reaching
//! the corporatie — with canaries searched as bytes in every node's files: only what the policy allows travelled.

use node::harness::{files_contain, vaste_contactpersoon};
use policies::DocumentKind as D;
use policies::model::voorlegging_instance;
use serde_json::{Value, json};
use weerthuis_tests::{TestNet, canary_client, field, wait_for};

const ZA: &str = "zorgaanbieder:kwadrant";
const TP: &str = "transferpunt:sdf";
const ELK: &str = "corporatie:elkien";
/// A corporatie with no part in the case: no flow lets it hold anything of it.
const DYNHUS: &str = "corporatie:dynhus";

fn stap(datum: &str, van: i64, naar: i64, reden: &str) -> Value {
    json!({"datum": datum, "van_niveau": van, "naar_niveau": naar,
        "door": "Wijkconsulent Elkien", "reden": reden})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_melding_escalates_is_presented_by_a_vaste_contactpersoon_and_only_the_feedback_comes_back()
 {
    let net = TestNet::start(&[ZA, TP, ELK, DYNHUS]).await;
    let (client, _) = canary_client("melding", "Huurder", 670_000, 1);
    let case = net
        .assigned_case(
            &client,
            "zoekgedrag-melding-1",
            ELK,
            "profiel-melding-1",
            json!([]),
        )
        .await;

    // Afspraak 7a/7c: the corporatie registers a signaal from the neighbours and takes it up itself.
    let omschrijving = "omschrijving-melding-canary-1";
    let mut melding = json!({
        "datum_melding": "2026-05-01", "melder": "omwonende", "soort": "knelpunt", "ave_niveau": 1,
        "omschrijving": omschrijving, "status": "in_behandeling", "regie": "zorgaanbieder", "escalaties": []
    });
    net.write(ELK, &case, D::Melding, Some("melding-1"), &melding)
        .await
        .unwrap();

    // Bijlage 2: escalated to AVE 2, then AVE 3 — every step kept with who, when and why.
    melding["escalaties"] = json!([stap("2026-05-04", 1, 2, "Huurachterstand en overlast")]);
    melding["ave_niveau"] = json!(2);
    melding["regie"] = json!("gebiedsteam");
    net.write(ELK, &case, D::Melding, Some("melding-1"), &melding)
        .await
        .unwrap();
    let mut history = melding["escalaties"].as_array().unwrap().clone();
    history.push(stap(
        "2026-05-11",
        2,
        3,
        "Dreiging richting buren; samenwerking stagneert",
    ));
    melding["escalaties"] = json!(history);
    melding["ave_niveau"] = json!(3);
    melding["regie"] = json!("zorg_en_veiligheidshuis");
    net.write(ELK, &case, D::Melding, Some("melding-1"), &melding)
        .await
        .unwrap();
    // Overwriting the level without a step is refused: the history is the level's record.
    let mut overwritten = melding.clone();
    overwritten["ave_niveau"] = json!(4);
    let e = net
        .write(ELK, &case, D::Melding, Some("melding-1"), &overwritten)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("ave_niveau"), "{e}");

    // Afspraak 7d and 3g: presented to the Transferpunt. By someone who is not a vaste contactpersoon of Elkien in
    // the directory: refused with the field and the rule named, nothing stored.
    let mut presented = melding.clone();
    presented["status"] = json!("voorgelegd_transferpunt");
    presented["voorgelegd_aan_transferpunt"] = json!(true);
    presented["voorgelegd_door_vaste_contactpersoon"] = json!(true);
    presented["datum_voorgelegd"] = json!("2026-05-18");
    presented["lokale_aanpak"] = json!("Overleg in het Zorg- en Veiligheidshuis zonder resultaat");
    let mut by_stranger = presented.clone();
    by_stranger["voorgelegd_door"] = json!("Iemand Zonder Aanwijzing");
    let e = net
        .write(ELK, &case, D::Melding, Some("melding-1"), &by_stranger)
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("melding.voorgelegd_door"), "{text}");
    assert!(text.contains("vaste_contactpersoon"), "{text}");
    assert!(text.contains("Afspraak 3g"), "{text}");
    assert_eq!(
        field(
            &net,
            ELK,
            &case,
            "melding/melding-1",
            "voorgelegd_aan_transferpunt"
        )
        .await,
        None,
        "nothing stored"
    );
    assert!(!files_contain(
        net.node(ELK).path(),
        "Iemand Zonder Aanwijzing"
    ));

    // By Elkien's vaste contactpersoon: accepted, and the Transferpunt holds the melding with its whole ladder.
    let contact = vaste_contactpersoon(ELK, 1);
    presented["voorgelegd_door"] = json!(contact);
    net.write(ELK, &case, D::Melding, Some("melding-1"), &presented)
        .await
        .unwrap();
    wait_for(
        &net,
        TP,
        &case,
        "melding/melding-1",
        "voorgelegd_door",
        json!(contact),
    )
    .await;
    let at_tp = net.holds(TP, &case).await["melding/melding-1"].clone();
    assert_eq!(at_tp["ave_niveau"], json!(3));
    let steps = at_tp["escalaties"].as_array().expect("the history travels");
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0]["naar_niveau"], json!(2));
    assert_eq!(
        steps[1]["reden"],
        json!("Dreiging richting buren; samenwerking stagneert")
    );
    assert_eq!(at_tp["regie"], json!("zorg_en_veiligheidshuis"));

    // Afspraak 7d–7g: the Transferpunt organises the overleg, records the binding afspraken and its own
    // afhandeling, and writes what may go back to the melder.
    let afhandeling = "afhandeling-intern-canary-1";
    let deelnemers = "deelnemers-canary-1";
    let terugkoppeling = "terugkoppeling-melder-canary-1";
    let instance = voorlegging_instance(ELK, "melding-1");
    net.write(
        TP,
        &case,
        D::Voorlegging,
        Some(&instance),
        json!({
            "datum_ontvangen": "2026-05-18", "datum_overleg": "2026-05-25", "deelnemers": deelnemers,
            "uitstromer_aanwezig": "ja", "regie_na_overleg": "gebiedsteam",
            "afspraken": [{"afspraak": "Begeleiding twee keer per week", "partij": "Kwadrant",
                "termijn": "2026-06-08"}],
            "afhandeling": afhandeling, "datum_afgehandeld": "2026-05-26",
            "terugkoppeling_aan_melder": terugkoppeling, "datum_terugkoppeling": "2026-05-27"
        }),
    )
    .await
    .unwrap();

    // The terugkoppeling and the afspraken reach the corporatie that presented it; the afhandeling does not.
    let section = format!("voorlegging/{instance}");
    wait_for(
        &net,
        ELK,
        &case,
        &section,
        "terugkoppeling_aan_melder",
        json!(terugkoppeling),
    )
    .await;
    let back = net.holds(ELK, &case).await[&section].clone();
    assert_eq!(back["afspraken"][0]["partij"], json!("Kwadrant"));
    assert_eq!(back["regie_na_overleg"], json!("gebiedsteam"));
    for internal in ["afhandeling", "deelnemers"] {
        assert!(back.get(internal).is_none(), "{internal}: {back}");
    }

    // The canary check, as bytes in every node's files, once the federation has settled on the feedback.
    let (elk, za, dyn_) = (
        net.node(ELK).path().to_path_buf(),
        net.node(ZA).path().to_path_buf(),
        net.node(DYNHUS).path().to_path_buf(),
    );
    // The zorgaanbieder may receive a terugkoppeling under its own flow — on a melding it presented itself. The
    // Transferpunt's plan for it holds none of this one (Elkien's), nor does its plan for the uninvolved corporatie.
    for peer in [ZA, DYNHUS] {
        let plan = net.plan(TP, peer, &case).await.expect("a plan");
        assert!(
            !plan
                .projection
                .keys()
                .any(|k| k.starts_with("voorlegging/")),
            "{peer}: {:?}",
            plan.projection.keys().collect::<Vec<_>>()
        );
    }
    let tp = net.node(TP).path().to_path_buf();
    assert!(files_contain(&tp, afhandeling), "the Transferpunt keeps it");
    assert!(files_contain(&elk, terugkoppeling));
    assert!(
        !files_contain(&elk, afhandeling),
        "internal afhandeling at the corporatie"
    );
    assert!(
        !files_contain(&elk, deelnemers),
        "deelnemers at the corporatie"
    );
    // A zorgaanbieder may receive a terugkoppeling — on a melding it presented itself; this one is Elkien's.
    assert!(
        !files_contain(&za, terugkoppeling),
        "feedback for Elkien at the zorgaanbieder"
    );
    assert!(!files_contain(&za, afhandeling));
    for canary in [omschrijving, terugkoppeling, afhandeling] {
        assert!(
            !files_contain(&dyn_, canary),
            "{canary} at an uninvolved corporatie"
        );
    }
    assert!(
        net.refusals(ELK).await.is_empty(),
        "{:?}",
        net.refusals(ELK).await
    );
}

/// Afspraak 7c and 2h: the assigned corporatie's melding reaches the uitstroomgemeente and the betrokken
/// zorgaanbieder under the covenant's flows ("melding van de corporatie aan de gemeente / aan de zorgaanbieder"),
/// not only the Transferpunt. The corporatie holds no form naming them; the Transferpunt tells it how they relate
/// — each only as the relation a flow needs — and an uninvolved corporatie gets neither the melding nor that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_corporaties_melding_reaches_the_uitstroomgemeente_and_the_zorgaanbieder_it_does_not_hold_forms_of()
 {
    const GM: &str = "gemeente:GM0080";
    let net = TestNet::start(&[ZA, TP, ELK, GM, DYNHUS]).await;
    net.wait_connected().await;
    let (client, zoekgedrag) = canary_client("melding-gemeente", "Huurder", 671_000, 1);
    let case = net
        .assigned_case(
            &client,
            &zoekgedrag,
            ELK,
            "profiel-melding-gemeente",
            json!([]),
        )
        .await;
    let omschrijving = "huurachterstand-melding-gemeente-canary";
    net.write(
        ELK,
        &case,
        D::Melding,
        Some("melding-1"),
        json!({"datum_melding": "2026-05-02", "melder": "corporatie", "soort": "dreigende_huisuitzetting",
               "ave_niveau": 1, "omschrijving": omschrijving, "status": "open"}),
    )
    .await
    .unwrap();
    for at in [TP, GM, ZA] {
        wait_for(
            &net,
            at,
            &case,
            "melding/melding-1",
            "omschrijving",
            json!(omschrijving),
        )
        .await;
    }
    // What the corporatie was told of the others: the uitstroomgemeente as that alone (not also as the
    // herkomst- and verblijfgemeente it is), the zorgaanbieder as the betrokken one.
    let told = net.plan(TP, ELK, &case).await.expect("a plan");
    assert_eq!(
        told.projection["_meta"]["betrokkenen"],
        json!({GM: ["uitstroomgemeente"], ZA: ["betrokken_zorgaanbieder"]})
    );
    // The uninvolved corporatie: nothing, not even who is involved.
    let dynhus = net.node(DYNHUS).path().to_path_buf();
    for canary in [omschrijving, &client.bsn, "betrokkenen"] {
        assert!(!files_contain(&dynhus, canary), "{canary} at {DYNHUS}");
    }
}
