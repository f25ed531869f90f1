//! Fault injection: real nodes over real QUIC ([`crate::live`]) with partitions, crashes and restarts, message
//! loss, duplication and reordering; every run ends with the checks that all nodes converged and that no canary
//! leaked.
//!
//! One run is a (seed, fault kind). The seed decides everything that is decided: which nodes are cut off or
//! crashed and from which step of the scenario (`node::scenario`, the one the demo plays) until which, the per-datagram probabilities, and each socket's
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

//!
//! The parts: [`cli`] (`weerthuis-sim faults`), `params` (what the seed decides), `model` (who may hold what, from
//! the policy), `runner` (playing the scenario under the faults, convergence and leak checks), `report` (the
//! Markdown report).

pub mod cli;
mod model;
mod params;
mod report;
mod runner;

use std::time::Duration;

pub use cli::{Args, KindArg, main, replay_command};
pub use params::{Disruption, Params};
pub use runner::{FaultError, run};

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
