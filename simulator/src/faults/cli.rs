//! `weerthuis-sim faults`: its arguments, and running the (seed, kind)s asked for.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::{Kind, RunOptions, run};

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
    pub(super) fn kinds(self) -> Vec<Kind> {
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
