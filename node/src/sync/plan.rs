//! What this node shares with a peer for one case: documents whole, and one projection of the rest.
//!
//! A case document travels whole only between its co-writers: when the peer writes part of it, may hold every
//! field of it (it writes them, or a flow lets it receive them from this node), and every change in it was made by
//! this node or by the peer — so no node relays a third party's history. Every other field the policy lets the
//! peer receive from this node goes into the projection this node writes for the peer, with the facts it was
//! decided on.

use std::collections::BTreeSet;

use automerge::ActorId;
use policies::form::Form;
use policies::{FieldSet, PartnerId, Policy};
use serde_json::{Map, Value as Json};

use super::projection::{self, Meta};
use super::wire::DocKeyName;
use crate::service::LoadedCase;
use crate::store::CaseId;

/// A case document as held here: its key, content and who wrote it.
#[derive(Debug, Clone)]
pub struct LocalDoc {
    /// Its key.
    pub key: DocKeyName,
    /// Its content, validated.
    pub form: Form,
    /// The actors of every change in its history.
    pub actors: BTreeSet<ActorId>,
}

/// What to share with one peer for one case.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Case documents shared whole.
    pub full: Vec<DocKeyName>,
    /// The projection's content (empty: no projection), and its fields.
    pub projection: Map<String, Json>,
    /// The fields in the projection.
    pub projected: FieldSet,
    /// For each field the peer may receive from this node, the flow that allows it (for the audit log).
    pub flows: Vec<(policies::FieldId, String)>,
}

/// Decide what `me` shares with `peer` for a case.
pub fn plan(
    policy: &Policy,
    me: &PartnerId,
    peer: &PartnerId,
    loaded: &LoadedCase,
    docs: &[LocalDoc],
) -> Plan {
    let facts = crate::service::facts_of(me, loaded, &[peer]);
    let allowed = policy.allowed_fields(&facts, me, peer);
    let allowed_set: FieldSet = allowed.iter().map(|a| a.field).collect();
    let peer_writes = policy.writable(peer.role(), &facts.relations_of(peer));
    let holdable = allowed_set.union(peer_writes);
    let authors: BTreeSet<ActorId> =
        [crate::doc::actor_for(me), crate::doc::actor_for(peer)].into();

    let mut plan = Plan {
        flows: allowed
            .iter()
            .map(|a| (a.field, policy.flows[a.flow].name.clone()))
            .collect(),
        ..Plan::default()
    };
    let mut project: Vec<(String, &Form)> = Vec::new();
    for d in docs {
        let whole = FieldSet::document(d.key.kind);
        // Whole only between co-writers: the peer writes part of it and may hold all of it.
        let co_writer = !whole.intersection(peer_writes).is_empty();
        if co_writer && holdable.intersection(whole) == whole && d.actors.is_subset(&authors) {
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
    for (section, form) in loaded.projected.iter().zip(&loaded.projected_forms) {
        let held_here = project.iter().any(|(s, _)| s == section)
            || docs
                .iter()
                .any(|d| &projection::section_name(d.key.kind, &d.key.instance) == section);
        if !held_here {
            project.push((section.clone(), form));
        }
    }
    let meta = Meta {
        ontvanger_relaties: facts.relations_of(peer),
        afzender_relaties: facts.relations_of(me),
        fase: facts.phase,
        toestemming: facts.consent,
        voorziening: facts.voorziening,
        beleid: policy.meta.version.clone(),
    };
    // Partners of one role do not see each other's documents: an aanmeldbericht addressed to another corporatie,
    // another gemeente's form. The policy grants fields per kind of document; this keeps them per addressee.
    project.retain(|(section, _)| match section.split_once('/') {
        Some((_, instance)) => instance
            .parse::<PartnerId>()
            .map_or(true, |p| p.role() != peer.role() || &p == peer),
        None => true,
    });
    plan.projection = projection::build(&project, allowed_set, &meta);
    if plan.projection.is_empty()
        && meta
            .ontvanger_relaties
            .iter()
            .any(|r| *r != policies::Relation::Geen)
    {
        // Nothing to send, but the peer relates to the case: tell it how (a corporatie that refused learns it is
        // now an earlier one, and keeps sending its refusal to the Transferpunt).
        plan.projection.insert(
            projection::META.into(),
            serde_json::to_value(&meta).expect("meta serialises"),
        );
    }
    plan.projected = projection::fields_of(&plan.projection);
    plan
}

/// The case documents of a case as `node` holds them, with who wrote them.
pub async fn local_docs(node: &crate::service::Node, case: &CaseId) -> Vec<LocalDoc> {
    let validator = policies::Validator::new(node.gemeenten(), node.clock_now().date());
    let mut out = Vec::new();
    let Ok(metas) = node.store().list_documents(case).await else {
        return out;
    };
    for meta in metas {
        let Ok(Some(stored)) = node.store().load_document(&meta.key).await else {
            continue;
        };
        let Ok(mut am) = stored.to_automerge(node.partner()) else {
            continue;
        };
        let Ok(json) = crate::doc::read_json(&am) else {
            continue;
        };
        let Ok(form) = validator.partial_form(meta.key.kind, &json) else {
            continue;
        };
        let actors = am
            .get_changes(&[])
            .iter()
            .map(|c| c.actor_id().clone())
            .collect();
        out.push(LocalDoc {
            key: DocKeyName::from(&meta.key),
            form,
            actors,
        });
    }
    out
}

/// What `node` shares with `peer` for a case now: the plan its sync session makes (and what the simulator checks
/// convergence against).
pub async fn plan_for(
    node: &crate::service::Node,
    peer: &PartnerId,
    case: &CaseId,
) -> Option<Plan> {
    let loaded = node.load_case(case).await.ok()?;
    let docs = local_docs(node, case).await;
    Some(plan(&node.policy(), node.partner(), peer, &loaded, &docs))
}
