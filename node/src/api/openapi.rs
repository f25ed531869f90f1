//! The OpenAPI 3 description of the local API, generated from the covenant's data model so the two can never
//! drift apart. A copy is kept in the repository (`node/openapi.json`); a test fails when it is stale.

use policies::DocumentKind;
use policies::model::{FieldSpec, FieldType, Required};
use policies::validate::{MAX_LONG_TEXT, MAX_RECORDS, MAX_TEXT};
use serde_json::{Map, Value, json};

/// The API's version, sent in every response's `API-Version` header (NL API Design Rules).
pub const API_VERSION: &str = "1.0.0";

/// Whom to ask about this API (`info.contact`, which the NL API Design Rules require): the maintainers of the
/// node software, at the workspace's `repository` URL. The same description is served by every partner's node, so
/// it names the software's maintainers, not one partner.
const CONTACT: Contact = Contact {
    name: "Beheer van de Weer Thuis-nodesoftware",
    url: env!("CARGO_PKG_REPOSITORY"),
    email: "beheer@weerthuis.example.invalid",
};

#[derive(serde::Serialize)]
struct Contact {
    name: &'static str,
    url: &'static str,
    email: &'static str,
}

fn field_schema(f: &FieldSpec) -> Value {
    let mut s = match f.ty {
        FieldType::Text => json!({"type": "string", "maxLength": MAX_TEXT}),
        FieldType::LongText => json!({"type": "string", "maxLength": MAX_LONG_TEXT}),
        FieldType::Date { .. } => json!({"type": "string", "format": "date"}),
        FieldType::Bool => json!({"type": "boolean"}),
        FieldType::Integer { min, max } => {
            json!({"type": "integer", "minimum": min, "maximum": max})
        }
        FieldType::Bsn => {
            json!({"type": "string", "pattern": "^[0-9]{8,9}$", "description": "Burgerservicenummer; moet voldoen aan de elfproef"})
        }
        FieldType::Gemeente => {
            json!({"type": "string", "pattern": "^GM[0-9]{4}$", "description": "CBS-gemeentecode van een bekende gemeente"})
        }
        FieldType::Email => json!({"type": "string", "format": "email"}),
        FieldType::Telefoon => json!({"type": "string", "pattern": "^[0-9 +()-]+$"}),
        FieldType::Enum(values) => json!({"type": "string", "enum": values}),
        FieldType::Partner => {
            json!({"type": "string", "pattern": "^[a-z]+:[A-Za-z0-9_-]+$", "description": "partner-id, rol:code"})
        }
        FieldType::FieldList => {
            json!({"type": "array", "items": {"type": "string", "pattern": "^[a-z_]+\\.[a-z0-9_]+$"}})
        }
        FieldType::Records(sub) => {
            json!({"type": "array", "maxItems": MAX_RECORDS, "items": object_schema(sub, None)})
        }
    };
    let obj = s.as_object_mut().expect("schemas are objects");
    if !obj.contains_key("description") {
        obj.insert("description".into(), Value::String(f.label.to_string()));
    } else {
        let d = format!(
            "{}. {}",
            f.label,
            obj["description"].as_str().unwrap_or_default()
        );
        obj.insert("description".into(), Value::String(d));
    }
    s
}

fn object_schema(fields: &[FieldSpec], description: Option<String>) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for f in fields {
        props.insert(f.name.to_string(), field_schema(f));
        if f.required == Required::Always {
            required.push(Value::String(f.name.to_string()));
        }
    }
    let mut s = json!({"type": "object", "additionalProperties": false, "properties": props});
    // OpenAPI 3.0 wants `required` absent rather than empty.
    if !required.is_empty() {
        s["required"] = Value::Array(required);
    }
    if let Some(d) = description {
        s["description"] = Value::String(d);
    }
    s
}

pub(super) fn problem_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

/// The name of a document's schema: UpperCamelCase, as the NL API Design Rules want schema names
/// (`vervolg_wonen` → `VervolgWonen`). The document's own name stays in the paths and in the problems.
pub fn schema_name(kind: DocumentKind) -> String {
    kind.name()
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// The header with which a client makes a POST or PUT idempotent (`crate::api::idempotency`).
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// What every operation has in common, added in one place so no operation can miss it: the `API-Version`
/// header on every response, and on every POST and PUT (the writes) the `Idempotency-Key` parameter with the
/// answers it can give.
fn finish(spec: &mut Value) {
    let Some(paths) = spec["paths"].as_object_mut() else {
        return;
    };
    for operations in paths.values_mut() {
        let Some(operations) = operations.as_object_mut() else {
            continue;
        };
        for (method, op) in operations.iter_mut() {
            if method == "post" || method == "put" {
                let params = op
                    .as_object_mut()
                    .expect("operations are objects")
                    .entry("parameters")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Some(params) = params.as_array_mut() {
                    params.push(json!({"$ref": "#/components/parameters/IdempotencyKey"}));
                }
                let responses = &mut op["responses"];
                for (code, why) in [
                    ("400", "een ongeldige Idempotency-Key"),
                    (
                        "409",
                        "een verzoek met dezelfde Idempotency-Key is nog bezig",
                    ),
                    (
                        "422",
                        "dezelfde Idempotency-Key met een ander verzoek (andere body of ander pad)",
                    ),
                ] {
                    match responses[code]["description"].as_str() {
                        Some(d) => {
                            responses[code]["description"] = Value::String(format!("{d}; of {why}"))
                        }
                        None => responses[code] = problem_response(why),
                    }
                }
            }
            let writes = method == "post" || method == "put";
            let Some(responses) = op["responses"].as_object_mut() else {
                continue;
            };
            for (code, response) in responses.iter_mut() {
                let headers = response
                    .as_object_mut()
                    .expect("responses are objects")
                    .entry("headers")
                    .or_insert_with(|| Value::Object(Map::new()));
                headers["API-Version"] = json!({"$ref": "#/components/headers/API-Version"});
                if writes && code.starts_with('2') {
                    headers[super::idempotency::REPLAYED] = json!({"schema": {"type": "string", "enum": ["true"]},
                        "description": "alleen op een herhaling met dezelfde Idempotency-Key: dit is het opgeslagen eerste antwoord"});
                }
            }
        }
    }
}

/// The whole OpenAPI document.
pub fn spec() -> Value {
    let mut schemas = Map::new();
    for kind in DocumentKind::ALL {
        let spec = kind.spec();
        schemas.insert(
            schema_name(kind),
            object_schema(
                spec.fields,
                Some(format!("{} ({})", spec.label, spec.source)),
            ),
        );
    }
    schemas.insert(
        "Problem".into(),
        json!({
            "type": "object",
            "description": "RFC 9457 problem details; bij validatiefouten alle fouten tegelijk in invalidParams",
            "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                "detail": {"type": "string"}, "instance": {"type": "string"},
                "invalidParams": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string", "description": "document.veld, met pad in lijsten"},
                    "code": {"type": "string", "description": "vaste naam van de regel, zoals bsn_elfproef"},
                    "reason": {"type": "string", "description": "de regel in woorden"}}}}
            },
            "required": ["type", "title", "status"]
        }),
    );
    schemas.insert(
        "Missing".into(),
        json!({"type": "object", "properties": {
            "document": {"type": "string"}, "field": {"type": "string"}, "label": {"type": "string"},
            "because": {"type": "string", "nullable": true}}}),
    );
    schemas.insert(
        "CaseSummary".into(),
        json!({"type": "object", "properties": {
            "id": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"},
            "fase": {"type": "string", "enum": policies::Fase::ALL.map(|f| f.name())},
            "documenten": {"type": "array", "items": {"type": "string"}},
            "ontbrekend": {"type": "array", "items": {"$ref": "#/components/schemas/Missing"}}}}),
    );
    schemas.insert(
        "Case".into(),
        json!({"allOf": [{"$ref": "#/components/schemas/CaseSummary"}, {"type": "object", "properties": {
            "voorwaarden_bemiddeling": {"type": "array", "items": {"type": "object", "properties": {
                "voorwaarde": {"type": "string"}, "status": {"type": "string", "enum": ["voldaan", "niet_voldaan", "onbekend"]},
                "toelichting": {"type": "string"}}}}}}]}),
    );
    schemas.insert(
        "HistoryEntry".into(),
        json!({"type": "object", "properties": {
            "seq": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
            "operation": {"type": "string"}, "user": {"type": "string", "nullable": true},
            "document": {"type": "string", "nullable": true}, "fields": {"type": "array", "items": {"type": "string"}},
            "purpose": {"type": "string"}, "peer": {"type": "string", "nullable": true, "description": "de andere partner, bij verstrekkingen"}}}),
    );
    let doc_param = json!({"name": "document", "in": "path", "required": true,
        "schema": {"type": "string", "enum": DocumentKind::ALL.map(|k| k.name())}});
    let case_param = json!({"name": "id", "in": "path", "required": true,
        "schema": {"type": "string"}, "description": "willekeurige casus-id; nooit een BSN"});
    let instance_param = json!({"name": "instantie", "in": "path", "required": true,
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_:-]{1,64}$"},
        "description": "voor documenten die een casus vaker heeft (melding, reactie, aanmeldbericht, gemeente)"});
    let form_body = json!({"required": true, "content": {"application/json": {"schema": {
        "oneOf": DocumentKind::ALL.map(|k| json!({"$ref": format!("#/components/schemas/{}", schema_name(k))}))}}}});
    let form_ok = json!({"description": "het formulier zoals opgeslagen, met wat nog ontbreekt",
        "content": {"application/json": {"schema": {"type": "object", "properties": {
            "document": {"type": "string"}, "instantie": {"type": "string", "nullable": true}, "velden": {"type": "object"},
            "ontbrekend": {"type": "array", "items": {"$ref": "#/components/schemas/Missing"}}}}}}});
    let errors = |extra: &[(&str, &str)]| {
        let mut m = Map::new();
        // Every route can answer 400: a BSN in the URL is refused before any handler (`no_bsn_in_url`).
        m.insert(
            "400".into(),
            problem_response("ongeldig verzoek, zoals een BSN in de URL"),
        );
        m.insert("401".into(), problem_response("geen of ongeldig token"));
        m.insert(
            "500".into(),
            problem_response("de opslag gaf een fout; er is niets opgeslagen"),
        );
        m.insert(
            "503".into(),
            problem_response("de opslag is niet bereikbaar; probeer het later opnieuw"),
        );
        m.insert(
            "403".into(),
            problem_response("de rol van dit token geeft geen toegang (casussen: medewerker)"),
        );
        for (code, d) in extra {
            m.insert((*code).into(), problem_response(d));
        }
        Value::Object(m)
    };
    let merge = |mut ok: Map<String, Value>, errs: Value| {
        ok.extend(errs.as_object().cloned().unwrap_or_default());
        Value::Object(ok)
    };
    let form_put = json!({
        "summary": "Formulier opslaan (het hele formulier; velden die ontbreken worden leeg)",
        "parameters": [],
        "requestBody": form_body,
        "responses": merge(
            Map::from_iter([("200".to_string(), form_ok.clone())]),
            errors(&[("400", "geen geldige JSON"), ("403", "deze partner mag dit veld niet schrijven"),
                     ("404", "casus niet gevonden"), ("413", "verzoek te groot"),
                     ("422", "het formulier voldoet niet aan de regels; alle fouten in invalidParams")]))
    });
    let form_get = json!({
        "summary": "Formulier lezen",
        "parameters": [],
        "responses": merge(Map::from_iter([("200".to_string(), form_ok)]), errors(&[("404", "niet gevonden")]))
    });
    let with_params = |op: &Value, params: Vec<Value>| {
        let mut op = op.clone();
        op["parameters"] = Value::Array(params);
        op
    };
    let (bemiddeling_paths, bemiddeling_schemas) =
        super::bemiddeling::openapi(&case_param, &errors);
    schemas.extend(bemiddeling_schemas);
    let (huurder_paths, huurder_schemas) = super::huurdermelding::openapi(&errors);
    schemas.extend(huurder_schemas);
    let (register_paths, register_schemas) = super::verwerkingsactiviteiten::openapi();
    schemas.extend(register_schemas);
    let mut spec = json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Weer Thuis node API",
            "version": API_VERSION,
            "description": "Lokale API van een node in de Weer Thuis-federatie, voor de medewerkers en systemen van één partner. Volgt de NL API Design Rules (gecontroleerd met de linter van Logius): JSON onder /api/v1, fouten als application/problem+json, een API-Version-header op elk antwoord, geen BSN in een URL. Schrijvende verzoeken (POST, PUT) zijn met een Idempotency-Key veilig te herhalen.",
            "contact": CONTACT,
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
            "headers": {"API-Version": {"required": true, "schema": {"type": "string", "example": API_VERSION}, "description": "de volledige versie van de API (major.minor.patch)"}},
            "parameters": {"IdempotencyKey": {"name": IDEMPOTENCY_KEY, "in": "header", "required": false,
                "schema": {"type": "string", "minLength": 1, "maxLength": super::idempotency::MAX_KEY_LEN, "pattern": "^[\\x21-\\x7E]+$"},
                "description": "Een sleutel die het systeem van de partner per stap kiest (bijvoorbeeld een UUID). Een herhaling met dezelfde sleutel en hetzelfde verzoek krijgt het eerste antwoord terug zonder dat de stap nog eens gebeurt; dezelfde sleutel met een ander verzoek wordt geweigerd (422). Sleutels gelden per token en vervallen na 24 uur."}},
        },
        "paths": {
            "/casussen": {
                "get": {"summary": "Casussen met fase en wat nog ontbreekt",
                    "parameters": [
                        {"name": "offset", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0, "default": 0}, "description": "hoeveel casussen over te slaan"},
                        {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": super::MAX_PAGE, "default": super::DEFAULT_PAGE}, "description": "hoeveel casussen ten hoogste"}],
                    "responses": merge(
                    Map::from_iter([("200".to_string(), json!({"description": "de casussen", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/CaseSummary"}}}}}))]),
                    errors(&[("400", "onbekende parameter, of limit buiten het bereik")]))},
                "post": {"summary": "Nieuwe casus", "responses": merge(
                    Map::from_iter([("201".to_string(), json!({"description": "aangemaakt", "headers": {"Location": {"required": true, "schema": {"type": "string"}, "description": "de URL van de nieuwe casus"}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CaseSummary"}}}}))]),
                    errors(&[]))}
            },
            "/casussen/{id}": {
                "get": {"summary": "Een casus: fase, formulieren, wat ontbreekt en de 8 voorwaarden voor bemiddeling",
                    "parameters": [case_param.clone()],
                    "responses": merge(Map::from_iter([("200".to_string(), json!({"description": "de casus", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Case"}}}}))]), errors(&[("404", "niet gevonden")]))}
            },
            "/casussen/{id}/historie": {
                "get": {"summary": "Wie wanneer welke velden van de casus las of schreef (zonder waarden)",
                    "parameters": [case_param.clone()],
                    "responses": merge(Map::from_iter([("200".to_string(), json!({"description": "de historie", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/HistoryEntry"}}}}}))]), errors(&[("404", "niet gevonden")]))}
            },
            "/casussen/{id}/documenten/{document}": {
                "get": with_params(&form_get, vec![case_param.clone(), doc_param.clone()]),
                "put": with_params(&form_put, vec![case_param.clone(), doc_param.clone()]),
            },
            "/casussen/{id}/documenten/{document}/{instantie}": {
                "get": with_params(&form_get, vec![case_param.clone(), doc_param.clone(), instance_param.clone()]),
                "put": with_params(&form_put, vec![case_param, doc_param, instance_param]),
            },
            "/openapi.json": {
                "get": {"summary": "Deze beschrijving", "security": [], "responses": {"200": {"description": "OpenAPI 3", "content": {"application/json": {"schema": {"type": "object"}}}}}}
            },
            "/health": {
                "get": {"summary": "Draait de node en bereikt hij zijn database?", "security": [], "responses": {"200": {"description": "gezond", "content": {"application/json": {"schema": {"type": "object", "required": ["status", "partner", "beleid"], "properties": {"status": {"type": "string", "enum": ["ok"]}, "partner": {"type": "string"}, "beleid": {"type": "string"}}}}}}, "503": problem_response("database niet bereikbaar")}}
            },
            "/monitor": {
                "get": {"summary": "De uitstroommonitor van het Transferpunt: open signalen en de cijfers van dit jaar (HTML)", "responses": {"200": {"description": "de pagina", "content": {"text/html": {"schema": {"type": "string"}}}}, "400": problem_response("ongeldig verzoek, zoals een BSN in de URL"), "401": problem_response("geen of een ongeldig token"), "403": problem_response("alleen de rol analist ziet de monitor"), "404": problem_response("deze node is niet het Transferpunt")}}
            }
        }
    });
    if let Some(paths) = spec["paths"].as_object_mut() {
        paths.extend(bemiddeling_paths);
        paths.extend(huurder_paths);
        paths.extend(register_paths);
    }
    finish(&mut spec);
    spec
}
