//! One session with one peer over one connection: reconcile, push changes, check and apply what arrives.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use automerge::AutoCommit;
use policies::{DocumentKind, FieldId, PartnerId, Role, Validator};
use protocol::sync::SyncSession;
use protocol::{Connection, Message};
use tokio::sync::{broadcast, mpsc};

use super::accept::{self, Refusal};
use super::plan::{self, Plan};
use super::projection::{self, META};
use super::wire::{DocKeyName, WireDoc};
use super::{Inner, check};
use crate::audit::{AuditEntry, Operation, Status, new_span_id, new_trace_id};
use crate::doc;
use crate::store::{CaseId, Change, ProjectionRecord};

fn refuse(reason: impl Into<String>) -> Refusal {
    Refusal::new(reason)
}

struct Session {
    inner: Arc<Inner>,
    conn: Connection,
    /// Messages to the peer, written by their own task: the session never waits on the peer's flow control, so
    /// two sessions replying to each other cannot each wait for the other to read.
    outbox: mpsc::UnboundedSender<Message>,
    peer: PartnerId,
    syncs: HashMap<String, SyncSession>,
    /// Documents this session no longer syncs: refused either way.
    blocked: HashSet<String>,
    /// Documents the peer said it cannot take (yet): retried when their case changes.
    unavailable: HashSet<String>,
    /// Documents the peer offered that this node could not take yet: asked for when their case changes here.
    deferred: HashSet<String>,
    /// Policy versions passed on to the peer on this connection.
    policies_sent: HashSet<String>,
    /// Cases whose reconcile failed half-way (a busy database, an audit record that could not be stored): tried
    /// again at the next retry tick rather than at the case's next change.
    failed: BTreeSet<CaseId>,
    /// Rotated projections to tell the peer to delete, once their successors are on their way.
    forget: Vec<String>,
    /// Retired projections the peer was told to delete on this connection.
    forgets_sent: HashSet<String>,
}

pub(super) async fn run(inner: Arc<Inner>, conn: Connection) {
    let Some(peer) = super::partner_of(conn.peer()) else {
        conn.close("peer id is not a partner id");
        return;
    };
    if peer == inner.me {
        conn.close("a node does not sync with itself");
        return;
    }
    tracing::info!(peer = %peer, "connected");
    inner
        .connected
        .write()
        .expect("connected lock")
        .insert(peer.clone(), conn.clone());

    // Reading runs ahead in its own task (ended when the inbox is dropped), queueing at most
    // `protocol::INBOX_MAX_BYTES` of messages: a peer cannot make this node buffer without bound.
    let mut rx = conn.inbox(protocol::INBOX_MAX_BYTES);

    let mut changes = inner.node.subscribe();
    let mut shutdown = inner.shutdown.clone();
    let (outbox, mut outgoing) = mpsc::unbounded_channel::<Message>();
    let writer_conn = conn.clone();
    let writer_peer = peer.clone();
    let _writer = AbortOnDrop(tokio::spawn(async move {
        while let Some(m) = outgoing.recv().await {
            if let Err(e) = writer_conn.send(&m).await {
                tracing::debug!(peer = %writer_peer, error = %e, "send failed; the connection is gone");
                break;
            }
        }
    }));
    let mut s = Session {
        inner: inner.clone(),
        conn: conn.clone(),
        outbox,
        peer: peer.clone(),
        syncs: HashMap::new(),
        blocked: HashSet::new(),
        unavailable: HashSet::new(),
        deferred: HashSet::new(),
        policies_sent: HashSet::new(),
        failed: BTreeSet::new(),
        forget: Vec::new(),
        forgets_sent: HashSet::new(),
    };
    s.pass_on_policies().await;
    s.reconcile_all().await;
    let mut retry = tokio::time::interval(RETRY);
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = retry.tick() => {
                // A partner removed from the directory while its connection was being set up is caught here.
                if !inner.admitted.contains(conn.peer()) {
                    tracing::warn!(peer = %peer, "partner no longer in the federation directory: closing");
                    break;
                }
                s.pass_on_policies().await;
                s.retry().await
            }
            m = rx.recv() => match m {
                Some(Ok(msg)) => {
                    inner.last_received.write().expect("last_received lock").insert(peer.clone(), std::time::Instant::now());
                    s.handle(msg).await
                }
                Some(Err(frame_error)) => {
                    inner.stats.refused.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(peer = %peer, error = %frame_error, "security event: malformed frame refused");
                    s.security_event(None, &format!("malformed frame: {frame_error}"), &[]).await;
                }
                None => break,
            },
            c = changes.recv() => match c {
                Ok(case) => {
                    // Coalesce: a burst of changes (a first sync) names the same case many times.
                    let mut cases = BTreeSet::from([case]);
                    let mut lagged = false;
                    loop {
                        match changes.try_recv() {
                            Ok(c) => {
                                cases.insert(c);
                            }
                            Err(broadcast::error::TryRecvError::Lagged(_)) => lagged = true,
                            Err(_) => break,
                        }
                    }
                    if lagged {
                        s.reconcile_all().await;
                    } else {
                        for case in cases {
                            s.reconcile(&case).await;
                        }
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => s.reconcile_all().await,
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = shutdown.changed() => break,
        }
    }
    conn.close("session ended");
    let mut connected = inner.connected.write().expect("connected lock");
    if connected
        .get(&peer)
        .is_some_and(|c| c.remote_address() == conn.remote_address())
    {
        connected.remove(&peer);
    }
    tracing::info!(peer = %peer, "disconnected");
}

/// Aborts a task when dropped. A session's reader and writer hold the connection; they must end with the session
/// even when the session itself is aborted (a federation dropped without `shutdown`, as a crash does), or the
/// connection outlives it, keeps answering the peer's keep-alives, and the peer never redials.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Most documents a session remembers to ask for again.
const MAX_DEFERRED: usize = 256;

/// How often documents one side could not take yet are offered or asked for again.
const RETRY: std::time::Duration = std::time::Duration::from_millis(500);

impl Session {
    fn me(&self) -> &PartnerId {
        &self.inner.me
    }

    async fn send(&self, msg: Message) {
        // Queued for the writer task; it fails only when the connection is gone, which the loop learns from the
        // reader.
        let _ = self.outbox.send(msg);
    }

    /// The Transferpunt passes every signed policy version (in sequence order) and revocation it holds to every
    /// peer, once per connection.
    async fn pass_on_policies(&mut self) {
        if self.me().role() != Role::Transferpunt {
            return;
        }
        let Ok(artefacts) = crate::distribution::artefacts(&self.inner.node).await else {
            return;
        };
        for a in artefacts {
            if self.policies_sent.insert(a.key) {
                self.send(Message::Artefact {
                    kind: a.kind.into(),
                    data: a.data,
                })
                .await;
            }
        }
    }

    /// A projection withdrawn by its sender: its data and history are deleted; only the facts it was made under
    /// (the relations declared, no personal data) stay, so this node still knows how it relates to the case until
    /// the sender's next projection arrives.
    async fn withdraw(&mut self, doc: &str, case: &CaseId, reason: &str) {
        let store = self.inner.node.store();
        let Ok(Some(mut record)) = store.load_projection(doc).await else {
            return;
        };
        if record.retired {
            // Withdrawn before: a sender tells again after a reconnect, in case the first word was lost.
            return;
        }
        let validator = Validator::new(
            self.inner.node.gemeenten(),
            self.inner.node.clock_now().date(),
        );
        let meta = doc::load(&record.snapshot, [])
            .ok()
            .and_then(|am| projection::read(&am, &validator).meta);
        let mut facts_only = doc::new_document(self.me());
        if let Some(meta) = meta {
            let mut sections = serde_json::Map::new();
            sections.insert(
                META.into(),
                serde_json::to_value(&meta).expect("meta serialises"),
            );
            let _ = doc::write_sections(&mut facts_only, &sections);
            doc::commit(
                &mut facts_only,
                self.inner.node.clock_now().unix_timestamp(),
            );
        }
        record.snapshot = facts_only.save_nocompress();
        record.sync_state = None;
        record.retired = true;
        if store.put_projection(&record).await.is_ok() {
            if let Err(e) = store.scrub().await {
                tracing::warn!(error = %e, "deleted data may linger in the write-ahead log until the next checkpoint");
            }
            self.syncs.remove(doc);
            tracing::info!(peer = %self.peer, doc = %doc, reason = %reason, "projection withdrawn by its sender: deleted");
            self.audit(
                Operation::Receipt,
                case,
                doc,
                &[],
                "projectie ingetrokken en verwijderd",
                Status::Ok,
            )
            .await;
            self.inner.node.notify_changed(case);
        }
    }

    /// A document the peer shared whole and withdraws: deleted here, history and all — but only one this node
    /// holds because of that peer (the peer created it); a document this node created is its own.
    async fn forget_whole(&mut self, name: &str, k: &DocKeyName, reason: &str) {
        let node = self.inner.node.clone();
        let _guard = node.write_guard().await;
        let store = node.store();
        let Ok(Some(stored)) = store.load_document(&k.key()).await else {
            return;
        };
        let Ok(mut am) = stored.to_automerge(self.me()) else {
            return;
        };
        let (_, creator) = plan::authors_of(&mut am, k.kind);
        if creator != Some(doc::actor_for(&self.peer)) {
            tracing::debug!(peer = %self.peer, doc = %name, "a Forget for a document the peer did not create: ignored");
            return;
        }
        match store.delete_document(&k.key()).await {
            Ok(()) => {
                if let Err(e) = store.scrub().await {
                    tracing::warn!(error = %e, "deleted data may linger in the write-ahead log until the next checkpoint");
                }
                self.syncs.remove(name);
                tracing::info!(peer = %self.peer, doc = %name, reason = %reason, "document withdrawn by its creator: deleted");
                self.audit(
                    Operation::Receipt,
                    &k.case,
                    name,
                    &[],
                    "document ingetrokken en verwijderd",
                    Status::Ok,
                )
                .await;
                node.notify_changed(&k.case);
            }
            Err(e) => {
                tracing::error!(doc = %name, error = %e, "could not delete a withdrawn document")
            }
        }
    }

    /// A policy version or revocation from the peer: only from the Transferpunt, only with its signature; a
    /// version only if it keeps every invariant and its sequence is above every one stored. Stored; the federation
    /// decides what is in force (`adopt_loop`).
    async fn receive_policy(&mut self, kind: &str, data: &[u8]) {
        if self.peer.role() != Role::Transferpunt {
            self.inner.stats.refused.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(peer = %self.peer, kind = %kind, "security event: a policy artefact from a partner that is not the Transferpunt, ignored");
            self.security_event(
                None,
                &format!("{kind} offered by {}, not by the Transferpunt", self.peer),
                &[],
            )
            .await;
            return;
        }
        match crate::distribution::receive(
            &self.inner.node,
            kind,
            data,
            self.conn.peer_certificate(),
        )
        .await
        {
            Ok(received) => tracing::info!(?received, "policy artefact received"),
            Err(crate::distribution::DistributionError::Store(e)) => {
                tracing::error!(error = %e, "could not store a policy artefact")
            }
            Err(e) => {
                self.inner.stats.refused.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(peer = %self.peer, kind = %kind, error = %e, "security event: policy artefact refused");
                self.security_event(None, &format!("{kind} refused: {e}"), &[])
                    .await;
                self.send(Message::Refused {
                    doc: "beleid".into(),
                    reason: e.to_string(),
                })
                .await;
            }
        }
    }

    /// Offer again what the peer could not take, ask again for what this node could not take: the facts that
    /// decide it (a projection saying who relates how) may have arrived since.
    async fn retry(&mut self) {
        let mut cases: BTreeSet<CaseId> = std::mem::take(&mut self.failed);
        cases.extend(
            self.unavailable
                .iter()
                .chain(&self.deferred)
                .filter_map(|d| WireDoc::parse(d).map(|w| w.case().clone())),
        );
        for case in cases {
            self.reconcile(&case).await;
        }
    }

    /// Reconcile a case again at the next retry tick. Bounded like the other retry sets.
    fn retry_later(&mut self, case: &CaseId) {
        if self.failed.len() < MAX_DEFERRED {
            self.failed.insert(case.clone());
        }
    }

    async fn reconcile_all(&mut self) {
        let cases = match self.inner.node.store().list_cases().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot list cases to reconcile");
                return;
            }
        };
        for c in cases {
            self.reconcile(&c.id).await;
        }
    }

    async fn plan(&self, case: &CaseId) -> Option<Plan> {
        plan::plan_for(&self.inner.node, &self.peer, case).await
    }

    /// Bring the peer up to date on one case: update its projection (rotating it when it narrowed), sync every
    /// document shared with it whole, and tell it to delete a document it held whole that it may hold no longer.
    async fn reconcile(&mut self, case: &CaseId) {
        let node = self.inner.node.clone();
        let Ok(loaded) = node.load_case(case).await else {
            self.retry_later(case);
            return;
        };
        let docs = plan::local_docs(&node, case).await;
        let policy = node.policy();
        let plan = plan::plan(&policy, self.me(), &self.peer, &loaded, &docs);
        tracing::debug!(peer = %self.peer, case = %case, full = plan.full.len(), projected = plan.projected.len(), "reconcile");
        // The projection first: it carries the facts (who relates how) the peer needs to accept the documents.
        let mut shared: Vec<WireDoc> = Vec::new();
        match self.update_projection(case, &plan).await {
            Ok(Some(p)) => shared.push(p),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(peer = %self.peer, case = %case, error = %e, "projection not updated; retrying");
                self.retry_later(case);
            }
        }
        shared.extend(plan.full.iter().cloned().map(WireDoc::Form));
        self.withdraw_whole(&docs, &plan, policy.on_withdrawal)
            .await;
        // A document the peer could not take before may be acceptable now.
        self.unavailable
            .retain(|d| WireDoc::parse(d).is_none_or(|w| w.case() != case));
        // And one the peer offered that this node could not take: ask for it, starting from nothing — once the
        // peer may write into it, as far as this node now knows.
        let asks: Vec<String> = self
            .deferred
            .iter()
            .filter(|d| WireDoc::parse(d).is_some_and(|w| w.case() == case))
            .cloned()
            .collect();
        if !asks.is_empty() {
            let facts = crate::facts::facts_of(self.me(), &loaded, &[&self.peer]);
            for d in asks {
                let Some(WireDoc::Form(k)) = WireDoc::parse(&d) else {
                    continue;
                };
                let creator = docs
                    .iter()
                    .find(|l| l.key == k)
                    .and_then(|l| l.creator.clone());
                if plan::may_write_into(&policy, &facts, &self.peer, &k, creator.as_ref())
                    .is_empty()
                {
                    continue;
                }
                self.deferred.remove(&d);
                let mut empty = doc::new_document(self.me());
                if let Some(bytes) = SyncSession::new().generate(&mut empty) {
                    self.send(Message::Sync {
                        doc: d,
                        data: bytes,
                    })
                    .await;
                }
            }
        }
        for d in shared {
            self.push(&d, &plan).await;
        }
        for doc in std::mem::take(&mut self.forget) {
            self.send(Message::Forget {
                doc,
                reason:
                    "the policy no longer lets you hold every field of this projection; delete it"
                        .into(),
            })
            .await;
        }
    }

    /// Documents the peer held whole and may no longer hold whole (a relation ended, the policy narrowed, consent
    /// was withdrawn under `on_withdrawal = "forget"`): the peer is told to delete them, as a rotated projection's
    /// receiver is. Under `"keep"` a withdrawal only stops them: what the peer lawfully received stays with it.
    async fn withdraw_whole(
        &mut self,
        docs: &[plan::LocalDoc],
        plan: &Plan,
        on_withdrawal: policies::policy::Withdrawal,
    ) {
        let withdrawn_and_kept =
            !plan.consent && on_withdrawal == policies::policy::Withdrawal::Keep;
        let peer_actor = doc::actor_for(&self.peer);
        let store = self.inner.node.store();
        for d in docs {
            if plan.full.contains(&d.key) || d.creator.as_ref() == Some(&peer_actor) {
                continue;
            }
            let Ok(Some(stored)) = store.load_document(&d.key.key()).await else {
                continue;
            };
            let held = store
                .get_sync_state(&self.peer, &stored.meta.doc_id)
                .await
                .ok()
                .flatten()
                .is_some();
            if !held || withdrawn_and_kept {
                continue;
            }
            let name = WireDoc::Form(d.key.clone()).to_string();
            if store
                .delete_sync_state(&self.peer, &stored.meta.doc_id)
                .await
                .is_ok()
            {
                self.syncs.remove(&name);
                tracing::info!(peer = %self.peer, doc = %name, "document no longer shared whole: the peer is told to delete it");
                self.send(Message::Forget {
                    doc: name,
                    reason: "the policy no longer lets you hold this document whole; delete it"
                        .into(),
                })
                .await;
            }
        }
    }

    /// Write this node's projection for the peer. Returns the projection to sync, if there is one.
    ///
    /// A projection that would lose a field the peer held is rotated: a fresh generation, the old one retired and
    /// the peer told to delete it. Consent withdrawn is told at once to a peer that received this case before
    /// (and to no other): under `on_withdrawal = "keep"` only the facts of its projection change (what it holds
    /// stays, nothing new is added); under `"forget"` it is rotated, and the new generation holds only the facts.
    async fn update_projection(
        &mut self,
        case: &CaseId,
        plan: &Plan,
    ) -> Result<Option<WireDoc>, crate::store::StoreError> {
        let store = self.inner.node.store();
        let me = self.me().to_string();
        let peer = self.peer.to_string();
        let mine: Vec<ProjectionRecord> = store
            .projections_of_case(case)
            .await?
            .into_iter()
            .filter(|p| p.sender == me && p.receiver == peer)
            .collect();
        let next_generation = mine.iter().map(|p| p.generation).max().unwrap_or(0) + 1;
        // A retired generation the peer may still hold — its `Forget` lost with a connection, or this node crashed
        // between retiring it and telling — is told again, once per connection. Deleting is idempotent.
        for p in mine.iter().filter(|p| p.retired) {
            if self.forgets_sent.insert(p.wire_id.clone()) {
                self.forget.push(p.wire_id.clone());
            }
        }
        let told_before = !mine.is_empty();
        let keep = self.inner.node.policy().on_withdrawal == policies::policy::Withdrawal::Keep;
        let current = mine.into_iter().rev().find(|p| !p.retired);
        let mut wanted = plan.projection.clone();
        if wanted.is_empty()
            && told_before
            && let Some(notice) = &plan.withdrawal_notice
        {
            wanted = notice.clone();
        }
        let mut current = match current {
            Some(p) => {
                let Ok(am) = doc::load(&p.snapshot, []) else {
                    tracing::error!(doc = %p.wire_id, "a stored projection does not load");
                    return Ok(None);
                };
                let held_json = match doc::read_json(&am) {
                    Ok(serde_json::Value::Object(m)) => m,
                    _ => serde_json::Map::new(),
                };
                let held = projection::fields_of(&held_json);
                if keep && !plan.consent {
                    // Consent withdrawn, and what the peer lawfully received stays with it: nothing it holds is
                    // removed or updated, the facts change, and only fields that need no consent are added.
                    let mut frozen = held_json;
                    for (section, fields) in &plan.projection {
                        frozen.insert(section.clone(), fields.clone());
                    }
                    if let Some(notice) = plan.withdrawal_notice.as_ref().and_then(|n| n.get(META))
                    {
                        frozen.insert(META.into(), notice.clone());
                    }
                    wanted = frozen;
                    Some((p, am))
                } else if !held.difference(plan.projected).is_empty() || wanted.is_empty() {
                    // A field the peer held that it may no longer hold: the old projection's history has it, so the
                    // projection is replaced by a fresh one and the peer told to delete the old.
                    let mut retired = p.clone();
                    retired.retired = true;
                    store.put_projection(&retired).await?;
                    // Told after the new generation is sent, so the peer never lacks the facts it decides on.
                    self.forgets_sent.insert(p.wire_id.clone());
                    self.forget.push(p.wire_id.clone());
                    tracing::info!(peer = %self.peer, doc = %p.wire_id, "projection rotated");
                    None
                } else {
                    Some((p, am))
                }
            }
            None => None,
        };
        if wanted.is_empty() {
            return Ok(None);
        }
        let (mut record, mut am) = match current.take() {
            Some(x) => x,
            None => {
                let wire = WireDoc::Projection {
                    case: case.clone(),
                    sender: self.me().clone(),
                    receiver: self.peer.clone(),
                    generation: next_generation,
                };
                (
                    ProjectionRecord {
                        wire_id: wire.to_string(),
                        case: case.clone(),
                        sender: me.clone(),
                        receiver: peer.clone(),
                        generation: next_generation,
                        snapshot: Vec::new(),
                        sync_state: None,
                        retired: false,
                    },
                    doc::new_document(self.me()),
                )
            }
        };
        am.set_actor(doc::actor_for(self.me()));
        let Ok(changed) = doc::write_sections(&mut am, &wanted) else {
            tracing::error!(case = %case, "a projection could not be written");
            return Ok(None);
        };
        if changed || record.snapshot.is_empty() {
            doc::commit(&mut am, self.inner.node.clock_now().unix_timestamp());
            record.snapshot = am.save_nocompress();
            store.put_projection(&record).await?;
        }
        Ok(WireDoc::parse(&record.wire_id))
    }

    /// Load a document for syncing with this peer, and its sync session.
    async fn load(&mut self, d: &WireDoc) -> Option<(AutoCommit, SyncSession)> {
        let store = self.inner.node.store();
        let name = d.to_string();
        let (am, persisted) = match d {
            WireDoc::Form(k) => {
                let stored = store.load_document(&k.key()).await.ok()??;
                let persisted = store
                    .get_sync_state(&self.peer, &stored.meta.doc_id)
                    .await
                    .ok()
                    .flatten();
                (stored.to_automerge(self.me()).ok()?, persisted)
            }
            WireDoc::Projection { .. } => {
                let p = store.load_projection(&name).await.ok()??;
                // A retired projection is never synced again, either way: its sender withdrew it.
                if p.retired {
                    return None;
                }
                let mut am = doc::load(&p.snapshot, []).ok()?;
                am.set_actor(doc::actor_for(self.me()));
                (am, p.sync_state)
            }
        };
        let session = match self.syncs.remove(&name) {
            Some(s) => s,
            None => persisted
                .and_then(|b| SyncSession::restore(&b).ok())
                .unwrap_or_default(),
        };
        Some((am, session))
    }

    async fn persist(&mut self, d: &WireDoc, session: SyncSession) {
        let store = self.inner.node.store();
        let bytes = session.persist();
        match d {
            WireDoc::Form(k) => {
                if let Ok(Some(stored)) = store.load_document(&k.key()).await {
                    let _ = store
                        .put_sync_state(&self.peer, &stored.meta.doc_id, &bytes)
                        .await;
                }
            }
            WireDoc::Projection { .. } => {
                let _ = store
                    .put_projection_sync_state(&d.to_string(), &bytes)
                    .await;
            }
        }
        self.syncs.insert(d.to_string(), session);
    }

    /// Send the next sync message for a shared document, recording a disclosure when it carries changes.
    async fn push(&mut self, d: &WireDoc, plan: &Plan) {
        let name = d.to_string();
        if self.blocked.contains(&name) || self.unavailable.contains(&name) {
            return;
        }
        let Some((am, session)) = self.load(d).await else {
            return;
        };
        self.reply(d, am, session, plan).await;
    }

    /// Generate and send the next message of a sync session, then keep (and persist) the session.
    async fn reply(
        &mut self,
        d: &WireDoc,
        mut am: AutoCommit,
        mut session: SyncSession,
        plan: &Plan,
    ) {
        let name = d.to_string();
        let generated = session.generate(&mut am);
        tracing::debug!(peer = %self.peer, doc = %name, bytes = generated.as_ref().map_or(0, Vec::len), "sync message");
        if let Some(bytes) = generated {
            let carries =
                automerge::sync::Message::decode(&bytes).is_ok_and(|m| !m.changes.is_empty());
            if carries {
                let fields: Vec<FieldId> = match d {
                    WireDoc::Form(k) => {
                        let json = doc::read_json(&am).unwrap_or_default();
                        k.kind
                            .fields()
                            .filter(|f| json.get(f.name()).is_some())
                            .collect()
                    }
                    WireDoc::Projection { .. } => plan.projected.iter().collect(),
                };
                let mut flows: BTreeSet<&str> = BTreeSet::new();
                for f in &fields {
                    if let Some((_, flow)) = plan.flows.iter().find(|(pf, _)| pf == f) {
                        flows.insert(flow);
                    }
                }
                let activity = if flows.is_empty() {
                    // A document the peer writes too, echoed back: no flow needed, but still recorded.
                    "gezamenlijk document".to_string()
                } else {
                    flows.into_iter().collect::<Vec<_>>().join("; ")
                };
                // Fail closed: no disclosure without its audit record. The session is not advanced, so the
                // message is generated again at the next reconcile.
                let entry = self.entry(
                    Operation::Disclosure,
                    d.case(),
                    &name,
                    &fields,
                    &activity,
                    Status::Ok,
                );
                if let Err(e) = self.inner.node.store().append_audit(&entry).await {
                    tracing::error!(peer = %self.peer, doc = %name, error = %e, "disclosure not sent: its audit record could not be stored");
                    self.retry_later(d.case());
                    return;
                }
            }
            self.inner.stats.sent.fetch_add(1, Ordering::Relaxed);
            self.inner
                .stats
                .bytes_sent
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
            self.send(Message::Sync {
                doc: name.clone(),
                data: bytes,
            })
            .await;
        }
        self.persist(d, session).await;
    }

    async fn handle(&mut self, msg: Message) {
        match msg {
            Message::Sync { doc, data } => {
                if self.blocked.contains(&doc) {
                    return;
                }
                match WireDoc::parse(&doc) {
                    Some(WireDoc::Form(k)) => self.receive_form(&doc, k, &data).await,
                    Some(p @ WireDoc::Projection { .. }) => {
                        self.receive_projection(&doc, p, &data).await
                    }
                    None => self.send(Message::NotAvailable { doc }).await,
                }
            }
            Message::Forget { doc, reason } => match WireDoc::parse(&doc) {
                Some(WireDoc::Projection {
                    sender,
                    receiver,
                    case,
                    ..
                }) if sender == self.peer && &receiver == self.me() => {
                    self.withdraw(&doc, &case, &reason).await;
                }
                Some(WireDoc::Form(k)) => self.forget_whole(&doc, &k, &reason).await,
                _ => {}
            },
            Message::Refused { doc, reason } => {
                tracing::warn!(peer = %self.peer, doc = %doc, reason = %reason, "peer refused our message; no longer syncing it on this connection");
                self.blocked.insert(doc);
            }
            Message::NotAvailable { doc } => {
                // The peer did not take what was sent, or holds nothing of it: start over, carrying every change,
                // when it is offered again (Automerge, counting those changes as delivered, would not send them
                // again; and a request for a document a node does not share is not answered). Bounded, so a peer cannot grow the set.
                self.syncs
                    .insert(doc.clone(), SyncSession::for_empty_peer());
                if self.unavailable.len() < MAX_DEFERRED {
                    self.unavailable.insert(doc);
                }
            }
            Message::Artefact { kind, data }
                if kind == crate::distribution::POLICY_KIND
                    || kind == crate::distribution::REVOCATION_KIND =>
            {
                self.receive_policy(&kind, &data).await
            }
            Message::Artefact { kind, .. } => {
                tracing::debug!(peer = %self.peer, kind = %kind, "artefact of an unknown kind ignored");
            }
        }
    }

    /// A sync message about a case document. A request (no changes) is answered only when the plan shares the
    /// document whole with the peer; a push only into an instance the peer may write into, and only with fields
    /// it may write and this node may receive from it ([`accept`]). Everything else is answered "not available",
    /// as for a document that does not exist — and a push into another partner's instance is refused and
    /// recorded.
    async fn receive_form(&mut self, name: &str, k: DocKeyName, data: &[u8]) {
        // The peer engages with this document: whatever it could not take before, it wants now.
        self.unavailable.remove(name);
        let Ok(message) = automerge::sync::Message::decode(data) else {
            self.refused(name, &k.case, refuse("not a valid sync message"))
                .await;
            return;
        };
        let carries = !message.changes.is_empty();
        let node = self.inner.node.clone();
        let _guard = node.write_guard().await;
        let policy = node.policy();
        let Ok(loaded) = node.load_case(&k.case).await else {
            return;
        };
        let docs = plan::local_docs(&node, &k.case).await;
        let local = docs.iter().find(|d| d.key == k);
        let exists = local.is_some()
            || node
                .store()
                .load_document(&k.key())
                .await
                .ok()
                .flatten()
                .is_some();
        // Who the instance belongs to: whoever created it here, or the partner that projected it here.
        let creator = local.and_then(|d| d.creator.clone()).or_else(|| {
            loaded
                .section_senders
                .get(&projection::section_name(k.kind, &k.instance))
                .map(doc::actor_for)
        });
        let shared = accept::answers_pull(
            &plan::plan(&policy, &self.inner.me, &self.peer, &loaded, &docs),
            &k,
        );
        let me = self.inner.me.clone();
        let peer = self.peer.clone();
        let facts = crate::facts::facts_of(&me, &loaded, &[&peer]);
        let cx = accept::FormContext {
            policy: &policy,
            me: &me,
            peer: &peer,
            key: &k,
            creator: creator.as_ref(),
            facts: &facts,
        };
        let may_push = carries && accept::may_push(&cx);
        if !shared && !may_push {
            if carries {
                self.inner.stats.refused.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(peer = %self.peer, doc = %name, "security event: changes pushed for a document the peer may not write into");
                self.security_event(
                    Some(&k.case),
                    &format!(
                        "{} pushed changes to {name}, which it may not write into",
                        self.peer
                    ),
                    &[],
                )
                .await;
                if owned_by_another(&k, creator.as_ref(), &self.peer) {
                    // Another partner's instance: refused outright, not merely "not yet".
                    self.blocked.insert(name.to_string());
                    self.send(Message::Refused {
                        doc: name.to_string(),
                        reason: format!("{name} is not {}'s to write into", self.peer),
                    })
                    .await;
                    return;
                }
                // Perhaps only not yet: the projection that tells this node how the peer relates to the case may
                // still be on its way. Asked for again when the case changes here; bounded, so a peer cannot make
                // this node keep asking for ever more documents.
                if self.deferred.len() < MAX_DEFERRED {
                    self.deferred.insert(name.to_string());
                }
            }
            tracing::debug!(peer = %self.peer, doc = %name, "not available to this peer");
            self.send(Message::NotAvailable {
                doc: name.to_string(),
            })
            .await;
            return;
        }
        self.deferred.remove(name);
        tracing::debug!(peer = %self.peer, doc = %name, shared, may_push, "case document message");
        let wire = WireDoc::Form(k.clone());
        let Some((mut am, mut session)) = self
            .load(&wire)
            .await
            .or_else(|| (!exists).then(|| (doc::new_document(&self.inner.me), SyncSession::new())))
        else {
            return;
        };
        let validator = Validator::new(node.gemeenten(), node.clock_now().date());
        let outcome = session.receive_checked(&mut am, data, |fork, new| {
            if new.is_empty() {
                return Ok(Vec::new());
            }
            let json =
                doc::read_json(fork).map_err(|e| refuse(format!("document does not read: {e}")))?;
            let form = validator.partial_form(k.kind, &json).map_err(|e| {
                refuse(format!("the document would not be a valid {}: {e}", k.kind))
            })?;
            accept::form_changes(&cx, fork, new, &form)
        });
        match outcome {
            Err(e) => {
                self.refused(
                    name,
                    &k.case,
                    refuse(format!("not a valid sync message: {e}")),
                )
                .await
            }
            Ok(Err(refusal)) => self.refused(name, &k.case, refusal).await,
            Ok(Ok(fields)) => {
                if let Some(change) = Change::take(&mut am) {
                    if node
                        .store()
                        .get_case(&k.case)
                        .await
                        .ok()
                        .flatten()
                        .is_none()
                    {
                        let _ = node.store().create_case(&k.case).await;
                    }
                    let entry = self.entry(
                        Operation::Receipt,
                        &k.case,
                        name,
                        &fields,
                        "ontvangen van partner",
                        Status::Ok,
                    );
                    if let Err(e) = node
                        .store()
                        .write_document_with_audit(&k.key(), &change, &entry)
                        .await
                    {
                        tracing::error!(error = %e, doc = %name, "could not store an accepted change");
                        return;
                    }
                    self.inner.stats.accepted.fetch_add(1, Ordering::Relaxed);
                    node.notify_changed(&k.case);
                }
                drop(_guard);
                // Answer when the document is shared whole with the peer (now): the peer learns our heads, and
                // gets what it lacks; or when this node had nothing of it before (the answer asks for everything
                // and carries nothing). Otherwise the peer gets nothing of it back.
                let plan = self.plan(&k.case).await.unwrap_or_default();
                if accept::answers_pull(&plan, &k) || !exists {
                    self.reply(&wire, am, session, &plan).await;
                } else {
                    self.persist(&wire, session).await;
                }
            }
        }
    }

    /// A projection: from the peer to this node (check every field against the facts the peer declared), or this
    /// node's own projection for the peer, synced back (the peer may not write into it).
    async fn receive_projection(&mut self, name: &str, wire: WireDoc, data: &[u8]) {
        tracing::debug!(peer = %self.peer, doc = %name, bytes = data.len(), "projection message");
        let WireDoc::Projection {
            case,
            sender,
            receiver,
            generation,
        } = wire.clone()
        else {
            return;
        };
        let node = self.inner.node.clone();
        let me = self.inner.me.clone();
        if sender == me && receiver == self.peer {
            // Our own projection, synced back by its receiver. One this node retired is not answered with data:
            // the receiver still has it (a `Forget` lost or overtaken), so it is told again to delete it.
            if let Ok(Some(p)) = node.store().load_projection(name).await
                && p.retired
            {
                self.send(Message::Forget {
                    doc: name.to_string(),
                    reason: "this projection was withdrawn; delete it".into(),
                })
                .await;
                return;
            }
            let Some((mut am, mut session)) = self.load(&wire).await else {
                self.send(Message::NotAvailable {
                    doc: name.to_string(),
                })
                .await;
                return;
            };
            let outcome = session.receive_checked(&mut am, data, |_, new| {
                if new.iter().any(|c| c.actor_id() != &doc::actor_for(&me)) {
                    return Err(refuse("a projection is written by its sender only"));
                }
                Ok(())
            });
            match outcome {
                Ok(Ok(())) => {
                    let plan = self.plan(&case).await.unwrap_or_default();
                    self.reply(&wire, am, session, &plan).await;
                }
                Ok(Err(r)) => self.refused(name, &case, r).await,
                Err(e) => {
                    self.refused(
                        name,
                        &case,
                        refuse(format!("not a valid sync message: {e}")),
                    )
                    .await
                }
            }
            return;
        }
        if receiver != me || sender != self.peer {
            self.send(Message::NotAvailable {
                doc: name.to_string(),
            })
            .await;
            return;
        }
        let _guard = node.write_guard().await;
        let policy = node.policy();
        let stored = node.store().load_projection(name).await.ok().flatten();
        if stored.as_ref().is_some_and(|s| s.retired) {
            // Withdrawn by its sender: a sync message that overtook the `Forget`, or came after it, must not bring
            // the deleted fields back. New data comes in a new generation.
            tracing::debug!(peer = %self.peer, doc = %name, "data for a withdrawn projection ignored");
            return;
        }
        let (mut am, mut session) = match self.load(&wire).await {
            Some(x) => x,
            None => (doc::new_document(&me), SyncSession::new()),
        };
        let peer = self.peer.clone();
        let Ok(loaded) = node.load_case(&case).await else {
            return;
        };
        let validator = Validator::new(node.gemeenten(), node.clock_now().date());
        let outcome = session.receive_checked(&mut am, data, |fork, new| {
            if check::touched(fork, new).is_empty() {
                return Ok(Vec::new());
            }
            let content = projection::read(fork, &validator);
            let meta = content.meta.as_ref().ok_or_else(|| {
                refuse("a projection without the facts it was made under (_meta)")
            })?;
            let facts = accept::projection_facts(&me, &peer, &loaded, meta, &content.forms)?;
            accept::projection_changes(&policy, &peer, &me, &facts, fork, new)
        });
        match outcome {
            Err(e) => {
                self.refused(
                    name,
                    &case,
                    refuse(format!("not a valid sync message: {e}")),
                )
                .await
            }
            Ok(Err(r)) => self.refused(name, &case, r).await,
            Ok(Ok(fields)) => {
                let record = ProjectionRecord {
                    wire_id: name.to_string(),
                    case: case.clone(),
                    sender: sender.to_string(),
                    receiver: receiver.to_string(),
                    generation,
                    snapshot: am.save_nocompress(),
                    sync_state: Some(session.persist()),
                    retired: false,
                };
                let changed = stored
                    .as_ref()
                    .is_none_or(|s| s.snapshot != record.snapshot);
                if let Err(e) = node.store().put_projection(&record).await {
                    tracing::error!(error = %e, doc = %name, "could not store a projection");
                    return;
                }
                if changed && !fields.is_empty() {
                    self.audit(
                        Operation::Receipt,
                        &case,
                        name,
                        &fields,
                        "projectie ontvangen",
                        Status::Ok,
                    )
                    .await;
                    self.inner.stats.accepted.fetch_add(1, Ordering::Relaxed);
                }
                // Re-plan also when only the facts (`_meta`) changed: they decide what this node sends on (the
                // phase it declares, a case it learns it relates to). Found by the simulator's convergence check.
                if changed {
                    node.notify_changed(&case);
                }
                drop(_guard);
                let plan = self.plan(&case).await.unwrap_or_default();
                self.reply(&wire, am, session, &plan).await;
            }
        }
    }

    async fn refused(&mut self, name: &str, case: &CaseId, r: Refusal) {
        if r.not_yet {
            tracing::debug!(peer = %self.peer, doc = %name, reason = %r.reason, "not available (yet)");
            self.send(Message::NotAvailable {
                doc: name.to_string(),
            })
            .await;
            return;
        }
        self.inner.stats.refused.fetch_add(1, Ordering::Relaxed);
        self.blocked.insert(name.to_string());
        tracing::warn!(peer = %self.peer, doc = %name, reason = %r.reason, "security event: message refused whole");
        let fields: Vec<FieldId> = r.fields.clone();
        self.audit(
            Operation::Refusal,
            case,
            name,
            &fields,
            &r.reason,
            Status::Error,
        )
        .await;
        self.send(Message::Refused {
            doc: name.to_string(),
            reason: r.reason,
        })
        .await;
    }

    async fn security_event(&self, case: Option<&CaseId>, reason: &str, fields: &[FieldId]) {
        let mut entry = self.entry(
            Operation::Refusal,
            case.unwrap_or(&CaseId::from_bytes([0; 16])),
            "",
            fields,
            reason,
            Status::Error,
        );
        if case.is_none() {
            entry.case_id = None;
            entry.data_subject_id = None;
            entry.document = None;
        }
        if let Err(e) = self.inner.node.store().append_audit(&entry).await {
            tracing::error!(error = %e, "could not record a security event");
        }
    }

    fn entry(
        &self,
        op: Operation,
        case: &CaseId,
        doc: &str,
        fields: &[FieldId],
        activity: &str,
        status: Status,
    ) -> AuditEntry {
        let node = &self.inner.node;
        let now = node.clock_now();
        AuditEntry {
            trace_id: new_trace_id(),
            span_id: new_span_id(),
            name: op,
            start_time: now,
            end_time: now,
            status_code: status,
            processing_activity_id: activity.chars().take(500).collect(),
            data_subject_id: Some(node.pseudonymiser().data_subject_id(case.as_str())),
            user: None,
            case_id: Some(case.to_string()),
            document: (!doc.is_empty()).then(|| doc.to_string()),
            fields: fields.iter().map(|f| f.qualified_name()).collect(),
            purpose: "federatie: gegevensdeling volgens het convenantbeleid".into(),
            peer: Some(self.peer.to_string()),
            policy_version: Some(node.policy().meta.version.clone()),
        }
    }

    async fn audit(
        &self,
        op: Operation,
        case: &CaseId,
        doc: &str,
        fields: &[FieldId],
        activity: &str,
        status: Status,
    ) {
        let entry = self.entry(op, case, doc, fields, activity, status);
        if let Err(e) = self.inner.node.store().append_audit(&entry).await {
            tracing::error!(error = %e, "could not record in the audit log");
        }
    }
}

/// Whether case document `k` (existing here, created by `creator`) is another partner's instance than `peer`'s: a
/// reactie or gemeente form of another partner, or a melding someone else created.
fn owned_by_another(
    k: &DocKeyName,
    creator: Option<&automerge::ActorId>,
    peer: &PartnerId,
) -> bool {
    match k.kind {
        DocumentKind::Reactie | DocumentKind::Gemeente => k.instance != peer.to_string(),
        DocumentKind::Melding => creator.is_some_and(|c| *c != doc::actor_for(peer)),
        _ => false,
    }
}
