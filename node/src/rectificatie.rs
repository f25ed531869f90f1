//! Rectificatie (AVG art. 16): correct a value so that the wrong one is gone from every stored history, here and at
//! every partner that received it.
//!
//! A correction through the ordinary write path leaves the old value in the document's Automerge history. So after
//! the correction (validated and checked as every write is) the document is **rewritten without history**: a fresh
//! Automerge document, one change in this node's name holding what this node wrote, stored as the document's next
//! **generation** — its old history and sync states deleted in the same transaction, with the audit record and a
//! notice for every partner that received part of the case (art. 16 with art. 19). The generation is part of the
//! document's name between nodes (`c/<case>/<kind>@<generation>`), so a message for the old one is never merged
//! into the new one. Every projection this node sent of the case is withdrawn and made anew, as a rotation does.
//!
//! Only the partner that created a document rewrites it (each partner is its own controller, Afspraak 8): what
//! another partner wrote into it — the Transferpunt's marks in a bemiddelingsverzoek — is left out of the rewrite
//! and written again by that partner, in its own name, when the new generation reaches it
//! (`sync::receive::carry_over`).
//!
//! **A partner told** ([`Node::take_rectification`]): nothing of the case is synced between the two until it has
//! confirmed, so it acts before any new generation reaches it. It withdraws what it received from the rectifying
//! partner (those projections are kept retired, without values) and every projection it sent of the case (its
//! receivers are told in turn, so a value relayed through the Transferpunt to a gemeente is replaced too); it makes
//! no new projection of the case until the rewritten documents it held whole have reached it at their new
//! generation, so it never passes on the old values still in its copy; then the new generations carry the corrected
//! values.

use std::collections::BTreeSet;

use policies::{DocumentKind, FieldId, PartnerId};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::audit::Operation;
use crate::doc;
use crate::service::{FormWrite, Node, ServiceError};
use crate::store::{CaseId, Change, DocKey, RectificationNotice, User};
use crate::wire::WireDoc;

/// The artefact kind of a rectification notice between nodes.
pub const KIND_NOTICE: &str = "rectificatie";
/// The artefact kind of its confirmation.
pub const KIND_CONFIRMATION: &str = "rectificatie-ontvangen";

/// Most documents one notice may name (a case has a handful).
const MAX_NOTICE_DOCS: usize = 64;

/// The corrections to one of this node's documents.
#[derive(Debug, Clone)]
pub struct Correction {
    /// The form.
    pub kind: DocumentKind,
    /// The instance, for kinds a case holds several of.
    pub instance: Option<String>,
    /// Field names and their right values; `null` removes a value that should not be there.
    pub fields: Map<String, Json>,
}

impl Correction {
    /// Corrections to a form a case holds once.
    pub fn of(kind: DocumentKind, fields: impl IntoIterator<Item = (&'static str, Json)>) -> Self {
        Correction {
            kind,
            instance: None,
            fields: fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }
}

/// What a rectification did.
#[derive(Debug, Clone, Serialize)]
pub struct Rectified {
    /// The case.
    pub case: String,
    /// The documents rewritten, by their names between nodes at their new generation.
    pub documents: Vec<String>,
    /// The fields corrected (`form.field`).
    pub fields: Vec<String>,
    /// The partners that received part of the case, and are told.
    pub told: Vec<String>,
}

/// A rectification notice or its confirmation as it travels (`Message::Artefact`); the sender is the
/// connection's authenticated peer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NoticeWire {
    /// The case id.
    pub case: String,
    /// The partner that rectified.
    pub origin: String,
    /// Which of its rectifications.
    pub serial: i64,
    /// For a notice: the rewritten documents the receiver holds whole, at their new generation.
    #[serde(default)]
    pub docs: Vec<String>,
}

impl NoticeWire {
    /// Read a notice from `peer`, checking its shape: a case id, and only documents of that case.
    pub fn read(peer: &PartnerId, data: &[u8]) -> Result<RectificationNotice, String> {
        let wire: NoticeWire =
            serde_json::from_slice(data).map_err(|e| format!("not a rectification notice: {e}"))?;
        let case: CaseId = wire
            .case
            .parse()
            .map_err(|_| "case: not a case id".to_string())?;
        let origin: PartnerId = wire
            .origin
            .parse()
            .map_err(|_| "origin: not a partner id".to_string())?;
        if wire.docs.len() > MAX_NOTICE_DOCS {
            return Err(format!("docs: more than {MAX_NOTICE_DOCS} documents"));
        }
        for d in &wire.docs {
            match WireDoc::parse(d) {
                Some(WireDoc::Form(k, _)) if k.case == case => {}
                _ => return Err(format!("docs: {d:?} is not a document of the case")),
            }
        }
        // Only the origin rewrites documents: a notice passed on names none.
        if origin != *peer && !wire.docs.is_empty() {
            return Err("docs: only the partner that rectified names rewritten documents".into());
        }
        Ok(RectificationNotice {
            peer: peer.to_string(),
            case,
            origin: origin.to_string(),
            serial: wire.serial,
            docs: wire.docs,
            confirmed: false,
        })
    }

    /// The notice as it is sent.
    pub fn of(n: &RectificationNotice) -> Vec<u8> {
        serde_json::to_vec(&NoticeWire {
            case: n.case.to_string(),
            origin: n.origin.clone(),
            serial: n.serial,
            docs: n.docs.clone(),
        })
        .expect("a notice serialises")
    }
}

impl Node {
    /// Correct fields of this node's own documents and rewrite each without history (see the module docs), as
    /// one step: one write, one rewrite, one notice per partner. A value that is wrong in several forms (a name
    /// in the registratie, the aanmelding and vervolg wonen) is corrected in all of them at once.
    pub async fn rectify(
        &self,
        user: &User,
        case: &CaseId,
        corrections: &[Correction],
    ) -> Result<Rectified, ServiceError> {
        self.case_exists(case).await?;
        if corrections.iter().all(|c| c.fields.is_empty()) {
            return Err(ServiceError::BadRequest(
                "rectificatie: geen veld om te corrigeren".into(),
            ));
        }
        let mut fields: Vec<FieldId> = Vec::new();
        for c in corrections {
            for name in c.fields.keys() {
                let kind = c.kind;
                fields.push(kind.field(name).ok_or_else(|| {
                    ServiceError::BadRequest(format!("{kind}.{name}: geen veld van {kind}"))
                })?);
            }
        }
        let guard = self.write_guard().await;
        let _rectifying = self.rectifying();
        let docs = self.local_docs(case).await;
        let me = doc::actor_for(self.partner());
        let mut writes = Vec::new();
        let mut keys = Vec::new();
        for c in corrections {
            let kind = c.kind;
            let instance = self.instance_for(kind, c.instance.as_deref(), None)?;
            let key = DocKey::instance(case.clone(), kind, instance);
            let held = docs
                .iter()
                .find(|d| d.key == key)
                .ok_or_else(|| ServiceError::NotFound(format!("{kind} van casus {case}")))?;
            if held.creator.as_ref() != Some(&me) {
                return Err(ServiceError::NotAllowed(format!(
                    "{kind} is door een andere partner gemaakt; die partner rectificeert het (Afspraak 8: iedere partij is verwerkingsverantwoordelijke)"
                )));
            }
            // The correction first, through every check a write passes (the form's rules, the policy's rights).
            let Json::Object(mut json) = held.form.to_json() else {
                unreachable!("a form is always a JSON object")
            };
            for (name, value) in &c.fields {
                if value.is_null() {
                    json.remove(name);
                } else {
                    json.insert(name.clone(), value.clone());
                }
            }
            writes.push(FormWrite {
                kind,
                instance: c.instance.clone(),
                json: Json::Object(json),
            });
            keys.push(key);
        }
        self.write_forms_locked(&guard, user, case, writes).await?;

        // Then each document without its history: what this node wrote, in one change, as the next generation.
        let store = self.store();
        let now = self.clock_now();
        let mut rewrites = Vec::new();
        let mut names = Vec::new();
        let mut holders: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for key in keys {
            let stored = store
                .load_document(&key)
                .await?
                .ok_or_else(|| ServiceError::NotFound(format!("{} van casus {case}", key.kind)))?;
            let old = stored.to_automerge(self.partner())?;
            let mine = doc::fields_written_by(&old, &me)?;
            let form = self
                .validator()
                .partial_form(key.kind, &Json::Object(mine))?;
            let mut fresh = doc::new_document(self.partner());
            doc::write_form(&mut fresh, &form)?;
            doc::commit(&mut fresh, now.unix_timestamp());
            let change = Change::take(&mut fresh).ok_or_else(|| {
                ServiceError::Conflict(format!(
                    "{} van casus {case} is leeg na de correctie",
                    key.kind
                ))
            })?;
            let generation = stored.meta.generation + 1;
            let name = WireDoc::Form(key.clone(), generation).to_string();
            // The partners holding this document whole are told its new name.
            for peer in store.document_holders(&stored.meta.doc_id).await? {
                holders.entry(peer).or_default().push(name.clone());
            }
            names.push(name);
            rewrites.push((key, generation, change));
        }

        // Who received part of the case: the partners holding a rewritten document whole, and every receiver of a
        // projection this node sent. Those projections are withdrawn and made anew.
        let my_id = self.partner().to_string();
        let mut receivers: BTreeSet<String> = holders.keys().cloned().collect();
        for p in store.projections_of_case(case).await? {
            if p.sender != my_id {
                continue;
            }
            receivers.insert(p.receiver.clone());
            if !p.retired {
                store
                    .put_projection(&crate::projection::retire(&p, self.partner()))
                    .await?;
            }
        }
        let serial = serial_now();
        let notices: Vec<RectificationNotice> = receivers
            .iter()
            .map(|peer| RectificationNotice {
                peer: peer.clone(),
                case: case.clone(),
                origin: my_id.clone(),
                serial,
                docs: holders.get(peer).cloned().unwrap_or_default(),
                confirmed: false,
            })
            .collect();
        let entry = self
            .case_entry(
                Operation::Rectification,
                "avg.art16",
                "AVG art. 16: rectificatie, de geschiedenis herschreven",
                case,
                now,
            )
            .user(Some(user.id.clone()))
            .fields(fields.iter());
        store.rewrite_documents(&rewrites, &notices, &entry).await?;
        drop(guard);
        self.after_rewrite(case).await;
        tracing::info!(
            told = receivers.len(),
            documents = names.len(),
            "documents rectified and rewritten without history"
        );
        Ok(Rectified {
            case: case.to_string(),
            documents: names,
            fields: fields.iter().map(|f| f.qualified_name()).collect(),
            told: receivers.into_iter().collect(),
        })
    }

    /// `peer` tells this node that `notice.origin` rectified part of `notice.case` (see the module docs): the
    /// projections `peer` sent are withdrawn here; the first time this node hears of that rectification, by
    /// whichever way, it also withdraws every projection it sent of the case and passes the notice on to their
    /// receivers. Idempotent: a notice taken before (told again after a lost confirmation) changes nothing. A case
    /// this node does not hold is nothing to do.
    pub async fn take_rectification(
        &self,
        peer: &PartnerId,
        notice: &RectificationNotice,
    ) -> Result<(), ServiceError> {
        let case = &notice.case;
        let from = peer.to_string();
        let me = self.partner().to_string();
        let store = self.store();
        let _guard = self.write_guard().await;
        let _rectifying = self.rectifying();
        if notice.origin == me
            || store.get_case(case).await?.is_none()
            || store.rectification_taken(notice).await?
        {
            return Ok(());
        }
        let pass_on = !store.rectification_passed_on(notice).await?;
        let mut receivers = BTreeSet::new();
        // What the partner sent stays until its new generation (or its `Forget`) withdraws it: its facts tell this
        // node how the partner relates to the case, which decides whether the new generations are taken. Until
        // then this node makes no new projection of the case.
        let mut awaiting: Vec<String> = Vec::new();
        for p in store.projections_of_case(case).await? {
            if p.retired {
                continue;
            }
            if p.sender == from && p.receiver == me {
                awaiting.push(p.wire_id.clone());
            } else if p.sender == me && pass_on {
                if p.receiver != from && p.receiver != notice.origin {
                    receivers.insert(p.receiver.clone());
                }
                store
                    .put_projection(&crate::projection::retire(&p, self.partner()))
                    .await?;
            }
        }
        // The documents named that this node still holds at an older generation: until they arrive anew, no new
        // projection of the case is made here.
        let docs = self.local_docs(case).await;
        awaiting.extend(
            notice
                .docs
                .iter()
                .filter(|name| match WireDoc::parse(name) {
                    Some(WireDoc::Form(k, g)) => {
                        docs.iter().any(|d| d.key == k && d.generation < g)
                    }
                    _ => false,
                })
                .cloned(),
        );
        let now = self.clock_now();
        let forward: Vec<RectificationNotice> = receivers
            .into_iter()
            .map(|r| RectificationNotice {
                peer: r,
                case: case.clone(),
                origin: notice.origin.clone(),
                serial: notice.serial,
                docs: Vec::new(),
                confirmed: false,
            })
            .collect();
        let basis = format!(
            "AVG art. 16 en art. 19: gerectificeerd bij {}, gemeld door {peer}",
            notice.origin
        );
        let entry = self
            .case_entry(Operation::Rectification, "avg.art16", &basis, case, now)
            .peer(&from);
        let taken = RectificationNotice {
            docs: awaiting,
            ..notice.clone()
        };
        store
            .record_rectification_taken(&taken, &forward, &entry)
            .await?;
        drop(_guard);
        self.after_rewrite(case).await;
        tracing::info!(peer = %peer, passed_on = forward.len(), "a partner rectified a case: what it sent is withdrawn here");
        Ok(())
    }

    /// After a rewrite or a withdrawal: the old bytes out of the write-ahead log, the BSN index kept, the sessions
    /// told.
    async fn after_rewrite(&self, case: &CaseId) {
        if let Err(e) = self.store().scrub().await {
            tracing::warn!(error = %e, "old values may linger in the write-ahead log until the next checkpoint");
        }
        self.reindex_bsn_or_mark(case).await;
        self.notify_changed(case);
    }
}

/// A rectification's serial: the wall clock in microseconds (not the node's clock, which a test may hold still),
/// so it rises from one rectification to the next.
fn serial_now() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64
}
