//! Example forms and made-up clients: the one source for the demo, the scenario the demo, the end-to-end test and
//! the fault runs play, the tests and the benchmarks. Each form here is asserted valid (the tests below), so a
//! change of the schema is one edit here.
//!
//! BSNs come only from [`fictitious_bsn`]: nine digits starting with 9, a range that is not issued, so no real
//! person's number is ever written by a test or the demo.

use serde_json::{Value, json};

/// A made-up BSN for `n` that passes the elfproef and starts with 9 (a range never issued). Distinct for every
/// `n` below 1,000,000 (larger `n` wrap around).
pub fn fictitious_bsn(n: u64) -> String {
    let mut d = [0u8; 9];
    d[0] = 9;
    let mut rest = n % 1_000_000;
    for i in (1..7).rev() {
        d[i] = (rest % 10) as u8;
        rest /= 10;
    }
    // d8 changes the weighted sum by 2 per step, so of d8 = 0 and d8 = 1 at most one leaves a check digit of 10.
    for d8 in 0..=1 {
        d[7] = d8;
        let sum: u32 = d[..8]
            .iter()
            .zip((2..=9u32).rev())
            .map(|(x, w)| u32::from(*x) * w)
            .sum();
        let check = sum % 11;
        if check < 10 {
            d[8] = check as u8;
            return d.iter().map(|x| char::from(b'0' + x)).collect();
        }
    }
    unreachable!("one of d8 = 0 or 1 always gives a check digit below 10")
}

/// A made-up client: what identifies them in the forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// `achternaam_voorletters`.
    pub name: String,
    /// A [`fictitious_bsn`].
    pub bsn: String,
    /// `reden_dakloosheid` (free text: the tests use it as a canary).
    pub reden_dakloosheid: String,
}

impl Client {
    /// A client with this name and the fictitious BSN number `n`.
    pub fn new(name: &str, n: u64) -> Client {
        Client {
            name: name.to_string(),
            bsn: fictitious_bsn(n),
            reden_dakloosheid: "Huisuitzetting na relatiebreuk".to_string(),
        }
    }

    /// The `n`-th of many clients (benchmarks, bulk tests): "Cliënt n, A.".
    pub fn numbered(n: u64) -> Client {
        Client::new(&format!("Cliënt {n}, A."), n)
    }
}

/// The zorgaanbieder's registratie of `client`, staying in Leeuwarden since `start` (MO or BW as `voorziening`).
pub fn registratie(
    client: &Client,
    zorgaanbieder: &str,
    consent: bool,
    voorziening: &str,
    herkomst: &str,
    start: &str,
) -> Value {
    let mut r = json!({
        "achternaam_voorletters": client.name, "bsn": client.bsn, "geboortedatum": "1988-05-17",
        "soort_voorziening": voorziening, "herkomstgemeente": herkomst, "verblijfgemeente": "GM0080",
        "start_verblijf_opvang": start, "betrokken_zorgaanbieder": zorgaanbieder,
        "reden_dakloosheid": client.reden_dakloosheid, "toestemming_gegevensdeling": consent
    });
    if consent {
        r["datum_toestemming"] = json!(start);
    }
    r
}

/// The client of [`registratie_bij_intake`].
pub fn client_bij_intake() -> Client {
    Client::new("de Vries, A.B.", 11)
}

/// A registratie as the storage and validation tests start from: de-zijlen's client from Heerenveen, staying in
/// Leeuwarden, with the date of a first registration in the opvang.
pub fn registratie_bij_intake() -> Value {
    let mut r = registratie(
        &client_bij_intake(),
        "zorgaanbieder:de-zijlen",
        true,
        "maatschappelijke_opvang",
        "GM0074",
        "2025-09-01",
    );
    r["eerste_aanmelding_opvang"] = json!("2025-08-28");
    r
}

/// The aanmelding, registered at two corporaties.
pub fn aanmelding(client: &Client, datum: &str) -> Value {
    json!({
        "achternaam_voorletters": client.name, "datum_aanmelding": datum, "leefsituatie": "alleenstaand",
        "hoofdinkomen": "participatiewet", "schuldenproblematiek": "ja", "vorm_ondersteuning_schulden": "budgetbeheer",
        "inschrijvingen_woningcorporaties": [
            {"corporatie": "Elkien", "datum_inschrijving": "2025-06-02"},
            {"corporatie": "Accolade", "datum_inschrijving": "2025-06-03"}
        ]
    })
}

/// Vervolg wonen, expecting outflow to `gemeente` through bemiddeling.
pub fn vervolg_wonen(client: &Client, gemeente: &str, datum: &str) -> Value {
    json!({"achternaam_voorletters": client.name, "datum_formulier": datum,
        "uitstroomprofiel": "zelfstandig_wonen_met_ondersteuning", "uitstroomgemeente": gemeente,
        "soort_uitstroom": "bemiddeling"})
}

/// A bemiddelingsverzoek with every voorwaarde met; without a woonwens it is incomplete.
pub fn bemiddelingsverzoek(datum: &str, organisatie: &str, woonwens: Option<&str>) -> Value {
    let mut v = json!({
        "datum_verzoek": datum, "achttien_jaar_of_ouder": true, "verblijf_mo_of_bw_indicatie": true,
        "ingeschreven_meerdere_corporaties": true, "documenten_in_portaal_corporatie": true, "actief_gezocht": true,
        "toelichting_zoekgedrag": "Reageert wekelijks via FrieslandHuurt", "voldoende_zelfredzaam": true,
        "stabiele_daginvulling": true, "soort_daginvulling": "dagbesteding", "inkomen_en_schulden_in_beeld": true,
        "ondersteuningsprofiel": "Ambulante begeleiding twee keer per week",
        "contactpersonen": [{"naam": "M. de Boer", "organisatie": organisatie, "functie": "begeleider"}]
    });
    if let Some(w) = woonwens {
        v["woonwens"] = json!(w);
    }
    v
}

/// `verzoek` submitted (indienen) on `datum` for the `keer`-th time: what `Node::submit_request` sets.
pub fn ingediend(mut verzoek: Value, datum: &str, keer: u32) -> Value {
    verzoek["datum_ingediend"] = json!(datum);
    verzoek["aantal_keer_ingediend"] = json!(keer);
    verzoek
}

/// `verzoek` with a written reason why `voorwaarde` (its field name) cannot be met, and its tick set to no.
pub fn voorwaarde_niet_voldaan(mut verzoek: Value, voorwaarde: &str, reden: &str) -> Value {
    verzoek[voorwaarde] = json!(false);
    let mut redenen = verzoek
        .get("toelichting_voorwaarden")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    redenen.push(json!({"voorwaarde": voorwaarde, "toelichting": reden}));
    verzoek["toelichting_voorwaarden"] = Value::Array(redenen);
    verzoek
}

/// The Transferpunt's beoordeling: the request sent back as incomplete, `missing` named.
pub fn beoordeling_teruggestuurd(ontvangen: &str, teruggestuurd: &str, missing: &str) -> Value {
    json!({
        "status": "teruggestuurd_onvolledig", "datum_ontvangen": ontvangen, "datum_teruggestuurd": teruggestuurd,
        "ontbrekende_gegevens": [missing], "aantal_keer_teruggestuurd": 1
    })
}

/// The Transferpunt's beoordeling: approved, with the chosen uitstroomgemeente.
pub fn beoordeling_goedgekeurd(ontvangen: &str, volledig: &str, gemeente: &str) -> Value {
    json!({
        "status": "goedgekeurd", "datum_ontvangen": ontvangen, "datum_volledig": volledig,
        "gekozen_uitstroomgemeente": gemeente
    })
}

/// A gemeente's akkoord on the uitstroom, with its gebiedsteam's first contact.
pub fn gemeente_akkoord(datum: &str, gebiedsteam: &str, contact: &str) -> Value {
    json!({
        "akkoord_uitstroom": "akkoord", "datum_akkoord": datum,
        "gebiedsteam_contactpersoon": gebiedsteam, "datum_contact_gebiedsteam": contact
    })
}

/// A corporatie's reactie asking for information.
pub fn reactie_informatie(datum: &str, vraag: &str) -> Value {
    json!({"besluit": "informatie_gevraagd", "datum_besluit": datum, "informatieverzoek": vraag})
}

/// A corporatie's refusal for a huurachterstand, with its toelichting.
pub fn reactie_geweigerd(datum: &str, toelichting: &str) -> Value {
    json!({
        "besluit": "geweigerd", "datum_besluit": datum, "reden_weigering": "huurachterstand",
        "toelichting_weigering": toelichting
    })
}

/// A housing offer and the client's answer (`geaccepteerd`, or `geweigerd` with a reason).
pub fn aanbod(datum: &str, adres: &str, accepted: bool) -> Value {
    let mut o = json!({"datum_aanbod": datum, "adres": adres, "type_woning": "sociale_huur",
        "reactie_client": if accepted { "geaccepteerd" } else { "geweigerd" }});
    if !accepted {
        o["reden_weigering_client"] = json!("Te ver van de dagbesteding");
    }
    o
}

/// A corporatie's acceptance with these offers, not yet leased.
pub fn reactie_geaccepteerd(datum: &str, aanbiedingen: &[Value]) -> Value {
    json!({"besluit": "geaccepteerd", "datum_besluit": datum, "aanbiedingen": aanbiedingen})
}

/// An acceptance with a signed lease: `eigen_naam`, or `drie_partijen` (two years, with omklap conditions).
pub fn reactie_gehuurd(
    datum: &str,
    aanbiedingen: &[Value],
    huurcontract: &str,
    getekend: &str,
) -> Value {
    let mut r = reactie_geaccepteerd(datum, aanbiedingen);
    r["soort_huurcontract"] = json!(huurcontract);
    r["datum_ondertekening"] = json!(getekend);
    if huurcontract == "drie_partijen" {
        let year: i32 = getekend[..4].parse().unwrap_or(2025);
        r["einddatum_drie_partijen"] = json!(format!("{}{}", year + 2, &getekend[4..]));
        r["omklapvoorwaarden"] = json!(
            "Huur volledig en op tijd betalen, geen overlast, woning als goed huurder gebruiken"
        );
    }
    r
}

/// The zorgaanbieder's plaatsing: moved to `adres` in `gemeente` on `datum`, through bemiddeling.
pub fn plaatsing(
    client: &Client,
    datum: &str,
    adres: &str,
    gemeente: &str,
    huurcontract: &str,
) -> Value {
    json!({
        "achternaam_voorletters": client.name, "soort_mutatie": "uitstroom_zelfstandig",
        "datum_mutatie": datum, "mutatie_adres": adres,
        "definitief_uitstroomprofiel": "zelfstandig_wonen_met_ondersteuning", "naam_verhuurder": "Woningcorporatie",
        "definitieve_uitstroomgemeente": gemeente, "type_woning": "sociale_huur",
        "soort_huurcontract": huurcontract, "wijze_van_toewijzing": "bemiddeling"
    })
}

/// Life after placement (Afspraak 2f): the corporatie's evaluation of the omklap goals of a 3-partijen lease, with
/// its outcome (`omklap` on `datum`, `later_opnieuw` or `geen_omklap`).
pub fn omklap_evaluatie(datum: &str, uitkomst: &str, toelichting: &str) -> Value {
    let mut e = json!({
        "soort": "omklap_evaluatie", "datum": datum, "uitkomst_evaluatie": uitkomst,
        "doelen_behaald": if uitkomst == "omklap" { "ja" } else { "gedeeltelijk" },
        "toelichting": toelichting
    });
    if uitkomst == "omklap" {
        e["datum_omklap"] = json!(datum);
    }
    e
}

/// Afspraak 2h: the melding that is the overleg before a huisuitzetting, settled on `afgehandeld`.
pub fn overleg_huisuitzetting(gemeld: &str, afgehandeld: &str, omschrijving: &str) -> Value {
    json!({
        "datum_melding": gemeld, "melder": "corporatie", "soort": "dreigende_huisuitzetting", "ave_niveau": 2,
        "omschrijving": omschrijving, "status": "afgehandeld", "datum_afgehandeld": afgehandeld,
        "afhandeling": "Overleg gevoerd met gemeente en zorgaanbieder"
    })
}

/// A huisuitzetting on `datum` after the overleg of `overleg` (Afspraak 2h).
pub fn huisuitzetting(datum: &str, overleg: &str) -> Value {
    json!({"soort": "huisuitzetting", "datum": datum, "datum_overleg": overleg})
}

/// One event of the support after placement (Afspraak 4e, 5, 6): `soort` on `datum`, with what that kind needs.
pub fn ondersteuningsverloop(soort: &str, datum: &str, toelichting: &str) -> Value {
    let mut e = json!({"soort": soort, "datum": datum, "toelichting": toelichting});
    match soort {
        "waakvlam" => e["vorm_waakvlam"] = json!("contact_zorgaanbieder"),
        "opschaling" | "afschaling" => e["aangepaste_beschikking"] = json!(true),
        _ => {}
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DocumentKind as D, Gemeenten, Validator};

    #[test]
    fn fictitious_bsns_pass_the_elfproef_start_with_9_and_differ() {
        let mut seen = std::collections::BTreeSet::new();
        for n in (0..20_000).chain([999_999, 1_000_000, u64::MAX]) {
            let b = fictitious_bsn(n);
            assert!(crate::bsn::Bsn::parse(&b).is_ok(), "{b} fails the elfproef");
            assert!(b.len() == 9 && b.starts_with('9'), "{b}");
            if n < 20_000 {
                assert!(seen.insert(b.clone()), "{b} twice");
            }
        }
    }

    #[test]
    fn every_example_form_is_valid() {
        let g = Gemeenten::friesland();
        let v = Validator::new(&g, time::macros::date!(2026 - 06 - 01));
        let c = Client::new("Visser, J.", 1);
        let offers = [
            aanbod("2025-11-10", "Tuinstraat 5, Leeuwarden", false),
            aanbod("2025-11-20", "Kerkstraat 9, Leeuwarden", true),
        ];
        let forms = [
            (
                D::Huurverloop,
                omklap_evaluatie("2026-01-10", "omklap", "Doelen behaald"),
            ),
            (
                D::Huurverloop,
                omklap_evaluatie("2026-01-10", "later_opnieuw", "Nog niet"),
            ),
            (D::Huurverloop, huisuitzetting("2026-03-01", "2026-02-10")),
            (
                D::Melding,
                overleg_huisuitzetting("2026-02-01", "2026-02-10", "Huurachterstand"),
            ),
            (
                D::Ondersteuningsverloop,
                ondersteuningsverloop("waakvlam", "2026-02-01", "Maandelijks contact"),
            ),
            (
                D::Ondersteuningsverloop,
                ondersteuningsverloop("afschaling", "2026-02-01", "Minder uren"),
            ),
            (
                D::Registratie,
                registratie(
                    &c,
                    "zorgaanbieder:kwadrant",
                    true,
                    "maatschappelijke_opvang",
                    "GM0080",
                    "2025-06-01",
                ),
            ),
            (
                D::Registratie,
                registratie(
                    &c,
                    "zorgaanbieder:limor",
                    false,
                    "beschermd_wonen",
                    "GM0074",
                    "2025-06-01",
                ),
            ),
            (
                D::Aanmelding,
                aanmelding(&Client::numbered(7), "2025-06-10"),
            ),
            (D::VervolgWonen, vervolg_wonen(&c, "GM0080", "2025-09-01")),
            (
                D::Bemiddelingsverzoek,
                bemiddelingsverzoek("2025-10-01", "Kwadrant", None),
            ),
            (
                D::Bemiddelingsverzoek,
                bemiddelingsverzoek("2025-10-01", "Kwadrant", Some("Een woning")),
            ),
            (
                D::Bemiddelingsverzoek,
                ingediend(
                    voorwaarde_niet_voldaan(
                        bemiddelingsverzoek("2025-10-01", "Kwadrant", Some("Een woning")),
                        "stabiele_daginvulling",
                        "Dagbesteding start pas na de verhuizing",
                    ),
                    "2025-10-02",
                    1,
                ),
            ),
            (
                D::Beoordeling,
                beoordeling_teruggestuurd(
                    "2025-10-02",
                    "2025-10-03",
                    "bemiddelingsverzoek.woonwens",
                ),
            ),
            (
                D::Beoordeling,
                beoordeling_goedgekeurd("2025-10-02", "2025-10-20", "GM0080"),
            ),
            (
                D::Gemeente,
                gemeente_akkoord("2025-10-22", "Gebiedsteam Leeuwarden-Oost", "2025-10-23"),
            ),
            (
                D::Reactie,
                reactie_informatie("2025-10-24", "Graag een verklaring"),
            ),
            (
                D::Reactie,
                reactie_geweigerd("2025-10-28", "Huurachterstand bij een eerdere verhuurder"),
            ),
            (D::Reactie, reactie_geaccepteerd("2025-11-03", &offers[..1])),
            (
                D::Reactie,
                reactie_gehuurd("2025-11-03", &offers, "drie_partijen", "2025-11-24"),
            ),
            (
                D::Reactie,
                reactie_gehuurd("2026-03-20", &offers[1..], "eigen_naam", "2026-04-15"),
            ),
            (
                D::Plaatsing,
                plaatsing(
                    &c,
                    "2025-11-24",
                    "Kerkstraat 9, Leeuwarden",
                    "GM0080",
                    "drie_partijen",
                ),
            ),
        ];
        for (kind, form) in &forms {
            if let Err(e) = v.form(*kind, form) {
                panic!("the example {kind} is refused: {e}\n{form}");
            }
        }
    }
}
