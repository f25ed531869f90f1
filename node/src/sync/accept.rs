//! What this node accepts from a peer: pure decisions, no I/O, so they get millisecond unit tests and the
//! simulator's in-memory federation takes data in with the very same code as the node.
//!
//! **Accept = plan, both ways.** A sync request for a case document is answered only when [`super::plan::plan`]
//! shares that document whole with the peer ([`answers_pull`]). A push is accepted only into an instance the
//! sender may write into ([`super::plan::may_write_into`]: its own reactie or gemeente form, a melding it created, a
//! document its write rules cover), only for fields it may write, and only for fields a flow lets this node receive
//! from it ([`form_changes`]). A projection is accepted only from a sender that relates to the case, and only with
//! fields the policy lets this node hold from it under this node's own authoritative facts where it has them
//! ([`projection_facts`], [`projection_changes`]).

use automerge::{ActorId, AutoCommit, Change};
use policies::form::Form;
use policies::{CaseFacts, DocumentKind, FieldId, FieldSet, PartnerId, Policy, Relation, Role};

use super::plan::{Plan, may_write_into};
use crate::case::LoadedCase;
use crate::facts;
use crate::ops;
use crate::projection::{self, META, Meta};
use crate::store::DocKey;

/// Why a message was refused: told to the peer and recorded as a security event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The rule broken, in plain words (logged, audited and sent to the peer).
    pub reason: String,
    /// The fields concerned, if any.
    pub fields: Vec<FieldId>,
    /// Not a breach but "not (yet)": the sender does not relate to the case as far as this node knows now — the
    /// data that would tell may still be on its way. Nothing is stored, the sender is answered "not available"
    /// and tries again later; nothing is recorded as a security event.
    pub not_yet: bool,
}

impl Refusal {
    /// A refusal without fields.
    pub fn new(reason: impl Into<String>) -> Refusal {
        Refusal {
            reason: reason.into(),
            fields: Vec::new(),
            not_yet: false,
        }
    }

    /// "Not (yet)": see [`Refusal::not_yet`].
    pub fn not_yet(reason: impl Into<String>) -> Refusal {
        Refusal {
            not_yet: true,
            ..Refusal::new(reason)
        }
    }

    fn field(reason: String, field: FieldId) -> Refusal {
        Refusal {
            fields: vec![field],
            ..Refusal::new(reason)
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// Whether a sync message about case document `k` that carries no changes (a request, or heads) is answered: only
/// when the plan shares that document whole with the peer. Anything else is answered "not available", exactly as
/// for a document that does not exist.
pub fn answers_pull(plan: &Plan, k: &DocKey) -> bool {
    plan.full.contains(k)
}

/// What a push of changes into case document `k` is judged on.
#[derive(Debug, Clone)]
pub struct FormContext<'a> {
    /// The policy in force.
    pub policy: &'a Policy,
    /// This node.
    pub me: &'a PartnerId,
    /// The sender.
    pub peer: &'a PartnerId,
    /// The document.
    pub key: &'a DocKey,
    /// Who created the instance here, if it exists here.
    pub creator: Option<&'a ActorId>,
    /// This node's authoritative facts of the case, before the message ([`facts::facts_of`]).
    pub facts: &'a CaseFacts,
}

/// Whether the peer may push into this instance at all (before any op is looked at).
pub fn may_push(cx: &FormContext<'_>) -> bool {
    !may_write_into(cx.policy, cx.facts, cx.peer, cx.key, cx.creator).is_empty()
}

/// What a push into one document instance may touch: the fields the sender may write into it, and those a flow
/// lets this node receive from it. This node's own write rights never make it a holder of another partner's data.
#[derive(Debug, Clone, Copy)]
pub struct FormRules {
    may_write: FieldSet,
    may_hold: FieldSet,
}

impl FormRules {
    /// The rules for a push; refused outright when the sender may not write into the instance at all.
    pub fn of(cx: &FormContext<'_>) -> Result<FormRules, Refusal> {
        let may_write = may_write_into(cx.policy, cx.facts, cx.peer, cx.key, cx.creator);
        if may_write.is_empty() {
            return Err(Refusal::new(format!(
                "{} may not write into {} {}: not its instance, or no write rule of policy {} covers it",
                cx.peer, cx.key.kind, cx.key.instance, cx.policy.meta.version
            )));
        }
        let may_hold = cx
            .policy
            .allowed_fields(cx.facts, cx.peer, cx.me)
            .iter()
            .map(|a| a.field)
            .collect();
        Ok(FormRules {
            may_write,
            may_hold,
        })
    }

    /// Whether one field may be pushed.
    pub fn check(&self, cx: &FormContext<'_>, field: FieldId) -> Result<(), Refusal> {
        let version = &cx.policy.meta.version;
        if !self.may_write.contains(field) {
            return Err(Refusal::field(
                format!("{} may not write {field} under policy {version}", cx.peer),
                field,
            ));
        }
        if !self.may_hold.contains(field) {
            return Err(Refusal::field(
                format!(
                    "this node may not hold {field} from {} under policy {version}: no flow allows it",
                    cx.peer
                ),
                field,
            ));
        }
        Ok(())
    }
}

/// Check the fields a whole document brings (the simulator's in-memory federation, which moves forms, not
/// changes): the same rules as [`form_changes`] applies op by op.
pub fn form_fields(
    cx: &FormContext<'_>,
    fields: impl IntoIterator<Item = FieldId>,
) -> Result<(), Refusal> {
    let rules = FormRules::of(cx)?;
    fields.into_iter().try_for_each(|f| rules.check(cx, f))
}

/// Check the fields of a projection from `sender` against `facts` ([`projection_facts`]): the same rule as
/// [`projection_changes`] applies op by op.
pub fn projection_fields(
    policy: &Policy,
    sender: &PartnerId,
    me: &PartnerId,
    facts: &CaseFacts,
    fields: FieldSet,
) -> Result<(), Refusal> {
    let allowed = allowed_from(policy, sender, me, facts);
    match fields.difference(allowed).iter().next() {
        None => Ok(()),
        Some(field) => Err(not_holdable(policy, sender, me, facts, field)),
    }
}

fn allowed_from(
    policy: &Policy,
    sender: &PartnerId,
    me: &PartnerId,
    facts: &CaseFacts,
) -> FieldSet {
    policy
        .allowed_fields(facts, sender, me)
        .iter()
        .map(|a| a.field)
        .collect()
}

fn not_holdable(
    policy: &Policy,
    sender: &PartnerId,
    me: &PartnerId,
    facts: &CaseFacts,
    field: FieldId,
) -> Refusal {
    Refusal::field(
        format!(
            "this node may not hold {field} from {sender} under policy {} ({})",
            policy.meta.version,
            describe(facts, me)
        ),
        field,
    )
}

/// The facts a push into a case document is judged on: this node's own facts ([`facts::facts_of`]) over the case
/// as the push leaves it — `form` is the document with the new changes, as on the fork. A local write is judged
/// the same way (`service::decide_write`: the case as it will be). It matters where the pushed document itself
/// decides a fact: the bemiddelingsverzoek's `datum_ingediend` puts the case in the phase bemiddeling, the only
/// phase in which the Transferpunt may hold the request, so judged on the case before the push the Transferpunt
/// could never take a submitted request. Only a co-writer pushes whole documents ([`may_write_into`]), and it
/// writes nothing it may not write: the facts its own document decides are its to decide.
pub fn pushed_facts(
    me: &PartnerId,
    loaded: &LoadedCase,
    peer: &PartnerId,
    form: &Form,
) -> CaseFacts {
    let mut view = loaded.clone();
    view.docs.insert(form.clone());
    facts::facts_of(me, &view, &[peer])
}

/// Check the new changes of a push into a case document, applied on a fork (`fork` holds them). Returns the
/// fields they touch.
pub fn form_changes(
    cx: &FormContext<'_>,
    fork: &mut AutoCommit,
    new: &[Change],
    form: &Form,
) -> Result<Vec<FieldId>, Refusal> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let (me, peer) = (cx.me, cx.peer);
    if cx.key.kind == DocumentKind::Registratie
        && peer.role() == Role::Zorgaanbieder
        && form.text("betrokken_zorgaanbieder") != Some(&peer.to_string())
    {
        return Err(Refusal::new(format!(
            "a registratie from {peer} must name {peer} as betrokken_zorgaanbieder"
        )));
    }
    let rules = FormRules::of(cx)?;
    let peer_actor = crate::doc::actor_for(peer);
    let my_actor = crate::doc::actor_for(me);
    let mut fields: Vec<FieldId> = Vec::new();
    for op in ops::touched(fork, new) {
        // A change new to this node cannot be its own echo: one under this node's actor id is forged.
        if op.actor == my_actor {
            return Err(Refusal::new(format!(
                "a change under this node's own actor id, sent by {peer}: forged"
            )));
        }
        if op.actor != peer_actor {
            return Err(Refusal::new(format!(
                "a change made by another partner, relayed by {peer}: only their own changes are accepted"
            )));
        }
        let path = op.path.ok_or_else(|| {
            Refusal::new("an operation on an object that cannot be traced to a field")
        })?;
        let field = path
            .first()
            .and_then(|f| cx.key.kind.field(f))
            .ok_or_else(|| {
                Refusal::new(format!("{} has no field {:?}", cx.key.kind, path.first()))
            })?;
        rules.check(cx, field)?;
        if !fields.contains(&field) {
            fields.push(field);
        }
    }
    Ok(fields)
}

/// The facts an incoming projection from `sender` is checked against, or why it is refused outright.
///
/// - The sender must relate to the case: by this node's own data, as one of this node's authorities already, or —
///   only for a projection that brings data — by its own word (at the Transferpunt not even that, except for a
///   case new to it, whose relations follow from the data it brings). A `_meta` alone from anyone else is refused.
/// - This node's relations: as it knows them, plus those the sender declares (they let this node take the
///   sender's data; they count for what this node discloses only when the sender decides them).
/// - Consent, phase and BW/MO: this node's authoritative ones where it has them — a withdrawal known here wins —
///   and otherwise what the sender declares, for its own disclosure.
pub fn projection_facts(
    me: &PartnerId,
    sender: &PartnerId,
    loaded: &LoadedCase,
    meta: &Meta,
    incoming: &[(String, Form)],
) -> Result<CaseFacts, Refusal> {
    if meta
        .receiver_relations
        .iter()
        .any(|r| !me.role().relations().contains(r))
    {
        return Err(Refusal::new(
            "the projection declares relations this node's role cannot have",
        ));
    }
    let case_known = !loaded.keys.is_empty() || !loaded.projected_sections.is_empty();
    let before = facts::facts_of(me, loaded, &[sender]);
    let relates_by_data = before
        .relations_of(sender)
        .iter()
        .any(|r| *r != Relation::Geen);
    let authority_before = facts::authorities(me, loaded)
        .iter()
        .any(|(s, _)| *s == sender);
    let brings_data = !incoming.is_empty();
    if me.role() == Role::Transferpunt && !relates_by_data && (case_known || !brings_data) {
        return Err(Refusal::not_yet(format!(
            "{sender} does not relate to this case by the Transferpunt's own data"
        )));
    }
    if me.role() != Role::Transferpunt && !brings_data && !relates_by_data && !authority_before {
        return Err(Refusal::not_yet(format!(
            "a _meta without data from {sender}, which does not relate to this case by this node's own data"
        )));
    }
    // The case as it will be here with this projection: the sender's data as it now stands, its declaration in
    // place of its earlier one. At the Transferpunt that data is what decides (a case new to it, consent given by
    // the zorgaanbieder that registered the client); elsewhere the authorities' word does.
    let mut view = loaded.clone();
    view.declarations.insert(sender.clone(), meta.clone());
    for (_, form) in incoming {
        view.docs.insert(form.clone());
    }
    let mut facts = facts::accepting(me, &view, sender);
    facts::add_relations(
        facts.relations.entry(me.clone()).or_default(),
        meta.receiver_relations.iter().copied(),
    );
    if !facts::knows_consent(me, &view) {
        facts.consent = meta.consent;
    }
    if !facts::knows_phase(me, &view) {
        facts.phase = facts.phase.max(meta.phase);
    }
    if facts.voorziening.is_none() {
        facts.voorziening = meta.voorziening;
    }
    Ok(facts)
}

/// Check the new changes of a projection from `sender`, applied on a fork, against `facts`
/// ([`projection_facts`]). Returns the fields they touch.
pub fn projection_changes(
    policy: &Policy,
    sender: &PartnerId,
    me: &PartnerId,
    facts: &CaseFacts,
    fork: &mut AutoCommit,
    new: &[Change],
) -> Result<Vec<FieldId>, Refusal> {
    let allowed = allowed_from(policy, sender, me, facts);
    let sender_actor = crate::doc::actor_for(sender);
    let mut fields = Vec::new();
    for op in ops::touched(fork, new) {
        if op.actor != sender_actor {
            return Err(Refusal::new(format!(
                "a projection is written by its sender only, not by another actor relayed by {sender}"
            )));
        }
        let path = op.path.ok_or_else(|| {
            Refusal::new("an operation on an object that cannot be traced to a field")
        })?;
        if let Some(section) = path.first()
            && let Some(addressee) = addressed_elsewhere(section, me)
        {
            return Err(Refusal::new(format!(
                "section {section} is addressed to {addressee}, not to {me} (a form addressed to one partner \
                 reaches that partner only; Bijlage 1, 7g)"
            )));
        }
        match path.as_slice() {
            [] => return Err(Refusal::new("an operation without a key")),
            [section] if section == META || projection::parse_section(section).is_some() => {}
            [section, ..] if section == META => {}
            _ => {
                let field = projection::field_at(&path).ok_or_else(|| {
                    Refusal::new(format!(
                        "the projection names an unknown field {}",
                        path.join(".")
                    ))
                })?;
                if !allowed.contains(field) {
                    return Err(not_holdable(policy, sender, me, facts, field));
                }
                if !fields.contains(&field) {
                    fields.push(field);
                }
            }
        }
    }
    Ok(fields)
}

/// Whom a projection's section is addressed to when that is another partner than `me`: a form addressed to one
/// partner (its instance names it: an aanmeldbericht, a reactie, the Transferpunt's voorlegging, which names the
/// melder) reaches that partner only. The sender's plan keeps it so (`plan::plan`); the receiver checks it again,
/// on its own, rather than trust it. `None`: the section is for `me`, or for anyone the flows allow.
pub fn addressed_elsewhere(section: &str, me: &PartnerId) -> Option<String> {
    let (kind, instance) = projection::parse_section(section)?;
    if kind == policies::DocumentKind::Voorlegging {
        return match policies::model::voorlegging_addressee(instance) {
            Some(addressee) if addressee == *me => None,
            Some(addressee) => Some(addressee.to_string()),
            None => Some("no partner".into()),
        };
    }
    let addressee = instance.parse::<PartnerId>().ok()?;
    (addressee.role() == me.role() && addressee != *me).then(|| addressee.to_string())
}

fn describe(facts: &CaseFacts, me: &PartnerId) -> String {
    format!(
        "relations: {}; consent: {}; phase: {}",
        facts
            .relations_of(me)
            .iter()
            .map(|r| r.name())
            .collect::<Vec<_>>()
            .join(", "),
        if facts.consent { "yes" } else { "no" },
        facts.phase.name()
    )
}
