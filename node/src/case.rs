//! A case as this node holds it: its forms (own, received whole, projected here), the facts its partners declared,
//! and each case document with who wrote what in it.
//!
//! Between `service` (which loads cases from the store) and everything that decides on them (`facts`, `sync`,
//! `monitor`): it depends on neither, so none of them depends on another through it.

use std::collections::BTreeMap;

use automerge::{ActorId, AutoCommit};
use policies::form::Form;
use policies::{CaseDocuments, DocumentKind, FieldSet, PartnerId};

use crate::store::DocKey;

/// A case as this node holds it.
#[derive(Debug, Clone, Default)]
pub struct LoadedCase {
    /// Its forms: own, received whole, and the fields projected to this node.
    pub docs: CaseDocuments,
    /// The form documents stored (not projections).
    pub keys: Vec<DocKey>,
    /// The sections received in projections (`registratie`, `aanmeldbericht/corporatie:elkien`), each with its
    /// form.
    pub projected_sections: Vec<(String, Form)>,
    /// Who sent each section received in a projection: a melding instance another partner projected here is
    /// that partner's.
    pub section_senders: BTreeMap<String, PartnerId>,
    /// What each sender of a projection declared in its `_meta`. Which of them count is
    /// [`crate::facts::authorities`]' business.
    pub declarations: BTreeMap<PartnerId, crate::projection::Meta>,
}

impl LoadedCase {
    /// A case as held by a node that has these form documents and has received no projection yet.
    pub fn new(docs: CaseDocuments, keys: Vec<DocKey>) -> LoadedCase {
        LoadedCase {
            docs,
            keys,
            ..LoadedCase::default()
        }
    }

    /// Add what a projection received from `sender` holds: its forms, and the facts the sender declared.
    pub fn add_projection(
        &mut self,
        sender: Option<PartnerId>,
        content: crate::projection::Content,
    ) {
        let crate::projection::Content { forms, meta, .. } = content;
        if let (Some(sender), Some(meta)) = (sender.clone(), meta) {
            self.declarations.insert(sender, meta);
        }
        for (section, form) in forms {
            if let Some(sender) = &sender {
                self.section_senders.insert(section.clone(), sender.clone());
            }
            self.docs.insert(form.clone());
            self.projected_sections.push((section, form));
        }
    }
}

/// A case document as held here: its key, content and who wrote what in it.
#[derive(Debug, Clone)]
pub struct LocalDoc {
    /// Its key.
    pub key: DocKey,
    /// Its content, validated.
    pub form: Form,
    /// For every actor in its history, the fields its changes set or removed.
    pub authors: BTreeMap<ActorId, FieldSet>,
    /// The actor of its first change: who created this instance.
    pub creator: Option<ActorId>,
    /// Its generation (see [`crate::sync::wire::WireDoc::Form`]).
    pub generation: u64,
}

/// JSON read from a document once, shared by every reader.
type SharedJson = std::sync::Arc<serde_json::Value>;

/// Who wrote which fields of a document, and who created it: [`authors_of`]'s answer.
pub type Authors = (BTreeMap<ActorId, FieldSet>, Option<ActorId>);

/// What was read from one stored document at one set of heads. Heads name the content: the same heads are the
/// same document, so what was read from them holds until they move.
#[derive(Debug, Clone)]
struct Decoded {
    heads: Vec<automerge::ChangeHash>,
    /// `doc::read_json` of it. Validated again by every reader: which gemeenten exist and which date it is may
    /// have changed since it was read.
    json: std::sync::Arc<serde_json::Value>,
    /// [`authors_of`] it, once a reader needed them.
    authors: Option<std::sync::Arc<Authors>>,
}

/// What was last read from each stored case document and each received projection, by content: a document by its
/// heads, a projection by the SHA-256 of its snapshot. Reading a case decodes only what changed since it was last
/// read; before this cache every plan, every receipt and every write decoded every document of the case again
/// (#14: Automerge loading was the larger part of an edit's cost). Bounded: emptied when full.
#[derive(Debug, Default)]
pub struct DocCache {
    documents: std::sync::Mutex<std::collections::HashMap<crate::store::DocId, Decoded>>,
    projections: std::sync::Mutex<std::collections::HashMap<String, ([u8; 32], SharedJson)>>,
    /// Projection documents as Automerge documents, by wire id and snapshot digest: a projection is synced
    /// message by message, and each message would otherwise load its whole history again.
    projection_docs: std::sync::Mutex<std::collections::HashMap<String, ([u8; 32], AutoCommit)>>,
    /// Case documents as Automerge documents, by id and heads: the next write of a document starts from the one
    /// the last write left, not from its whole history again.
    automerge_docs: std::sync::Mutex<
        std::collections::HashMap<crate::store::DocId, (Vec<automerge::ChangeHash>, AutoCommit)>,
    >,
}

/// Most documents, and most projections, [`DocCache`] keeps.
pub const DOC_CACHE: usize = 20_000;

/// Most projection documents [`DocCache`] keeps as Automerge documents: these are larger than what is read from
/// them, so fewer — the ones being synced now.
pub const PROJECTION_DOC_CACHE: usize = 1_000;

/// Most case documents [`DocCache`] keeps as Automerge documents: the ones being written now.
pub const AUTOMERGE_DOC_CACHE: usize = 1_000;

/// What [`DocCache`] knows a projection's content by: the SHA-256 of its stored snapshot.
pub fn snapshot_digest(snapshot: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(snapshot).into()
}

impl DocCache {
    /// The JSON of a document at `heads`, when it was read at those heads.
    pub(crate) fn json(
        &self,
        id: &crate::store::DocId,
        heads: &[automerge::ChangeHash],
    ) -> Option<std::sync::Arc<serde_json::Value>> {
        let map = self.documents.lock().expect("doc cache lock");
        map.get(id)
            .filter(|d| d.heads == heads)
            .map(|d| d.json.clone())
    }

    /// The JSON and the authors of a document at `heads`, when both were read at those heads.
    pub(crate) fn with_authors(
        &self,
        id: &crate::store::DocId,
        heads: &[automerge::ChangeHash],
    ) -> Option<(std::sync::Arc<serde_json::Value>, std::sync::Arc<Authors>)> {
        let map = self.documents.lock().expect("doc cache lock");
        let d = map.get(id).filter(|d| d.heads == heads)?;
        Some((d.json.clone(), d.authors.clone()?))
    }

    /// Remember what was read from a document at `heads` (its authors when they were worked out).
    pub(crate) fn put(
        &self,
        id: crate::store::DocId,
        heads: Vec<automerge::ChangeHash>,
        json: std::sync::Arc<serde_json::Value>,
        authors: Option<std::sync::Arc<Authors>>,
    ) {
        let mut map = self.documents.lock().expect("doc cache lock");
        if map.len() >= DOC_CACHE {
            map.clear();
        }
        map.insert(
            id,
            Decoded {
                heads,
                json,
                authors,
            },
        );
    }

    /// A copy of the case document `id` at `heads`, when one was remembered at those heads.
    pub(crate) fn automerge(
        &self,
        id: &crate::store::DocId,
        heads: &[automerge::ChangeHash],
    ) -> Option<AutoCommit> {
        let map = self.automerge_docs.lock().expect("doc cache lock");
        map.get(id)
            .filter(|(h, _)| h == heads)
            .map(|(_, am)| am.clone())
    }

    /// Remember `am` as the case document `id` at `heads`.
    pub(crate) fn remember_automerge(
        &self,
        id: crate::store::DocId,
        heads: Vec<automerge::ChangeHash>,
        am: &AutoCommit,
    ) {
        let mut map = self.automerge_docs.lock().expect("doc cache lock");
        if map.len() >= AUTOMERGE_DOC_CACHE {
            map.clear();
        }
        map.insert(id, (heads, am.clone()));
    }

    /// The JSON of a received projection, decoded from its snapshot (by `read`) once per content.
    pub(crate) fn projection(
        &self,
        wire_id: &str,
        snapshot: &[u8],
        read: impl FnOnce() -> Result<serde_json::Value, crate::doc::DocError>,
    ) -> Result<std::sync::Arc<serde_json::Value>, crate::doc::DocError> {
        let digest = snapshot_digest(snapshot);
        {
            let map = self.projections.lock().expect("doc cache lock");
            if let Some((d, content)) = map.get(wire_id)
                && *d == digest
            {
                return Ok(content.clone());
            }
        }
        // The document itself may be remembered (the receiver keeps the one it just stored): read from it, not
        // from the snapshot's whole history.
        let remembered = {
            let map = self.projection_docs.lock().expect("doc cache lock");
            map.get(wire_id)
                .filter(|(d, _)| *d == digest)
                .map(|(_, am)| crate::doc::read_json(am))
        };
        let json = std::sync::Arc::new(match remembered {
            Some(json) => json?,
            None => read()?,
        });
        let mut map = self.projections.lock().expect("doc cache lock");
        if map.len() >= DOC_CACHE {
            map.clear();
        }
        map.insert(wire_id.to_string(), (digest, json.clone()));
        Ok(json)
    }

    /// A stored projection as an Automerge document (its actor random, as [`crate::doc::load`] leaves it): a
    /// copy of the one remembered for this snapshot, else loaded from it.
    pub(crate) fn projection_doc(
        &self,
        wire_id: &str,
        snapshot: &[u8],
    ) -> Result<AutoCommit, crate::doc::DocError> {
        let digest = snapshot_digest(snapshot);
        {
            let map = self.projection_docs.lock().expect("doc cache lock");
            if let Some((d, am)) = map.get(wire_id)
                && *d == digest
            {
                return Ok(am.clone());
            }
        }
        let am = crate::doc::load(snapshot, [])?;
        self.remember_projection_doc(wire_id, digest, &am);
        Ok(am)
    }

    /// Remember `am` as the projection `wire_id` whose stored snapshot has `digest`.
    pub(crate) fn remember_projection_doc(&self, wire_id: &str, digest: [u8; 32], am: &AutoCommit) {
        let mut map = self.projection_docs.lock().expect("doc cache lock");
        if map.len() >= PROJECTION_DOC_CACHE {
            map.clear();
        }
        map.insert(wire_id.to_string(), (digest, am.clone()));
    }
}

/// Who wrote which fields of a case document, over its whole history, and who created it.
pub fn authors_of(
    am: &mut automerge::AutoCommit,
    kind: DocumentKind,
) -> (BTreeMap<ActorId, FieldSet>, Option<ActorId>) {
    let changes = am.get_changes(&[]);
    authors_after(&Authors::default(), am, kind, &changes)
}

/// [`authors_of`] `am`, knowing those of its history before `new` (`before`), `new` being every change it holds
/// beyond that: only the new changes are traced (a write knows what it read; #14).
pub fn authors_after(
    before: &Authors,
    am: &mut automerge::AutoCommit,
    kind: DocumentKind,
    new: &[automerge::Change],
) -> Authors {
    let (mut authors, creator) = before.clone();
    let creator = creator.or_else(|| new.first().map(|c| c.actor_id().clone()));
    for c in new {
        authors.entry(c.actor_id().clone()).or_default();
    }
    for op in crate::ops::touched(am, new) {
        let field = op
            .path
            .as_ref()
            .and_then(|p| p.first())
            .and_then(|f| kind.field(f));
        let set = authors.entry(op.actor).or_default();
        match field {
            Some(field) => set.insert(field),
            // An operation that cannot be traced to a field might touch any: it must not pass as none.
            None => *set = set.union(FieldSet::document(kind)),
        }
    }
    (authors, creator)
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ObjType, ROOT};

    use super::*;

    /// A write works out the authors from those it read and its own change; that must be what the whole history
    /// says, for every writer and the creator.
    #[test]
    fn authors_after_a_change_are_the_authors_of_the_whole_history() {
        let kind = DocumentKind::Aanmelding;
        let mut am = AutoCommit::new().with_actor(ActorId::from(vec![1; 16]));
        am.put(ROOT, "telefoonnummer", "0612345678").unwrap();
        am.commit();
        let mut known = authors_of(&mut am, kind);
        for (i, actor) in [2u8, 1, 3, 2].into_iter().enumerate() {
            let before = am.get_heads();
            am.set_actor(ActorId::from(vec![actor; 16]));
            if i == 2 {
                let list = am.put_object(ROOT, "onbekend", ObjType::List).unwrap();
                am.insert(&list, 0, "x").unwrap();
            } else {
                am.put(ROOT, "email", format!("{i}@example.nl")).unwrap();
            }
            am.commit();
            let new = am.get_changes(&before);
            known = authors_after(&known, &mut am, kind, &new);
            assert_eq!(known, authors_of(&mut am, kind), "after change {i}");
        }
        assert_eq!(known.1, Some(ActorId::from(vec![1; 16])));
    }
}
