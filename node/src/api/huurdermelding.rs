//! `POST /api/v1/huurdermeldingen` and `GET /api/v1/huurdermeldingen`: a corporatie's melding to the Transferpunt
//! about a tenant it holds no case of, and what it sent with the Transferpunt's answers (`crate::huurdermelding`).
//! Errors are problem+json: 400 naming each field and rule, 403 at a node that is not a corporatie, 409 without a
//! federation directory naming the Transferpunt.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{ApiState, CaseWorker, Problem};
use crate::huurdermelding::Huurdermelding;

/// `POST /api/v1/huurdermeldingen`: make a huurdermelding; it is sent to the Transferpunt.
pub(super) async fn meld(
    State(state): State<ApiState>,
    CaseWorker(user): CaseWorker,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let body =
        body.map_err(|e| Problem::new(e.status(), "Ongeldig verzoek").detail(e.body_text()))?;
    let melding: Huurdermelding = serde_json::from_slice(&body).map_err(|e| {
        Problem::new(StatusCode::BAD_REQUEST, "Ongeldig verzoek").detail(format!(
            "De body is geen geldige huurdermelding: {e}. Er is niets opgeslagen."
        ))
    })?;
    let sent = state.node.meld_huurder(&user, melding).await?;
    Ok((StatusCode::CREATED, Json(sent)).into_response())
}

/// `GET /api/v1/huurdermeldingen`: this corporatie's huurdermeldingen, newest first.
pub(super) async fn list(
    State(state): State<ApiState>,
    CaseWorker(_user): CaseWorker,
) -> Result<Response, Problem> {
    Ok(Json(state.node.huurdermeldingen().await?).into_response())
}

/// Paths and schemas for the OpenAPI description; `errors` builds the error answers from (status, description).
pub(super) fn openapi(
    errors: super::bemiddeling::Errors<'_>,
) -> (Map<String, Value>, Map<String, Value>) {
    let mut schemas = Map::new();
    schemas.insert(
        "Huurdermelding".into(),
        json!({"type": "object", "additionalProperties": false,
            "description": "Een melding van een corporatie aan het Transferpunt over een huurder van wie zij geen casus heeft (Bijlage 2)",
            "required": ["bsn", "datum_melding", "soort", "ave_niveau", "omschrijving", "woongemeente", "contactpersoon", "telefoonnummer"],
            "properties": {
                "bsn": {"type": "string", "pattern": "^[0-9]{9}$", "description": "het BSN van de huurder (elfproef)"},
                "datum_melding": {"type": "string", "format": "date"},
                "soort": {"type": "string", "enum": policies::model::SOORT_MELDING},
                "ave_niveau": {"type": "integer", "minimum": 1, "maximum": 4},
                "omschrijving": {"type": "string", "maxLength": crate::huurdermelding::MAX_OMSCHRIJVING},
                "gemeld_bij_toezichthouder": {"type": "boolean", "description": "verplicht bij een incident of calamiteit"},
                "woongemeente": {"type": "string", "pattern": "^GM[0-9]{4}$", "description": "de gemeente waar de woning staat (CBS-code)"},
                "contactpersoon": {"type": "string", "description": "een vaste contactpersoon van deze corporatie in de federatiegids"},
                "telefoonnummer": {"type": "string", "description": "waar het Transferpunt terugbelt"}}}),
    );
    schemas.insert(
        "VerzondenHuurdermelding".into(),
        json!({"type": "object", "properties": {
            "id": {"type": "string"}, "aan": {"type": "string"}, "soort": {"type": "string"},
            "gedaan_op": {"type": "string", "format": "date-time"},
            "ontvangen_op": {"type": "string", "format": "date-time", "nullable": true},
            "antwoord": {"type": "string", "nullable": true}}}),
    );
    let answer = |code: &str, description: &str, schema: Value| {
        let mut responses = errors(&[]).as_object().cloned().unwrap_or_default();
        responses.insert(
            code.into(),
            json!({"description": description, "content": {"application/json": {"schema": schema}}}),
        );
        responses
    };
    let mut post = answer(
        "201",
        "in de wachtrij voor het Transferpunt; verzonden zodra de verbinding er is",
        json!({"$ref": "#/components/schemas/VerzondenHuurdermelding"}),
    );
    post.extend(
        errors(&[
            ("403", "alleen een corporatie maakt een huurdermelding"),
            (
                "409",
                "deze node heeft nog geen federatiegids met een Transferpunt",
            ),
        ])
        .as_object()
        .cloned()
        .unwrap_or_default(),
    );
    let get = answer(
        "200",
        "de huurdermeldingen van deze corporatie, nieuwste eerst, met het antwoord van het Transferpunt",
        json!({"type": "array", "items": {"$ref": "#/components/schemas/VerzondenHuurdermelding"}}),
    );
    let mut paths = Map::new();
    paths.insert(
        "/huurdermeldingen".into(),
        json!({
            "post": {
                "summary": "Een melding over een huurder zonder casus bij deze corporatie aan het Transferpunt (Bijlage 2): het Transferpunt brengt het contact met de betrokken partijen tot stand. Het antwoord zegt niet of de huurder bekend is.",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Huurdermelding"}}}},
                "responses": post},
            "get": {"summary": "De huurdermeldingen van deze corporatie en de antwoorden van het Transferpunt", "responses": get}}),
    );
    (paths, schemas)
}
