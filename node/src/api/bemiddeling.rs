//! The bemiddeling's steps as API operations: indienen, terugsturen, toewijzing, and this partner's signalen.
//! Each is one `Node` operation (`node::indienen`, `node::bemiddeling`, `node::signalen`); the handlers only
//! parse, call and answer. Errors are problem+json like every other handler's: 400 for a malformed request, 403
//! for a step this partner does not take, 404 for an unknown case, 409 for a case not ready for the step (what is
//! missing listed in `invalidParams`) or already past it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{ApiState, CaseWorker, InvalidParam, Problem, case_id};
use crate::service::ServiceError;

/// The problem for the errors of the bemiddeling's steps (the other variants map in `api`).
pub(super) fn problem(e: ServiceError) -> Problem {
    match e {
        ServiceError::Incomplete(missing) => Problem::new(
            StatusCode::CONFLICT,
            "Het bemiddelingsverzoek is nog niet volledig",
        )
        .detail(format!(
            "Er ontbreekt nog {} gegeven(s); er is niets ingediend. Vul ze aan, of licht bij een voorwaarde waaraan \
             niet voldaan kan worden in toelichting_voorwaarden toe waarom niet.",
            missing.len()
        ))
        .invalid_params(missing.into_iter().map(|m| InvalidParam {
            name: format!("{}.{}", m.document, m.field),
            code: "ontbreekt_voor_indienen".into(),
            reason: match m.because {
                Some(why) => format!("{}: {why}", m.label),
                None => m.label.to_string(),
            },
        })),
        ServiceError::Conflict(detail) => {
            Problem::new(StatusCode::CONFLICT, "Deze stap kan nu niet").detail(detail)
        }
        ServiceError::NotAllowed(detail) => {
            Problem::new(StatusCode::FORBIDDEN, "Deze stap is niet voor deze partner").detail(detail)
        }
        other => Problem::from(other),
    }
}

/// `POST /api/v1/casussen/{id}/indienen`: submit the case's bemiddelingsverzoek.
pub(super) async fn indienen(
    State(state): State<ApiState>,
    CaseWorker(user): CaseWorker,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    let view = state.node.submit_request(&user, &id).await?;
    Ok(Json(view).into_response())
}

/// The body of a send-back.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Terugsturen {
    /// The ticked items, `document.veld`.
    ontbrekende_gegevens: Vec<String>,
    /// The consultant's explanation (may be empty).
    #[serde(default)]
    toelichting: String,
}

/// `POST /api/v1/casussen/{id}/terugsturen`: send a submitted request back with the ticked items.
pub(super) async fn terugsturen(
    State(state): State<ApiState>,
    CaseWorker(user): CaseWorker,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    let body =
        body.map_err(|e| Problem::new(e.status(), "Ongeldig verzoek").detail(e.body_text()))?;
    let request: Terugsturen = serde_json::from_slice(&body).map_err(|e| {
        Problem::new(StatusCode::BAD_REQUEST, "Ongeldig verzoek").detail(format!(
            "De body is geen geldige terugsturing: {e}; verwacht {{\"ontbrekende_gegevens\": [\"document.veld\"], \
             \"toelichting\": \"…\"}}. Er is niets opgeslagen."
        ))
    })?;
    let done = state
        .node
        .send_back(
            &user,
            &id,
            &request.ontbrekende_gegevens,
            &request.toelichting,
        )
        .await?;
    Ok(Json(done).into_response())
}

/// `POST /api/v1/casussen/{id}/toewijzing`: assign the next corporatie (om en om) and send it the aanmeldbericht.
pub(super) async fn toewijzing(
    State(state): State<ApiState>,
    CaseWorker(user): CaseWorker,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    let chosen = crate::bemiddeling::assign_corporatie(&state.node, &user, &id).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"casus": id.to_string(), "corporatie": chosen.to_string()})),
    )
        .into_response())
}

/// `GET /api/v1/signalen`: the open deadline alerts addressed to this partner.
pub(super) async fn signalen(
    State(state): State<ApiState>,
    CaseWorker(_user): CaseWorker,
) -> Result<Response, Problem> {
    Ok(Json(state.node.signalen().await?).into_response())
}

/// The error answers of an operation, from its (status, description) pairs (as `openapi::spec` builds them).
pub(super) type Errors<'a> = &'a dyn Fn(&[(&str, &str)]) -> Value;

/// The OpenAPI paths of these operations and the schemas they name.
pub(super) fn openapi(
    case_param: &Value,
    errors: Errors<'_>,
) -> (Map<String, Value>, Map<String, Value>) {
    let ok = |code: &str, description: &str, schema: Value| {
        let mut m = Map::new();
        m.insert(
            code.into(),
            json!({"description": description, "content": {"application/json": {"schema": schema}}}),
        );
        m
    };
    let with_errors = |mut ok: Map<String, Value>, errs: Value| {
        ok.extend(errs.as_object().cloned().unwrap_or_default());
        Value::Object(ok)
    };
    let form_view = json!({"type": "object", "properties": {
        "document": {"type": "string"}, "instantie": {"type": "string", "nullable": true}, "velden": {"type": "object"},
        "ontbrekend": {"type": "array", "items": {"$ref": "#/components/schemas/Missing"}}}});
    let mut schemas = Map::new();
    schemas.insert(
        "Signaal".into(),
        json!({"type": "object", "properties": {
            "casus": {"type": "string"},
            // Every alert kind of the monitor's rules, so a new rule cannot be missing here.
            "soort": {"type": "string", "enum": crate::monitor::alerts::AlertKind::ALL.map(|k| k.name())},
            "tekst": {"type": "string"}, "termijn": {"type": "string", "format": "date"},
            "verlopen": {"type": "boolean"}}}),
    );
    let mut paths = Map::new();
    paths.insert(
        "/casussen/{id}/indienen".into(),
        json!({"post": {
            "summary": "Het bemiddelingsverzoek indienen bij het Transferpunt (de zorgaanbieder). Kan alleen als niets meer ontbreekt, of met een toelichting bij elke voorwaarde waaraan niet voldaan kan worden; zet datum_ingediend.",
            "parameters": [case_param],
            "responses": with_errors(ok("200", "het ingediende verzoek", form_view.clone()), errors(&[
                ("403", "deze partner dient geen bemiddelingsverzoek in"),
                ("404", "casus niet gevonden"),
                ("409", "nog niet volledig (wat ontbreekt staat in invalidParams), of al ingediend en niet teruggestuurd"),
                ("422", "het formulier voldoet niet aan de regels")]))}}),
    );
    paths.insert(
        "/casussen/{id}/terugsturen".into(),
        json!({"post": {
            "summary": "Een ingediend bemiddelingsverzoek terugsturen als onvolledig (het Transferpunt), met de aangevinkte ontbrekende gegevens en een toelichting; de begeleider ziet ze op haar node.",
            "parameters": [case_param],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
                "additionalProperties": false, "required": ["ontbrekende_gegevens"], "properties": {
                    "ontbrekende_gegevens": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^[a-z_]+\\.[a-z0-9_]+$"}},
                    "toelichting": {"type": "string"}}}}}},
            "responses": with_errors(ok("200", "het verzoek en de beoordeling zoals geschreven", json!({"type": "object", "properties": {
                "bemiddelingsverzoek": form_view, "beoordeling": form_view}})), errors(&[
                ("400", "geen geldige body, geen item aangevinkt of een onbekend veld"),
                ("403", "alleen het Transferpunt stuurt terug"),
                ("404", "casus niet gevonden"),
                ("409", "geen ingediend verzoek, of al teruggestuurd en nog niet opnieuw ingediend")]))}}),
    );
    paths.insert(
        "/casussen/{id}/toewijzing".into(),
        json!({"post": {
            "summary": "De volgende woningcorporatie in de gekozen uitstroomgemeente toewijzen (om en om) en haar het aanmeldbericht sturen (het Transferpunt); in één stap.",
            "parameters": [case_param],
            "responses": with_errors(ok("201", "toegewezen", json!({"type": "object", "properties": {
                "casus": {"type": "string"}, "corporatie": {"type": "string"}}})), errors(&[
                ("403", "alleen het Transferpunt wijst toe"),
                ("404", "casus niet gevonden"),
                ("409", "niet klaar voor toewijzing (niet ingediend, geen uitstroomgemeente of akkoord), al toegewezen en niet geweigerd, of geen corporatie meer over")]))}}),
    );
    paths.insert(
        "/signalen".into(),
        json!({"get": {
            "summary": "Open termijnen voor deze partner (in werkdagen, met dezelfde regels als de uitstroommonitor), uit wat deze node houdt.",
            "responses": with_errors(ok("200", "de signalen, op termijn", json!({"type": "array", "items": {"$ref": "#/components/schemas/Signaal"}})), errors(&[]))}}),
    );
    (paths, schemas)
}
