//! `GET /api/v1/verwerkingsactiviteiten` and `/{id}`: this node's register of processing activities
//! ([`crate::logboek::register`]), the entries audit records name in `dpl.core.processing_activity_id`. No token
//! needed: it holds the covenant's flows, purposes and bases and this node's own activities — no personal data —
//! and a partner reading an exported log must be able to look them up.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{ApiState, Problem};
use crate::service::ServiceError;

/// The register, every activity.
pub(super) async fn list(State(state): State<ApiState>) -> Result<Response, Problem> {
    let register = crate::logboek::register_of(&state.node)
        .await
        .map_err(ServiceError::from)?;
    Ok(Json(register.activities().collect::<Vec<_>>()).into_response())
}

/// One activity.
pub(super) async fn one(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let register = crate::logboek::register_of(&state.node)
        .await
        .map_err(ServiceError::from)?;
    match register.get(&id) {
        Some(a) => Ok(Json(a).into_response()),
        None => Err(Problem::new(StatusCode::NOT_FOUND, "Niet gevonden")
            .detail("Deze verwerkingsactiviteit staat niet in het register van deze node.")),
    }
}

/// Paths and schemas for the OpenAPI description.
pub(super) fn openapi() -> (Map<String, Value>, Map<String, Value>) {
    let mut schemas = Map::new();
    schemas.insert(
        "Verwerkingsactiviteit".into(),
        json!({"type": "object",
            "description": "Een verwerkingsactiviteit in het register van deze node (AVG art. 30), in de vorm van het register-API van Logboek Dataverwerkingen (Logius)",
            "required": ["id", "uri", "active", "name", "purpose", "legalBasis", "processingOptions"],
            "properties": {
                "id": {"type": "string", "description": "de sleutel in het register, zoals stroom.aanmeldbericht-naar-de-toegewezen-corporatie of api.v1"},
                "uri": {"type": "string", "format": "uri", "description": "de URI die logregels noemen in dpl.core.processing_activity_id"},
                "active": {"type": "boolean", "description": "of het beleid dat nu geldt deze activiteit nog kent"},
                "name": {"type": "string"},
                "purpose": {"type": "string", "description": "het doel (doelbinding)"},
                "legalBasis": {"type": "array", "items": {"type": "string"}, "description": "de grondslag, in de woorden van het convenantbeleid"},
                "processingOptions": {"type": "array", "items": {"type": "string", "enum": ["Copy", "Disclose", "Obtain", "Organise", "Remove", "Store", "Transfer", "Transform", "Use"]}, "description": "wat er gebeurt, als DPV-verwerkingshandelingen"},
                "version": {"type": "string", "nullable": true, "description": "de beleidsversie waaruit de beschrijving komt"},
                "validFrom": {"type": "string", "format": "date", "nullable": true, "description": "sinds wanneer die versie geldt"}}}),
    );
    let errors = || {
        json!({
            "400": super::openapi::problem_response("ongeldig verzoek, zoals een BSN in de URL"),
            "500": super::openapi::problem_response("de opslag gaf een fout"),
            "503": super::openapi::problem_response("de opslag is niet bereikbaar; probeer het later opnieuw"),
        })
    };
    let mut list_responses = errors();
    list_responses["200"] = json!({"description": "het register", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Verwerkingsactiviteit"}}}}});
    let mut one_responses = errors();
    one_responses["200"] = json!({"description": "de verwerkingsactiviteit", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Verwerkingsactiviteit"}}}});
    one_responses["404"] = super::openapi::problem_response("niet in het register");
    let mut paths = Map::new();
    paths.insert(
        "/verwerkingsactiviteiten".into(),
        json!({"get": {"summary": "Het register van verwerkingsactiviteiten van deze node, waarnaar de logregels verwijzen", "security": [], "responses": list_responses}}),
    );
    paths.insert(
        "/verwerkingsactiviteiten/{id}".into(),
        json!({"get": {"summary": "Eén verwerkingsactiviteit: naam, doel, grondslag en de URI die logregels noemen", "security": [],
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[a-z0-9._-]{1,200}$"}, "description": "de sleutel in het register"}],
            "responses": one_responses}}),
    );
    (paths, schemas)
}
