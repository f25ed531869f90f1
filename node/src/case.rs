//! A case as this node holds it: its forms (own, received whole, projected here), the facts its partners declared,
//! and each case document with who wrote what in it.
//!
//! Between `service` (which loads cases from the store) and everything that decides on them (`facts`, `sync`,
//! `monitor`): it depends on neither, so none of them depends on another through it.

use std::collections::BTreeMap;

use automerge::ActorId;
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

/// Case documents as last read, by document id and heads (see [`crate::service::Node::local_docs`]). Bounded: emptied when full.
#[derive(Debug, Default)]
pub struct LocalDocCache(
    std::sync::Mutex<
        std::collections::HashMap<crate::store::DocId, (Vec<automerge::ChangeHash>, LocalDoc)>,
    >,
);

/// Most documents [`LocalDocCache`] keeps.
pub const LOCAL_DOC_CACHE: usize = 20_000;

impl LocalDocCache {
    pub(crate) fn get(
        &self,
        id: &crate::store::DocId,
        heads: &[automerge::ChangeHash],
    ) -> Option<LocalDoc> {
        let map = self.0.lock().expect("local doc cache lock");
        map.get(id)
            .filter(|(h, _)| h.as_slice() == heads)
            .map(|(_, d)| d.clone())
    }

    pub(crate) fn put(
        &self,
        id: crate::store::DocId,
        heads: Vec<automerge::ChangeHash>,
        doc: LocalDoc,
    ) {
        let mut map = self.0.lock().expect("local doc cache lock");
        if map.len() >= LOCAL_DOC_CACHE {
            map.clear();
        }
        map.insert(id, (heads, doc));
    }

    /// Forget a document (deleted).
    pub fn remove(&self, id: &crate::store::DocId) {
        self.0.lock().expect("local doc cache lock").remove(id);
    }
}

/// Who wrote which fields of a case document, over its whole history, and who created it.
pub fn authors_of(
    am: &mut automerge::AutoCommit,
    kind: DocumentKind,
) -> (BTreeMap<ActorId, FieldSet>, Option<ActorId>) {
    let changes = am.get_changes(&[]);
    let creator = changes.first().map(|c| c.actor_id().clone());
    let mut authors: BTreeMap<ActorId, FieldSet> = BTreeMap::new();
    for c in &changes {
        authors.entry(c.actor_id().clone()).or_default();
    }
    for op in crate::ops::touched(am, &changes) {
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
