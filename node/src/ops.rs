//! What an incoming change touches, op by op, resolved to the path of keys from the document's root.
//!
//! Automerge's actor ids are bytes the sender chooses, and a document diff hides a write that lost a conflict, so
//! the sync layer checks every operation of every new change instead. Objects (lists of records, projection
//! sections) are resolved to the key that created them by walking the whole history, so an operation on an object
//! that is no longer visible is still attributed to its field.

use std::collections::HashMap;

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{ActorId, AutoCommit, Change};

/// One operation of an incoming change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TouchedOp {
    /// Who made the change.
    pub actor: ActorId,
    /// Map keys from the root down to the key written (list positions left out); `None` when the object cannot be
    /// traced to the root.
    pub path: Option<Vec<String>>,
}

fn key_name(k: &Key) -> Option<String> {
    match k {
        Key::Map(s) => Some(s.to_string()),
        Key::Seq(_) => None,
    }
}

/// Every operation of `new`, with the path it writes. `doc` is the document with `new` applied.
pub fn touched(doc: &mut AutoCommit, new: &[Change]) -> Vec<TouchedOp> {
    // Which object was created by which operation, under which parent and key.
    let mut parents: HashMap<OpId, (ObjectId, Option<String>)> = HashMap::new();
    for change in doc.get_changes(&[]) {
        let expanded = change.decode();
        let start = expanded.start_op.get();
        for (i, op) in expanded.operations.iter().enumerate() {
            if let OpType::Make(_) = op.action {
                let id = OpId(start + i as u64, expanded.actor_id.clone());
                parents.insert(id, (op.obj.clone(), key_name(&op.key)));
            }
        }
    }
    let resolve = |obj: &ObjectId, key: &Key| -> Option<Vec<String>> {
        let mut path: Vec<String> = key_name(key).into_iter().collect();
        let mut current = obj.clone();
        let mut guard = 0;
        while let ObjectId::Id(id) = current {
            let (parent, k) = parents.get(&id)?;
            if let Some(k) = k {
                path.push(k.clone());
            }
            current = parent.clone();
            guard += 1;
            if guard > 64 {
                return None;
            }
        }
        path.reverse();
        Some(path)
    };
    new.iter()
        .flat_map(|c| {
            let e = c.decode();
            let actor = e.actor_id.clone();
            e.operations
                .iter()
                .map(|op| TouchedOp {
                    actor: actor.clone(),
                    path: resolve(&op.obj, &op.key),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ROOT};

    use super::*;

    #[test]
    fn ops_on_nested_objects_resolve_to_their_root_key() {
        let mut d = AutoCommit::new().with_actor(ActorId::from(vec![1; 16]));
        d.put(ROOT, "bsn", "123456782").unwrap();
        let list = d.put_object(ROOT, "aanbiedingen", ObjType::List).unwrap();
        let rec = d.insert_object(&list, 0, ObjType::Map).unwrap();
        d.put(&rec, "adres", "Dokkumerweg 1").unwrap();
        d.commit();
        let before = d.get_heads();
        d.put(&rec, "reactie_client", "geweigerd").unwrap();
        let section = d.put_object(ROOT, "registratie", ObjType::Map).unwrap();
        d.put(&section, "bsn", "x").unwrap();
        d.commit();
        let new = d.get_changes(&before);
        let paths: Vec<Vec<String>> = touched(&mut d, &new)
            .into_iter()
            .map(|t| t.path.unwrap())
            .collect();
        assert_eq!(
            paths,
            vec![
                vec!["aanbiedingen".to_string(), "reactie_client".to_string()],
                vec!["registratie".to_string()],
                vec!["registratie".to_string(), "bsn".to_string()],
            ]
        );
    }
}
