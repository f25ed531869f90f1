//! Fault injection: real nodes over real QUIC ([`crate::live`]) with partitions, crashes and restarts, message
//! loss, duplication and reordering; every run ends with the checks that all nodes converged and that no canary
//! leaked.
//!
//! One run is a (seed, fault kind). The seed decides everything that is decided: which nodes are cut off or
//! crashed and from which step of the [`scenario`] until which, the per-datagram probabilities, and each socket's
//! random source (PCG). When a disruption ends is read from the scenario — it lasts until the first step that
//! needs data across it — never from timing. What the network then does (how many datagrams were dropped, when a
//! retransmission came) does depend on timing; it is logged, and kept out of the report, which is byte for byte
//! the same for the same seed when the run passes.
//!
//! **Converged** means: for every ordered pair of nodes and every case, the receiver holds exactly what the
//! sender's sync plan (`node::sync::plan`, computed as the sender's session computes it) says — every document
//! shared whole equal at both ends, and one live projection from the sender equal to the planned one, or none when
//! the plan has none — and the Transferpunt holds every form of every case with consent, equal to its author's;
//! and the state did not change while this was checked.
//!
//! **No leak** means: every canary of every case, searched as raw bytes in every file of every node's data
//! directory, is found only at nodes that may hold it. Who may hold it is derived from the policy: the author of
//! each form holding the value, and from any node that may hold it, every node the policy lets it send that field
//! to (`Policy::allowed_fields`, or a whole-document share between co-writers), under the case's facts after each
//! step — partners of one role never getting each other's instance forms. And each canary must be found at its
//! author, or the check would prove nothing.

pub mod scenario;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use node::store::CaseId;
use policies::{CaseDocuments, FieldSet, PartnerId, Policy, Validator};
use protocol::faulty::{Fate, FateSource, FaultHandle};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64;
use serde_json::Value;

use crate::live::{LiveNet, LiveOptions, eventually, files_contain};
use scenario::{Act, Actor, CASES, PARTNERS, Step, TP};

/// A kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Kind {
    /// A seed-chosen pair of nodes, or one node from all others, cut off at the UDP level for a while.
    Partition,
    /// A seed-chosen node crashed mid-scenario and restarted from its data directory.
    Crash,
    /// Every datagram lost with a seed-chosen probability.
    Loss,
    /// Every datagram sent twice with a seed-chosen probability.
    Duplication,
    /// Every datagram held back behind the next with a seed-chosen probability.
    Reordering,
}

impl Kind {
    /// Every kind, in order.
    pub const ALL: [Kind; 5] = [
        Kind::Partition,
        Kind::Crash,
        Kind::Loss,
        Kind::Duplication,
        Kind::Reordering,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Partition => "partition",
            Kind::Crash => "crash",
            Kind::Loss => "loss",
            Kind::Duplication => "duplication",
            Kind::Reordering => "reordering",
        }
    }
}

/// Which kinds to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KindArg {
    /// Partitions.
    Partition,
    /// Crashes and restarts.
    Crash,
    /// Message loss.
    Loss,
    /// Duplication.
    Duplication,
    /// Reordering.
    Reordering,
    /// Every kind in turn.
    All,
}

impl KindArg {
    fn kinds(self) -> Vec<Kind> {
        match self {
            KindArg::Partition => vec![Kind::Partition],
            KindArg::Crash => vec![Kind::Crash],
            KindArg::Loss => vec![Kind::Loss],
            KindArg::Duplication => vec![Kind::Duplication],
            KindArg::Reordering => vec![Kind::Reordering],
            KindArg::All => Kind::ALL.to_vec(),
        }
    }
}

/// Options of `weerthuis-sim faults`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How many seeds, from `--seed` on.
    #[arg(long, default_value_t = 1)]
    pub runs: u64,
    /// Which fault kind.
    #[arg(long, value_enum, default_value_t = KindArg::All)]
    pub kind: KindArg,
    /// Write the Markdown report here instead of to standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// How long to wait, at most, for a step's data or for convergence, in seconds.
    #[arg(long, default_value_t = 120)]
    pub limit: u64,
}

/// Run `weerthuis-sim faults`: every (seed, kind) asked for; the report to `--out` or standard output; the
/// failing seeds and how to replay them on standard error; a non-zero exit when a run failed.
pub async fn main(args: Args) -> anyhow::Result<ExitCode> {
    let options = RunOptions {
        limit: Duration::from_secs(args.limit),
        ..RunOptions::default()
    };
    let mut report = String::new();
    let mut failed = Vec::new();
    for seed in args.seed..args.seed.saturating_add(args.runs) {
        for kind in args.kind.kinds() {
            let started = Instant::now();
            let run = run(seed, kind, &options).await?;
            eprintln!(
                "seed {seed} {}: {} in {:.1} s; datagrams {}",
                kind.name(),
                if run.passed { "passed" } else { "FAILED" },
                started.elapsed().as_secs_f64(),
                run.counts
            );
            if !run.passed {
                failed.push((seed, kind));
            }
            report.push_str(&run.report);
            report.push('\n');
        }
    }
    match &args.out {
        Some(path) => std::fs::write(path, &report)?,
        None => print!("{report}"),
    }
    for (seed, kind) in &failed {
        eprintln!(
            "FAILED: seed {seed}, {}; replay: {}",
            kind.name(),
            replay_command(*seed, *kind)
        );
    }
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The command that replays one run.
pub fn replay_command(seed: u64, kind: Kind) -> String {
    format!("weerthuis-sim faults --seed {seed} --kind {}", kind.name())
}

/// How a run is run (tests change these).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// How long to wait, at most, for a step's data and for convergence.
    pub limit: Duration,
    /// How long to wait for convergence when that should be shorter (negative controls); `None`: `limit`.
    pub settle: Option<Duration>,
    /// A negative control: before the leak check, write this case's canary (by label, e.g.
    /// `reden_dakloosheid`) into a file in this node's data directory, where the check must find it.
    pub plant: Option<(usize, &'static str, &'static str)>,
    /// A negative control: after the scenario, stop the first node's federation side and delete the projections
    /// it received from the second, so the convergence check must fail.
    pub diverge: Option<(&'static str, &'static str)>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            limit: Duration::from_secs(120),
            settle: None,
            plant: None,
            diverge: None,
        }
    }
}

/// The outcome of one run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Whether every node converged and no canary leaked.
    pub passed: bool,
    /// The Markdown report (the same bytes for the same seed and kind, when the run passes).
    pub report: String,
    /// What the sockets did to datagrams (depends on timing: not in the report).
    pub counts: String,
}

// --- What the seed decides.

/// Nodes cut off from each other, or a node down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disruption {
    /// Every datagram between a node of `a` and a node of `b` dropped.
    Cut {
        /// One side.
        a: Vec<&'static str>,
        /// The other.
        b: Vec<&'static str>,
    },
    /// The node crashed.
    Down(&'static str),
}

impl Disruption {
    /// Whether data going from `from` to `to` is stopped by this.
    fn stops(&self, from: &str, to: &str) -> bool {
        match self {
            Disruption::Cut { a, b } => {
                (a.contains(&from) && b.contains(&to)) || (b.contains(&from) && a.contains(&to))
            }
            Disruption::Down(n) => *n == from || *n == to,
        }
    }

    fn describe(&self) -> String {
        match self {
            Disruption::Cut { a, b } if a.len() == 1 && b.len() == 1 => {
                format!("`{}` and `{}` cut off from each other", a[0], b[0])
            }
            Disruption::Cut { a, .. } => format!("`{}` cut off from every other node", a[0]),
            Disruption::Down(n) => {
                format!("`{n}` crashed (dropped), later reopened from its data directory")
            }
        }
    }
}

/// The faults of one run, drawn from its seed.
#[derive(Debug, Clone)]
pub struct Params {
    /// The seed.
    pub seed: u64,
    /// The kind.
    pub kind: Kind,
    /// The disruption (partition, crash), if any.
    pub disruption: Option<Disruption>,
    /// Before which step (0-based) it starts.
    pub from_step: usize,
    /// It lasts at most this many steps.
    pub max_steps: usize,
    /// It is held this much longer after the last step it spans, before it ends.
    pub hold: Duration,
    /// Per-datagram probability of loss, in per mille.
    pub loss: u32,
    /// Of duplication, per mille.
    pub duplication: u32,
    /// Of reordering, per mille.
    pub reordering: u32,
}

fn mix(mut x: u64) -> u64 {
    // SplitMix64's finaliser: spreads nearby seeds over the whole range.
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Params {
    /// Draw the faults of a run.
    pub fn draw(seed: u64, kind: Kind, steps: usize) -> Params {
        let mut rng = Pcg64::seed_from_u64(mix(seed) ^ (kind as u64 + 1));
        let mut p = Params {
            seed,
            kind,
            disruption: None,
            from_step: 0,
            max_steps: 0,
            hold: Duration::ZERO,
            loss: 0,
            duplication: 0,
            reordering: 0,
        };
        match kind {
            Kind::Partition | Kind::Crash => {
                p.disruption = Some(if kind == Kind::Crash {
                    Disruption::Down(PARTNERS[rng.random_range(0..PARTNERS.len())])
                } else if rng.random_bool(0.5) {
                    let x = PARTNERS[rng.random_range(0..PARTNERS.len())];
                    Disruption::Cut {
                        a: vec![x],
                        b: PARTNERS.iter().copied().filter(|p| *p != x).collect(),
                    }
                } else {
                    let i = rng.random_range(0..PARTNERS.len());
                    let j = (i + rng.random_range(1..PARTNERS.len())) % PARTNERS.len();
                    Disruption::Cut {
                        a: vec![PARTNERS[i.min(j)]],
                        b: vec![PARTNERS[i.max(j)]],
                    }
                });
                p.from_step = rng.random_range(1..steps - 1);
                p.max_steps = rng.random_range(2..=8);
                p.hold = Duration::from_millis(rng.random_range(2..=12) * 250);
            }
            Kind::Loss => p.loss = rng.random_range(50..=200),
            Kind::Duplication => p.duplication = rng.random_range(50..=200),
            Kind::Reordering => p.reordering = rng.random_range(50..=200),
        }
        p
    }

    fn lossy(&self) -> bool {
        self.loss + self.duplication + self.reordering > 0
    }
}

fn per_mille(x: u32) -> String {
    format!("{}.{} %", x / 10, x % 10)
}

/// Each socket's fates: its own PCG stream, seeded from the run's seed, the node and its incarnation.
struct SeededFates {
    rng: Pcg64,
    loss: u32,
    duplication: u32,
    reordering: u32,
}

impl FateSource for SeededFates {
    fn fate(&mut self, _to: std::net::SocketAddr, _len: usize) -> Fate {
        let x: u32 = self.rng.random_range(0..1000);
        if x < self.loss {
            Fate::Drop
        } else if x < self.loss + self.duplication {
            Fate::Duplicate
        } else if x < self.loss + self.duplication + self.reordering {
            Fate::Reorder
        } else {
            Fate::Deliver
        }
    }
}

// --- The model: what may be where, from the policy.

/// Per case: the forms as their authors wrote them (section → value, authors).
#[derive(Default)]
struct Model {
    sections: BTreeMap<String, (Value, BTreeSet<String>)>,
    /// (section, field) → nodes that may hold it (union over every step).
    may_hold: BTreeMap<(String, String), BTreeSet<String>>,
}

impl Model {
    fn update(&mut self, policy: &Policy, validator: &Validator<'_>) {
        let mut docs = CaseDocuments::new();
        for (section, (json, _)) in &self.sections {
            let Some((kind, _)) = node::sync::projection::parse_section(section) else {
                continue;
            };
            if let Ok(form) = validator
                .form(kind, json)
                .or_else(|_| validator.partial_form(kind, json))
            {
                docs.insert(form);
            }
        }
        let partners: Vec<PartnerId> = PARTNERS
            .iter()
            .map(|p| p.parse().expect("partner ids"))
            .collect();
        let facts = docs.facts(partners.iter());
        for (section, (json, authors)) in &self.sections {
            let Some((kind, instance)) = node::sync::projection::parse_section(section) else {
                continue;
            };
            let addressee: Option<PartnerId> = instance.parse().ok();
            let Value::Object(fields) = json else {
                continue;
            };
            for field in fields.keys() {
                let Some(fid) = kind.field(field) else {
                    continue;
                };
                let mut holders: BTreeSet<String> = authors.clone();
                loop {
                    let mut more = Vec::new();
                    for s in &holders {
                        let sender: PartnerId = s.parse().expect("partner id");
                        for r in &partners {
                            if holders.contains(&r.to_string()) {
                                continue;
                            }
                            let allowed: FieldSet = policy
                                .allowed_fields(&facts, &sender, r)
                                .iter()
                                .map(|a| a.field)
                                .collect();
                            let whole = FieldSet::document(kind);
                            let writes = policy.writable(r.role(), &facts.relations_of(r));
                            // Whole only between co-writers, and only what no third party wrote.
                            let shared_whole = !whole.intersection(writes).is_empty()
                                && allowed.union(writes).intersection(whole) == whole
                                && authors.iter().all(|a| a == s || *a == r.to_string());
                            // Partners of one role never get each other's instance forms in a projection.
                            let peer_form = addressee
                                .as_ref()
                                .is_some_and(|a| a.role() == r.role() && a != r);
                            if shared_whole || (allowed.contains(fid) && !peer_form) {
                                more.push(r.to_string());
                            }
                        }
                    }
                    if more.is_empty() {
                        break;
                    }
                    holders.extend(more);
                }
                self.may_hold
                    .entry((section.clone(), field.clone()))
                    .or_default()
                    .extend(holders);
            }
        }
    }

    /// Who may hold a canary value, and who wrote it.
    fn canary(&self, value: &str) -> (BTreeSet<String>, BTreeSet<String>) {
        let mut may = BTreeSet::new();
        let mut authors = BTreeSet::new();
        for (section, (json, by)) in &self.sections {
            let Value::Object(fields) = json else {
                continue;
            };
            for (field, v) in fields {
                if v.to_string().contains(value) {
                    authors.extend(by.iter().cloned());
                    if let Some(h) = self.may_hold.get(&(section.clone(), field.clone())) {
                        may.extend(h.iter().cloned());
                    }
                }
            }
        }
        may.extend(authors.iter().cloned());
        (may, authors)
    }
}

// --- A run.

struct Runner {
    net: LiveNet,
    params: Params,
    steps: Vec<Step>,
    cases: Vec<Option<CaseId>>,
    assigned: Vec<Option<String>>,
    models: Vec<Model>,
    log: Vec<String>,
    /// The steps taken: case, writer, what.
    done: Vec<(usize, String, String)>,
    errors: Vec<String>,
    active: Option<Disruption>,
    limit: Duration,
}

fn resolve(actor: Actor, assigned: &Option<String>) -> String {
    match actor {
        Actor::Node(n) => n.to_string(),
        Actor::Assigned => assigned.clone().unwrap_or_default(),
    }
}

/// The nodes' clock: a fixed date, moving on with real time, so what a node dates itself is the same in every run.
fn clock() -> node::store::Clock {
    let base = time::macros::datetime!(2025-12-01 09:00 UTC);
    let started = Instant::now();
    Arc::new(move || base + started.elapsed())
}

/// Run one (seed, kind).
pub async fn run(seed: u64, kind: Kind, options: &RunOptions) -> anyhow::Result<Run> {
    let steps = scenario::steps(seed);
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
        cases: vec![None; CASES],
        assigned: vec![None; CASES],
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
        for case in r.cases.iter().flatten() {
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
        let c = scenario::canaries(seed, case);
        if let Some((_, value)) = c.labelled().into_iter().find(|(l, _)| *l == label) {
            std::fs::write(r.net.get(at).path().join("planted.bin"), value)?;
        }
    }
    let leaks = r.leaks();
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
    fn case(&self, n: usize) -> &CaseId {
        self.cases[n - 1].as_ref().expect("case created")
    }

    /// Whether step `i` needs data across (or a node behind) the active disruption.
    fn blocked_by(&self, i: usize, d: &Disruption) -> bool {
        let s = &self.steps[i];
        let assigned = &self.assigned[s.case - 1];
        let writer = resolve(s.at, assigned);
        if let Disruption::Down(n) = d
            && *n == writer
        {
            return true;
        }
        s.need.as_ref().is_some_and(|need| {
            need.route
                .windows(2)
                .any(|w| d.stops(&resolve(w[0], assigned), &resolve(w[1], assigned)))
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

    async fn end_disruption(&mut self) -> anyhow::Result<()> {
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

    async fn step(&mut self, i: usize) -> anyhow::Result<()> {
        let s = self.steps[i].clone();
        let writer = resolve(s.at, &self.assigned[s.case - 1]);
        if let Some(need) = &s.need {
            let section = need.section.replace(
                "{toegewezen}",
                &resolve(Actor::Assigned, &self.assigned[s.case - 1]),
            );
            let case = self.case(s.case).clone();
            let net = &self.net;
            let ok = eventually(self.limit, || async {
                net.holds(&writer, &case)
                    .await
                    .get(&section)
                    .and_then(|v| v.get(need.field))
                    == Some(&need.value)
            })
            .await;
            if !ok {
                anyhow::bail!(
                    "{writer} never came to hold {section}.{} within {} s",
                    need.field,
                    self.limit.as_secs()
                );
            }
        }
        let touched: Vec<String> = match &s.act {
            Act::Create => {
                self.cases[s.case - 1] = Some(self.net.new_case(&writer).await?);
                self.done
                    .push((s.case, writer.clone(), "case created".into()));
                vec![]
            }
            Act::Write(kind, json) => {
                self.net
                    .write(&writer, self.case(s.case), *kind, None, json)
                    .await?;
                self.done
                    .push((s.case, writer.clone(), kind.name().to_string()));
                vec![node::sync::projection::section_name(
                    *kind,
                    if kind.spec().multiple { &writer } else { "" },
                )]
            }
            Act::Assign => {
                let tp = self.net.get(TP);
                let chosen =
                    node::bemiddeling::assign_corporatie(tp.node(), &tp.user, self.case(s.case))
                        .await?;
                self.assigned[s.case - 1] = Some(chosen.to_string());
                self.done.push((
                    s.case,
                    writer.clone(),
                    format!("corporatie assigned: `{chosen}`"),
                ));
                vec![
                    "beoordeling".to_string(),
                    format!("aanmeldbericht/{chosen}"),
                ]
            }
        };
        // The model: the forms as their authors now hold them, and who may hold what under the facts now.
        let docs = self.net.documents(&writer, self.case(s.case)).await;
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
        for (n, case) in self.cases.iter().enumerate() {
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
        for case in self.cases.iter().flatten() {
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
            for (label, value) in scenario::canaries(self.params.seed, case).labelled() {
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
            for (n, case) in self.cases.iter().enumerate() {
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

    fn report(
        &self,
        converged: bool,
        leaks: &[String],
        digest: &[(String, usize, Vec<String>, u64)],
        passed: bool,
    ) -> String {
        let p = &self.params;
        let mut r = String::new();
        let _ = writeln!(
            r,
            "# Fault injection: seed {}, {}\n\nResult: **{}**. Replay: `{}`\n",
            p.seed,
            p.kind.name(),
            if passed { "passed" } else { "FAILED" },
            replay_command(p.seed, p.kind)
        );
        let _ = writeln!(r, "## Faults drawn from the seed\n");
        if let Some(d) = &p.disruption {
            let _ = writeln!(
                r,
                "- {}: from before step {}, for at most {} steps, held {} ms after the last step it spans",
                d.describe(),
                p.from_step + 1,
                p.max_steps,
                p.hold.as_millis()
            );
        }
        if p.lossy() {
            let _ = writeln!(
                r,
                "- every socket, each datagram: lost {}, duplicated {}, reordered {} (its own PCG stream per \
                 node and incarnation)",
                per_mille(p.loss),
                per_mille(p.duplication),
                per_mille(p.reordering)
            );
        }
        let _ = writeln!(r, "\n## Scenario\n");
        let _ = writeln!(r, "| step | case | at | what |\n|---:|---:|---|---|");
        for (i, (case, at, what)) in self.done.iter().enumerate() {
            let _ = writeln!(r, "| {} | {case} | `{at}` | {what} |", i + 1);
        }
        if !self.log.is_empty() {
            let _ = writeln!(r, "\nDisruption:\n");
            for l in &self.log {
                let _ = writeln!(r, "- {l}");
            }
        }
        let _ = writeln!(r, "\n## Outcome\n");
        let _ = writeln!(r, "- converged: {}", if converged { "yes" } else { "no" });
        if leaks.is_empty() {
            let _ = writeln!(r, "- leaks: none");
        } else {
            let _ = writeln!(r, "- leaks:");
            for l in leaks {
                let _ = writeln!(r, "  - {l}");
            }
        }
        for e in &self.errors {
            let _ = writeln!(r, "- error: {e}");
        }
        let _ = writeln!(
            r,
            "\n## Canaries: who may hold them (from the policy)\n\n| case | canary | may be held by |\n|---:|---|---|"
        );
        for case in 1..=CASES {
            for (label, value) in scenario::canaries(p.seed, case).labelled() {
                let (may, _) = self.models[case - 1].canary(value);
                let _ = writeln!(
                    r,
                    "| {case} | {label} | {} |",
                    may.iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        if !digest.is_empty() {
            let _ = writeln!(
                r,
                "\n## Holdings after convergence\n\n| node | case | sections | content digest |\n|---|---:|---|---|"
            );
            for (id, case, sections, d) in digest {
                let _ = writeln!(
                    r,
                    "| `{id}` | {case} | {} | `{d:016x}` |",
                    if sections.is_empty() {
                        "—".to_string()
                    } else {
                        sections.join(", ")
                    }
                );
            }
        }
        r
    }
}

/// JSON with object keys in order, whatever serde_json's map keeps.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            out.push('{');
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for k in keys {
                out.push_str(&Value::from(k.as_str()).to_string());
                out.push(':');
                canonical(&m[k], out);
                out.push(',');
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for x in a {
                canonical(x, out);
                out.push(',');
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// FNV-1a, 64 bits: a stable digest (the same on every machine and in every version).
fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
