//! The conformance oracle: what every node stores, history included, against what the *policy* lets it hold.
//!
//! [`crate::crosscheck`] compares the real nodes with an in-memory federation that runs the same
//! `node::sync::plan`, so a wrong `plan` is wrong in both and invisible. This check is independent of the sharing
//! code (DESIGN.md, "checks independent of what they check"): it never asks a node, or `plan`, what it shares. It
//! computes what is allowed from the policy itself and the case's authoritative facts.
//!
//! - **Ground truth.** Per case, the forms as their authors wrote them: for every case document, the changes each
//!   node made under its own Automerge actor ([`node::doc::actor_for`]) in its own copy, merged over all nodes.
//!   [`policies::CaseDocuments::facts`] over that truth gives the authoritative facts: phase, consent, BW/MO and
//!   every partner's relations. Nothing a peer *declared* (a projection's `_meta`) counts.
//! - **What a node holds.** Every stored document of the case — case documents and projections, sent and
//!   received, retired ones included — is decoded change by change (`get_changes(&[])`, every operation resolved
//!   to its field), so a value that was overwritten or deleted is still seen: Automerge keeps it.
//! - **What it may hold.** A value node `N` holds is permitted iff
//!   - `N` wrote it itself (the change's actor is `N`'s, in a case document) and a write rule lets `N` write the
//!     field in a relation it has, or had, to the case; or
//!   - it is in a projection `N` wrote for a peer, and `N` may hold the field (writes it, or may receive it); or
//!   - `field ∈ policy.receivable(N's role, N's relations, consent, phase, voorziening)` under the truth facts
//!     *now* (a field received lawfully in an earlier phase must be gone once no flow allows it: the sender
//!     rotates projections);
//!   - and never for another same-role partner's instance (`aanmeldbericht/corporatie:X`, `reactie/corporatie:X`,
//!     `gemeente/gemeente:X` at a different partner of that role), nor — whatever its role — for a voorlegging
//!     addressed to another partner (`voorlegging/<melder>:<melding>`, the Transferpunt's answer to one melder).
//!
//!   Consent withdrawn ([`OnWithdrawal`], the policy's `[consent] on_withdrawal`): with `forget` every field only
//!   a consent lets travel must be gone, history included. With `keep`, such a field stays permitted when the
//!   change that set it was made before the withdrawal; the oracle knows which changes those were when it watched
//!   the case while consent held ([`Oracle::observe`] after every event). When it did not, it cannot date a
//!   change, checks nothing of these fields and counts them in [`Report::undated_keep`].
//! - **Also:** a change in a received projection must be by its sender; a change in a case document by a
//!   partner that may write the field; and every node's data directory is searched for the truth's distinctive
//!   values (canaries) that no field the node may hold carries ([`Oracle::canaries`]).
//!
//! The oracle also counts which flows and write rules of the policy a run exercised ([`Coverage`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{ActorId, AutoCommit, Change, ChangeHash, ScalarValue};
use node::projection::{META, parse_section};
use node::store::{CaseId, Store};
use policies::form::Form;
use policies::model::FieldType;
use policies::{
    CaseDocuments, CaseFacts, DocumentKind, Fase, FieldId, FieldSet, Gemeenten, PartnerId, Policy,
    Relation, Validator,
};
use serde_json::Value as Json;

use crate::live::{LiveNet, files_of};

/// What the policy says about data a node still holds after the client withdraws consent (`[consent]
/// on_withdrawal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnWithdrawal {
    /// What was received lawfully before the withdrawal may stay; nothing may be added after it.
    Keep,
    /// Everything only a consent let travel must be gone, history included (the default: "a withdrawal of
    /// consent wins at once", DESIGN.md).
    Forget,
}

impl OnWithdrawal {
    /// The setting of a policy file: `[consent] on_withdrawal = "keep" | "forget"`, [`OnWithdrawal::Forget`] when
    /// absent or unreadable.
    pub fn of_policy_text(text: &str) -> OnWithdrawal {
        let value = text.parse::<toml::Table>().ok().and_then(|t| {
            t.get("consent")?
                .get("on_withdrawal")?
                .as_str()
                .map(str::to_string)
        });
        match value.as_deref() {
            Some("keep") => OnWithdrawal::Keep,
            _ => OnWithdrawal::Forget,
        }
    }
}

/// Why a value a node holds is not permitted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// No flow lets a partner of this role, in these relations, receive the field under the truth facts.
    NotReceivable {
        /// The node's relations to the case (from the truth).
        relations: Vec<Relation>,
        /// The phase.
        phase: Fase,
        /// Whether the client consents now.
        consent: bool,
    },
    /// Only the client's consent let the field travel; consent was withdrawn and the policy says `forget`.
    ConsentWithdrawn,
    /// Only the client's consent let the field travel, and this change was made after it was withdrawn.
    ChangedAfterWithdrawal,
    /// Another partner of the node's own role's instance document.
    OtherPartnersInstance {
        /// Whose instance it is.
        owner: PartnerId,
    },
    /// The node wrote the field itself, but no write rule lets it in any relation it has or had.
    NotWritable {
        /// The node's relations.
        relations: Vec<Relation>,
    },
    /// A partner (not the node) wrote the field in a case document, and no write rule lets it.
    ForgedWrite {
        /// Who the change's actor says wrote it.
        author: String,
    },
    /// A change in a received projection not made by the projection's sender.
    NotBySender {
        /// The projection's sender.
        sender: String,
    },
    /// A field or section the data model does not have.
    UnknownField,
    /// A case document or projection of a case none of the federation's partners wrote anything of.
    UnknownCase,
    /// A distinctive value of the case found in the node's data directory, where no field it may hold carries it.
    Canary {
        /// The value (synthetic test data).
        value: String,
    },
}

impl Reason {
    fn kind(&self) -> &'static str {
        match self {
            Reason::NotReceivable { .. } => "not-receivable",
            Reason::ConsentWithdrawn => "consent-withdrawn",
            Reason::ChangedAfterWithdrawal => "after-withdrawal",
            Reason::OtherPartnersInstance { .. } => "other-instance",
            Reason::NotWritable { .. } => "not-writable",
            Reason::ForgedWrite { .. } => "forged-write",
            Reason::NotBySender { .. } => "not-by-sender",
            Reason::UnknownField => "unknown-field",
            Reason::UnknownCase => "unknown-case",
            Reason::Canary { .. } => "canary",
        }
    }
}

fn names(rels: &[Relation]) -> String {
    rels.iter().map(|r| r.name()).collect::<Vec<_>>().join(", ")
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NotReceivable {
                relations,
                phase,
                consent,
            } => write!(
                f,
                "no flow lets it receive this field (relations: {}; phase {}; consent {})",
                names(relations),
                phase.name(),
                if *consent { "yes" } else { "no" }
            ),
            Reason::ConsentWithdrawn => write!(
                f,
                "only consent let it travel, consent was withdrawn and the policy says on_withdrawal = forget"
            ),
            Reason::ChangedAfterWithdrawal => write!(
                f,
                "only consent let it travel, and this change was made after consent was withdrawn"
            ),
            Reason::OtherPartnersInstance { owner } => {
                write!(
                    f,
                    "it is {owner}'s instance; partners of one role never hold each other's"
                )
            }
            Reason::NotWritable { relations } => write!(
                f,
                "the node wrote it itself, but no write rule lets it (relations: {})",
                names(relations)
            ),
            Reason::ForgedWrite { author } => {
                write!(f, "written by {author}, whom no write rule lets write it")
            }
            Reason::NotBySender { sender } => {
                write!(
                    f,
                    "a change in a projection from {sender} not made by {sender}"
                )
            }
            Reason::UnknownField => write!(f, "the data model has no such field"),
            Reason::UnknownCase => write!(
                f,
                "no partner of the federation wrote anything of this case"
            ),
            Reason::Canary { value } => write!(
                f,
                "its data directory holds {value:?}, which no field it may hold carries"
            ),
        }
    }
}

/// A value a node holds that the policy does not let it hold.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// The node.
    pub node: PartnerId,
    /// The case.
    pub case: CaseId,
    /// Where: `case document gemeente/gemeente:GM0080`, `projection from transferpunt:sdf (generation 1) section
    /// melding/x`, `data directory`.
    pub document: String,
    /// The field (`melding.omschrijving`), or the section or value searched.
    pub field: String,
    /// Who made the change (a partner id, or the actor's hex when no partner has it); `-` for a file search.
    pub change_actor: String,
    /// Why it is not permitted.
    pub reason: Reason,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} holds {} in {} of case {} (change by {}): {}",
            self.node,
            self.field,
            self.document,
            self.case.as_str(),
            self.change_actor,
            self.reason
        )
    }
}

impl Violation {
    /// What makes two reports of one violation the same (the change that set it aside).
    fn key(&self) -> (String, String, String, String, &'static str) {
        (
            self.node.to_string(),
            self.case.as_str().to_string(),
            self.document.clone(),
            self.field.clone(),
            self.reason.kind(),
        )
    }
}

/// Reading the nodes' stores failed.
#[derive(Debug, thiserror::Error)]
pub enum OracleError {
    /// A store query failed.
    #[error("{node}: reading the store: {cause}")]
    Store {
        /// The node.
        node: String,
        /// Why.
        #[source]
        cause: node::store::StoreError,
    },
    /// A stored document does not load as Automerge.
    #[error("{node}: {what} does not load: {cause}")]
    Load {
        /// The node.
        node: String,
        /// Which document.
        what: String,
        /// Why.
        #[source]
        cause: node::doc::DocError,
    },
}

/// Which flows and write rules of the policy a run exercised.
///
/// A flow is *exercised* by a (case, sender, receiver) when, under the case's truth facts, it applies to the pair
/// and the sender may hold a field of it the case has; it is *used* when the receiver actually stores such a value
/// from that sender. A write rule is exercised by a (case, author, document) whose author wrote a field under it.
/// Exercised counts say what the population put to the test; a flow exercised but never used is one the nodes
/// never deliver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Per flow name (every flow of the policy, zero when never exercised): (case, sender, receiver) triples.
    pub flows: BTreeMap<String, usize>,
    /// Per flow name: (case, sender, receiver) triples where the receiver stores a value under it.
    pub flows_used: BTreeMap<String, usize>,
    /// Per write rule name (every rule, zero when never exercised): (case, author, document) triples.
    pub writes: BTreeMap<String, usize>,
}

impl Coverage {
    /// The flows and write rules never exercised.
    pub fn missing(&self) -> Vec<String> {
        self.flows
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(name, _)| format!("flow {name:?}"))
            .chain(
                self.writes
                    .iter()
                    .filter(|(_, n)| **n == 0)
                    .map(|(name, _)| format!("write rule {name:?}")),
            )
            .collect()
    }
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flows = self.flows.values().filter(|n| **n > 0).count();
        let used = self.flows_used.values().filter(|n| **n > 0).count();
        let writes = self.writes.values().filter(|n| **n > 0).count();
        writeln!(
            f,
            "Coverage: {flows} of {} flows exercised ({used} used by the nodes), {writes} of {} write rules exercised.",
            self.flows.len(),
            self.writes.len()
        )?;
        writeln!(f, "  kind        exercised  used  name")?;
        for (name, n) in &self.flows {
            let used = self.flows_used.get(name).copied().unwrap_or(0);
            writeln!(f, "  flow        {n:>9}  {used:>4}  {name}")?;
        }
        for (name, n) in &self.writes {
            writeln!(f, "  write rule  {n:>9}     -  {name}")?;
        }
        Ok(())
    }
}

/// What a check found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every violation, each once (the first change that showed it), in order.
    pub violations: Vec<Violation>,
    /// Values checked (one operation of one change at one node).
    pub values: usize,
    /// Values a `keep` policy may let stay after a withdrawal whose change the oracle could not date (it did not
    /// watch the case while consent held): not checked.
    pub undated_keep: usize,
}

/// One operation that sets a value, resolved to the path of map keys from the root.
#[derive(Debug, Clone)]
struct SetOp {
    hash: ChangeHash,
    actor: ActorId,
    path: Vec<String>,
    /// The value, for scalars.
    value: Option<ScalarValue>,
}

/// A stored document of a node, decoded.
#[derive(Debug, Clone)]
enum Place {
    Document {
        kind: DocumentKind,
        instance: String,
    },
    Projection {
        sender: String,
        receiver: String,
        generation: u64,
        retired: bool,
    },
}

#[derive(Debug, Clone)]
struct Held {
    place: Place,
    changes: Vec<Change>,
    ops: Vec<SetOp>,
}

/// How `check_held` names a stored document, and which way it travelled.
struct PlaceView {
    /// The document as a report names it.
    name: String,
    /// For a projection from a peer: that peer, who must be the author of every change in it.
    incoming_from: Option<String>,
    /// Whether this is a projection the node made for a peer.
    outgoing: bool,
}

impl PlaceView {
    fn of(me: &PartnerId, place: &Place) -> Self {
        match place {
            Place::Document { kind, instance } => PlaceView {
                name: format!(
                    "case document {}",
                    node::projection::section_name(*kind, instance)
                ),
                incoming_from: None,
                outgoing: false,
            },
            Place::Projection {
                sender,
                receiver,
                generation,
                retired,
            } => {
                let state = if *retired { ", retired" } else { "" };
                if sender == &me.to_string() {
                    PlaceView {
                        name: format!("projection to {receiver} (generation {generation}{state})"),
                        incoming_from: None,
                        outgoing: true,
                    }
                } else {
                    PlaceView {
                        name: format!("projection from {sender} (generation {generation}{state})"),
                        incoming_from: Some(sender.clone()),
                        outgoing: false,
                    }
                }
            }
        }
    }
}

/// A value-setting operation resolved to the field it sets.
struct ResolvedValue {
    kind: DocumentKind,
    instance: String,
    field_name: String,
    /// The projection section it sits in; `None` in a case document.
    section: Option<String>,
}

/// What the oracle knows of one case and one node, for judging each value the node holds of it.
struct HeldContext<'a> {
    me: &'a PartnerId,
    case: &'a CaseId,
    /// The actor under which `me` writes.
    mine: ActorId,
    truth: CaseTruth,
    by_actor: HashMap<ActorId, PartnerId>,
    /// What `me` may receive now, and what it could with consent.
    now: FieldSet,
    with_consent: FieldSet,
    /// Consent was given once and is now withdrawn.
    withdrawn: bool,
    /// The changes seen while consent held, if the oracle watched the case then.
    before: Option<BTreeSet<ChangeHash>>,
    my_writes: FieldSet,
    writes_of: HashMap<ActorId, FieldSet>,
}

impl HeldContext<'_> {
    /// A partner's name for an actor, or its hex id when no known partner writes under it.
    fn actor_name(&self, a: &ActorId) -> String {
        self.by_actor
            .get(a)
            .map_or_else(|| a.to_hex_string(), PartnerId::to_string)
    }

    fn violation(&self, document: &str, field: String, op: &SetOp, reason: Reason) -> Violation {
        Violation {
            node: self.me.clone(),
            case: self.case.clone(),
            document: document.to_string(),
            field,
            change_actor: self.actor_name(&op.actor),
            reason,
        }
    }

    /// Resolve `op` to the field it sets. `None` for an op that sets no field's value: those with a section or
    /// field name no schema knows are reported into `out`.
    fn resolve_op(
        &self,
        place: &Place,
        where_: &str,
        op: &SetOp,
        out: &mut Vec<Violation>,
    ) -> Option<ResolvedValue> {
        match place {
            Place::Document { kind, instance } => Some(ResolvedValue {
                kind: *kind,
                instance: instance.clone(),
                field_name: op.path.first()?.clone(),
                section: None,
            }),
            Place::Projection { .. } => {
                let section = op.path.first()?;
                if section == META {
                    return None;
                }
                let Some(f) = op.path.get(1) else {
                    // Making the section's map sets no value of a field.
                    if parse_section(section).is_none() {
                        out.push(self.violation(where_, section.clone(), op, Reason::UnknownField));
                    }
                    return None;
                };
                let Some((kind, instance)) = parse_section(section) else {
                    out.push(self.violation(
                        where_,
                        format!("{section}.{f}"),
                        op,
                        Reason::UnknownField,
                    ));
                    return None;
                };
                Some(ResolvedValue {
                    kind,
                    instance: instance.to_string(),
                    field_name: f.clone(),
                    section: Some(section.clone()),
                })
            }
        }
    }

    /// Turn a resolved value into one to judge, or report it (into `out`) when no judging is needed to reject it:
    /// a field no schema knows, a case the oracle never saw, or another same-role partner's instance.
    fn admit_value<'v>(
        &self,
        place: &'v Place,
        view: &'v PlaceView,
        op: &'v SetOp,
        resolved: ResolvedValue,
        out: &mut Vec<Violation>,
    ) -> Option<HeldValue<'v>> {
        let document = match &resolved.section {
            Some(s) => format!("{} section {s}", view.name),
            None => view.name.clone(),
        };
        let kind = resolved.kind;
        let Some(field) = kind.field(&resolved.field_name) else {
            out.push(self.violation(
                &document,
                format!("{}.{}", kind.name(), resolved.field_name),
                op,
                Reason::UnknownField,
            ));
            return None;
        };
        let qualified = field.qualified_name();
        if self.truth.is_empty() {
            out.push(self.violation(&document, qualified, op, Reason::UnknownCase));
            return None;
        }
        // Instance rule: never another same-role partner's instance.
        if matches!(
            kind,
            DocumentKind::Aanmeldbericht | DocumentKind::Reactie | DocumentKind::Gemeente
        ) && let Ok(owner) = resolved.instance.parse::<PartnerId>()
            && owner.role() == self.me.role()
            && &owner != self.me
        {
            out.push(self.violation(
                &document,
                qualified,
                op,
                Reason::OtherPartnersInstance { owner },
            ));
            return None;
        }
        // A voorlegging is the Transferpunt's answer to one partner's melding (Bijlage 1, 7g): only its addressee
        // may hold it, whatever its role.
        if kind == DocumentKind::Voorlegging
            && self.me.role() != policies::Role::Transferpunt
            && let Some(owner) = policies::model::voorlegging_addressee(&resolved.instance)
            && &owner != self.me
        {
            out.push(self.violation(
                &document,
                qualified,
                op,
                Reason::OtherPartnersInstance { owner },
            ));
            return None;
        }
        Some(HeldValue {
            place,
            view,
            op,
            field,
            document,
            qualified,
        })
    }
}

/// A held value of a known field of a known case, ready to be judged.
struct HeldValue<'v> {
    place: &'v Place,
    view: &'v PlaceView,
    op: &'v SetOp,
    field: FieldId,
    /// The document as a report names it, down to the projection section.
    document: String,
    qualified: String,
}

impl HeldValue<'_> {
    fn violation(&self, ctx: &HeldContext, reason: Reason) -> Violation {
        ctx.violation(&self.document, self.qualified.clone(), self.op, reason)
    }
}

/// Every operation of every change of `doc` that sets a value (a scalar or a new object), with its path.
fn set_ops(changes: &[Change]) -> Vec<SetOp> {
    let mut parents: HashMap<OpId, (ObjectId, Option<String>)> = HashMap::new();
    let decoded: Vec<_> = changes.iter().map(|c| (c.hash(), c.decode())).collect();
    let key_name = |k: &Key| match k {
        Key::Map(s) => Some(s.to_string()),
        Key::Seq(_) => None,
    };
    for (_, e) in &decoded {
        let start = e.start_op.get();
        for (i, op) in e.operations.iter().enumerate() {
            if let OpType::Make(_) = op.action {
                parents.insert(
                    OpId(start + i as u64, e.actor_id.clone()),
                    (op.obj.clone(), key_name(&op.key)),
                );
            }
        }
    }
    let mut out = Vec::new();
    for (hash, e) in &decoded {
        for op in &e.operations {
            let value = match &op.action {
                OpType::Put(v) => Some(v.clone()),
                OpType::Make(_) => None,
                _ => continue,
            };
            let mut path: Vec<String> = key_name(&op.key).into_iter().collect();
            let mut current = op.obj.clone();
            let mut guard = 0;
            let mut traced = true;
            while let ObjectId::Id(id) = current {
                let Some((parent, k)) = parents.get(&id) else {
                    traced = false;
                    break;
                };
                path.extend(k.clone());
                current = parent.clone();
                guard += 1;
                if guard > 64 {
                    traced = false;
                    break;
                }
            }
            path.reverse();
            if !traced {
                // An object created by a change that is not here: attribute it to "?" so it is reported.
                path.insert(0, "?".into());
            }
            out.push(SetOp {
                hash: *hash,
                actor: e.actor_id.clone(),
                path,
                value,
            });
        }
    }
    out
}

/// The authoritative forms of one case and what follows from them.
#[derive(Debug, Clone)]
pub struct CaseTruth {
    /// The forms as their authors wrote them, by section (`registratie`, `reactie/corporatie:elkien`).
    pub forms: BTreeMap<String, Form>,
    /// Who wrote each section (partners whose own changes it holds).
    pub authors: BTreeMap<String, BTreeSet<PartnerId>>,
    /// The facts, for every partner of the federation.
    pub facts: CaseFacts,
    /// Whether the registratie's history ever set consent.
    pub consent_ever: bool,
}

impl CaseTruth {
    /// Whether a partner wrote anything of the case.
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }
}

#[derive(Debug, Clone, Default)]
struct CaseHistory {
    relations_ever: BTreeMap<PartnerId, BTreeSet<Relation>>,
    /// Every change stored anywhere for the case when the oracle last looked while consent held.
    while_consent: Option<BTreeSet<ChangeHash>>,
}

/// The oracle over one federation: the policy, and what it saw of each case over a run.
#[derive(Debug)]
pub struct Oracle {
    policy: Policy,
    on_withdrawal: OnWithdrawal,
    gemeenten: Gemeenten,
    /// The federation's one Transferpunt, once seen: another partner with that role relates to no case.
    transferpunt: Option<PartnerId>,
    /// Partners outside the live federation whose actors a report should name (rogue peers).
    others: Vec<PartnerId>,
    history: BTreeMap<CaseId, CaseHistory>,
    truths: BTreeMap<CaseId, CaseTruth>,
    flow_hits: BTreeSet<(usize, String, String, String)>,
    scenario_flows: BTreeSet<(usize, String, String, String)>,
    write_hits: BTreeSet<(usize, String, String, String)>,
    seen: BTreeSet<(String, String, String, String, &'static str)>,
}

/// Everything the nodes store of some cases, decoded.
type Snapshot = BTreeMap<PartnerId, BTreeMap<CaseId, Vec<Held>>>;

async fn held_of(store: &Store, me: &PartnerId, case: &CaseId) -> Result<Vec<Held>, OracleError> {
    let serr = |source| OracleError::Store {
        node: me.to_string(),
        cause: source,
    };
    let mut out = Vec::new();
    for meta in store.list_documents(case).await.map_err(serr)? {
        let Some(stored) = store.load_document(&meta.key).await.map_err(serr)? else {
            continue;
        };
        let mut am = node::doc::load(&stored.snapshot, stored.changes.iter().map(Vec::as_slice))
            .map_err(|source| OracleError::Load {
                node: me.to_string(),
                what: format!("{} {}", meta.key.kind, meta.key.instance),
                cause: source,
            })?;
        let changes = am.get_changes(&[]);
        out.push(Held {
            place: Place::Document {
                kind: meta.key.kind,
                instance: meta.key.instance.clone(),
            },
            ops: set_ops(&changes),
            changes,
        });
    }
    for p in store.projections_of_case(case).await.map_err(serr)? {
        let mut am = node::doc::load(&p.snapshot, []).map_err(|source| OracleError::Load {
            node: me.to_string(),
            what: p.wire_id.clone(),
            cause: source,
        })?;
        let changes = am.get_changes(&[]);
        out.push(Held {
            place: Place::Projection {
                sender: p.sender.clone(),
                receiver: p.receiver.clone(),
                generation: p.generation,
                retired: p.retired,
            },
            ops: set_ops(&changes),
            changes,
        });
    }
    Ok(out)
}

/// The cases a node stores.
async fn cases_of(store: &Store, me: &PartnerId) -> Result<Vec<CaseId>, OracleError> {
    Ok(store
        .list_cases()
        .await
        .map_err(|source| OracleError::Store {
            node: me.to_string(),
            cause: source,
        })?
        .into_iter()
        .map(|c| c.id)
        .collect())
}

/// Read what the running nodes of `net` store of `cases` (every case any node stores when `None`).
async fn snapshot(net: &LiveNet, cases: Option<&[CaseId]>) -> Result<Snapshot, OracleError> {
    let mut out = Snapshot::new();
    for n in net.nodes.values() {
        let Some(node) = n.node.as_ref() else {
            continue;
        };
        let store = node.store();
        let wanted = match cases {
            Some(c) => c.to_vec(),
            None => cases_of(store, &n.id).await?,
        };
        let mut per = BTreeMap::new();
        for case in wanted {
            per.insert(case.clone(), held_of(store, &n.id, &case).await?);
        }
        out.insert(n.id.clone(), per);
    }
    Ok(out)
}

impl Oracle {
    /// An oracle for `policy`, with its consent-withdrawal setting.
    pub fn new(policy: Policy, on_withdrawal: OnWithdrawal) -> Oracle {
        Oracle {
            policy,
            on_withdrawal,
            gemeenten: Gemeenten::friesland(),
            transferpunt: None,
            others: Vec::new(),
            history: BTreeMap::new(),
            truths: BTreeMap::new(),
            flow_hits: BTreeSet::new(),
            scenario_flows: BTreeSet::new(),
            write_hits: BTreeSet::new(),
            seen: BTreeSet::new(),
        }
    }

    /// The shipped covenant policy, with the setting its file has.
    pub fn covenant() -> Oracle {
        Oracle::new(
            Policy::covenant(),
            OnWithdrawal::of_policy_text(policies::policy::COVENANT_POLICY),
        )
    }

    /// Name these partners' Automerge actors in reports (partners outside the live federation, such as rogue
    /// peers); otherwise an actor no node of the federation has is shown in hex.
    pub fn name_partners(&mut self, partners: impl IntoIterator<Item = PartnerId>) {
        self.others.extend(partners);
    }

    /// The truth of a case as last computed.
    pub fn truth(&self, case: &CaseId) -> Option<&CaseTruth> {
        self.truths.get(case)
    }

    /// Check `cases` (every case of every node when `None`) at every running node of `net`, and remember what was
    /// seen (relations partners had, the changes that existed while consent held) for later checks. Returns the
    /// violations not reported by an earlier call.
    pub async fn observe(
        &mut self,
        net: &LiveNet,
        cases: Option<&[CaseId]>,
    ) -> Result<Report, OracleError> {
        let snap = snapshot(net, cases).await?;
        let partners: Vec<PartnerId> = net.nodes.values().map(|n| n.id.clone()).collect();
        if let [tp] = partners
            .iter()
            .filter(|p| p.role() == policies::Role::Transferpunt)
            .collect::<Vec<_>>()[..]
        {
            self.transferpunt = Some(tp.clone());
        }
        let case_ids: BTreeSet<CaseId> = snap.values().flat_map(|m| m.keys().cloned()).collect();
        let mut report = Report::default();
        for case in &case_ids {
            let truth = truth_of(&snap, case, &partners, &self.gemeenten);
            let hist = self.history.entry(case.clone()).or_default();
            for p in &partners {
                let ever = hist.relations_ever.entry(p.clone()).or_default();
                ever.extend(truth.facts.relations_of(p));
                // A corporatie that refused was the assigned one (that is what `eerdere` means).
                if ever.contains(&Relation::EerdereCorporatie) {
                    ever.insert(Relation::ToegewezenCorporatie);
                }
                if ever.len() > 1 {
                    ever.remove(&Relation::Geen);
                }
            }
            self.truths.insert(case.clone(), truth);
            self.exercise(case, &partners);
            for (me, per) in &snap {
                if let Some(held) = per.get(case) {
                    let found = self.check_held(me, case, held, &mut report);
                    for v in found {
                        if self.seen.insert(v.key()) {
                            report.violations.push(v);
                        }
                    }
                }
            }
            // After the check: the changes that exist now were made while consent held, if it holds.
            let truth = &self.truths[case];
            if truth.facts.consent {
                let all: BTreeSet<ChangeHash> = snap
                    .values()
                    .filter_map(|m| m.get(case))
                    .flatten()
                    .flat_map(|h| h.changes.iter().map(Change::hash))
                    .collect();
                self.history
                    .get_mut(case)
                    .expect("recorded above")
                    .while_consent = Some(all);
            }
        }
        Ok(report)
    }

    /// Check one node's stores for `cases` (all its cases when `None`) against the truth the oracle last
    /// computed for them (an empty truth for a case it never saw: nothing is permitted). Nothing is remembered.
    pub async fn check_node(
        &self,
        net: &LiveNet,
        node: &str,
        cases: Option<&[CaseId]>,
    ) -> Result<Vec<Violation>, OracleError> {
        let n = net.get(node);
        let store = n.node().store();
        let wanted = match cases {
            Some(c) => c.to_vec(),
            None => cases_of(store, &n.id).await?,
        };
        let mut report = Report::default();
        let mut out = Vec::new();
        // Only reading: the coverage of a one-off check is not the run's.
        let mut scratch = self.scratch();
        for case in wanted {
            let held = held_of(store, &n.id, &case).await?;
            scratch
                .truths
                .entry(case.clone())
                .or_insert_with(|| truth_of(&Snapshot::new(), &case, &[], &self.gemeenten));
            out.extend(scratch.check_held(&n.id, &case, &held, &mut report));
        }
        out.sort();
        out.dedup_by(|a, b| a.key() == b.key());
        Ok(out)
    }

    /// Check every case of every running node, remembering what was seen ([`Oracle::observe`] over all cases),
    /// and search every data directory for canaries ([`Oracle::canaries`]). Returns every violation this call
    /// found (also those an earlier call reported).
    pub async fn check_federation(&mut self, net: &LiveNet) -> Result<Report, OracleError> {
        self.seen.clear();
        let mut report = self.observe(net, None).await?;
        report.violations.extend(self.canaries(net));
        Ok(report)
    }

    /// Check a document a partner outside the live federation (a rogue peer driven by hand) received under the wire
    /// name `wire` (`c/<case>/<kind>[/<instance>]` or `p/<case>/<sender>/<receiver>/<generation>`), against the
    /// truth the oracle last computed for its case. A name that does not parse is checked as nothing.
    pub fn check_received(
        &self,
        me: &PartnerId,
        wire: &str,
        doc: &mut AutoCommit,
    ) -> Vec<Violation> {
        let Some(parsed) = node::sync::wire::WireDoc::parse(wire) else {
            return Vec::new();
        };
        let case = parsed.case().clone();
        let place = match parsed {
            node::sync::wire::WireDoc::Form(k, _) => Place::Document {
                kind: k.kind,
                instance: k.instance,
            },
            node::sync::wire::WireDoc::Projection {
                sender,
                receiver,
                generation,
                ..
            } => Place::Projection {
                sender: sender.to_string(),
                receiver: receiver.to_string(),
                generation,
                retired: false,
            },
        };
        let changes = doc.get_changes(&[]);
        let held = [Held {
            place,
            ops: set_ops(&changes),
            changes,
        }];
        let mut scratch = self.scratch();
        scratch
            .truths
            .entry(case.clone())
            .or_insert_with(|| truth_of(&Snapshot::new(), &case, &[], &self.gemeenten));
        scratch.check_held(me, &case, &held, &mut Report::default())
    }

    /// A copy for one-off checks: same truth and history, its own coverage.
    fn scratch(&self) -> Oracle {
        Oracle {
            flow_hits: BTreeSet::new(),
            scenario_flows: BTreeSet::new(),
            write_hits: BTreeSet::new(),
            seen: BTreeSet::new(),
            history: self.history.clone(),
            truths: self.truths.clone(),
            policy: self.policy.clone(),
            on_withdrawal: self.on_withdrawal,
            gemeenten: self.gemeenten.clone(),
            transferpunt: self.transferpunt.clone(),
            others: self.others.clone(),
        }
    }

    /// Record which flows the truth of a case puts to the test: for every flow, every (sender, receiver) pair of
    /// `partners` it applies to where the sender may hold a field of it the case has.
    fn exercise(&mut self, case: &CaseId, partners: &[PartnerId]) {
        let truth = &self.truths[case];
        let facts = &truth.facts;
        let mut hits = Vec::new();
        for (i, flow) in self.policy.flows.iter().enumerate() {
            if !flow
                .conditions
                .hold(facts.consent, facts.phase, facts.voorziening)
            {
                continue;
            }
            for from in partners.iter().filter(|p| p.role() == flow.from) {
                let from_rels = self.rels(facts, from);
                if !flow.from_relations.is_empty()
                    && !from_rels.iter().any(|r| flow.from_relations.contains(r))
                {
                    continue;
                }
                for to in partners
                    .iter()
                    .filter(|p| p.role() == flow.to && *p != from)
                {
                    if !self
                        .rels(facts, to)
                        .iter()
                        .any(|r| flow.relations.contains(r))
                    {
                        continue;
                    }
                    let carries = truth.forms.iter().any(|(section, form)| {
                        form.field_ids().any(|f| {
                            flow.fields.contains(f)
                                && self.may_hold(truth, from, section, f)
                                && self.may_hold(truth, to, section, f)
                        })
                    });
                    if carries {
                        hits.push((
                            i,
                            case.as_str().to_string(),
                            from.to_string(),
                            to.to_string(),
                        ));
                    }
                }
            }
        }
        self.scenario_flows.extend(hits);
    }

    /// Which flows and write rules the checks so far saw used.
    pub fn coverage(&self) -> Coverage {
        let mut c = Coverage::default();
        for (i, f) in self.policy.flows.iter().enumerate() {
            let used = self.flow_hits.iter().filter(|h| h.0 == i).count();
            *c.flows_used.entry(f.name.clone()).or_default() += used;
            let n = self.scenario_flows.iter().filter(|h| h.0 == i).count();
            *c.flows.entry(f.name.clone()).or_default() += n;
        }
        for (i, w) in self.policy.writes.iter().enumerate() {
            let n = self.write_hits.iter().filter(|h| h.0 == i).count();
            *c.writes.entry(w.name.clone()).or_default() += n;
        }
        c
    }

    /// A partner's relations to a case under the truth facts. The covenant has one Transferpunt: a partner with
    /// that role that is not the federation's relates to nothing (the policy's own rule, "the Transferpunt always
    /// relates", is about the one).
    fn rels(&self, facts: &CaseFacts, p: &PartnerId) -> Vec<Relation> {
        if p.role() == policies::Role::Transferpunt
            && self.transferpunt.as_ref().is_some_and(|t| t != p)
        {
            return vec![Relation::Geen];
        }
        facts.relations_of(p)
    }

    /// The relations a partner has, or had while the oracle watched.
    fn relations_ever(&self, case: &CaseId, p: &PartnerId) -> Vec<Relation> {
        let mut rels: BTreeSet<Relation> =
            self.rels(&self.truths[case].facts, p).into_iter().collect();
        if let Some(h) = self.history.get(case).and_then(|h| h.relations_ever.get(p)) {
            rels.extend(h.iter().copied());
        }
        if rels.contains(&Relation::EerdereCorporatie) {
            rels.insert(Relation::ToegewezenCorporatie);
        }
        if rels.len() > 1 {
            rels.remove(&Relation::Geen);
        }
        rels.into_iter().collect()
    }

    fn writable_ever(&self, case: &CaseId, p: &PartnerId) -> FieldSet {
        self.policy
            .writable(p.role(), &self.relations_ever(case, p))
    }

    fn receivable(&self, facts: &CaseFacts, p: &PartnerId, consent: bool) -> FieldSet {
        self.policy.receivable(
            p.role(),
            &self.rels(facts, p),
            consent,
            facts.phase,
            facts.voorziening,
        )
    }

    /// Check what `me` holds of `case`: every value set by any change in any stored document.
    fn check_held(
        &mut self,
        me: &PartnerId,
        case: &CaseId,
        held: &[Held],
        report: &mut Report,
    ) -> Vec<Violation> {
        let ctx = self.held_context(me, case);
        let mut out = Vec::new();
        for h in held {
            let view = PlaceView::of(me, &h.place);
            for op in &h.ops {
                let Some(resolved) = ctx.resolve_op(&h.place, &view.name, op, &mut out) else {
                    continue;
                };
                report.values += 1;
                let Some(value) = ctx.admit_value(&h.place, &view, op, resolved, &mut out) else {
                    continue;
                };
                self.judge_value(&ctx, &value, report, &mut out);
            }
        }
        out
    }

    /// Everything `check_held` judges each value against, worked out once per case rather than once per value.
    fn held_context<'a>(&self, me: &'a PartnerId, case: &'a CaseId) -> HeldContext<'a> {
        let truth = self.truths[case].clone();
        let facts = &truth.facts;
        let partners: Vec<PartnerId> = facts.relations.keys().cloned().collect();
        // Every actor a change may carry, so a report can name the partner rather than a hex id.
        let by_actor: HashMap<ActorId, PartnerId> = partners
            .iter()
            .chain(&self.others)
            .chain([me])
            .map(|p| (node::doc::actor_for(p), p.clone()))
            .collect();
        let now = self.receivable(facts, me, facts.consent);
        let with_consent = self.receivable(facts, me, true);
        let withdrawn = truth.consent_ever && !facts.consent;
        let before = self.history.get(case).and_then(|h| h.while_consent.clone());
        let my_writes = self.writable_ever(case, me);
        let writes_of = by_actor
            .iter()
            .map(|(a, p)| (a.clone(), self.writable_ever(case, p)))
            .collect();
        HeldContext {
            me,
            case,
            mine: node::doc::actor_for(me),
            truth,
            by_actor,
            now,
            with_consent,
            withdrawn,
            before,
            my_writes,
            writes_of,
        }
    }

    /// Judge an admitted value by whose change it is and where it sits.
    fn judge_value(
        &mut self,
        ctx: &HeldContext,
        value: &HeldValue,
        report: &mut Report,
        out: &mut Vec<Violation>,
    ) {
        let own_change = value.op.actor == ctx.mine;
        match (value.place, own_change) {
            (Place::Document { .. }, true) => self.check_own_write(ctx, value, out),
            (Place::Projection { .. }, true) if value.view.outgoing => {
                self.check_outgoing_copy(ctx, value, report, out);
            }
            _ => self.check_received_value(ctx, value, report, out),
        }
    }

    /// A change of this node's own in one of its case documents: it must have been allowed to write the field.
    fn check_own_write(&mut self, ctx: &HeldContext, value: &HeldValue, out: &mut Vec<Violation>) {
        if ctx.my_writes.contains(value.field) {
            self.hit_write(ctx.case, ctx.me, value.field, &value.document);
        } else {
            out.push(value.violation(
                ctx,
                Reason::NotWritable {
                    relations: self.relations_ever(ctx.case, ctx.me),
                },
            ));
        }
    }

    /// A copy of what this node holds, made for a peer: the node must itself be allowed to hold each value.
    fn check_outgoing_copy(
        &self,
        ctx: &HeldContext,
        value: &HeldValue,
        report: &mut Report,
        out: &mut Vec<Violation>,
    ) {
        if ctx.my_writes.contains(value.field) || ctx.now.contains(value.field) {
            return;
        }
        if ctx.withdrawn && ctx.with_consent.contains(value.field) {
            // Holding it after a withdrawal is judged like a received value.
            if let Some(v) = self.withdrawal_verdict(ctx.before.as_ref(), value.op, report) {
                out.push(value.violation(ctx, v));
            }
            return;
        }
        out.push(value.violation(ctx, self.not_receivable(ctx)));
    }

    /// Received: the change is someone else's (or forged under this node's actor in a projection). It must come
    /// from whoever sent it, be written by a partner allowed to, and be something this node may receive.
    fn check_received_value(
        &mut self,
        ctx: &HeldContext,
        value: &HeldValue,
        report: &mut Report,
        out: &mut Vec<Violation>,
    ) {
        let (op, field) = (value.op, value.field);
        let author = ctx.by_actor.get(&op.actor).cloned();
        if let Some(sender) = &value.view.incoming_from
            && ctx.actor_name(&op.actor) != *sender
        {
            out.push(value.violation(
                ctx,
                Reason::NotBySender {
                    sender: sender.clone(),
                },
            ));
        }
        if let Place::Document { .. } = value.place {
            let may_write = author.as_ref().is_some_and(|_| {
                ctx.writes_of
                    .get(&op.actor)
                    .is_some_and(|w| w.contains(field))
            });
            if !may_write {
                out.push(value.violation(
                    ctx,
                    Reason::ForgedWrite {
                        author: ctx.actor_name(&op.actor),
                    },
                ));
            }
        }
        if ctx.now.contains(field) {
            // Credit the flow to the peer the projection came from, else to the change's author.
            let sender = value
                .view
                .incoming_from
                .as_ref()
                .and_then(|s| s.parse::<PartnerId>().ok())
                .or(author);
            if let Some(sender) = sender {
                self.hit_flows(&ctx.truth.facts, ctx.case, &sender, ctx.me, field);
            }
            return;
        }
        if ctx.withdrawn && ctx.with_consent.contains(field) {
            if let Some(v) = self.withdrawal_verdict(ctx.before.as_ref(), op, report) {
                out.push(value.violation(ctx, v));
            }
            return;
        }
        out.push(value.violation(ctx, self.not_receivable(ctx)));
    }

    /// The reason for a value this node may not hold, with the facts that made it so.
    fn not_receivable(&self, ctx: &HeldContext) -> Reason {
        let facts = &ctx.truth.facts;
        Reason::NotReceivable {
            relations: self.rels(facts, ctx.me),
            phase: facts.phase,
            consent: facts.consent,
        }
    }

    /// A value only consent let travel, held after a withdrawal: permitted or not, by the policy's setting.
    fn withdrawal_verdict(
        &self,
        before: Option<&BTreeSet<ChangeHash>>,
        op: &SetOp,
        report: &mut Report,
    ) -> Option<Reason> {
        match self.on_withdrawal {
            OnWithdrawal::Forget => Some(Reason::ConsentWithdrawn),
            OnWithdrawal::Keep => match before {
                Some(b) if b.contains(&op.hash) => None,
                Some(_) => Some(Reason::ChangedAfterWithdrawal),
                None => {
                    report.undated_keep += 1;
                    None
                }
            },
        }
    }

    fn hit_write(&mut self, case: &CaseId, me: &PartnerId, field: FieldId, document: &str) {
        let rels = self.relations_ever(case, me);
        let hits: Vec<usize> = self
            .policy
            .writes
            .iter()
            .enumerate()
            .filter(|(_, w)| {
                w.role == me.role()
                    && rels.iter().any(|r| w.relations.contains(r))
                    && w.fields.contains(field)
            })
            .map(|(i, _)| i)
            .collect();
        for i in hits {
            self.write_hits.insert((
                i,
                case.as_str().to_string(),
                me.to_string(),
                document.to_string(),
            ));
        }
    }

    fn hit_flows(
        &mut self,
        facts: &CaseFacts,
        case: &CaseId,
        sender: &PartnerId,
        me: &PartnerId,
        field: FieldId,
    ) {
        let from = self.relations_ever(case, sender);
        let to = self.rels(facts, me);
        let hits: Vec<usize> = self
            .policy
            .flows
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                f.from == sender.role()
                    && (f.from_relations.is_empty()
                        || from.iter().any(|r| f.from_relations.contains(r)))
                    && f.to == me.role()
                    && to.iter().any(|r| f.relations.contains(r))
                    && f.conditions
                        .hold(facts.consent, facts.phase, facts.voorziening)
                    && f.fields.contains(field)
            })
            .map(|(i, _)| i)
            .collect();
        for i in hits {
            self.flow_hits.insert((
                i,
                case.as_str().to_string(),
                sender.to_string(),
                me.to_string(),
            ));
        }
    }

    /// Whether `p` may hold field `field` of the instance `section` of a case: it wrote the section, or may
    /// receive the field (under consent, when the policy keeps what was received before a withdrawal), and the
    /// section is not another same-role partner's instance.
    fn may_hold(&self, truth: &CaseTruth, p: &PartnerId, section: &str, field: FieldId) -> bool {
        if truth.authors.get(section).is_some_and(|a| a.contains(p)) {
            return true;
        }
        if let Some((kind, instance)) = parse_section(section)
            && matches!(
                kind,
                DocumentKind::Aanmeldbericht | DocumentKind::Reactie | DocumentKind::Gemeente
            )
            && let Ok(owner) = instance.parse::<PartnerId>()
            && owner.role() == p.role()
            && &owner != p
        {
            return false;
        }
        if let Some((DocumentKind::Voorlegging, instance)) = parse_section(section)
            && let Some(owner) = policies::model::voorlegging_addressee(instance)
            && &owner != p
        {
            return false;
        }
        let keep = self.on_withdrawal == OnWithdrawal::Keep && truth.consent_ever;
        let facts = &truth.facts;
        self.receivable(facts, p, facts.consent || keep)
            .contains(field)
    }

    /// Check what every partner holds in the deterministic in-memory federation ([`crate::federation`]) after an
    /// event, against the truth of the forms written so far (`written`: author, kind, instance, form, in order):
    /// the same rule as for live nodes ([`Oracle::may_hold`]), computed from the policy alone. The in-memory
    /// federation keeps no Automerge history, so this checks what each partner holds now; the live runs check the
    /// history. Cheap enough for many seeds of a whole population.
    pub fn check_view(
        &self,
        case: &CaseId,
        written: &[(PartnerId, DocumentKind, String, Form)],
        partners: &[PartnerId],
        view: &crate::federation::HoldingsView,
    ) -> Vec<Violation> {
        let mut docs = CaseDocuments::new();
        let mut forms = BTreeMap::new();
        let mut authors: BTreeMap<String, BTreeSet<PartnerId>> = BTreeMap::new();
        let mut consent_ever = false;
        for (author, kind, instance, form) in written {
            let section = node::projection::section_name(*kind, instance);
            if *kind == DocumentKind::Registratie
                && form.bool("toestemming_gegevensdeling") == Some(true)
            {
                consent_ever = true;
            }
            docs.insert(form.clone());
            forms.insert(section.clone(), form.clone());
            authors.entry(section).or_default().insert(author.clone());
        }
        let truth = CaseTruth {
            forms,
            authors,
            facts: docs.facts(partners),
            consent_ever,
        };
        let mut out = Vec::new();
        for (p, sections) in view {
            for (section, fields) in sections {
                let Some((kind, _)) = parse_section(section) else {
                    continue;
                };
                let Some(fields) = fields.as_object() else {
                    continue;
                };
                for name in fields.keys() {
                    let Some(field) = kind.field(name) else {
                        continue;
                    };
                    if self.may_hold(&truth, p, section, field) {
                        continue;
                    }
                    let facts = &truth.facts;
                    out.push(Violation {
                        node: p.clone(),
                        case: case.clone(),
                        document: format!("in-memory holding {section}"),
                        field: field.qualified_name(),
                        change_actor: "-".into(),
                        reason: Reason::NotReceivable {
                            relations: facts.relations_of(p),
                            phase: facts.phase,
                            consent: facts.consent,
                        },
                    });
                }
            }
        }
        out
    }

    /// Search every running node's data directory for the distinctive values of every case the oracle has a
    /// truth for (text and BSN values, those in records included, of eight bytes or more with a digit in them, that
    /// occur in one case only), where the node may hold no field that carries the value. A value counts as found
    /// when it is not followed by a letter or digit (`Adres 12` is not found in `Adres 123`).
    pub fn canaries(&self, net: &LiveNet) -> Vec<Violation> {
        // value → (case, [(section, field)])
        let mut values: BTreeMap<String, BTreeSet<(CaseId, String, FieldId)>> = BTreeMap::new();
        for (case, truth) in &self.truths {
            for (section, form) in &truth.forms {
                let json = form.to_json();
                for f in form.field_ids() {
                    // Records (offers, contacts) hold text too: it counts as their field.
                    let mut strings = Vec::new();
                    if let Some(v) = json.get(f.name()) {
                        texts_in(&f.spec().ty, v, &mut strings);
                    }
                    // Distinctive: long enough, and naming a client (a number); not a word every case has.
                    for s in strings
                        .into_iter()
                        .filter(|s| s.len() >= 8 && s.bytes().any(|b| b.is_ascii_digit()))
                    {
                        values
                            .entry(s)
                            .or_default()
                            .insert((case.clone(), section.clone(), f));
                    }
                }
            }
        }
        let mut out = Vec::new();
        for n in net.nodes.values() {
            let files = files_of(n.path());
            for (value, places) in &values {
                let cases: BTreeSet<&CaseId> = places.iter().map(|(c, _, _)| c).collect();
                let [case] = cases.into_iter().collect::<Vec<_>>()[..] else {
                    continue;
                };
                let allowed = places
                    .iter()
                    .any(|(c, section, f)| self.may_hold(&self.truths[c], &n.id, section, *f));
                if allowed || !contains_value(&files, value) {
                    continue;
                }
                let (_, section, f) = places.iter().next().expect("one place at least");
                out.push(Violation {
                    node: n.id.clone(),
                    case: case.clone(),
                    document: format!("data directory {}", dir_name(n.path())),
                    field: format!("{} ({section})", f.qualified_name()),
                    change_actor: "-".into(),
                    reason: Reason::Canary {
                        value: value.clone(),
                    },
                });
            }
        }
        out
    }
}

/// The free text and BSNs in a field's value, those in its records included (not dates, codes or partner ids,
/// which many cases share).
fn texts_in(ty: &FieldType, v: &Json, out: &mut Vec<String>) {
    match (ty, v) {
        (FieldType::Text | FieldType::LongText | FieldType::Bsn, Json::String(s)) => {
            out.push(s.clone());
        }
        (FieldType::Records(specs), Json::Array(items)) => {
            for item in items.iter().filter_map(Json::as_object) {
                for spec in specs.iter() {
                    if let Some(v) = item.get(spec.name) {
                        texts_in(&spec.ty, v, out);
                    }
                }
            }
        }
        _ => {}
    }
}

fn dir_name(p: &Path) -> String {
    p.display().to_string()
}

/// Whether `value` occurs in the files as raw bytes, not followed by a digit or letter (`Adres 12` is not found in
/// `Adres 123`).
fn contains_value(files: &[(std::path::PathBuf, Vec<u8>)], value: &str) -> bool {
    let finder = memchr::memmem::Finder::new(value.as_bytes());
    files.iter().any(|(_, bytes)| {
        finder.find_iter(bytes).any(|at| {
            bytes
                .get(at + value.len())
                .is_none_or(|b| !b.is_ascii_alphanumeric())
        })
    })
}

/// The truth of a case from a snapshot: for every case document, the changes each node made in its own copy
/// under its own actor, merged over all nodes; validated as partial forms; and the facts for `partners`.
fn truth_of(
    snap: &Snapshot,
    case: &CaseId,
    partners: &[PartnerId],
    gemeenten: &Gemeenten,
) -> CaseTruth {
    let mut by_doc: BTreeMap<(DocumentKind, String), (Vec<Change>, BTreeSet<PartnerId>)> =
        BTreeMap::new();
    for (p, per) in snap {
        let mine = node::doc::actor_for(p);
        for h in per.get(case).into_iter().flatten() {
            let Place::Document { kind, instance } = &h.place else {
                continue;
            };
            let own: Vec<Change> = h
                .changes
                .iter()
                .filter(|c| c.actor_id() == &mine)
                .cloned()
                .collect();
            if own.is_empty() {
                continue;
            }
            let entry = by_doc.entry((*kind, instance.clone())).or_default();
            entry.0.extend(own);
            entry.1.insert(p.clone());
        }
    }
    let validator = Validator::new(gemeenten, time::OffsetDateTime::now_utc().date());
    let mut forms = BTreeMap::new();
    let mut authors = BTreeMap::new();
    let mut docs = CaseDocuments::new();
    let mut consent_ever = false;
    for ((kind, instance), (changes, by)) in by_doc {
        let section = node::projection::section_name(kind, &instance);
        if kind == DocumentKind::Registratie {
            consent_ever = set_ops(&changes).iter().any(|op| {
                op.path == ["toestemming_gegevensdeling"]
                    && op.value == Some(ScalarValue::Boolean(true))
            });
        }
        let mut am = AutoCommit::new();
        let mut seen = BTreeSet::new();
        let unique: Vec<Change> = changes
            .into_iter()
            .filter(|c| seen.insert(c.hash()))
            .collect();
        if am.apply_changes(unique).is_err() {
            continue;
        }
        let Ok(json) = node::doc::read_json(&am) else {
            continue;
        };
        let Ok(form) = validator.partial_form(kind, &json) else {
            continue;
        };
        docs.insert(form.clone());
        forms.insert(section.clone(), form);
        authors.insert(section, by);
    }
    let facts = docs.facts(partners);
    CaseTruth {
        forms,
        authors,
        facts,
        consent_ever,
    }
}

/// A violation found while playing a population, with the event after which it was first seen.
#[derive(Debug, Clone)]
pub struct Found {
    /// The client.
    pub client: u32,
    /// The index of its event.
    pub event: usize,
    /// The event, in words.
    pub what: String,
    /// The violation.
    pub violation: Violation,
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "after client {} event {} ({}): {}",
            self.client, self.event, self.what, self.violation
        )
    }
}

/// What [`play`] did and found.
#[derive(Debug, Clone, Default)]
pub struct Played {
    /// Clients played.
    pub clients: usize,
    /// Events written (accepted by the author's node).
    pub events: usize,
    /// Writes the author's node refused, in words.
    pub refused: Vec<String>,
    /// Events after which the nodes did not settle within the limit (the oracle ran anyway).
    pub unsettled: usize,
    /// Every violation, once, with the event after which it was first seen; then those only the final check of
    /// every case and the canary search found.
    pub violations: Vec<Found>,
    /// Values checked.
    pub values: usize,
    /// Values a `keep` policy may let stay whose change could not be dated (see [`Report::undated_keep`]).
    pub undated_keep: usize,
    /// The flows and write rules exercised.
    pub coverage: Coverage,
    /// Time spent waiting for the nodes to settle.
    pub settling: std::time::Duration,
    /// Time spent in the oracle.
    pub checking: std::time::Duration,
}

/// What the nodes store of a case, as a fingerprint: the heads of every case document and every projection's
/// bytes, per node. Equal fingerprints some time apart mean the federation has settled for the case.
async fn fingerprint(net: &LiveNet, case: &CaseId) -> Vec<u8> {
    let mut out = Vec::new();
    for n in net.nodes.values() {
        let Some(node) = n.node.as_ref() else {
            continue;
        };
        out.extend(n.id.to_string().as_bytes());
        for meta in node.store().list_documents(case).await.unwrap_or_default() {
            out.extend(format!("{:?}{:?}", meta.key, meta.heads).as_bytes());
        }
        for p in node
            .store()
            .projections_of_case(case)
            .await
            .unwrap_or_default()
        {
            out.extend(p.wire_id.as_bytes());
            out.push(u8::from(p.retired));
            out.extend(&p.snapshot);
        }
    }
    out
}

/// Wait until the federation has settled for `case`, at most `limit`; whether it settled. Settled: what the nodes
/// store of the case has not changed for `quiet`, every projection a sender withdrew is withdrawn at its receiver
/// too, and every node holds what every plan gives it (or nothing has changed for [`PATIENCE`] quiet spells). A
/// quiet spell alone is not enough on a busy machine: a `Forget` can sit in a queue longer than any fixed wait, and
/// the oracle would judge a state the federation was still leaving (a refused corporatie's aanmeldbericht after the
/// case was reassigned), or the next event would start before the last reached every node. Only *when* to judge
/// comes from the nodes' own records and plans; *what* may be held comes from the policy alone.
pub async fn settle(
    net: &LiveNet,
    case: &CaseId,
    quiet: std::time::Duration,
    limit: std::time::Duration,
) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    let mut last = fingerprint(net, case).await;
    let mut since = tokio::time::Instant::now();
    let mut plans_checked = false;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let now = fingerprint(net, case).await;
        if now != last {
            last = now;
            since = tokio::time::Instant::now();
            plans_checked = false;
        } else if since.elapsed() >= quiet && withdrawals_delivered(net, case).await {
            // Quiet, and nothing withdrawn still on its way. Settled when every node holds what every plan gives
            // it; where a plan is not carried out to the letter (a receiver that keeps what it lawfully received,
            // a refused push), when nothing has changed for much longer than any message takes on a busy machine.
            if since.elapsed() >= quiet * PATIENCE {
                return true;
            }
            if !plans_checked {
                plans_checked = true;
                if carried_out(net, case).await {
                    return true;
                }
            }
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
    }
}

/// How many quiet spells without a change count as settled when the plans are not carried out to the letter.
const PATIENCE: u32 = 8;

/// Whether every running node holds of `case` exactly what every other node's plan gives it.
async fn carried_out(net: &LiveNet, case: &CaseId) -> bool {
    let running: Vec<String> = net
        .nodes
        .values()
        .filter(|n| n.node.is_some())
        .map(|n| n.id.to_string())
        .collect();
    for sender in &running {
        for receiver in running.iter().filter(|r| *r != sender) {
            if !net
                .plan_differences(sender, receiver, case)
                .await
                .is_empty()
            {
                return false;
            }
        }
    }
    true
}

/// Whether every projection of `case` a running node withdrew (retired) is withdrawn at its receiver as well.
async fn withdrawals_delivered(net: &LiveNet, case: &CaseId) -> bool {
    let mut held: std::collections::BTreeMap<String, bool> = std::collections::BTreeMap::new();
    let mut withdrawn: Vec<String> = Vec::new();
    for n in net.nodes.values() {
        let Some(node) = n.node.as_ref() else {
            continue;
        };
        let me = n.id.to_string();
        for p in node
            .store()
            .projections_of_case(case)
            .await
            .unwrap_or_default()
        {
            if p.sender == me {
                if p.retired {
                    withdrawn.push(p.wire_id);
                }
            } else if p.receiver == me {
                held.insert(p.wire_id, p.retired);
            }
        }
    }
    withdrawn
        .iter()
        .all(|w| held.get(w).is_none_or(|retired| *retired))
}

/// Play a population event by event through a [`LiveNet`] of its partners (which run the shipped covenant
/// policy), wait after every event until the nodes settle, run the oracle on the event's case, and at the end
/// check every case once more and search every data directory for canaries.
///
/// `quiet` is how long nothing may change before the nodes count as settled (above the sessions' 500 ms retry);
/// `limit` bounds the wait per event.
pub async fn play(
    pop: &crate::population::Population,
    oracle: &mut Oracle,
    quiet: std::time::Duration,
    limit: std::time::Duration,
) -> Result<Played, PlayError> {
    let ids: Vec<String> = pop.partners.all().map(|p| p.to_string()).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let net = LiveNet::start(&refs).await?;
    let mut played = Played::default();
    for client in &pop.clients {
        let mut case: Option<CaseId> = None;
        for (i, event) in client.events.iter().enumerate() {
            let what = format!(
                "{} writes {} {} ({})",
                event.author, event.kind, event.instance, event.step
            );
            let author = event.author.to_string();
            let c = match &case {
                Some(c) => c.clone(),
                None => {
                    let c = net
                        .new_case(&author)
                        .await
                        .map_err(|e| PlayError::Live(crate::live::LiveError::from_message(e)))?;
                    case = Some(c.clone());
                    c
                }
            };
            let instance = (!event.instance.is_empty()).then_some(event.instance.as_str());
            match net
                .write(&author, &c, event.kind, instance, &event.form)
                .await
            {
                Ok(_) => played.events += 1,
                Err(e) => {
                    played
                        .refused
                        .push(format!("client {} event {i} ({what}): {e}", client.number));
                    continue;
                }
            }
            let t = std::time::Instant::now();
            if !settle(&net, &c, quiet, limit).await {
                played.unsettled += 1;
            }
            played.settling += t.elapsed();
            let t = std::time::Instant::now();
            let report = oracle.observe(&net, Some(std::slice::from_ref(&c))).await?;
            played.checking += t.elapsed();
            played.values += report.values;
            played.undated_keep += report.undated_keep;
            played
                .violations
                .extend(report.violations.into_iter().map(|violation| Found {
                    client: client.number,
                    event: i,
                    what: what.clone(),
                    violation,
                }));
        }
        played.clients += 1;
    }
    // Every case once more (a late message for an earlier case), then the files.
    let last = oracle.observe(&net, None).await?;
    let canaries = oracle.canaries(&net);
    played.violations.extend(
        last.violations
            .into_iter()
            .chain(canaries)
            .map(|violation| Found {
                client: 0,
                event: 0,
                what: "the final check".into(),
                violation,
            }),
    );
    played.coverage = oracle.coverage();
    Ok(played)
}

/// Playing a population through live nodes failed.
#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    /// Starting or driving the live federation failed.
    #[error(transparent)]
    Live(#[from] crate::live::LiveError),
    /// Reading a node's store failed.
    #[error(transparent)]
    Oracle(#[from] OracleError),
}
