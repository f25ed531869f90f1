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

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

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

/// The partners among `candidates` that the case names at this node (see the module documentation); `None` when
/// the case cannot be read now (it kept changing, the store failed): the next change names them again.
pub(crate) async fn named_by_case(
    node: &Node,
    candidates: &[PartnerId],
    case: &CaseId,
) -> Option<BTreeSet<PartnerId>> {
    let mut named = BTreeSet::new();
    if candidates.is_empty() {
        return Some(named);
    }
    let me = node.partner();
    let exchanged = node.store().exchanged_with(Some(case)).await.ok()?;
    named.extend(
        candidates
            .iter()
            .filter(|c| exchanged.contains(&c.to_string()))
            .cloned(),
    );
    if node.store().get_case(case).await.ok()?.is_none() {
        // Erased or never here: only the partners still to be told of it.
        return Some(named);
    }
    let (loaded, _) = node.case_for_planning(case).await?;
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
    Some(named)
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
        wanted.extend(
            named_by_case(node, &rest, &case.id)
                .await
                .unwrap_or_default(),
        );
    }
    wanted
}

/// Which partners each case names, worked out once per version of the case ([`Node::case_version`]) and shared by
/// every session: a Transferpunt with 2,600 sessions would otherwise plan every changed case 2,600 times, where
/// a handful of partners relate to it. A session skips a case that does not name its peer: its plan for the peer
/// is empty (a plan gives fields only to a partner a flow reaches by a relation or by role, and withdraws only from
/// a partner that received something, and each of these is named).
///
/// Worked out once per version even when many sessions ask at the same moment (each change reaches every session
/// at once): the first works it out, the others wait for its answer. Without that, a Transferpunt's sessions each
/// worked out the same case version side by side — the largest cost of a sync at 260 peers (`perf` on the
/// reconnect bench).
#[derive(Default)]
pub(super) struct Named {
    cases: Mutex<HashMap<CaseId, NamedAt>>,
}

/// The partners a case names, at the case's version then; `None` inside when the case could not be read (then it
/// counts as naming every peer).
type NamedAt = (
    u64,
    Arc<tokio::sync::OnceCell<Option<Arc<BTreeSet<PartnerId>>>>>,
);

impl Named {
    /// Whether `case` names `peer` at this node now. Reading the case costs one load, which pays for itself once it
    /// spares two sessions theirs; with fewer sessions every case counts as naming every peer.
    pub(super) async fn names(
        &self,
        node: &Node,
        directory: &std::sync::RwLock<Directory>,
        sessions: usize,
        case: &CaseId,
        peer: &PartnerId,
    ) -> bool {
        if sessions <= 2 {
            return true;
        }
        let version = node.case_version(case);
        let cell = {
            let mut cases = self.cases.lock().expect("named lock");
            match cases.get(case) {
                Some((v, cell)) if *v == version => cell.clone(),
                _ => {
                    let cell = Arc::new(tokio::sync::OnceCell::new());
                    cases.insert(case.clone(), (version, cell.clone()));
                    cell
                }
            }
        };
        let named = cell
            .get_or_init(|| async {
                let candidates: Vec<PartnerId> = directory
                    .read()
                    .expect("directory lock")
                    .partners
                    .iter()
                    .filter_map(|e| super::partner_of(&e.id))
                    .filter(|p| p != node.partner())
                    .collect();
                named_by_case(node, &candidates, case).await.map(Arc::new)
            })
            .await;
        named.as_ref().is_none_or(|named| named.contains(peer))
    }

    /// Forget everything: a new directory (new partners) or policy (new flows) names anew.
    pub(super) fn clear(&self) {
        self.cases.lock().expect("named lock").clear();
    }
}
