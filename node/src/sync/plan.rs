//! What this node shares with a peer for one case: documents whole, and one projection of the rest.
//!
//! **Invariant:** what a peer can reconstruct from everything this node sends it — documents with their whole
//! Automerge history, projections, `_meta` — is a subset of what the policy lets that peer hold under this
//! node's authoritative facts ([`crate::facts`]) at the time of sending.
//!
//! A case document travels whole only when that holds for its entire history: the peer may write into that very
//! instance ([`may_write_into`]: a co-writer, as the zorgaanbieder and the Transferpunt are of the
//! bemiddelingsverzoek), every change in it was made by this node or by the peer (no node relays a third party's
//! history), and every field this node's changes ever set is one a flow lets the peer receive from this node now.
//! Being allowed to *write* part of a kind of document never makes a partner allowed to *hold* another partner's
//! instance of it. Every other field the policy lets the peer receive goes into the projection this node writes for
//! the peer, with the facts it was decided on.

use automerge::ActorId;
use policies::form::Form;
use policies::{CaseFacts, DocumentKind, FieldSet, PartnerId, Policy, Relation};
use serde_json::{Map, Value as Json};

use crate::case::{LoadedCase, LocalDoc};
use crate::projection::{self, Meta};
use crate::store::CaseId;
use crate::store::DocKey;

/// What to share with one peer for one case.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Case documents shared whole.
    pub full: Vec<DocKey>,
    /// The projection's content (empty: no projection), and its fields.
    pub projection: Map<String, Json>,
    /// The fields in the projection.
    pub projection_fields: FieldSet,
    /// For each field the peer may receive from this node, the flow that allows it (for the audit log).
    pub flows: Vec<(policies::FieldId, String)>,
    /// Whether the client consents, as this node knows it.
    pub consent: bool,
    /// When the client's consent is not (or no longer) given: the facts to tell a peer that received this case
    /// before — and only such a peer — so it knows at once (a `_meta` holding no field).
    pub withdrawal_notice: Option<Map<String, Json>>,
}

/// The fields `partner` may write into one document instance, under `facts`: those of its write rules for the
/// kind, if the instance is its to write in. A corporatie's reactie and a gemeente's form are their own
/// (`reactie/<partner>`, `gemeente/<partner>`); a melding belongs to whoever created it; the other kinds to every
/// partner with a write rule for them.
///
/// Pure: what the node accepts from a peer and what it shares whole are both decided with this.
pub fn may_write_into(
    policy: &Policy,
    facts: &CaseFacts,
    partner: &PartnerId,
    key: &DocKey,
    creator: Option<&ActorId>,
) -> FieldSet {
    let writable = policy
        .writable(partner.role(), &facts.relations_of(partner))
        .intersection(FieldSet::document(key.kind));
    let owns = match key.kind {
        DocumentKind::Reactie | DocumentKind::Gemeente => key.instance == partner.to_string(),
        // A melding and an event after placement (huurverloop, ondersteuningsverloop) belong to whoever created it.
        DocumentKind::Melding | DocumentKind::Huurverloop | DocumentKind::Ondersteuningsverloop => {
            creator.is_none_or(|c| *c == crate::doc::actor_for(partner))
        }
        _ => true,
    };
    if owns { writable } else { FieldSet::EMPTY }
}

/// At the Transferpunt: how the partners `peer` exchanges data with under a flow relate to the case — the
/// partners the case's forms name, each told only when a flow connects it with `peer` (either way) under the
/// Transferpunt's facts now. The Transferpunt decides every relation (`crate::facts::decides`), so the peer takes
/// its word; a partner no flow connects with the peer is never named to it.
fn betrokkenen(
    policy: &Policy,
    me: &PartnerId,
    peer: &PartnerId,
    loaded: &LoadedCase,
) -> std::collections::BTreeMap<String, Vec<Relation>> {
    use policies::Role;
    let docs = &loaded.docs;
    let text = |kind, field| docs.first(kind).and_then(|f: &Form| f.text(field));
    let gemeenten = [
        docs.herkomstgemeente(),
        docs.uitstroomgemeente(),
        text(DocumentKind::Registratie, "verblijfgemeente"),
    ]
    .into_iter()
    .flatten()
    .filter_map(|code| PartnerId::new(Role::Gemeente, code).ok());
    let named = [
        text(DocumentKind::Registratie, "betrokken_zorgaanbieder"),
        text(
            DocumentKind::Ondersteuningsplan,
            "uitvoerende_zorgaanbieder",
        ),
        text(DocumentKind::Beoordeling, "toegewezen_corporatie"),
    ]
    .into_iter()
    .flatten()
    .filter_map(|p| p.parse::<PartnerId>().ok());
    let mut candidates: Vec<PartnerId> = gemeenten
        .chain(named)
        .filter(|p| p != me && p != peer && p.role() != Role::Transferpunt)
        .collect();
    candidates.sort();
    candidates.dedup();
    let all: Vec<&PartnerId> = candidates.iter().chain([peer]).collect();
    let facts = crate::facts::facts_of(me, loaded, &all);
    // Each relation on its own: told only when it alone makes a flow connect the two (a gemeente that is both
    // herkomst- and uitstroomgemeente is told to a corporatie as the uitstroomgemeente only).
    let connects = |c: &PartnerId, r: Relation| {
        let mut alone = facts.clone();
        alone.relations.insert(c.clone(), vec![r]);
        !policy.allowed_fields(&alone, peer, c).is_empty()
            || !policy.allowed_fields(&alone, c, peer).is_empty()
    };
    candidates
        .into_iter()
        .map(|c| {
            let relations = facts
                .relations_of(&c)
                .into_iter()
                .filter(|r| *r != Relation::Geen && connects(&c, *r))
                .collect::<Vec<_>>();
            (c.to_string(), relations)
        })
        .filter(|(_, relations)| !relations.is_empty())
        .collect()
}

/// Decide what `me` shares with `peer` for a case.
pub fn plan(
    policy: &Policy,
    me: &PartnerId,
    peer: &PartnerId,
    loaded: &LoadedCase,
    docs: &[LocalDoc],
) -> Plan {
    let facts = crate::facts::facts_of(me, loaded, &[peer]);
    let allowed = policy.allowed_fields(&facts, me, peer);
    let allowed_set: FieldSet = allowed.iter().map(|a| a.field).collect();
    let my_actor = crate::doc::actor_for(me);
    let peer_actor = crate::doc::actor_for(peer);

    let mut plan = Plan {
        consent: facts.consent,
        flows: allowed
            .iter()
            .map(|a| (a.field, policy.flows[a.flow].name.clone()))
            .collect(),
        ..Plan::default()
    };
    let mut project: Vec<(String, &Form)> = Vec::new();
    for d in docs {
        let co_writer =
            !may_write_into(policy, &facts, peer, &d.key, d.creator.as_ref()).is_empty();
        let only_us = d.authors.keys().all(|a| *a == my_actor || *a == peer_actor);
        let mine = d.authors.get(&my_actor).copied().unwrap_or(FieldSet::EMPTY);
        if co_writer && only_us && mine.difference(allowed_set).is_empty() {
            plan.full.push(d.key.clone());
        } else {
            project.push((
                projection::section_name(d.key.kind, &d.key.instance),
                &d.form,
            ));
        }
    }
    // Fields this node received in projections may travel on where a flow says so (a gemeente forwarding an
    // aanmelding), unless this node holds the same form itself.
    for (section, form) in &loaded.projected_sections {
        // A melding belongs to the partner that made it, which sends it itself wherever a flow lets it: passed on
        // by another, the receiver would hold a second copy under the same name (the corporatie's summary of the
        // zorgaanbieder's melding beside the melding itself). The huurverloop does travel on, by design: the
        // Transferpunt passes it to the gemeente and the zorgaanbieder (see the policy).
        if projection::parse_section(section).is_some_and(|(kind, _)| kind == DocumentKind::Melding)
        {
            continue;
        }
        let held_here = project.iter().any(|(s, _)| s == section)
            || docs
                .iter()
                .any(|d| &projection::section_name(d.key.kind, &d.key.instance) == section);
        if !held_here {
            project.push((section.clone(), form));
        }
    }
    let meta = Meta {
        receiver_relations: facts.relations_of(peer),
        sender_relations: facts.relations_of(me),
        phase: facts.phase,
        consent: facts.consent,
        voorziening: facts.voorziening,
        policy_version: policy.meta.version.clone(),
        others: if me.role() == policies::Role::Transferpunt {
            betrokkenen(policy, me, peer, loaded)
        } else {
            Default::default()
        },
    };
    // Partners of one role do not see each other's documents: an aanmeldbericht addressed to another corporatie,
    // another gemeente's form. The policy grants fields per kind of document; this keeps them per addressee.
    project.retain(|(section, _)| match section.split_once('/') {
        // The Transferpunt's answer to a melding goes back to the partner that presented it, and to no one else
        // (Bijlage 1, 7g): the policy grants its fields per role, its instance names the one addressee.
        Some((kind, instance)) if kind == DocumentKind::Voorlegging.name() => {
            policies::model::voorlegging_addressee(instance).as_ref() == Some(peer)
        }
        Some((_, instance)) => instance
            .parse::<PartnerId>()
            .map_or(true, |p| p.role() != peer.role() || &p == peer),
        None => true,
    });
    plan.projection = projection::build(&project, allowed_set, &meta);
    let relates = meta.receiver_relations.iter().any(|r| *r != Relation::Geen);
    let meta_only = || {
        let mut m = Map::new();
        m.insert(
            projection::META.into(),
            serde_json::to_value(&meta).expect("meta serialises"),
        );
        m
    };
    // A partner learns how it relates to a case without receiving data only from the Transferpunt, which assigns
    // and informs (Afspraak 3): every other sender tells a partner something only together with data a flow gives
    // it (and the receiver takes a `_meta` alone only from a sender it already knows to relate).
    let may_tell = me.role() == policies::Role::Transferpunt;
    if plan.projection.is_empty() && relates {
        if !facts.consent {
            // Told only to a partner that received this case before (the session knows): a withdrawal reaches
            // every receiver at once.
            plan.withdrawal_notice = Some(meta_only());
        } else if may_tell {
            // Nothing to send, but the peer relates to the case and the client consented: tell it how (a
            // corporatie that refused learns it is now an earlier one, and keeps sending its refusal to the
            // Transferpunt).
            plan.projection = meta_only();
        }
    }
    plan.projection_fields = projection::fields_of(&plan.projection);
    plan
}

/// What `node` shares with `peer` for a case now: the plan its sync session makes (and what the simulator checks
/// convergence against).
pub async fn plan_for(
    node: &crate::service::Node,
    peer: &PartnerId,
    case: &CaseId,
) -> Option<Plan> {
    let (loaded, docs) = node.case_for_planning(case).await?;
    let plan = plan(&node.policy(), node.partner(), peer, &loaded, &docs);
    Some(unless_erased_at(node, peer, case, plan).await)
}

/// `plan`, or nothing to share when `peer` told this node it erased `case` (`Erased`; its bewaartermijn passed or
/// it erased under art. 17): what it erased must not come back from here. A store that cannot say shares nothing
/// either (fail closed; the session retries).
pub async fn unless_erased_at(
    node: &crate::service::Node,
    peer: &PartnerId,
    case: &CaseId,
    plan: Plan,
) -> Plan {
    match node.store().erased_at_peer(&peer.to_string(), case).await {
        Ok(erased) => unless_erased(plan, erased),
        Err(_) => unless_erased(plan, true),
    }
}

/// [`unless_erased_at`] on what the store said: nothing to share when the peer erased the case.
pub fn unless_erased(plan: Plan, erased_at_peer: bool) -> Plan {
    if erased_at_peer {
        Plan {
            consent: plan.consent,
            ..Plan::default()
        }
    } else {
        plan
    }
}
