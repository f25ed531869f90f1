//! What the seed of a run decides: the disruption, when it starts and how long it may last, and each socket's
//! per-datagram fates.

use std::time::Duration;

use node::scenario::IDS as PARTNERS;
use protocol::faulty::{Fate, FateSource};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64;

use super::Kind;

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
    pub(super) fn stops(&self, from: &str, to: &str) -> bool {
        match self {
            Disruption::Cut { a, b } => {
                (a.contains(&from) && b.contains(&to)) || (b.contains(&from) && a.contains(&to))
            }
            Disruption::Down(n) => *n == from || *n == to,
        }
    }

    pub(super) fn describe(&self) -> String {
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

pub(super) fn mix(mut x: u64) -> u64 {
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

    pub(super) fn lossy(&self) -> bool {
        self.loss + self.duplication + self.reordering > 0
    }
}

pub(super) fn per_mille(x: u32) -> String {
    format!("{}.{} %", x / 10, x % 10)
}

/// Each socket's fates: its own PCG stream, seeded from the run's seed, the node and its incarnation.
pub(super) struct SeededFates {
    pub(super) rng: Pcg64,
    pub(super) loss: u32,
    pub(super) duplication: u32,
    pub(super) reordering: u32,
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
