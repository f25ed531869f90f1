//! Projections: documents a sender writes for one receiver, holding only the fields the policy lets that receiver
//! have — so a partner that may see part of a case never receives the CRDT history of the rest.
//!
//! Layout: one map per source document at the root (`"aanmeldbericht/corporatie:elkien"`, `"registratie"`), each
//! holding the allowed fields in the API's JSON shape, and `"_meta"` with the facts the sender decided on: the
//! receiver's and the sender's relations to the case, the phase, consent, BW/MO and the policy version. The
//! receiver checks every field against those facts, and uses its declared relations for its own writes.

use policies::form::Form;
use policies::{
    CaseFacts, DocumentKind, Fase, FieldId, FieldSet, PartnerId, Relation, Validator, Voorziening,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use automerge::AutoCommit;

use crate::doc;

/// The section holding the sender's facts.
pub const META: &str = "_meta";

/// The facts a projection was made under. The wire names are the covenant's Dutch, as every form field's are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The receiver's relations to the case.
    #[serde(rename = "ontvanger_relaties")]
    pub receiver_relations: Vec<Relation>,
    /// The sender's relations to the case.
    #[serde(rename = "afzender_relaties")]
    pub sender_relations: Vec<Relation>,
    /// The phase.
    #[serde(rename = "fase")]
    pub phase: Fase,
    /// Whether the client consented.
    #[serde(rename = "toestemming")]
    pub consent: bool,
    /// BW or MO.
    pub voorziening: Option<Voorziening>,
    /// The policy version.
    #[serde(rename = "beleid")]
    pub policy_version: String,
    /// From the Transferpunt only: how the partners the receiver exchanges data with under a flow relate to the
    /// case (a corporatie learns which gemeente is the uitstroomgemeente and which zorgaanbieder is betrokken, so
    /// its meldingen reach them under the covenant's flows). Never a partner no flow connects it with.
    #[serde(
        rename = "betrokkenen",
        default,
        skip_serializing_if = "std::collections::BTreeMap::is_empty"
    )]
    pub others: std::collections::BTreeMap<String, Vec<Relation>>,
}

impl Meta {
    /// The case facts these declare, for `sender` and `receiver`.
    pub fn facts(&self, sender: &PartnerId, receiver: &PartnerId) -> CaseFacts {
        CaseFacts {
            phase: self.phase,
            consent: self.consent,
            voorziening: self.voorziening,
            relations: [
                (sender.clone(), self.sender_relations.clone()),
                (receiver.clone(), self.receiver_relations.clone()),
            ]
            .into_iter()
            .collect(),
        }
    }
}

/// The name of the section for a form.
pub fn section_name(form_kind: DocumentKind, instance: &str) -> String {
    if instance.is_empty() {
        form_kind.name().to_string()
    } else {
        format!("{form_kind}/{instance}")
    }
}

/// Parse a section name into a kind and instance.
pub fn parse_section(name: &str) -> Option<(DocumentKind, &str)> {
    let (kind, instance) = name.split_once('/').unwrap_or((name, ""));
    let kind = DocumentKind::from_name(kind)?;
    (kind.spec().multiple != instance.is_empty()).then_some((kind, instance))
}

/// The content of a projection: the allowed fields of each form, and the facts.
pub fn build(forms: &[(String, &Form)], allowed: FieldSet, meta: &Meta) -> Map<String, Json> {
    let mut sections = Map::new();
    for (section, form) in forms {
        let json = form.to_json();
        let mut fields = Map::new();
        for f in form.field_ids().filter(|f| allowed.contains(*f)) {
            if let Some(v) = json.get(f.name()) {
                fields.insert(f.name().to_string(), v.clone());
            }
        }
        if !fields.is_empty() {
            sections.insert(section.clone(), Json::Object(fields));
        }
    }
    if !sections.is_empty() {
        sections.insert(
            META.into(),
            serde_json::to_value(meta).expect("meta serialises"),
        );
    }
    sections
}

/// The fields a projection's content holds.
pub fn fields_of(sections: &Map<String, Json>) -> FieldSet {
    let mut set = FieldSet::EMPTY;
    for (name, fields) in sections {
        let (Some((kind, _)), Json::Object(fields)) = (parse_section(name), fields) else {
            continue;
        };
        for f in fields.keys() {
            if let Some(id) = kind.field(f) {
                set.insert(id);
            }
        }
    }
    set
}

/// What a received projection holds, read back and validated.
#[derive(Debug, Clone, Default)]
pub struct Content {
    /// The partial forms, with their section names.
    pub forms: Vec<(String, Form)>,
    /// The declared facts.
    pub meta: Option<Meta>,
}

/// Read a projection document. Sections or values that do not validate are left out (and logged): a projection
/// was checked field by field when it arrived.
pub fn read(am: &AutoCommit, validator: &Validator<'_>) -> Content {
    match doc::read_json(am) {
        Ok(Json::Object(root)) => content_of(&root, validator),
        _ => Content::default(),
    }
}

/// What a projection's content holds (see [`read`]), from its JSON: what the simulator hands a receiver.
pub fn content_of(root: &Map<String, Json>, validator: &Validator<'_>) -> Content {
    let mut out = Content::default();
    for (name, value) in root {
        if name == META {
            if let Ok(meta) = serde_json::from_value::<Meta>(value.clone()) {
                out.meta = Some(meta);
            }
            continue;
        }
        let Some((kind, _)) = parse_section(name) else {
            continue;
        };
        match validator.partial_form(kind, value) {
            Ok(form) => out.forms.push((name.clone(), form)),
            Err(e) => {
                tracing::warn!(section = %name, errors = e.0.len(), "projected section does not validate")
            }
        }
    }
    out
}

/// The field a path inside a projection names: `[section, field, ...]`.
pub fn field_at(path: &[String]) -> Option<FieldId> {
    let (kind, _) = parse_section(path.first()?)?;
    kind.field(path.get(1)?)
}

/// A received projection with its values gone: a fresh document, without history, holding only its `_meta` (the
/// facts its sender declared), written by `me` at `now`. What a receiver keeps of a projection its sender
/// withdrew, or whose values its sender rectified.
pub fn facts_only(
    snapshot: &[u8],
    me: &policies::PartnerId,
    validator: &policies::Validator<'_>,
    now: i64,
) -> Vec<u8> {
    let meta = doc::load(snapshot, [])
        .ok()
        .and_then(|am| read(&am, validator).meta);
    let mut facts = doc::new_document(me);
    if let Some(meta) = meta {
        let mut sections = serde_json::Map::new();
        sections.insert(
            META.into(),
            serde_json::to_value(&meta).expect("meta serialises"),
        );
        let _ = doc::write_sections(&mut facts, &sections);
        doc::commit(&mut facts, now);
    }
    facts.save_nocompress()
}

/// `p` withdrawn by this node (`me`): retired — never synced again, its receiver told to delete it — its sync
/// state dropped and its history kept without values ([`redacted_history`]). What a rotation, an erasure and a
/// rectification leave of a projection.
pub fn retire(
    p: &crate::store::ProjectionRecord,
    me: &policies::PartnerId,
) -> crate::store::ProjectionRecord {
    let mut retired = p.clone();
    retired.retired = true;
    retired.sync_state = None;
    if let Some(redacted) = redacted_history(&p.snapshot, me) {
        retired.snapshot = redacted;
    }
    retired
}

/// A retired generation as its sender keeps it: for every change, the facts (`_meta`) and the names of the fields
/// the projection held then — no value. The replay of disclosures (`weerthuis-sim replay`) needs when which facts
/// and fields held; nobody needs the values once the generation is withdrawn, and a value relayed from another
/// partner (the Transferpunt's copy of a zorgaanbieder's registratie in its projection for the gemeente) must not
/// outlive its source's erasure. `None` when the snapshot does not load.
pub fn redacted_history(snapshot: &[u8], me: &policies::PartnerId) -> Option<Vec<u8>> {
    let mut am = doc::load(snapshot, []).ok()?;
    let mut redacted = doc::new_document(me);
    let mut heads = Vec::new();
    for change in am.get_changes(&[]) {
        heads.push(change.hash());
        let Ok(Json::Object(root)) = am.fork_at(&heads).ok().map(|f| doc::read_json(&f))? else {
            continue;
        };
        let sections: Map<String, Json> = root
            .into_iter()
            .map(|(name, section)| {
                if name == META {
                    return (name, section);
                }
                let names = match section {
                    Json::Object(fields) => {
                        fields.into_iter().map(|(f, _)| (f, Json::Null)).collect()
                    }
                    _ => Map::new(),
                };
                (name, Json::Object(names))
            })
            .collect();
        doc::write_sections(&mut redacted, &sections).ok()?;
        doc::commit(&mut redacted, change.timestamp());
    }
    Some(redacted.save_nocompress())
}
