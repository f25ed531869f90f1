//! One session with one peer over one connection: reconcile, push changes, check and apply what arrives.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use automerge::AutoCommit;
use policies::{PartnerId, Role, Validator};
use protocol::sync::SyncSession;
use protocol::{Connection, Message};
use tokio::sync::{broadcast, mpsc};
use tracing::Instrument as _;

use super::Inner;
use super::plan::{self, Plan};
use super::receive::{self, Counter, Effect, Need, PeerState, Record, View};
use super::wire::WireDoc;
use crate::audit::{AuditEntry, ForeignOperation};
use crate::doc;
use crate::projection::{self, META};
use crate::rectificatie::NoticeWire;
use crate::store::{CaseId, ProjectionRecord, RectificationNotice, SyncStateWrite};

struct Session {
    inner: Arc<Inner>,
    conn: Connection,
    /// Messages to the peer, written by their own task: the session never waits on the peer's flow control, so
    /// two sessions replying to each other cannot each wait for the other to read.
    outbox: mpsc::UnboundedSender<Message>,
    /// What the receive core remembers about the peer.
    state: PeerState,
    /// Sync sessions of documents with the peer, as last used (a cache of the stored ones).
    syncs: HashMap<String, SyncSession>,
    /// Sessions in `syncs` changed since they were last stored. They are stored together at the retry tick and when
    /// the session ends, not once per message: a sync session is a hint (the heads both sides share), and one lost
    /// with a crash only makes the next connection exchange a little more, while a commit per message was most of
    /// an edit's latency (issue #14).
    unstored: HashMap<String, WireDoc>,
    /// This node's projections for the peer written by a reconcile and not stored yet: each is stored in the same
    /// transaction as the record of the disclosure that carries it (or at the end of the reconcile, when nothing is
    /// sent), so an edit costs one commit at the sending side.
    unsaved: HashMap<String, ProjectionRecord>,
    /// While [`Session::reconcile_many`] runs a chunk: what it would send, held until the chunk's projections and
    /// disclosure records are stored.
    held: Option<Vec<Held>>,
    /// The connection's wire bytes already added to the statistics.
    wire_counted: u64,
    /// Policy versions passed on to the peer on this connection.
    policies_sent: HashSet<String>,
    /// Cases whose reconcile failed half-way (a busy database, an audit record that could not be stored): tried
    /// again at the next retry tick rather than at the case's next change.
    failed: BTreeSet<CaseId>,
    /// Rotated projections to tell the peer to delete, once their successors are on their way.
    forget: Vec<String>,
    /// Retired projections the peer was told to delete on this connection.
    forgets_sent: HashSet<String>,
    /// Inzageverzoeken offered to the peer on this connection (offered again on the next until confirmed).
    requests_sent: HashSet<String>,
    /// The signed directory version passed on to the peer on this connection (the Transferpunt).
    directory_sent: u64,
    /// When a message was last sent or received on this connection (for closing an idle one).
    last_active: std::time::Instant,
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ended {
    /// This side closed the connection after it was idle ([`super::FederationConfig::idle_close`]).
    Idle,
    /// Anything else: the connection was lost or closed, the federation stopped, the peer was refused.
    Closed,
}

/// A received projection the receive core decided to store, with the records right after it (its receipt) and
/// what follows them.
struct Received {
    record: ProjectionRecord,
    records: Vec<Record>,
    rest: Vec<Effect>,
}

impl Received {
    /// Effects that begin by storing a projection, split; any others back as they are.
    fn split(effects: Vec<Effect>) -> Result<Received, Vec<Effect>> {
        let mut effects = effects.into_iter();
        let record = match effects.next() {
            Some(Effect::StoreProjection(record)) => record,
            first => return Err(first.into_iter().chain(effects).collect()),
        };
        let mut records = Vec::new();
        let mut rest = Vec::new();
        let mut effects = effects.peekable();
        while let Some(e) = effects.next_if(|e| matches!(e, Effect::Record(_) | Effect::Count(_))) {
            match e {
                Effect::Record(r) => records.push(r),
                other => rest.push(other),
            }
        }
        rest.extend(effects);
        Ok(Received {
            record,
            records,
            rest,
        })
    }
}

/// Most queued messages the writer sends together (`Connection::send_many` packs them into batches).
const WRITE_BURST: usize = 1024;

/// Most messages a session takes together from those read already ([`Session::handle_many`]).
const HANDLE_BURST: usize = 256;

/// What a chunk of [`Session::reconcile_many`] would send.
enum Held {
    /// A disclosure, with its record (stored before it is sent).
    Disclose {
        message: Message,
        /// Boxed: a record is large beside a message.
        entry: Box<AuditEntry>,
        case: Option<CaseId>,
    },
    /// Any other message, kept in order with the disclosures.
    Send(Message),
}

/// Cases reconciled per transaction by [`Session::reconcile_many`]: large enough that the commit is a small part
/// of a first sync, small enough that the first messages flow within a fraction of a second.
const RECONCILE_CHUNK: usize = 200;

/// How long the Transferpunt waits for a removed partner to take the directory that removes it (its last word)
/// and to close the connection itself, before closing it.
const LAST_WORD: std::time::Duration = std::time::Duration::from_secs(2);

/// How many retry ticks pass between looks for inzageverzoeken queued by another process (20 × 500 ms).
const REQUEST_POLL_TICKS: u32 = 20;

/// Run a session on a connection until it ends. With `idle_close` (a connection this side dialled on demand, see
/// `reach`), the session closes the connection once nothing was sent or received for that long and nothing is left
/// to retry.
pub(super) async fn run(
    inner: Arc<Inner>,
    conn: Connection,
    idle_close: Option<std::time::Duration>,
) -> Ended {
    let Some(peer) = super::partner_of(conn.peer()) else {
        conn.close("peer id is not a partner id");
        return Ended::Closed;
    };
    if peer == inner.me {
        conn.close("a node does not sync with itself");
        return Ended::Closed;
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
    let _writer = AbortOnDrop(tokio::spawn(
        async move {
            while let Some(m) = outgoing.recv().await {
                // What is queued already goes with it: in batches, when the peer takes them (a first sync).
                let mut burst = vec![m];
                while burst.len() < WRITE_BURST {
                    match outgoing.try_recv() {
                        Ok(m) => burst.push(m),
                        Err(_) => break,
                    }
                }
                if let Err(e) = writer_conn.send_many(&burst).await {
                    tracing::debug!(peer = %writer_peer, error = %e, "send failed; the connection is gone");
                    break;
                }
            }
        }
        .in_current_span(),
    ));
    let mut s = Session {
        inner: inner.clone(),
        conn: conn.clone(),
        outbox,
        state: PeerState::new(peer.clone()),
        syncs: HashMap::new(),
        unstored: HashMap::new(),
        unsaved: HashMap::new(),
        held: None,
        wire_counted: 0,
        policies_sent: HashSet::new(),
        failed: BTreeSet::new(),
        forget: Vec::new(),
        forgets_sent: HashSet::new(),
        requests_sent: HashSet::new(),
        directory_sent: 0,
        last_active: std::time::Instant::now(),
    };
    let mut directories = inner.directory_changed.subscribe();
    if let Some(why) = super::lifecycle::refusal(&inner, &conn) {
        s.last_word(&why).await;
        s.ended("refused");
        return Ended::Closed;
    }
    let mut requests = inner.node.watch_outgoing_requests();
    let mut request_ticks: u32 = 0;
    s.pass_on_directory().await;
    s.pass_on_policies().await;
    s.offer_requests().await;
    let mut mark = s.reconcile_at_start().await;
    inner
        .stats
        .sessions_reconciled
        .fetch_add(1, Ordering::Relaxed);
    let mut mark_ticks: u32 = 0;
    let mut retry = tokio::time::interval(RETRY);
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = retry.tick() => {
                // A partner removed from the directory (or whose key was revoked) while its connection was being set
                // up is caught here.
                if let Some(why) = super::lifecycle::refusal(&inner, &conn) {
                    s.last_word(&why).await;
                    break;
                }
                s.pass_on_policies().await;
                // Requests queued by another process (the `inzage --verzoek` command beside a running node) are
                // seen here, every REQUEST_POLL_TICKS ticks.
                request_ticks = request_ticks.wrapping_add(1);
                if request_ticks.is_multiple_of(REQUEST_POLL_TICKS) {
                    s.offer_requests().await;
                }
                s.retry().await;
                s.store_sessions().await;
                s.count_wire_bytes();
                mark_ticks = mark_ticks.wrapping_add(1);
                if mark_ticks.is_multiple_of(MARK_EVERY_TICKS) {
                    s.advance_mark(&mut mark, &mut changes).await;
                }
                if idle_close.is_some_and(|idle| s.idle_for(idle)) {
                    tracing::debug!(peer = %peer, "closing an idle connection dialled on demand");
                    s.keep_mark(mark).await;
                    s.ended("idle");
                    return Ended::Idle;
                }
            }
            m = rx.recv() => match m {
                Some(Ok(msg)) => {
                    s.last_active = std::time::Instant::now();
                    inner.last_received.write().expect("last_received lock").insert(peer.clone(), std::time::Instant::now());
                    // What has been read already is taken with it (a first sync is a burst), up to a malformed
                    // frame, which is answered after.
                    let mut burst = vec![msg];
                    let mut malformed = None;
                    while burst.len() < HANDLE_BURST {
                        match rx.try_recv() {
                            Some(Ok(m)) => burst.push(m),
                            Some(Err(e)) => {
                                malformed = Some(e);
                                break;
                            }
                            None => break,
                        }
                    }
                    s.handle_many(burst).await;
                    if let Some(frame_error) = malformed {
                        let effects = receive::malformed_frame(&s.state, &frame_error.to_string());
                        s.carry_out(effects).await;
                    }
                }
                Some(Err(frame_error)) => {
                    let effects = receive::malformed_frame(&s.state, &frame_error.to_string());
                    s.carry_out(effects).await;
                }
                None => break,
            },
            c = changes.recv() => match c {
                Ok(case) => s.changed(case, &mut changes).await,
                Err(broadcast::error::RecvError::Lagged(_)) => s.reconcile_all().await,
                Err(broadcast::error::RecvError::Closed) => break,
            },
            r = requests.changed() => match r {
                Ok(()) => s.offer_requests().await,
                Err(_) => break,
            },
            r = directories.changed() => match r {
                // A new directory: the peer may be gone from it, or its key revoked; otherwise it may need it.
                Ok(()) => {
                    if let Some(why) = super::lifecycle::refusal(&inner, &conn) {
                        s.last_word(&why).await;
                        break;
                    }
                    s.pass_on_directory().await;
                }
                Err(_) => break,
            },
            _ = shutdown.changed() => break,
        }
    }
    s.store_sessions().await;
    s.count_wire_bytes();
    s.keep_mark(mark).await;
    s.ended("session ended");
    Ended::Closed
}

/// How many retry ticks pass between advances of the session's mark (20 × 500 ms).
const MARK_EVERY_TICKS: u32 = 20;

/// Up to where a session reconciled everything: the change mark, and the policy version in force when the session
/// began (see [`Session::reconcile_at_start`]; a policy adopted since makes the next session reconcile every case).
struct Mark {
    seq: u64,
    policy: String,
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

/// How often documents one side could not take yet are offered or asked for again.
const RETRY: std::time::Duration = std::time::Duration::from_millis(500);

impl Session {
    /// Store the sync sessions changed since they were last stored, in one transaction. A failure is logged and
    /// tried again at the next tick: the sessions are still in memory.
    async fn store_sessions(&mut self) {
        if self.unstored.is_empty() {
            return;
        }
        let mut writes = Vec::with_capacity(self.unstored.len());
        for (name, doc) in &self.unstored {
            let Some(session) = self.syncs.get(name) else {
                continue;
            };
            let state = session.persist();
            writes.push(match doc {
                WireDoc::Form(key, generation) => SyncStateWrite::Form {
                    key: key.clone(),
                    generation: *generation,
                    state,
                },
                WireDoc::Projection { .. } => SyncStateWrite::Projection {
                    wire_id: name.clone(),
                    state,
                },
            });
        }
        match self
            .inner
            .node
            .store()
            .put_sync_states(&self.state.peer, &writes)
            .await
        {
            Ok(()) => self.unstored.clear(),
            Err(e) => {
                tracing::warn!(peer = %self.state.peer, error = %e, "sync sessions not stored; tried again")
            }
        }
    }

    /// Add what the connection put on the wire since the last count to the federation's statistics.
    fn count_wire_bytes(&mut self) {
        let now = self.conn.wire_bytes_sent();
        self.inner
            .stats
            .wire_bytes_sent
            .fetch_add(now.saturating_sub(self.wire_counted), Ordering::Relaxed);
        self.wire_counted = now;
    }

    /// Whether the connection was idle for `idle` with nothing left to retry or to store.
    fn idle_for(&self, idle: std::time::Duration) -> bool {
        self.last_active.elapsed() >= idle
            && self.failed.is_empty()
            && self.state.unavailable.is_empty()
            && self.state.deferred.is_empty()
            && self.unstored.is_empty()
            && self.unsaved.is_empty()
            && self.held.is_none()
            && self.forget.is_empty()
    }

    /// The session is over: close the connection (saying `why`) and forget it.
    fn ended(self, why: &str) {
        let (inner, conn, peer) = (&self.inner, &self.conn, &self.state.peer);
        conn.close(why);
        let mut connected = inner.connected.write().expect("connected lock");
        if connected
            .get(peer)
            .is_some_and(|c| c.remote_address() == conn.remote_address())
        {
            connected.remove(peer);
        }
        tracing::info!(peer = %peer, "disconnected");
    }

    /// The peer may not be connected any more (`why`): the Transferpunt first hands a removed partner the
    /// directory that removes it — its notice, which it can verify, to erase what it received (Afspraak 11) — and
    /// waits a moment for it to close; then the connection is closed. Nothing else is sent.
    async fn last_word(&mut self, why: &str) {
        tracing::warn!(peer = %self.state.peer, reason = %why, "closing the connection: the federation directory no longer admits it");
        let removed_here = self.inner.removed.load(Ordering::SeqCst);
        if self.me().role() == Role::Transferpunt
            && !removed_here
            && let Some(signed) = super::lifecycle::signed(&self.inner)
        {
            let notice = Message::Artefact {
                kind: crate::directory::DIRECTORY_KIND.into(),
                data: crate::directory::to_bytes(&signed),
            };
            match self.conn.send_and_flush(&notice, LAST_WORD).await {
                Ok(()) => {
                    let _ = tokio::time::timeout(LAST_WORD, self.conn.closed()).await;
                }
                Err(e) => {
                    tracing::debug!(peer = %self.state.peer, error = %e, "the directory could not be handed over before closing")
                }
            }
        }
        self.conn.close(why);
    }

    /// The Transferpunt passes the signed directory in force to the peer, once per version and connection.
    async fn pass_on_directory(&mut self) {
        if self.me().role() != Role::Transferpunt {
            return;
        }
        let Some(signed) = super::lifecycle::signed(&self.inner) else {
            return;
        };
        let Ok(dir) = signed.verify(&self.inner.ca_pem) else {
            return;
        };
        if dir.version > self.directory_sent {
            self.directory_sent = dir.version;
            self.send(Message::Artefact {
                kind: crate::directory::DIRECTORY_KIND.into(),
                data: crate::directory::to_bytes(&signed),
            })
            .await;
        }
    }

    /// A signed directory from the Transferpunt (the core checked who sends it): verified against the federation
    /// CA and checked, stored when its version is above every one held, and put in force when it is newer than the
    /// one in force. A lower version, another text under a stored version, a bad signature or an invalid directory
    /// is a security event.
    async fn take_directory(&mut self, data: &[u8]) {
        let node = self.inner.node.clone();
        match crate::directory::receive(node.store(), data, &self.inner.ca_pem).await {
            Ok((dir, signed, new)) => {
                let version = dir.version;
                if super::lifecycle::apply_if_newer(&self.inner, dir, signed) {
                    tracing::info!(peer = %self.state.peer, version, new, "federation directory received and put in force");
                }
            }
            Err(crate::directory::DirectoryError::Store(e)) => {
                tracing::error!(error = %e, "could not store a federation directory; taken when it is offered again")
            }
            Err(e) => {
                self.inner.stats.refused.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(peer = %self.state.peer, error = %e, "security event: federation directory refused");
                self.record(&Record::security_event(
                    None,
                    None,
                    Vec::new(),
                    &format!("{} refused: {e}", crate::directory::DIRECTORY_KIND),
                ))
                .await;
                self.send(Message::Refused {
                    doc: "adresboek".into(),
                    reason: e.to_string(),
                })
                .await;
            }
        }
    }

    /// Cases changed here: reconcile each with the peer. A burst of changes (a first sync) names the same case
    /// many times, so what is queued is taken at once and each case reconciled once.
    async fn changed(&mut self, first: CaseId, changes: &mut broadcast::Receiver<CaseId>) {
        self.reconcile_queued(BTreeSet::from([first]), changes)
            .await;
    }

    /// Reconcile `cases` and every case queued in `changes`, each once; when notifications were lost (the queue
    /// lagged), every case.
    async fn reconcile_queued(
        &mut self,
        mut cases: BTreeSet<CaseId>,
        changes: &mut broadcast::Receiver<CaseId>,
    ) {
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
            self.reconcile_all().await;
        } else if !cases.is_empty() {
            self.reconcile_many(cases).await;
            self.tell_erasures().await;
        }
    }

    /// Tell the peer, once per connection, of every case erased here of which it received part (vergetelheid).
    async fn tell_erasures(&mut self) {
        let notices = match self
            .inner
            .node
            .store()
            .erasure_notices_for(&self.state.peer.to_string())
            .await
        {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(peer = %self.state.peer, error = %e, "cannot read the erasure notices; told at the next change");
                return;
            }
        };
        for case in notices {
            if self.forgets_sent.insert(format!("erased/{case}")) {
                self.send(Message::Erased {
                    case: case.to_string(),
                })
                .await;
            }
        }
    }

    fn me(&self) -> &PartnerId {
        &self.inner.me
    }

    async fn send(&mut self, msg: Message) {
        if let Some(held) = &mut self.held {
            held.push(Held::Send(msg));
            return;
        }
        // Queued for the writer task; it fails only when the connection is gone, which the loop learns from the
        // reader.
        self.last_active = std::time::Instant::now();
        let _ = self.outbox.send(msg);
    }

    /// Reconcile many cases (a first sync, a reconnect, a burst of changes) in chunks: what a chunk discloses is
    /// stored in one transaction — every projection it wrote and every disclosure record — and only then sent.
    /// One commit per chunk instead of one per case, and messages flowing after the first chunk, not after the
    /// last case (issue #14).
    async fn reconcile_many(&mut self, cases: impl IntoIterator<Item = CaseId>) {
        let mut cases = cases.into_iter().peekable();
        while cases.peek().is_some() {
            self.held = Some(Vec::new());
            for case in cases.by_ref().take(RECONCILE_CHUNK) {
                self.reconcile(&case).await;
            }
            self.release_held().await;
        }
    }

    /// Store what the chunk held — the projections it wrote and its disclosure records, in one transaction — and
    /// send its messages in order. When that store fails nothing is sent, and every session that generated a held
    /// disclosure is forgotten, so its changes are generated again at the retry.
    async fn release_held(&mut self) {
        let Some(held) = self.held.take() else {
            return;
        };
        let projections: Vec<ProjectionRecord> =
            std::mem::take(&mut self.unsaved).into_values().collect();
        let entries: Vec<AuditEntry> = held
            .iter()
            .filter_map(|h| match h {
                Held::Disclose { entry, .. } => Some((**entry).clone()),
                Held::Send(_) => None,
            })
            .collect();
        let store = self.inner.node.store();
        if let Err(e) = store
            .put_projections_with_audit(&projections, &entries)
            .await
        {
            tracing::error!(peer = %self.state.peer, error = %e, "disclosures not sent: their records could not be stored; retried");
            for h in &held {
                if let Held::Disclose { message, case, .. } = h {
                    if let Some(doc) = message.doc() {
                        self.drop_session(doc);
                    }
                    if let Some(case) = case {
                        self.retry_later(case);
                    }
                }
            }
            for p in &projections {
                self.retry_later(&p.case);
            }
            return;
        }
        for h in held {
            match h {
                Held::Disclose { message, .. } => self.send_counted(message).await,
                Held::Send(message) => self.send(message).await,
            }
        }
    }

    /// The Transferpunt passes every signed policy version (in sequence order) and revocation it holds to every
    /// peer, once per connection.
    async fn pass_on_policies(&mut self) {
        if self.me().role() != Role::Transferpunt {
            return;
        }
        let Some(artefacts) = self.inner.artefacts().await else {
            return;
        };
        for a in artefacts.iter() {
            if self.policies_sent.insert(a.key.clone()) {
                self.send(Message::Artefact {
                    kind: a.kind.into(),
                    data: a.data.clone(),
                })
                .await;
            }
        }
    }

    /// Offer the peer the inzageverzoeken addressed to it that it has not confirmed, once per connection.
    async fn offer_requests(&mut self) {
        let peer = self.state.peer.to_string();
        let pending = match self.inner.node.store().outgoing_requests(Some(&peer)).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the inzageverzoeken to send");
                return;
            }
        };
        for r in pending {
            if self.requests_sent.insert(r.id.clone()) {
                self.send(Message::Artefact {
                    kind: crate::inzage::verzoek::KIND_REQUEST.into(),
                    data: r.signed,
                })
                .await;
            }
        }
        // A corporatie's huurdermeldingen for the Transferpunt, queued the same way.
        if self.state.peer.role() != policies::Role::Transferpunt {
            return;
        }
        let pending = match self
            .inner
            .node
            .store()
            .pending_huurdermeldingen(&peer)
            .await
        {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the huurdermeldingen to send");
                return;
            }
        };
        for (id, body) in pending {
            if self.requests_sent.insert(format!("huurdermelding/{id}")) {
                self.send(Message::Artefact {
                    kind: crate::huurdermelding::KIND_MELDING.into(),
                    data: body.into_bytes(),
                })
                .await;
            }
        }
    }

    /// A corporatie's huurdermelding (at the Transferpunt: taken, then confirmed), or the Transferpunt's
    /// confirmation of one this corporatie sent. One not taken for a failure here is not confirmed: the corporatie
    /// offers it again on the next connection.
    async fn take_huurdermelding(&mut self, kind: &str, data: &[u8]) {
        let node = self.inner.node.clone();
        let peer = self.state.peer.clone();
        if kind == crate::huurdermelding::KIND_ONTVANGEN {
            match node.huurdermelding_ontvangen(&peer, data).await {
                Ok(true) => {
                    tracing::info!(peer = %peer, "huurdermelding confirmed by the Transferpunt")
                }
                Ok(false) => {
                    tracing::debug!(peer = %peer, "confirmation of no open huurdermelding ignored")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not record a huurdermelding's confirmation")
                }
            }
            return;
        }
        match node.take_huurdermelding(&peer, data).await {
            Ok(ontvangen) => {
                self.send(Message::Artefact {
                    kind: crate::huurdermelding::KIND_ONTVANGEN.into(),
                    data: serde_json::to_vec(&ontvangen).expect("a confirmation serializes"),
                })
                .await
            }
            Err(crate::huurdermelding::TakeError::Refused(why)) => {
                tracing::warn!(peer = %peer, reason = %why, "security event: a huurdermelding refused");
                let entry = self.entry(&receive::Record::security_event(
                    None,
                    None,
                    Vec::new(),
                    &format!("huurdermelding refused: {why}"),
                ));
                if let Err(e) = node.store().append_audit(&entry).await {
                    tracing::error!(error = %e, "could not record a refused huurdermelding");
                }
            }
            Err(e) => {
                tracing::error!(peer = %peer, error = %e, "could not take a huurdermelding; it is offered again")
            }
        }
    }

    /// An inzageverzoek from the peer, or its confirmation of one sent.
    /// A partner's rectification notice (withdraw what it sent, then confirm) or its confirmation of this node's
    /// (the case is synced with it again).
    async fn take_rectification(&mut self, kind: &str, data: &[u8]) {
        let node = self.inner.node.clone();
        let peer = self.state.peer.clone();
        let notice = match NoticeWire::read(&peer, data) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(peer = %peer, error = %e, "a malformed rectification artefact ignored");
                return;
            }
        };
        if kind == crate::rectificatie::KIND_CONFIRMATION {
            match node
                .store()
                .confirm_rectification(&peer.to_string(), &notice.case, notice.serial)
                .await
            {
                Ok(true) => {
                    tracing::info!(peer = %peer, "rectification confirmed: the case is synced again");
                    // Through the change broadcast, as every change: this session reconciles it next.
                    node.notify_changed(&notice.case);
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(peer = %peer, error = %e, "could not record a rectification's confirmation")
                }
            }
            return;
        }
        match node.take_rectification(&peer, &notice).await {
            Ok(()) => {
                let confirmation = RectificationNotice {
                    docs: Vec::new(),
                    ..notice
                };
                self.send(Message::Artefact {
                    kind: crate::rectificatie::KIND_CONFIRMATION.into(),
                    data: NoticeWire::of(&confirmation),
                })
                .await;
            }
            Err(e) => {
                tracing::error!(peer = %peer, error = %e, "a partner's rectification could not be carried out; it is told again at the next connection")
            }
        }
    }

    /// This node's rectification of the case the peer is to be told of: `Err` when this node holds back the
    /// case from the peer — the peer has not confirmed it yet (told once per connection); until it has, nothing of
    /// the case is synced with it, so it withdraws what it holds before a new generation reaches it. `Ok(Some)`: a
    /// confirmed one, whose old projection generations the peer is told to delete once it holds the new one.
    async fn rectification(
        &mut self,
        case: &CaseId,
        notice: Option<RectificationNotice>,
    ) -> Result<Option<RectificationNotice>, ()> {
        match notice {
            Some(n) if n.confirmed => Ok(Some(n)),
            Some(n) => {
                if self
                    .forgets_sent
                    .insert(format!("rectified/{case}/{}", n.serial))
                {
                    self.send(Message::Artefact {
                        kind: crate::rectificatie::KIND_NOTICE.into(),
                        data: NoticeWire::of(&n),
                    })
                    .await;
                }
                Err(())
            }
            None => Ok(None),
        }
    }

    /// Whether the peer holds every change of this node's projection `p` (its sync session says so).
    fn peer_holds(&self, p: &ProjectionRecord) -> bool {
        let Ok(mut am) = self
            .inner
            .node
            .doc_cache()
            .projection_doc(&p.wire_id, &p.snapshot)
        else {
            return false;
        };
        let heads = am.get_heads();
        match self.syncs.get(&p.wire_id) {
            Some(s) => s.peer_holds(&heads),
            None => p
                .sync_state
                .as_deref()
                .and_then(|b| SyncSession::restore(b).ok())
                .is_some_and(|s| s.peer_holds(&heads)),
        }
    }

    /// Whether a partner's rectification of the case named documents that have not reached their new generation
    /// here yet: until they have, no projection of the case is made anew (it would pass on the old values in this
    /// node's copy).
    async fn awaits_rewrite(
        &self,
        case: &CaseId,
        docs: &[crate::case::LocalDoc],
        awaited: Vec<(String, Vec<String>)>,
    ) -> bool {
        let store = self.inner.node.store();
        let mut waiting = false;
        for (peer, names) in awaited {
            let mut arrived = true;
            for n in &names {
                arrived &= match WireDoc::parse(n) {
                    // A rewritten document: until it is held at its new generation (or not at all).
                    Some(WireDoc::Form(k, g)) => {
                        !docs.iter().any(|d| d.key == k && d.generation < g)
                    }
                    // A projection the partner sent before: until it is withdrawn (a new generation came, or its
                    // `Forget`).
                    Some(WireDoc::Projection { .. }) => !matches!(
                        store.load_projection(n).await,
                        Ok(Some(p)) if !p.retired
                    ),
                    None => true,
                };
            }
            if arrived {
                let _ = store.rewrites_arrived(&peer, case).await;
            } else {
                waiting = true;
            }
        }
        waiting
    }

    async fn take_inzage(&mut self, kind: &str, data: &[u8]) {
        let node = self.inner.node.clone();
        let peer = self.state.peer.clone();
        if kind == crate::inzage::verzoek::KIND_RECEIPT {
            let id = String::from_utf8_lossy(data)
                .chars()
                .take(64)
                .collect::<String>();
            match node
                .store()
                .mark_request_delivered(&id, &peer.to_string())
                .await
            {
                Ok(true) => {
                    tracing::info!(peer = %peer, request = %id, "inzageverzoek confirmed by the partner")
                }
                Ok(false) => {
                    tracing::debug!(peer = %peer, "confirmation of no open inzageverzoek ignored")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not record an inzageverzoek's confirmation")
                }
            }
            return;
        }
        match crate::inzage::verzoek::receive(&node, &peer, self.conn.peer_certificate(), data)
            .await
        {
            Ok(id) => {
                self.send(Message::Artefact {
                    kind: crate::inzage::verzoek::KIND_RECEIPT.into(),
                    data: id.into_bytes(),
                })
                .await
            }
            // Not confirmed: the sender offers it again on the next connection.
            Err(
                e @ (crate::inzage::verzoek::VerzoekError::Store(_)
                | crate::inzage::verzoek::VerzoekError::Audit(_)),
            ) => tracing::error!(error = %e, "could not queue an inzageverzoek"),
            Err(e) => {
                self.inner.stats.refused.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(peer = %peer, error = %e, "security event: inzageverzoek refused");
                self.record(&Record::security_event(
                    None,
                    None,
                    Vec::new(),
                    &format!("inzageverzoek refused: {e}"),
                ))
                .await;
                self.send(Message::Refused {
                    doc: crate::inzage::verzoek::KIND_REQUEST.into(),
                    reason: e.to_string(),
                })
                .await;
            }
        }
    }

    /// A policy version or revocation the Transferpunt offers (the core checked who sends it): only with its
    /// signature; a version only if it keeps every invariant and its sequence is above every one stored. Stored;
    /// the federation decides what is in force (`adopt_loop`).
    async fn take_policy(&mut self, kind: &str, data: &[u8]) {
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
                tracing::warn!(peer = %self.state.peer, kind = %kind, error = %e, "security event: policy artefact refused");
                self.record(&Record::security_event(
                    None,
                    None,
                    Vec::new(),
                    &format!("{kind} refused: {e}"),
                ))
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
            self.state
                .unavailable
                .iter()
                .chain(&self.state.deferred)
                .filter_map(|d| WireDoc::parse(d).map(|w| w.case().clone())),
        );
        self.reconcile_many(cases).await;
    }

    /// Reconcile a case again at the next retry tick. Bounded like the other retry sets.
    fn retry_later(&mut self, case: &CaseId) {
        if self.failed.len() < receive::MAX_DEFERRED {
            self.failed.insert(case.clone());
        }
    }

    /// The reconcile a session begins with. After a session with the peer that ended with everything reconciled
    /// (its mark, under the same policy version), only the cases changed since and those exchanged with the peer
    /// before can differ from what the peer holds: a reconnect — all of a national Transferpunt's peers after a
    /// restart — reconciles those, not every case (#14). Otherwise every case. Returns the mark this session
    /// begins at, to keep should it end with everything reconciled.
    async fn reconcile_at_start(&mut self) -> Mark {
        let store = self.inner.node.store().clone();
        let peer = self.state.peer.to_string();
        let policy = self.inner.node.policy().meta.version.clone();
        // The session subscribed to the node's changes before: a write that commits after this read is pushed as
        // a change, whatever its place in the counter.
        let since = match store.sync_mark(&peer).await {
            Ok(Some((seq, p))) if p == policy => Some(seq),
            _ => None,
        };
        let cases = match since {
            Some(seq) => store.cases_to_reconcile(&peer, seq).await.ok(),
            None => None,
        };
        match cases {
            Some(cases) => {
                tracing::debug!(peer = %peer, cases = cases.len(), "reconciling what changed since the last session");
                self.inner
                    .stats
                    .reconciled_at_start
                    .fetch_add(cases.len() as u64, Ordering::Relaxed);
                self.reconcile_many(cases).await;
                self.tell_erasures().await;
            }
            None => {
                if let Ok(n) = store.list_cases_count().await {
                    self.inner
                        .stats
                        .reconciled_at_start
                        .fetch_add(n, Ordering::Relaxed);
                }
                self.reconcile_all().await
            }
        }
        // Reconciled up to the old mark; `advance_mark` moves it on.
        Mark {
            seq: since.unwrap_or(0),
            policy,
        }
    }

    /// Nothing failed, nothing is waiting for the peer or for this node, every sync session is stored.
    fn clean(&self) -> bool {
        self.failed.is_empty()
            && self.state.unavailable.is_empty()
            && self.state.deferred.is_empty()
            && self.unstored.is_empty()
            && self.unsaved.is_empty()
    }

    /// Move the session's mark up to the change counter as it stands, when everything up to it is reconciled.
    ///
    /// The counter is read holding the node's write guard. Every write of a document or a received projection
    /// stores and notifies its case while holding that guard (`Node::write_forms_locked`, the receive path,
    /// erasure, rectification), so every write the counter shows has put its case in this session's `changes`
    /// already: reconciling what is queued there brings the peer up to the counter. Writes this session makes
    /// itself (its projections for the peer) move the counter too; they only make the next session look at a
    /// case more.
    async fn advance_mark(&mut self, mark: &mut Mark, changes: &mut broadcast::Receiver<CaseId>) {
        if !self.clean() {
            return;
        }
        let node = self.inner.node.clone();
        // Never queued behind a write: a session waiting for the guard would stop taking messages meanwhile, and a
        // long write (a rectification) then sees its own messages answered late. A busy guard waits for the next
        // turn.
        let seq = {
            let Some(_guard) = node.try_write_guard() else {
                return;
            };
            match node.store().change_mark().await {
                Ok(seq) => seq,
                Err(_) => return,
            }
        };
        self.reconcile_queued(BTreeSet::new(), changes).await;
        self.store_sessions().await;
        if self.clean() && seq > mark.seq {
            mark.seq = seq;
            self.inner
                .marks
                .write()
                .expect("marks lock")
                .insert(self.state.peer.clone(), seq);
            self.inner
                .unkept_marks
                .lock()
                .expect("unkept marks lock")
                .insert(self.state.peer.to_string(), (seq, mark.policy.clone()));
        }
    }

    /// Keep the session's mark, if everything is reconciled up to it (see [`Session::advance_mark`]).
    async fn keep_mark(&mut self, mark: Mark) {
        // A mark that never moved says nothing (rows written before migration 0014 all carry 0).
        if mark.seq == 0 || !self.clean() {
            return;
        }
        let peer = self.state.peer.to_string();
        if let Err(e) = self
            .inner
            .node
            .store()
            .put_sync_mark(&peer, mark.seq, &mark.policy)
            .await
        {
            tracing::debug!(peer = %peer, error = %e, "the session's mark was not kept; the next one reconciles every case");
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
        self.reconcile_many(cases.into_iter().map(|c| c.id)).await;
        self.tell_erasures().await;
    }

    async fn plan(&self, case: &CaseId) -> Option<Plan> {
        plan::plan_for(&self.inner.node, &self.state.peer, case).await
    }

    /// Bring the peer up to date on one case: update its projection (rotating it when it narrowed), sync every
    /// document shared with it whole, and tell it to delete a document it held whole that it may hold no longer.
    async fn reconcile(&mut self, case: &CaseId) {
        let sessions = self.inner.connected.read().expect("connected lock").len();
        if !self
            .inner
            .named
            .names(
                &self.inner.node,
                &self.inner.directory,
                sessions,
                case,
                &self.state.peer,
            )
            .await
        {
            return;
        }
        let node = self.inner.node.clone();
        let epoch = node.rectify_epoch();
        // What the case holds beyond its documents for this peer, in one read (notices, erasure, awaited rewrites,
        // what the peer holds whole).
        let mut marks = match node.store().case_marks(&self.state.peer, case).await {
            Ok(marks) => marks,
            Err(e) => {
                tracing::warn!(peer = %self.state.peer, case = %case, error = %e, "cannot read the case's rectification and erasure marks; the case waits");
                self.retry_later(case);
                return;
            }
        };
        let Ok(rectified) = self.rectification(case, marks.notice.clone()).await else {
            return;
        };
        let Some((loaded, docs, projections)) = node.case_for_planning_with_projections(case).await
        else {
            self.retry_later(case);
            return;
        };
        // A rectification ran while the case and its notices were read: what was read may be half of it (new
        // documents, no notice yet). Planned again at the next retry, on what it left.
        if epoch % 2 == 1 || node.rectify_epoch() != epoch {
            self.retry_later(case);
            return;
        }
        let policy = node.policy();
        let plan = plan::plan(&policy, self.me(), &self.state.peer, &loaded, &docs);
        let plan = plan::unless_erased(plan, marks.erased_at_peer);
        tracing::debug!(peer = %self.state.peer, case = %case, full = plan.full.len(), projected = plan.projection_fields.len(), "reconcile");
        // The projection first: it carries the facts (who relates how) the peer needs to accept the documents.
        let mut shared: Vec<WireDoc> = Vec::new();
        // While a partner's rectification has not brought its new generations here, this node's facts miss what the
        // partner withdrew: nothing is made anew from them, and nothing held whole is taken back on them either.
        let awaiting = self
            .awaits_rewrite(case, &docs, std::mem::take(&mut marks.awaited))
            .await;
        if !awaiting {
            match self
                .update_projection(case, &plan, rectified.as_ref(), projections)
                .await
            {
                Ok(Some(p)) => shared.push(p),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(peer = %self.state.peer, case = %case, error = %e, "projection not updated; retrying");
                    self.retry_later(case);
                }
            }
        }
        shared.extend(plan.full.iter().map(|k| {
            let generation = docs
                .iter()
                .find(|d| d.key == *k)
                .map_or(0, |d| d.generation);
            WireDoc::Form(k.clone(), generation)
        }));
        if !awaiting {
            self.withdraw_whole(&docs, &plan, policy.on_withdrawal, &marks)
                .await;
        }
        // A document the peer could not take before may be acceptable now.
        self.state
            .unavailable
            .retain(|d| WireDoc::parse(d).is_none_or(|w| w.case() != case));
        // And one the peer offered that this node could not take: ask for it, starting from nothing — once the
        // peer may write into it, as far as this node now knows.
        let asks: Vec<String> = self
            .state
            .deferred
            .iter()
            .filter(|d| WireDoc::parse(d).is_some_and(|w| w.case() == case))
            .cloned()
            .collect();
        if !asks.is_empty() {
            let facts = crate::facts::facts_of(self.me(), &loaded, &[&self.state.peer]);
            for d in asks {
                let Some(WireDoc::Form(k, _)) = WireDoc::parse(&d) else {
                    continue;
                };
                let creator = docs
                    .iter()
                    .find(|l| l.key == k)
                    .and_then(|l| l.creator.clone());
                if plan::may_write_into(&policy, &facts, &self.state.peer, &k, creator.as_ref())
                    .is_empty()
                {
                    continue;
                }
                self.state.deferred.remove(&d);
                let mut empty = doc::new_document(self.me());
                if let Some(bytes) = SyncSession::new().generate(&mut empty) {
                    self.send(Message::Sync {
                        doc: d,
                        data: bytes,
                        traceparent: None,
                    })
                    .await;
                }
            }
        }
        // And again before anything of the new projection leaves: a rectification that began meanwhile may have
        // retired what was read. Nothing made here is stored or sent; the case is planned again at the retry.
        if node.rectify_epoch() != epoch {
            let made: Vec<String> = self
                .unsaved
                .iter()
                .filter(|(_, r)| r.case == *case)
                .map(|(name, _)| name.clone())
                .collect();
            for name in made {
                self.unsaved.remove(&name);
                self.drop_session(&name);
            }
            self.retry_later(case);
            return;
        }
        for d in shared {
            self.push(&d, &plan).await;
        }
        self.save_unsaved().await;
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
        docs: &[crate::case::LocalDoc],
        plan: &Plan,
        on_withdrawal: policies::policy::Withdrawal,
        marks: &crate::store::CaseMarks,
    ) {
        let withdrawn_and_kept =
            !plan.consent && on_withdrawal == policies::policy::Withdrawal::Keep;
        let peer_actor = doc::actor_for(&self.state.peer);
        let node = self.inner.node.clone();
        let store = node.store();
        for d in docs {
            if plan.full.contains(&d.key) || d.creator.as_ref() == Some(&peer_actor) {
                continue;
            }
            let name = WireDoc::Form(d.key.clone(), d.generation).to_string();
            let stored = marks.held_whole(&d.key, d.generation).cloned();
            // A session kept in memory and not stored yet counts too: the peer may hold what it carried.
            let held = stored.is_some() || self.syncs.contains_key(&name);
            if !held || withdrawn_and_kept {
                continue;
            }
            let deleted = match &stored {
                Some(doc_id) => store
                    .delete_sync_state(&self.state.peer, doc_id)
                    .await
                    .is_ok(),
                None => true,
            };
            if deleted {
                self.drop_session(&name);
                tracing::info!(peer = %self.state.peer, doc = %name, "document no longer shared whole: the peer is told to delete it");
                self.send(Message::Forget {
                    doc: name,
                    reason: "the policy no longer lets you hold this document whole; delete it"
                        .into(),
                })
                .await;
            }
        }
    }

    /// Write this node's projection for the peer, from the case's projection records as the plan read them.
    /// Returns the projection to sync, if there is one.
    ///
    /// A projection that would lose a field the peer held is rotated: a fresh generation, the old one retired and
    /// the peer told to delete it. Consent withdrawn is told at once to a peer that received this case before
    /// (and to no other): under `on_withdrawal = "keep"` only the facts of its projection change (what it holds
    /// stays, nothing new is added); under `"forget"` it is rotated, and the new generation holds only the facts.
    async fn update_projection(
        &mut self,
        case: &CaseId,
        plan: &Plan,
        rectified: Option<&RectificationNotice>,
        projections: Vec<ProjectionRecord>,
    ) -> Result<Option<WireDoc>, crate::store::StoreError> {
        let store = self.inner.node.store();
        let me = self.me().to_string();
        let peer = self.state.peer.to_string();
        let mine: Vec<ProjectionRecord> = projections
            .into_iter()
            .filter(|p| p.sender == me && p.receiver == peer)
            .collect();
        let next_generation = mine.iter().map(|p| p.generation).max().unwrap_or(0) + 1;
        // After this node's rectification the old generations are told only once the peer holds the new one: the
        // Transferpunt judges on its own data, and told earlier it would delete the data that says how this node
        // relates to the case before the new data is in — and then take neither.
        let holding_forgets = rectified.is_some()
            && !plan.projection.is_empty()
            && mine
                .iter()
                .rev()
                .find(|p| !p.retired)
                .is_none_or(|c| !self.peer_holds(c));
        if holding_forgets {
            // Asked again at the next retry (`retry_later`, by field: `store` borrows the node).
            if self.failed.len() < receive::MAX_DEFERRED {
                self.failed.insert(case.clone());
            }
        } else if let Some(n) = rectified {
            let _ = store.rectification_done(&peer, case, n.serial).await;
        }
        // A retired generation the peer may still hold — its `Forget` lost with a connection, or this node crashed
        // between retiring it and telling — is told again, once per connection. Deleting is idempotent.
        for p in mine.iter().filter(|p| p.retired && !holding_forgets) {
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
                let Ok(am) = self
                    .inner
                    .node
                    .doc_cache()
                    .projection_doc(&p.wire_id, &p.snapshot)
                else {
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
                        // Field by field, never the whole section: a section the peer holds (its registratie
                        // with the BSN) may also carry a field that needs no consent, and replacing the section
                        // with only that field would take the rest away.
                        match (frozen.get_mut(section), fields) {
                            (
                                Some(serde_json::Value::Object(held)),
                                serde_json::Value::Object(new),
                            ) => {
                                for (field, value) in new {
                                    held.entry(field.clone()).or_insert_with(|| value.clone());
                                }
                            }
                            (Some(_), _) => {}
                            (None, _) => {
                                frozen.insert(section.clone(), fields.clone());
                            }
                        }
                    }
                    if let Some(notice) = plan.withdrawal_notice.as_ref().and_then(|n| n.get(META))
                    {
                        frozen.insert(META.into(), notice.clone());
                    }
                    wanted = frozen;
                    Some((p, am))
                } else if !held.difference(plan.projection_fields).is_empty() || wanted.is_empty() {
                    // A field the peer held that it may no longer hold: the old projection's history has it, so the
                    // projection is replaced by a fresh one and the peer told to delete the old.
                    // Kept only to tell the peer again and for the replay: its history without values.
                    store
                        .put_projection(&projection::retire(&p, self.me()))
                        .await?;
                    // Told after the new generation is sent, so the peer never lacks the facts it decides on.
                    self.forgets_sent.insert(p.wire_id.clone());
                    self.forget.push(p.wire_id.clone());
                    tracing::info!(peer = %self.state.peer, doc = %p.wire_id, "projection rotated");
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
                    receiver: self.state.peer.clone(),
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
            self.inner.node.doc_cache().remember_projection_doc(
                &record.wire_id,
                crate::case::snapshot_digest(&record.snapshot),
                &am,
            );
            // Stored with the record of the disclosure that carries it (`Effect::Disclose`), or at the end of the
            // reconcile.
            self.unsaved.insert(record.wire_id.clone(), record.clone());
        }
        Ok(WireDoc::parse(&record.wire_id))
    }

    /// Load a document for syncing with this peer, and its sync session.
    async fn load(&mut self, d: &WireDoc) -> Option<(AutoCommit, SyncSession)> {
        let store = self.inner.node.store();
        let name = d.to_string();
        let (am, persisted) = match d {
            WireDoc::Form(k, generation) => {
                let stored = store.load_document(&k.clone()).await.ok()??;
                // Another generation than the one named: never synced under this name.
                if stored.meta.generation != *generation {
                    return None;
                }
                let persisted = store
                    .get_sync_state(&self.state.peer, &stored.meta.doc_id)
                    .await
                    .ok()
                    .flatten();
                (stored.to_automerge(self.me()).ok()?, persisted)
            }
            WireDoc::Projection { .. } => {
                let p = match self.unsaved.get(&name) {
                    Some(p) => p.clone(),
                    None => store.load_projection(&name).await.ok()??,
                };
                // A retired projection is never synced again, either way: its sender withdrew it.
                if p.retired {
                    return None;
                }
                let mut am = self
                    .inner
                    .node
                    .doc_cache()
                    .projection_doc(&p.wire_id, &p.snapshot)
                    .ok()?;
                am.set_actor(doc::actor_for(self.me()));
                // This node's own projection that was never synced: the peer holds nothing of it, so its first
                // message carries every change instead of asking first — a round trip less per case in a first
                // sync. (Were the peer to hold some of it after all, it takes what it lacks and ignores the rest.)
                if p.sync_state.is_none()
                    && p.sender == self.me().to_string()
                    && !self.syncs.contains_key(&name)
                {
                    return Some((am, SyncSession::for_empty_peer()));
                }
                (am, p.sync_state)
            }
        };
        Some((am, self.session_of(&name, persisted)))
    }

    /// Keep the peer's sync session of a document: in memory now, stored with the others later
    /// ([`Session::store_sessions`]).
    fn keep(&mut self, d: &WireDoc, session: SyncSession) {
        let name = d.to_string();
        self.unstored.insert(name.clone(), d.clone());
        self.syncs.insert(name, session);
    }

    /// Forget the peer's sync session of a document, in memory and not to be stored.
    fn drop_session(&mut self, name: &str) {
        self.syncs.remove(name);
        self.unstored.remove(name);
    }

    /// Store the projections a reconcile wrote that no disclosure stored with its record (nothing was sent of
    /// them: the peer is blocked or has everything).
    async fn save_unsaved(&mut self) {
        if self.held.is_some() {
            // The chunk stores them with its records.
            return;
        }
        for (name, record) in std::mem::take(&mut self.unsaved) {
            if let Err(e) = self.inner.node.store().put_projection(&record).await {
                tracing::warn!(peer = %self.state.peer, doc = %name, error = %e, "projection not stored; retrying");
                self.retry_later(&record.case);
            }
        }
    }

    /// This peer's sync session of a document: the one last used on this connection, else the stored one, else a
    /// new one.
    fn session_of(&self, name: &str, persisted: Option<Vec<u8>>) -> SyncSession {
        match self.syncs.get(name) {
            Some(s) => s.clone(),
            None => persisted
                .and_then(|b| SyncSession::restore(&b).ok())
                .unwrap_or_default(),
        }
    }

    /// Send the next sync message for a shared document, recording a disclosure when it carries changes.
    async fn push(&mut self, d: &WireDoc, plan: &Plan) {
        let name = d.to_string();
        if self.state.blocked.contains(&name) || self.state.unavailable.contains(&name) {
            return;
        }
        let Some((am, session)) = self.load(d).await else {
            return;
        };
        let effects = receive::next_message(&self.state, d.clone(), am, session, plan);
        self.carry_out(effects).await;
    }

    /// Messages from the peer, in order: for each, load what the receive core needs, let it decide, carry out its
    /// effects. Projections received for different cases are stored together with their receipts, in one
    /// transaction (a first sync brings thousands), and only then is anything after them carried out — their BSN
    /// index entries, the notice to the other sessions, the answers.
    async fn handle_many(&mut self, msgs: Vec<Message>) {
        let node = self.inner.node.clone();
        // Held while the messages are decided on and their effects stored, so that no local write or other
        // session changes their cases in between.
        let mut guard = None;
        let mut group: Vec<Received> = Vec::new();
        for msg in msgs {
            // A case this node erased and told the peer of: what the peer still sends of it was sent before it
            // knew, and taken it would bring the case back here until the peer's own word of erasure arrives.
            if let Message::Sync { doc, .. } = &msg
                && let Some(wire) = WireDoc::parse(doc)
                && self
                    .forgets_sent
                    .contains(&format!("erased/{}", wire.case()))
            {
                tracing::debug!(peer = %self.state.peer, doc = %doc, "a message about a case erased here: ignored");
                continue;
            }
            let need = receive::need(&self.state, self.me(), &msg);
            let case = match &need {
                Need::Nothing => None,
                Need::Form(k, _) => Some(k.case.clone()),
                Need::Projection { wire, .. } => Some(wire.case().clone()),
            };
            // A message about a case the group holds is decided on what the group stores.
            if case
                .as_ref()
                .is_some_and(|c| group.iter().any(|r| r.record.case == *c))
            {
                self.store_received(std::mem::take(&mut group)).await;
            }
            match case {
                Some(_) if guard.is_none() => guard = Some(node.write_guard().await),
                Some(_) => {}
                // A message about no case (an artefact: a rectification notice, an erasure, a policy) is carried
                // out without the guard, as ever: what it does takes the guard itself, and the guard is not
                // reentrant. What the group holds is stored first, so the messages stay in order.
                None => {
                    self.store_received(std::mem::take(&mut group)).await;
                    guard = None;
                }
            }
            let view = match self.view(&need).await {
                Ok(view) => view,
                Err(Unloadable) => {
                    self.start_over(&need).await;
                    continue;
                }
            };
            let policy = node.policy();
            let validator = Validator::new(node.gemeenten(), node.clock_now().date());
            let cx = receive::Context {
                policy: &policy,
                me: &self.inner.me,
                validator: &validator,
                now: node.clock_now().unix_timestamp(),
            };
            let effects = receive::on_message(&mut self.state, &cx, msg, view);
            match Received::split(effects) {
                Ok(received) => group.push(received),
                Err(effects) => {
                    self.store_received(std::mem::take(&mut group)).await;
                    self.carry_out(effects).await;
                }
            }
        }
        self.store_received(group).await;
        drop(guard);
    }

    /// Store received projections with their receipts in one transaction, update the BSN index of the cases whose
    /// BSNs arrived (one transaction too), then carry out what follows each. When the store fails, each document
    /// starts over and nothing after it happens.
    async fn store_received(&mut self, group: Vec<Received>) {
        if group.is_empty() {
            return;
        }
        let node = self.inner.node.clone();
        let store = node.store();
        let mut entries = Vec::new();
        for r in &group {
            entries.extend(r.records.iter().map(|rec| self.entry(rec)));
        }
        let records: Vec<ProjectionRecord> = group.iter().map(|r| r.record.clone()).collect();
        if let Err(e) = store.put_projections_with_audit(&records, &entries).await {
            tracing::error!(peer = %self.state.peer, error = %e, "could not store received projections");
            for r in group {
                self.start_over_doc(r.record.wire_id.clone(), r.record.case.clone())
                    .await;
            }
            return;
        }
        let mut reindex = Vec::new();
        let mut rests = Vec::with_capacity(group.len());
        for r in group {
            let (index, rest): (Vec<Effect>, Vec<Effect>) = r
                .rest
                .into_iter()
                .partition(|e| matches!(e, Effect::Reindex(_)));
            reindex.extend(index.into_iter().filter_map(|e| match e {
                Effect::Reindex(case) => Some(case),
                _ => None,
            }));
            rests.push(rest);
        }
        node.reindex_bsn_many_or_mark(&reindex).await;
        for rest in rests {
            self.carry_out(rest).await;
        }
    }

    /// A message whose view could not be read (the database failed, not "there is nothing"): it is not decided
    /// on, and not silently dropped either — the peer's session already counts its changes as sent, so both
    /// sides would go quiet with different documents. "Not available" makes the peer start the document over
    /// from nothing at its next retry, and this side's session starts over too.
    async fn start_over(&mut self, need: &Need) {
        let (name, case) = match need {
            Need::Nothing => return,
            Need::Form(k, g) => (WireDoc::Form(k.clone(), *g).to_string(), k.case.clone()),
            Need::Projection { wire, .. } => (wire.to_string(), wire.case().clone()),
        };
        tracing::warn!(peer = %self.state.peer, doc = %name, "could not read what a message needs; the document starts over");
        self.start_over_doc(name, case).await;
    }

    /// Start a document over with the peer after a message about it could not be read or stored: nothing of it
    /// was taken, but the peer's session counts it as delivered.
    async fn start_over_doc(&mut self, name: String, case: CaseId) {
        self.syncs.insert(name.clone(), SyncSession::default());
        self.retry_later(&case);
        self.send(Message::NotAvailable { doc: name }).await;
    }

    /// Load what the receive core asks for. A case or document that does not exist is an empty part of the view;
    /// a read that fails is [`Unloadable`].
    async fn view(&mut self, need: &Need) -> Result<View, Unloadable> {
        let node = self.inner.node.clone();
        let store = node.store();
        Ok(match need {
            Need::Nothing => View::default(),
            Need::Form(k, generation) => {
                let case = present(node.load_case(&k.case).await)?;
                let docs = match case {
                    Some(_) => node.local_docs(&k.case).await,
                    None => Vec::new(),
                };
                let stored = store.load_document(&k.clone()).await.map_err(unloadable)?;
                let doc = match &stored {
                    Some(stored) => {
                        let persisted = store
                            .get_sync_state(&self.state.peer, &stored.meta.doc_id)
                            .await
                            .map_err(unloadable)?;
                        let name = WireDoc::Form(k.clone(), *generation).to_string();
                        stored
                            .to_automerge(self.me())
                            .ok()
                            .map(|am| (am, self.session_of(&name, persisted)))
                    }
                    None => None,
                };
                View {
                    case,
                    docs,
                    doc,
                    stored: stored.is_some(),
                    projection: None,
                    forget_held: false,
                }
            }
            Need::Projection { wire, case } => {
                // One read of the record serves both: its state, and (unless withdrawn, never synced again) the
                // document with this peer's session.
                let name = wire.to_string();
                // With the case, the record comes from the same read as the case's projections.
                let (case, projection) = match case {
                    true => match present(node.load_case_with_projections(wire.case()).await)? {
                        Some((loaded, projections)) => (
                            Some(loaded),
                            projections.into_iter().find(|p| p.wire_id == name),
                        ),
                        None => (
                            None,
                            store.load_projection(&name).await.map_err(unloadable)?,
                        ),
                    },
                    false => (
                        None,
                        store.load_projection(&name).await.map_err(unloadable)?,
                    ),
                };
                let doc = projection.as_ref().filter(|p| !p.retired).and_then(|p| {
                    let mut am = node
                        .doc_cache()
                        .projection_doc(&p.wire_id, &p.snapshot)
                        .ok()?;
                    am.set_actor(doc::actor_for(self.me()));
                    Some((am, self.session_of(&name, p.sync_state.clone())))
                });
                let forget_held = match &projection {
                    Some(p) if p.retired && p.sender == self.me().to_string() => store
                        .rectification_notice(&self.state.peer.to_string(), wire.case())
                        .await
                        .map_err(unloadable)?
                        .is_some(),
                    _ => false,
                };
                View {
                    case,
                    doc,
                    projection,
                    forget_held,
                    ..View::default()
                }
            }
        })
    }

    /// Carry out the receive core's effects in order. A store that fails ends the list (see [`receive`]).
    async fn carry_out(&mut self, effects: Vec<Effect>) {
        let mut queue: VecDeque<Effect> = effects.into();
        while let Some(effect) = queue.pop_front() {
            match self.carry(effect).await {
                Carried::Next => {}
                Carried::Then(more) => {
                    for e in more.into_iter().rev() {
                        queue.push_front(e);
                    }
                }
                Carried::Stop => return,
            }
        }
    }

    async fn carry(&mut self, effect: Effect) -> Carried {
        let node = self.inner.node.clone();
        let store = node.store();
        match effect {
            Effect::Send(message) => self.send_counted(message).await,
            Effect::Disclose {
                mut message,
                record,
            } => {
                // Fail closed: no disclosure without its audit record. The session is not advanced, so the
                // message is generated again at the next reconcile.
                let entry = self.entry(&record);
                // The message names its disclosure record, so the receiver's receipt can link to it
                // (`foreign_operation`). Trace and span ids are random: they say nothing about the case.
                if let Message::Sync { traceparent, .. } = &mut message {
                    *traceparent = Some(
                        protocol::trace::TraceParent {
                            trace_id: entry.trace_id.clone(),
                            span_id: entry.span_id.clone(),
                        }
                        .to_string(),
                    );
                }
                if let Some(held) = &mut self.held {
                    held.push(Held::Disclose {
                        message,
                        entry: Box::new(entry),
                        case: record.case.clone(),
                    });
                    return Carried::Next;
                }
                // A projection the reconcile just wrote is stored in the same transaction as this record.
                let unsaved = message.doc().and_then(|d| self.unsaved.remove(d));
                let stored = match &unsaved {
                    Some(p) => store
                        .put_projection_with_audit(p, std::slice::from_ref(&entry))
                        .await
                        .map(|_| ()),
                    None => store.append_audit(&entry).await.map(|_| ()),
                };
                if let Err(e) = stored {
                    tracing::error!(peer = %self.state.peer, doc = ?record.doc, error = %e, "disclosure not sent: its audit record could not be stored");
                    if let Some(case) = &record.case {
                        self.retry_later(case);
                    }
                    return Carried::Stop;
                }
                self.send_counted(message).await;
            }
            Effect::StoreChange {
                key,
                generation,
                change,
                record,
            } => {
                if store.get_case(&key.case).await.ok().flatten().is_none() {
                    let _ = store.create_case(&key.case).await;
                }
                if let Err(e) = store
                    .write_document_at_generation(&key, generation, &change, &self.entry(&record))
                    .await
                {
                    tracing::error!(error = %e, doc = ?record.doc, "could not store an accepted change");
                    self.start_over_doc(
                        WireDoc::Form(key.clone(), generation).to_string(),
                        key.case.clone(),
                    )
                    .await;
                    return Carried::Stop;
                }
            }
            Effect::StoreProjection(record) => return self.store_projection(record, &[]).await,
            Effect::DeleteDocument(key) => {
                if let Err(e) = store.delete_document(&key).await {
                    tracing::error!(doc = %key.kind, case = %key.case, error = %e, "could not delete a withdrawn document");
                    return Carried::Stop;
                }
            }
            Effect::Scrub => {
                if let Err(e) = store.scrub().await {
                    tracing::warn!(error = %e, "deleted data may linger in the write-ahead log until the next checkpoint");
                }
            }
            Effect::Record(record) => self.record(&record).await,
            Effect::Reindex(case) => node.reindex_bsn_or_mark(&case).await,
            Effect::Notify(case) => node.notify_changed(&case),
            Effect::KeepSession { doc, session } => self.keep(&doc, session),
            Effect::DropSession(name) => self.drop_session(&name),
            Effect::ResetSession(name) => {
                self.syncs.insert(name, SyncSession::for_empty_peer());
            }
            Effect::Answer {
                doc,
                am,
                session,
                always,
                stored,
            } => {
                if let Some(digest) = stored {
                    node.doc_cache()
                        .remember_projection_doc(&doc.to_string(), digest, &am);
                }
                // The plan names what a disclosure carries. Another partner's projection holds nothing this node
                // wrote (only its sender writes into it), so answering it discloses nothing of this node's own and
                // needs no plan — nor a second read of the case the message was decided on.
                // Nor does this node's own projection when the peer holds all of it (the peer's answer to what it
                // was sent: the usual case).
                let mut am = am;
                let plan = match &doc {
                    WireDoc::Projection { sender, .. } if sender != self.me() => Plan::default(),
                    WireDoc::Projection { .. } if session.peer_holds(&am.get_heads()) => {
                        Plan::default()
                    }
                    _ => self.plan(doc.case()).await.unwrap_or_default(),
                };
                return Carried::Then(receive::answer(
                    &self.state,
                    doc,
                    *am,
                    session,
                    &plan,
                    always,
                ));
            }
            Effect::TakePolicy { kind, data } => self.take_policy(&kind, &data).await,
            Effect::TakeDirectory(data) => self.take_directory(&data).await,
            Effect::TakeErasure(case) => {
                if let Err(e) = node.take_erasure(&self.state.peer, &case).await {
                    tracing::error!(peer = %self.state.peer, case = %case, error = %e, "a partner's erasure could not be carried out; it is told again at the next connection");
                }
            }
            Effect::TakeInzage { kind, data } => self.take_inzage(&kind, &data).await,
            Effect::TakeRectification { kind, data } => self.take_rectification(&kind, &data).await,
            Effect::TakeHuurdermelding { kind, data } => {
                self.take_huurdermelding(&kind, &data).await
            }
            Effect::Count(Counter::Accepted) => {
                self.inner.stats.accepted.fetch_add(1, Ordering::Relaxed);
            }
            Effect::Count(Counter::Refused) => {
                self.inner.stats.refused.fetch_add(1, Ordering::Relaxed);
            }
        }
        Carried::Next
    }

    /// Store a projection with the records of what it brought, in one transaction. When that fails the document
    /// starts over and nothing after it is carried out.
    async fn store_projection(&mut self, record: ProjectionRecord, records: &[Record]) -> Carried {
        let entries: Vec<AuditEntry> = records.iter().map(|r| self.entry(r)).collect();
        let store = self.inner.node.store();
        if let Err(e) = store.put_projection_with_audit(&record, &entries).await {
            tracing::error!(error = %e, doc = %record.wire_id, "could not store a projection");
            self.start_over_doc(record.wire_id.clone(), record.case.clone())
                .await;
            return Carried::Stop;
        }
        Carried::Next
    }

    /// Send a message, counting the sync messages among them.
    async fn send_counted(&mut self, message: Message) {
        if let Message::Sync { data, .. } = &message {
            self.inner.stats.sent.fetch_add(1, Ordering::Relaxed);
            self.inner
                .stats
                .bytes_sent
                .fetch_add(data.len() as u64, Ordering::Relaxed);
        }
        self.send(message).await;
    }

    async fn record(&self, record: &Record) {
        if let Err(e) = self
            .inner
            .node
            .store()
            .append_audit(&self.entry(record))
            .await
        {
            tracing::error!(error = %e, "could not record in the audit log");
        }
    }

    fn entry(&self, r: &Record) -> AuditEntry {
        let node = &self.inner.node;
        let mut entry = AuditEntry::new(
            r.operation,
            &r.activity,
            "federatie: gegevensdeling volgens het convenantbeleid",
            node.clock_now(),
        )
        .document(r.doc.clone())
        .fields(&r.fields)
        .peer(&self.state.peer.to_string())
        .policy_version(&node.policy().meta.version);
        if let Some(case) = &r.case {
            entry = entry.case(
                case.as_str(),
                node.pseudonymiser().data_subject_id(case.as_str()),
            );
        }
        if r.status == crate::audit::Status::Error {
            entry = entry.failed();
        }
        // The entity is the peer this connection authenticated, not anything the message says.
        entry.foreign_operation(r.foreign.as_ref().map(|t| ForeignOperation {
            trace_id: t.trace_id.clone(),
            operation_id: t.span_id.clone(),
            entity: crate::audit::entity_uri(&self.state.peer),
        }))
    }
}

/// What carrying out one effect leaves to do.
enum Carried {
    /// Go on with the next effect.
    Next,
    /// Carry out these effects first, then go on.
    Then(Vec<Effect>),
    /// A store failed: drop the rest.
    Stop,
}

/// A read for a message's view failed (the database, not an absence).
#[derive(Debug)]
struct Unloadable;

fn unloadable(e: crate::store::StoreError) -> Unloadable {
    tracing::warn!(error = %e, "reading what a message needs failed");
    Unloadable
}

/// A case that does not exist is `None`; a case that could not be read is [`Unloadable`].
fn present<T>(r: Result<T, crate::service::ServiceError>) -> Result<Option<T>, Unloadable> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(crate::service::ServiceError::NotFound(_)) => Ok(None),
        Err(e) => {
            tracing::warn!(error = %e, "reading a case for a message failed");
            Err(Unloadable)
        }
    }
}
