//! The receive core: what this node does with one message from one peer, decided without I/O.
//!
//! As quinn-proto is to quinn: [`on_message`] takes what the session remembers about the peer ([`PeerState`]),
//! the message, and what this node holds that the decision reads ([`View`], loaded by the session as [`need`]
//! says), and returns the [`Effect`]s — send, store, audit, notify, refuse — that the session carries out in order.
//! Every check of what arrives is made here (with [`accept`] and [`plan`]), so each is tested in milliseconds
//! (`node/tests/receive_core.rs`), and the tokio session in `session.rs` only loads rows and moves bytes.
//!
//! **Effects are carried out in order, and a failed store ends the list**: when [`Effect::StoreChange`],
//! [`Effect::StoreProjection`], [`Effect::DeleteDocument`] or the audit record of an [`Effect::Disclose`]
//! cannot be written, nothing after it happens — no notice, no answer, no disclosure without its record.

use std::collections::HashSet;

use automerge::AutoCommit;
use policies::{DocumentKind, FieldId, PartnerId, Policy, Role, Validator};
use protocol::Message;
use protocol::sync::SyncSession;
use protocol::trace::TraceParent;

use super::accept::{self, Refusal};
use super::plan::{self, Plan};
use super::wire::WireDoc;
use crate::audit::{Operation, Status};
use crate::case::{LoadedCase, LocalDoc, authors_of};
use crate::doc;
use crate::projection;
use crate::store::{CaseId, Change, DocKey, ProjectionRecord};

/// Most documents a session remembers to offer or ask for again.
pub const MAX_DEFERRED: usize = 256;

/// What a session remembers about its peer between messages.
#[derive(Debug)]
pub struct PeerState {
    /// The partner at the other end.
    pub peer: PartnerId,
    /// Documents this session no longer syncs: refused either way.
    pub blocked: HashSet<String>,
    /// Documents the peer said it cannot take (yet): offered again when their case changes.
    pub unavailable: HashSet<String>,
    /// Documents the peer offered that this node could not take yet: asked for when their case changes here.
    pub deferred: HashSet<String>,
}

impl PeerState {
    /// A session with `peer` that has exchanged nothing yet.
    pub fn new(peer: PartnerId) -> PeerState {
        PeerState {
            peer,
            blocked: HashSet::new(),
            unavailable: HashSet::new(),
            deferred: HashSet::new(),
        }
    }
}

/// The node-wide things a decision reads.
pub struct Context<'a> {
    /// The policy in force.
    pub policy: &'a Policy,
    /// This node's partner.
    pub me: &'a PartnerId,
    /// The validator for forms (the gemeente register, today).
    pub validator: &'a Validator<'a>,
    /// Now, in seconds since the Unix epoch: the time of a change this node makes (a withdrawn projection's facts).
    pub now: i64,
}

/// What the session must load before [`on_message`] can decide on a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// Nothing: the message alone decides.
    Nothing,
    /// A case document at a generation, with this peer's sync session, and the case as this node holds it.
    Form(DocKey, u64),
    /// A projection's record and document with this peer's sync session; with `case`, also the case.
    Projection {
        /// The projection.
        wire: WireDoc,
        /// Whether the case is needed too (for a projection the peer sends this node).
        case: bool,
    },
}

/// What a decision reads of this node's data, loaded by the session as [`need`] asked.
#[derive(Debug, Default)]
pub struct View {
    /// The case as this node holds it; `None` when it could not be read (the message is then dropped: the peer
    /// offers it again).
    pub case: Option<LoadedCase>,
    /// The case's documents held here, with who wrote what.
    pub docs: Vec<LocalDoc>,
    /// The document the message is about, with this peer's sync session; `None` when it is not held here (or is
    /// a withdrawn projection, never synced again).
    pub doc: Option<(AutoCommit, SyncSession)>,
    /// Whether the case document is stored here at all (it may be stored and not load).
    pub stored: bool,
    /// The projection's record, for a message about a projection.
    pub projection: Option<ProjectionRecord>,
    /// For this node's own retired projection: its `Forget` is held back, because the peer is yet to take this
    /// node's rectification of the case and hold the new generation (told earlier, the Transferpunt would delete
    /// the facts that say how this node relates to the case, and then take neither generation).
    pub forget_held: bool,
}

/// An audit record to write. The session adds the time, trace ids, pseudonym, peer and policy version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// What was done.
    pub operation: Operation,
    /// The case it concerns; `None` for a security event about no case (a malformed frame, a policy artefact).
    pub case: Option<CaseId>,
    /// The document (wire name), if any.
    pub doc: Option<String>,
    /// The fields concerned: names, never values.
    pub fields: Vec<FieldId>,
    /// The processing activity: the flows of a disclosure, or the reason of a refusal.
    pub activity: String,
    /// Whether it succeeded.
    pub status: Status,
    /// For a receipt: the sender's disclosure record the message named (its `traceparent`, shape checked), stored
    /// as the receipt's `foreign_operation`. A reference only; nothing is decided on it.
    pub foreign: Option<TraceParent>,
}

impl Record {
    fn ok(
        operation: Operation,
        case: &CaseId,
        doc: &str,
        fields: Vec<FieldId>,
        activity: &str,
    ) -> Record {
        Record {
            operation,
            case: Some(case.clone()),
            doc: Some(doc.to_string()),
            fields,
            activity: activity.to_string(),
            status: Status::Ok,
            foreign: None,
        }
    }

    /// A security event: something the peer sent was refused.
    pub fn security_event(
        case: Option<&CaseId>,
        doc: Option<&str>,
        fields: Vec<FieldId>,
        reason: &str,
    ) -> Record {
        Record {
            operation: Operation::Refusal,
            case: case.cloned(),
            doc: doc.map(str::to_string),
            fields,
            activity: reason.to_string(),
            status: Status::Error,
            foreign: None,
        }
    }
}

/// A statistic the session counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// A message accepted and stored.
    Accepted,
    /// A message refused (a security event).
    Refused,
}

/// One thing the session does on the core's word.
#[derive(Debug)]
pub enum Effect {
    /// Send a message that discloses nothing (a request, an answer without changes, a notice).
    Send(Message),
    /// An inzageverzoek from the peer (verify, queue for the privacy officer, confirm) or its confirmation of
    /// one this node sent (`crate::inzage::verzoek`).
    TakeInzage {
        /// [`crate::inzage::verzoek::KIND_REQUEST`] or [`crate::inzage::verzoek::KIND_RECEIPT`].
        kind: String,
        /// The signed request, or the confirmed request's id.
        data: Vec<u8>,
    },
    /// A huurdermelding from a corporatie, at the Transferpunt (take it, confirm), or the Transferpunt's
    /// confirmation of one this corporatie sent (`crate::huurdermelding`).
    TakeHuurdermelding {
        /// [`crate::huurdermelding::KIND_MELDING`] or [`crate::huurdermelding::KIND_ONTVANGEN`].
        kind: String,
        /// The melding, or the confirmation, as JSON.
        data: Vec<u8>,
    },
    /// Send a sync message carrying changes, only once its audit record is stored: no disclosure without its
    /// record (fail closed). When the record cannot be stored, the case is reconciled again later.
    Disclose {
        /// The sync message.
        message: Message,
        /// Its disclosure record.
        record: Record,
    },
    /// Store an accepted change to a case document and its receipt record in one transaction (registering the
    /// case here first when it is new).
    StoreChange {
        /// The document.
        key: DocKey,
        /// Its generation: a document held here at another one is replaced by this change.
        generation: u64,
        /// The change.
        change: Change,
        /// Its receipt record.
        record: Record,
    },
    /// Store a projection's record: one received, or one withdrawn by its sender.
    StoreProjection(ProjectionRecord),
    /// Delete a case document and its sync states.
    DeleteDocument(DocKey),
    /// Wipe deleted data from the database's files as well (after a deletion).
    Scrub,
    /// Write an audit record (a receipt, a refusal, a security event).
    Record(Record),
    /// The BSNs this node holds of the case may have changed (a registratie's `bsn` arrived, or data was deleted):
    /// its BSN index entries follow (`crate::bsn_index`). Not on every change: keeping the index reads the whole
    /// case, which no other change needs.
    Reindex(CaseId),
    /// The case changed here: every session re-plans it.
    Notify(CaseId),
    /// Keep this peer's sync session of a document (in memory, and stored).
    KeepSession {
        /// The document.
        doc: WireDoc,
        /// Its session.
        session: SyncSession,
    },
    /// Forget this peer's sync session of a document.
    DropSession(String),
    /// Start this peer's sync session of a document over, carrying every change, the next time it is offered:
    /// the peer did not take what it was sent (Automerge would count those changes as delivered).
    ResetSession(String),
    /// Decide on an answer with the plan as it stands after the effects before this one: the session plans the
    /// case for the peer and calls [`answer`].
    Answer {
        /// The document.
        doc: WireDoc,
        /// Its content, with what was just received (boxed: a document is large beside the other effects).
        am: Box<AutoCommit>,
        /// This peer's sync session of it.
        session: SyncSession,
        /// Answer even when the plan does not share the document (this node had nothing of it before: the answer
        /// asks for everything and carries nothing).
        always: bool,
        /// The digest of the snapshot stored for `am` ([`crate::case::snapshot_digest`]), when this answer
        /// follows storing it: the session remembers the document so the next message need not load it again.
        stored: Option<[u8; 32]>,
    },
    /// Take a policy artefact the Transferpunt offers: `distribution` verifies its signature and stores it.
    TakePolicy {
        /// Its kind.
        kind: String,
        /// Its bytes.
        data: Vec<u8>,
    },
    /// Take a signed federation directory the Transferpunt offers: `crate::directory` verifies it against the CA,
    /// stores it when its version is above every one held, and the federation puts it in force.
    TakeDirectory(Vec<u8>),
    /// The peer erased a case: delete what it sent of it here ([`crate::service::Node::take_erasure`]).
    TakeErasure(CaseId),
    /// The peer rectified a case, or confirms this node's rectification ([`crate::rectificatie`]).
    TakeRectification {
        /// Its kind: a notice or a confirmation.
        kind: String,
        /// Its bytes.
        data: Vec<u8>,
    },
    /// Count a statistic.
    Count(Counter),
}

/// What must be loaded to decide on `msg`.
pub fn need(state: &PeerState, me: &PartnerId, msg: &Message) -> Need {
    let doc = match msg {
        Message::Sync { doc, .. } if !state.blocked.contains(doc) => doc,
        Message::Forget { doc, .. } => doc,
        _ => return Need::Nothing,
    };
    match WireDoc::parse(doc) {
        Some(WireDoc::Form(k, g)) => Need::Form(k, g),
        Some(wire @ WireDoc::Projection { .. }) => {
            let from_peer = matches!(&wire, WireDoc::Projection { sender, receiver, .. } if *sender == state.peer && receiver == me);
            let case = from_peer && matches!(msg, Message::Sync { .. });
            Need::Projection { wire, case }
        }
        None => Need::Nothing,
    }
}

/// Decide what to do with one message from the peer.
pub fn on_message(
    state: &mut PeerState,
    cx: &Context<'_>,
    msg: Message,
    view: View,
) -> Vec<Effect> {
    match msg {
        Message::Sync {
            doc,
            data,
            traceparent,
        } => {
            if state.blocked.contains(&doc) {
                return Vec::new();
            }
            let effects = match WireDoc::parse(&doc) {
                Some(WireDoc::Form(k, g)) => form_sync(state, cx, &doc, (k, g), &data, view),
                Some(wire @ WireDoc::Projection { .. }) => {
                    projection_sync(state, cx, &doc, wire, &data, view)
                }
                None => vec![not_available(&doc)],
            };
            link_receipts(state, effects, traceparent.as_deref())
        }
        Message::Forget { doc, reason } => match WireDoc::parse(&doc) {
            Some(WireDoc::Projection {
                sender,
                receiver,
                case,
                ..
            }) if sender == state.peer && receiver == *cx.me => {
                projection_withdrawn(state, cx, &doc, &case, &reason, view)
            }
            Some(WireDoc::Form(k, g)) => document_withdrawn(state, &doc, (&k, g), &reason, view),
            _ => Vec::new(),
        },
        Message::Refused { doc, reason } => {
            tracing::warn!(peer = %state.peer, doc = %doc, reason = %reason, "peer refused our message; no longer syncing it on this connection");
            state.blocked.insert(doc);
            Vec::new()
        }
        Message::Erased { case } => match case.parse::<CaseId>() {
            Ok(case) => vec![Effect::TakeErasure(case)],
            Err(_) => {
                tracing::debug!(peer = %state.peer, "an erasure for something that is not a case id: ignored");
                Vec::new()
            }
        },
        Message::NotAvailable { doc } => {
            // The peer did not take what was sent, or holds nothing of it: start over when it is offered again.
            // Bounded, so a peer cannot grow the set.
            if state.unavailable.len() < MAX_DEFERRED {
                state.unavailable.insert(doc.clone());
            }
            vec![Effect::ResetSession(doc)]
        }
        Message::Artefact { kind, data }
            if kind == crate::distribution::POLICY_KIND
                || kind == crate::distribution::REVOCATION_KIND =>
        {
            if state.peer.role() != Role::Transferpunt {
                tracing::warn!(peer = %state.peer, kind = %kind, "security event: a policy artefact from a partner that is not the Transferpunt, ignored");
                return refused_artefact(&format!(
                    "{kind} offered by {}, not by the Transferpunt",
                    state.peer
                ));
            }
            vec![Effect::TakePolicy { kind, data }]
        }
        Message::Artefact { kind, data } if kind == crate::directory::DIRECTORY_KIND => {
            // Like a policy version: only the Transferpunt passes the directory on, so a lower version arriving is
            // a rollback to refuse, not an honest peer that lags behind.
            if state.peer.role() != Role::Transferpunt {
                tracing::warn!(peer = %state.peer, "security event: a federation directory from a partner that is not the Transferpunt, ignored");
                return refused_artefact(&format!(
                    "{kind} offered by {}, not by the Transferpunt",
                    state.peer
                ));
            }
            vec![Effect::TakeDirectory(data)]
        }
        Message::Artefact { kind, data }
            if kind == crate::inzage::verzoek::KIND_REQUEST
                || kind == crate::inzage::verzoek::KIND_RECEIPT =>
        {
            vec![Effect::TakeInzage { kind, data }]
        }
        Message::Artefact { kind, data }
            if kind == crate::rectificatie::KIND_NOTICE
                || kind == crate::rectificatie::KIND_CONFIRMATION =>
        {
            vec![Effect::TakeRectification { kind, data }]
        }
        Message::Artefact { kind, data }
            if kind == crate::huurdermelding::KIND_MELDING
                || kind == crate::huurdermelding::KIND_ONTVANGEN =>
        {
            // Only a corporatie makes one, only the Transferpunt takes one and confirms it.
            let (from, to) = if kind == crate::huurdermelding::KIND_MELDING {
                (Role::Corporatie, Role::Transferpunt)
            } else {
                (Role::Transferpunt, Role::Corporatie)
            };
            if state.peer.role() != from || cx.me.role() != to {
                tracing::warn!(peer = %state.peer, kind = %kind, "security event: a huurdermelding between partners that do not make or take one");
                return refused_artefact(&format!(
                    "{kind} from {} to {}, refused (Bijlage 2: a corporatie to the Transferpunt)",
                    state.peer, cx.me
                ));
            }
            vec![Effect::TakeHuurdermelding { kind, data }]
        }
        Message::Artefact { kind, .. } => {
            tracing::debug!(peer = %state.peer, kind = %kind, "artefact of an unknown kind ignored");
            Vec::new()
        }
        // The connection hands a batch out message by message (`protocol::batch`); one reaching the core was not
        // unpacked, and is refused like any frame this node cannot read.
        Message::Batch { .. } => malformed_frame(state, "a batch that was not unpacked"),
    }
}

/// An artefact from a partner that may not offer it: refused and recorded as a security event, nothing taken.
fn refused_artefact(why: &str) -> Vec<Effect> {
    vec![
        Effect::Count(Counter::Refused),
        Effect::Record(Record::security_event(None, None, Vec::new(), why)),
    ]
}

/// A frame from the peer that does not decode: refused and recorded; the session goes on.
pub fn malformed_frame(state: &PeerState, error: &str) -> Vec<Effect> {
    tracing::warn!(peer = %state.peer, error = %error, "security event: malformed frame refused");
    vec![
        Effect::Count(Counter::Refused),
        Effect::Record(Record::security_event(
            None,
            None,
            Vec::new(),
            &format!("malformed frame: {error}"),
        )),
    ]
}

/// Answer a document message once the plan after it is known: a case document only when the plan shares it
/// whole with the peer (the peer learns this node's heads and gets what it lacks), or `always`.
pub fn answer(
    state: &PeerState,
    doc: WireDoc,
    am: AutoCommit,
    session: SyncSession,
    plan: &Plan,
    always: bool,
) -> Vec<Effect> {
    let shared = match &doc {
        WireDoc::Form(k, _) => accept::answers_pull(plan, k),
        WireDoc::Projection { .. } => true,
    };
    if shared || always {
        next_message(state, doc, am, session, plan)
    } else {
        vec![Effect::KeepSession { doc, session }]
    }
}

/// The next message of this peer's sync session of a document, if there is one, and the session kept. A message
/// carrying changes is a disclosure: its record names the fields and the flows of `plan` that allow them.
pub fn next_message(
    state: &PeerState,
    doc: WireDoc,
    mut am: AutoCommit,
    mut session: SyncSession,
    plan: &Plan,
) -> Vec<Effect> {
    let name = doc.to_string();
    let generated = session.generate(&mut am);
    tracing::debug!(peer = %state.peer, doc = %name, bytes = generated.as_ref().map_or(0, Vec::len), "sync message");
    let mut effects = Vec::new();
    if let Some(bytes) = generated {
        let carries = automerge::sync::Message::decode(&bytes).is_ok_and(|m| !m.changes.is_empty());
        let message = Message::Sync {
            doc: name.clone(),
            data: bytes,
            traceparent: None,
        };
        if carries {
            let fields: Vec<FieldId> = match &doc {
                WireDoc::Form(k, _) => {
                    let json = doc::read_json(&am).unwrap_or_default();
                    k.kind
                        .fields()
                        .filter(|f| json.get(f.name()).is_some())
                        .collect()
                }
                WireDoc::Projection { .. } => plan.projection_fields.iter().collect(),
            };
            let mut flows: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
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
            let record = Record::ok(Operation::Disclosure, doc.case(), &name, fields, &activity);
            effects.push(Effect::Disclose { message, record });
        } else {
            effects.push(Effect::Send(message));
        }
    }
    effects.push(Effect::KeepSession { doc, session });
    effects
}

/// Name the sender's disclosure record (the message's `traceparent`) in the receipt records of what the message
/// brought. Its shape is checked ([`TraceParent::parse`]); a malformed one is left out — the change is still
/// taken, since what the sender calls its record decides nothing here — and logged without its text.
fn link_receipts(
    state: &PeerState,
    mut effects: Vec<Effect>,
    traceparent: Option<&str>,
) -> Vec<Effect> {
    let Some(raw) = traceparent else {
        return effects;
    };
    let foreign = match TraceParent::parse(raw) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(peer = %state.peer, error = %e, "a sync message named its disclosure record in a malformed traceparent: the receipt is recorded without foreign_operation");
            return effects;
        }
    };
    for effect in &mut effects {
        match effect {
            Effect::StoreChange { record, .. } | Effect::Record(record)
                if record.operation == Operation::Receipt =>
            {
                record.foreign = Some(foreign.clone());
            }
            _ => {}
        }
    }
    effects
}

/// A message Automerge could not take (malformed, or past the decompression limits): refused whole.
fn undecodable(
    state: &mut PeerState,
    name: &str,
    case: &CaseId,
    e: &protocol::sync::SyncError,
) -> Vec<Effect> {
    refused(
        state,
        name,
        case,
        Refusal::new(format!("not a valid sync message: {e}")),
    )
}

/// A message taken only in part: some of its changes wait for a change it did not bring
/// ([`protocol::sync::waits_for_changes`]). What could be applied is kept (`effects`); the rest would be lost with
/// the document, which is read anew for the next message, while the peer's session counts it as delivered. So
/// this side's session is dropped and the peer told "not available": it starts the document over, carrying every
/// change, at its next retry.
fn start_over(state: &PeerState, name: &str, mut effects: Vec<Effect>) -> Vec<Effect> {
    tracing::debug!(peer = %state.peer, doc = %name, "changes wait for a change the message did not bring; the document starts over");
    effects.push(Effect::DropSession(name.to_string()));
    effects.push(not_available(name));
    effects
}

fn not_available(doc: &str) -> Effect {
    Effect::Send(Message::NotAvailable {
        doc: doc.to_string(),
    })
}

/// A message refused: "not available" when it may only be early (the facts that decide it may be on their way),
/// else refused whole — the document blocked on this connection, the refusal recorded and told.
fn refused(state: &mut PeerState, name: &str, case: &CaseId, r: Refusal) -> Vec<Effect> {
    if r.not_yet {
        tracing::debug!(peer = %state.peer, doc = %name, reason = %r.reason, "not available (yet)");
        return vec![not_available(name)];
    }
    tracing::warn!(peer = %state.peer, doc = %name, reason = %r.reason, "security event: message refused whole");
    state.blocked.insert(name.to_string());
    vec![
        Effect::Count(Counter::Refused),
        Effect::Record(Record::security_event(
            Some(case),
            Some(name),
            r.fields,
            &r.reason,
        )),
        Effect::Send(Message::Refused {
            doc: name.to_string(),
            reason: r.reason,
        }),
    ]
}

/// A sync message about a case document. A request (no changes) is answered only when the plan shares the
/// document whole with the peer; a push only into an instance the peer may write into, and only with fields
/// it may write and this node may receive from it ([`accept`]). Everything else is answered "not available",
/// as for a document that does not exist — and a push into another partner's instance is refused and
/// recorded.
fn form_sync(
    state: &mut PeerState,
    cx: &Context<'_>,
    name: &str,
    (k, generation): (DocKey, u64),
    data: &[u8],
    mut view: View,
) -> Vec<Effect> {
    // The peer engages with this document: whatever it could not take before, it wants now.
    state.unavailable.remove(name);
    let Ok(message) = automerge::sync::Message::decode(data) else {
        return refused(
            state,
            name,
            &k.case,
            Refusal::new("not a valid sync message"),
        );
    };
    let carries = !message.changes.is_empty();
    // Never dropped silently (the peer's session would count it as delivered): no case here is "not available".
    let Some(loaded) = view.case.as_ref() else {
        return vec![not_available(name)];
    };
    let local = view.docs.iter().find(|d| d.key == k);
    // A rectification rewrote the document as a new generation (`WireDoc::Form`): a message for an older one is
    // never merged into it, and only the document's creator starts a newer one.
    let mut replaced: Option<AutoCommit> = None;
    if let Some(held) = local {
        if generation < held.generation {
            return older_generation(state, name, held);
        }
        if generation > held.generation {
            if held.creator != Some(doc::actor_for(&state.peer)) {
                return refused(
                    state,
                    name,
                    &k.case,
                    Refusal::new(format!(
                        "only the partner that created {name} rewrites it as a new generation"
                    )),
                );
            }
            replaced = Some(match view.doc.take() {
                Some((am, _)) => am,
                None => return vec![not_available(name)],
            });
        }
    }
    let exists = (local.is_some() || view.stored) && replaced.is_none();
    // Who the instance belongs to: whoever created it here, or the partner that projected it here.
    let creator = local.and_then(|d| d.creator.clone()).or_else(|| {
        loaded
            .section_senders
            .get(&projection::section_name(k.kind, &k.instance))
            .map(doc::actor_for)
    });
    let peer = state.peer.clone();
    let shared = accept::answers_pull(&plan::plan(cx.policy, cx.me, &peer, loaded, &view.docs), &k);
    let facts = crate::facts::facts_of(cx.me, loaded, &[&peer]);
    let fcx = accept::FormContext {
        policy: cx.policy,
        me: cx.me,
        peer: &peer,
        key: &k,
        creator: creator.as_ref(),
        facts: &facts,
    };
    let may_push = carries && accept::may_push(&fcx);
    if !shared && !may_push {
        let owned = owned_by_another(&k, creator.as_ref(), &peer);
        return not_taken(state, name, &k.case, carries, owned);
    }
    state.deferred.remove(name);
    tracing::debug!(peer = %peer, doc = %name, shared, may_push, "case document message");
    let (am, session) = match view.doc {
        Some(held) => held,
        None if !exists => (doc::new_document(cx.me), SyncSession::new()),
        // Stored but not loadable: nothing to merge into, so nothing taken.
        None => return vec![not_available(name)],
    };
    take_form(
        state,
        cx,
        &fcx,
        loaded,
        name,
        data,
        (am, session),
        (generation, exists, replaced.as_ref()),
    )
}

/// Write into the new generation `new` the fields whose current value this node wrote in the old one: the
/// creator's rewrite keeps only its own, and what this node wrote into its document (the Transferpunt's marks in a
/// bemiddelingsverzoek) is this node's to write again, in its own name.
fn carry_over(
    cx: &Context<'_>,
    kind: DocumentKind,
    old: &AutoCommit,
    new: &mut AutoCommit,
) -> Result<(), String> {
    let mine = doc::fields_written_by(old, &doc::actor_for(cx.me)).map_err(|e| e.to_string())?;
    if mine.is_empty() {
        return Ok(());
    }
    let serde_json::Value::Object(mut merged) = doc::read_json(new).map_err(|e| e.to_string())?
    else {
        return Err("the new generation is not a map".into());
    };
    merged.extend(mine);
    let form = cx
        .validator
        .partial_form(kind, &serde_json::Value::Object(merged))
        .map_err(|e| e.to_string())?;
    doc::write_form(new, &form).map_err(|e| e.to_string())?;
    doc::commit(new, cx.now);
    Ok(())
}

/// A message for an older generation of a document this node holds rewritten (a rectification): never merged, and
/// nothing to answer — the old generation is gone here, and the peer's copy is replaced when the new one reaches it
/// (told to delete it instead, the peer would lose what it wrote into it, and the facts it reads from it, before
/// the new generation arrives).
fn older_generation(state: &PeerState, name: &str, held: &LocalDoc) -> Vec<Effect> {
    tracing::debug!(peer = %state.peer, doc = %name, held = held.generation, "a message for an older generation: not merged");
    Vec::new()
}

/// A message about a case document that is neither answered nor taken: "not available", as for a document that
/// does not exist — unless it pushed changes, which is a security event; into another partner's instance it is
/// refused outright, otherwise it may only be early and is asked for again later.
fn not_taken(
    state: &mut PeerState,
    name: &str,
    case: &CaseId,
    carries: bool,
    owned_by_another: bool,
) -> Vec<Effect> {
    let peer = state.peer.clone();
    let mut effects = Vec::new();
    if carries {
        tracing::warn!(peer = %peer, doc = %name, "security event: changes pushed for a document the peer may not write into");
        effects.push(Effect::Count(Counter::Refused));
        effects.push(Effect::Record(Record::security_event(
            Some(case),
            None,
            Vec::new(),
            &format!("{peer} pushed changes to {name}, which it may not write into"),
        )));
        if owned_by_another {
            // Another partner's instance: refused outright, not merely "not yet".
            state.blocked.insert(name.to_string());
            effects.push(Effect::Send(Message::Refused {
                doc: name.to_string(),
                reason: format!("{name} is not {peer}'s to write into"),
            }));
            return effects;
        }
        // Perhaps only not yet: the projection that tells this node how the peer relates to the case may still be
        // on its way. Asked for again when the case changes here; bounded, so a peer cannot make this node keep
        // asking for ever more documents.
        if state.deferred.len() < MAX_DEFERRED {
            state.deferred.insert(name.to_string());
        }
    }
    tracing::debug!(peer = %peer, doc = %name, "not available to this peer");
    effects.push(not_available(name));
    effects
}

/// Apply a message the peer may send into a case document, on a fork first: every change checked
/// ([`accept::form_changes`]) and the document still a valid form, or the whole message is refused.
#[allow(clippy::too_many_arguments)]
fn take_form(
    state: &mut PeerState,
    cx: &Context<'_>,
    fcx: &accept::FormContext<'_>,
    loaded: &LoadedCase,
    name: &str,
    data: &[u8],
    (mut am, mut session): (AutoCommit, SyncSession),
    (generation, exists, replaced): (u64, bool, Option<&AutoCommit>),
) -> Vec<Effect> {
    let k = fcx.key;
    // What this message adds is taken as the changes after these heads (`doc::load` leaves no save cursor).
    let base = am.get_heads();
    let outcome = session.receive_checked(&mut am, data, |fork, new| {
        if new.is_empty() {
            return Ok(Vec::new());
        }
        let json = doc::read_json(fork)
            .map_err(|e| Refusal::new(format!("document does not read: {e}")))?;
        let form = cx.validator.partial_form(k.kind, &json).map_err(|e| {
            Refusal::new(format!("the document would not be a valid {}: {e}", k.kind))
        })?;
        let facts = accept::pushed_facts(cx.me, loaded, fcx.peer, &form);
        let after = accept::FormContext {
            facts: &facts,
            ..*fcx
        };
        accept::form_changes(&after, fork, new, &form)
    });
    let fields = match outcome {
        Err(e) => {
            return undecodable(state, name, &k.case, &e);
        }
        Ok(Err(refusal)) => return refused(state, name, &k.case, refusal),
        Ok(Ok(fields)) => fields,
    };
    let waiting = protocol::sync::waits_for_changes(&am);
    if let Some(old) = replaced {
        // The creator rewrote the document in its own name, without what this node wrote into it: this node
        // writes its own values again, into the new generation.
        if let Err(e) = carry_over(cx, k.kind, old, &mut am) {
            tracing::warn!(doc = %name, error = %e, "own values could not be carried into the new generation");
        }
    }
    let mut effects = Vec::new();
    if let Some(change) = Change::since(&mut am, &base) {
        effects.push(Effect::StoreChange {
            key: k.clone(),
            generation,
            change,
            record: Record::ok(
                Operation::Receipt,
                &k.case,
                name,
                fields,
                "ontvangen van partner",
            ),
        });
        effects.push(Effect::Count(Counter::Accepted));
        if k.kind == DocumentKind::Registratie {
            effects.push(Effect::Reindex(k.case.clone()));
        }
        effects.push(Effect::Notify(k.case.clone()));
    }
    if waiting {
        return start_over(state, name, effects);
    }
    effects.push(Effect::Answer {
        doc: WireDoc::Form(k.clone(), generation),
        am: Box::new(am),
        session,
        always: !exists,
        stored: None,
    });
    effects
}

/// A sync message about a projection: from the peer to this node (every field checked against the facts it was
/// made under, [`accept::projection_facts`]), or this node's own projection for the peer, synced back (the peer
/// may not write into it).
fn projection_sync(
    state: &mut PeerState,
    cx: &Context<'_>,
    name: &str,
    wire: WireDoc,
    data: &[u8],
    view: View,
) -> Vec<Effect> {
    tracing::debug!(peer = %state.peer, doc = %name, bytes = data.len(), "projection message");
    let WireDoc::Projection {
        case,
        sender,
        receiver,
        generation,
    } = wire.clone()
    else {
        return Vec::new();
    };
    if sender == *cx.me && receiver == state.peer {
        return own_projection_back(state, cx, name, wire, data, view);
    }
    if receiver != *cx.me || sender != state.peer {
        return vec![not_available(name)];
    }
    let stored = view.projection;
    if stored.as_ref().is_some_and(|s| s.retired) {
        // Withdrawn by its sender: a sync message that overtook the `Forget`, or came after it, must not bring the
        // deleted fields back. New data comes in a new generation.
        tracing::debug!(peer = %state.peer, doc = %name, "data for a withdrawn projection ignored");
        return Vec::new();
    }
    let Some(loaded) = view.case.as_ref() else {
        return vec![not_available(name)];
    };
    let (mut am, mut session) = view
        .doc
        .unwrap_or_else(|| (doc::new_document(cx.me), SyncSession::new()));
    let peer = state.peer.clone();
    let outcome = session.receive_checked(&mut am, data, |fork, new| {
        if crate::ops::touched(fork, new).is_empty() {
            return Ok(Vec::new());
        }
        let content = projection::read(fork, cx.validator);
        let meta = content.meta.as_ref().ok_or_else(|| {
            Refusal::new("a projection without the facts it was made under (_meta)")
        })?;
        let facts = accept::projection_facts(cx.me, &peer, loaded, meta, &content.forms)?;
        accept::projection_changes(cx.policy, &peer, cx.me, &facts, fork, new)
    });
    let fields = match outcome {
        Err(e) => {
            return undecodable(state, name, &case, &e);
        }
        Ok(Err(r)) => return refused(state, name, &case, r),
        Ok(Ok(fields)) => fields,
    };
    let waiting = protocol::sync::waits_for_changes(&am);
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
    let stored_digest = crate::case::snapshot_digest(&record.snapshot);
    let bsn = DocumentKind::Registratie.field("bsn");
    let bsn_arrived = fields.iter().any(|f| Some(*f) == bsn);
    let mut effects = vec![Effect::StoreProjection(record)];
    if changed && !fields.is_empty() {
        effects.push(Effect::Record(Record::ok(
            Operation::Receipt,
            &case,
            name,
            fields,
            "projectie ontvangen",
        )));
        effects.push(Effect::Count(Counter::Accepted));
    }
    // Re-plan also when only the facts (`_meta`) changed: they decide what this node sends on (the phase it
    // declares, a case it learns it relates to). Found by the simulator's convergence check.
    if bsn_arrived {
        effects.push(Effect::Reindex(case.clone()));
    }
    if changed {
        effects.push(Effect::Notify(case));
    }
    if waiting {
        return start_over(state, name, effects);
    }
    effects.push(Effect::Answer {
        doc: wire,
        am: Box::new(am),
        session,
        always: true,
        stored: Some(stored_digest),
    });
    effects
}

/// This node's own projection for the peer, synced back by its receiver: only its sender writes into it.
fn own_projection_back(
    state: &mut PeerState,
    cx: &Context<'_>,
    name: &str,
    wire: WireDoc,
    data: &[u8],
    view: View,
) -> Vec<Effect> {
    let case = wire.case().clone();
    // Our own projection, synced back by its receiver. One this node retired is not answered with data: the
    // receiver still has it (a `Forget` lost or overtaken), so it is told again to delete it.
    if view.projection.as_ref().is_some_and(|p| p.retired) {
        if view.forget_held {
            // Told with the new generation's arrival (`Session::update_projection`); until then not answered.
            return Vec::new();
        }
        return vec![Effect::Send(Message::Forget {
            doc: name.to_string(),
            reason: "this projection was withdrawn; delete it".into(),
        })];
    }
    let Some((mut am, mut session)) = view.doc else {
        return vec![not_available(name)];
    };
    let mine = doc::actor_for(cx.me);
    let outcome = session.receive_checked(&mut am, data, |_, new| {
        if new.iter().any(|c| c.actor_id() != &mine) {
            return Err(Refusal::new("a projection is written by its sender only"));
        }
        Ok(())
    });
    match outcome {
        Ok(Ok(())) => vec![Effect::Answer {
            doc: wire,
            am: Box::new(am),
            session,
            always: true,
            stored: None,
        }],
        Ok(Err(r)) => refused(state, name, &case, r),
        Err(e) => undecodable(state, name, &case, &e),
    }
}

/// A projection withdrawn by its sender: its data and history are deleted; only the facts it was made under (the
/// relations declared, no personal data) stay, so this node still knows how it relates to the case until the
/// sender's next projection arrives.
fn projection_withdrawn(
    state: &PeerState,
    cx: &Context<'_>,
    name: &str,
    case: &CaseId,
    reason: &str,
    view: View,
) -> Vec<Effect> {
    let Some(mut record) = view.projection else {
        return Vec::new();
    };
    if record.retired {
        // Withdrawn before: a sender tells again after a reconnect, in case the first word was lost.
        return Vec::new();
    }
    record.snapshot = projection::facts_only(&record.snapshot, cx.me, cx.validator, cx.now);
    record.sync_state = None;
    record.retired = true;
    tracing::info!(peer = %state.peer, doc = %name, reason = %reason, "projection withdrawn by its sender: deleted");
    vec![
        Effect::StoreProjection(record),
        Effect::Scrub,
        Effect::DropSession(name.to_string()),
        Effect::Record(Record::ok(
            Operation::Receipt,
            case,
            name,
            Vec::new(),
            "projectie ingetrokken en verwijderd",
        )),
        Effect::Reindex(case.clone()),
        Effect::Notify(case.clone()),
    ]
}

/// A document the peer shared whole and withdraws: deleted here, history and all — but only one this node holds
/// because of that peer (the peer created it); a document this node created is its own.
fn document_withdrawn(
    state: &PeerState,
    name: &str,
    (k, generation): (&DocKey, u64),
    reason: &str,
    view: View,
) -> Vec<Effect> {
    let Some((mut am, _)) = view.doc else {
        return Vec::new();
    };
    if view
        .docs
        .iter()
        .any(|d| d.key == *k && d.generation != generation)
    {
        tracing::debug!(peer = %state.peer, doc = %name, "a Forget for another generation than the one held: ignored");
        return Vec::new();
    }
    let (_, creator) = authors_of(&mut am, k.kind);
    if creator != Some(doc::actor_for(&state.peer)) {
        tracing::debug!(peer = %state.peer, doc = %name, "a Forget for a document the peer did not create: ignored");
        return Vec::new();
    }
    tracing::info!(peer = %state.peer, doc = %name, reason = %reason, "document withdrawn by its creator: deleted");
    vec![
        Effect::DeleteDocument(k.clone()),
        Effect::Scrub,
        Effect::DropSession(name.to_string()),
        Effect::Record(Record::ok(
            Operation::Receipt,
            &k.case,
            name,
            Vec::new(),
            "document ingetrokken en verwijderd",
        )),
        Effect::Reindex(k.case.clone()),
        Effect::Notify(k.case.clone()),
    ]
}

/// Whether case document `k` (existing here, created by `creator`) is another partner's instance than `peer`'s: a
/// reactie or gemeente form of another partner, or a melding someone else created.
fn owned_by_another(k: &DocKey, creator: Option<&automerge::ActorId>, peer: &PartnerId) -> bool {
    match k.kind {
        DocumentKind::Reactie | DocumentKind::Gemeente => k.instance != peer.to_string(),
        DocumentKind::Melding | DocumentKind::Huurverloop | DocumentKind::Ondersteuningsverloop => {
            creator.is_some_and(|c| *c != doc::actor_for(peer))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effects(case: &CaseId) -> Vec<Effect> {
        vec![
            Effect::Record(Record::ok(
                Operation::Receipt,
                case,
                "p/x",
                Vec::new(),
                "projectie ontvangen",
            )),
            Effect::Record(Record::security_event(
                Some(case),
                None,
                Vec::new(),
                "refused",
            )),
            Effect::Send(Message::NotAvailable { doc: "d".into() }),
        ]
    }

    fn foreign(effects: &[Effect]) -> Vec<Option<TraceParent>> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Record(r) | Effect::StoreChange { record: r, .. } => {
                    Some(r.foreign.clone())
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_well_formed_traceparent_links_the_receipts_only() {
        let state = PeerState::new("zorgaanbieder:kwadrant".parse().unwrap());
        let case = CaseId::random();
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let out = link_receipts(&state, effects(&case), Some(tp));
        let want = TraceParent::parse(tp).unwrap();
        assert_eq!(
            foreign(&out),
            [Some(want), None],
            "the refusal is not linked"
        );
        assert_eq!(out.len(), 3, "nothing is added or dropped");
    }

    #[test]
    fn a_malformed_traceparent_is_left_out_and_the_message_still_taken() {
        let state = PeerState::new("zorgaanbieder:kwadrant".parse().unwrap());
        let case = CaseId::random();
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "bsn 123456782",
        ] {
            let out = link_receipts(&state, effects(&case), Some(bad));
            assert_eq!(foreign(&out), [None, None], "{bad:?}");
            assert_eq!(out.len(), 3);
        }
        assert_eq!(
            foreign(&link_receipts(&state, effects(&case), None)),
            [None, None]
        );
    }
}
