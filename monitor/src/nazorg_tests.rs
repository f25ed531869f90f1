//! Life after placement (issue #17 item 3): uitval counted when it happens, without losing the uitstroom, and the
//! alerts of Afspraak 2f, 2h, 4e and 6a at their boundaries.

use policies::werkdagen::Werkdagen;
use serde_json::json;
use time::Date;
use time::macros::date;

use crate::MonitorCase;
use crate::alerts::{AlertKind, case_alerts, case_duties};
use crate::fixture_tests::case;
use crate::indicators::per_jaar;

fn of(c: &MonitorCase, today: Date, kind: AlertKind) -> Vec<(String, bool)> {
    case_alerts(c, today, &Werkdagen::new())
        .into_iter()
        .filter(|a| a.kind == kind)
        .map(|a| (a.addressee, a.overdue))
        .collect()
}

/// A bemiddelde uitstroom in 2024 under a 3-partijen lease at Elkien, with `events` after it.
fn placed(events: &[(&str, serde_json::Value)]) -> MonitorCase {
    let mut sections = vec![
        (
            "registratie",
            json!({"herkomstgemeente": "GM0080", "soort_voorziening": "beschermd_wonen",
                   "start_verblijf_opvang": "2023-01-01", "verblijfgemeente": "GM0080",
                   "betrokken_zorgaanbieder": "zorgaanbieder:limor"}),
        ),
        (
            "bemiddelingsverzoek",
            json!({"datum_verzoek": "2024-01-10", "datum_ingediend": "2024-01-10"}),
        ),
        (
            "reactie/corporatie:elkien",
            json!({"besluit": "geaccepteerd", "datum_besluit": "2024-02-01",
                   "soort_huurcontract": "drie_partijen", "datum_ondertekening": "2024-06-01",
                   "einddatum_drie_partijen": "2026-06-01", "omklapvoorwaarden": "huur op tijd betalen"}),
        ),
        (
            "plaatsing",
            json!({"soort_mutatie": "uitstroom_zelfstandig", "datum_mutatie": "2024-06-01",
                   "definitieve_uitstroomgemeente": "GM0080", "wijze_van_toewijzing": "bemiddeling",
                   "soort_huurcontract": "drie_partijen", "startdatum_ondersteuning": "2024-06-01"}),
        ),
    ];
    sections.extend(events.iter().cloned());
    case("n", &sections)
}

/// Afspraak 3d.6 and issue #17: a huisuitzetting a year after the outflow is uitval in its own year, and the
/// uitstroom stays counted in the year of the move — before, the only place for it was the plaatsing's
/// `soort_mutatie`, and overwriting that lost the uitstroom and moved the uitval back into the year of the move.
#[test]
fn afspraak_3d6_uitval_with_a_later_huisuitzetting_counts_the_outflow_in_its_year_and_the_eviction_in_its_own()
 {
    let c = placed(&[(
        "huurverloop",
        json!({"soort": "huisuitzetting", "datum": "2025-09-15", "datum_overleg": "2025-08-20"}),
    )]);
    let years = per_jaar(std::slice::from_ref(&c));
    let y2024 = &years[&2024];
    assert_eq!(
        (y2024.uitstroom(), y2024.bemiddeld, y2024.drie_partijen),
        (1, 1, 1)
    );
    assert_eq!(
        y2024.uitval_totaal(),
        0,
        "no uitval in the year of the move"
    );
    let y2025 = &years[&2025];
    assert_eq!(y2025.uitstroom(), 0);
    assert_eq!(
        y2025.uitval,
        [("huisuitzetting".to_string(), 1)].into_iter().collect()
    );
    assert_eq!(y2025.per_gemeente["GM0080"].uitval, 1);
    // A voluntary return to beschermd wonen (Afspraak 5b) is uitval too, "terugkeer naar zorgaanbieder".
    let terug = placed(&[(
        "ondersteuningsverloop",
        json!({"soort": "terugkeer_beschermd_wonen", "datum": "2026-02-01"}),
    )]);
    let years = per_jaar(&[terug]);
    assert_eq!(years[&2024].uitstroom(), 1);
    assert_eq!(years[&2026].uitval["terugkeer_zorgaanbieder"], 1);
    // Other events are no uitval.
    let goed = placed(&[
        (
            "huurverloop",
            json!({"soort": "omklap_evaluatie", "datum": "2025-05-01", "doelen_behaald": "ja",
                   "uitkomst_evaluatie": "omklap", "datum_omklap": "2025-06-01"}),
        ),
        (
            "ondersteuningsverloop",
            json!({"soort": "afschaling", "datum": "2025-03-01"}),
        ),
    ]);
    let years = per_jaar(std::slice::from_ref(&goed));
    assert!(years.values().all(|y| y.uitval_totaal() == 0));
    // They are counted as what they are, in their year: the omklap per outcome (Afspraak 2f), the change of
    // support per soort (Afspraak 5), and the jaarverslag has a table of each.
    assert_eq!(years[&2025].omklap, [("omklap".to_string(), 1)].into());
    assert_eq!(
        years[&2025].ondersteuning,
        [("afschaling".to_string(), 1)].into()
    );
    let verslag = crate::jaarverslag::build(&[goed], 2025, 1, &policies::Gemeenten::friesland());
    for title in ["omklap", "op- en afschalen"] {
        assert!(
            verslag.tables.iter().any(|t| t.table.title.contains(title)),
            "{title}"
        );
    }
}

/// Afspraak 2f: a year after signing (or three months before the lease ends) the omklap goals are evaluated; an
/// outcome closes it (and the lease's end alert), `later_opnieuw` sets the next evaluation six months on.
#[test]
fn afspraak_2f_omklap_evaluation_due_a_year_after_signing() {
    let k = AlertKind::OmklapEvaluatie;
    let c = placed(&[]);
    assert!(of(&c, date!(2025 - 04 - 30), k).is_empty());
    assert_eq!(
        of(&c, date!(2025 - 05 - 01), k),
        vec![("corporatie:elkien".into(), false)]
    );
    assert_eq!(
        of(&c, date!(2025 - 06 - 02), k),
        vec![("corporatie:elkien".into(), true)]
    );
    // The corporatie sees it as a duty from the signing.
    assert!(
        case_duties(&c, date!(2024 - 06 - 02), &Werkdagen::new())
            .iter()
            .any(|a| a.kind == k)
    );
    let later = placed(&[(
        "huurverloop",
        json!({"soort": "omklap_evaluatie", "datum": "2025-05-20", "doelen_behaald": "gedeeltelijk",
               "uitkomst_evaluatie": "later_opnieuw"}),
    )]);
    assert!(of(&later, date!(2025 - 06 - 02), k).is_empty());
    // Six months on is 2025-11-20; the lease ends 2026-06-01, so three months before that is later.
    assert_eq!(
        of(&later, date!(2025 - 11 - 21), k),
        vec![("corporatie:elkien".into(), true)]
    );
    let omgeklapt = placed(&[(
        "huurverloop",
        json!({"soort": "omklap_evaluatie", "datum": "2025-05-20", "doelen_behaald": "ja",
               "uitkomst_evaluatie": "omklap", "datum_omklap": "2025-06-01"}),
    )]);
    assert!(of(&omgeklapt, date!(2026 - 05 - 01), k).is_empty());
    assert!(
        of(
            &omgeklapt,
            date!(2026 - 05 - 01),
            AlertKind::DriePartijenLooptAf
        )
        .is_empty(),
        "after the omklap the 3-partijen lease needs nothing more"
    );
    assert_eq!(
        of(&c, date!(2026 - 05 - 01), AlertKind::DriePartijenLooptAf).len(),
        1
    );
}

/// Afspraak 2h: the overleg before an eviction is a melding `dreigende_huisuitzetting`, settled within 10
/// werkdagen by the corporatie that rents.
#[test]
fn afspraak_2h_overleg_on_a_dreigende_huisuitzetting_within_ten_werkdagen() {
    let k = AlertKind::OverlegHuisuitzetting;
    let melding = |status: &str| {
        let mut m = json!({"datum_melding": "2025-09-01", "melder": "corporatie",
            "soort": "dreigende_huisuitzetting", "ave_niveau": 2, "omschrijving": "huurachterstand",
            "status": status});
        if status == "afgehandeld" {
            m["datum_afgehandeld"] = json!("2025-09-10");
            m["afhandeling"] = json!("overleg gevoerd");
        }
        m
    };
    let open = placed(&[("melding", melding("open"))]);
    // 2025-09-01 is a Monday: ten werkdagen later is Monday 2025-09-15.
    assert!(of(&open, date!(2025 - 09 - 15), k).is_empty());
    assert_eq!(
        of(&open, date!(2025 - 09 - 16), k),
        vec![("corporatie:elkien".into(), true)]
    );
    let settled = placed(&[("melding", melding("afgehandeld"))]);
    assert!(of(&settled, date!(2025 - 09 - 16), k).is_empty());
    // Another kind of melding is not this rule's.
    let mut signaal = melding("open");
    signaal["soort"] = json!("signaal");
    assert!(of(&placed(&[("melding", signaal)]), date!(2025 - 09 - 16), k).is_empty());
}

/// Afspraak 4e: the old zorgaanbieder walks along at most three months.
#[test]
fn afspraak_4e_old_zorgaanbieder_walks_along_at_most_three_months() {
    let k = AlertKind::MeeloopOudeZorgaanbieder;
    let meeloop = |einde: Option<&str>| {
        let mut e = json!({"soort": "meeloop_oude_zorgaanbieder", "datum": "2024-06-01"});
        if let Some(d) = einde {
            e["einddatum_meeloop"] = json!(d);
        }
        placed(&[("ondersteuningsverloop", e)])
    };
    let zonder = meeloop(None);
    assert!(of(&zonder, date!(2024 - 09 - 01), k).is_empty());
    assert_eq!(
        of(&zonder, date!(2024 - 09 - 02), k),
        vec![("zorgaanbieder:limor".into(), true)]
    );
    assert!(of(&meeloop(Some("2024-09-01")), date!(2024 - 09 - 02), k).is_empty());
    assert_eq!(
        of(&meeloop(Some("2024-10-01")), date!(2024 - 09 - 02), k).len(),
        1
    );
}

/// Afspraak 6a: when the support ends, the waakvlam is discussed (a waakvlam event, `geen` included).
#[test]
fn afspraak_6a_waakvlam_discussed_when_the_support_ends() {
    let k = AlertKind::WaakvlamBespreken;
    let einde = (
        "ondersteuningsverloop",
        json!({"soort": "einde_ondersteuning", "datum": "2025-06-01"}),
    );
    let c = placed(std::slice::from_ref(&einde));
    assert!(of(&c, date!(2025 - 06 - 01), k).is_empty());
    assert_eq!(
        of(&c, date!(2025 - 06 - 02), k),
        vec![("gemeente:GM0080".into(), true)]
    );
    assert!(
        of(&c, date!(2025 - 09 - 02), k).is_empty(),
        "lapses after three months"
    );
    let besproken = placed(&[
        einde,
        (
            "ondersteuningsverloop",
            json!({"soort": "waakvlam", "datum": "2025-05-20", "vorm_waakvlam": "algemene_voorziening"}),
        ),
    ]);
    assert!(of(&besproken, date!(2025 - 06 - 02), k).is_empty());
}
