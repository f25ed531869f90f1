//! Typed form values: what remains of a JSON form once it passed validation.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};
use time::Date;

use crate::model::{DocumentKind, FieldId, FieldSpec};

/// One checked value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Text, a BSN, a gemeentecode, an enum value, an e-mail address, a phone number or a partner id.
    Text(String),
    /// A date.
    Date(Date),
    /// A yes/no.
    Bool(bool),
    /// A whole number.
    Integer(i64),
    /// Field references (`registratie.bsn`).
    Fields(Vec<FieldId>),
    /// Records, each a map of checked values.
    Records(Vec<Record>),
}

/// One record of a list field.
pub type Record = BTreeMap<&'static str, Value>;

const DATE_FORMAT: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// Parse `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s, DATE_FORMAT).ok()
}

/// Format as `YYYY-MM-DD`.
pub fn format_date(d: Date) -> String {
    d.format(DATE_FORMAT)
        .expect("a calendar date always formats")
}

impl Value {
    /// The value as text, if it is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a date, if it is a date.
    pub fn as_date(&self) -> Option<Date> {
        match self {
            Value::Date(d) => Some(*d),
            _ => None,
        }
    }

    /// The value as a bool, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The value as an integer, if it is one.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The records, if this is a list of records.
    pub fn as_records(&self) -> Option<&[Record]> {
        match self {
            Value::Records(r) => Some(r),
            _ => None,
        }
    }

    /// How a condition on this value reads it: enum text as is, bools as `true`/`false`.
    pub(crate) fn condition_key(&self) -> Option<String> {
        match self {
            Value::Text(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Integer(i) => Some(i.to_string()),
            _ => None,
        }
    }

    /// Whether a person would call this empty (an empty list).
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Text(s) => s.trim().is_empty(),
            Value::Fields(f) => f.is_empty(),
            Value::Records(r) => r.is_empty(),
            _ => false,
        }
    }

    /// Back to JSON, in the same shape the API accepts.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Text(s) => Json::String(s.clone()),
            Value::Date(d) => Json::String(format_date(*d)),
            Value::Bool(b) => Json::Bool(*b),
            Value::Integer(i) => Json::from(*i),
            Value::Fields(f) => {
                Json::Array(f.iter().map(|f| Json::String(f.qualified_name())).collect())
            }
            Value::Records(rs) => Json::Array(
                rs.iter()
                    .map(|r| {
                        Json::Object(
                            r.iter()
                                .map(|(k, v)| (k.to_string(), v.to_json()))
                                .collect(),
                        )
                    })
                    .collect(),
            ),
        }
    }
}

/// A validated form: a document kind and its filled-in fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    kind: DocumentKind,
    values: BTreeMap<&'static str, Value>,
}

impl Form {
    pub(crate) fn new(kind: DocumentKind, values: BTreeMap<&'static str, Value>) -> Self {
        Form { kind, values }
    }

    /// Which document.
    pub fn kind(&self) -> DocumentKind {
        self.kind
    }

    /// A field's value, if filled in.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.values.get(field)
    }

    /// A text field's value.
    pub fn text(&self, field: &str) -> Option<&str> {
        self.get(field).and_then(Value::as_text)
    }

    /// A date field's value.
    pub fn date(&self, field: &str) -> Option<Date> {
        self.get(field).and_then(Value::as_date)
    }

    /// A bool field's value.
    pub fn bool(&self, field: &str) -> Option<bool> {
        self.get(field).and_then(Value::as_bool)
    }

    /// The filled-in fields with their schema.
    pub fn fields(&self) -> impl Iterator<Item = (&'static FieldSpec, &Value)> {
        self.kind
            .spec()
            .fields
            .iter()
            .filter_map(|spec| self.values.get(spec.name).map(|v| (spec, v)))
    }

    /// The filled-in fields as ids.
    pub fn field_ids(&self) -> impl Iterator<Item = FieldId> + '_ {
        self.kind
            .fields()
            .filter(|f| self.values.contains_key(f.name()))
    }

    /// The form as a JSON object, fields in form order.
    pub fn to_json(&self) -> Json {
        let mut m = Map::new();
        for (spec, v) in self.fields() {
            m.insert(spec.name.to_string(), v.to_json());
        }
        Json::Object(m)
    }
}
