//! Completeness: what is still missing before a form can be submitted (the evaluation's main reason for failed
//! bemiddeling requests), and the pre-check of the 8 voorwaarden for bemiddeling (evaluation §3.1, step 2).

use serde::Serialize;
use time::Date;

use crate::case::CaseDocuments;
use crate::form::{Form, Record, Value};
use crate::model::{DocumentKind, FieldSpec, FieldType, Required};
use crate::validate::cond_holds;

/// A field still to fill in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    /// The form.
    pub document: DocumentKind,
    /// The field (with a path into lists).
    pub field: String,
    /// Its label on the form.
    pub label: &'static str,
    /// Why it is needed, when it depends on another answer.
    pub because: Option<String>,
}

/// What is still missing in a form before it can be submitted.
pub fn missing(form: &Form) -> Vec<Missing> {
    let mut out = Vec::new();
    let values: Record = form
        .fields()
        .map(|(spec, v)| (spec.name, v.clone()))
        .collect();
    missing_in(
        form.kind(),
        form.kind().spec().fields,
        &values,
        "",
        &mut out,
    );
    out
}

/// What a form of this kind needs when nothing has been filled in yet.
pub fn missing_without_form(kind: DocumentKind) -> Vec<Missing> {
    let mut out = Vec::new();
    missing_in(kind, kind.spec().fields, &Record::new(), "", &mut out);
    out
}

fn missing_in(
    kind: DocumentKind,
    specs: &'static [FieldSpec],
    values: &Record,
    prefix: &str,
    out: &mut Vec<Missing>,
) {
    for spec in specs {
        let path = format!("{prefix}{}", spec.name);
        match values.get(spec.name) {
            Some(v) if !v.is_empty() => {
                if let (FieldType::Records(sub), Value::Records(rs)) = (spec.ty, v) {
                    for (i, r) in rs.iter().enumerate() {
                        missing_in(kind, sub, r, &format!("{path}[{i}]."), out);
                    }
                }
            }
            _ => {
                let because = match spec.required {
                    Required::Always | Required::ForSubmission => Some(None),
                    Required::AlwaysWhen(c) | Required::ForSubmissionWhen(c)
                        if cond_holds(&c, values) =>
                    {
                        Some(Some(format!(
                            "omdat {} '{}' is",
                            c.field,
                            values
                                .get(c.field)
                                .and_then(Value::condition_key)
                                .unwrap_or_default()
                        )))
                    }
                    _ => None,
                };
                if let Some(because) = because {
                    out.push(Missing {
                        document: kind,
                        field: path,
                        label: spec.label,
                        because,
                    });
                }
            }
        }
    }
}

/// What stands in the way of submitting the case's bemiddelingsverzoek (indienen), on `today`: every field still
/// missing, and every voorwaarde the pre-check ([`voorwaarden_bemiddeling`]) does not find met — except a
/// voorwaarde for which the begeleider wrote a reason in `toelichting_voorwaarden` (then neither its tick nor its
/// outcome blocks). Empty: it may be submitted. Without a bemiddelingsverzoek, everything it needs.
pub fn for_submission(case: &CaseDocuments, today: Date) -> Vec<Missing> {
    let Some(verzoek) = case.first(DocumentKind::Bemiddelingsverzoek) else {
        return missing_without_form(DocumentKind::Bemiddelingsverzoek);
    };
    let explained = explained_voorwaarden(verzoek);
    let mut out: Vec<Missing> = missing(verzoek)
        .into_iter()
        .filter(|m| !explained.contains(&m.field.as_str()))
        .collect();
    for check in voorwaarden_bemiddeling(case, today) {
        let field = check.voorwaarde.field();
        if check.status == Status::Voldaan
            || explained.contains(&field)
            || out.iter().any(|m| m.field == field)
        {
            continue;
        }
        out.push(Missing {
            document: DocumentKind::Bemiddelingsverzoek,
            field: field.to_string(),
            label: DocumentKind::Bemiddelingsverzoek
                .spec()
                .fields
                .iter()
                .find(|f| f.name == field)
                .map_or(check.voorwaarde.label_nl(), |f| f.label),
            because: Some(format!(
                "voorwaarde '{}' is niet voldaan ({}); licht in toelichting_voorwaarden toe waarom niet",
                check.voorwaarde.label_nl(),
                check.toelichting
            )),
        });
    }
    out
}

/// The voorwaarden (by field) for which the begeleider wrote a reason why they cannot be met.
fn explained_voorwaarden(verzoek: &Form) -> Vec<&str> {
    verzoek
        .get("toelichting_voorwaarden")
        .and_then(Value::as_records)
        .unwrap_or_default()
        .iter()
        .filter(|r| {
            r.get("toelichting")
                .and_then(Value::as_text)
                .is_some_and(|t| !t.trim().is_empty())
        })
        .filter_map(|r| r.get("voorwaarde").and_then(Value::as_text))
        .collect()
}

/// The 8 voorwaarden for bemiddeling (evaluation §3.1, step 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Voorwaarde {
    /// 18 jaar of ouder.
    AchttienJaarOfOuder,
    /// Verblijf in MO of in bezit van BW-indicatie.
    VerblijfMoOfBwIndicatie,
    /// Ingeschreven bij meerdere Friese woningcorporaties.
    IngeschrevenMeerdereCorporaties,
    /// Alle vereiste documenten geüpload in het portaal van de corporatie(s).
    DocumentenInPortaal,
    /// Actief gezocht naar woonmogelijkheden.
    ActiefGezocht,
    /// Voldoende zelfredzaam (ondersteuningsplan opgesteld).
    VoldoendeZelfredzaam,
    /// Stabiele daginvulling.
    StabieleDaginvulling,
    /// Stabiel inkomen en schulden in beeld met afspraken.
    InkomenEnSchuldenInBeeld,
}

impl Voorwaarde {
    /// All eight, in the evaluation's order.
    pub const ALL: [Voorwaarde; 8] = [
        Voorwaarde::AchttienJaarOfOuder,
        Voorwaarde::VerblijfMoOfBwIndicatie,
        Voorwaarde::IngeschrevenMeerdereCorporaties,
        Voorwaarde::DocumentenInPortaal,
        Voorwaarde::ActiefGezocht,
        Voorwaarde::VoldoendeZelfredzaam,
        Voorwaarde::StabieleDaginvulling,
        Voorwaarde::InkomenEnSchuldenInBeeld,
    ];

    /// The voorwaarde as the evaluation words it.
    pub fn label_nl(self) -> &'static str {
        match self {
            Voorwaarde::AchttienJaarOfOuder => "18 jaar of ouder",
            Voorwaarde::VerblijfMoOfBwIndicatie => "verblijf in MO of in bezit van BW-indicatie",
            Voorwaarde::IngeschrevenMeerdereCorporaties => {
                "ingeschreven bij meerdere Friese woningcorporaties"
            }
            Voorwaarde::DocumentenInPortaal => {
                "alle vereiste documenten geüpload in het portaal van de corporatie(s)"
            }
            Voorwaarde::ActiefGezocht => "actief gezocht naar woonmogelijkheden",
            Voorwaarde::VoldoendeZelfredzaam => {
                "voldoende zelfredzaam, eventueel met ondersteuning (ondersteuningsplan opgesteld)"
            }
            Voorwaarde::StabieleDaginvulling => {
                "stabiele daginvulling (werk, opleiding, dagbesteding)"
            }
            Voorwaarde::InkomenEnSchuldenInBeeld => {
                "stabiel inkomen, schulden in beeld en afspraken over beheer"
            }
        }
    }

    /// The bemiddelingsverzoek field where the begeleider ticks it.
    pub fn field(self) -> &'static str {
        match self {
            Voorwaarde::AchttienJaarOfOuder => "achttien_jaar_of_ouder",
            Voorwaarde::VerblijfMoOfBwIndicatie => "verblijf_mo_of_bw_indicatie",
            Voorwaarde::IngeschrevenMeerdereCorporaties => "ingeschreven_meerdere_corporaties",
            Voorwaarde::DocumentenInPortaal => "documenten_in_portaal_corporatie",
            Voorwaarde::ActiefGezocht => "actief_gezocht",
            Voorwaarde::VoldoendeZelfredzaam => "voldoende_zelfredzaam",
            Voorwaarde::StabieleDaginvulling => "stabiele_daginvulling",
            Voorwaarde::InkomenEnSchuldenInBeeld => "inkomen_en_schulden_in_beeld",
        }
    }
}

/// Met, not met, or not yet known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Met.
    Voldaan,
    /// Not met.
    NietVoldaan,
    /// Not known yet.
    Onbekend,
}

/// The outcome of one voorwaarde, with the reason in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VoorwaardeCheck {
    /// Which.
    pub voorwaarde: Voorwaarde,
    /// Outcome.
    pub status: Status,
    /// Why, in Dutch.
    pub toelichting: String,
}

/// Age in whole years on `on`.
pub fn age_on(birth: Date, on: Date) -> i32 {
    let mut age = on.year() - birth.year();
    if (on.month() as u8, on.day()) < (birth.month() as u8, birth.day()) {
        age -= 1;
    }
    age
}

/// The pre-check of the 8 voorwaarden, from what the case holds. Where the case's own data contradict what the
/// begeleider ticked, the data win and the reason says so: this is what saves a request sent back.
pub fn voorwaarden_bemiddeling(case: &CaseDocuments, today: Date) -> Vec<VoorwaardeCheck> {
    let verzoek = case.first(DocumentKind::Bemiddelingsverzoek);
    let ticked = |v: Voorwaarde| verzoek.and_then(|f| f.bool(v.field()));
    let from_tick = |v: Voorwaarde| status_from_tick(verzoek, v);
    let registratie = case.first(DocumentKind::Registratie);
    let aanmelding = case.first(DocumentKind::Aanmelding);

    Voorwaarde::ALL
        .into_iter()
        .map(|v| {
            let (status, toelichting) = match v {
                Voorwaarde::AchttienJaarOfOuder => {
                    age_from_geboortedatum(registratie, today).unwrap_or_else(|| from_tick(v))
                }
                Voorwaarde::VerblijfMoOfBwIndicatie => {
                    match (ticked(v), registratie.and_then(|r| r.text("soort_voorziening"))) {
                        (Some(false), _) => from_tick(v),
                        (_, Some(soort)) => (Status::Voldaan, format!("geregistreerd in {}", soort.replace('_', " "))),
                        _ => from_tick(v),
                    }
                }
                Voorwaarde::IngeschrevenMeerdereCorporaties => {
                    corporaties_from_aanmelding(aanmelding).unwrap_or_else(|| from_tick(v))
                }
                Voorwaarde::ActiefGezocht => match from_tick(v) {
                    (Status::Voldaan, _) if verzoek.and_then(|f| f.text("toelichting_zoekgedrag")).is_none() => (
                        Status::Onbekend,
                        "aangevinkt, maar de toelichting op het zoekgedrag ontbreekt; de tweede reden van afwijzing \
                         is onvoldoende eigen inspanning"
                            .into(),
                    ),
                    other => other,
                },
                Voorwaarde::StabieleDaginvulling => match from_tick(v) {
                    (Status::Voldaan, _) if verzoek.and_then(|f| f.text("soort_daginvulling")).is_none() => {
                        (Status::Onbekend, "aangevinkt, maar de soort daginvulling ontbreekt".into())
                    }
                    other => other,
                },
                Voorwaarde::InkomenEnSchuldenInBeeld => {
                    inkomen_en_schulden_from_aanmelding(aanmelding).unwrap_or_else(|| from_tick(v))
                }
                Voorwaarde::DocumentenInPortaal | Voorwaarde::VoldoendeZelfredzaam => from_tick(v),
            };
            VoorwaardeCheck {
                voorwaarde: v,
                status,
                toelichting,
            }
        })
        .collect()
}

/// What the begeleider ticked in the bemiddelingsverzoek: the fallback wherever the case's own data say nothing.
fn status_from_tick(verzoek: Option<&Form>, v: Voorwaarde) -> (Status, String) {
    match verzoek.and_then(|f| f.bool(v.field())) {
        Some(true) => (
            Status::Voldaan,
            "aangevinkt in het bemiddelingsverzoek".to_string(),
        ),
        Some(false) => (
            Status::NietVoldaan,
            "niet aangevinkt in het bemiddelingsverzoek".to_string(),
        ),
        None => (
            Status::Onbekend,
            "nog niet ingevuld in het bemiddelingsverzoek".to_string(),
        ),
    }
}

/// 18 or older, from the registered geboortedatum; `None` when there is none, so the tick decides.
fn age_from_geboortedatum(registratie: Option<&Form>, today: Date) -> Option<(Status, String)> {
    let age = age_on(registratie?.date("geboortedatum")?, today);
    Some(if age >= 18 {
        (
            Status::Voldaan,
            format!("{age} jaar volgens de geboortedatum"),
        )
    } else {
        (
            Status::NietVoldaan,
            format!("{age} jaar volgens de geboortedatum; bemiddeling kan vanaf 18"),
        )
    })
}

/// Registered with at least 2 corporaties, counting distinct names (case-insensitive) in the aanmeldformulier;
/// `None` when it lists no inschrijvingen at all, so the tick decides.
fn corporaties_from_aanmelding(aanmelding: Option<&Form>) -> Option<(Status, String)> {
    let rs = aanmelding?
        .get("inschrijvingen_woningcorporaties")
        .and_then(Value::as_records)?;
    let mut names: Vec<String> = rs
        .iter()
        .filter_map(|r| r.get("corporatie").and_then(Value::as_text))
        .map(|s| s.to_lowercase())
        .collect();
    names.sort();
    names.dedup();
    Some(if names.len() >= 2 {
        (
            Status::Voldaan,
            format!("ingeschreven bij {} corporaties", names.len()),
        )
    } else {
        (
            Status::NietVoldaan,
            format!(
                "ingeschreven bij {} corporatie(s) volgens het aanmeldformulier; er zijn er minstens 2 nodig",
                names.len()
            ),
        )
    })
}

/// Debts without any support, or no income at all, in the aanmeldformulier overrule the tick; `None` when
/// neither shows, so the tick decides.
fn inkomen_en_schulden_from_aanmelding(aanmelding: Option<&Form>) -> Option<(Status, String)> {
    let schulden = aanmelding.and_then(|a| a.text("schuldenproblematiek"));
    let vorm = aanmelding.and_then(|a| a.text("vorm_ondersteuning_schulden"));
    let inkomen = aanmelding.and_then(|a| a.text("hoofdinkomen"));
    if schulden == Some("ja") && matches!(vorm, None | Some("geen")) {
        Some((
            Status::NietVoldaan,
            "er zijn schulden, maar er is geen vorm van ondersteuning bij schulden vastgelegd"
                .into(),
        ))
    } else if inkomen == Some("geen_inkomen") {
        Some((
            Status::NietVoldaan,
            "volgens het aanmeldformulier is er geen inkomen".into(),
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples::{self as ex, Client};
    use crate::{Gemeenten, Validator};
    use time::macros::date;

    const TODAY: Date = date!(2025 - 10 - 05);

    /// A case of registratie, aanmelding and this bemiddelingsverzoek.
    fn case_with(verzoek: serde_json::Value) -> CaseDocuments {
        let gemeenten = Gemeenten::friesland();
        let v = Validator::new(&gemeenten, TODAY);
        let client = Client::new("Kanarie, K.", 5);
        let mut case = CaseDocuments::new();
        for (kind, json) in [
            (
                DocumentKind::Registratie,
                ex::registratie(
                    &client,
                    "zorgaanbieder:kwadrant",
                    true,
                    "maatschappelijke_opvang",
                    "GM0080",
                    "2025-06-01",
                ),
            ),
            (
                DocumentKind::Aanmelding,
                ex::aanmelding(&client, "2025-06-10"),
            ),
            (DocumentKind::Bemiddelingsverzoek, verzoek),
        ] {
            case.insert(v.form(kind, &json).unwrap());
        }
        case
    }

    fn fields(missing: &[Missing]) -> Vec<&str> {
        missing.iter().map(|m| m.field.as_str()).collect()
    }

    #[test]
    fn a_complete_request_with_every_voorwaarde_met_may_be_submitted() {
        let case = case_with(ex::bemiddelingsverzoek(
            "2025-10-01",
            "Kwadrant",
            Some("Een woning"),
        ));
        assert_eq!(for_submission(&case, TODAY), vec![]);
    }

    #[test]
    fn a_missing_field_blocks_submission_and_is_named() {
        let case = case_with(ex::bemiddelingsverzoek("2025-10-01", "Kwadrant", None));
        let blockers = for_submission(&case, TODAY);
        assert_eq!(fields(&blockers), ["woonwens"]);
        assert_eq!(blockers[0].label, "Woonwens (huurprijs, grootte, ligging)");
    }

    #[test]
    fn a_voorwaarde_not_met_blocks_until_a_reason_is_written() {
        let mut verzoek = ex::bemiddelingsverzoek("2025-10-01", "Kwadrant", Some("Een woning"));
        verzoek["documenten_in_portaal_corporatie"] = serde_json::json!(false);
        let blockers = for_submission(&case_with(verzoek.clone()), TODAY);
        assert_eq!(fields(&blockers), ["documenten_in_portaal_corporatie"]);
        let because = blockers[0].because.as_deref().unwrap_or_default();
        assert!(because.contains("toelichting_voorwaarden"), "{because}");

        let explained = ex::voorwaarde_niet_voldaan(
            verzoek,
            "documenten_in_portaal_corporatie",
            "Het uittreksel BRP komt pas volgende week",
        );
        assert_eq!(for_submission(&case_with(explained), TODAY), vec![]);
    }

    #[test]
    fn a_voorwaarde_left_empty_is_excused_by_a_reason_too() {
        let mut verzoek = ex::bemiddelingsverzoek("2025-10-01", "Kwadrant", Some("Een woning"));
        verzoek
            .as_object_mut()
            .unwrap()
            .remove("voldoende_zelfredzaam");
        assert_eq!(
            fields(&for_submission(&case_with(verzoek.clone()), TODAY)),
            ["voldoende_zelfredzaam"]
        );
        let mut explained = verzoek;
        explained["toelichting_voorwaarden"] = serde_json::json!([
            {"voorwaarde": "voldoende_zelfredzaam", "toelichting": "Het ondersteuningsplan wordt nog opgesteld"}
        ]);
        assert_eq!(for_submission(&case_with(explained), TODAY), vec![]);
    }

    #[test]
    fn the_case_data_win_over_a_tick() {
        // Ticked, but the aanmelding lists debts without any support: the tick does not make it met.
        let mut case = case_with(ex::bemiddelingsverzoek(
            "2025-10-01",
            "Kwadrant",
            Some("Een woning"),
        ));
        let gemeenten = Gemeenten::friesland();
        let v = Validator::new(&gemeenten, TODAY);
        let mut aanmelding = ex::aanmelding(&Client::new("Kanarie, K.", 5), "2025-06-10");
        aanmelding["vorm_ondersteuning_schulden"] = serde_json::json!("geen");
        case.insert(v.form(DocumentKind::Aanmelding, &aanmelding).unwrap());
        assert_eq!(
            fields(&for_submission(&case, TODAY)),
            ["inkomen_en_schulden_in_beeld"]
        );
    }

    #[test]
    fn without_a_request_everything_it_needs_is_missing() {
        let blockers = for_submission(&CaseDocuments::new(), TODAY);
        assert!(fields(&blockers).contains(&"datum_verzoek"));
        assert!(fields(&blockers).contains(&"woonwens"));
    }

    #[test]
    fn the_case_is_in_bemiddeling_only_once_the_request_is_submitted() {
        let verzoek = ex::bemiddelingsverzoek("2025-10-01", "Kwadrant", Some("Een woning"));
        let draft = case_with(verzoek.clone());
        assert_eq!(draft.phase(), crate::Fase::Aanmelding);
        assert!(!draft.submitted());
        let submitted = case_with(ex::ingediend(verzoek, "2025-10-02", 1));
        assert_eq!(submitted.phase(), crate::Fase::Bemiddeling);
    }
}
