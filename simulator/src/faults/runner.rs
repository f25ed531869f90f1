//! Playing the scenario under a run's faults, then the checks: convergence against every sender's plan, and no
//! canary where the policy does not let it be.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use node::scenario::{self, CASES, IDS as PARTNERS, Play, Step, TRANSFERPUNT as TP};
use policies::{PartnerId, Validator};
use protocol::faulty::FaultHandle;
use rand::SeedableRng;
use rand_pcg::Pcg64;
use serde_json::Value;

use super::model::Model;
use super::params::{Disruption, Params, SeededFates, mix};
use super::report::{canonical, fnv};
use super::{Kind, Run, RunOptions};
use crate::live::{LiveNet, LiveOptions, files_contain};

/// A fault run could not be carried out (not: the federation failed a check — that is in [`Run`]).
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// The in-process federation could not be started, or a node not recovered.
    #[error(transparent)]
    Net(#[from] node::harness::LiveError),
    /// A step of the scenario could not be taken.
    #[error(transparent)]
    Scenario(#[from] scenario::ScenarioError),
    /// A node's store failed while the run edited it.
    #[error(transparent)]
    Store(#[from] node::store::StoreError),
    /// A file of the run could not be written.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// One run in progress: the federation, what the seed decided, the scenario's state and the model.
pub(super) struct Runner {
    net: LiveNet,
    pub(super) params: Params,
    steps: Vec<Step>,
    play: Play,
    pub(super) models: Vec<Model>,
    pub(super) log: Vec<String>,
    /// The steps taken: case, writer, what.
    pub(super) done: Vec<(usize, String, String)>,
    pub(super) errors: Vec<String>,
    active: Option<Disruption>,
    limit: Duration,
}

/// The nodes' clock: a fixed date after every date the scenario writes, moving on with real time, so what a node
/// dates itself is the same in every run.
fn clock() -> node::store::Clock {
    let base = time::macros::datetime!(2026-12-01 09:00 UTC);
    let started = Instant::now();
    Arc::new(move || base + started.elapsed())
}

/// Run one (seed, kind).
pub async fn run(seed: u64, kind: Kind, options: &RunOptions) -> Result<Run, FaultError> {
    let steps = scenario::steps(&scenario::canaries(seed));
    let params = Params::draw(seed, kind, steps.len());
    let factory: Option<crate::live::FaultFactory> = if kind == Kind::Crash {
        // A crash needs no socket tricks: the production socket, exactly.
        None
    } else {
        let p = params.clone();
        Some(Box::new(move |id: &PartnerId, incarnation: u32| {
            let node = PARTNERS
                .iter()
                .position(|x| *x == id.to_string())
                .unwrap_or(99) as u64;
            let stream =
                mix(mix(p.seed) ^ (node << 8) ^ u64::from(incarnation) ^ (p.kind as u64) << 16);
            Some(FaultHandle::new(SeededFates {
                rng: Pcg64::seed_from_u64(stream),
                loss: p.loss,
                duplication: p.duplication,
                reordering: p.reordering,
            }))
        }))
    };
    let net = LiveNet::start_with(
        &PARTNERS,
        LiveOptions {
            faults: factory,
            clock: Some(clock()),
            ..LiveOptions::default()
        },
    )
    .await?;
    let mut r = Runner {
        net,
        params,
        steps,
        play: Play::new(),
        models: (0..CASES).map(|_| Model::default()).collect(),
        log: Vec::new(),
        done: Vec::new(),
        errors: Vec::new(),
        active: None,
        limit: options.limit,
    };
    r.play().await;
    r.end_disruption().await?;
    if let Some((at, from)) = options.diverge {
        r.net.stop(at).await;
        let node = r.net.get(at).node().clone();
        let store = node.store();
        for case in r.play.cases.iter().flatten() {
            for p in store.projections_of_case(case).await? {
                if p.sender == from && p.receiver == at {
                    store.delete_projection(&p.wire_id).await?;
                }
            }
        }
    }
    let converged = if r.errors.is_empty() {
        r.converge(options.settle.unwrap_or(options.limit)).await
    } else {
        false
    };
    if let Some((case, label, at)) = options.plant {
        let c = &scenario::canaries(seed)[case - 1];
        if let Some((_, value)) = c.labelled().into_iter().find(|(l, _)| *l == label) {
            std::fs::write(r.net.get(at).path().join("planted.bin"), value)?;
        }
    }
    let leaks = r.leaks();
    // Honest nodes never refuse each other: a refusal stops that document syncing on the connection, so it is
    // named here whether or not the run converged.
    for id in r.net.ids() {
        let refused = r.net.refusals(&id).await;
        r.errors.extend(
            refused
                .into_iter()
                .map(|e| format!("security event between honest nodes: {e}")),
        );
    }
    let digest = if converged {
        r.holdings().await
    } else {
        Vec::new()
    };
    let counts = r.counts();
    let passed = converged && leaks.is_empty() && r.errors.is_empty();
    let report = r.report(converged, &leaks, &digest, passed);
    Ok(Run {
        passed,
        report,
        counts,
    })
}

impl Runner {
    /// Whether step `i` needs data across (or a node behind) the active disruption.
    fn blocked_by(&self, i: usize, d: &Disruption) -> bool {
        let s = &self.steps[i];
        let who = |a| self.play.resolve(s.case, a);
        if let Disruption::Down(n) = d
            && *n == who(s.at)
        {
            return true;
        }
        s.needs.iter().any(|need| {
            need.route
                .windows(2)
                .any(|w| d.stops(&who(w[0]), &who(w[1])))
        })
    }

    async fn play(&mut self) {
        let mut started_at = None;
        for i in 0..self.steps.len() {
            if let Some(d) = self.params.disruption.clone() {
                if i == self.params.from_step && self.active.is_none() && started_at.is_none() {
                    self.start_disruption(&d).await;
                    started_at = Some(i);
                    self.log
                        .push(format!("before step {}: {} — starts", i + 1, d.describe()));
                }
                if let Some(from) = started_at
                    && self.active.is_some()
                {
                    let blocked = self.blocked_by(i, &d);
                    if blocked || i >= from + self.params.max_steps {
                        self.log.push(format!(
                            "before step {}: ends ({}), after {} ms more",
                            i + 1,
                            if blocked {
                                "this step needs what it stops"
                            } else {
                                "its seed-chosen length"
                            },
                            self.params.hold.as_millis()
                        ));
                        if let Err(e) = self.end_disruption().await {
                            self.errors.push(format!("ending the disruption: {e}"));
                            return;
                        }
                    }
                }
            }
            if let Err(e) = self.step(i).await {
                self.errors.push(format!("step {}: {e}", i + 1));
                return;
            }
        }
        if self.active.is_some() {
            self.log.push(format!(
                "after the last step: ends, after {} ms more",
                self.params.hold.as_millis()
            ));
        }
    }

    async fn start_disruption(&mut self, d: &Disruption) {
        match d {
            Disruption::Cut { a, b } => {
                let addr = |n: &str| self.net.get(n).last_addr;
                for (side, other) in [(a, b), (b, a)] {
                    let addrs: Vec<_> = other.iter().filter_map(|n| addr(n)).collect();
                    for n in side {
                        if let Some(h) = &self.net.get(n).faults {
                            h.block(addrs.iter().copied());
                        }
                    }
                }
            }
            Disruption::Down(n) => self.net.crash(n),
        }
        self.active = Some(d.clone());
    }

    async fn end_disruption(&mut self) -> Result<(), FaultError> {
        let Some(d) = self.active.take() else {
            return Ok(());
        };
        tokio::time::sleep(self.params.hold).await;
        match d {
            Disruption::Cut { .. } => {
                for n in self.net.nodes.values() {
                    if let Some(h) = &n.faults {
                        h.heal();
                    }
                }
            }
            Disruption::Down(n) => self.net.recover(n).await?,
        }
        Ok(())
    }

    async fn step(&mut self, i: usize) -> Result<(), FaultError> {
        let s = self.steps[i].clone();
        let done = self.play.step(&self.net, &s, self.limit).await?;
        let writer = done.writer.clone();
        self.done.push((s.case, writer.clone(), done.what));
        let touched = done.touched;
        // The model: the forms as their authors now hold them, and who may hold what under the facts now.
        let docs = self.net.documents(&writer, self.play.case(s.case)).await;
        for section in touched {
            if let Some(json) = docs.get(&section) {
                let entry = self.models[s.case - 1]
                    .sections
                    .entry(section)
                    .or_insert_with(|| (Value::Null, BTreeSet::new()));
                entry.0 = json.clone();
                entry.1.insert(writer.clone());
            }
        }
        let node = self.net.get(&writer).node().clone();
        let validator = Validator::new(node.gemeenten(), node.clock_now().date());
        self.models[s.case - 1].update(&node.policy(), &validator);
        Ok(())
    }

    /// Where the federation is not converged now, in words.
    async fn differences(&self) -> Vec<String> {
        let mut out = Vec::new();
        let ids = self.net.ids();
        for (n, case) in self.play.cases.iter().enumerate() {
            let Some(case) = case else { continue };
            for s in &ids {
                for r in &ids {
                    if s == r {
                        continue;
                    }
                    for d in self.net.plan_differences(s, r, case).await {
                        out.push(format!("case {}: {s} → {r}: {d}", n + 1));
                    }
                }
            }
            let tp = self.net.holds(TP, case).await;
            if scenario::consents(n + 1) {
                for a in &ids {
                    for (section, json) in self.net.documents(a, case).await {
                        if tp.get(&section) != Some(&json) {
                            out.push(format!(
                                "case {}: the Transferpunt does not hold {section} as {a} has it",
                                n + 1
                            ));
                        }
                    }
                }
            }
        }
        out
    }

    /// Everything every node stores of every case (documents and projection records), to see whether anything
    /// moved while the differences were computed.
    async fn fingerprint(&self) -> u64 {
        let mut text = String::new();
        for case in self.play.cases.iter().flatten() {
            for id in self.net.ids() {
                let _ = write!(text, "{id}{:?}", self.net.documents(&id, case).await);
                let node = self.net.get(&id).node();
                for p in node
                    .store()
                    .projections_of_case(case)
                    .await
                    .unwrap_or_default()
                {
                    let _ = write!(text, "{}{}{}", p.wire_id, p.retired, fnv(&p.snapshot));
                }
            }
        }
        fnv(text.as_bytes())
    }

    /// Wait until converged (see the module docs); `false` after the limit, with the differences logged.
    async fn converge(&mut self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        let mut last = Vec::new();
        loop {
            let before = self.fingerprint().await;
            let diffs = self.differences().await;
            if diffs.is_empty() && self.fingerprint().await == before {
                return true;
            }
            if !diffs.is_empty() {
                last = diffs;
            }
            if tokio::time::Instant::now() > deadline {
                for d in &last {
                    tracing::warn!(seed = self.params.seed, "not converged: {d}");
                }
                self.errors.extend(last.into_iter().take(20));
                return false;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Canaries found where the policy does not let them be, or not found at their author: (case, label, node,
    /// what is wrong).
    fn leaks(&self) -> Vec<String> {
        let mut out = Vec::new();
        for case in 1..=CASES {
            let model = &self.models[case - 1];
            for (label, value) in scenario::canaries(self.params.seed)[case - 1].labelled() {
                let (may, authors) = model.canary(value);
                for id in self.net.ids() {
                    let found = files_contain(self.net.get(&id).path(), value);
                    if found && !may.contains(&id) {
                        out.push(format!(
                            "case {case}: {label} found in the data directory of `{id}`, which may not hold it"
                        ));
                    }
                    if !found && authors.contains(&id) {
                        out.push(format!(
                            "case {case}: {label} not found at its author `{id}`: the search is broken"
                        ));
                    }
                }
            }
        }
        out
    }

    /// Per node and case: the sections held and a digest of their content (case ids replaced by case numbers).
    async fn holdings(&self) -> Vec<(String, usize, Vec<String>, u64)> {
        let mut out = Vec::new();
        for id in self.net.ids() {
            for (n, case) in self.play.cases.iter().enumerate() {
                let Some(case) = case else { continue };
                let held = self.net.holds(&id, case).await;
                let mut text = String::new();
                for (section, json) in &held {
                    text.push_str(section);
                    canonical(json, &mut text);
                }
                let text = text.replace(&case.to_string(), &format!("zaak-{}", n + 1));
                out.push((
                    id.clone(),
                    n + 1,
                    held.keys().cloned().collect(),
                    fnv(text.as_bytes()),
                ));
            }
        }
        out
    }

    fn counts(&self) -> String {
        let mut parts = Vec::new();
        for n in self.net.nodes.values() {
            if let Some(h) = &n.faults {
                let (d, l, u, r, p) = h.counts().snapshot();
                parts.push(format!(
                    "{}: {d} sent, {l} lost, {u} duplicated, {r} reordered, {p} cut",
                    n.id
                ));
            }
        }
        if parts.is_empty() {
            "untouched".into()
        } else {
            parts.join("; ")
        }
    }
}
