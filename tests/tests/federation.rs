//! The whole bemiddeling across six real nodes over real QUIC: a zorgaanbieder registers with consent and asks
//! for bemiddeling; the Transferpunt sends the request back for completion, chooses the herkomstgemeente, waits
//! for the gemeente's akkoord and picks a corporatie round-robin; the first corporatie asks for information and
//! refuses with a reason, the next accepts; the client refuses the first offer with a reason and accepts the
//! second; a 3-partijen lease is signed; the zorgaanbieder reports the placement.
//!
//! Then: the Transferpunt holds everything, each corporatie only the aanmeldbericht of its own case (the one that
//! refused not even that any more), the uninvolved gemeente nothing — and canary values searched as raw bytes in
//! every node's files and in every log line are found only where the policy allows.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use node::store::CaseId;
use policies::DocumentKind as D;
use serde_json::{Value, json};
use simulator::faults::scenario::{self, Canaries, aanmelding, canary_bsn, registratie, vervolg};
use simulator::live::{files_contain, wait_until};
use weerthuis_tests::TestNet;

const ZA: &str = "zorgaanbieder:kwadrant";
const TP: &str = "transferpunt:sdf";
const LWD: &str = "gemeente:GM0080";
const HRV: &str = "gemeente:GM0074";
const ACC: &str = "corporatie:accolade";
const ELK: &str = "corporatie:elkien";
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

async fn holds(
    net: &TestNet,
    at: &str,
    case: &CaseId,
    section: &str,
    field: &str,
) -> Option<Value> {
    net.holds(at, case)
        .await
        .get(section)
        .and_then(|s| s.get(field))
        .cloned()
}

async fn wait_for(
    net: &TestNet,
    at: &str,
    case: &CaseId,
    section: &str,
    field: &str,
    value: Value,
) {
    wait_until(
        &format!("{at} holds {section}.{field} = {value}"),
        WAIT,
        || async { holds(net, at, case, section, field).await.as_ref() == Some(&value) },
    )
    .await;
}

/// The request as the begeleider first sends it: complete but for the woonwens.
fn verzoek_zonder_woonwens() -> Value {
    let mut v = scenario::verzoek("");
    v.as_object_mut().expect("a form").remove("woonwens");
    v
}

/// A new case at the zorgaanbieder: registratie and aanmelding.
async fn aanmelden(
    net: &TestNet,
    c: &Canaries,
    consent: bool,
    voorziening: &str,
    herkomst: &str,
) -> CaseId {
    let case = net.new_case(ZA).await;
    net.write(
        ZA,
        &case,
        D::Registratie,
        None,
        registratie(c, consent, voorziening, herkomst),
    )
    .await
    .unwrap();
    net.write(ZA, &case, D::Aanmelding, None, aanmelding(c))
        .await
        .unwrap();
    case
}

fn section_names(h: &std::collections::BTreeMap<String, Value>) -> Vec<String> {
    h.keys().cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bemiddeling_end_to_end_across_six_nodes_with_canaries() {
    let logs = capture_logs();
    let _dump = DumpOnDrop(logs.clone());
    let net = TestNet::start(&[TP, LWD, HRV, ACC, ELK, ZA]).await;
    let seed = u64::from(std::process::id());
    let c = Canaries {
        bsn: canary_bsn(seed),
        name: format!("Kanarievogel{seed}, Q."),
        reden: format!("kanarie-reden-{seed}"),
        weigering: format!("kanarie-weigering-{seed}"),
    };

    // --- The zorgaanbieder registers (with consent), reports and asks for bemiddeling, without a woonwens.
    let case = aanmelden(&net, &c, true, "maatschappelijke_opvang", "GM0080").await;
    net.write(ZA, &case, D::VervolgWonen, None, vervolg(&c, "GM0080"))
        .await
        .unwrap();
    net.write(
        ZA,
        &case,
        D::Bemiddelingsverzoek,
        None,
        verzoek_zonder_woonwens(),
    )
    .await
    .unwrap();

    // A second case without consent: it must go nowhere.
    let other = Canaries {
        bsn: canary_bsn(seed + 1),
        name: format!("Zondertoestemming{seed}, Z."),
        reden: format!("kanarie-zonder-{seed}"),
        weigering: String::new(),
    };
    let silent = aanmelden(&net, &other, false, "maatschappelijke_opvang", "GM0080").await;

    // --- The Transferpunt assesses: incomplete, sent back, marking the missing field in the request itself.
    wait_for(
        &net,
        TP,
        &case,
        "bemiddelingsverzoek",
        "datum_verzoek",
        json!("2025-10-01"),
    )
    .await;
    net.write(TP, &case, D::Beoordeling, None, json!({
        "status": "teruggestuurd_onvolledig", "datum_ontvangen": "2025-10-02", "datum_teruggestuurd": "2025-10-03",
        "ontbrekende_gegevens": ["bemiddelingsverzoek.woonwens"], "aantal_keer_teruggestuurd": 1
    })).await.unwrap();
    let mut verzoek = net.holds(TP, &case).await["bemiddelingsverzoek"].clone();
    verzoek["ontbrekende_gegevens"] = json!(["bemiddelingsverzoek.woonwens"]);
    net.write(TP, &case, D::Bemiddelingsverzoek, None, verzoek)
        .await
        .unwrap();

    // The begeleider sees what is missing and completes the request; both edits merge in the shared document.
    wait_for(
        &net,
        ZA,
        &case,
        "bemiddelingsverzoek",
        "ontbrekende_gegevens",
        json!(["bemiddelingsverzoek.woonwens"]),
    )
    .await;
    wait_for(
        &net,
        ZA,
        &case,
        "beoordeling",
        "status",
        json!("teruggestuurd_onvolledig"),
    )
    .await;
    let mut verzoek = net.holds(ZA, &case).await["bemiddelingsverzoek"].clone();
    verzoek["woonwens"] = json!("Eenpersoonswoning in Leeuwarden, huur tot 650 euro");
    net.write(ZA, &case, D::Bemiddelingsverzoek, None, verzoek)
        .await
        .unwrap();
    wait_for(
        &net,
        TP,
        &case,
        "bemiddelingsverzoek",
        "woonwens",
        json!("Eenpersoonswoning in Leeuwarden, huur tot 650 euro"),
    )
    .await;
    assert_eq!(
        holds(
            &net,
            TP,
            &case,
            "bemiddelingsverzoek",
            "ontbrekende_gegevens"
        )
        .await,
        Some(json!(["bemiddelingsverzoek.woonwens"])),
        "the Transferpunt's own edit survived the merge"
    );

    // --- Complete: the herkomstgemeente is chosen (instroom = uitstroom), and asked for its akkoord.
    net.write(TP, &case, D::Beoordeling, None, json!({
        "status": "goedgekeurd", "datum_ontvangen": "2025-10-02", "datum_teruggestuurd": "2025-10-03",
        "ontbrekende_gegevens": ["bemiddelingsverzoek.woonwens"], "aantal_keer_teruggestuurd": 1,
        "datum_volledig": "2025-10-20", "gekozen_uitstroomgemeente": "GM0080"
    })).await.unwrap();
    wait_for(
        &net,
        LWD,
        &case,
        "beoordeling",
        "gekozen_uitstroomgemeente",
        json!("GM0080"),
    )
    .await;
    net.write(LWD, &case, D::Gemeente, None, json!({
        "akkoord_uitstroom": "akkoord", "datum_akkoord": "2025-10-22",
        "gebiedsteam_contactpersoon": "Gebiedsteam Leeuwarden-Oost", "datum_contact_gebiedsteam": "2025-10-23"
    })).await.unwrap();
    wait_for(
        &net,
        TP,
        &case,
        &format!("gemeente/{LWD}"),
        "akkoord_uitstroom",
        json!("akkoord"),
    )
    .await;

    // --- Round-robin: the first corporatie asks for information, then refuses with a reason.
    let tp = net.node(TP);
    let first = node::bemiddeling::assign_corporatie(tp.node(), &tp.user, &case)
        .await
        .unwrap();
    assert_eq!(first.to_string(), ACC, "fewest cases so far, ties by name");
    wait_for(
        &net,
        ACC,
        &case,
        &format!("aanmeldbericht/{ACC}"),
        "bsn",
        json!(c.bsn),
    )
    .await;
    net.write(
        ACC,
        &case,
        D::Reactie,
        None,
        json!({
            "besluit": "informatie_gevraagd", "datum_besluit": "2025-10-24",
            "informatieverzoek": "Graag een verklaring over de schuldsanering"
        }),
    )
    .await
    .unwrap();
    wait_for(
        &net,
        TP,
        &case,
        &format!("reactie/{ACC}"),
        "besluit",
        json!("informatie_gevraagd"),
    )
    .await;
    wait_for(
        &net,
        ZA,
        &case,
        &format!("reactie/{ACC}"),
        "informatieverzoek",
        json!("Graag een verklaring over de schuldsanering"),
    )
    .await;
    net.write(ACC, &case, D::Reactie, None, json!({
        "besluit": "geweigerd", "datum_besluit": "2025-10-28", "reden_weigering": "huurachterstand",
        "toelichting_weigering": c.weigering
    })).await.unwrap();
    wait_for(
        &net,
        TP,
        &case,
        &format!("reactie/{ACC}"),
        "besluit",
        json!("geweigerd"),
    )
    .await;

    // The refusal goes to the next corporatie in the same gemeente; the first no longer holds the aanmeldbericht.
    let second = node::bemiddeling::assign_corporatie(tp.node(), &tp.user, &case)
        .await
        .unwrap();
    assert_eq!(second.to_string(), ELK);
    wait_for(
        &net,
        ELK,
        &case,
        &format!("aanmeldbericht/{ELK}"),
        "achternaam_initialen",
        json!(c.name),
    )
    .await;
    wait_until(
        "the refusing corporatie deleted its aanmeldbericht",
        WAIT,
        || async { section_names(&net.holds(ACC, &case).await) == vec![format!("reactie/{ACC}")] },
    )
    .await;

    // --- An offer refused with a reason, a second offer accepted, a 3-partijen lease with its omklap conditions.
    let offer1 = json!({"datum_aanbod": "2025-11-10", "adres": "Tuinstraat 5, Leeuwarden", "type_woning": "sociale_huur",
        "reactie_client": "geweigerd", "reden_weigering_client": "Te ver van de dagbesteding"});
    net.write(
        ELK,
        &case,
        D::Reactie,
        None,
        json!({"besluit": "geaccepteerd", "datum_besluit": "2025-11-03", "aanbiedingen": [offer1]}),
    )
    .await
    .unwrap();
    let offer2 = json!({"datum_aanbod": "2025-11-20", "adres": "Kerkstraat 9, Leeuwarden", "type_woning": "sociale_huur",
        "reactie_client": "geaccepteerd"});
    net.write(ELK, &case, D::Reactie, None, json!({
        "besluit": "geaccepteerd", "datum_besluit": "2025-11-03", "aanbiedingen": [offer1, offer2],
        "soort_huurcontract": "drie_partijen", "datum_ondertekening": "2025-11-24", "einddatum_drie_partijen": "2027-11-24",
        "omklapvoorwaarden": "Huur volledig en op tijd betalen, geen overlast, woning als goed huurder gebruiken"
    })).await.unwrap();
    wait_for(
        &net,
        ZA,
        &case,
        &format!("reactie/{ELK}"),
        "soort_huurcontract",
        json!("drie_partijen"),
    )
    .await;

    // --- The zorgaanbieder reports the placement.
    net.write(ZA, &case, D::Plaatsing, None, json!({
        "achternaam_voorletters": c.name, "soort_mutatie": "uitstroom_zelfstandig", "datum_mutatie": "2025-11-24",
        "mutatie_adres": "Kerkstraat 9, Leeuwarden", "definitief_uitstroomprofiel": "zelfstandig_wonen_met_ondersteuning",
        "naam_verhuurder": "Elkien", "definitieve_uitstroomgemeente": "GM0080", "type_woning": "sociale_huur",
        "soort_huurcontract": "drie_partijen", "wijze_van_toewijzing": "bemiddeling"
    })).await.unwrap();
    wait_for(
        &net,
        TP,
        &case,
        "plaatsing",
        "soort_mutatie",
        json!("uitstroom_zelfstandig"),
    )
    .await;
    wait_for(
        &net,
        LWD,
        &case,
        "plaatsing",
        "datum_mutatie",
        json!("2025-11-24"),
    )
    .await;

    // === A second case, BW, from Heerenveen: back to the herkomstgemeente, round-robin to the next corporatie.
    let c2 = Canaries {
        bsn: canary_bsn(seed + 2),
        name: format!("Tweede{seed}, T."),
        reden: format!("kanarie-tweede-{seed}"),
        weigering: String::new(),
    };
    let case2 = aanmelden(&net, &c2, true, "beschermd_wonen", "GM0074").await;
    net.write(ZA, &case2, D::VervolgWonen, None, vervolg(&c2, "GM0074"))
        .await
        .unwrap();
    let verzoek2 = scenario::verzoek("Benedenwoning in Heerenveen");
    net.write(ZA, &case2, D::Bemiddelingsverzoek, None, verzoek2)
        .await
        .unwrap();
    wait_for(
        &net,
        TP,
        &case2,
        "bemiddelingsverzoek",
        "woonwens",
        json!("Benedenwoning in Heerenveen"),
    )
    .await;
    net.write(TP, &case2, D::Beoordeling, None, json!({
        "status": "goedgekeurd", "datum_ontvangen": "2025-10-02", "datum_volledig": "2025-10-02",
        "gekozen_uitstroomgemeente": "GM0074"
    })).await.unwrap();
    wait_for(
        &net,
        HRV,
        &case2,
        "beoordeling",
        "gekozen_uitstroomgemeente",
        json!("GM0074"),
    )
    .await;
    net.write(
        HRV,
        &case2,
        D::Gemeente,
        None,
        json!({"akkoord_uitstroom": "akkoord", "datum_akkoord": "2025-10-06"}),
    )
    .await
    .unwrap();
    wait_for(
        &net,
        TP,
        &case2,
        &format!("gemeente/{HRV}"),
        "akkoord_uitstroom",
        json!("akkoord"),
    )
    .await;
    let next = node::bemiddeling::assign_corporatie(tp.node(), &tp.user, &case2)
        .await
        .unwrap();
    assert_eq!(
        next.to_string(),
        ACC,
        "one case each so far: om en om, ties by name"
    );
    wait_for(
        &net,
        ACC,
        &case2,
        &format!("aanmeldbericht/{ACC}"),
        "beoogde_uitstroomgemeente",
        json!("GM0074"),
    )
    .await;
    net.write(ACC, &case2, D::Reactie, None, json!({
        "besluit": "geaccepteerd", "datum_besluit": "2025-10-10",
        "aanbiedingen": [{"datum_aanbod": "2025-10-20", "adres": "Gracht 3, Heerenveen", "reactie_client": "geaccepteerd"}],
        "soort_huurcontract": "eigen_naam", "datum_ondertekening": "2025-11-01"
    })).await.unwrap();
    wait_for(
        &net,
        ZA,
        &case2,
        &format!("reactie/{ACC}"),
        "soort_huurcontract",
        json!("eigen_naam"),
    )
    .await;
    net.write(ZA, &case2, D::Plaatsing, None, json!({
        "achternaam_voorletters": c2.name, "soort_mutatie": "uitstroom_zelfstandig", "datum_mutatie": "2025-11-01",
        "mutatie_adres": "Gracht 3, Heerenveen", "definitief_uitstroomprofiel": "zelfstandig_wonen",
        "naam_verhuurder": "Accolade", "definitieve_uitstroomgemeente": "GM0074", "type_woning": "sociale_huur",
        "soort_huurcontract": "eigen_naam", "wijze_van_toewijzing": "bemiddeling"
    })).await.unwrap();
    wait_for(
        &net,
        HRV,
        &case2,
        "plaatsing",
        "definitieve_uitstroomgemeente",
        json!("GM0074"),
    )
    .await;
    assert!(
        net.holds(ELK, &case2).await.is_empty(),
        "elkien has no part in the second case"
    );
    assert_eq!(
        section_names(&net.holds(ACC, &case2).await),
        vec![format!("aanmeldbericht/{ACC}"), format!("reactie/{ACC}")]
    );
    let hrv2 = net.holds(HRV, &case2).await;
    assert!(hrv2["registratie"].get("reden_dakloosheid").is_none());
    assert!(
        !files_contain(net.node(HRV).dir.path(), &c2.reden),
        "reden_dakloosheid leaked to the uitstroomgemeente"
    );
    assert!(
        !files_contain(net.node(ELK).dir.path(), &c2.bsn),
        "the second case's BSN reached elkien"
    );

    // === What each node holds (sync is eventual: wait until the Transferpunt has every section).
    wait_until(
        "the Transferpunt holds every section of the first case",
        WAIT,
        || async {
            let h = net.holds(TP, &case).await;
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
    let tp_holds = net.holds(TP, &case).await;
    for section in [
        "registratie",
        "aanmelding",
        "vervolg_wonen",
        "bemiddelingsverzoek",
        "beoordeling",
        "plaatsing",
    ] {
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
    let za_holds = net.holds(ZA, &case).await;
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

    let elk = net.holds(ELK, &case).await;
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
        net.holds(HRV, &case).await.is_empty(),
        "the uninvolved gemeente holds nothing"
    );
    assert!(
        za_holds[&format!("reactie/{ACC}")]
            .get("reden_weigering")
            .is_none(),
        "not for the zorgaanbieder"
    );
    let lwd = net.holds(LWD, &case).await;
    assert!(
        lwd.get("registratie")
            .is_some_and(|r| r.get("reden_dakloosheid").is_none())
    );
    assert!(!lwd.contains_key("ondersteuningsplan"));

    // Nothing of the case without consent left the zorgaanbieder.
    for p in [TP, LWD, HRV, ACC, ELK] {
        assert!(
            net.holds(p, &silent).await.is_empty(),
            "{p} holds part of a case without consent"
        );
    }

    // === Canaries, as raw bytes in every node's files (database, WAL, config) and in every log line.
    let dir = |p: &str| net.node(p).dir.path().to_path_buf();
    let found = |p: &str, needle: &str| files_contain(&dir(p), needle);
    for p in [ZA, TP] {
        assert!(
            found(p, &c.reden),
            "{p} should hold reden_dakloosheid (the test must find what is there)"
        );
    }
    for p in [LWD, HRV, ACC, ELK] {
        assert!(!found(p, &c.reden), "reden_dakloosheid leaked to {p}");
    }
    for p in [ZA, TP, LWD, ELK] {
        assert!(found(p, &c.bsn), "{p} should hold the BSN");
        assert!(found(p, &c.name), "{p} should hold the name");
    }
    assert!(
        !found(HRV, &c.bsn) && !found(HRV, &c.name),
        "the uninvolved gemeente holds the BSN or name"
    );
    assert!(found(ACC, &c.weigering) && found(TP, &c.weigering));
    for p in [ELK, ZA, LWD, HRV] {
        assert!(
            !found(p, &c.weigering),
            "one corporatie's refusal reason reached {p}"
        );
    }
    for p in [TP, LWD, HRV, ACC, ELK] {
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

    // === Every disclosure is in the sender's audit log, with the flow and the policy version.
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
