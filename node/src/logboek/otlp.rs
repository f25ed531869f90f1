//! The audit log as OpenTelemetry spans, in the OTLP/JSON encoding of an `ExportTraceServiceRequest`
//! (`resourceSpans` → `scopeSpans` → `spans`), for a partner that already collects traces: the Logboek
//! Dataverwerkingen recommends OTLP between application and Logboek, and its record *is* a span (trace id,
//! operation id = span id, name, start and end, status, attributes, `foreign_operation` as a link).
//!
//! One span per audit entry. Its attributes use the Logboek's names (`dpl.core.processing_activity_id` — the
//! activity's URI in this node's register — and `dpl.core.data_subject_id`, the pseudonym) and a few of this
//! node's own under `weerthuis.` (the entry's seq in the chain, the document and field **names**, the peer, the
//! policy version). Not exported: the case id (the pseudonym stands for the data subject), the user (the
//! Logboek's "geen gebruikers in logregels"), the purpose in words (it is in the register). The audit log holds no
//! field values and no BSN, so neither does the export.
//!
//! OTLP/JSON as the OpenTelemetry protocol specification writes it: ids as lowercase hex (not base64), 64-bit
//! times as decimal strings, enums as integers, field names in lowerCamelCase.
//!
//! **Architecture invariant:** pure — entries in, a serialisable value out; the CLI reads the store and writes
//! the file.

use serde::{Deserialize, Serialize};

use super::register::{Register, activity_id, activity_uri};
use crate::audit::{Operation, Status, StoredEntry};
use crate::sync::wire::WireDoc;

/// The instrumentation scope the spans are reported under.
pub const SCOPE: &str = "weerthuis.audit";

/// `ExportTraceServiceRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportTraceServiceRequest {
    /// One per node (resource): this export holds one.
    pub resource_spans: Vec<ResourceSpans>,
}

/// `ResourceSpans`: the spans of one resource (this node).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSpans {
    /// The node.
    pub resource: Resource,
    /// The spans, by scope.
    pub scope_spans: Vec<ScopeSpans>,
}

/// `Resource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// `service.name`, `service.version`, `weerthuis.entity` (this node's entity URI).
    pub attributes: Vec<KeyValue>,
}

/// `ScopeSpans`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScopeSpans {
    /// [`SCOPE`].
    pub scope: Scope,
    /// One per audit entry, in chain order.
    pub spans: Vec<Span>,
}

/// `InstrumentationScope`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scope {
    /// Its name.
    pub name: String,
    /// The node software's version.
    pub version: String,
}

/// `Span`: one audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    /// The entry's trace id (32 hex digits).
    pub trace_id: String,
    /// The entry's span (operation) id (16 hex digits).
    pub span_id: String,
    /// The Logboek's `parent_operation_id`: empty, as entries are not nested.
    pub parent_span_id: String,
    /// The Logboek's `name`: the operation (`disclosure`, `receipt`, `read`, …).
    pub name: String,
    /// `SPAN_KIND_INTERNAL` (1), `PRODUCER` (4) for a disclosure, `CONSUMER` (5) for a receipt.
    pub kind: u8,
    /// Start, nanoseconds since the Unix epoch, as a decimal string.
    pub start_time_unix_nano: String,
    /// End, likewise.
    pub end_time_unix_nano: String,
    /// The Logboek's attributes.
    pub attributes: Vec<KeyValue>,
    /// The Logboek's `foreign_operation`, when there is one.
    pub links: Vec<Link>,
    /// The Logboek's `status_code`.
    pub status: SpanStatus,
}

/// `Span.Link`: the other party's record of the same exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    /// Its trace id.
    pub trace_id: String,
    /// Its operation (span) id.
    pub span_id: String,
    /// `dpl.core.foreign_operation.entity`: the other party's URI.
    pub attributes: Vec<KeyValue>,
}

/// `Status`: `STATUS_CODE_OK` (1) or `STATUS_CODE_ERROR` (2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanStatus {
    /// The code.
    pub code: u8,
}

/// `KeyValue`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyValue {
    /// The attribute's name.
    pub key: String,
    /// Its value.
    pub value: AnyValue,
}

/// `AnyValue`, in the two forms used here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AnyValue {
    /// A text.
    StringValue(String),
    /// A list of texts (`{"values": [{"stringValue": …}]}`).
    ArrayValue(ArrayValue),
    /// A whole number, as a decimal string (OTLP/JSON's 64-bit integers).
    IntValue(String),
}

/// `ArrayValue`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArrayValue {
    /// The items.
    pub values: Vec<AnyValue>,
}

impl KeyValue {
    fn text(key: &str, value: impl Into<String>) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: AnyValue::StringValue(value.into()),
        }
    }
}

/// The export of `entries` (in chain order) of the node with entity URI `entity` and register `register`.
pub fn export(
    entity: &str,
    register: &Register,
    entries: &[StoredEntry],
) -> ExportTraceServiceRequest {
    let spans = entries.iter().map(|e| span(entity, register, e)).collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Resource {
                attributes: vec![
                    KeyValue::text("service.name", "weerthuis-node"),
                    KeyValue::text("service.version", env!("CARGO_PKG_VERSION")),
                    KeyValue::text("weerthuis.entity", entity),
                ],
            },
            scope_spans: vec![ScopeSpans {
                scope: Scope {
                    name: SCOPE.into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                },
                spans,
            }],
        }],
    }
}

fn span(entity: &str, register: &Register, stored: &StoredEntry) -> Span {
    let e = &stored.entry;
    let id = activity_id(e.name, &e.processing_activity_id);
    // The register's URI; an activity it lacks (a flow of a policy text this node lost) keeps its URI form.
    let uri = register
        .get(&id)
        .map_or_else(|| activity_uri(entity, &id), |a| a.uri.clone());
    let mut attributes = vec![
        KeyValue::text("dpl.core.processing_activity_id", uri),
        KeyValue {
            key: "weerthuis.audit.seq".into(),
            value: AnyValue::IntValue(stored.seq.to_string()),
        },
    ];
    if let Some(subject) = &e.data_subject_id {
        attributes.push(KeyValue::text("dpl.core.data_subject_id", subject.clone()));
    }
    if let Some(doc) = &e.document {
        attributes.push(KeyValue::text("weerthuis.document", document_kind(doc)));
    }
    if !e.fields.is_empty() {
        attributes.push(KeyValue {
            key: "weerthuis.fields".into(),
            value: AnyValue::ArrayValue(ArrayValue {
                values: e
                    .fields
                    .iter()
                    .cloned()
                    .map(AnyValue::StringValue)
                    .collect(),
            }),
        });
    }
    if let Some(peer) = &e.peer {
        attributes.push(KeyValue::text("weerthuis.peer", peer.clone()));
    }
    if let Some(v) = &e.policy_version {
        attributes.push(KeyValue::text("weerthuis.policy_version", v.clone()));
    }
    let links = e
        .foreign_operation
        .iter()
        .map(|f| Link {
            trace_id: f.trace_id.clone(),
            span_id: f.operation_id.clone(),
            attributes: vec![KeyValue::text(
                "dpl.core.foreign_operation.entity",
                f.entity.clone(),
            )],
        })
        .collect();
    Span {
        trace_id: e.trace_id.clone(),
        span_id: e.span_id.clone(),
        parent_span_id: String::new(),
        name: operation_name(e.name),
        kind: match e.name {
            Operation::Disclosure => 4,
            Operation::Receipt => 5,
            _ => 1,
        },
        start_time_unix_nano: e.start_time.unix_timestamp_nanos().to_string(),
        end_time_unix_nano: e.end_time.unix_timestamp_nanos().to_string(),
        attributes,
        links,
        status: SpanStatus {
            code: match e.status_code {
                Status::Ok => 1,
                Status::Error => 2,
            },
        },
    }
}

/// What a document is, without the case it belongs to: a sync record names the document by its wire name, which
/// holds the case id, and the export names the data subject only by its pseudonym.
fn document_kind(doc: &str) -> String {
    match WireDoc::parse(doc) {
        Some(WireDoc::Form(k, _)) => k.kind.name().to_string(),
        Some(WireDoc::Projection { .. }) => "projectie".to_string(),
        // A local entry names the kind itself (`registratie`); anything else with a path keeps only its last part.
        None => doc.rsplit('/').next().unwrap_or_default().to_string(),
    }
}

/// The operation as the stored entry names it (`disclosure`, `data_subject_request`).
fn operation_name(op: Operation) -> String {
    serde_json::to_value(op)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
