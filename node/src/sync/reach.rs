//! Whom a node connects to (#14): not every partner in the directory, but the Transferpunt always and the other
//! partners only while a case names them.
//!
//! At national size a full mesh is 3.4 million pairs, where a year of the covenant makes ~31,000 pairs exchange
//! anything. So:
//! - **A pair with a Transferpunt stays connected** ([`permanent`]): every case starts there, and the Transferpunt
//!   hands out the directory and the policy versions. Which side dials is the rule of `lifecycle::to_dial`.
//! - **Any other pair connects on demand.** A node dials a partner when a case it holds names it
//!   ([`named_by_case`]): the partner relates to the case by this node's facts (the same facts `plan` decides on),
//!   a flow from this node's role reaches the partner's role without a relation, or the two exchanged something of
//!   the case before (a projection to update or withdraw, a document held whole to take back). At start, and when
//!   the directory or the policy changes, it dials every partner [`wanted`] names; afterwards, on each change of a
//!   case, the partners that case names. The dialling side closes the connection once it has been idle for the
//!   configured time with nothing left to retry; the next change that names the partner dials it again.
//!
//! The set is wider than what a plan shares (a relation without a flow now, a partner that received data once) —
//! a connection too many costs a handshake, a connection too few would leave a partner with a stale copy. A pair
//! of which only the partner without an endpoint has reason to connect is reached once that partner names the
//! other (it cannot be dialled).

use std::collections::BTreeSet;

use policies::{PartnerId, Relation, Role};
use protocol::Directory;

use crate::service::Node;
use crate::store::CaseId;

/// Whether the pair stays connected: it has a Transferpunt in it.
pub(super) fn permanent(me: &PartnerId, peer: &PartnerId) -> bool {
    me.role() == Role::Transferpunt || peer.role() == Role::Transferpunt
}

/// The partners of the directory, other than `me`, that are reached on demand only.
pub(super) fn on_demand_partners(me: &PartnerId, directory: &Directory) -> Vec<PartnerId> {
    directory
        .partners
        .iter()
        .filter_map(|e| super::partner_of(&e.id))
        .filter(|p| p != me && !permanent(me, p))
        .collect()
}

/// The partners among `candidates` that the case names at this node (see the module documentation). Empty when
/// the case cannot be read now (it is gone, or kept changing): the next change names them again.
pub(crate) async fn named_by_case(
    node: &Node,
    candidates: &[PartnerId],
    case: &CaseId,
) -> BTreeSet<PartnerId> {
    let mut named = BTreeSet::new();
    if candidates.is_empty() {
        return named;
    }
    let me = node.partner();
    if let Ok(exchanged) = node.store().exchanged_with(Some(case)).await {
        named.extend(
            candidates
                .iter()
                .filter(|c| exchanged.contains(&c.to_string()))
                .cloned(),
        );
    }
    let Some((loaded, _)) = node.case_for_planning(case).await else {
        return named;
    };
    let policy = node.policy();
    let to_any: BTreeSet<Role> = policy
        .flows
        .iter()
        .filter(|f| f.from == me.role() && f.relations.contains(&Relation::Geen))
        .map(|f| f.to)
        .collect();
    let others: Vec<&PartnerId> = candidates.iter().collect();
    let facts = crate::facts::facts_of(me, &loaded, &others);
    for c in candidates {
        if to_any.contains(&c.role()) || facts.relations_of(c).iter().any(|r| *r != Relation::Geen)
        {
            named.insert(c.clone());
        }
    }
    named
}

/// Every partner among the on-demand ones this node has reason to reach now: named by a case it holds, or owed
/// something by this node (an erasure notice, an inzageverzoek not yet delivered). What the dialler dials at start
/// and whenever the directory or the policy changes.
pub(super) async fn wanted(node: &Node, candidates: &[PartnerId]) -> BTreeSet<PartnerId> {
    let mut wanted = BTreeSet::new();
    if candidates.is_empty() {
        return wanted;
    }
    match node.store().exchanged_with(None).await {
        Ok(exchanged) => wanted.extend(
            candidates
                .iter()
                .filter(|c| exchanged.contains(&c.to_string()))
                .cloned(),
        ),
        Err(e) => tracing::warn!(error = %e, "cannot read whom this node exchanged data with"),
    }
    let cases = match node.store().list_cases().await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the cases to find whom to dial");
            return wanted;
        }
    };
    for case in cases {
        if wanted.len() == candidates.len() {
            break;
        }
        let rest: Vec<PartnerId> = candidates
            .iter()
            .filter(|c| !wanted.contains(*c))
            .cloned()
            .collect();
        wanted.extend(named_by_case(node, &rest, &case.id).await);
    }
    wanted
}
