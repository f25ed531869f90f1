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
    let mut changed = false;
    let present: Vec<String> = doc.keys(obj).collect();
    for key in present {
        if !wanted.contains_key(&key) {
            doc.delete(obj, key.as_str())?;
            changed = true;
        }
    }
    for (key, value) in wanted {
        let path = format!("{prefix}{key}");
        let current = match doc.get(obj, key.as_str())? {
            Some((v, id)) => Some(read_value(doc, v, &id, &path)?),
            None => None,
        };
        if current.as_ref() != Some(value) {
            put_json(doc, obj, key, value)?;
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
        let map = match doc.get(ROOT, key.as_str())? {
            Some((automerge::Value::Object(ObjType::Map), id)) => id,
            _ => {
                changed = true;
                doc.put_object(ROOT, key.as_str(), ObjType::Map)?
            }
        };
        changed |= sync_map(doc, &map, wanted, &format!("{key}."))?;
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
    let mut out = Map::new();
    for key in doc.keys(obj) {
        let path = format!("{prefix}{key}");
        if let Some((v, id)) = doc.get(obj, key.as_str())? {
            out.insert(key, read_value(doc, v, &id, &path)?);
        }
    }
    Ok(Json::Object(out))
}

fn read_value(
    doc: &AutoCommit,
    v: automerge::Value<'_>,
    id: &ObjId,
    path: &str,
) -> Result<Json, DocError> {
    let unsupported = |what| DocError::Unsupported {
        path: path.to_string(),
        what,
    };
    match v {
        automerge::Value::Scalar(s) => match s.as_ref() {
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
        automerge::Value::Object(ObjType::Map) => read_map(doc, id, &format!("{path}.")),
        automerge::Value::Object(ObjType::List) => {
            let mut items = Vec::with_capacity(doc.length(id));
            for i in 0..doc.length(id) {
                let item_path = format!("{path}[{i}]");
                match doc.get(id, i)? {
                    Some((v, item_id)) => items.push(read_value(doc, v, &item_id, &item_path)?),
                    None => items.push(Json::Null),
                }
            }
            Ok(Json::Array(items))
        }
        automerge::Value::Object(_) => Err(unsupported("text or table object")),
    }
}

/// Write a JSON value under `key` of a map, replacing what was there.
fn put_json(doc: &mut AutoCommit, obj: &ObjId, key: &str, value: &Json) -> Result<(), DocError> {
    match value {
        Json::Array(items) => {
            let list = doc.put_object(obj, key, ObjType::List)?;
            fill_list(doc, &list, items, key)
        }
        Json::Object(m) => {
            let map = doc.put_object(obj, key, ObjType::Map)?;
            fill_map(doc, &map, m, key)
        }
        scalar => {
            doc.put(obj, key, scalar_of(scalar, key)?)?;
            Ok(())
        }
    }
}

fn fill_map(
    doc: &mut AutoCommit,
    map: &ObjId,
    m: &Map<String, Json>,
    path: &str,
) -> Result<(), DocError> {
    for (k, v) in m {
        put_json(doc, map, k, v).map_err(|e| with_prefix(e, path))?;
    }
    Ok(())
}

fn fill_list(
    doc: &mut AutoCommit,
    list: &ObjId,
    items: &[Json],
    path: &str,
) -> Result<(), DocError> {
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        match item {
            Json::Array(inner) => {
                let l = doc.insert_object(list, i, ObjType::List)?;
                fill_list(doc, &l, inner, &item_path)?;
            }
            Json::Object(m) => {
                let map = doc.insert_object(list, i, ObjType::Map)?;
                fill_map(doc, &map, m, &item_path)?;
            }
            scalar => doc.insert(list, i, scalar_of(scalar, &item_path)?)?,
        }
    }
    Ok(())
}

fn scalar_of(v: &Json, path: &str) -> Result<ScalarValue, DocError> {
    match v {
        Json::String(s) => Ok(ScalarValue::Str(s.as_str().into())),
        Json::Bool(b) => Ok(ScalarValue::Boolean(*b)),
        Json::Null => Ok(ScalarValue::Null),
        Json::Number(n) => n
            .as_i64()
            .map(ScalarValue::Int)
            .ok_or_else(|| DocError::Unsupported {
                path: path.to_string(),
                what: "non-integer number",
            }),
        Json::Array(_) | Json::Object(_) => unreachable!("containers are handled by the caller"),
    }
}

fn with_prefix(e: DocError, prefix: &str) -> DocError {
    match e {
        DocError::Unsupported { path, what } => DocError::Unsupported {
            path: format!("{prefix}.{path}"),
            what,
        },
        other => other,
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
}
