//! Vergetelheid (AVG art. 17): erase a case at this node and tell the partners that received part of it.
//!
//! Every partner is its own controller (Afspraak 8), so erasure here deletes what *this* node holds — its own
//! documents with their whole Automerge history, the projections it received and sent, sync states, the case —
//! in one transaction with an audit tombstone that names only the case's pseudonym and the ground. The write-ahead
//! log is then checkpointed so the old bytes leave the files too (SQLite's `secure_delete` overwrites the freed
//! pages). Each partner that received part of the case is told (art. 17(2) and 19): `Erased`, once per connection
//! until it has been told ([`Node::take_erasure`] is what it does then).
//!
//! **A partner told** deletes what it received from the erasing partner: the documents that partner created and
//! shared whole, its projections — and what it passed on of them: every projection it sent for the case is
//! withdrawn (its receivers delete it) and made anew from what remains. A partner with nothing of its own left in
//! the case erases the case as above, and tells its own receivers in turn, so a value relayed through the
//! Transferpunt to a gemeente goes too. What a partner wrote itself (the Transferpunt's beoordeling) stays: it is
//! its own controller (Afspraak 8), and its own erasure is its own decision.

use policies::FieldId;
use serde::Serialize;

use policies::PartnerId;

use crate::audit::Operation;
use crate::service::{Node, ServiceError};
use crate::store::{CaseId, User};

/// The ground for erasure (AVG art. 17(1) a–e): recorded in the tombstone instead of a free text, so no personal
/// data enters the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Grond {
    /// (a) No longer needed for the purpose it was collected for.
    NietMeerNodig,
    /// (b) Consent withdrawn, and no other basis.
    ToestemmingIngetrokken,
    /// (c) The data subject objected (art. 21) and no overriding ground remains.
    Bezwaar,
    /// (d) Processed unlawfully.
    Onrechtmatig,
    /// (e) A legal obligation to erase.
    WettelijkePlicht,
    /// The bewaartermijn has passed: storage limitation, AVG art. 5(1)(e). Only the purge
    /// (`crate::bewaartermijn`) erases on this ground — it decides from the policy's term and keeps the monitor's
    /// aggregates — so the command line does not offer it.
    #[value(skip)]
    Bewaartermijn,
}

impl Grond {
    /// The article it rests on, in words, for the audit log.
    pub fn basis(self) -> &'static str {
        match self {
            Grond::NietMeerNodig => "AVG art. 17 lid 1 sub a: niet meer nodig voor het doel",
            Grond::ToestemmingIngetrokken => "AVG art. 17 lid 1 sub b: toestemming ingetrokken",
            Grond::Bezwaar => "AVG art. 17 lid 1 sub c: bezwaar",
            Grond::Onrechtmatig => "AVG art. 17 lid 1 sub d: onrechtmatig verwerkt",
            Grond::WettelijkePlicht => "AVG art. 17 lid 1 sub e: wettelijke verplichting",
            Grond::Bewaartermijn => {
                "AVG art. 5 lid 1 sub e: opslagbeperking, de bewaartermijn is verstreken"
            }
        }
    }

    /// The processing activity the tombstone is recorded under.
    pub fn purpose(self) -> &'static str {
        match self {
            Grond::Bewaartermijn => "avg.art5.bewaartermijn",
            _ => "avg.art17",
        }
    }
}

/// What an erasure did.
#[derive(Debug, Clone, Serialize)]
pub struct Erased {
    /// The case erased.
    pub case: String,
    /// The partners that received part of it, and are told.
    pub told: Vec<String>,
}

impl Node {
    /// Erase a case at this node (see the module docs). The partners are told by the federation's sessions: at
    /// once when connected, otherwise at their next connection.
    pub async fn erase_case(
        &self,
        user: &User,
        case: &CaseId,
        grond: Grond,
    ) -> Result<Erased, ServiceError> {
        self.erase_with(Some(user), case, grond, &[]).await
    }

    /// [`Node::erase_case`] by `user`, or by the node itself (the daily purge), adding `kept` to the monitor's
    /// kept aggregates in the erasure's transaction (see `crate::bewaartermijn`).
    pub(crate) async fn erase_with(
        &self,
        user: Option<&User>,
        case: &CaseId,
        grond: Grond,
        kept: &[crate::monitor::bewaard::Cijfer],
    ) -> Result<Erased, ServiceError> {
        self.case_exists(case).await?;
        let _guard = self.write_guard().await;
        let told = self
            .erase_locked(user, case, grond.purpose(), grond.basis(), kept)
            .await?;
        if let Err(e) = self.store().scrub().await {
            tracing::warn!(error = %e, "erased data may linger in the write-ahead log until the next checkpoint");
        }
        tracing::info!(told = told.len(), "case erased");
        self.notify_changed(case);
        Ok(Erased {
            case: case.to_string(),
            told,
        })
    }

    /// Erase a case, the caller holding the write guard: everything in one transaction with the tombstone.
    async fn erase_locked(
        &self,
        user: Option<&User>,
        case: &CaseId,
        purpose: &str,
        basis: &str,
        kept: &[crate::monitor::bewaard::Cijfer],
    ) -> Result<Vec<String>, ServiceError> {
        let now = self.clock_now();
        let tombstone = self
            .case_entry(Operation::Erasure, purpose, basis, case, now)
            .user(user.map(|u| u.id.clone()))
            .fields(std::iter::empty::<&FieldId>());
        Ok(self
            .store()
            .erase_case_keeping(case, &self.partner().to_string(), &tombstone, kept)
            .await?)
    }

    /// `peer` erased `case` and tells this node (see the module docs): delete what it received from `peer` and
    /// withdraw what it passed on; erase the case when nothing of this node's own remains. Returns whether the
    /// whole case was erased here. A case this node does not hold is nothing to do; a peer can only take away
    /// its own contributions this way, never this node's own documents.
    pub async fn take_erasure(
        &self,
        peer: &PartnerId,
        case: &CaseId,
    ) -> Result<bool, ServiceError> {
        let basis = format!("AVG art. 17 lid 2 en art. 19: gewist bij {peer}, de bron");
        let whole = self.forget_from(case, From::Partner(peer), &basis).await?;
        tracing::info!(peer = %peer, whole, "a partner erased a case: what it sent is deleted here");
        Ok(whole)
    }

    /// This node left the federation (removed from the directory, Afspraak 11): delete everything of `case` it
    /// received from any partner — documents others created and shared whole, projections received — and keep
    /// only what it wrote itself (its own controller's records, Afspraak 8). The case goes whole when nothing of
    /// its own is left. Returns whether the whole case was erased here.
    pub async fn forget_received(&self, case: &CaseId, basis: &str) -> Result<bool, ServiceError> {
        self.forget_from(case, From::Everyone, basis).await
    }

    /// The one way to delete what this node received of a case from `from` (see [`Node::take_erasure`]).
    async fn forget_from(
        &self,
        case: &CaseId,
        from: From<'_>,
        basis: &str,
    ) -> Result<bool, ServiceError> {
        let _guard = self.write_guard().await;
        let store = self.store();
        if store.get_case(case).await?.is_none() {
            return Ok(false);
        }
        let me = self.partner().to_string();
        let own_actor = crate::doc::actor_for(self.partner());
        let peer_actor = match from {
            From::Partner(peer) => {
                // The peer erased it (its own bewaartermijn, or art. 17): it gets nothing of the case from here any
                // more, or the projections withdrawn below would be made anew and sent back
                // (`sync::plan::plan_for`).
                store.mark_erased_at_peer(&peer.to_string(), case).await?;
                Some(crate::doc::actor_for(peer))
            }
            From::Everyone => None,
        };
        let sent_by = |sender: &str| match from {
            From::Partner(peer) => sender == peer.to_string(),
            From::Everyone => sender != me,
        };
        let mut own_left = false;
        for d in self.local_docs(case).await {
            let theirs = match &peer_actor {
                Some(actor) => d.creator.as_ref() == Some(actor),
                None => d.creator.as_ref().is_some_and(|c| *c != own_actor),
            };
            if theirs {
                store.delete_document(&d.key).await?;
            } else {
                own_left = true;
            }
        }
        let mut received_left = false;
        for p in store.projections_of_case(case).await? {
            if sent_by(&p.sender) {
                store.delete_projection(&p.wire_id).await?;
            } else if p.sender == me {
                if !p.retired {
                    // Withdrawn: its receiver deletes it at this node's next word, and a new generation is made
                    // from what remains.
                    store
                        .put_projection(&crate::projection::retire(&p, self.partner()))
                        .await?;
                }
            } else if !p.retired {
                received_left = true;
            }
        }
        let whole = !own_left && !received_left;
        if whole {
            self.erase_locked(None, case, "avg.art17", basis, &[])
                .await?;
        } else {
            let now = self.clock_now();
            let mut entry = self.case_entry(Operation::Erasure, "avg.art17", basis, case, now);
            if let From::Partner(peer) = from {
                entry = entry.peer(&peer.to_string());
            }
            store.append_audit(&entry).await?;
            // What it received is gone: its BSN index entries follow.
            self.reindex_bsn_or_mark(case).await;
        }
        if let Err(e) = store.scrub().await {
            tracing::warn!(error = %e, "erased data may linger in the write-ahead log until the next checkpoint");
        }
        self.notify_changed(case);
        Ok(whole)
    }
}

/// Whose contributions to a case [`Node::forget_from`] deletes.
#[derive(Debug, Clone, Copy)]
enum From<'a> {
    /// One partner's: it erased the case.
    Partner(&'a PartnerId),
    /// Every other partner's: this node left the federation.
    Everyone,
}
