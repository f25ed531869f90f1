//! The monitor on hand-built cases: indicators against hand-counted values, each alert at its boundary.

use policies::werkdagen::Werkdagen;
use policies::{CaseDocuments, DocumentKind, Gemeenten, Validator};
use serde_json::{Value as Json, json};
use time::Date;
use time::macros::date;

use crate::alerts::{AlertKind, case_alerts};
use crate::indicators::{jaar, per_jaar};
use crate::{Instance, MonitorCase};

/// A case from `(section, json)` pairs; `reactie/…` and `gemeente/…` sections are instances.
pub(crate) fn case(id: &str, sections: &[(&str, Json)]) -> MonitorCase {
    let gemeenten = Gemeenten::friesland();
    let v = Validator::new(&gemeenten, date!(2030 - 01 - 01));
    let mut docs = CaseDocuments::new();
    let mut reacties = Vec::new();
    let mut gems = Vec::new();
    for (section, json) in sections {
        let (kind, partner) = section.split_once('/').unwrap_or((section, ""));
        let kind = DocumentKind::from_name(kind).expect("document kind");
        let form = v
            .partial_form(kind, json)
            .unwrap_or_else(|e| panic!("{section}: {e:?}"));
        docs.insert(form.clone());
        let inst = Instance {
            partner: partner.to_string(),
            form,
        };
        match kind {
            DocumentKind::Reactie => reacties.push(inst),
            DocumentKind::Gemeente => gems.push(inst),
            _ => {}
        }
    }
    MonitorCase::new(id, docs, reacties, gems)
}

/// Six cases, hand-counted in the test below.
pub(crate) fn fixture() -> Vec<MonitorCase> {
    vec![
        // A: BW, bemiddeld back to the herkomstgemeente, 3-partijen lease, one refusal by accolade.
        case(
            "a",
            &[
                (
                    "registratie",
                    json!({"herkomstgemeente": "GM0080", "soort_voorziening": "beschermd_wonen", "start_verblijf_opvang": "2024-03-01", "betrokken_zorgaanbieder": "zorgaanbieder:limor"}),
                ),
                (
                    "aanmelding",
                    json!({"datum_aanmelding": "2024-12-01", "inschrijvingen_woningcorporaties": [{"corporatie": "Elkien", "datum_inschrijving": "2022-06-10"}]}),
                ),
                (
                    "bemiddelingsverzoek",
                    json!({"datum_verzoek": "2025-01-10", "datum_ingediend": "2025-01-10"}),
                ),
                (
                    "beoordeling",
                    json!({"status": "goedgekeurd", "datum_ontvangen": "2025-01-10", "datum_teruggestuurd": "2025-01-15", "datum_volledig": "2025-02-09", "gekozen_uitstroomgemeente": "GM0080"}),
                ),
                (
                    "aanmeldbericht",
                    json!({"corporatie": "corporatie:accolade", "datum_verzonden": "2025-02-03"}),
                ),
                (
                    "aanmeldbericht",
                    json!({"corporatie": "corporatie:elkien", "datum_verzonden": "2025-02-10"}),
                ),
                (
                    "reactie/corporatie:accolade",
                    json!({"besluit": "geweigerd", "datum_besluit": "2025-02-07", "reden_weigering": "huurachterstand", "toelichting_weigering": "x"}),
                ),
                (
                    "reactie/corporatie:elkien",
                    json!({"besluit": "geaccepteerd", "datum_besluit": "2025-02-14", "aanbiedingen": [
                    {"datum_aanbod": "2025-04-11", "adres": "x", "reactie_client": "geweigerd", "reden_weigering_client": "te ver"},
                    {"datum_aanbod": "2025-05-12", "adres": "y", "reactie_client": "geaccepteerd"}],
                    "soort_huurcontract": "drie_partijen", "datum_ondertekening": "2025-06-01", "einddatum_drie_partijen": "2027-06-01"}),
                ),
                (
                    "gemeente/gemeente:GM0080",
                    json!({"datum_contact_gebiedsteam": "2025-06-01"}),
                ),
                (
                    "plaatsing",
                    json!({"soort_mutatie": "uitstroom_zelfstandig", "datum_mutatie": "2025-06-10", "definitieve_uitstroomgemeente": "GM0080", "type_woning": "sociale_huur", "wijze_van_toewijzing": "bemiddeling", "soort_huurcontract": "drie_partijen"}),
                ),
            ],
        ),
        // B: MO, bemiddeld to another gemeente, own name, no gebiedsteam contact.
        case(
            "b",
            &[
                (
                    "registratie",
                    json!({"herkomstgemeente": "GM0074", "soort_voorziening": "maatschappelijke_opvang", "start_verblijf_opvang": "2025-01-05"}),
                ),
                ("aanmelding", json!({"datum_aanmelding": "2025-01-12"})),
                (
                    "bemiddelingsverzoek",
                    json!({"datum_verzoek": "2025-02-01", "datum_ingediend": "2025-02-01"}),
                ),
                (
                    "beoordeling",
                    json!({"status": "goedgekeurd", "datum_ontvangen": "2025-02-01", "datum_volledig": "2025-02-11", "gekozen_uitstroomgemeente": "GM0080"}),
                ),
                (
                    "aanmeldbericht",
                    json!({"corporatie": "corporatie:elkien", "datum_verzonden": "2025-02-12"}),
                ),
                (
                    "reactie/corporatie:elkien",
                    json!({"besluit": "geaccepteerd", "datum_besluit": "2025-02-19", "aanbiedingen": [
                    {"datum_aanbod": "2025-03-14", "adres": "z", "reactie_client": "geaccepteerd"}], "soort_huurcontract": "eigen_naam", "datum_ondertekening": "2025-03-25"}),
                ),
                (
                    "plaatsing",
                    json!({"soort_mutatie": "uitstroom_zelfstandig", "datum_mutatie": "2025-04-01", "definitieve_uitstroomgemeente": "GM0080", "type_woning": "sociale_huur", "wijze_van_toewijzing": "bemiddeling", "soort_huurcontract": "eigen_naam"}),
                ),
            ],
        ),
        // C: MO, regular outflow to a private landlord.
        case(
            "c",
            &[
                (
                    "registratie",
                    json!({"herkomstgemeente": "GM0090", "soort_voorziening": "maatschappelijke_opvang", "start_verblijf_opvang": "2024-11-01"}),
                ),
                (
                    "plaatsing",
                    json!({"soort_mutatie": "uitstroom_zelfstandig", "datum_mutatie": "2025-03-01", "definitieve_uitstroomgemeente": "GM0090", "type_woning": "particuliere_huur", "wijze_van_toewijzing": "regulier", "soort_huurcontract": "eigen_naam"}),
                ),
            ],
        ),
        // D: BW, uitval by eviction.
        case(
            "d",
            &[
                (
                    "registratie",
                    json!({"herkomstgemeente": "GM0080", "soort_voorziening": "beschermd_wonen", "start_verblijf_opvang": "2023-05-01"}),
                ),
                (
                    "plaatsing",
                    json!({"soort_mutatie": "huisuitzetting", "datum_mutatie": "2025-07-01"}),
                ),
            ],
        ),
        // E: MO, request rejected for missing information.
        case(
            "e",
            &[
                (
                    "registratie",
                    json!({"herkomstgemeente": "GM0086", "soort_voorziening": "maatschappelijke_opvang", "start_verblijf_opvang": "2025-08-01"}),
                ),
                ("aanmelding", json!({"datum_aanmelding": "2025-08-05"})),
                (
                    "bemiddelingsverzoek",
                    json!({"datum_verzoek": "2025-09-01", "datum_ingediend": "2025-09-01"}),
                ),
                (
                    "beoordeling",
                    json!({"status": "afgewezen", "reden_afwijzing": "onvolledige_informatie", "datum_ontvangen": "2025-09-01", "datum_afgesloten": "2025-10-01"}),
                ),
            ],
        ),
        // F: BW, bemiddeld in 2024 away from the herkomstgemeente.
        case(
            "f",
            &[
                (
                    "registratie",
                    json!({"herkomstgemeente": "GM0080", "soort_voorziening": "beschermd_wonen", "start_verblijf_opvang": "2023-01-01"}),
                ),
                (
                    "bemiddelingsverzoek",
                    json!({"datum_verzoek": "2024-02-01", "datum_ingediend": "2024-02-01"}),
                ),
                (
                    "plaatsing",
                    json!({"soort_mutatie": "uitstroom_zelfstandig", "datum_mutatie": "2024-06-01", "definitieve_uitstroomgemeente": "GM0074", "type_woning": "sociale_huur", "wijze_van_toewijzing": "bemiddeling", "soort_huurcontract": "eigen_naam"}),
                ),
            ],
        ),
    ]
}

fn map(pairs: &[(&str, u32)]) -> std::collections::BTreeMap<String, u32> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn indicators_match_hand_counts() {
    let cases = fixture();
    let y = jaar(&cases, 2025);
    assert_eq!(y.verzoeken, 3);
    assert_eq!(y.afwijzingen, map(&[("onvolledige_informatie", 1)]));
    // 1, 2, 3: uitstroom per gemeente, regular per landlord type, bemiddeld.
    assert_eq!(y.bemiddeld, 2);
    assert_eq!(y.regulier, map(&[("particuliere_huur", 1)]));
    assert_eq!(y.uitstroom(), 3);
    let g80 = &y.per_gemeente["GM0080"];
    assert_eq!(
        (
            g80.verzoeken_herkomst,
            g80.uitstroom_bemiddeld,
            g80.uitstroom_regulier,
            g80.uitval
        ),
        (1, 2, 0, 1)
    );
    assert_eq!(y.per_gemeente["GM0090"].uitstroom(), 1);
    assert_eq!(y.per_gemeente["GM0074"].verzoeken_herkomst, 1);
    assert_eq!(y.per_gemeente["GM0086"].verzoeken_herkomst, 1);
    assert_eq!(y.per_gemeente.len(), 4);
    // 4: lease types.
    assert_eq!(
        (y.drie_partijen, y.eigen_naam, y.huurcontract_onbekend),
        (1, 2, 0)
    );
    // 5: refusals by corporaties, with reasons; step durations per corporatie.
    assert_eq!(y.weigeringen(), 1);
    assert_eq!(y.weigeringen_per_reden(), map(&[("huurachterstand", 1)]));
    let elkien = &y.per_corporatie["corporatie:elkien"];
    assert_eq!(
        (
            elkien.aanmeldberichten,
            elkien.geaccepteerd,
            elkien.aanbiedingen,
            elkien.aanbiedingen_geweigerd_door_client
        ),
        (2, 2, 3, 1)
    );
    assert_eq!(elkien.dagen_tot_besluit.value(), Some(5.5));
    assert_eq!(elkien.dagen_tot_aanbod.value(), Some(45.0));
    let accolade = &y.per_corporatie["corporatie:accolade"];
    assert_eq!(accolade.weigeringen, map(&[("huurachterstand", 1)]));
    assert_eq!(accolade.dagen_tot_besluit.value(), Some(4.0));
    assert_eq!(accolade.dagen_tot_aanbod.value(), None);
    // 6: uitval.
    assert_eq!(y.uitval, map(&[("huisuitzetting", 1)]));
    // 7, 8: start and end of stays.
    assert_eq!(y.gestart, map(&[("maatschappelijke_opvang", 2)]));
    assert_eq!(
        y.beeindigd,
        map(&[("beschermd_wonen", 2), ("maatschappelijke_opvang", 2)])
    );
    // 9: registration at a corporatie: 2022-06-10 to 2025-06-10 is 1096 days.
    assert_eq!(y.inschrijving_bekend, 1);
    assert!((y.inschrijfduur_maanden.value().unwrap() - 1096.0 / (365.25 / 12.0)).abs() < 1e-9);
    // The evaluation's table: lead time (151 + 59) / 2 days, herkomst share 1 of 2.
    assert_eq!(y.doorlooptijd_dagen.value(), Some(105.0));
    assert!((y.doorlooptijd_maanden().unwrap() - 3.4497).abs() < 1e-3);
    assert_eq!(y.aandeel_herkomst(), Some(0.5));
    // Figure 4: completing a request (30 and 10 days); sent back once.
    assert_eq!(y.dagen_tot_volledig.value(), Some(20.0));
    assert_eq!(y.teruggestuurd, 1);
    // Zachte landing: A's gebiedsteam came before the move, B and C unknown.
    assert_eq!(
        (y.gebiedsteam_voor_verhuizing, y.gebiedsteam_na_of_onbekend),
        (1, 2)
    );

    let all = per_jaar(&cases);
    assert_eq!(
        all.keys().copied().collect::<Vec<_>>(),
        vec![2023, 2024, 2025]
    );
    let y24 = &all[&2024];
    assert_eq!(
        (
            y24.verzoeken,
            y24.bemiddeld,
            y24.herkomst_bekend,
            y24.terug_naar_herkomst
        ),
        (1, 1, 1, 0)
    );
    assert_eq!(y24.doorlooptijd_dagen.value(), Some(121.0));
    assert_eq!(
        y24.gestart,
        map(&[("beschermd_wonen", 1), ("maatschappelijke_opvang", 1)])
    );
    assert_eq!(all[&2023].gestart, map(&[("beschermd_wonen", 2)]));
    assert_eq!(jaar(&cases, 2019).verzoeken, 0);
}

fn kinds(c: &MonitorCase, today: Date) -> Vec<(AlertKind, String, bool)> {
    case_alerts(c, today, &Werkdagen::new())
        .into_iter()
        .map(|a| (a.kind, a.addressee, a.overdue))
        .collect()
}

fn has(c: &MonitorCase, today: Date, kind: AlertKind) -> bool {
    kinds(c, today).iter().any(|(k, _, _)| *k == kind)
}

#[test]
fn alert_aanmelding_mo_two_weeks() {
    let reg = json!({"soort_voorziening": "maatschappelijke_opvang", "start_verblijf_opvang": "2025-03-03", "betrokken_zorgaanbieder": "zorgaanbieder:limor"});
    let c = case("mo", &[("registratie", reg.clone())]);
    assert!(kinds(&c, date!(2025 - 03 - 17)).is_empty());
    assert_eq!(
        kinds(&c, date!(2025 - 03 - 18)),
        vec![(AlertKind::AanmeldingMo, "zorgaanbieder:limor".into(), true)]
    );
    let done = case(
        "mo",
        &[
            ("registratie", reg),
            ("aanmelding", json!({"datum_aanmelding": "2025-03-10"})),
        ],
    );
    assert!(!has(&done, date!(2025 - 04 - 01), AlertKind::AanmeldingMo));
}

#[test]
fn alert_bemiddeling_before_bw_beschikking_ends() {
    let reg = json!({"soort_voorziening": "beschermd_wonen", "start_verblijf_opvang": "2024-01-01", "betrokken_zorgaanbieder": "zorgaanbieder:limor"});
    let gem = json!({"soort_beschikking": "beschermd_wonen", "beschikking_startdatum": "2024-01-01", "beschikking_einddatum": "2026-06-30"});
    let c = case(
        "bw",
        &[
            ("registratie", reg.clone()),
            ("gemeente/gemeente:GM0080", gem.clone()),
        ],
    );
    // Deadline 2026-03-30, warned a month ahead.
    assert!(!has(
        &c,
        date!(2026 - 02 - 27),
        AlertKind::BemiddelingVoorEindeBeschikking
    ));
    assert_eq!(
        kinds(&c, date!(2026 - 02 - 28)),
        vec![(
            AlertKind::BemiddelingVoorEindeBeschikking,
            "zorgaanbieder:limor".into(),
            false
        )]
    );
    assert!(!kinds(&c, date!(2026 - 03 - 30))[0].2);
    assert!(kinds(&c, date!(2026 - 03 - 31))[0].2);
    let done = case(
        "bw",
        &[
            ("registratie", reg),
            ("gemeente/gemeente:GM0080", gem),
            (
                "bemiddelingsverzoek",
                json!({"datum_verzoek": "2026-01-05", "datum_ingediend": "2026-01-05"}),
            ),
        ],
    );
    assert!(!has(
        &done,
        date!(2026 - 03 - 31),
        AlertKind::BemiddelingVoorEindeBeschikking
    ));
}

#[test]
fn alert_corporatie_answers_within_five_werkdagen_across_easter() {
    // Sent Thursday 17 April 2025: Good Friday, Easter Monday and Koningsdag (Saturday 26th) fall in between;
    // five werkdagen are 22, 23, 24, 25 and 28 April.
    let bericht = (
        "aanmeldbericht",
        json!({"corporatie": "corporatie:elkien", "datum_verzonden": "2025-04-17"}),
    );
    let c = case("r", std::slice::from_ref(&bericht));
    assert!(!has(
        &c,
        date!(2025 - 04 - 28),
        AlertKind::ReactieCorporatie
    ));
    assert_eq!(
        kinds(&c, date!(2025 - 04 - 29)),
        vec![(
            AlertKind::ReactieCorporatie,
            "corporatie:elkien".into(),
            true
        )]
    );
    let asked = case(
        "r",
        &[
            bericht.clone(),
            (
                "reactie/corporatie:elkien",
                json!({"besluit": "informatie_gevraagd", "datum_besluit": "2025-04-22", "informatieverzoek": "inkomen?"}),
            ),
        ],
    );
    assert!(!has(
        &asked,
        date!(2025 - 04 - 29),
        AlertKind::ReactieCorporatie
    ));
    // An offer within 3 months: due 17 July.
    assert!(!has(&asked, date!(2025 - 07 - 17), AlertKind::Aanbod));
    assert_eq!(
        kinds(&asked, date!(2025 - 07 - 18)),
        vec![(AlertKind::Aanbod, "corporatie:elkien".into(), true)]
    );
    // A refusal ends the corporatie's deadlines.
    let refused = case(
        "r",
        &[
            bericht,
            (
                "reactie/corporatie:elkien",
                json!({"besluit": "geweigerd", "datum_besluit": "2025-04-22", "reden_weigering": "overlast", "toelichting_weigering": "x"}),
            ),
        ],
    );
    assert!(kinds(&refused, date!(2025 - 08 - 01)).is_empty());
}

#[test]
fn alert_second_offer_after_refusal() {
    let bericht = (
        "aanmeldbericht",
        json!({"corporatie": "corporatie:elkien", "datum_verzonden": "2025-02-10"}),
    );
    let one = json!({"besluit": "geaccepteerd", "datum_besluit": "2025-02-14", "aanbiedingen": [
        {"datum_aanbod": "2025-05-02", "adres": "x", "reactie_client": "geweigerd", "reden_weigering_client": "te ver"}]});
    let c = case("o", &[bericht.clone(), ("reactie/corporatie:elkien", one)]);
    assert!(kinds(&c, date!(2025 - 08 - 02)).is_empty());
    assert_eq!(
        kinds(&c, date!(2025 - 08 - 03)),
        vec![(AlertKind::TweedeAanbod, "corporatie:elkien".into(), true)]
    );
    let two = json!({"besluit": "geaccepteerd", "datum_besluit": "2025-02-14", "aanbiedingen": [
        {"datum_aanbod": "2025-05-02", "adres": "x", "reactie_client": "geweigerd", "reden_weigering_client": "te ver"},
        {"datum_aanbod": "2025-07-02", "adres": "y", "reactie_client": "openstaand"}]});
    let c = case("o", &[bericht, ("reactie/corporatie:elkien", two)]);
    assert!(kinds(&c, date!(2025 - 08 - 03)).is_empty());
}

#[test]
fn alert_drie_partijen_lease_ends() {
    let lease = |einde: &str| {
        json!({"besluit": "geaccepteerd", "datum_besluit": "2025-02-14", "soort_huurcontract": "drie_partijen",
            "datum_ondertekening": "2025-06-01", "einddatum_drie_partijen": einde})
    };
    let plaatsing = (
        "plaatsing",
        json!({"soort_mutatie": "uitstroom_zelfstandig", "datum_mutatie": "2025-06-10"}),
    );
    let c = case(
        "l",
        &[
            ("reactie/corporatie:elkien", lease("2027-06-01")),
            plaatsing.clone(),
        ],
    );
    assert!(kinds(&c, date!(2027 - 02 - 28)).is_empty());
    assert_eq!(
        kinds(&c, date!(2027 - 03 - 01)),
        vec![(
            AlertKind::DriePartijenLooptAf,
            "corporatie:elkien".into(),
            false
        )]
    );
    assert!(kinds(&c, date!(2027 - 06 - 02))[0].2);
    let omklap = case(
        "l",
        &[
            ("reactie/corporatie:elkien", lease("2026-06-01")),
            plaatsing,
        ],
    );
    assert!(has(
        &omklap,
        date!(2026 - 03 - 01),
        AlertKind::DriePartijenLooptAf
    ));
    assert!(!has(
        &omklap,
        date!(2026 - 02 - 28),
        AlertKind::DriePartijenLooptAf
    ));
}

#[test]
fn alert_gebiedsteam_before_move() {
    let reactie = (
        "reactie/corporatie:elkien",
        json!({"besluit": "geaccepteerd", "datum_besluit": "2025-02-14", "aanbiedingen": [
        {"datum_aanbod": "2025-05-12", "adres": "y", "reactie_client": "geaccepteerd"}], "soort_huurcontract": "eigen_naam", "datum_ondertekening": "2025-06-01"}),
    );
    let beoordeling = (
        "beoordeling",
        json!({"status": "goedgekeurd", "datum_ontvangen": "2025-01-10", "gekozen_uitstroomgemeente": "GM0080"}),
    );
    let c = case("g", &[beoordeling.clone(), reactie.clone()]);
    assert!(kinds(&c, date!(2025 - 05 - 11)).is_empty());
    assert_eq!(
        kinds(&c, date!(2025 - 05 - 12)),
        vec![(
            AlertKind::GebiedsteamVoorVerhuizing,
            "gemeente:GM0080".into(),
            false
        )]
    );
    assert!(kinds(&c, date!(2025 - 06 - 02))[0].2);
    let known = case(
        "g",
        &[
            beoordeling,
            reactie,
            (
                "gemeente/gemeente:GM0080",
                json!({"datum_contact_gebiedsteam": "2025-05-20"}),
            ),
        ],
    );
    assert!(kinds(&known, date!(2025 - 06 - 02)).is_empty());
}

#[test]
fn fixture_has_no_open_alerts_after_placement() {
    // Every fixture case is placed or closed, except none: placed cases raise only the 3-partijen warning.
    let cases = fixture();
    let alerts = crate::alerts::open_alerts(&cases, date!(2027 - 03 - 01), &Werkdagen::new());
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, AlertKind::DriePartijenLooptAf);
    assert_eq!(alerts[0].case, "a");
}

#[test]
fn withdrawn_aanmeldbericht_counts_from_the_historie_and_negative_durations_are_left_out() {
    let c = case(
        "h",
        &[
            (
                "beoordeling",
                json!({"status": "goedgekeurd", "datum_ontvangen": "2025-10-01", "corporatie_historie": [
                {"corporatie": "corporatie:accolade", "datum_aanmelding": "2025-10-20", "uitkomst": "geweigerd"},
                {"corporatie": "corporatie:elkien", "datum_aanmelding": "2025-11-01", "uitkomst": "lopend"}]}),
            ),
            // The aanmeldbericht itself carries a later date than the corporatie's answer: a data error.
            (
                "aanmeldbericht",
                json!({"corporatie": "corporatie:elkien", "datum_verzonden": "2025-12-01"}),
            ),
            (
                "reactie/corporatie:accolade",
                json!({"besluit": "geweigerd", "datum_besluit": "2025-10-24", "reden_weigering": "overlast", "toelichting_weigering": "x"}),
            ),
            (
                "reactie/corporatie:elkien",
                json!({"besluit": "geaccepteerd", "datum_besluit": "2025-11-03"}),
            ),
        ],
    );
    assert_eq!(
        crate::indicators::aanmeldingen(&c),
        vec![
            ("corporatie:accolade".to_string(), date!(2025 - 10 - 20)),
            ("corporatie:elkien".to_string(), date!(2025 - 11 - 01))
        ]
    );
    let y = jaar(&[c], 2025);
    assert_eq!(y.per_corporatie["corporatie:accolade"].aanmeldberichten, 1);
    assert_eq!(
        y.per_corporatie["corporatie:accolade"]
            .dagen_tot_besluit
            .value(),
        Some(4.0)
    );
    assert_eq!(
        y.per_corporatie["corporatie:elkien"]
            .dagen_tot_besluit
            .value(),
        Some(2.0)
    );

    let late = case(
        "n",
        &[
            (
                "aanmeldbericht",
                json!({"corporatie": "corporatie:elkien", "datum_verzonden": "2025-12-01"}),
            ),
            (
                "reactie/corporatie:elkien",
                json!({"besluit": "geaccepteerd", "datum_besluit": "2025-11-03"}),
            ),
        ],
    );
    assert_eq!(
        jaar(&[late], 2025).per_corporatie["corporatie:elkien"]
            .dagen_tot_besluit
            .n,
        0
    );
}

#[test]
fn alert_request_sent_back_until_submitted_again() {
    let reg = (
        "registratie",
        json!({"betrokken_zorgaanbieder": "zorgaanbieder:kwadrant"}),
    );
    let terug = (
        "beoordeling",
        json!({"status": "teruggestuurd_onvolledig", "datum_ontvangen": "2025-10-02", "datum_teruggestuurd": "2025-10-03",
            "ontbrekende_gegevens": ["bemiddelingsverzoek.woonwens"], "aantal_keer_teruggestuurd": 1}),
    );
    let verzoek = |keer: u32| {
        (
            "bemiddelingsverzoek",
            json!({"datum_verzoek": "2025-10-01", "datum_ingediend": "2025-10-03", "aantal_keer_ingediend": keer}),
        )
    };
    let c = case("t", &[reg.clone(), terug.clone(), verzoek(1)]);
    // Open from the day it is sent back; due 10 werkdagen later (Friday 3 → Friday 17 October).
    assert_eq!(
        kinds(&c, date!(2025 - 10 - 03)),
        vec![(
            AlertKind::VerzoekAanvullen,
            "zorgaanbieder:kwadrant".into(),
            false
        )]
    );
    assert!(!kinds(&c, date!(2025 - 10 - 17))[0].2);
    assert!(kinds(&c, date!(2025 - 10 - 20))[0].2);
    // Submitted again the same day: answered, though the beoordeling still says teruggestuurd.
    let again = case("t", &[reg, terug, verzoek(2)]);
    assert!(!has(
        &again,
        date!(2025 - 10 - 03),
        AlertKind::VerzoekAanvullen
    ));
}

#[test]
fn alert_uitstroomgemeente_gives_its_akkoord() {
    let beoordeling = (
        "beoordeling",
        json!({"status": "goedgekeurd", "datum_ontvangen": "2025-10-02", "datum_volledig": "2025-10-20",
            "gekozen_uitstroomgemeente": "GM0080"}),
    );
    let c = case("g", std::slice::from_ref(&beoordeling));
    assert!(!has(
        &c,
        date!(2025 - 10 - 19),
        AlertKind::AkkoordUitstroomgemeente
    ));
    // Due 10 werkdagen after the request was complete: Monday 20 → Monday 3 November.
    assert_eq!(
        kinds(&c, date!(2025 - 11 - 04)),
        vec![(
            AlertKind::AkkoordUitstroomgemeente,
            "gemeente:GM0080".into(),
            true
        )]
    );
    assert!(!kinds(&c, date!(2025 - 11 - 03))[0].2);
    // Another gemeente's answer does not count; the chosen one's does, akkoord or not.
    let other = case(
        "g",
        &[
            beoordeling.clone(),
            (
                "gemeente/gemeente:GM0074",
                json!({"akkoord_uitstroom": "akkoord", "datum_akkoord": "2025-10-22"}),
            ),
        ],
    );
    assert!(has(
        &other,
        date!(2025 - 10 - 22),
        AlertKind::AkkoordUitstroomgemeente
    ));
    let answered = case(
        "g",
        &[
            beoordeling,
            (
                "gemeente/gemeente:GM0080",
                json!({"akkoord_uitstroom": "niet_akkoord", "datum_akkoord": "2025-10-22",
                "toelichting_niet_akkoord": "geen passende ondersteuning"}),
            ),
        ],
    );
    assert!(!has(
        &answered,
        date!(2025 - 10 - 22),
        AlertKind::AkkoordUitstroomgemeente
    ));
}

#[test]
fn a_duty_shows_from_the_day_it_begins_with_the_same_deadline() {
    let c = case(
        "d",
        &[(
            "aanmeldbericht",
            json!({"corporatie": "corporatie:elkien", "datum_verzonden": "2025-04-17"}),
        )],
    );
    let cal = Werkdagen::new();
    // The monitor opens it once overdue; the corporatie's own duty shows from the day it was sent.
    assert!(!has(
        &c,
        date!(2025 - 04 - 17),
        AlertKind::ReactieCorporatie
    ));
    let duties = crate::alerts::case_duties(&c, date!(2025 - 04 - 17), &cal);
    let reactie = duties
        .iter()
        .find(|a| a.kind == AlertKind::ReactieCorporatie)
        .expect("the answer deadline");
    assert_eq!(reactie.deadline, date!(2025 - 04 - 28));
    assert!(!reactie.overdue);
    assert!(crate::alerts::case_duties(&c, date!(2025 - 04 - 16), &cal).is_empty());
}
