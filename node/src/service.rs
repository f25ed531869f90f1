//! The node's own logic, between its API (HTTP or CLI) and its store: validate, check the policy, apply to the
//! case's Automerge document, store the change with its audit record. Nothing here knows HTTP.
//!
//! The path of a local write: [`Node::write_form`] → `policies::Validator` (every error at once) → the case's
//! other forms (`Validator::in_case`) → `Policy::check_write` for this node's partner and its relation to the case
//! → `doc::write_form` on the Automerge document → `Store::write_document_with_audit` (one transaction).

use std::sync::Arc;

use policies::completeness::{self, Missing, VoorwaardeCheck};
use policies::form::Form;
use policies::policy::WriteDenied;
use policies::{
    CaseDocuments, DocumentKind, FieldId, Gemeenten, PartnerId, Policy, Role, ValidationErrors,
    Validator,
};
use serde::Serialize;
use serde_json::Value as Json;
use std::sync::RwLock;
use time::OffsetDateTime;

use tokio::sync::{Mutex, broadcast};

use crate::audit::{AuditEntry, Operation, Pseudonymiser, StoredEntry};
use crate::case::{LoadedCase, LocalDoc};
use crate::doc::{self, DocError};
use crate::facts::facts_of;
use crate::store::{CaseId, Change, Clock, DocKey, Store, StoreError, User, WriteError};

/// Why a request to the node failed. Each variant maps to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No such case (or document).
    #[error("{0} niet gevonden")]
    NotFound(String),
    /// The form breaks the rules; every error is listed.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// This partner may not write a field.
    #[error(transparent)]
    Forbidden(#[from] WriteDenied),
    /// The request is malformed in a way validation does not cover (a missing instance name).
    #[error("{0}")]
    BadRequest(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The write (with its audit record) failed; nothing was stored.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// A stored document does not load.
    #[error(transparent)]
    Document(#[from] DocError),
    /// The bemiddelingsverzoek cannot be submitted yet: what is missing, each named (nothing was stored).
    #[error("het bemiddelingsverzoek kan nog niet worden ingediend; er ontbreekt: {}", describe_missing(.0))]
    Incomplete(Vec<Missing>),
    /// The case is not in a state where this step can be taken (not ready, or already done).
    #[error("{0}")]
    Conflict(String),
    /// This partner does not take this step (a zorgaanbieder assigning a corporatie).
    #[error("{0}")]
    NotAllowed(String),
}

/// Missing fields in words: "Woonwens (huurprijs, grootte, ligging) (bemiddelingsverzoek.woonwens), …".
fn describe_missing(missing: &[Missing]) -> String {
    missing
        .iter()
        .map(|m| match &m.because {
            Some(why) => format!("{} ({}.{}: {why})", m.label, m.document, m.field),
            None => format!("{} ({}.{})", m.label, m.document, m.field),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// One form to write in a batch ([`Node::write_forms_locked`]).
#[derive(Debug, Clone)]
pub struct FormWrite {
    /// The kind.
    pub kind: DocumentKind,
    /// The instance, for kinds a case holds several of (as [`Node::write_form`] takes it).
    pub instance: Option<String>,
    /// The whole form.
    pub json: Json,
}

/// A form as the API returns it: its fields and what is still missing before submission.
#[derive(Debug, Clone, Serialize)]
pub struct FormView {
    /// The document kind.
    pub document: String,
    /// Which instance, for kinds a case holds several of.
    pub instantie: Option<String>,
    /// The fields.
    pub velden: Json,
    /// What is still missing before it can be submitted.
    pub ontbrekend: Vec<Missing>,
}

/// A case in a list: phase, forms, what is missing.
#[derive(Debug, Clone, Serialize)]
pub struct CaseSummary {
    /// The case id.
    pub id: String,
    /// When the case was created on this node.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Its phase.
    pub fase: policies::Fase,
    /// The documents it holds (kind, or kind/instance).
    pub documenten: Vec<String>,
    /// What is still missing in its forms before they can be submitted.
    pub ontbrekend: Vec<Missing>,
}

/// A case in full.
#[derive(Debug, Clone, Serialize)]
pub struct CaseDetail {
    /// The summary.
    #[serde(flatten)]
    pub summary: CaseSummary,
    /// The pre-check of the 8 voorwaarden for bemiddeling.
    pub voorwaarden_bemiddeling: Vec<VoorwaardeCheck>,
}

/// One line of a case's history: who read or wrote which fields, when. Never values.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    /// Position in the audit log.
    pub seq: u64,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Read, write, disclosure, …
    pub operation: Operation,
    /// The user id, if a person did it.
    pub user: Option<String>,
    /// The document.
    pub document: Option<String>,
    /// The fields.
    pub fields: Vec<String>,
    /// The purpose.
    pub purpose: String,
    /// The other partner, for disclosures.
    pub peer: Option<String>,
}

/// The purpose recorded for writes and reads through the local API (the processing activity).
pub const PURPOSE_API: &str =
    "uitvoering Convenant Weer Thuis: registratie, bemiddeling en ondersteuning";

/// How many case changes the sync sessions may lag behind before they fall back to reconciling every case.
pub const CHANGE_QUEUE: usize = 1 << 16;

/// One listed document of a case and what was read from it ([`Node::read_listed`]).
struct ListedDoc {
    meta: crate::store::DocumentMeta,
    json: Arc<Json>,
    authors: Option<Arc<crate::case::Authors>>,
}

/// The documents of a case as read from one listing.
#[derive(Default)]
struct Listed {
    docs: Vec<ListedDoc>,
    /// A document was written or deleted between the listing and its read.
    moved: bool,
    /// Why a document did not decode, the first that did not.
    unreadable: Option<ServiceError>,
}

impl Listed {
    /// What was read, or why a document could not be.
    fn readable(mut self) -> Result<Listed, ServiceError> {
        match self.unreadable.take() {
            Some(e) => Err(e),
            None => Ok(self),
        }
    }
}

/// A partner's node: its identity, store, policy and the rules it checks.
pub struct Node {
    partner: PartnerId,
    store: Store,
    /// The policy in force; replaced when a newer signed version takes effect.
    policy: RwLock<Arc<Policy>>,
    /// Cases whose documents changed, for the sync loop.
    changes: broadcast::Sender<CaseId>,
    /// Per case, how often it was notified as changed ([`Node::case_version`]).
    versions: std::sync::Mutex<std::collections::HashMap<CaseId, u64>>,
    /// See [`Node::rectify_epoch`].
    rectify_epoch: std::sync::atomic::AtomicU64,
    gemeenten: Arc<Gemeenten>,
    pseudonymiser: Pseudonymiser,
    clock: Clock,
    /// The corporaties of the federation with the gemeenten where they let homes (from the directory).
    corporaties: RwLock<Vec<(PartnerId, Vec<String>)>>,
    /// This partner's vaste contactpersonen (Afspraak 3g) as the directory in force names them; `None` before a
    /// directory is in force. Only they may present a melding to the Transferpunt (`crate::meldingen`).
    vaste_contactpersonen: RwLock<Option<Vec<String>>>,
    /// The federation directory in force (`None` until one is: a node without a federation).
    directory: RwLock<Option<Arc<protocol::pki::Directory>>>,
    /// Writes are serialised: a document is loaded, changed and stored as one step, and two interleaved writes to
    /// the same document would otherwise produce two Automerge changes with the same actor and sequence number.
    write_lock: Mutex<()>,
    /// What was last read from each case document and received projection, by content (every plan, receipt and
    /// write reads the case).
    doc_cache: crate::case::DocCache,
    /// The secret of the BSN index (`crate::bsn_index`); `None`: no index (a node assembled without a data
    /// directory, as the simulator's replay does).
    bsn_key: Option<crate::bsn_index::BsnKey>,
    /// The node's private key (PEM), once its federation side is set up: it signs the inzageverzoeken it sends.
    signing_key: RwLock<Option<String>>,
    /// Bumped when an inzageverzoek is queued to send, so the sync sessions offer it at once.
    outgoing_requests: tokio::sync::watch::Sender<u64>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("partner", &self.partner)
            .finish_non_exhaustive()
    }
}

impl Node {
    /// A node for `partner` on `store`.
    pub fn new(
        partner: PartnerId,
        store: Store,
        policy: Arc<Policy>,
        gemeenten: Arc<Gemeenten>,
        pseudonymiser: Pseudonymiser,
        clock: Clock,
    ) -> Self {
        Node {
            partner,
            store,
            policy: RwLock::new(policy),
            changes: broadcast::channel(CHANGE_QUEUE).0,
            versions: Default::default(),
            rectify_epoch: Default::default(),
            corporaties: RwLock::new(Vec::new()),
            vaste_contactpersonen: RwLock::new(None),
            directory: RwLock::new(None),
            gemeenten,
            pseudonymiser,
            clock,
            write_lock: Mutex::new(()),
            doc_cache: Default::default(),
            bsn_key: None,
            signing_key: RwLock::new(None),
            outgoing_requests: tokio::sync::watch::channel(0).0,
        }
    }

    /// Tell the sync sessions an inzageverzoek waits to be sent.
    pub fn outgoing_requests_changed(&self) {
        self.outgoing_requests.send_modify(|n| *n += 1);
    }

    /// Watch for inzageverzoeken to send.
    pub fn watch_outgoing_requests(&self) -> tokio::sync::watch::Receiver<u64> {
        self.outgoing_requests.subscribe()
    }

    /// This node with a BSN index under `key` (kept on every change from now on; see [`Node::ensure_bsn_index`]).
    pub fn with_bsn_key(mut self, key: crate::bsn_index::BsnKey) -> Self {
        self.bsn_key = Some(key);
        self
    }

    /// The secret of the BSN index, if the node has one.
    pub fn bsn_key(&self) -> Option<&crate::bsn_index::BsnKey> {
        self.bsn_key.as_ref()
    }

    /// Set the node's private key (PEM), with which it signs what it sends besides sync (inzageverzoeken).
    pub fn set_signing_key(&self, key_pem: String) {
        *self.signing_key.write().expect("signing key lock") = Some(key_pem);
    }

    /// The node's private key (PEM), if its federation side is set up.
    pub fn signing_key(&self) -> Option<String> {
        self.signing_key.read().expect("signing key lock").clone()
    }

    /// Bring a case's entries in the BSN index up to date with what this node holds of it now. Every path that
    /// changes what the node holds of a case calls this before it notifies the change.
    pub async fn reindex_bsn(&self, case: &CaseId) -> Result<(), ServiceError> {
        self.reindex_bsn_many(std::slice::from_ref(case)).await
    }

    /// [`Node::reindex_bsn`] for several cases, written in one transaction.
    pub async fn reindex_bsn_many(&self, cases: &[CaseId]) -> Result<(), ServiceError> {
        if self.bsn_key.is_none() || cases.is_empty() {
            return Ok(());
        }
        let mut entries = Vec::with_capacity(cases.len());
        for case in cases {
            if let Some(hashes) = self.bsn_hashes(case).await? {
                entries.push((case.clone(), hashes));
            }
        }
        self.store.set_bsn_indexes(&entries).await?;
        Ok(())
    }

    /// [`Node::reindex_bsn_many`]; when it fails, the index is marked incomplete so the next start rebuilds it.
    pub async fn reindex_bsn_many_or_mark(&self, cases: &[CaseId]) {
        if let Err(e) = self.reindex_bsn_many(cases).await {
            tracing::error!(cases = cases.len(), error = %e, "BSN index not updated; rebuilt at the next start");
            let _ = self.store.set_bsn_index_key_check(b"").await;
        }
    }

    /// The keyed hashes of the BSNs this node holds of a case now; `None` when the case is not held (its entries
    /// went with it).
    async fn bsn_hashes(&self, case: &CaseId) -> Result<Option<Vec<[u8; 32]>>, ServiceError> {
        let Some(key) = &self.bsn_key else {
            return Ok(None);
        };
        let hashes: Vec<[u8; 32]> = match self.load_case(case).await {
            Ok(loaded) => crate::bsn_index::bsns_of(
                loaded
                    .docs
                    .all(DocumentKind::Registratie)
                    .iter()
                    .chain(loaded.projected_sections.iter().map(|(_, f)| f)),
            )
            .iter()
            .map(|b| key.hash(b))
            .collect(),
            // Gone: no entries (the foreign key removes them with the case too).
            Err(ServiceError::NotFound(_)) => Vec::new(),
            Err(e) => return Err(e),
        };
        if self.store.get_case(case).await?.is_none() {
            return Ok(None);
        }
        Ok(Some(hashes))
    }

    /// [`Node::reindex_bsn`]; when it fails, the index is marked incomplete so the next start rebuilds it (the
    /// change itself is stored already and stays).
    pub async fn reindex_bsn_or_mark(&self, case: &CaseId) {
        if let Err(e) = self.reindex_bsn(case).await {
            tracing::error!(case = %case, error = %e, "BSN index not updated; rebuilt at the next start");
            let _ = self.store.set_bsn_index_key_check(b"").await;
        }
    }

    /// Make sure the BSN index is complete under this node's key: a data directory from before the index, or one
    /// whose key was replaced, is indexed whole once (every case read). Returns how many cases were indexed (0:
    /// the index was complete).
    pub async fn ensure_bsn_index(&self) -> Result<usize, ServiceError> {
        let Some(key) = &self.bsn_key else {
            return Ok(0);
        };
        let check = key.check();
        if self.store.bsn_index_key_check().await?.as_deref() == Some(&check[..]) {
            return Ok(0);
        }
        self.store.clear_bsn_index().await?;
        let cases = self.store.list_cases().await?;
        for c in &cases {
            self.reindex_bsn(&c.id).await?;
        }
        self.store.set_bsn_index_key_check(&check).await?;
        tracing::info!(cases = cases.len(), "BSN index built");
        Ok(cases.len())
    }

    /// The cases this node holds a registratie with this BSN for: looked up in the index, each confirmed on what
    /// the case holds now.
    pub async fn cases_by_bsn(
        &self,
        bsn: &policies::bsn::Bsn,
    ) -> Result<Vec<CaseId>, ServiceError> {
        let Some(key) = &self.bsn_key else {
            return Err(ServiceError::Conflict(
                "deze node heeft geen BSN-index (geen sleutel in de datamap)".into(),
            ));
        };
        let mut out = Vec::new();
        for case in self.store.cases_by_bsn_hash(&key.hash(bsn)).await? {
            let Ok(loaded) = self.load_case(&case).await else {
                continue;
            };
            let holds = crate::bsn_index::bsns_of(
                loaded
                    .docs
                    .all(DocumentKind::Registratie)
                    .iter()
                    .chain(loaded.projected_sections.iter().map(|(_, f)| f)),
            )
            .contains(bsn);
            if holds {
                out.push(case);
            }
        }
        Ok(out)
    }

    /// This node's partner id.
    pub fn partner(&self) -> &PartnerId {
        &self.partner
    }

    /// What was last read from the case documents and received projections (see [`crate::case::DocCache`]).
    pub fn doc_cache(&self) -> &crate::case::DocCache {
        &self.doc_cache
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        self.policy.read().expect("policy lock").clone()
    }

    /// Put another policy in force (a signed version whose date has come).
    pub fn set_policy(&self, policy: Arc<Policy>) {
        tracing::info!(version = %policy.meta.version, "policy in force");
        *self.policy.write().expect("policy lock") = policy;
    }

    /// Set the corporaties and their werkgebied (from the federation directory).
    pub fn set_corporaties(&self, list: Vec<(PartnerId, Vec<String>)>) {
        *self.corporaties.write().expect("corporaties lock") = list;
    }

    /// Set this partner's vaste contactpersonen (from the federation directory in force).
    pub fn set_vaste_contactpersonen(&self, names: Vec<String>) {
        *self
            .vaste_contactpersonen
            .write()
            .expect("contactpersonen lock") = Some(names);
    }

    /// Put a federation directory in force at this node (the federation does, `sync::lifecycle`).
    pub fn set_directory(&self, directory: protocol::pki::Directory) {
        *self.directory.write().expect("directory lock") = Some(Arc::new(directory));
    }

    /// The federation directory in force: the one the federation put in force, else the highest one stored (a
    /// command run beside a node); `None` when there is none.
    pub async fn directory_in_force(
        &self,
    ) -> Result<Option<Arc<protocol::pki::Directory>>, StoreError> {
        if let Some(d) = self.directory.read().expect("directory lock").clone() {
            return Ok(Some(d));
        }
        Ok(self
            .store
            .latest_directory()
            .await?
            // Stored directories were verified against the federation CA when they were stored.
            .and_then(|d| serde_json::from_slice(&d.body).ok())
            .map(Arc::new))
    }

    /// This partner's vaste contactpersonen, as the directory in force names them (`None`: no directory yet).
    pub fn vaste_contactpersonen(&self) -> Option<Vec<String>> {
        self.vaste_contactpersonen
            .read()
            .expect("contactpersonen lock")
            .clone()
    }

    /// The corporaties letting homes in a gemeente.
    pub fn corporaties_in(&self, gemeente: &str) -> Vec<PartnerId> {
        let mut out: Vec<PartnerId> = self
            .corporaties
            .read()
            .expect("corporaties lock")
            .iter()
            .filter(|(_, gm)| gm.iter().any(|g| g == gemeente))
            .map(|(p, _)| p.clone())
            .collect();
        out.sort();
        out
    }

    /// The gemeenten this node knows.
    pub fn gemeenten(&self) -> &Gemeenten {
        &self.gemeenten
    }

    /// The node's pseudonymiser for audit entries.
    pub fn pseudonymiser(&self) -> &Pseudonymiser {
        &self.pseudonymiser
    }

    /// An audit entry about one case, done at `now`: the case by its pseudonym, under the policy version in force.
    /// The caller adds the user, peer and fields.
    pub fn case_entry(
        &self,
        operation: Operation,
        activity: &str,
        purpose: &str,
        case: &CaseId,
        now: OffsetDateTime,
    ) -> AuditEntry {
        AuditEntry::new(operation, activity, purpose, now)
            .ended(now)
            .case(
                case.as_str(),
                self.pseudonymiser.data_subject_id(case.as_str()),
            )
            .policy_version(&self.policy().meta.version)
    }

    /// "Now", from the node's clock.
    pub fn clock_now(&self) -> OffsetDateTime {
        (self.clock)()
    }

    /// Subscribe to cases whose documents change (local writes and accepted incoming changes).
    pub fn subscribe(&self) -> broadcast::Receiver<CaseId> {
        self.changes.subscribe()
    }

    /// Tell the sync loop a case changed.
    pub fn notify_changed(&self, case: &CaseId) {
        *self
            .versions
            .lock()
            .expect("versions lock")
            .entry(case.clone())
            .or_default() += 1;
        // No subscriber (no federation configured) is fine.
        let _ = self.changes.send(case.clone());
    }

    /// How many times this process was told `case` changed ([`Node::notify_changed`]): what derived from the case
    /// at one version holds until the next (`sync::reach::Named`).
    pub fn case_version(&self, case: &CaseId) -> u64 {
        self.versions
            .lock()
            .expect("versions lock")
            .get(case)
            .copied()
            .unwrap_or(0)
    }

    /// Serialise writes to documents: the sync layer takes the same lock as the API.
    pub async fn write_guard(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.write_lock.lock().await
    }

    /// Mark a rectification in progress until the returned value is dropped (see [`Node::rectify_epoch`]).
    pub(crate) fn rectifying(&self) -> Rectifying<'_> {
        self.rectify_epoch
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Rectifying(&self.rectify_epoch)
    }

    /// A count that is odd while a rectification (made here or taken from a partner) rewrites the case's documents,
    /// notices and projections, and moves on when it ends. A sync session reads the case without the write guard;
    /// one whose read began and ended at the same even count saw no rectification half done (a seqlock): else it
    /// plans the case again (`sync::session`), so a projection made from a half-rectified case never leaves.
    pub fn rectify_epoch(&self) -> u64 {
        self.rectify_epoch.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The write guard if no write holds it now: for work that can wait for a quiet moment rather than queue
    /// behind writes (a sync session moving its change mark).
    pub fn try_write_guard(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        self.write_lock.try_lock().ok()
    }

    fn now(&self) -> OffsetDateTime {
        (self.clock)()
    }

    pub(crate) fn validator(&self) -> Validator<'_> {
        Validator::new(&self.gemeenten, self.now().date())
    }

    pub(crate) async fn case_exists(&self, id: &CaseId) -> Result<(), ServiceError> {
        match self.store.get_case(id).await? {
            Some(_) => Ok(()),
            None => Err(ServiceError::NotFound(format!("casus {id}"))),
        }
    }

    /// Create a new, empty case. Its id is random.
    pub async fn create_case(&self) -> Result<CaseSummary, ServiceError> {
        let rec = self.store.create_case(&CaseId::random()).await?;
        Ok(CaseSummary {
            id: rec.id.to_string(),
            created_at: rec.created_at,
            fase: policies::Fase::Registratie,
            documenten: Vec::new(),
            ontbrekend: Vec::new(),
        })
    }

    /// The instance a form is stored under: kinds a case holds once use none; the corporatie's reactie and a
    /// gemeente's form are this node's own; an aanmeldbericht is the corporatie's it is addressed to; a melding
    /// needs a name from the caller.
    pub(crate) fn instance_for(
        &self,
        kind: DocumentKind,
        given: Option<&str>,
        form: Option<&Form>,
    ) -> Result<String, ServiceError> {
        if !kind.spec().multiple {
            return match given {
                None => Ok(String::new()),
                Some(_) => Err(ServiceError::BadRequest(format!(
                    "een casus heeft maar één {kind}; laat de instantie weg"
                ))),
            };
        }
        if let Some(g) = given {
            let ok = !g.is_empty()
                && g.len() <= 64
                && g.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_:-".contains(c));
            return if ok {
                Ok(g.to_string())
            } else {
                Err(ServiceError::BadRequest(
                    "de instantie bestaat uit 1-64 letters, cijfers, '_', ':' of '-'".into(),
                ))
            };
        }
        match kind {
            DocumentKind::Reactie | DocumentKind::Gemeente => Ok(self.partner.to_string()),
            DocumentKind::Aanmeldbericht => form
                .and_then(|f| f.text("corporatie"))
                .map(str::to_string)
                .ok_or_else(|| {
                    ServiceError::BadRequest("een aanmeldbericht noemt de corporatie".into())
                }),
            _ => Err(ServiceError::BadRequest(format!(
                "een casus kan meer dan één {kind} hebben: geef de instantie in het pad (…/documenten/{kind}/<naam>)"
            ))),
        }
    }

    /// The case documents of a case as `node` holds them, with who wrote them. What was read from a document comes
    /// from the node's [`crate::case::DocCache`] while its heads have not moved: walking a document's whole history
    /// on every plan would cost more than everything else a plan does.
    pub async fn local_docs(&self, case: &CaseId) -> Vec<LocalDoc> {
        let Ok(metas) = self.store().list_documents(case).await else {
            return Vec::new();
        };
        match self.read_listed(metas, true).await {
            Ok(read) => self.local_docs_of(&read.docs),
            Err(_) => Vec::new(),
        }
    }

    /// [`LocalDoc`]s of documents read with their authors.
    fn local_docs_of(&self, read: &[ListedDoc]) -> Vec<LocalDoc> {
        let validator = policies::Validator::new(self.gemeenten(), self.clock_now().date());
        read.iter()
            .filter_map(|d| {
                let form = validator.partial_form(d.meta.key.kind, &d.json).ok()?;
                let (authors, creator) = (**d.authors.as_ref()?).clone();
                Some(LocalDoc {
                    key: d.meta.key.clone(),
                    form,
                    authors,
                    creator,
                    generation: d.meta.generation,
                })
            })
            .collect()
    }

    /// What was read from each listed document: from the [`crate::case::DocCache`] while its heads have not moved,
    /// else loaded and decoded (and remembered), with its authors when `authors`. A document deleted since it was
    /// listed is left out; one written since is read as it is now, and [`Listed::moved`] says so. One that does not
    /// decode is left out, and [`Listed::unreadable`] says why.
    async fn read_listed(
        &self,
        metas: Vec<crate::store::DocumentMeta>,
        authors: bool,
    ) -> Result<Listed, ServiceError> {
        let mut out = Listed::default();
        for meta in metas {
            let cached = if authors {
                self.doc_cache
                    .with_authors(&meta.doc_id, &meta.heads)
                    .map(|(j, a)| (j, Some(a)))
            } else {
                self.doc_cache
                    .json(&meta.doc_id, &meta.heads)
                    .map(|j| (j, None))
            };
            if let Some((json, authors)) = cached {
                out.docs.push(ListedDoc {
                    meta,
                    json,
                    authors,
                });
                continue;
            }
            let Some(stored) = self.store.load_document_by_id(&meta.doc_id).await? else {
                out.moved = true;
                continue;
            };
            let decoded = stored
                .to_automerge(&self.partner)
                .map_err(ServiceError::from)
                .and_then(|am| Ok((doc::read_json(&am)?, am)));
            let (json, mut am) = match decoded {
                Ok(d) => d,
                Err(e) => {
                    out.unreadable.get_or_insert(e);
                    continue;
                }
            };
            let json = Arc::new(json);
            let authors =
                authors.then(|| Arc::new(crate::case::authors_of(&mut am, meta.key.kind)));
            self.doc_cache.put(
                meta.doc_id.clone(),
                stored.meta.heads.clone(),
                json.clone(),
                authors.clone(),
            );
            out.moved |=
                stored.meta.heads != meta.heads || stored.meta.generation != meta.generation;
            out.docs.push(ListedDoc {
                meta: stored.meta,
                json,
                authors,
            });
        }
        Ok(out)
    }

    /// The case as loaded ([`Node::load_case`]) and its documents with their authors ([`Node::local_docs`]), read
    /// so that both show the same writes: from one listing of the case's documents, each read at the heads listed.
    /// A write landing in between would tear the view — the facts (consent, phase) from before it, the content
    /// from after — and a plan made on it could rotate a projection for a field no rule removed (found as a consent
    /// withdrawal under `keep` that cost the Transferpunt the BSN it lawfully held). So when a document moved while
    /// the case was read, it is read again; `None` when writes kept landing (the caller retries later).
    pub async fn case_for_planning(&self, id: &CaseId) -> Option<(LoadedCase, Vec<LocalDoc>)> {
        self.case_for_planning_with_projections(id)
            .await
            .map(|(loaded, docs, _)| (loaded, docs))
    }

    /// [`Node::case_for_planning`], with every projection record of the case (sent and received) it was read
    /// from: a reconcile updates its own projection from the same read rather than listing them again.
    pub async fn case_for_planning_with_projections(
        &self,
        id: &CaseId,
    ) -> Option<(
        LoadedCase,
        Vec<LocalDoc>,
        Vec<crate::store::ProjectionRecord>,
    )> {
        for _ in 0..3 {
            let metas = self.store.list_documents(id).await.ok()?;
            let read = self.read_listed(metas, true).await.ok()?.readable().ok()?;
            if read.moved {
                continue;
            }
            let docs = self.local_docs_of(&read.docs);
            let projections = self.store.projections_of_case(id).await.ok()?;
            let loaded = self.loaded_from(id, &read.docs, &projections).ok()?;
            return Some((loaded, docs, projections));
        }
        tracing::debug!(case = %id, "the case kept changing while it was read; planned later");
        None
    }

    /// Load every form of a case, as this node holds it: its own and received documents, and the fields other
    /// partners projected to it, with the relations they declared this node has.
    pub async fn load_case(&self, id: &CaseId) -> Result<LoadedCase, ServiceError> {
        self.load_case_with_projections(id)
            .await
            .map(|(loaded, _)| loaded)
    }

    /// [`Node::load_case`], with every projection record of the case (sent and received) it was read from.
    pub async fn load_case_with_projections(
        &self,
        id: &CaseId,
    ) -> Result<(LoadedCase, Vec<crate::store::ProjectionRecord>), ServiceError> {
        self.read_case(id)
            .await
            .map(|(loaded, projections, _)| (loaded, projections))
    }

    /// The case, its projection records and the documents as listed and read ([`Node::read_listed`]).
    async fn read_case(
        &self,
        id: &CaseId,
    ) -> Result<
        (
            LoadedCase,
            Vec<crate::store::ProjectionRecord>,
            Vec<ListedDoc>,
        ),
        ServiceError,
    > {
        let metas = self.store.list_documents(id).await?;
        let read = self.read_listed(metas, false).await?.readable()?;
        let projections = self.store.projections_of_case(id).await?;
        let loaded = self.loaded_from(id, &read.docs, &projections)?;
        Ok((loaded, projections, read.docs))
    }

    /// The case from its documents as read and the projection records of the case (those it received count).
    fn loaded_from(
        &self,
        id: &CaseId,
        read: &[ListedDoc],
        projections: &[crate::store::ProjectionRecord],
    ) -> Result<LoadedCase, ServiceError> {
        let (docs, keys) = self.case_documents_of(id, read);
        let mut loaded = LoadedCase::new(docs, keys);
        let me = self.partner.to_string();
        let received: Vec<_> = projections.iter().filter(|p| p.receiver == me).collect();
        for p in &received {
            // A withdrawn projection keeps only the facts it was made under (no data, no history); they count
            // until its sender's next projection arrives.
            let superseded = p.retired
                && received
                    .iter()
                    .any(|q| !q.retired && q.sender == p.sender && q.generation > p.generation);
            if superseded {
                continue;
            }
            let json = self.doc_cache.projection(&p.wire_id, &p.snapshot, || {
                doc::read_json(&doc::load(&p.snapshot, [])?)
            })?;
            let content = match &*json {
                Json::Object(root) => crate::projection::content_of(root, &self.validator()),
                _ => Default::default(),
            };
            loaded.add_projection(p.sender.parse::<PartnerId>().ok(), content);
        }
        Ok(loaded)
    }

    /// The facts of a loaded case for this node and `others`, with the relations declared to this node merged in.
    pub fn facts(&self, loaded: &LoadedCase, others: &[&PartnerId]) -> policies::CaseFacts {
        facts_of(&self.partner, loaded, others)
    }

    /// Load every form document of a case (not projections).
    pub async fn case_documents(
        &self,
        id: &CaseId,
    ) -> Result<(CaseDocuments, Vec<DocKey>), ServiceError> {
        let metas = self.store.list_documents(id).await?;
        let read = self.read_listed(metas, false).await?.readable()?;
        Ok(self.case_documents_of(id, &read.docs))
    }

    /// The forms of documents as read.
    fn case_documents_of(&self, id: &CaseId, read: &[ListedDoc]) -> (CaseDocuments, Vec<DocKey>) {
        let validator = self.validator();
        let mut case = CaseDocuments::new();
        let mut keys = Vec::new();
        for d in read {
            // Stored forms passed validation when written; one that no longer does (a gemeente removed from the
            // list, say) is still shown in the history but left out of the case's facts.
            match validator.form(d.meta.key.kind, &d.json) {
                Ok(form) => case.insert(form),
                Err(e) => {
                    tracing::warn!(case = %id, document = %d.meta.key.kind, errors = e.0.len(), "stored form no longer validates")
                }
            }
            keys.push(d.meta.key.clone());
        }
        (case, keys)
    }

    /// Write a whole form (fields left out are emptied). Validated, checked against the policy, stored with its
    /// audit record in one transaction.
    pub async fn write_form(
        &self,
        user: &User,
        case_id: &CaseId,
        kind: DocumentKind,
        instance: Option<&str>,
        json: &Json,
    ) -> Result<FormView, ServiceError> {
        self.case_exists(case_id).await?;
        // Validated before the lock is taken: a form that does not pass costs nobody else a wait.
        self.validator().form(kind, json)?;
        let guard = self.write_lock.lock().await;
        let write = FormWrite {
            kind,
            instance: instance.map(str::to_string),
            json: json.clone(),
        };
        let mut views = self
            .write_forms_on_case(&guard, user, case_id, vec![write])
            .await?;
        views
            .pop()
            .ok_or_else(|| ServiceError::BadRequest("niets geschreven".into()))
    }

    /// Write several whole forms of one case as one step, the caller holding the write guard ([`Node::write_guard`]):
    /// each validated and checked as [`Node::write_form`] does (each on the case as the ones before it leave it),
    /// then every change with its audit record stored in one transaction — all or nothing. Holding the guard
    /// across reading the case and writing is what makes a decision on what the case holds (whose turn it is)
    /// safe from a concurrent one. Each form must be another document.
    pub async fn write_forms_locked(
        &self,
        guard: &tokio::sync::MutexGuard<'_, ()>,
        user: &User,
        case_id: &CaseId,
        writes: Vec<FormWrite>,
    ) -> Result<Vec<FormView>, ServiceError> {
        self.case_exists(case_id).await?;
        self.write_forms_on_case(guard, user, case_id, writes).await
    }

    /// [`Node::write_forms_locked`] on a case known to exist.
    async fn write_forms_on_case(
        &self,
        _guard: &tokio::sync::MutexGuard<'_, ()>,
        user: &User,
        case_id: &CaseId,
        writes: Vec<FormWrite>,
    ) -> Result<Vec<FormView>, ServiceError> {
        let start = self.now();
        // The case as `load_case` reads it, keeping the listing: under the guard no document of the case moves, so
        // a document remembered at its listed heads is the stored one, and is not read from the store again.
        let (mut loaded, _, listed) = self.read_case(case_id).await?;
        let mut staged: Vec<(DocKey, Change, AuditEntry)> = Vec::new();
        let mut read_back = Vec::new();
        let mut views = Vec::new();
        for w in writes {
            let kind = w.kind;
            let form = self.validator().form(kind, &w.json)?;
            let instance = self.instance_for(kind, w.instance.as_deref(), Some(&form))?;
            let key = DocKey::instance(case_id.clone(), kind, instance.clone());
            if staged.iter().any(|(k, _, _)| *k == key) {
                return Err(ServiceError::BadRequest(format!(
                    "{kind} staat twee keer in één schrijfopdracht"
                )));
            }
            // The document as it stands, with its JSON: the listing's when it is at the listed heads.
            let existing = match listed.iter().find(|d| d.meta.key == key) {
                Some(d) => match self.doc_cache.automerge(&d.meta.doc_id, &d.meta.heads) {
                    Some(am) => Some((d.meta.clone(), am, Json::clone(&d.json))),
                    None => match self.store.load_document_by_id(&d.meta.doc_id).await? {
                        Some(stored) => {
                            let am = stored.to_automerge(&self.partner)?;
                            let json = if stored.meta.heads == d.meta.heads {
                                Json::clone(&d.json)
                            } else {
                                doc::read_json(&am)?
                            };
                            Some((stored.meta, am, json))
                        }
                        None => None,
                    },
                },
                None => None,
            };
            // Another partner's instance is not this node's to write: its reactie or gemeente form, a melding it
            // projected here under that name.
            let other_owner = match kind {
                DocumentKind::Reactie | DocumentKind::Gemeente
                    if instance != self.partner.to_string() =>
                {
                    Some(instance.clone())
                }
                DocumentKind::Melding
                | DocumentKind::Huurverloop
                | DocumentKind::Ondersteuningsverloop
                    if existing.is_none() =>
                {
                    loaded
                        .section_senders
                        .get(&crate::projection::section_name(kind, &instance))
                        .map(ToString::to_string)
                }
                _ => None,
            };
            if let Some(owner) = other_owner {
                return Err(ServiceError::BadRequest(format!(
                    "{kind}/{instance} is van {owner}; schrijf in een eigen {kind}"
                )));
            }
            let (existing, mut am, old_json) = match existing {
                Some((meta, mut am, json)) => {
                    am.set_actor(doc::actor_for(&self.partner));
                    (Some(meta), am, Some(json))
                }
                None => (None, doc::new_document(&self.partner), None),
            };
            let base = am.get_heads();

            crate::meldingen::check_voorlegger(
                &form,
                old_json.as_ref(),
                self.vaste_contactpersonen().as_deref(),
            )?;
            let touched = decide_write(
                &self.policy(),
                &self.validator(),
                &self.partner,
                &mut loaded,
                old_json.as_ref(),
                &form,
            )?;

            doc::write_form(&mut am, &form)?;
            doc::commit(&mut am, self.now().unix_timestamp());
            if let Some(change) = Change::since(&mut am, &base) {
                if let Some(meta) = &existing {
                    // What the sessions will read of it next, from the document in hand rather than decoded again.
                    let json = Arc::new(doc::read_json(&am)?);
                    let known = self.doc_cache.with_authors(&meta.doc_id, &meta.heads);
                    let authors = Arc::new(match known {
                        Some((_, before)) => {
                            let new = am.get_changes(&base);
                            crate::case::authors_after(&before, &mut am, kind, &new)
                        }
                        None => crate::case::authors_of(&mut am, kind),
                    });
                    read_back.push((
                        meta.doc_id.clone(),
                        change.heads.clone(),
                        json,
                        authors,
                        am.clone(),
                    ));
                }
                let entry =
                    self.entry(Operation::Write, Some(user), case_id, kind, &touched, start);
                staged.push((key, change, entry));
            }
            views.push(FormView {
                document: kind.name().into(),
                instantie: (!instance.is_empty()).then_some(instance),
                velden: form.to_json(),
                ontbrekend: completeness::missing(&form),
            });
        }
        if !staged.is_empty() {
            self.store.write_documents_with_audit(&staged).await?;
            for (id, heads, json, authors, am) in read_back {
                self.doc_cache
                    .remember_automerge(id.clone(), heads.clone(), &am);
                self.doc_cache.put(id, heads, json, Some(authors));
            }
            if staged
                .iter()
                .any(|(k, _, _)| k.kind == DocumentKind::Registratie)
            {
                // The write is stored; an index that could not follow is rebuilt at the next start at the
                // latest, and a lookup never trusts it alone (crate::bsn_index).
                self.reindex_bsn_or_mark(case_id).await;
            }
            self.notify_changed(case_id);
        }
        Ok(views)
    }

    /// Read a form. The read is audited; when the audit record cannot be stored, the read is refused.
    pub async fn read_form(
        &self,
        user: &User,
        case_id: &CaseId,
        kind: DocumentKind,
        instance: Option<&str>,
    ) -> Result<FormView, ServiceError> {
        let start = self.now();
        self.case_exists(case_id).await?;
        let instance = self
            .instance_for(kind, instance, None)
            .or_else(|e| match kind {
                // Reading an aanmeldbericht needs the instance in the path; so does a melding.
                DocumentKind::Aanmeldbericht
                | DocumentKind::Melding
                | DocumentKind::Huurverloop
                | DocumentKind::Ondersteuningsverloop => Err(e),
                _ => Ok(self.partner.to_string()),
            })?;
        let key = DocKey::instance(case_id.clone(), kind, instance.clone());
        let form = match self.store.load_document(&key).await? {
            Some(stored) => {
                let am = stored.to_automerge(&self.partner)?;
                let json = doc::read_json(&am)?;
                self.validator().partial_form(kind, &json)?
            }
            // Not a document of this node's own: the fields another partner projected to it, read only.
            None => {
                let loaded = self.load_case(case_id).await?;
                let section = crate::projection::section_name(kind, &instance);
                let section_plain = crate::projection::section_name(kind, "");
                loaded
                    .projected_sections
                    .iter()
                    .find(|(s, _)| *s == section || (*s == section_plain && !kind.spec().multiple))
                    .map(|(_, f)| f.clone())
                    .ok_or_else(|| ServiceError::NotFound(format!("{kind} van casus {case_id}")))?
            }
        };
        let fields: Vec<FieldId> = form.field_ids().collect();
        let entry = self.entry(Operation::Read, Some(user), case_id, kind, &fields, start);
        self.store.append_audit(&entry).await?;
        Ok(FormView {
            document: kind.name().into(),
            instantie: (!instance.is_empty()).then_some(instance),
            velden: form.to_json(),
            ontbrekend: completeness::missing(&form),
        })
    }

    async fn summary(
        &self,
        id: CaseId,
        created_at: OffsetDateTime,
    ) -> Result<(CaseSummary, CaseDocuments), ServiceError> {
        let LoadedCase {
            docs: case,
            keys,
            projected_sections,
            ..
        } = self.load_case(&id).await?;
        let mut documenten: Vec<String> = keys
            .iter()
            .map(|k| {
                if k.instance.is_empty() {
                    k.kind.name().to_string()
                } else {
                    format!("{}/{}", k.kind, k.instance)
                }
            })
            .collect();
        // What other partners projected to this node, read only.
        for (s, _) in projected_sections {
            if !documenten.contains(&s) {
                documenten.push(s);
            }
        }
        // What is missing is reported for the forms this node holds whole, not for fields projected to it.
        let (whole, _) = self.case_documents(&id).await?;
        let ontbrekend = whole.iter().flat_map(completeness::missing).collect();
        Ok((
            CaseSummary {
                id: id.to_string(),
                created_at,
                fase: case.phase(),
                documenten,
                ontbrekend,
            },
            case,
        ))
    }

    /// The cases on this node, newest first, a page at a time, with phase and what is missing.
    pub async fn list_cases(
        &self,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<CaseSummary>, ServiceError> {
        // One page from the database: listing does not grow with the number of cases stored.
        let records = self.store.list_cases_page(offset, limit).await?;
        let mut out = Vec::new();
        for rec in records {
            out.push(self.summary(rec.id, rec.created_at).await?.0);
        }
        Ok(out)
    }

    /// One case in full, with the pre-check of the 8 voorwaarden. Audited as a read of the fields it uses.
    pub async fn case_detail(
        &self,
        user: &User,
        case_id: &CaseId,
    ) -> Result<CaseDetail, ServiceError> {
        let start = self.now();
        let rec = self
            .store
            .get_case(case_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("casus {case_id}")))?;
        let (summary, case) = self.summary(rec.id, rec.created_at).await?;
        let voorwaarden = completeness::voorwaarden_bemiddeling(&case, self.now().date());
        // The pre-check reads the birth date, registrations, income and debts: log it as such.
        let used: Vec<FieldId> = [
            "registratie.geboortedatum",
            "registratie.soort_voorziening",
            "aanmelding.inschrijvingen_woningcorporaties",
            "aanmelding.schuldenproblematiek",
            "aanmelding.vorm_ondersteuning_schulden",
            "aanmelding.hoofdinkomen",
        ]
        .iter()
        .filter_map(|f| FieldId::parse(f))
        .collect();
        let entry = self.entry(
            Operation::Read,
            Some(user),
            case_id,
            DocumentKind::Bemiddelingsverzoek,
            &used,
            start,
        );
        self.store.append_audit(&entry).await?;
        Ok(CaseDetail {
            summary,
            voorwaarden_bemiddeling: voorwaarden,
        })
    }

    /// Check a form as [`Node::write_form`] would, storing nothing (the werkplek's live check).
    pub fn check_form(&self, kind: DocumentKind, json: &Json) -> Result<Form, ValidationErrors> {
        self.validator().form(kind, json)
    }

    /// The fields of `kind` this node's partner may write in this case, by the policy's write rules and its
    /// relations to the case. A zorgaanbieder starting a registratie is taken as the client's
    /// betrokken zorgaanbieder: that is what its registratie will say ([`decide_write`] checks it).
    pub async fn writable_fields(
        &self,
        case_id: &CaseId,
        kind: DocumentKind,
    ) -> Result<policies::FieldSet, ServiceError> {
        self.case_exists(case_id).await?;
        let loaded = self.load_case(case_id).await?;
        let facts = self.facts(&loaded, &[]);
        let mut relations = facts.relations_of(&self.partner);
        if self.partner.role() == Role::Zorgaanbieder
            && loaded.docs.first(DocumentKind::Registratie).is_none()
        {
            relations.push(policies::Relation::BetrokkenZorgaanbieder);
        }
        let writable = self.policy().writable(self.partner.role(), &relations);
        Ok(writable.intersection(policies::FieldSet::document(kind)))
    }

    /// Who read or wrote what of a case, from the audit log.
    pub async fn history(&self, case_id: &CaseId) -> Result<Vec<HistoryEntry>, ServiceError> {
        self.case_exists(case_id).await?;
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let batch = self.store.audit_records(after, 1000).await?;
            let Some(last) = batch.last() else { break };
            after = last.seq;
            for r in &batch {
                let Ok(StoredEntry {
                    seq,
                    recorded_at,
                    entry,
                }) = r.parse()
                else {
                    continue;
                };
                if entry.case_id.as_deref() == Some(case_id.as_str()) {
                    out.push(HistoryEntry {
                        seq,
                        at: recorded_at,
                        operation: entry.name,
                        user: entry.user,
                        document: entry.document,
                        fields: entry.fields,
                        purpose: entry.purpose,
                        peer: entry.peer,
                    });
                }
            }
        }
        Ok(out)
    }

    pub(crate) fn entry(
        &self,
        op: Operation,
        user: Option<&User>,
        case_id: &CaseId,
        kind: DocumentKind,
        fields: &[FieldId],
        start: OffsetDateTime,
    ) -> AuditEntry {
        AuditEntry::new(op, "api.v1", PURPOSE_API, start)
            .ended(self.now())
            .case(
                case_id.as_str(),
                self.pseudonymiser.data_subject_id(case_id.as_str()),
            )
            .user(user.map(|u| u.id.clone()))
            .document(Some(kind.name().into()))
            .fields(fields)
            .policy_version(&self.policy().meta.version)
    }
}

/// The fields a whole-form write sets, changes or empties.
fn touched_fields(kind: DocumentKind, old: Option<&Json>, new: &Form) -> Vec<FieldId> {
    let new_json = new.to_json();
    kind.fields()
        .filter(|f| {
            let before = old.and_then(|o| o.get(f.name()));
            let after = new_json.get(f.name());
            before != after
        })
        .collect()
}

/// Decide whether `me` may write `form` into a case as loaded here: the rules across forms, a zorgaanbieder
/// registering only its own clients, and the policy's write rules for every field the write sets or empties —
/// judged on the case as it will be (a registratie naming this zorgaanbieder makes it the betrokken one). On
/// success `loaded` holds the form and the touched fields are returned.
///
/// Pure: the node's write path and the simulator decide writes with this same function.
pub fn decide_write(
    policy: &Policy,
    validator: &Validator<'_>,
    me: &PartnerId,
    loaded: &mut LoadedCase,
    old: Option<&Json>,
    form: &Form,
) -> Result<Vec<FieldId>, ServiceError> {
    validator.in_case(form, &loaded.docs)?;
    if form.kind() == DocumentKind::Registratie
        && me.role() == Role::Zorgaanbieder
        && form.text("betrokken_zorgaanbieder") != Some(&me.to_string())
    {
        return Err(ServiceError::Invalid(ValidationErrors(vec![
            policies::ValidationError {
                document: DocumentKind::Registratie,
                field: "betrokken_zorgaanbieder".into(),
                rule: policies::validate::Rule::Partner {
                    reden: format!("deze node is {me}; registreer alleen eigen cliënten"),
                },
            },
        ])));
    }
    let touched = touched_fields(form.kind(), old, form);
    let mut after = loaded.docs.clone();
    after.insert(form.clone());
    check_submission(validator, &after, form, &touched)?;
    loaded.docs = after;
    let facts = facts_of(me, loaded, &[]);
    policy.check_write(&facts, me, touched.iter().copied())?;
    Ok(touched)
}

/// A write that sets or changes `bemiddelingsverzoek.datum_ingediend` submits the request (indienen): only a
/// request with nothing missing for submission may be submitted, a voorwaarde that cannot be met only with a
/// written reason ([`completeness::for_submission`], on the case as it will be). Every write path — the API,
/// [`Node::submit_request`], the simulator — passes here, so no path submits an incomplete request.
fn check_submission(
    validator: &Validator<'_>,
    case: &CaseDocuments,
    form: &Form,
    touched: &[FieldId],
) -> Result<(), ServiceError> {
    let submits = form.kind() == DocumentKind::Bemiddelingsverzoek
        && form.date("datum_ingediend").is_some()
        && touched.iter().any(|f| {
            f.name() == "datum_ingediend" && f.document() == DocumentKind::Bemiddelingsverzoek
        });
    if !submits {
        return Ok(());
    }
    let missing = completeness::for_submission(case, validator.today());
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Incomplete(missing))
    }
}

/// A rectification in progress ([`Node::rectifying`]): moves the epoch on again when dropped, however it ends.
pub(crate) struct Rectifying<'a>(&'a std::sync::atomic::AtomicU64);

impl Drop for Rectifying<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}
