//! Validation as a partner's staff meets it: BSNs, gemeentecodes, dates (within a form and across the forms of
//! a case), enum values, JSON types, unknown and missing fields, conditional requiredness, errors inside lists at
//! their path, every error of a form at once in Dutch; completeness and the 8 voorwaarden for bemiddeling; the
//! 3-partijen lease and the offers rule.

use policies::completeness::{self, Status, Voorwaarde};
use policies::examples;
use policies::{CaseDocuments, DocumentKind, Form, Gemeenten, ValidationErrors, Validator};
use serde_json::{Value as Json, json};
use time::Date;
use time::macros::date;

const TODAY: Date = date!(2026 - 03 - 01);

fn gemeenten() -> &'static Gemeenten {
    static G: std::sync::LazyLock<Gemeenten> = std::sync::LazyLock::new(Gemeenten::friesland);
    &G
}

fn validator() -> Validator<'static> {
    Validator::new(gemeenten(), TODAY)
}

/// The example registratie at intake (`policies::examples`), without a reden_dakloosheid: the base every rule
/// below changes one thing of.
fn registratie() -> Json {
    without(examples::registratie_bij_intake(), "reden_dakloosheid")
}

fn with(mut base: Json, key: &str, value: Json) -> Json {
    base.as_object_mut().unwrap().insert(key.into(), value);
    base
}

fn without(mut base: Json, key: &str) -> Json {
    base.as_object_mut().unwrap().remove(key);
    base
}

fn ok(kind: DocumentKind, json: &Json) -> Form {
    validator()
        .form(kind, json)
        .unwrap_or_else(|e| panic!("{kind} refused: {e}"))
}

fn err(kind: DocumentKind, json: &Json) -> ValidationErrors {
    match validator().form(kind, json) {
        Ok(_) => panic!("{kind} accepted: {json}"),
        Err(e) => e,
    }
}

/// Every (field, rule code) of the errors, sorted.
fn codes(e: &ValidationErrors) -> Vec<(String, &'static str)> {
    let mut v: Vec<_> =
        e.0.iter()
            .map(|e| (e.field.clone(), e.rule.code()))
            .collect();
    v.sort();
    v
}

fn pairs(expected: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
    let mut v: Vec<_> = expected.iter().map(|(f, c)| (f.to_string(), *c)).collect();
    v.sort();
    v
}

/// Exactly one error, on this field, for this rule.
fn assert_only(
    kind: DocumentKind,
    json: &Json,
    field: &str,
    code: &'static str,
) -> ValidationErrors {
    let e = err(kind, json);
    assert_eq!(codes(&e), pairs(&[(field, code)]), "{e}");
    e
}

// ---------------------------------------------------------------------------------------------------------------
// BSN

#[test]
fn good_bsns_pass_the_elfproef() {
    for bsn in ["999993653", "123456782", "111222333"] {
        let form = ok(
            DocumentKind::Registratie,
            &with(registratie(), "bsn", json!(bsn)),
        );
        assert_eq!(form.text("bsn"), Some(bsn));
    }
    // Eight digits are padded with a leading zero; surrounding spaces are forgiven.
    let form = ok(
        DocumentKind::Registratie,
        &with(registratie(), "bsn", json!("10000008")),
    );
    assert_eq!(form.text("bsn"), Some("010000008"));
    let form = ok(
        DocumentKind::Registratie,
        &with(registratie(), "bsn", json!(" 123456782 ")),
    );
    assert_eq!(form.text("bsn"), Some("123456782"));
}

#[test]
fn bad_bsns_are_refused_with_their_rule() {
    let r = DocumentKind::Registratie;
    for (bsn, code) in [
        ("123456789", "bsn_elfproef"),
        ("999993654", "bsn_elfproef"),
        ("000000000", "bsn_elfproef"),
        ("12345", "bsn_formaat"),
        ("1234567820", "bsn_formaat"),
        ("12345678a", "bsn_formaat"),
        ("abcdefghi", "bsn_formaat"),
        ("123 456 782", "bsn_formaat"),
        ("", "bsn_formaat"),
    ] {
        assert_only(r, &with(registratie(), "bsn", json!(bsn)), "bsn", code);
    }
    // A number, not a string: the type is wrong (leading zeros would be lost).
    assert_only(
        r,
        &with(registratie(), "bsn", json!(123456782)),
        "bsn",
        "verkeerd_type",
    );
    // The aanmeldbericht's BSN is checked alike.
    let bericht = json!({
        "corporatie": "corporatie:elkien",
        "datum_verzonden": "2026-02-01",
        "bsn": "123456789",
        "achternaam_initialen": "Vries, A.B. de",
        "beoogde_uitstroomgemeente": "GM0080",
    });
    assert_only(
        DocumentKind::Aanmeldbericht,
        &bericht,
        "bsn",
        "bsn_elfproef",
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Gemeentecodes

#[test]
fn gemeentecodes_are_checked_and_normalised() {
    let form = ok(
        DocumentKind::Registratie,
        &with(registratie(), "herkomstgemeente", json!("gm0090")),
    );
    assert_eq!(
        form.text("herkomstgemeente"),
        Some("GM0090"),
        "lowercase is normalised"
    );
    let form = ok(
        DocumentKind::Registratie,
        &with(registratie(), "herkomstgemeente", json!(" GM1900 ")),
    );
    assert_eq!(form.text("herkomstgemeente"), Some("GM1900"));
    for code in ["GM0363", "Leeuwarden", "0080", "GM80", ""] {
        let e = assert_only(
            DocumentKind::Registratie,
            &with(registratie(), "herkomstgemeente", json!(code)),
            "herkomstgemeente",
            "onbekende_gemeente",
        );
        assert!(e.0[0].to_string().contains("CBS-gemeentecode"), "{e}");
    }
    // Other gemeenten can be added (the national scheme).
    let mut national = Gemeenten::friesland();
    national.add("GM0363", "Amsterdam").unwrap();
    let v = Validator::new(&national, TODAY);
    let form = v
        .form(
            DocumentKind::Registratie,
            &with(registratie(), "herkomstgemeente", json!("GM0363")),
        )
        .unwrap();
    assert_eq!(form.text("herkomstgemeente"), Some("GM0363"));
}

// ---------------------------------------------------------------------------------------------------------------
// Dates

#[test]
fn malformed_dates_are_refused() {
    for date in [
        "2025-02-30",
        "2025-13-01",
        "01-09-2025",
        "1 september 2025",
        "2025/09/01",
        "20250901",
    ] {
        assert_only(
            DocumentKind::Registratie,
            &with(registratie(), "start_verblijf_opvang", json!(date)),
            "start_verblijf_opvang",
            "datum",
        );
    }
    assert_only(
        DocumentKind::Registratie,
        &with(registratie(), "start_verblijf_opvang", json!(20250901)),
        "start_verblijf_opvang",
        "verkeerd_type",
    );
    // A leap day is a date.
    ok(
        DocumentKind::Registratie,
        &with(registratie(), "geboortedatum", json!("2004-02-29")),
    );
}

#[test]
fn dates_of_the_past_may_not_lie_in_the_future() {
    ok(
        DocumentKind::Registratie,
        &with(
            registratie(),
            "datum_aanmelding_transferpunt",
            json!("2026-03-01"),
        ),
    );
    assert_only(
        DocumentKind::Registratie,
        &with(
            registratie(),
            "datum_aanmelding_transferpunt",
            json!("2026-03-02"),
        ),
        "datum_aanmelding_transferpunt",
        "datum_in_toekomst",
    );
    // A planned date may: the end of a beschikking.
    let gemeente = json!({
        "soort_beschikking": "beschermd_wonen",
        "beschikking_startdatum": "2025-01-01",
        "beschikking_einddatum": "2027-01-01",
    });
    ok(DocumentKind::Gemeente, &gemeente);
}

#[test]
fn dates_within_a_form_must_be_in_order() {
    let r = DocumentKind::Registratie;
    // Born after the stay started.
    let e = err(
        r,
        &with(registratie(), "geboortedatum", json!("2025-09-02")),
    );
    assert_eq!(
        codes(&e),
        pairs(&[
            ("eerste_aanmelding_opvang", "datum_volgorde"),
            ("start_verblijf_opvang", "datum_volgorde")
        ]),
        "{e}"
    );
    // Not on the same day either.
    let e = err(
        r,
        &with(
            with(registratie(), "geboortedatum", json!("2025-09-01")),
            "eerste_aanmelding_opvang",
            json!("2025-09-01"),
        ),
    );
    assert!(e.has("start_verblijf_opvang", "datum_volgorde"), "{e}");
    // The stay before the first aanmelding at the opvang.
    let e = assert_only(
        r,
        &with(
            registratie(),
            "eerste_aanmelding_opvang",
            json!("2025-09-05"),
        ),
        "start_verblijf_opvang",
        "datum_volgorde",
    );
    assert!(
        e.0[0]
            .to_string()
            .contains("registratie.eerste_aanmelding_opvang"),
        "{e}"
    );
    // The same day is allowed there.
    ok(
        r,
        &with(
            registratie(),
            "eerste_aanmelding_opvang",
            json!("2025-09-01"),
        ),
    );
    // Gemeente: a beschikking that ends before it starts.
    let gemeente = json!({
        "soort_beschikking": "nazorg",
        "beschikking_startdatum": "2026-01-01",
        "beschikking_einddatum": "2025-12-31",
    });
    assert_only(
        DocumentKind::Gemeente,
        &gemeente,
        "beschikking_einddatum",
        "datum_volgorde",
    );
}

fn plaatsing(datum_mutatie: &str) -> Json {
    json!({
        "achternaam_voorletters": "de Vries, A.B.",
        "soort_mutatie": "uitstroom_zelfstandig",
        "datum_mutatie": datum_mutatie,
    })
}

#[test]
fn no_outflow_before_intake_across_forms() {
    let v = validator();
    let mut case = CaseDocuments::new();
    case.insert(ok(DocumentKind::Registratie, &registratie()));

    // Valid on its own, refused in the case: the placement lies before the start of the stay.
    let early = ok(DocumentKind::Plaatsing, &plaatsing("2025-08-31"));
    let e = v.in_case(&early, &case).expect_err("outflow before intake");
    assert_eq!(codes(&e), pairs(&[("datum_mutatie", "datum_volgorde")]));
    assert_eq!(e.0[0].document, DocumentKind::Plaatsing);
    let shown = e.0[0].to_string();
    assert!(shown.contains("plaatsing.datum_mutatie"), "{shown}");
    assert!(
        shown.contains("registratie.start_verblijf_opvang"),
        "{shown}"
    );

    // The same day is fine, and later too.
    v.in_case(
        &ok(DocumentKind::Plaatsing, &plaatsing("2025-09-01")),
        &case,
    )
    .unwrap();
    v.in_case(
        &ok(DocumentKind::Plaatsing, &plaatsing("2026-02-01")),
        &case,
    )
    .unwrap();

    // The other way round: a registratie corrected to start after the placement already recorded.
    let mut case = CaseDocuments::new();
    case.insert(early);
    let late_start = ok(DocumentKind::Registratie, &registratie());
    let e = v
        .in_case(&late_start, &case)
        .expect_err("intake after outflow");
    assert_eq!(
        codes(&e),
        pairs(&[("start_verblijf_opvang", "datum_volgorde")])
    );
    assert!(
        e.0[0].to_string().contains("plaatsing.datum_mutatie"),
        "{}",
        e.0[0]
    );
}

#[test]
fn a_chosen_gemeente_other_than_the_herkomstgemeente_needs_a_reason() {
    let v = validator();
    let mut case = CaseDocuments::new();
    case.insert(ok(DocumentKind::Registratie, &registratie()));
    let beoordeling = json!({
        "status": "goedgekeurd",
        "datum_ontvangen": "2026-01-10",
        "gekozen_uitstroomgemeente": "GM0080",
    });
    let e = v
        .in_case(&ok(DocumentKind::Beoordeling, &beoordeling), &case)
        .expect_err("no reason");
    assert_eq!(
        codes(&e),
        pairs(&[("reden_andere_gemeente", "reden_andere_gemeente")])
    );
    v.in_case(
        &ok(
            DocumentKind::Beoordeling,
            &with(
                beoordeling.clone(),
                "reden_andere_gemeente",
                json!("veiligheid"),
            ),
        ),
        &case,
    )
    .unwrap();
    // Back to the herkomstgemeente: no reason needed.
    v.in_case(
        &ok(
            DocumentKind::Beoordeling,
            &with(beoordeling, "gekozen_uitstroomgemeente", json!("GM0074")),
        ),
        &case,
    )
    .unwrap();
}

// ---------------------------------------------------------------------------------------------------------------
// Enums, types, unknown and missing fields

#[test]
fn enum_values_must_be_one_of_the_list() {
    let e = assert_only(
        DocumentKind::Registratie,
        &with(registratie(), "soort_voorziening", json!("beschermd wonen")),
        "soort_voorziening",
        "onbekende_waarde",
    );
    let shown = e.0[0].to_string();
    assert!(
        shown.contains("kies één van: beschermd_wonen, maatschappelijke_opvang"),
        "{shown}"
    );
    // Case matters: the covenant's own words, exactly.
    assert_only(
        DocumentKind::Registratie,
        &with(registratie(), "betrokkenheid_gebiedsteam", json!("Ja")),
        "betrokkenheid_gebiedsteam",
        "onbekende_waarde",
    );
    ok(
        DocumentKind::Registratie,
        &with(registratie(), "betrokkenheid_gebiedsteam", json!("ja")),
    );
}

#[test]
fn wrong_json_types_are_refused() {
    let r = DocumentKind::Registratie;
    assert_only(
        r,
        &with(registratie(), "toestemming_gegevensdeling", json!("ja")),
        "toestemming_gegevensdeling",
        "verkeerd_type",
    );
    assert_only(
        r,
        &with(registratie(), "achternaam_voorletters", json!(["de Vries"])),
        "achternaam_voorletters",
        "verkeerd_type",
    );
    let beoordeling = json!({ "status": "ontvangen", "datum_ontvangen": "2026-01-10", "aantal_keer_teruggestuurd": "2" });
    assert_only(
        DocumentKind::Beoordeling,
        &beoordeling,
        "aantal_keer_teruggestuurd",
        "verkeerd_type",
    );
    let aanmelding = json!({
        "achternaam_voorletters": "de Vries, A.B.",
        "datum_aanmelding": "2025-09-10",
        "inschrijvingen_woningcorporaties": { "corporatie": "Elkien" },
    });
    assert_only(
        DocumentKind::Aanmelding,
        &aanmelding,
        "inschrijvingen_woningcorporaties",
        "verkeerd_type",
    );
    let melding = json!({
        "datum_melding": "2026-02-01", "melder": "corporatie", "soort": "signaal", "ave_niveau": 5,
        "omschrijving": "overlast", "status": "open",
    });
    assert_only(DocumentKind::Melding, &melding, "ave_niveau", "bereik");
    // Not an object at all.
    let e = err(DocumentKind::Registratie, &json!(["bsn", "999993653"]));
    assert_eq!(codes(&e), pairs(&[("", "geen_object")]));
    assert!(
        e.0[0]
            .to_string()
            .starts_with("registratie: het formulier moet een JSON-object"),
        "{e}"
    );
}

#[test]
fn unknown_fields_are_refused() {
    let e = assert_only(
        DocumentKind::Registratie,
        &with(registratie(), "schoenmaat", json!("43")),
        "schoenmaat",
        "onbekend_veld",
    );
    assert!(
        e.0[0]
            .to_string()
            .contains("registratie.schoenmaat: dit veld bestaat niet"),
        "{e}"
    );
    // A field of another form is unknown here too.
    assert_only(
        DocumentKind::Registratie,
        &with(registratie(), "leefsituatie", json!("alleenstaand")),
        "leefsituatie",
        "onbekend_veld",
    );
}

#[test]
fn missing_required_fields_are_each_named() {
    let e = err(DocumentKind::Registratie, &json!({}));
    assert_eq!(
        codes(&e),
        pairs(&[
            ("achternaam_voorletters", "verplicht"),
            ("bsn", "verplicht"),
            ("geboortedatum", "verplicht"),
            ("soort_voorziening", "verplicht"),
            ("betrokken_zorgaanbieder", "verplicht"),
            ("toestemming_gegevensdeling", "verplicht"),
        ])
    );
    // Null and blank count as missing.
    assert_only(
        DocumentKind::Registratie,
        &with(registratie(), "bsn", Json::Null),
        "bsn",
        "verplicht",
    );
    assert_only(
        DocumentKind::Registratie,
        &with(registratie(), "achternaam_voorletters", json!("   ")),
        "achternaam_voorletters",
        "verplicht",
    );
}

#[test]
fn conditional_requiredness() {
    // Consent needs its date.
    let e = assert_only(
        DocumentKind::Registratie,
        &without(registratie(), "datum_toestemming"),
        "datum_toestemming",
        "verplicht_omdat",
    );
    assert!(
        e.0[0]
            .to_string()
            .contains("verplicht omdat toestemming_gegevensdeling 'true' is"),
        "{e}"
    );
    ok(
        DocumentKind::Registratie,
        &with(
            without(registratie(), "datum_toestemming"),
            "toestemming_gegevensdeling",
            json!(false),
        ),
    );

    // A refusal needs its reason and explanation.
    let reactie = json!({ "besluit": "geweigerd", "datum_besluit": "2026-02-10" });
    let e = err(DocumentKind::Reactie, &reactie);
    assert_eq!(
        codes(&e),
        pairs(&[
            ("reden_weigering", "verplicht_omdat"),
            ("toelichting_weigering", "verplicht_omdat")
        ])
    );
    assert!(
        e.0.iter()
            .all(|e| e.to_string().contains("besluit 'geweigerd'")),
        "{e}"
    );
    let complete = with(
        with(reactie.clone(), "reden_weigering", json!("huurachterstand")),
        "toelichting_weigering",
        json!("achterstand van 4 maanden bij vorige verhuurder"),
    );
    ok(DocumentKind::Reactie, &complete);
    // Accepting needs neither.
    ok(
        DocumentKind::Reactie,
        &with(reactie, "besluit", json!("geaccepteerd")),
    );
    // An information request needs the question.
    let vraag = json!({ "besluit": "informatie_gevraagd", "datum_besluit": "2026-02-10" });
    assert_only(
        DocumentKind::Reactie,
        &vraag,
        "informatieverzoek",
        "verplicht_omdat",
    );
}

fn aanmelding(inschrijvingen: Json) -> Json {
    json!({
        "achternaam_voorletters": "de Vries, A.B.",
        "datum_aanmelding": "2025-09-10",
        "leefsituatie": "alleenstaand",
        "hoofdinkomen": "participatiewet",
        "schuldenproblematiek": "ja",
        "vorm_ondersteuning_schulden": "budgetbeheer",
        "inschrijvingen_woningcorporaties": inschrijvingen,
    })
}

#[test]
fn errors_in_records_are_reported_at_their_path() {
    let e = assert_only(
        DocumentKind::Aanmelding,
        &aanmelding(json!([
            { "corporatie": "Elkien", "datum_inschrijving": "2023-01-15" },
            { "corporatie": "Accolade", "datum_inschrijving": "2023-02-30" },
        ])),
        "inschrijvingen_woningcorporaties[1].datum_inschrijving",
        "datum",
    );
    assert!(
        e.0[0].to_string().starts_with(
            "aanmelding.inschrijvingen_woningcorporaties[1].datum_inschrijving: geen geldige datum"
        ),
        "{e}"
    );
    let e = err(
        DocumentKind::Aanmelding,
        &aanmelding(json!([
            { "datum_inschrijving": "2023-01-15", "wachttijd": 3 },
            "Accolade",
            { "corporatie": "Elkien", "datum_inschrijving": "2027-01-01" },
        ])),
    );
    assert_eq!(
        codes(&e),
        pairs(&[
            (
                "inschrijvingen_woningcorporaties[0].corporatie",
                "verplicht"
            ),
            (
                "inschrijvingen_woningcorporaties[0].wachttijd",
                "onbekend_veld"
            ),
            ("inschrijvingen_woningcorporaties[1]", "verkeerd_type"),
            (
                "inschrijvingen_woningcorporaties[2].datum_inschrijving",
                "datum_in_toekomst"
            ),
        ])
    );
}

#[test]
fn all_errors_of_a_form_are_reported_at_once_in_dutch() {
    let form = json!({
        "bsn": "123456789",
        "geboortedatum": "2027-01-01",
        "herkomstgemeente": "GM9999",
        "soort_voorziening": "hotel",
        "betrokken_zorgaanbieder": "de zijlen",
        "toestemming_gegevensdeling": "ja",
        "reden_dakloosheid": "x".repeat(8_001),
        "schoenmaat": 43,
    });
    let e = err(DocumentKind::Registratie, &form);
    assert_eq!(
        codes(&e),
        pairs(&[
            ("achternaam_voorletters", "verplicht"),
            ("bsn", "bsn_elfproef"),
            ("geboortedatum", "datum_in_toekomst"),
            ("herkomstgemeente", "onbekende_gemeente"),
            ("soort_voorziening", "onbekende_waarde"),
            ("betrokken_zorgaanbieder", "partner"),
            ("toestemming_gegevensdeling", "verkeerd_type"),
            ("reden_dakloosheid", "te_lang"),
            ("schoenmaat", "onbekend_veld"),
        ])
    );
    assert_eq!(e.0.len(), 9);
    for error in &e.0 {
        let shown = error.to_string();
        // Each names the form and the field, says the rule in Dutch and gives its code.
        assert!(
            shown.starts_with(&format!("registratie.{}: ", error.field)),
            "{shown}"
        );
        assert!(
            shown.ends_with(&format!("(regel {})", error.rule.code())),
            "{shown}"
        );
    }
    let messages: Vec<String> = e.0.iter().map(|e| e.rule.message()).collect();
    for dutch in [
        "dit veld is verplicht",
        "elfproef",
        "in de toekomst",
        "geen bekende gemeente",
        "kies één van",
        "geen geldige partner",
        "verwacht: ja/nee",
        "te lang; maximaal 8000",
        "bestaat niet op dit formulier",
    ] {
        assert!(
            messages.iter().any(|m| m.contains(dutch)),
            "no message says {dutch:?}: {messages:#?}"
        );
    }
    let all = e.to_string();
    assert!(all.starts_with("9 fout(en) in het formulier:"), "{all}");
    // As JSON for the API (problem+json): each with field and rule.
    let as_json = serde_json::to_value(&e).unwrap();
    assert_eq!(as_json.as_array().unwrap().len(), 9);
    assert!(
        as_json
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["field"] == "bsn"
                && x["rule"] == "bsn_elfproef"
                && x["document"] == "registratie")
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Completeness

#[test]
fn completeness_lists_what_is_missing_before_submission() {
    let minimal = json!({
        "achternaam_voorletters": "de Vries, A.B.",
        "bsn": "999993653",
        "geboortedatum": "1985-04-12",
        "soort_voorziening": "beschermd_wonen",
        "betrokken_zorgaanbieder": "zorgaanbieder:de-zijlen",
        "toestemming_gegevensdeling": false,
    });
    let form = ok(DocumentKind::Registratie, &minimal);
    let missing: Vec<String> = completeness::missing(&form)
        .into_iter()
        .map(|m| m.field)
        .collect();
    assert_eq!(
        missing,
        [
            "identiteit_vastgesteld_met",
            "huidig_adres",
            "herkomstgemeente",
            "laatste_woonplaats",
            "eerste_aanmelding_opvang",
            "start_verblijf_opvang",
            "datum_aanmelding_transferpunt",
            "locatie_opvang",
            "verblijfgemeente",
            "contact_begeleider",
            "reden_dakloosheid",
            "betrokkenheid_gebiedsteam",
        ]
    );
    let m = completeness::missing(&form);
    assert!(
        m.iter()
            .all(|m| m.document == DocumentKind::Registratie && m.because.is_none())
    );
    assert_eq!(m[0].label, "Identiteit vastgesteld met");
}

#[test]
fn completeness_follows_conditions_and_records() {
    let form = ok(
        DocumentKind::Aanmelding,
        &without(
            with(
                aanmelding(json!([{ "corporatie": "Elkien", "datum_inschrijving": "2023-01-15" }])),
                "noodzaak_inzet_transferpunt",
                json!("ja"),
            ),
            "vorm_ondersteuning_schulden",
        ),
    );
    let missing = completeness::missing(&form);
    let find = |field: &str| missing.iter().find(|m| m.field == field);
    let schulden = find("vorm_ondersteuning_schulden").expect("debts need their support");
    assert_eq!(
        schulden.because.as_deref(),
        Some("omdat schuldenproblematiek 'ja' is")
    );
    let reden =
        find("reden_inzet_transferpunt").expect("a need for the Transferpunt needs its reason");
    assert_eq!(
        reden.because.as_deref(),
        Some("omdat noodzaak_inzet_transferpunt 'ja' is")
    );
    assert!(find("herkomstgemeente").is_some());
    assert!(find("leefsituatie").is_none(), "filled in");
    assert!(
        find("inschrijvingen_woningcorporaties").is_none(),
        "filled in"
    );

    // Once filled in and no longer needed, nothing is missing for those.
    let form = ok(
        DocumentKind::Aanmelding,
        &with(aanmelding(json!([])), "schuldenproblematiek", json!("nee")),
    );
    let missing = completeness::missing(&form);
    assert!(
        missing
            .iter()
            .all(|m| m.field != "vorm_ondersteuning_schulden")
    );
    assert!(
        missing
            .iter()
            .any(|m| m.field == "inschrijvingen_woningcorporaties"),
        "an empty list is missing"
    );
}

fn bemiddelingsverzoek() -> Json {
    json!({
        "datum_verzoek": "2026-01-05",
        "achttien_jaar_of_ouder": true,
        "verblijf_mo_of_bw_indicatie": true,
        "ingeschreven_meerdere_corporaties": true,
        "documenten_in_portaal_corporatie": true,
        "actief_gezocht": true,
        "toelichting_zoekgedrag": "reageert wekelijks op woningnet",
        "voldoende_zelfredzaam": true,
        "stabiele_daginvulling": true,
        "soort_daginvulling": "dagbesteding",
        "inkomen_en_schulden_in_beeld": true,
    })
}

fn voorwaarden(case: &CaseDocuments) -> Vec<(Voorwaarde, Status)> {
    completeness::voorwaarden_bemiddeling(case, TODAY)
        .into_iter()
        .map(|c| (c.voorwaarde, c.status))
        .collect()
}

fn case_with(registratie: Json, aanmelding: Json, verzoek: Json) -> CaseDocuments {
    let mut case = CaseDocuments::new();
    case.insert(ok(DocumentKind::Registratie, &registratie));
    case.insert(ok(DocumentKind::Aanmelding, &aanmelding));
    case.insert(ok(DocumentKind::Bemiddelingsverzoek, &verzoek));
    case
}

#[test]
fn the_eight_voorwaarden_pre_check() {
    use Status::*;
    use Voorwaarde::*;
    let two = json!([
        { "corporatie": "Elkien", "datum_inschrijving": "2023-01-15" },
        { "corporatie": "Accolade", "datum_inschrijving": "2023-02-01" },
    ]);
    let case = case_with(registratie(), aanmelding(two), bemiddelingsverzoek());
    assert_eq!(
        voorwaarden(&case),
        Voorwaarde::ALL.map(|v| (v, Voldaan)).to_vec()
    );

    // Ticked "ingeschreven bij meerdere corporaties", but the aanmelding lists one: the data win.
    let one = json!([{ "corporatie": "Elkien", "datum_inschrijving": "2023-01-15" }]);
    let case = case_with(registratie(), aanmelding(one), bemiddelingsverzoek());
    let checks = completeness::voorwaarden_bemiddeling(&case, TODAY);
    let c = checks
        .iter()
        .find(|c| c.voorwaarde == IngeschrevenMeerdereCorporaties)
        .unwrap();
    assert_eq!(c.status, NietVoldaan);
    assert!(c.toelichting.contains("1 corporatie"), "{}", c.toelichting);
    assert!(
        checks
            .iter()
            .filter(|c| c.voorwaarde != IngeschrevenMeerdereCorporaties)
            .all(|c| c.status == Voldaan)
    );

    // The same corporatie twice, spelled differently, is still one.
    let same = json!([
        { "corporatie": "Elkien", "datum_inschrijving": "2023-01-15" },
        { "corporatie": "elkien", "datum_inschrijving": "2024-01-15" },
    ]);
    let case = case_with(registratie(), aanmelding(same), bemiddelingsverzoek());
    assert!(voorwaarden(&case).contains(&(IngeschrevenMeerdereCorporaties, NietVoldaan)));
}

#[test]
fn the_voorwaarden_follow_the_data_over_the_ticks() {
    use Status::*;
    use Voorwaarde::*;
    let two = || {
        json!([
            { "corporatie": "Elkien", "datum_inschrijving": "2023-01-15" },
            { "corporatie": "Accolade", "datum_inschrijving": "2023-02-01" },
        ])
    };
    // Seventeen on the day of the check.
    let minor = with(
        with(registratie(), "geboortedatum", json!("2008-03-02")),
        "eerste_aanmelding_opvang",
        json!("2025-08-28"),
    );
    let case = case_with(minor, aanmelding(two()), bemiddelingsverzoek());
    assert!(voorwaarden(&case).contains(&(AchttienJaarOfOuder, NietVoldaan)));
    // Eighteen today.
    let adult = with(registratie(), "geboortedatum", json!("2008-03-01"));
    let case = case_with(adult, aanmelding(two()), bemiddelingsverzoek());
    assert!(voorwaarden(&case).contains(&(AchttienJaarOfOuder, Voldaan)));

    // Debts without support, or no income: not met, whatever was ticked.
    let case = case_with(
        registratie(),
        with(
            aanmelding(two()),
            "vorm_ondersteuning_schulden",
            json!("geen"),
        ),
        bemiddelingsverzoek(),
    );
    assert!(voorwaarden(&case).contains(&(InkomenEnSchuldenInBeeld, NietVoldaan)));
    let case = case_with(
        registratie(),
        with(aanmelding(two()), "hoofdinkomen", json!("geen_inkomen")),
        bemiddelingsverzoek(),
    );
    assert!(voorwaarden(&case).contains(&(InkomenEnSchuldenInBeeld, NietVoldaan)));

    // Ticked without the explanation: not known yet.
    let case = case_with(
        registratie(),
        aanmelding(two()),
        without(bemiddelingsverzoek(), "toelichting_zoekgedrag"),
    );
    assert!(voorwaarden(&case).contains(&(ActiefGezocht, Onbekend)));
    let case = case_with(
        registratie(),
        aanmelding(two()),
        without(bemiddelingsverzoek(), "soort_daginvulling"),
    );
    assert!(voorwaarden(&case).contains(&(StabieleDaginvulling, Onbekend)));
    // Not ticked: not met.
    let case = case_with(
        registratie(),
        aanmelding(two()),
        with(
            bemiddelingsverzoek(),
            "documenten_in_portaal_corporatie",
            json!(false),
        ),
    );
    assert!(voorwaarden(&case).contains(&(DocumentenInPortaal, NietVoldaan)));

    // An empty case: nothing known.
    assert_eq!(
        voorwaarden(&CaseDocuments::new()),
        Voorwaarde::ALL.map(|v| (v, Onbekend)).to_vec()
    );
}

// ---------------------------------------------------------------------------------------------------------------
// The lease and the offers

fn drie_partijen(ondertekening: &str, einde: &str) -> Json {
    json!({
        "besluit": "geaccepteerd",
        "datum_besluit": "2026-01-20",
        "soort_huurcontract": "drie_partijen",
        "datum_ondertekening": ondertekening,
        "einddatum_drie_partijen": einde,
        "omklapvoorwaarden": "huur een jaar op tijd betaald; begeleiding afgeschaald naar waakvlam",
    })
}

#[test]
fn a_drie_partijen_lease_runs_at_most_two_years() {
    ok(
        DocumentKind::Reactie,
        &drie_partijen("2026-02-01", "2028-02-01"),
    );
    ok(
        DocumentKind::Reactie,
        &drie_partijen("2024-02-29", "2026-02-28"),
    );
    let e = assert_only(
        DocumentKind::Reactie,
        &drie_partijen("2026-02-01", "2028-02-02"),
        "einddatum_drie_partijen",
        "drie_partijen_max_twee_jaar",
    );
    assert!(
        e.0[0].to_string().contains("maximaal 2 jaar (Afspraak 2d)"),
        "{e}"
    );
    assert_only(
        DocumentKind::Reactie,
        &drie_partijen("2026-02-01", "2026-02-01"),
        "einddatum_drie_partijen",
        "datum_volgorde",
    );
    // The omklap conditions are attached to the lease (Afspraak 2f).
    assert_only(
        DocumentKind::Reactie,
        &without(
            drie_partijen("2026-02-01", "2027-02-01"),
            "omklapvoorwaarden",
        ),
        "omklapvoorwaarden",
        "verplicht_omdat",
    );
    // A lease on the client's own name has no end date to check.
    let eigen = json!({
        "besluit": "geaccepteerd", "datum_besluit": "2026-01-20",
        "soort_huurcontract": "eigen_naam", "datum_ondertekening": "2026-02-01",
    });
    ok(DocumentKind::Reactie, &eigen);
}

fn offers(list: Json) -> Json {
    json!({ "besluit": "geaccepteerd", "datum_besluit": "2026-01-20", "aanbiedingen": list })
}

fn offer(reactie: &str) -> Json {
    let mut o = json!({ "datum_aanbod": "2026-02-01", "adres": "Voorstreek 1, Leeuwarden", "reactie_client": reactie });
    if reactie == "geweigerd" {
        o["reden_weigering_client"] = json!("te ver van dagbesteding");
    }
    o
}

#[test]
fn at_most_two_offers_and_a_second_only_after_a_grounded_refusal() {
    ok(DocumentKind::Reactie, &offers(json!([offer("openstaand")])));
    ok(
        DocumentKind::Reactie,
        &offers(json!([offer("geweigerd"), offer("geaccepteerd")])),
    );
    let e = assert_only(
        DocumentKind::Reactie,
        &offers(json!([offer("geaccepteerd"), offer("openstaand")])),
        "aanbiedingen",
        "aanbiedingen",
    );
    assert!(e.0[0].to_string().contains("Afspraak 1j en 1k"), "{e}");
    assert_only(
        DocumentKind::Reactie,
        &offers(json!([offer("openstaand"), offer("openstaand")])),
        "aanbiedingen",
        "aanbiedingen",
    );
    assert_only(
        DocumentKind::Reactie,
        &offers(json!([
            offer("geweigerd"),
            offer("geweigerd"),
            offer("openstaand")
        ])),
        "aanbiedingen",
        "aanbiedingen",
    );
    // A refusal by the client needs its reason.
    let mut unfounded = offer("geweigerd");
    unfounded
        .as_object_mut()
        .unwrap()
        .remove("reden_weigering_client");
    assert_only(
        DocumentKind::Reactie,
        &offers(json!([unfounded])),
        "aanbiedingen[0].reden_weigering_client",
        "verplicht_omdat",
    );
}

// ---------------------------------------------------------------------------------------------------------------
// The melding as a process (Afspraak 7; Bijlage 2, the AVE ladder; issue #17)

fn melding_met(escalaties: serde_json::Value, ave_niveau: i64) -> serde_json::Value {
    json!({
        "datum_melding": "2025-03-01", "melder": "omwonende", "soort": "knelpunt", "ave_niveau": ave_niveau,
        "omschrijving": "Overlast", "status": "in_behandeling", "escalaties": escalaties
    })
}

fn stap(datum: &str, van: i64, naar: i64) -> serde_json::Value {
    json!({"datum": datum, "van_niveau": van, "naar_niveau": naar, "door": "Wijkconsulent Elkien",
        "reden": "Buren melden geweld"})
}

/// Bijlage 2: every escalation is kept with who raised it, when and why, and the ladder only goes up from where the
/// last step left it; the melding's level is the last step's.
#[test]
fn bijlage_2_de_ave_ladder_gaat_omhoog_en_de_geschiedenis_blijft() {
    let ok = melding_met(
        json!([stap("2025-03-02", 1, 2), stap("2025-03-10", 2, 3)]),
        3,
    );
    let form = validator()
        .form(DocumentKind::Melding, &ok)
        .expect("a valid ladder");
    assert_eq!(
        form.get("escalaties")
            .and_then(policies::Value::as_records)
            .map(<[_]>::len),
        Some(2)
    );
    // A crisis may skip a step.
    validator()
        .form(
            DocumentKind::Melding,
            &melding_met(json!([stap("2025-03-02", 1, 4)]), 4),
        )
        .expect("a jump up is an escalation");

    let down = validator()
        .form(
            DocumentKind::Melding,
            &melding_met(json!([stap("2025-03-02", 3, 2)]), 2),
        )
        .unwrap_err();
    assert!(
        down.has("escalaties[0].naar_niveau", "ave_ladder"),
        "{down}"
    );
    assert!(down.to_string().contains("AVE-ladder"), "{down}");

    let gap = validator()
        .form(
            DocumentKind::Melding,
            &melding_met(
                json!([stap("2025-03-02", 1, 2), stap("2025-03-10", 3, 4)]),
                4,
            ),
        )
        .unwrap_err();
    assert!(gap.has("escalaties[1].van_niveau", "ave_ladder"), "{gap}");

    let order = validator()
        .form(
            DocumentKind::Melding,
            &melding_met(
                json!([stap("2025-03-10", 1, 2), stap("2025-03-05", 2, 3)]),
                3,
            ),
        )
        .unwrap_err();
    assert!(
        order.has("escalaties[1].datum", "escalatie_volgorde"),
        "{order}"
    );
    let before = validator()
        .form(
            DocumentKind::Melding,
            &melding_met(json!([stap("2025-02-01", 1, 2)]), 2),
        )
        .unwrap_err();
    assert!(
        before.has("escalaties[0].datum", "escalatie_volgorde"),
        "{before}"
    );

    let overwritten = validator()
        .form(
            DocumentKind::Melding,
            &melding_met(json!([stap("2025-03-02", 1, 3)]), 2),
        )
        .unwrap_err();
    assert!(
        overwritten.has("ave_niveau", "ave_niveau_na_escalatie"),
        "{overwritten}"
    );

    let mut no_reason = stap("2025-03-02", 1, 2);
    no_reason.as_object_mut().unwrap().remove("reden");
    let e = validator()
        .form(DocumentKind::Melding, &melding_met(json!([no_reason]), 2))
        .unwrap_err();
    assert!(e.has("escalaties[0].reden", "verplicht"), "{e}");
}

/// Afspraak 7d and 3g: a melding presented to the Transferpunt names the vaste contactpersoon who presented it,
/// when, who holds regie and what was tried locally first; a melding reported to the Toezichthouder has its date.
#[test]
fn afspraak_7d_voorleggen_noemt_wie_wanneer_regie_en_lokale_aanpak() {
    let mut m = melding_met(json!([]), 1);
    m["voorgelegd_aan_transferpunt"] = json!(true);
    m["voorgelegd_door_vaste_contactpersoon"] = json!(true);
    let e = validator().form(DocumentKind::Melding, &m).unwrap_err();
    for field in [
        "voorgelegd_door",
        "datum_voorgelegd",
        "regie",
        "lokale_aanpak",
    ] {
        assert!(e.has(field, "verplicht_omdat"), "{field}: {e}");
    }
    let mut t = melding_met(json!([]), 1);
    t["soort"] = json!("calamiteit");
    t["gemeld_bij_toezichthouder"] = json!(true);
    let e = validator().form(DocumentKind::Melding, &t).unwrap_err();
    assert!(
        e.has("datum_gemeld_toezichthouder", "verplicht_omdat"),
        "{e}"
    );
}
