//! Validation of forms as a partner's staff meets it: every error names the document, the field and the rule in
//! words a begeleider understands, all errors of a form at once, and nothing half-valid is accepted.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value as Json;
use time::Date;

use crate::bsn::{Bsn, BsnError};
use crate::case::CaseDocuments;
use crate::form::{Form, Record, Value, parse_date};
use crate::gemeenten::Gemeenten;
use crate::model::{Cond, DATE_ORDERS, DocumentKind, FieldId, FieldSpec, FieldType, Required};
use crate::partner::PartnerId;

/// Longest accepted short text.
pub const MAX_TEXT: usize = 200;
/// Longest accepted free text.
pub const MAX_LONG_TEXT: usize = 8_000;
/// Most records accepted in one list field.
pub const MAX_RECORDS: usize = 100;
/// Longest a 3-partijen-huurovereenkomst may run (Afspraak 2d), in years.
pub const DRIE_PARTIJEN_MAX_JAREN: i32 = 2;

/// The rule a value broke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Rule {
    /// The form is not a JSON object.
    GeenObject,
    /// The field does not exist on this form.
    OnbekendVeld,
    /// A required field is missing.
    Verplicht,
    /// A field is required because another has a certain value.
    VerplichtOmdat {
        /// The other field.
        veld: String,
        /// Its value.
        waarde: String,
    },
    /// Wrong JSON type.
    VerkeerdType {
        /// What was expected, in Dutch.
        verwacht: String,
    },
    /// Not nine digits.
    BsnFormaat,
    /// Fails the elfproef.
    BsnElfproef,
    /// Not a gemeentecode known to the federation.
    OnbekendeGemeente {
        /// The code given.
        code: String,
    },
    /// Not a valid `YYYY-MM-DD` date.
    Datum,
    /// A date that describes the past lies in the future.
    DatumInToekomst,
    /// A date lies before the date it must follow.
    DatumVolgorde {
        /// The field it must follow (`registratie.start_verblijf_opvang`).
        na: String,
        /// Whether the same day is allowed.
        zelfde_dag_toegestaan: bool,
    },
    /// Not one of the allowed values.
    OnbekendeWaarde {
        /// The allowed values.
        toegestaan: Vec<String>,
    },
    /// Too long.
    TeLang {
        /// The maximum (characters or records).
        max: usize,
    },
    /// Not an e-mail address.
    Email,
    /// Not a telephone number.
    Telefoon,
    /// Outside the allowed range.
    Bereik {
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },
    /// A reference to a field that does not exist.
    OnbekendeVeldverwijzing,
    /// Not a partner id.
    Partner {
        /// What was wrong.
        reden: String,
    },
    /// A 3-partijen-huurovereenkomst of more than two years (Afspraak 2d).
    DriePartijenMaxTweeJaar,
    /// Offers out of order: at most two, a second only after a grounded refusal (Afspraak 1j, 1k).
    Aanbiedingen,
    /// The chosen uitstroomgemeente is not the herkomstgemeente, and no reason is given (Bijlage 1, 1d).
    RedenAndereGemeente,
    /// A step on the AVE ladder that does not go up from where the previous step left the melding (Bijlage 2).
    AveLadder {
        /// What was wrong, in Dutch.
        reden: String,
    },
    /// An escalation dated before the melding or before the step before it.
    EscalatieVolgorde,
    /// The melding's current AVE level is not where its last escalation left it.
    AveNiveauNaEscalatie {
        /// The level the last escalation reached.
        niveau: i64,
    },
    /// A melding presented to the Transferpunt by someone who is not one of the partner's vaste contactpersonen in
    /// the federation directory (Afspraak 3g; Bijlage 1, 7d). Checked by the node, which holds the directory.
    VasteContactpersoon {
        /// What was wrong, in Dutch.
        reden: String,
    },
    /// A huisuitzetting during a 3-partijen lease without a prior overleg, settled as a melding (Afspraak 2h).
    HuisuitzettingZonderOverleg,
}

impl Rule {
    /// A stable machine name for the rule (`bsn_elfproef`).
    pub fn code(&self) -> &'static str {
        match self {
            Rule::GeenObject => "geen_object",
            Rule::OnbekendVeld => "onbekend_veld",
            Rule::Verplicht => "verplicht",
            Rule::VerplichtOmdat { .. } => "verplicht_omdat",
            Rule::VerkeerdType { .. } => "verkeerd_type",
            Rule::BsnFormaat => "bsn_formaat",
            Rule::BsnElfproef => "bsn_elfproef",
            Rule::OnbekendeGemeente { .. } => "onbekende_gemeente",
            Rule::Datum => "datum",
            Rule::DatumInToekomst => "datum_in_toekomst",
            Rule::DatumVolgorde { .. } => "datum_volgorde",
            Rule::OnbekendeWaarde { .. } => "onbekende_waarde",
            Rule::TeLang { .. } => "te_lang",
            Rule::Email => "email",
            Rule::Telefoon => "telefoon",
            Rule::Bereik { .. } => "bereik",
            Rule::OnbekendeVeldverwijzing => "onbekende_veldverwijzing",
            Rule::Partner { .. } => "partner",
            Rule::DriePartijenMaxTweeJaar => "drie_partijen_max_twee_jaar",
            Rule::Aanbiedingen => "aanbiedingen",
            Rule::RedenAndereGemeente => "reden_andere_gemeente",
            Rule::AveLadder { .. } => "ave_ladder",
            Rule::EscalatieVolgorde => "escalatie_volgorde",
            Rule::AveNiveauNaEscalatie { .. } => "ave_niveau_na_escalatie",
            Rule::VasteContactpersoon { .. } => "vaste_contactpersoon",
            Rule::HuisuitzettingZonderOverleg => "huisuitzetting_zonder_overleg",
        }
    }

    /// The rule in words a begeleider understands.
    pub fn message(&self) -> String {
        match self {
            Rule::GeenObject => "het formulier moet een JSON-object met velden zijn".into(),
            Rule::OnbekendVeld => "dit veld bestaat niet op dit formulier".into(),
            Rule::Verplicht => "dit veld is verplicht".into(),
            Rule::VerplichtOmdat { veld, waarde } => {
                format!("dit veld is verplicht omdat {veld} '{waarde}' is")
            }
            Rule::VerkeerdType { verwacht } => format!("verwacht: {verwacht}"),
            Rule::BsnFormaat => BsnError::Format.to_string(),
            Rule::BsnElfproef => BsnError::Elfproef.to_string(),
            Rule::OnbekendeGemeente { code } => format!(
                "'{code}' is geen bekende gemeente; gebruik de CBS-gemeentecode, zoals GM0080 voor Leeuwarden"
            ),
            Rule::Datum => "geen geldige datum; schrijf de datum als JJJJ-MM-DD, zoals 2025-03-31".into(),
            Rule::DatumInToekomst => "deze datum ligt in de toekomst, maar beschrijft iets dat al gebeurd is".into(),
            Rule::DatumVolgorde {
                na,
                zelfde_dag_toegestaan,
            } => {
                if *zelfde_dag_toegestaan {
                    format!("deze datum ligt vóór {na}; dat kan niet")
                } else {
                    format!("deze datum moet na {na} liggen")
                }
            }
            Rule::OnbekendeWaarde { toegestaan } => {
                format!("onbekende waarde; kies één van: {}", toegestaan.join(", "))
            }
            Rule::TeLang { max } => format!("te lang; maximaal {max}"),
            Rule::Email => "geen geldig e-mailadres (zoals naam@organisatie.nl)".into(),
            Rule::Telefoon => "geen geldig telefoonnummer (10 tot 15 cijfers, zoals 058 123 4567)".into(),
            Rule::Bereik { min, max } => format!("moet een getal van {min} tot en met {max} zijn"),
            Rule::OnbekendeVeldverwijzing => {
                "verwijst naar een veld dat niet bestaat (schrijf formulier.veld, zoals registratie.bsn)".into()
            }
            Rule::Partner { reden } => format!("geen geldige partner: {reden}"),
            Rule::DriePartijenMaxTweeJaar => {
                "een 3-partijen-huurovereenkomst duurt maximaal 2 jaar (Afspraak 2d)".into()
            }
            Rule::Aanbiedingen => "maximaal twee woningaanbiedingen, en een tweede aanbod alleen nadat de cliënt \
                 het eerste met een gegronde reden heeft geweigerd (Afspraak 1j en 1k)"
                .into(),
            Rule::RedenAndereGemeente => "de gekozen uitstroomgemeente is niet de herkomstgemeente; \
                 leg de reden vast (instroom = uitstroom, Bijlage 1, 1d)"
                .into(),
            Rule::AveLadder { reden } => format!(
                "{reden}; een opschaling gaat op de AVE-ladder omhoog (1 tot en met 4) vanaf het niveau waar de \
                 vorige opschaling de melding liet (Bijlage 2)"
            ),
            Rule::EscalatieVolgorde => "deze opschaling ligt vóór de melding of vóór de opschaling ervoor; \
                 opschalingen staan in de volgorde waarin ze gebeurden"
                .into(),
            Rule::AveNiveauNaEscalatie { niveau } => format!(
                "het AVE-niveau moet {niveau} zijn: het niveau van de laatste opschaling (de geschiedenis wordt \
                 bewaard, niet overschreven)"
            ),
            Rule::VasteContactpersoon { reden } => format!(
                "{reden}; alleen een vaste contactpersoon van de partij (maximaal twee per organisatie, zoals de \
                 federatiegids ze noemt) mag een melding aan het Transferpunt voorleggen (Afspraak 3g; Bijlage 1, 7d)"
            ),
            Rule::HuisuitzettingZonderOverleg => "tijdens de 3-partijen-huurovereenkomst geen huisuitzetting zonder \
                 voorafgaand overleg met de betrokken partijen: leg eerst een melding 'dreigende huisuitzetting' \
                 vast en rond die af met de datum van het overleg (Afspraak 2h)"
                .into(),
        }
    }
}

/// One broken rule, on one field of one form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationError {
    /// The form.
    pub document: DocumentKind,
    /// The field, with a path into lists (`inschrijvingen_woningcorporaties[1].datum_inschrijving`); empty for
    /// the form as a whole.
    pub field: String,
    /// The rule.
    #[serde(flatten)]
    pub rule: Rule,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(
                f,
                "{}: {} (regel {})",
                self.document,
                self.rule.message(),
                self.rule.code()
            )
        } else {
            write!(
                f,
                "{}.{}: {} (regel {})",
                self.document,
                self.field,
                self.rule.message(),
                self.rule.code()
            )
        }
    }
}

/// Every error of a form, at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(transparent)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} fout(en) in het formulier:", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "- {e}")?;
        }
        Ok(())
    }
}

impl ValidationErrors {
    /// Whether a rule was broken on a field (`field` is the path as in [`ValidationError::field`]).
    pub fn has(&self, field: &str, code: &str) -> bool {
        self.0
            .iter()
            .any(|e| e.field == field && e.rule.code() == code)
    }
}

/// Checks forms against the model. `today` is given, not read from the clock, so checks are reproducible.
#[derive(Debug, Clone)]
pub struct Validator<'g> {
    gemeenten: &'g Gemeenten,
    today: Date,
}

impl<'g> Validator<'g> {
    /// A validator accepting these gemeenten, with "today" for dates that describe the past.
    pub fn new(gemeenten: &'g Gemeenten, today: Date) -> Self {
        Validator { gemeenten, today }
    }

    /// "Today", as this validator judges dates.
    pub fn today(&self) -> Date {
        self.today
    }

    /// Check a form as sent by a person or a system. Returns the typed form, or every error found.
    pub fn form(&self, kind: DocumentKind, json: &Json) -> Result<Form, ValidationErrors> {
        self.form_with(kind, json, true)
    }

    /// Check the fields of a form that another partner was allowed to send (a projection): every value must be
    /// valid, but required fields may be missing — the receiver may not be allowed to have them.
    pub fn partial_form(&self, kind: DocumentKind, json: &Json) -> Result<Form, ValidationErrors> {
        self.form_with(kind, json, false)
    }

    fn form_with(
        &self,
        kind: DocumentKind,
        json: &Json,
        required: bool,
    ) -> Result<Form, ValidationErrors> {
        let mut errors = Vec::new();
        let Some(obj) = json.as_object() else {
            return Err(ValidationErrors(vec![ValidationError {
                document: kind,
                field: String::new(),
                rule: Rule::GeenObject,
            }]));
        };
        let mut err = |field: String, rule: Rule| {
            errors.push(ValidationError {
                document: kind,
                field,
                rule,
            })
        };
        let values = self.record(kind.spec().fields, obj, "", required, &mut err);
        let form = Form::new(kind, values);
        for (earlier, later, equal_ok) in orders_within(kind) {
            if let (Some(a), Some(b)) = (form.date(earlier), form.date(later))
                && (b < a || (b == a && !equal_ok))
            {
                err(
                    later.to_string(),
                    Rule::DatumVolgorde {
                        na: format!("{kind}.{earlier}"),
                        zelfde_dag_toegestaan: equal_ok,
                    },
                );
            }
        }
        self.document_rules(&form, &mut err);
        if errors.is_empty() {
            Ok(form)
        } else {
            Err(ValidationErrors(errors))
        }
    }

    /// Check a valid form against the rest of its case: dates across forms, and the reason for a gemeente other
    /// than the herkomstgemeente.
    pub fn in_case(&self, form: &Form, case: &CaseDocuments) -> Result<(), ValidationErrors> {
        let kind = form.kind();
        let mut errors = Vec::new();
        for o in DATE_ORDERS.iter().filter(|o| o.earlier.0 != o.later.0) {
            let (mine, other, i_am_later) = if o.later.0 == kind {
                (o.later.1, o.earlier, true)
            } else if o.earlier.0 == kind {
                (o.earlier.1, o.later, false)
            } else {
                continue;
            };
            let Some(my_date) = form.date(mine) else {
                continue;
            };
            for other_form in case.all(other.0) {
                let Some(other_date) = other_form.date(other.1) else {
                    continue;
                };
                let (a, b) = if i_am_later {
                    (other_date, my_date)
                } else {
                    (my_date, other_date)
                };
                if b < a || (b == a && !o.may_be_equal) {
                    let rule = if i_am_later {
                        Rule::DatumVolgorde {
                            na: format!("{}.{}", other.0, other.1),
                            zelfde_dag_toegestaan: o.may_be_equal,
                        }
                    } else {
                        // Said from this field's side: it must come before the other.
                        Rule::DatumVolgorde {
                            na: format!("{}.{} (die nu eerder ligt)", other.0, other.1),
                            zelfde_dag_toegestaan: o.may_be_equal,
                        }
                    };
                    errors.push(ValidationError {
                        document: kind,
                        field: mine.to_string(),
                        rule,
                    });
                }
            }
        }
        if kind == DocumentKind::Beoordeling
            && let Some(gekozen) = form.text("gekozen_uitstroomgemeente")
            && let Some(herkomst) = case.herkomstgemeente()
            && gekozen != herkomst
            && form.get("reden_andere_gemeente").is_none()
        {
            errors.push(ValidationError {
                document: kind,
                field: "reden_andere_gemeente".into(),
                rule: Rule::RedenAndereGemeente,
            });
        }
        if kind == DocumentKind::Huurverloop && !eviction_has_overleg(form, case) {
            errors.push(ValidationError {
                document: kind,
                field: "soort".into(),
                rule: Rule::HuisuitzettingZonderOverleg,
            });
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(errors))
        }
    }

    fn record(
        &self,
        specs: &'static [FieldSpec],
        obj: &serde_json::Map<String, Json>,
        prefix: &str,
        required: bool,
        err: &mut dyn FnMut(String, Rule),
    ) -> Record {
        let mut values = BTreeMap::new();
        for key in obj.keys() {
            if !specs.iter().any(|s| s.name == key) {
                err(format!("{prefix}{key}"), Rule::OnbekendVeld);
            }
        }
        for spec in specs {
            let path = format!("{prefix}{}", spec.name);
            match obj.get(spec.name) {
                None | Some(Json::Null) => {}
                Some(v) => {
                    if let Some(value) = self.value(spec, v, &path, err) {
                        values.insert(spec.name, value);
                    }
                }
            }
        }
        for spec in specs {
            let path = format!("{prefix}{}", spec.name);
            let present = values.get(spec.name).is_some_and(|v| !v.is_empty());
            let value_failed =
                obj.get(spec.name).is_some_and(|v| !v.is_null()) && !values.contains_key(spec.name);
            if present || value_failed || !required {
                continue;
            }
            match spec.required {
                Required::Always => err(path, Rule::Verplicht),
                Required::AlwaysWhen(c) if cond_holds(&c, &values) => {
                    err(path, verplicht_omdat(&c, &values))
                }
                _ => {}
            }
        }
        values
    }

    fn value(
        &self,
        spec: &'static FieldSpec,
        v: &Json,
        path: &str,
        err: &mut dyn FnMut(String, Rule),
    ) -> Option<Value> {
        let wrong_type = |err: &mut dyn FnMut(String, Rule)| {
            err(
                path.to_string(),
                Rule::VerkeerdType {
                    verwacht: spec.ty.describe_nl(),
                },
            )
        };
        let mut fail = |rule: Rule| {
            err(path.to_string(), rule);
            None
        };
        match spec.ty {
            FieldType::Bool => match v {
                Json::Bool(b) => Some(Value::Bool(*b)),
                _ => {
                    wrong_type(err);
                    None
                }
            },
            FieldType::Integer { min, max } => match v.as_i64() {
                Some(i) if (min..=max).contains(&i) => Some(Value::Integer(i)),
                Some(_) => fail(Rule::Bereik { min, max }),
                None => {
                    wrong_type(err);
                    None
                }
            },
            FieldType::FieldList => {
                let Some(items) = v.as_array() else {
                    wrong_type(err);
                    return None;
                };
                let mut out = Vec::new();
                let mut ok = true;
                for (i, item) in items.iter().enumerate() {
                    match item.as_str().and_then(FieldId::parse) {
                        Some(f) => out.push(f),
                        None => {
                            err(format!("{path}[{i}]"), Rule::OnbekendeVeldverwijzing);
                            ok = false;
                        }
                    }
                }
                ok.then_some(Value::Fields(out))
            }
            FieldType::Records(sub) => {
                let Some(items) = v.as_array() else {
                    wrong_type(err);
                    return None;
                };
                if items.len() > MAX_RECORDS {
                    return fail(Rule::TeLang { max: MAX_RECORDS });
                }
                let mut out = Vec::new();
                let mut ok = true;
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{path}[{i}].");
                    let Some(obj) = item.as_object() else {
                        err(
                            format!("{path}[{i}]"),
                            Rule::VerkeerdType {
                                verwacht: "een object met velden".into(),
                            },
                        );
                        ok = false;
                        continue;
                    };
                    let mut failed = false;
                    let rec = self.record(sub, obj, &item_path, true, &mut |p, r| {
                        failed = true;
                        err(p, r)
                    });
                    ok &= !failed;
                    out.push(rec);
                }
                ok.then_some(Value::Records(out))
            }
            _ => {
                let Some(s) = v.as_str() else {
                    wrong_type(err);
                    return None;
                };
                self.text_value(spec.ty, s).map_err(fail).ok()
            }
        }
    }

    fn text_value(&self, ty: FieldType, s: &str) -> Result<Value, Rule> {
        let text = |max: usize| {
            if s.chars().count() > max {
                Err(Rule::TeLang { max })
            } else {
                Ok(Value::Text(s.trim().to_string()))
            }
        };
        match ty {
            FieldType::Text => text(MAX_TEXT),
            FieldType::LongText => text(MAX_LONG_TEXT),
            FieldType::Date { not_future } => {
                let d = parse_date(s.trim()).ok_or(Rule::Datum)?;
                if not_future && d > self.today {
                    return Err(Rule::DatumInToekomst);
                }
                Ok(Value::Date(d))
            }
            FieldType::Bsn => match Bsn::parse(s) {
                Ok(b) => Ok(Value::Text(b.as_digits())),
                Err(BsnError::Format) => Err(Rule::BsnFormaat),
                Err(BsnError::Elfproef) => Err(Rule::BsnElfproef),
            },
            FieldType::Gemeente => {
                let code = s.trim().to_ascii_uppercase();
                if self.gemeenten.contains(&code) {
                    Ok(Value::Text(code))
                } else {
                    Err(Rule::OnbekendeGemeente {
                        code: s.to_string(),
                    })
                }
            }
            FieldType::Email => {
                let s = s.trim();
                let ok = s.len() <= 254
                    && !s.contains(char::is_whitespace)
                    && s.split_once('@').is_some_and(|(local, domain)| {
                        !local.is_empty()
                            && domain.contains('.')
                            && !domain.starts_with('.')
                            && !domain.ends_with('.')
                            && !domain.contains('@')
                    });
                if ok {
                    Ok(Value::Text(s.to_string()))
                } else {
                    Err(Rule::Email)
                }
            }
            FieldType::Telefoon => {
                let allowed = s.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
                let digits = s.chars().filter(char::is_ascii_digit).count();
                if allowed && (10..=15).contains(&digits) {
                    Ok(Value::Text(s.trim().to_string()))
                } else {
                    Err(Rule::Telefoon)
                }
            }
            FieldType::Enum(values) => {
                if values.contains(&s) {
                    Ok(Value::Text(s.to_string()))
                } else {
                    Err(Rule::OnbekendeWaarde {
                        toegestaan: values.iter().map(|v| v.to_string()).collect(),
                    })
                }
            }
            FieldType::Partner => s
                .parse::<PartnerId>()
                .map(|p| Value::Text(p.to_string()))
                .map_err(|e| Rule::Partner {
                    reden: e.to_string(),
                }),
            FieldType::Bool
            | FieldType::Integer { .. }
            | FieldType::FieldList
            | FieldType::Records(_) => {
                unreachable!("handled by the caller")
            }
        }
    }

    /// Rules that need more than one field of the same form.
    fn document_rules(&self, form: &Form, err: &mut impl FnMut(String, Rule)) {
        if form.kind() == DocumentKind::Melding {
            escalaties(form, err);
        }
        if form.kind() == DocumentKind::Reactie {
            if form.text("soort_huurcontract") == Some("drie_partijen")
                && let (Some(start), Some(end)) = (
                    form.date("datum_ondertekening"),
                    form.date("einddatum_drie_partijen"),
                )
                && end > add_years(start, DRIE_PARTIJEN_MAX_JAREN)
            {
                err(
                    "einddatum_drie_partijen".into(),
                    Rule::DriePartijenMaxTweeJaar,
                );
            }
            if let Some(offers) = form.get("aanbiedingen").and_then(Value::as_records) {
                let refused = |r: &Record| {
                    r.get("reactie_client").and_then(Value::as_text) == Some("geweigerd")
                };
                let out_of_order = offers.len() > 2 || (offers.len() == 2 && !refused(&offers[0]));
                if out_of_order {
                    err("aanbiedingen".into(), Rule::Aanbiedingen);
                }
            }
        }
    }
}

/// The AVE ladder of a melding (Bijlage 2): each escalation starts where the one before it ended and goes up, the
/// steps are dated in order and not before the melding, and the melding's `ave_niveau` is where the last step left
/// it. Going up more than one step at once is allowed: a crisis (Bijlage 2, situatie 1) can land at AVE 3 or 4
/// at once. Going down (afschalen) is not an escalation and is not recorded here.
fn escalaties(form: &Form, err: &mut impl FnMut(String, Rule)) {
    let Some(steps) = form.get("escalaties").and_then(Value::as_records) else {
        return;
    };
    let level = |r: &Record, f: &str| r.get(f).and_then(Value::as_integer);
    let mut previous: Option<(i64, Option<Date>)> = None;
    for (i, step) in steps.iter().enumerate() {
        let (Some(van), Some(naar)) = (level(step, "van_niveau"), level(step, "naar_niveau"))
        else {
            continue;
        };
        let datum = step.get("datum").and_then(Value::as_date);
        if naar <= van {
            err(
                format!("escalaties[{i}].naar_niveau"),
                Rule::AveLadder {
                    reden: format!("van AVE {van} naar AVE {naar} is geen opschaling"),
                },
            );
        }
        if let Some((vorige, _)) = previous
            && van != vorige
        {
            err(
                format!("escalaties[{i}].van_niveau"),
                Rule::AveLadder {
                    reden: format!(
                        "deze opschaling begint op AVE {van}, maar de vorige eindigde op AVE {vorige}"
                    ),
                },
            );
        }
        let after = previous
            .and_then(|(_, d)| d)
            .or_else(|| form.date("datum_melding"));
        if let (Some(d), Some(a)) = (datum, after)
            && d < a
        {
            err(format!("escalaties[{i}].datum"), Rule::EscalatieVolgorde);
        }
        previous = Some((naar, datum.or(previous.and_then(|(_, d)| d))));
    }
    if let (Some((last, _)), Some(now)) =
        (previous, form.get("ave_niveau").and_then(Value::as_integer))
        && now != last
    {
        err(
            "ave_niveau".into(),
            Rule::AveNiveauNaEscalatie { niveau: last },
        );
    }
}

/// Afspraak 2h: "Woningcorporaties gaan gedurende de looptijd van de 3 partijen-huurovereenkomst niet tot
/// huisuitzetting over zonder voorafgaand overleg met bij de uitstromer betrokken Partijen." True unless `form` is a
/// huisuitzetting while the case runs a 3-partijen lease (a reactie with `soort_huurcontract = drie_partijen`, not
/// turned over by an omklap on or before the eviction's date) and no melding `dreigende_huisuitzetting` in the case
/// was settled (`afgehandeld`) on or before that date. The overleg is the melding: it has a date, a status and its
/// own deadline (the monitor's alert), and it travels as meldingen do.
pub fn eviction_has_overleg(form: &Form, case: &CaseDocuments) -> bool {
    if form.kind() != DocumentKind::Huurverloop || form.text("soort") != Some("huisuitzetting") {
        return true;
    }
    let Some(datum) = form.date("datum") else {
        return true;
    };
    let drie_partijen = case
        .all(DocumentKind::Reactie)
        .iter()
        .any(|r| r.text("soort_huurcontract") == Some("drie_partijen"));
    let omgeklapt = case.all(DocumentKind::Huurverloop).iter().any(|e| {
        e.text("uitkomst_evaluatie") == Some("omklap")
            && e.date("datum_omklap").is_some_and(|d| d <= datum)
    });
    if !drie_partijen || omgeklapt {
        return true;
    }
    case.all(DocumentKind::Melding).iter().any(|m| {
        m.text("soort") == Some("dreigende_huisuitzetting")
            && m.text("status") == Some("afgehandeld")
            && m.date("datum_afgehandeld").is_some_and(|d| d <= datum)
    })
}

/// The same day `years` later (28 February for 29 February in a non-leap year).
pub fn add_years(d: Date, years: i32) -> Date {
    let y = d.year() + years;
    Date::from_calendar_date(y, d.month(), d.day())
        .or_else(|_| Date::from_calendar_date(y, d.month(), d.day() - 1))
        .expect("day 28 exists in every month")
}

fn orders_within(kind: DocumentKind) -> impl Iterator<Item = (&'static str, &'static str, bool)> {
    DATE_ORDERS
        .iter()
        .filter(move |o| o.earlier.0 == kind && o.later.0 == kind)
        .map(|o| (o.earlier.1, o.later.1, o.may_be_equal))
}

pub(crate) fn cond_holds(c: &Cond, values: &Record) -> bool {
    values
        .get(c.field)
        .and_then(Value::condition_key)
        .is_some_and(|v| c.any_of.contains(&v.as_str()))
}

fn verplicht_omdat(c: &Cond, values: &Record) -> Rule {
    Rule::VerplichtOmdat {
        veld: c.field.to_string(),
        waarde: values
            .get(c.field)
            .and_then(Value::condition_key)
            .unwrap_or_default(),
    }
}
