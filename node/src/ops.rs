//! What an incoming change touches, op by op, resolved to the path of keys from the document's root.
//!
//! Automerge's actor ids are bytes the sender chooses, and a document diff hides a write that lost a conflict, so
//! the sync layer checks every operation of every new change instead. Objects (lists of records, projection
//! sections) are resolved to the key that created them by walking the whole history — once per history, extended
//! change by change after that — so an operation on an object that is no longer visible is still attributed to its
//! field.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex};

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{ActorId, AutoCommit, Change, ChangeHash};

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

/// Which object each `Make` operation of a history created, under which parent object and key: what traces an
/// operation to the field it touches, also when its object is no longer visible.
#[derive(Debug, Clone, Default)]
struct Origins(HashMap<OpId, (ObjectId, Option<String>)>);

impl Origins {
    fn add(&mut self, changes: &[Change]) {
        for change in changes {
            let expanded = change.decode();
            let start = expanded.start_op.get();
            for (i, op) in expanded.operations.iter().enumerate() {
                if let OpType::Make(_) = op.action {
                    let id = OpId(start + i as u64, expanded.actor_id.clone());
                    self.0.insert(id, (op.obj.clone(), key_name(&op.key)));
                }
            }
        }
    }

    /// The keys from the root down to `key` of `obj`; `None` when `obj` was made by no operation of the history.
    fn resolve(&self, obj: &ObjectId, key: &Key) -> Option<Vec<String>> {
        let mut path: Vec<String> = key_name(key).into_iter().collect();
        let mut current = obj.clone();
        let mut guard = 0;
        while let ObjectId::Id(id) = current {
            let (parent, k) = self.0.get(&id)?;
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
    }
}

/// [`Origins`] by the heads of the history they were read from. Heads name a whole history (a change's hash
/// covers its dependencies), so an entry is never stale and may serve every node in the process. Without it every
/// message decoded the document's whole history to trace a handful of new operations (#14: the largest cost of an
/// edit on a long-lived case, growing with every change). Holds object ids and key names, no values.
static ORIGINS: LazyLock<Mutex<HashMap<Vec<ChangeHash>, Arc<Origins>>>> =
    LazyLock::new(Mutex::default);

/// Most histories [`ORIGINS`] keeps; emptied when full.
const ORIGINS_KEPT: usize = 4_096;

fn sorted(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort_unstable();
    heads.dedup();
    heads
}

/// The origins of `doc`'s history, `new` its latest changes: those remembered for the heads before `new`,
/// extended by `new`, when they are remembered; else read from the whole history.
fn origins(doc: &mut AutoCommit, new: &[Change]) -> Arc<Origins> {
    let after = sorted(doc.get_heads());
    if let Some(o) = ORIGINS.lock().expect("origins lock").get(&after) {
        return o.clone();
    }
    // The heads before `new`: the heads not among `new`, and what `new` depends on outside itself. When one of
    // those is an ancestor of another the set is no history's heads, and the lookup misses: read in full.
    let added: HashSet<ChangeHash> = new.iter().map(Change::hash).collect();
    let before = sorted(
        after
            .iter()
            .chain(new.iter().flat_map(|c| c.deps()))
            .filter(|h| !added.contains(h))
            .copied()
            .collect(),
    );
    let known = ORIGINS.lock().expect("origins lock").get(&before).cloned();
    let mut origins = match known {
        Some(o) => (*o).clone(),
        None if before.is_empty() => Origins::default(),
        None => {
            let mut o = Origins::default();
            o.add(&doc.get_changes(&[]));
            let o = Arc::new(o);
            remember(after, o.clone());
            return o;
        }
    };
    origins.add(new);
    let origins = Arc::new(origins);
    remember(after, origins.clone());
    origins
}

fn remember(heads: Vec<ChangeHash>, origins: Arc<Origins>) {
    let mut map = ORIGINS.lock().expect("origins lock");
    if map.len() >= ORIGINS_KEPT {
        map.clear();
    }
    map.insert(heads, origins);
}

/// Every operation of `new`, with the path it writes. `doc` is the document with `new` applied, and `new` every
/// change it holds beyond some earlier heads of it (all of its changes, or those since a sync message's `before`).
pub fn touched(doc: &mut AutoCommit, new: &[Change]) -> Vec<TouchedOp> {
    let origins = origins(doc, new);
    new.iter()
        .flat_map(|c| {
            let e = c.decode();
            let actor = e.actor_id.clone();
            e.operations
                .iter()
                .map(|op| TouchedOp {
                    actor: actor.clone(),
                    path: origins.resolve(&op.obj, &op.key),
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

    /// Every call traces the same paths whether the history's origins were remembered (extended change by change)
    /// or read in full: after a chain of edits, on an object no longer visible, and after concurrent changes, when
    /// the heads before the new ones cannot be told from the new changes alone.
    #[test]
    fn remembered_origins_trace_as_the_whole_history_does() {
        fn full(doc: &mut AutoCommit, new: &[Change]) -> Vec<TouchedOp> {
            let mut o = Origins::default();
            o.add(&doc.get_changes(&[]));
            new.iter()
                .flat_map(|c| {
                    let e = c.decode();
                    e.operations
                        .iter()
                        .map(|op| TouchedOp {
                            actor: e.actor_id.clone(),
                            path: o.resolve(&op.obj, &op.key),
                        })
                        .collect::<Vec<_>>()
                })
                .collect()
        }
        let mut a = AutoCommit::new().with_actor(ActorId::from(vec![7; 16]));
        let first = a.put_object(ROOT, "aanmelding", ObjType::Map).unwrap();
        a.put(&first, "telefoonnummer", "0").unwrap();
        a.commit();
        // Replaced: `first` is no longer visible, but an edit on it still belongs to `aanmelding`.
        let section = a.put_object(ROOT, "aanmelding", ObjType::Map).unwrap();
        a.commit();
        for i in 0..20 {
            let before = a.get_heads();
            let target = if i == 10 { &first } else { &section };
            a.put(target, "telefoonnummer", i.to_string()).unwrap();
            a.commit();
            let new = a.get_changes(&before);
            let traced = touched(&mut a, &new);
            assert_eq!(traced, full(&mut a, &new), "edit {i}");
            assert_eq!(
                traced[0].path.as_deref(),
                Some(&["aanmelding".to_string(), "telefoonnummer".to_string()][..])
            );
        }
        // Concurrent: `b` forks, both write, `a` takes `b`'s change on top of its own.
        let mut b = a.fork().with_actor(ActorId::from(vec![8; 16]));
        let list = b
            .put_object(&section, "aanbiedingen", ObjType::List)
            .unwrap();
        b.insert(&list, 0, "x").unwrap();
        b.commit();
        a.put(&section, "email", "a@b.nl").unwrap();
        a.commit();
        let before = a.get_heads();
        a.merge(&mut b).unwrap();
        let new = a.get_changes(&before);
        let traced = touched(&mut a, &new);
        assert_eq!(traced, full(&mut a, &new));
        assert!(traced.iter().all(|t| t.path.is_some()));
    }
}
