//! The API's contract: an answer the node gave, checked against the OpenAPI description it publishes
//! (`node::api::openapi::spec()`, which `api.rs` proves equal to the committed `node/openapi.json`). Shared by
//! the contract test (`api_contract.rs`) and the end-to-end test over real nodes (`tests/tests/api_bemiddeling.rs`,
//! which includes this file by path).
//!
//! For an answer to `method` on a path template with a status, the description must name that status for that
//! operation; every header it marks required must be present and every described header that is present must fit
//! its schema; the Content-Type must be one the description gives for the status, and the body must validate
//! against that media type's schema. Problem bodies also carry the answer's own status (RFC 9457).
//!
//! Schemas are validated with the `jsonschema` crate (JSON Schema 2020-12, formats checked). OpenAPI 3.0's
//! schema objects are JSON Schema with one difference we use, `nullable: true`, which becomes a `"null"` type
//! first; `$ref`s into `#/components` resolve because the components travel in the validated schema's root.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeSet;
use std::sync::Mutex;

use serde_json::{Map, Value};

/// One answer as a client saw it.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// Every header, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body as received.
    pub body: Vec<u8>,
}

impl Answer {
    /// A header's value (`name` in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// The description and what was checked against it.
pub struct Contract {
    spec: Value,
    components: Value,
    /// (method, path template, status) of every answer checked.
    pub seen: Mutex<BTreeSet<(String, String, u16)>>,
}

/// OpenAPI 3.0 schema → JSON Schema 2020-12: `nullable: true` adds `"null"` to the type (and to an enum).
fn json_schema(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut out: Map<String, Value> =
                o.iter().map(|(k, v)| (k.clone(), json_schema(v))).collect();
            if out.remove("nullable") == Some(Value::Bool(true)) {
                if let Some(Value::String(t)) = out.get("type").cloned() {
                    out.insert("type".into(), serde_json::json!([t, "null"]));
                }
                if let Some(Value::Array(values)) = out.get_mut("enum") {
                    values.push(Value::Null);
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(json_schema).collect()),
        other => other.clone(),
    }
}

impl Contract {
    /// The node's description.
    pub fn new() -> Contract {
        let spec = node::api::openapi::spec();
        let components = json_schema(&spec["components"]);
        Contract {
            spec,
            components,
            seen: Mutex::default(),
        }
    }

    /// The description.
    pub fn spec(&self) -> &Value {
        &self.spec
    }

    /// Follow a local `$ref`, if `v` is one.
    fn resolve<'a>(&'a self, v: &'a Value) -> &'a Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => self
                .spec
                .pointer(r.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("dangling $ref {r}")),
            None => v,
        }
    }

    fn validate(&self, schema: &Value, value: &Value) -> Result<(), String> {
        let mut root = json_schema(schema);
        if let Value::Object(o) = &mut root {
            o.insert("components".into(), self.components.clone());
        } else {
            return Err(format!("a schema that is not an object: {schema}"));
        }
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| format!("the description's schema does not compile: {e}"))?;
        let errors: Vec<String> = validator
            .iter_errors(value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// Check `answer` to `method` on `template` (a path of the description, `/casussen/{id}`); the error says
    /// what does not match.
    pub fn check(&self, method: &str, template: &str, answer: &Answer) -> Result<(), String> {
        let method = method.to_ascii_lowercase();
        let op = &self.spec["paths"][template][&method];
        if !op.is_object() {
            return Err(format!("{method} {template} is not described"));
        }
        let status = answer.status.to_string();
        let Some(response) = op["responses"].get(&status) else {
            return Err(format!(
                "{method} {template} answered {status}, which the description does not name (it names {:?})",
                op["responses"]
                    .as_object()
                    .map(|o| o.keys().collect::<Vec<_>>())
            ));
        };
        let response = self.resolve(response);
        for (name, header) in response["headers"].as_object().into_iter().flatten() {
            let header = self.resolve(header);
            match answer.header(name) {
                None if header["required"] == Value::Bool(true) => {
                    return Err(format!(
                        "{method} {template} {status}: the required header {name} is missing"
                    ));
                }
                None => {}
                Some(value) => self
                    .validate(&header["schema"], &Value::String(value.to_string()))
                    .map_err(|e| format!("{method} {template} {status}: header {name}: {e}"))?,
            }
        }
        let Some(content) = response["content"].as_object() else {
            return if answer.body.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{method} {template} {status}: a body where the description names none"
                ))
            };
        };
        let content_type = answer
            .header("content-type")
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        let Some(media) = content.get(&content_type) else {
            return Err(format!(
                "{method} {template} {status}: Content-Type {content_type:?}, the description names {:?}",
                content.keys().collect::<Vec<_>>()
            ));
        };
        let body: Value = if content_type.ends_with("json") {
            serde_json::from_slice(&answer.body)
                .map_err(|e| format!("{method} {template} {status}: the body is not JSON ({e})"))?
        } else {
            Value::String(String::from_utf8_lossy(&answer.body).into_owned())
        };
        self.validate(&media["schema"], &body)
            .map_err(|e| format!("{method} {template} {status}: the body does not fit: {e}"))?;
        if content_type == "application/problem+json" && body["status"] != answer.status {
            return Err(format!(
                "{method} {template} {status}: the problem's status is {}",
                body["status"]
            ));
        }
        self.seen.lock().expect("not poisoned").insert((
            method,
            template.to_string(),
            answer.status,
        ));
        Ok(())
    }

    /// Every operation of the description, as (method, path template).
    pub fn operations(&self) -> Vec<(String, String)> {
        let mut ops = Vec::new();
        for (path, item) in self.spec["paths"].as_object().into_iter().flatten() {
            for method in item.as_object().into_iter().flatten().map(|(m, _)| m) {
                ops.push((method.clone(), path.clone()));
            }
        }
        ops
    }
}
