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

/// Six cases, hand-counted in the tests below. Verblijfgemeenten: A, D, F Leeuwarden (GM0080) and B too; C
/// Smallingerland (GM0090); E Heerenveen (GM0074). Zorgaanbieders: A, D, F limor; B, C, E kwadrant.
pub(crate) fn fixture() -> Vec<MonitorCase> {
    vec![
        // A: BW, bemiddeld back to the herkomstgemeente, 3-partijen lease, one refusal by accolade.
        case(
            "a",
            &[
                (
                    "registratie",
                    json!({"herkomstgemeente": "GM0080", "soort_voorziening": "beschermd_wonen", "start_verblijf_opvang": "2024-03-01", "verblijfgemeente": "GM0080", "betrokken_zorgaanbieder": "zorgaanbieder:limor"}),
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
                    json!({"herkomstgemeente": "GM0074", "soort_voorziening": "maatschappelijke_opvang", "start_verblijf_opvang": "2025-01-05", "verblijfgemeente": "GM0080", "betrokken_zorgaanbieder": "zorgaanbieder:kwadrant"}),
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
                    json!({"herkomstgemeente": "GM0090", "soort_voorziening": "maatschappelijke_opvang", "start_verblijf_opvang": "2024-11-01", "verblijfgemeente": "GM0090", "betrokken_zorgaanbieder": "zorgaanbieder:kwadrant"}),
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
                    json!({"herkomstgemeente": "GM0080", "soort_voorziening": "beschermd_wonen", "start_verblijf_opvang": "2023-05-01", "verblijfgemeente": "GM0080", "betrokken_zorgaanbieder": "zorgaanbieder:limor"}),
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
                    json!({"herkomstgemeente": "GM0086", "soort_voorziening": "maatschappelijke_opvang", "start_verblijf_opvang": "2025-08-01", "verblijfgemeente": "GM0074", "betrokken_zorgaanbieder": "zorgaanbieder:kwadrant"}),
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
                    json!({"herkomstgemeente": "GM0080", "soort_voorziening": "beschermd_wonen", "start_verblijf_opvang": "2023-01-01", "verblijfgemeente": "GM0080", "betrokken_zorgaanbieder": "zorgaanbieder:limor"}),
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

/// Bijlage 3 (the jaarverslag "op het niveau van Gemeenten, Zorgaanbieder en Woningcorporatie") and Bijlage 1, 1d
/// (the balance of in- and outflow per gemeente), counted by hand from the fixture's comments and dates.
#[test]
fn bijlage_3_per_zorgaanbieder_and_bijlage_1_1d_instroom_per_gemeente_match_hand_counts() {
    let all = per_jaar(&fixture());
    let y = &all[&2025];
    // Requests in 2025: A (limor, 10 Jan), B (kwadrant, 1 Feb), E (kwadrant, 1 Sep).
    // Uitstroom in 2025: A bemiddeld (limor), B bemiddeld and C regulier (kwadrant); D is uitval, not uitstroom.
    // Lead time: A 10 Jan → 10 Jun = 151 days; B 1 Feb → 1 Apr = 59 days.
    let limor = &y.per_zorgaanbieder["zorgaanbieder:limor"];
    assert_eq!(
        (
            limor.verzoeken,
            limor.uitstroom_bemiddeld,
            limor.uitstroom_regulier,
            limor.uitstroom()
        ),
        (1, 1, 0, 1)
    );
    assert_eq!(limor.doorlooptijd_dagen.value(), Some(151.0));
    let kwadrant = &y.per_zorgaanbieder["zorgaanbieder:kwadrant"];
    assert_eq!(
        (
            kwadrant.verzoeken,
            kwadrant.uitstroom_bemiddeld,
            kwadrant.uitstroom_regulier,
            kwadrant.uitstroom()
        ),
        (2, 1, 1, 2)
    );
    assert_eq!(kwadrant.doorlooptijd_dagen.value(), Some(59.0));
    assert_eq!(y.per_zorgaanbieder.len(), 2);
    // 2024: F (limor), requested 1 Feb, bemiddeld 1 Jun = 121 days.
    let f = &all[&2024].per_zorgaanbieder["zorgaanbieder:limor"];
    assert_eq!((f.verzoeken, f.uitstroom_bemiddeld), (1, 1));
    assert_eq!(f.doorlooptijd_dagen.value(), Some(121.0));
    // Instroom by start of the stay and verblijfgemeente: 2025 B (Leeuwarden) and E (Heerenveen); 2024 A
    // (Leeuwarden) and C (Smallingerland); 2023 D and F (Leeuwarden).
    let instroom = |jaar: i32, g: &str| all[&jaar].per_gemeente.get(g).map_or(0, |c| c.instroom);
    assert_eq!(
        (
            instroom(2025, "GM0080"),
            instroom(2025, "GM0074"),
            instroom(2025, "GM0090")
        ),
        (1, 1, 0)
    );
    assert_eq!((instroom(2024, "GM0080"), instroom(2024, "GM0090")), (1, 1));
    assert_eq!(instroom(2023, "GM0080"), 2);
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

/// The alerts of one kind: addressee and whether overdue.
fn of(c: &MonitorCase, today: Date, kind: AlertKind) -> Vec<(String, bool)> {
    kinds(c, today)
        .into_iter()
        .filter(|(k, _, _)| *k == kind)
        .map(|(_, a, o)| (a, o))
        .collect()
}

/// The duties of one kind (from the day they begin): addressee and whether overdue.
fn duties_of(c: &MonitorCase, today: Date, kind: AlertKind) -> Vec<(String, bool)> {
    crate::alerts::case_duties(c, today, &Werkdagen::new())
        .into_iter()
        .filter(|a| a.kind == kind)
        .map(|a| (a.addressee, a.overdue))
        .collect()
}

/// Bijlage 1, 1d.2: a BW client is registered with the gebiedsteam of the new gemeente "uiterlijk een half jaar voor
/// afloop van de Wmo beschikking Beschermd Wonen", by the gemeente where the client stays.
#[test]
fn bijlage_1_1d2_bw_aanmelding_gebiedsteam_half_a_year_before_the_beschikking_ends() {
    let k = AlertKind::AanmeldingGebiedsteamBw;
    let reg = json!({"soort_voorziening": "beschermd_wonen", "start_verblijf_opvang": "2024-01-01", "verblijfgemeente": "GM0080", "betrokken_zorgaanbieder": "zorgaanbieder:limor"});
    let bw = json!({"soort_beschikking": "beschermd_wonen", "beschikking_startdatum": "2024-01-01", "beschikking_einddatum": "2026-06-30"});
    let c = case(
        "bw",
        &[
            ("registratie", reg.clone()),
            ("gemeente/gemeente:GM0080", bw.clone()),
        ],
    );
    // Half a year before 30 June 2026 is 30 December 2025; warned a month ahead, from 30 November.
    assert!(of(&c, date!(2025 - 11 - 29), k).is_empty());
    assert_eq!(
        of(&c, date!(2025 - 11 - 30), k),
        vec![("gemeente:GM0080".into(), false)]
    );
    assert_eq!(
        of(&c, date!(2025 - 12 - 30), k),
        vec![("gemeente:GM0080".into(), false)],
        "the day of the deadline is still in time"
    );
    assert_eq!(
        of(&c, date!(2025 - 12 - 31), k),
        vec![("gemeente:GM0080".into(), true)]
    );
    assert_eq!(
        duties_of(&c, date!(2025 - 12 - 31), k),
        vec![("gemeente:GM0080".into(), true)],
        "the werkplek shows the same duty"
    );
    // Done: the gemeente of the stay recorded the aanmelding.
    let done = case(
        "bw",
        &[
            ("registratie", reg.clone()),
            (
                "gemeente/gemeente:GM0080",
                json!({"soort_beschikking": "beschermd_wonen", "beschikking_startdatum": "2024-01-01", "beschikking_einddatum": "2026-06-30", "datum_aanmelding_gebiedsteam": "2025-12-01"}),
            ),
        ],
    );
    assert!(of(&done, date!(2026 - 01 - 15), k).is_empty());
    // Without the verblijfgemeente on the registratie (as a gemeente's own node holds it): the gemeente that gave
    // the BW beschikking, here Smallingerland's.
    let at_gemeente = case(
        "bw",
        &[
            (
                "registratie",
                json!({"soort_voorziening": "beschermd_wonen", "start_verblijf_opvang": "2024-01-01"}),
            ),
            ("gemeente/gemeente:GM0090", bw.clone()),
        ],
    );
    assert_eq!(
        of(&at_gemeente, date!(2025 - 12 - 31), k),
        vec![("gemeente:GM0090".into(), true)]
    );
    // Only a BW beschikking's end counts: an ambulant one ending does not start the term; without a gemeente's,
    // the end the zorgaanbieder gave in the bemiddelingsverzoek does.
    let ambulant = case(
        "bw",
        &[
            ("registratie", reg.clone()),
            (
                "gemeente/gemeente:GM0080",
                json!({"soort_beschikking": "ambulante_ondersteuning", "beschikking_startdatum": "2024-01-01", "beschikking_einddatum": "2026-06-30"}),
            ),
        ],
    );
    assert!(of(&ambulant, date!(2026 - 01 - 15), k).is_empty());
    let from_verzoek = case(
        "bw",
        &[
            ("registratie", reg.clone()),
            (
                "bemiddelingsverzoek",
                json!({"datum_verzoek": "2025-10-01", "einddatum_beschikking_bw": "2026-04-15"}),
            ),
        ],
    );
    assert!(!of(&from_verzoek, date!(2025 - 10 - 15), k)[0].1);
    assert!(of(&from_verzoek, date!(2025 - 10 - 16), k)[0].1);
    // MO has no such rule, and a placed client needs no aanmelding any more.
    let mo = case(
        "mo",
        &[
            (
                "registratie",
                json!({"soort_voorziening": "maatschappelijke_opvang", "start_verblijf_opvang": "2025-01-01"}),
            ),
            (
                "bemiddelingsverzoek",
                json!({"datum_verzoek": "2025-10-01", "einddatum_beschikking_bw": "2026-04-15"}),
            ),
        ],
    );
    assert!(of(&mo, date!(2026 - 01 - 15), k).is_empty());
    let placed = case(
        "bw",
        &[
            ("registratie", reg),
            ("gemeente/gemeente:GM0080", bw),
            (
                "plaatsing",
                json!({"soort_mutatie": "uitstroom_andere_voorziening", "datum_mutatie": "2025-11-01"}),
            ),
        ],
    );
    assert!(of(&placed, date!(2026 - 01 - 15), k).is_empty());
}

/// Bijlage 3, aanmeldfase: "Binnen 2 weken na registratie wordt het aanmeldformulier door de Zorgaanbieder met de
/// Uitstromer ingevuld" — for BW as for MO.
#[test]
fn bijlage_3_bw_aanmelding_within_two_weeks_of_registratie() {
    let k = AlertKind::AanmeldingBw;
    let reg = json!({"soort_voorziening": "beschermd_wonen", "start_verblijf_opvang": "2023-05-01", "datum_aanmelding_transferpunt": "2025-03-03", "betrokken_zorgaanbieder": "zorgaanbieder:limor"});
    let c = case("bw", &[("registratie", reg.clone())]);
    // Registered Monday 3 March 2025: due 17 March, overdue from the 18th.
    assert!(of(&c, date!(2025 - 03 - 17), k).is_empty());
    assert_eq!(
        of(&c, date!(2025 - 03 - 18), k),
        vec![("zorgaanbieder:limor".into(), true)]
    );
    // The zorgaanbieder's werkplek shows it from the registratie on, in time until the 17th.
    assert!(duties_of(&c, date!(2025 - 03 - 02), k).is_empty());
    assert_eq!(
        duties_of(&c, date!(2025 - 03 - 03), k),
        vec![("zorgaanbieder:limor".into(), false)]
    );
    assert_eq!(
        duties_of(&c, date!(2025 - 03 - 17), k),
        vec![("zorgaanbieder:limor".into(), false)]
    );
    let done = case(
        "bw",
        &[
            ("registratie", reg),
            ("aanmelding", json!({"datum_aanmelding": "2025-03-14"})),
        ],
    );
    assert!(of(&done, date!(2025 - 04 - 01), k).is_empty());
    // MO keeps its own rule (from the start of the stay), not this one.
    let mo = case(
        "mo",
        &[(
            "registratie",
            json!({"soort_voorziening": "maatschappelijke_opvang", "start_verblijf_opvang": "2025-03-03", "datum_aanmelding_transferpunt": "2025-03-03"}),
        )],
    );
    assert!(of(&mo, date!(2025 - 04 - 01), k).is_empty());
    assert!(has(&mo, date!(2025 - 04 - 01), AlertKind::AanmeldingMo));
}

/// Bijlage 1, 4d: the beschikking of the gemeente where the client goes to live "sluit naadloos aan op de datum
/// waarop de persoon uitstroomt"; the evaluation (§8) recommends making temporary support after outflow the rule.
#[test]
fn bijlage_1_4d_uitstroom_without_beschikking_or_start_of_support() {
    let k = AlertKind::OndersteuningNaUitstroom;
    let plaatsing = json!({"soort_mutatie": "uitstroom_zelfstandig", "datum_mutatie": "2025-06-10", "definitieve_uitstroomgemeente": "GM0080"});
    let c = case("u", &[("plaatsing", plaatsing.clone())]);
    // Open from the move, overdue the day after it, lapsed three months later (Bijlage 1, 4e).
    assert!(of(&c, date!(2025 - 06 - 09), k).is_empty());
    assert_eq!(
        of(&c, date!(2025 - 06 - 10), k),
        vec![("gemeente:GM0080".into(), false)]
    );
    assert_eq!(
        of(&c, date!(2025 - 06 - 11), k),
        vec![("gemeente:GM0080".into(), true)]
    );
    assert_eq!(
        of(&c, date!(2025 - 09 - 10), k),
        vec![("gemeente:GM0080".into(), true)]
    );
    assert!(of(&c, date!(2025 - 09 - 11), k).is_empty());
    // A start date for support in the plaatsing, or a beschikking for support at home, is enough.
    let mut met_start = plaatsing.clone();
    met_start["startdatum_ondersteuning"] = json!("2025-06-10");
    assert!(
        of(
            &case("u", &[("plaatsing", met_start)]),
            date!(2025 - 06 - 11),
            k
        )
        .is_empty()
    );
    let nazorg = json!({"soort_beschikking": "nazorg", "beschikking_startdatum": "2025-06-10"});
    let met_beschikking = case(
        "u",
        &[
            ("plaatsing", plaatsing.clone()),
            ("gemeente/gemeente:GM0080", nazorg),
        ],
    );
    assert!(of(&met_beschikking, date!(2025 - 06 - 11), k).is_empty());
    // The BW beschikking that ends with the stay is no support after it; nor an ambulant one ended before the move.
    let alleen_bw = case(
        "u",
        &[
            ("plaatsing", plaatsing.clone()),
            (
                "gemeente/gemeente:GM0080",
                json!({"soort_beschikking": "beschermd_wonen", "beschikking_startdatum": "2023-01-01", "beschikking_einddatum": "2025-06-10"}),
            ),
        ],
    );
    assert_eq!(of(&alleen_bw, date!(2025 - 06 - 11), k).len(), 1);
    let afgelopen = case(
        "u",
        &[
            ("plaatsing", plaatsing),
            (
                "gemeente/gemeente:GM0080",
                json!({"soort_beschikking": "ambulante_ondersteuning", "beschikking_startdatum": "2025-01-01", "beschikking_einddatum": "2025-06-09"}),
            ),
        ],
    );
    assert_eq!(of(&afgelopen, date!(2025 - 06 - 11), k).len(), 1);
    // Only an uitstroom to a home: uitval or another voorziening is not this rule's.
    let uitgezet = case(
        "u",
        &[(
            "plaatsing",
            json!({"soort_mutatie": "huisuitzetting", "datum_mutatie": "2025-06-10"}),
        )],
    );
    assert!(of(&uitgezet, date!(2025 - 06 - 11), k).is_empty());
}

#[test]
fn every_alert_kind_has_a_dutch_description_and_a_distinct_name() {
    let names: std::collections::BTreeSet<_> = AlertKind::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(names.len(), AlertKind::ALL.len());
    for k in AlertKind::ALL {
        let d = k.description();
        assert!(!d.starts_with(char::is_lowercase), "a sentence: {d}");
        // Dutch, in the covenant's words: no English plumbing names shown.
        assert!(!d.contains('_'), "{d}");
    }
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
    // (The aanmelding at the new gemeente's gebiedsteam, due half a year ahead, is open too: filtered out.)
    assert_eq!(
        of(
            &c,
            date!(2026 - 02 - 28),
            AlertKind::BemiddelingVoorEindeBeschikking
        ),
        vec![("zorgaanbieder:limor".into(), false)]
    );
    assert!(
        !of(
            &c,
            date!(2026 - 03 - 30),
            AlertKind::BemiddelingVoorEindeBeschikking
        )[0]
        .1
    );
    assert!(
        of(
            &c,
            date!(2026 - 03 - 31),
            AlertKind::BemiddelingVoorEindeBeschikking
        )[0]
        .1
    );
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
    // (No omklap evaluation is recorded either: that alert is tested in nazorg_tests.)
    let k = AlertKind::DriePartijenLooptAf;
    assert!(of(&c, date!(2027 - 02 - 28), k).is_empty());
    assert_eq!(
        of(&c, date!(2027 - 03 - 01), k),
        vec![("corporatie:elkien".into(), false)]
    );
    assert!(of(&c, date!(2027 - 06 - 02), k)[0].1);
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
    // Every fixture case is placed or closed, except none: placed cases raise only the 3-partijen warnings — the
    // lease ends, and its omklap goals were never evaluated (Afspraak 2f).
    let cases = fixture();
    let alerts = crate::alerts::open_alerts(&cases, date!(2027 - 03 - 01), &Werkdagen::new());
    let mut kinds: Vec<_> = alerts.iter().map(|a| (a.kind, a.case.as_str())).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            (AlertKind::DriePartijenLooptAf, "a"),
            (AlertKind::OmklapEvaluatie, "a")
        ]
    );
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

/// Issue #17: a calamiteit at the corporatie, escalated to AVE 3 and presented to the Transferpunt, whose
/// voorlegging is afgehandeld with one binding afspraak.
fn melding_case(terugkoppeling: bool, afspraak_nagekomen: bool) -> MonitorCase {
    let g = Gemeenten::friesland();
    let v = Validator::new(&g, date!(2030 - 01 - 01));
    let melding = v
        .partial_form(
            DocumentKind::Melding,
            &json!({
                "datum_melding": "2026-05-01", "melder": "omwonende", "soort": "calamiteit", "ave_niveau": 3,
                "omschrijving": "x", "status": "voorgelegd_transferpunt",
                "escalaties": [{"datum": "2026-05-02", "van_niveau": 1, "naar_niveau": 3, "door": "x",
                    "reden": "x"}],
                "voorgelegd_aan_transferpunt": true, "voorgelegd_door_vaste_contactpersoon": true,
                "voorgelegd_door": "x", "datum_voorgelegd": "2026-05-04", "lokale_aanpak": "x"
            }),
        )
        .unwrap();
    let mut voorlegging = json!({
        "datum_ontvangen": "2026-05-04", "datum_afgehandeld": "2026-05-20",
        "afspraken": [{"afspraak": "x", "partij": "Kwadrant", "termijn": "2026-06-01",
            "nagekomen": if afspraak_nagekomen { "ja" } else { "nee" }}]
    });
    if terugkoppeling {
        voorlegging["datum_terugkoppeling"] = json!("2026-05-21");
    }
    let mut c = case("M", &[]);
    c.docs.insert(melding.clone());
    c.meldingen.push(crate::Melding {
        by: "corporatie:elkien".into(),
        name: "melding-1".into(),
        form: melding,
    });
    c.voorleggingen.push(Instance {
        partner: policies::model::voorlegging_instance("corporatie:elkien", "melding-1"),
        form: v
            .partial_form(DocumentKind::Voorlegging, &voorlegging)
            .unwrap(),
    });
    c
}

/// Each alert of the melding's steps, at its boundary: not on the deadline, overdue the day after, addressed to
/// whoever must act; and gone once the step is recorded.
#[test]
fn afspraak_7_melding_alerts_at_their_boundaries() {
    let cal = Werkdagen::new();
    let c = melding_case(false, false);
    let made = date!(2026 - 05 - 01);
    let find = |today: Date, kind: AlertKind| {
        case_alerts(&c, today, &cal)
            .into_iter()
            .find(|a| a.kind == kind)
    };
    for (kind, deadline, to) in [
        (
            AlertKind::MeldingOppakken,
            cal.add_werkdagen(made, 5),
            "corporatie:elkien",
        ),
        (
            AlertKind::MeldingToezichthouder,
            cal.add_werkdagen(made, 3),
            "corporatie:elkien",
        ),
        (
            AlertKind::OverlegVoorlegging,
            cal.add_werkdagen(date!(2026 - 05 - 04), 10),
            "transferpunt",
        ),
        (
            AlertKind::TerugkoppelingMelder,
            cal.add_werkdagen(date!(2026 - 05 - 20), 5),
            "transferpunt",
        ),
        (
            AlertKind::AfspraakNakomen,
            date!(2026 - 06 - 01),
            "transferpunt",
        ),
    ] {
        if kind == AlertKind::OverlegVoorlegging {
            // The voorlegging is afgehandeld: no overleg alert, whatever the day.
            assert!(
                find(deadline.next_day().unwrap(), kind).is_none(),
                "{kind:?}"
            );
            continue;
        }
        assert!(find(deadline, kind).is_none(), "{kind:?} on its deadline");
        let a = find(deadline.next_day().unwrap(), kind).unwrap_or_else(|| panic!("{kind:?}"));
        assert!(a.overdue);
        assert_eq!(a.addressee, to, "{kind:?}");
        assert_eq!(a.deadline, deadline, "{kind:?}");
    }
    // Done: regie and Toezichthouder recorded, terugkoppeling given, afspraak kept.
    let mut done = melding_case(true, true);
    let g = Gemeenten::friesland();
    let v = Validator::new(&g, date!(2030 - 01 - 01));
    let mut m = done.meldingen[0].form.to_json();
    m["regie"] = json!("gebiedsteam");
    m["gemeld_bij_toezichthouder"] = json!(true);
    m["datum_gemeld_toezichthouder"] = json!("2026-05-02");
    done.meldingen[0].form = v.partial_form(DocumentKind::Melding, &m).unwrap();
    let late = date!(2026 - 12 - 01);
    let open: Vec<AlertKind> = case_alerts(&done, late, &cal)
        .iter()
        .map(|a| a.kind)
        .collect();
    assert!(open.is_empty(), "{open:?}");
    // Without a voorlegging, a presented melding waits for its overleg.
    let mut waiting = melding_case(false, false);
    waiting.voorleggingen.clear();
    let deadline = cal.add_werkdagen(date!(2026 - 05 - 04), 10);
    assert!(
        case_alerts(&waiting, deadline.next_day().unwrap(), &cal)
            .iter()
            .any(|a| a.kind == AlertKind::OverlegVoorlegging && a.addressee == "transferpunt")
    );
}

/// Meldingen counted per soort and AVE level and per outcome, in the year they were made; in the jaarverslag.
#[test]
fn afspraak_7_meldingen_per_soort_ave_en_uitkomst() {
    let mut done = melding_case(true, true);
    let mut m = done.meldingen[0].form.to_json();
    m["gemeld_bij_toezichthouder"] = json!(true);
    m["datum_gemeld_toezichthouder"] = json!("2026-05-02");
    let g = Gemeenten::friesland();
    let v = Validator::new(&g, date!(2030 - 01 - 01));
    done.meldingen[0].form = v.partial_form(DocumentKind::Melding, &m).unwrap();
    let open = melding_case(false, false);
    let mut other = melding_case(false, false);
    other.voorleggingen.clear();
    let y = jaar(&[done, open, other], 2026);
    assert_eq!(y.meldingen.get("calamiteit:3"), Some(&3));
    assert_eq!(
        y.meldingen_uitkomst.get("afgehandeld_na_voorlegging"),
        Some(&2)
    );
    assert_eq!(
        y.meldingen_uitkomst.get("voorgelegd_transferpunt"),
        Some(&1)
    );
    assert_eq!(y.meldingen_toezichthouder, 1);
    let c = [melding_case(true, true)];
    let report = crate::jaarverslag::build(&c, 2026, 1, &g);
    let t = report
        .tables
        .iter()
        .find(|t| t.table.title == "Meldingen naar soort en AVE-niveau")
        .expect("the table");
    let row = t.table.rows.iter().position(|r| r == "calamiteit").unwrap();
    assert_eq!(t.entries[row][2], Some(1), "AVE 3");
    // Suppressed like every table: at the default threshold one melding is not shown.
    let hidden = crate::jaarverslag::build(&c, 2026, 5, &g);
    let t = hidden
        .tables
        .iter()
        .find(|t| t.table.title == "Meldingen naar soort en AVE-niveau")
        .unwrap();
    assert_eq!(t.entries[row][2], None);
}
