//! Forms as Automerge documents: the mapping between a validated [`Form`] and an [`AutoCommit`] document.
//!
//! The document's root map holds the form's fields by name, in the same JSON shape the API accepts
//! ([`policies::form::Value::to_json`]): text, BSN, gemeente, enum and partner values as strings, dates as
//! `YYYY-MM-DD` strings, yes/no as booleans, whole numbers as `i64`, field lists as lists of strings and records
//! as lists of maps. What comes back out ([`read_json`]) is plain JSON that the caller validates again: a document
//! merged from several writers is only trusted after it passed [`policies::Validator`] once more.
//!
//! Everything here is synchronous and CPU-bound, so callers with large documents can run it on
//! `tokio::task::spawn_blocking` and keep the async executor free (DESIGN.md, lessons from Automerge).

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue};
use policies::PartnerId;
use policies::form::Form;
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};

/// Bytes in an actor id derived from a partner id.
pub const ACTOR_ID_LEN: usize = 16;

/// Why a document could not be read, written or loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocError {
    /// Automerge refused an operation or the stored bytes.
    #[error(transparent)]
    Automerge(#[from] automerge::AutomergeError),
    /// A value the form model does not have (a float, bytes, a counter, text objects).
    #[error("field {path}: a value of a kind the form model does not use ({what})")]
    Unsupported {
        /// Where in the document (`aanbiedingen[0].datum`).
        path: String,
        /// What was found.
        what: &'static str,
    },
}

/// The Automerge actor id a partner writes with: the first 16 bytes of SHA-256 of its partner id.
///
/// Deterministic, so every change a node makes carries an actor that names the partner; the sync layer compares
/// it with the mTLS identity of the peer that sent it (Automerge actor ids themselves prove nothing).
pub fn actor_for(partner: &PartnerId) -> ActorId {
    let digest = Sha256::digest(partner.to_string().as_bytes());
    ActorId::from(&digest[..ACTOR_ID_LEN])
}

/// A new, empty document written by `partner`.
pub fn new_document(partner: &PartnerId) -> AutoCommit {
    AutoCommit::new().with_actor(actor_for(partner))
}

/// Rebuild a document from a stored snapshot (may be empty) and the incremental changes saved after it, to be
/// written further by `partner`.
pub fn load_as<'a>(
    snapshot: &[u8],
    changes: impl IntoIterator<Item = &'a [u8]>,
    partner: &PartnerId,
) -> Result<AutoCommit, DocError> {
    let mut doc = load(snapshot, changes)?;
    doc.set_actor(actor_for(partner));
    Ok(doc)
}

/// Rebuild a document from a stored snapshot (may be empty) and the incremental changes saved after it, for
/// reading (its actor is random: use [`load_as`] to write).
///
/// The snapshot and the changes are read as one byte sequence: Automerge applies all change chunks after the
/// document chunk as one batch, where a `load_incremental` per change applies them one at a time (the larger
/// part of reading a case, measured in the latency bench, #14).
///
/// The save cursor is left where Automerge leaves it after a load: empty. A writer takes what it wrote with
/// [`crate::store::Change::since`] and the heads it loaded, not with `save_incremental()`, which would return
/// the whole document; moving the cursor here would encode every document read once more for nothing.
pub fn load<'a>(
    snapshot: &[u8],
    changes: impl IntoIterator<Item = &'a [u8]>,
) -> Result<AutoCommit, DocError> {
    let mut changes = changes.into_iter().peekable();
    if changes.peek().is_none() {
        return Ok(if snapshot.is_empty() {
            AutoCommit::new()
        } else {
            AutoCommit::load(snapshot)?
        });
    }
    let mut bytes = snapshot.to_vec();
    for change in changes {
        bytes.extend_from_slice(change);
    }
    // As lenient as a change-by-change `load_incremental` was: a stored change whose dependencies are not stored
    // is left out rather than failing the whole document (it comes again with the next sync).
    Ok(AutoCommit::load_with_options(
        &bytes,
        automerge::LoadOptions::new().on_partial_load(automerge::OnPartialLoad::Ignore),
    )?)
}

/// Make the document's root map hold exactly the form's fields: fields whose value changed are written, fields
/// absent from the form are deleted, unchanged fields are left alone (so an unchanged PUT adds no operations and
/// concurrent writers of other fields do not conflict). Returns whether anything changed.
///
/// The operations stay pending until [`commit`] (or the next save, which commits with time 0).
pub fn write_form(doc: &mut AutoCommit, form: &Form) -> Result<bool, DocError> {
    let wanted = match form.to_json() {
        Json::Object(m) => m,
        _ => unreachable!("a form is always a JSON object"),
    };
    sync_map(doc, &ROOT, &wanted, "")
}

/// Make the map `obj` hold exactly `wanted`: changed keys written, absent keys deleted, equal keys left alone.
fn sync_map(
    doc: &mut AutoCommit,
    obj: &ObjId,
    wanted: &Map<String, Json>,
    prefix: &str,
) -> Result<bool, DocError> {
    // One pass over the map's operations, where a `get` per key would seek each key again.
    let automerge::hydrate::Value::Map(present) = doc.hydrate(obj, None)? else {
        unreachable!("sync_map is called on maps")
    };
    let mut changed = false;
    let mut current: std::collections::HashMap<&str, &automerge::hydrate::Value> =
        std::collections::HashMap::new();
    for (key, entry) in present.iter() {
        if wanted.contains_key(key) {
            current.insert(key, &entry.value);
        } else {
            doc.delete(obj, key.as_str())?;
            changed = true;
        }
    }
    for (key, value) in wanted {
        let same = match current.get(key.as_str()) {
            Some(held) => json_of(held).map_err(|e| e.under(&format!("{prefix}{key}")))? == *value,
            None => false,
        };
        if !same {
            put_json(doc, obj, key, value).map_err(|e| e.under(prefix.trim_end_matches('.')))?;
            changed = true;
        }
    }
    Ok(changed)
}

/// Make a projection document hold exactly `sections`: one map per section at the root (`"aanmeldbericht"`,
/// `"_meta"`), each synced like a form, so an unchanged field adds no operation. Returns whether anything changed.
pub fn write_sections(
    doc: &mut AutoCommit,
    sections: &Map<String, Json>,
) -> Result<bool, DocError> {
    let mut changed = false;
    let present: Vec<String> = doc.keys(ROOT).collect();
    for key in present {
        if !sections.contains_key(&key) {
            doc.delete(ROOT, key.as_str())?;
            changed = true;
        }
    }
    for (key, value) in sections {
        let Json::Object(wanted) = value else {
            unreachable!("sections are maps")
        };
        match doc.get(ROOT, key.as_str())? {
            Some((automerge::Value::Object(ObjType::Map), map)) => {
                changed |= sync_map(doc, &map, wanted, &format!("{key}."))?;
            }
            _ => {
                put_json(doc, &ROOT, key, value)?;
                changed = true;
            }
        }
    }
    Ok(changed)
}

/// Commit the pending operations as one change, stamped with `unix_seconds` (advisory in Automerge; it lets a
/// case's history show when). Returns `false` when nothing was pending.
pub fn commit(doc: &mut AutoCommit, unix_seconds: i64) -> bool {
    if doc.pending_ops() == 0 {
        return false;
    }
    doc.commit_with(CommitOptions::default().with_time(unix_seconds))
        .is_some()
}

/// The fields of the document's root map whose current value `actor` wrote (the operation that put the field; a
/// nested edit by another actor does not change whose it is), as JSON. What a rectification's rewrite keeps in its
/// writer's name, and what the partner that shares the document carries over into the new generation.
pub fn fields_written_by(doc: &AutoCommit, actor: &ActorId) -> Result<Map<String, Json>, DocError> {
    let Json::Object(all) = read_json(doc)? else {
        return Ok(Map::new());
    };
    let mut out = Map::new();
    for (key, value) in all {
        if let Some((_, ObjId::Id(_, writer, _))) = doc.get(ROOT, key.as_str())?
            && &writer == actor
        {
            out.insert(key, value);
        }
    }
    Ok(out)
}

/// The document's root map as JSON, for the caller to validate again.
pub fn read_json(doc: &AutoCommit) -> Result<Json, DocError> {
    read_map(doc, &ROOT, "")
}

fn read_map(doc: &AutoCommit, obj: &ObjId, prefix: &str) -> Result<Json, DocError> {
    // `hydrate` reads the whole object in one pass over its operations; a `get` per key seeks every key anew (the
    // larger part of checking a received projection, #14).
    json_of(&doc.hydrate(obj, None)?).map_err(|e| e.under(prefix.trim_end_matches('.')))
}

/// A hydrated value as the JSON the form model uses; an [`DocError::Unsupported`] names the path below `value`.
fn json_of(value: &automerge::hydrate::Value) -> Result<Json, DocError> {
    use automerge::hydrate::Value as H;
    let unsupported = |what| DocError::Unsupported {
        path: String::new(),
        what,
    };
    match value {
        H::Scalar(s) => match s {
            ScalarValue::Str(s) => Ok(Json::String(s.to_string())),
            ScalarValue::Int(i) => Ok(Json::from(*i)),
            ScalarValue::Boolean(b) => Ok(Json::Bool(*b)),
            ScalarValue::Null => Ok(Json::Null),
            ScalarValue::Uint(_) => Err(unsupported("unsigned integer")),
            ScalarValue::F64(_) => Err(unsupported("float")),
            ScalarValue::Bytes(_) => Err(unsupported("bytes")),
            ScalarValue::Counter(_) => Err(unsupported("counter")),
            ScalarValue::Timestamp(_) => Err(unsupported("timestamp")),
            ScalarValue::Unknown { .. } => Err(unsupported("unknown scalar")),
        },
        H::Map(map) => {
            let mut out = Map::new();
            for (key, entry) in map.iter() {
                out.insert(
                    key.clone(),
                    json_of(&entry.value).map_err(|e| e.under(key))?,
                );
            }
            Ok(Json::Object(out))
        }
        H::List(list) => list
            .iter()
            .enumerate()
            .map(|(i, item)| json_of(&item.value).map_err(|e| e.under(&format!("[{i}]"))))
            .collect::<Result<Vec<_>, _>>()
            .map(Json::Array),
        H::Text(_) => Err(unsupported("text or table object")),
    }
}

/// Write a JSON value under `key` of a map, replacing what was there. A map or list is created with all it holds
/// in one batch: Automerge then splices its operation set twice, where an operation at a time splices it once per
/// field (the larger part of writing a new projection, #14). The operations are the same.
fn put_json(doc: &mut AutoCommit, obj: &ObjId, key: &str, value: &Json) -> Result<(), DocError> {
    match value {
        Json::Array(_) | Json::Object(_) => {
            let tree = hydrate_of(value).map_err(|e| e.under(key))?;
            doc.batch_create_object(obj, key, &tree, false)?;
        }
        scalar => {
            doc.put(obj, key, scalar_of(scalar).map_err(|e| e.under(key))?)?;
        }
    }
    Ok(())
}

/// JSON as the tree [`Transactable::batch_create_object`] writes.
fn hydrate_of(value: &Json) -> Result<automerge::hydrate::Value, DocError> {
    use automerge::hydrate::{List, Map as HMap, Value as H};
    Ok(match value {
        Json::Object(m) => {
            let mut fields = std::collections::HashMap::with_capacity(m.len());
            for (k, v) in m {
                fields.insert(k.clone(), hydrate_of(v).map_err(|e| e.under(k))?);
            }
            H::Map(HMap::from(fields))
        }
        Json::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(hydrate_of(item).map_err(|e| e.under(&format!("[{i}]")))?);
            }
            H::List(List::from(out))
        }
        scalar => H::Scalar(scalar_of(scalar)?),
    })
}

fn scalar_of(v: &Json) -> Result<ScalarValue, DocError> {
    match v {
        Json::String(s) => Ok(ScalarValue::Str(s.as_str().into())),
        Json::Bool(b) => Ok(ScalarValue::Boolean(*b)),
        Json::Null => Ok(ScalarValue::Null),
        Json::Number(n) => n
            .as_i64()
            .map(ScalarValue::Int)
            .ok_or_else(|| DocError::Unsupported {
                path: String::new(),
                what: "non-integer number",
            }),
        Json::Array(_) | Json::Object(_) => unreachable!("containers are handled by the caller"),
    }
}

impl DocError {
    /// The error with its path placed under `segment` (a field name, `[3]`, or a path already joined), as it
    /// passes up from a nested value to the field that holds it. Paths are only built on the way out of a failure.
    fn under(self, segment: &str) -> DocError {
        match self {
            DocError::Unsupported { path, what } if !segment.is_empty() => DocError::Unsupported {
                path: if path.is_empty() {
                    segment.to_string()
                } else if path.starts_with('[') {
                    format!("{segment}{path}")
                } else {
                    format!("{segment}.{path}")
                },
                what,
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actor_ids_are_deterministic_and_distinct() {
        let a: PartnerId = "gemeente:GM0080".parse().unwrap();
        let b: PartnerId = "gemeente:GM0090".parse().unwrap();
        assert_eq!(actor_for(&a), actor_for(&a));
        assert_ne!(actor_for(&a), actor_for(&b));
        assert_eq!(actor_for(&a).to_bytes().len(), ACTOR_ID_LEN);
    }

    fn sample() -> Map<String, Json> {
        let Json::Object(m) = serde_json::json!({
            "aanmeldbericht": {
                "naam": "Jan",
                "kinderen": 2,
                "urgent": true,
                "leeg": null,
                "leefgebieden": ["wonen", "financien"],
                "aanbiedingen": [{"datum": "2026-03-01", "adres": {"straat": "Kerkstraat"}}, {"datum": "2026-04-02"}]
            },
            "_meta": {"herkomstgemeente": "GM0080"}
        }) else {
            unreachable!()
        };
        m
    }

    #[test]
    fn sections_written_in_one_batch_read_back_as_written() {
        let me: PartnerId = "zorgaanbieder:kwadrant".parse().unwrap();
        let mut doc = new_document(&me);
        assert!(write_sections(&mut doc, &sample()).unwrap());
        assert!(commit(&mut doc, 0));
        assert_eq!(read_json(&doc).unwrap(), Json::Object(sample()));
        // Written again unchanged: no operation at all.
        assert!(!write_sections(&mut doc, &sample()).unwrap());
        assert_eq!(doc.pending_ops(), 0);
        // Saved and loaded: the same document.
        let loaded = load(&doc.save(), []).unwrap();
        assert_eq!(read_json(&loaded).unwrap(), Json::Object(sample()));
    }

    #[test]
    fn a_batch_created_record_merges_field_by_field_with_a_concurrent_edit() {
        let a: PartnerId = "zorgaanbieder:kwadrant".parse().unwrap();
        let b: PartnerId = "transferpunt:sdf".parse().unwrap();
        let mut left = new_document(&a);
        write_sections(&mut left, &sample()).unwrap();
        commit(&mut left, 0);
        let mut right = load_as(&left.save(), [], &b).unwrap();

        // Each side edits a different field inside the same batch-created nested map.
        let mut on_left = sample();
        on_left["aanmeldbericht"]["naam"] = Json::from("Jan de Vries");
        write_sections(&mut left, &on_left).unwrap();
        commit(&mut left, 1);
        let mut on_right = sample();
        on_right["aanmeldbericht"]["kinderen"] = Json::from(3);
        write_sections(&mut right, &on_right).unwrap();
        commit(&mut right, 1);

        left.merge(&mut right).unwrap();
        let merged = read_json(&left).unwrap();
        assert_eq!(merged["aanmeldbericht"]["naam"], "Jan de Vries");
        assert_eq!(merged["aanmeldbericht"]["kinderen"], 3);
        assert_eq!(
            merged["aanmeldbericht"]["aanbiedingen"][0]["adres"]["straat"],
            "Kerkstraat"
        );
    }

    #[test]
    fn an_unsupported_value_names_its_whole_path() {
        let me: PartnerId = "zorgaanbieder:kwadrant".parse().unwrap();
        // Writing: a float deep inside a record.
        let mut sections = sample();
        sections["aanmeldbericht"]["aanbiedingen"][1]["bedrag"] = serde_json::json!(1.5);
        let mut doc = new_document(&me);
        match write_sections(&mut doc, &sections) {
            Err(DocError::Unsupported { path, what }) => {
                assert_eq!(path, "aanmeldbericht.aanbiedingen[1].bedrag");
                assert_eq!(what, "non-integer number");
            }
            other => panic!("expected Unsupported, got {other:?}"),
        }
        // Reading: a float another writer put into a list inside a map.
        let mut doc = new_document(&me);
        let map = doc
            .put_object(ROOT, "aanmeldbericht", ObjType::Map)
            .unwrap();
        let list = doc.put_object(&map, "leefgebieden", ObjType::List).unwrap();
        doc.insert(&list, 0, "wonen").unwrap();
        doc.insert(&list, 1, 2.5).unwrap();
        match read_json(&doc) {
            Err(DocError::Unsupported { path, what }) => {
                assert_eq!(path, "aanmeldbericht.leefgebieden[1]");
                assert_eq!(what, "float");
            }
            other => panic!("expected Unsupported, got {other:?}"),
        }
    }
}
