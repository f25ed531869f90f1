//! Bewaartermijn (AVG art. 5(1)(e), storage limitation; Afspraak 8e): every case past this partner's term is erased
//! the way an erasure erases it ([`Node::erase_case`]'s path: documents with their whole history, projections, sync
//! states, the BSN index entry, an audit tombstone, and `Erased` to every partner that received part of it), on the
//! ground [`Grond::Bewaartermijn`].
//!
//! **The term** is the policy's for this node's role (`Retention::for_role`). **It runs from the case's last
//! date**: the latest date any form this node holds of the case records (own forms and what partners projected
//! here: the end of the stay, a besluit, an aanbod, a melding…). Why the data's own dates and not the store's
//! timestamps: a case imported from the Excel monitor years after it ended, or received late from a partner, would
//! otherwise start its term anew on the day it arrived; and why the *latest* date, not the end of the bemiddeling
//! alone: a case without an end (a withdrawn request, a client who left) still ends being needed, and Wmo 2015
//! art. 5.3.4 counts from the last change. A case with no date at all (only a partner's `_meta`) runs from the day
//! this node created it.
//!
//! **The monitor keeps counts, not people.** At the Transferpunt, the case's contribution to the monitor's yearly
//! figures ([`crate::monitor::bewaard::bijdrage`]) is added to the kept aggregates in the erasure's own transaction,
//! so the jaarverslag of any year gives the same figures before and after the purge.
//!
//! **When**: [`Daily`] purges once at `weerthuis run`'s start and then every [`PURGE_EVERY`]; `weerthuis
//! bewaartermijn --dry-run` lists what would go (the same [`Node::expired_cases`] the purge erases), without
//! `--dry-run` purges. "Today" is always a parameter (the node's clock in the daily task), so tests pass it in.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use policies::{CaseDocuments, Value};
use serde::Serialize;
use time::Date;
use tokio::sync::watch;

use crate::monitor::{MonitorCase, add_months, bewaard};
use crate::service::{Node, ServiceError};
use crate::store::CaseId;
use crate::vergetelheid::Grond;

/// How often the running node purges.
pub const PURGE_EVERY: Duration = Duration::from_secs(24 * 60 * 60);

/// A case past its term: what the report shows of it (no personal data: the case id is random, the pseudonym the
/// audit log's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verlopen {
    /// The case.
    pub case: String,
    /// Its pseudonym in the audit log.
    pub pseudoniem: String,
    /// The date its term runs from.
    pub laatste_datum: Date,
    /// The term in years.
    pub termijn_jaren: u32,
    /// The day the term ended (the case may go from this day on).
    pub verlopen_op: Date,
    /// The term's basis, from the policy.
    pub grondslag: String,
}

/// What a purge did: the cases erased and, per case, the partners told.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Opgeschoond {
    /// The cases past their term, in case-id order.
    pub verlopen: Vec<Verlopen>,
    /// Per erased case, the partners told.
    pub told: Vec<(String, Vec<String>)>,
    /// Aggregate rows added to the monitor's kept figures (the Transferpunt only).
    pub cijfers_bewaard: usize,
}

/// The latest date a case's forms record, lists included: the date its term runs from.
pub fn last_date(docs: &CaseDocuments) -> Option<Date> {
    fn of(v: &Value) -> Option<Date> {
        match v {
            Value::Date(d) => Some(*d),
            Value::Records(rs) => rs.iter().flat_map(|r| r.values()).filter_map(of).max(),
            _ => None,
        }
    }
    docs.iter()
        .flat_map(|f| f.fields())
        .filter_map(|(_, v)| of(v))
        .max()
}

/// The day a term of `years` from `from` ends.
pub fn expiry(from: Date, years: u32) -> Date {
    add_months(from, 12 * i32::try_from(years).unwrap_or(i32::MAX / 12))
}

impl Node {
    /// The cases this node holds whose term ended on or before `today`, in case-id order.
    pub async fn expired_cases(&self, today: Date) -> Result<Vec<Verlopen>, ServiceError> {
        let term = self.policy().retention.for_role(self.partner().role());
        let mut out = Vec::new();
        for record in self.store().list_cases().await? {
            let loaded = self.load_case(&record.id).await?;
            let from = last_date(&loaded.docs).unwrap_or(record.created_at.date());
            let verlopen_op = expiry(from, term.years);
            if verlopen_op <= today {
                out.push(Verlopen {
                    case: record.id.to_string(),
                    pseudoniem: self.pseudonymiser().data_subject_id(record.id.as_str()),
                    laatste_datum: from,
                    termijn_jaren: term.years,
                    verlopen_op,
                    grondslag: term.basis.clone(),
                });
            }
        }
        out.sort_by(|a, b| a.case.cmp(&b.case));
        Ok(out)
    }

    /// Erase every case past its term on `today` (see the module docs). A case that fails stops the purge with
    /// its error; the cases erased before it stay erased (each erasure is one transaction), and the next run
    /// takes up the rest.
    pub async fn purge_expired(&self, today: Date) -> Result<Opgeschoond, ServiceError> {
        let verlopen = self.expired_cases(today).await?;
        let keeps_monitor = self.partner().role() == policies::Role::Transferpunt;
        let mut done = Opgeschoond::default();
        for v in &verlopen {
            let case: CaseId = v
                .case
                .parse()
                .map_err(|_| ServiceError::NotFound(v.case.clone()))?;
            let kept = if keeps_monitor {
                let loaded = self.load_case(&case).await?;
                bewaard::bijdrage(&MonitorCase::from_loaded(case.as_str(), &loaded))
            } else {
                Vec::new()
            };
            let erased = self
                .erase_with(None, &case, Grond::Bewaartermijn, &kept)
                .await?;
            done.cijfers_bewaard += kept.len();
            done.told.push((erased.case, erased.told));
        }
        done.verlopen = verlopen;
        if !done.verlopen.is_empty() {
            tracing::info!(
                cases = done.verlopen.len(),
                aggregates = done.cijfers_bewaard,
                "cases past their bewaartermijn erased"
            );
        }
        Ok(done)
    }
}

/// The Dutch report of a purge or of a dry run: per case its id, pseudonym, last date, term and basis — nothing
/// else of the person.
pub fn report(today: Date, verlopen: &[Verlopen], proefdraai: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Bewaartermijn op {today}: {} {} de bewaartermijn voorbij{}.",
        verlopen.len(),
        if verlopen.len() == 1 {
            "casus is"
        } else {
            "casussen zijn"
        },
        if proefdraai {
            " (proefdraai: er is niets verwijderd)"
        } else {
            ""
        }
    );
    for v in verlopen {
        let _ = writeln!(
            out,
            "- casus {} (pseudoniem {}): laatste datum {}, bewaartermijn {} jaar, verstreken op {} — {}{}",
            v.case,
            v.pseudoniem,
            v.laatste_datum,
            v.termijn_jaren,
            v.verlopen_op,
            v.grondslag,
            if proefdraai {
                "; wordt verwijderd"
            } else {
                "; verwijderd, partners die gegevens ontvingen zijn ingelicht"
            }
        );
    }
    out
}

/// The running node's daily purge: once at start, then every [`PURGE_EVERY`], with "today" from the node's clock.
/// Owned by `weerthuis run`, which ends it with [`Daily::shutdown`].
#[derive(Debug)]
pub struct Daily {
    stop: watch::Sender<bool>,
    rounds: watch::Receiver<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Daily {
    /// Start purging on `node` every `every`.
    pub fn start(node: Arc<Node>, every: Duration) -> Daily {
        let (stop, mut stopped) = watch::channel(false);
        let (done, rounds) = watch::channel(0u64);
        // Named like the federation side's lines: several nodes may share one log (`weerthuis host`).
        let span = tracing::info_span!("node", partner = %node.partner());
        let task = tokio::spawn(tracing::Instrument::instrument(
            async move {
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = stopped.changed() => break,
                    }
                    let today = node.clock_now().date();
                    if let Err(e) = node.purge_expired(today).await {
                        // The next round tries again; nothing is half done (each erasure is one transaction).
                        tracing::error!(error = %e, "the bewaartermijn purge failed");
                    }
                    done.send_modify(|n| *n += 1);
                }
            },
            span,
        ));
        Daily { stop, rounds, task }
    }

    /// Rounds finished so far, to wait on (a round that failed counts too).
    pub fn rounds(&self) -> watch::Receiver<u64> {
        self.rounds.clone()
    }

    /// Stop after the round under way, if any.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
