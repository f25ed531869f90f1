//! Every form of a case as a page, drawn from the one schema table (`policies::model::schema`): a field's label,
//! type and choices come from there, so a new field in the model is a new field on the page.
//!
//! Checking is the node's: [`Node::check_form`] (the `Validator`) and `completeness` run on the server for the
//! live check ([`check`]) and again when the form is saved ([`save`], through [`Node::write_form`], which also
//! applies the policy's write rules). The page only shows their answers.
//!
//! Fields this partner may not write are shown read-only and sent back unchanged on save, so saving a form never
//! touches another partner's fields (the Transferpunt's `ontbrekende_gegevens` on the begeleider's request).

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Json as JsonResponse, Redirect, Response};
use maud::{Markup, html};
use policies::completeness::{self, Missing};
use policies::model::{FieldSpec, FieldType};
use policies::{DocumentKind, FieldSet, ValidationErrors};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;

use super::{PageError, Signed, form_urlencoded_pairs, layout};
use crate::access::Permission;
use crate::api::ApiState;
use crate::service::{Node, ServiceError};
use crate::store::CaseId;

/// `?instantie=` for kinds a case holds several of.
#[derive(Debug, Deserialize)]
pub(super) struct Instance {
    instantie: Option<String>,
}

/// The answer of the live check.
#[derive(Debug, Serialize)]
pub(super) struct CheckAnswer {
    /// Per field path, its Dutch message; `""` for the form as a whole.
    fouten: BTreeMap<String, String>,
    /// The labels still needed before submission.
    nog_nodig: Vec<String>,
    /// One sentence for the screen reader and the eye.
    samenvatting: String,
    /// Whether the form could be submitted as it stands.
    indienbaar: bool,
}

pub(super) fn case_id(s: &str) -> Result<CaseId, PageError> {
    s.parse()
        .map_err(|_| PageError::NotFound(format!("casus {s}")))
}

pub(super) fn document_kind(s: &str) -> Result<DocumentKind, PageError> {
    DocumentKind::from_name(s).ok_or_else(|| PageError::NotFound(format!("formulier {s}")))
}

/// The form's stored values, or an empty object when the case has none yet.
async fn stored(
    node: &Node,
    signed: &Signed,
    id: &CaseId,
    kind: DocumentKind,
    instance: Option<&str>,
) -> Result<Json, PageError> {
    match node
        .read_form(&signed.session.user, id, kind, instance)
        .await
    {
        Ok(view) => Ok(view.velden),
        Err(ServiceError::NotFound(_)) => Ok(Json::Object(Map::new())),
        Err(e) => Err(e.into()),
    }
}

/// `GET /werkplek/casussen/{id}/formulier/{document}`.
pub(super) async fn page(
    State(state): State<ApiState>,
    signed: Signed,
    Path((id, document)): Path<(String, String)>,
    Query(instance): Query<Instance>,
) -> Result<Response, PageError> {
    signed.need(Permission::Cases)?;
    let (id, kind) = (case_id(&id)?, document_kind(&document)?);
    let node = &state.node;
    let writable = editable(node.writable_fields(&id, kind).await?);
    let mut values = stored(node, &signed, &id, kind, instance.instantie.as_deref()).await?;
    if kind == DocumentKind::Registratie
        && values.get("betrokken_zorgaanbieder").is_none()
        && let Some(obj) = values.as_object_mut()
    {
        // The begeleider registers her own organisation's client.
        obj.insert(
            "betrokken_zorgaanbieder".into(),
            Json::String(node.partner().to_string()),
        );
    }
    if kind == DocumentKind::Beoordeling
        && values.get("gekozen_uitstroomgemeente").is_none()
        && let Some(herkomst) = herkomstgemeente(node, &signed, &id).await
        && let Some(obj) = values.as_object_mut()
    {
        // The herkomstgemeente first (Bijlage 1, 1d); another needs a reason, which the validator asks for.
        obj.insert("gekozen_uitstroomgemeente".into(), Json::String(herkomst));
    }
    let mut answer = answer_for(node, kind, &values);
    // A form just opened shows what is still needed, not a list of errors for fields nobody has typed in yet;
    // the live check shows a field's message once it is touched, and saving shows them all.
    answer.fouten.clear();
    Ok(layout::page(
        kind.spec().label,
        Some(&signed.session),
        render(
            node,
            &signed,
            &id,
            kind,
            instance.instantie.as_deref(),
            &values,
            writable,
            &answer,
            None,
        ),
    )
    .into_response())
}

/// The client's herkomstgemeente as this node holds it (aanmelding, else registratie).
async fn herkomstgemeente(node: &Node, signed: &Signed, id: &CaseId) -> Option<String> {
    for kind in [DocumentKind::Aanmelding, DocumentKind::Registratie] {
        if let Ok(v) = stored(node, signed, id, kind, None).await
            && let Some(code) = v.get("herkomstgemeente").and_then(Json::as_str)
        {
            return Some(code.to_string());
        }
    }
    None
}

/// `POST /werkplek/casussen/{id}/formulier/{document}`: save (the node validates, checks the policy, audits).
pub(super) async fn save(
    State(state): State<ApiState>,
    signed: Signed,
    Path((id, document)): Path<(String, String)>,
    Query(instance): Query<Instance>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    signed.need(Permission::Cases)?;
    let (id, kind) = (case_id(&id)?, document_kind(&document)?);
    let node = &state.node;
    let writable = editable(node.writable_fields(&id, kind).await?);
    let old = stored(node, &signed, &id, kind, instance.instantie.as_deref()).await?;
    let values = merge(kind, &old, &form_urlencoded_pairs(&body), writable);
    match node
        .write_form(
            &signed.session.user,
            &id,
            kind,
            instance.instantie.as_deref(),
            &values,
        )
        .await
    {
        Ok(_) => {
            let back = format!("/werkplek/casussen/{id}?opgeslagen={}", kind.name());
            Ok(Redirect::to(&back).into_response())
        }
        Err(ServiceError::Invalid(errors)) => {
            let mut answer = answer_for(node, kind, &values);
            answer.fouten = messages(&errors);
            answer.samenvatting = summary(&answer);
            let banner = format!(
                "Niet opgeslagen: {} fout(en). De meldingen staan bij de velden.",
                errors.0.len()
            );
            Ok((
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                layout::page(
                    kind.spec().label,
                    Some(&signed.session),
                    render(
                        node,
                        &signed,
                        &id,
                        kind,
                        instance.instantie.as_deref(),
                        &values,
                        writable,
                        &answer,
                        Some(&banner),
                    ),
                ),
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /werkplek/casussen/{id}/formulier/{document}/controle`: the live check, as JSON. Stores nothing.
pub(super) async fn check(
    State(state): State<ApiState>,
    signed: Signed,
    Path((id, document)): Path<(String, String)>,
    Query(instance): Query<Instance>,
    _headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<JsonResponse<CheckAnswer>, PageError> {
    signed.need(Permission::Cases)?;
    let (id, kind) = (case_id(&id)?, document_kind(&document)?);
    let node = &state.node;
    let writable = editable(node.writable_fields(&id, kind).await?);
    let old = stored(node, &signed, &id, kind, instance.instantie.as_deref()).await?;
    let values = merge(kind, &old, &form_urlencoded_pairs(&body), writable);
    Ok(JsonResponse(answer_for(node, kind, &values)))
}

/// What the checks say about `values`: errors per field and what is still needed before submission.
fn answer_for(node: &Node, kind: DocumentKind, values: &Json) -> CheckAnswer {
    let (fouten, nog_nodig) = match node.check_form(kind, values) {
        Ok(form) => (BTreeMap::new(), completeness::missing(&form)),
        Err(errors) => {
            // What is missing is judged on the fields that are valid, so a typo in one field does not hide
            // what else is still needed.
            let mut valid = values.clone();
            if let Some(obj) = valid.as_object_mut() {
                for e in &errors.0 {
                    let top = e.field.split(['[', '.']).next().unwrap_or_default();
                    obj.remove(top);
                }
            }
            let missing = match node.check_form(kind, &valid) {
                Ok(form) => completeness::missing(&form),
                Err(_) => completeness::missing_without_form(kind),
            };
            (messages(&errors), missing)
        }
    };
    let mut answer = CheckAnswer {
        indienbaar: fouten.is_empty() && nog_nodig.is_empty(),
        fouten,
        nog_nodig: labels(&nog_nodig),
        samenvatting: String::new(),
    };
    answer.samenvatting = summary(&answer);
    answer
}

fn labels(missing: &[Missing]) -> Vec<String> {
    missing
        .iter()
        .map(|m| match &m.because {
            Some(why) => format!("{} ({why})", m.label),
            None => m.label.to_string(),
        })
        .collect()
}

fn summary(answer: &CheckAnswer) -> String {
    match (answer.fouten.len(), answer.nog_nodig.len()) {
        (0, 0) => "Alles is ingevuld: het formulier kan worden ingediend.".into(),
        (0, n) => format!("Nog {n} gegeven(s) nodig voor indienen."),
        (f, n) => format!("{f} fout(en) te verbeteren; nog {n} gegeven(s) nodig voor indienen."),
    }
}

/// Each error's Dutch message, keyed by the field's path (the same as its input's name).
fn messages(errors: &ValidationErrors) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for e in &errors.0 {
        let text = e.rule.message();
        out.entry(e.field.clone())
            .and_modify(|m| {
                m.push_str("; ");
                m.push_str(&text);
            })
            .or_insert(text);
    }
    out
}

/// The form as JSON: the posted values of the fields this partner may write, the stored values of the others.
fn merge(kind: DocumentKind, old: &Json, posted: &[(String, String)], writable: FieldSet) -> Json {
    let mut out = Map::new();
    for spec in kind.spec().fields {
        let may_write = kind.field(spec.name).is_some_and(|f| writable.contains(f));
        let value = if may_write {
            posted_value(spec, spec.name, posted)
        } else {
            old.get(spec.name).cloned()
        };
        if let Some(v) = value {
            out.insert(spec.name.to_string(), v);
        }
    }
    Json::Object(out)
}

/// One field's value from the posted pairs; `None` when left empty.
fn posted_value(spec: &FieldSpec, name: &str, posted: &[(String, String)]) -> Option<Json> {
    let one = || {
        posted
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    match spec.ty {
        FieldType::Bool => one().map(|v| match v {
            "true" => Json::Bool(true),
            "false" => Json::Bool(false),
            other => Json::String(other.to_string()),
        }),
        // A number that does not parse is passed on as text: the validator then names the field and the rule.
        FieldType::Integer { .. } => one().map(|v| {
            v.parse::<i64>()
                .map(Json::from)
                .unwrap_or_else(|_| Json::String(v.to_string()))
        }),
        FieldType::FieldList => {
            let ticked: Vec<Json> = posted
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| Json::String(v.clone()))
                .collect();
            (!ticked.is_empty()).then_some(Json::Array(ticked))
        }
        FieldType::Records(fields) => {
            let rows: Vec<Json> = (0..MAX_ROWS)
                .filter_map(|i| {
                    let row: Map<String, Json> = fields
                        .iter()
                        .filter_map(|f| {
                            posted_value(f, &format!("{name}[{i}].{}", f.name), posted)
                                .map(|v| (f.name.to_string(), v))
                        })
                        .collect();
                    (!row.is_empty()).then_some(Json::Object(row))
                })
                .collect();
            (!rows.is_empty()).then_some(Json::Array(rows))
        }
        _ => one().map(|v| Json::String(v.to_string())),
    }
}

/// Fields set by a step of the bemiddeling ([`super::actions`]), not typed: the submission date and count are
/// written by Indienen, which checks that the request is complete first.
///
/// Likewise what Terugsturen and Corporatie toewijzen write into the beoordeling: typed by hand, a corporatie
/// would be "assigned" without the aanmeldbericht that the atomic step sends with it, and the count and the ticked
/// items would no longer match the request's.
const SET_BY_A_STEP: &[(DocumentKind, &str)] = &[
    (DocumentKind::Bemiddelingsverzoek, "datum_ingediend"),
    (DocumentKind::Bemiddelingsverzoek, "aantal_keer_ingediend"),
    (DocumentKind::Beoordeling, "datum_teruggestuurd"),
    (DocumentKind::Beoordeling, "ontbrekende_gegevens"),
    (DocumentKind::Beoordeling, "aantal_keer_teruggestuurd"),
    (DocumentKind::Beoordeling, "toegewezen_corporatie"),
    (DocumentKind::Beoordeling, "corporatie_historie"),
];

/// What the page lets the user type: what the policy lets this partner write, less what a step sets.
fn editable(mut writable: FieldSet) -> FieldSet {
    for (kind, name) in SET_BY_A_STEP {
        if let Some(f) = kind.field(name) {
            writable.remove(f);
        }
    }
    writable
}

/// The most rows a list field shows (a form has a handful at most: offers, registrations).
const MAX_ROWS: usize = 20;

#[allow(clippy::too_many_arguments)]
fn render(
    node: &Node,
    signed: &Signed,
    id: &CaseId,
    kind: DocumentKind,
    instance: Option<&str>,
    values: &Json,
    writable: FieldSet,
    answer: &CheckAnswer,
    banner: Option<&str>,
) -> Markup {
    let spec = kind.spec();
    let query = instance
        .map(|i| format!("?instantie={i}"))
        .unwrap_or_default();
    let action = format!("/werkplek/casussen/{id}/formulier/{}{query}", kind.name());
    let check = format!(
        "/werkplek/casussen/{id}/formulier/{}/controle{query}",
        kind.name()
    );
    let any_writable = !writable.is_empty();
    html! {
        p { a href={"/werkplek/casussen/" (id)} { "← Terug naar de casus" } }
        h1 { (capitalised(spec.label)) }
        p.hint { "Bron: " (spec.source) }
        @if let Some(banner) = banner {
            div.melding.fout role="alert" { (banner) }
        }
        @if answer.fouten.get("").is_some_and(|m| !m.is_empty()) {
            p.veldfout #fouten-formulier role="alert" { (answer.fouten.get("").cloned().unwrap_or_default()) }
        } @else {
            p.veldfout #fouten-formulier {}
        }
        @if any_writable {
            div.nog-nodig aria-labelledby="nog-nodig-kop" {
                h2 #nog-nodig-kop { "Nog nodig voor indienen" }
                p #nog-nodig-aantal role="status" aria-live="polite" { (answer.samenvatting) }
                ul #nog-nodig-lijst {
                    @for label in &answer.nog_nodig { li { (label) } }
                }
            }
        }
        form method="post" action=(action) data-controle=(check) data-csrf=(signed.session.csrf) novalidate {
            input type="hidden" name="_csrf" value=(signed.session.csrf);
            @for field in spec.fields {
                @let may_write = kind.field(field.name).is_some_and(|f| writable.contains(f));
                (render_field(node, field, field.name, values.get(field.name), may_write, &answer.fouten))
            }
            @if any_writable {
                div.acties {
                    button.primair type="submit" { "Opslaan" }
                }
            } @else {
                p { "Dit formulier is van een andere partner: u ziet wat uw organisatie ervan mag ontvangen." }
            }
        }
    }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// An enum value in words: the covenant's own term, spaces for underscores.
pub(super) fn words(value: &str) -> String {
    value.replace('_', " ")
}

fn render_field(
    node: &Node,
    spec: &FieldSpec,
    name: &str,
    value: Option<&Json>,
    may_write: bool,
    errors: &BTreeMap<String, String>,
) -> Markup {
    let id = format!("veld-{name}");
    let error_id = format!("fout-{name}");
    let error = errors.get(name).cloned().unwrap_or_default();
    let invalid = (!error.is_empty()).then_some("true");
    let text = value.map(|v| match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    });
    let hint = match spec.ty {
        FieldType::Bsn => Some("9 cijfers; wordt gecontroleerd met de elfproef"),
        FieldType::Date { not_future: true } => Some("een datum die al geweest is"),
        _ => None,
    };
    let described = match hint {
        Some(_) => format!("hint-{name} {error_id}"),
        None => error_id.clone(),
    };
    if !may_write {
        // A list (offers, contactpersonen) row by row, each field with its label: "1 regel(s)" told the begeleider
        // an offer was made, not which woning.
        if let (FieldType::Records(fields), Some(Json::Array(rows))) = (spec.ty, value)
            && !rows.is_empty()
        {
            return html! {
                div.veld {
                    span.label-alleen-lezen { strong { (spec.label) } }
                    ol #(id) {
                        @for row in rows {
                            li {
                                @for (i, f) in fields.iter().filter(|f| row.get(f.name).is_some()).enumerate() {
                                    @if i > 0 { "; " }
                                    (f.label) ": " (display(f, row.get(f.name)))
                                }
                            }
                        }
                    }
                }
            };
        }
        if let (FieldType::FieldList, Some(Json::Array(items))) = (spec.ty, value)
            && !items.is_empty()
        {
            let labels: BTreeMap<String, String> = requestable_fields().into_iter().collect();
            return html! {
                div.veld {
                    span.label-alleen-lezen { strong { (spec.label) } }
                    ul #(id) {
                        @for item in items.iter().filter_map(Json::as_str) {
                            li { (labels.get(item).cloned().unwrap_or_else(|| words(item))) }
                        }
                    }
                }
            };
        }
        return html! {
            div.veld {
                span.label-alleen-lezen { strong { (spec.label) } }
                p #(id) { (display(spec, value)) }
            }
        };
    }
    match spec.ty {
        FieldType::Records(fields) => {
            let rows = value.and_then(Json::as_array).cloned().unwrap_or_default();
            html! {
                fieldset.veld {
                    legend { (spec.label) }
                    @for i in 0..(rows.len() + 1).min(MAX_ROWS) {
                        fieldset {
                            legend { (spec.label) " — regel " (i + 1) }
                            @for f in fields {
                                @let path = format!("{name}[{i}].{}", f.name);
                                (render_field(node, f, &path, rows.get(i).and_then(|r| r.get(f.name)), true, errors))
                            }
                        }
                    }
                    p.veldfout #(error_id) aria-live="polite" { (error) }
                }
            }
        }
        FieldType::Bool => html! {
            fieldset.veld aria-describedby=(error_id) {
                legend { (spec.label) }
                @for (v, label) in [("true", "ja"), ("false", "nee")] {
                    label {
                        input type="radio" name=(name) value=(v) data-veld=(name)
                            checked[text.as_deref() == Some(v)] aria-invalid=[invalid];
                        " " (label)
                    }
                    " "
                }
                p.veldfout #(error_id) aria-live="polite" { (error) }
            }
        },
        FieldType::FieldList => html! {
            fieldset.veld aria-describedby=(error_id) {
                legend { (spec.label) }
                @let ticked: Vec<String> = value.and_then(Json::as_array).map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default();
                @for (field, label) in requestable_fields() {
                    div {
                        label {
                            input type="checkbox" name=(name) value=(field) data-veld=(name) checked[ticked.contains(&field)];
                            " " (label)
                        }
                    }
                }
                p.veldfout #(error_id) aria-live="polite" { (error) }
            }
        },
        _ => html! {
            div.veld {
                label for=(id) { (spec.label) }
                @if let Some(hint) = hint { span.hint #{"hint-" (name)} { (hint) } }
                (control(node, spec, name, &id, text.as_deref(), &described, invalid))
                p.veldfout #(error_id) aria-live="polite" { (error) }
            }
        },
    }
}

fn control(
    node: &Node,
    spec: &FieldSpec,
    name: &str,
    id: &str,
    value: Option<&str>,
    described: &str,
    invalid: Option<&str>,
) -> Markup {
    let value = value.unwrap_or_default();
    match spec.ty {
        FieldType::LongText => html! {
            textarea #(id) name=(name) data-veld=(name) aria-describedby=(described) aria-invalid=[invalid] { (value) }
        },
        FieldType::Enum(options) => html! {
            select #(id) name=(name) data-veld=(name) aria-describedby=(described) aria-invalid=[invalid] {
                option value="" { "— kies —" }
                @for o in options {
                    option value=(o) selected[*o == value] { (words(o)) }
                }
            }
        },
        FieldType::Gemeente => {
            let mut gemeenten: Vec<(&str, &str)> = node.gemeenten().iter().collect();
            gemeenten.sort_by(|a, b| a.1.cmp(b.1));
            html! {
                select #(id) name=(name) data-veld=(name) aria-describedby=(described) aria-invalid=[invalid] {
                    option value="" { "— kies een gemeente —" }
                    @for (code, naam) in gemeenten {
                        option value=(code) selected[code == value] { (naam) " (" (code) ")" }
                    }
                }
            }
        }
        _ => {
            let (ty, mode) = match spec.ty {
                FieldType::Date { .. } => ("date", None),
                FieldType::Integer { .. } => ("number", None),
                FieldType::Email => ("email", None),
                FieldType::Telefoon => ("tel", None),
                FieldType::Bsn => ("text", Some("numeric")),
                _ => ("text", None),
            };
            html! {
                input #(id) type=(ty) name=(name) value=(value) inputmode=[mode] data-veld=(name)
                    aria-describedby=(described) aria-invalid=[invalid];
            }
        }
    }
}

/// What the Transferpunt can ask to be completed: every field a request needs before submission.
pub(super) fn requestable_fields() -> Vec<(String, String)> {
    [
        DocumentKind::Registratie,
        DocumentKind::Aanmelding,
        DocumentKind::VervolgWonen,
        DocumentKind::Bemiddelingsverzoek,
    ]
    .into_iter()
    .flat_map(|kind| {
        kind.spec().fields.iter().filter_map(move |f| {
            use policies::model::Required;
            matches!(
                f.required,
                Required::ForSubmission | Required::ForSubmissionWhen(_)
            )
            .then(|| {
                (
                    format!("{}.{}", kind.name(), f.name),
                    format!("{} ({})", f.label, kind.name()),
                )
            })
        })
    })
    .collect()
}

/// A stored value, readable.
pub(super) fn display(spec: &FieldSpec, value: Option<&Json>) -> String {
    match (spec.ty, value) {
        (_, None) => "—".into(),
        (FieldType::Bool, Some(Json::Bool(b))) => if *b { "ja" } else { "nee" }.into(),
        (FieldType::Enum(_), Some(Json::String(s))) => words(s),
        (FieldType::Records(_) | FieldType::FieldList, Some(Json::Array(a))) => {
            format!("{} regel(s)", a.len())
        }
        (_, Some(Json::String(s))) => s.clone(),
        (_, Some(other)) => other.to_string(),
    }
}
