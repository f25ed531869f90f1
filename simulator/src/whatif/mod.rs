//! `weerthuis-sim what-if --current A --proposed B`: the same population under two policies, for a privacy officer.
//!
//! Borrowed from Google's Policy Simulator and AWS Access Analyzer: every disclosure of the simulation is compared
//! between the two policies and grouped as **newly disclosed**, **no longer disclosed** or **uncertain** (the case
//! had not recorded an attribute the decision may depend on yet, such as the herkomstgemeente); a "no new
//! disclosure" gate; partners that would get data they did not get before; every invariant the proposal breaks
//! (over the whole request space, not only the simulated cases); fields a flow allows but the simulation never
//! sent (data minimisation); and graded findings — **blokkerend** (an invariant broken, or the policy's own
//! examples failing), **risico** (BSN or special personal data newly disclosed, or a partner newly receiving),
//! **waarschuwing** (other new disclosures, writes the proposal refuses, monitor figures lost), **suggestie**
//! (newly allowed but never used) — each with the rule, a fix and one example case told in plain words.
//!
//! The report names clients by number only; the population is synthetic, and no value of a field is printed.
//!
//! [`analyse`] (`analysis.rs`) compares, purely; `findings.rs` grades what it found; `story.rs` tells one change in
//! words; [`report()`] (`report.rs`) writes the sections; [`main`] reads the policies and writes the files.

mod analysis;
mod findings;
mod report;
mod story;

use std::path::PathBuf;
use std::process::ExitCode;

pub use analysis::{Analysis, ChangeKey, ChangeStats, Direction, Example, analyse};
pub use findings::{Finding, Grade};
pub use report::report;
pub use story::story;

use crate::population::{self, Scale};
use crate::run::{progress, read_policy};

/// Options of `weerthuis-sim what-if`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy in force.
    #[arg(long)]
    pub current: PathBuf,
    /// The proposed policy.
    #[arg(long)]
    pub proposed: PathBuf,
    /// The seed of the population: the same seed gives the same report, byte for byte.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Friesland or national.
    #[arg(long, value_enum, default_value_t = Scale::Friesland)]
    pub scale: Scale,
    /// Directory for `wat-als.md` and `wat-als.html`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also fail (exit status 1) when anything is newly disclosed: the "no new disclosure" gate.
    #[arg(long)]
    pub no_new_disclosure: bool,
    /// Simulate every N-th client only: a quick look (the calibration then no longer holds).
    #[arg(long, default_value_t = 1)]
    pub every: usize,
}

/// Run `weerthuis-sim what-if`.
pub fn main(args: Args) -> anyhow::Result<ExitCode> {
    let current = read_policy(&args.current)?;
    let proposed = read_policy(&args.proposed)?;
    let pop = population::generate(args.scale, args.seed).sample(args.every);
    let a = analyse(&current, &proposed, &pop, &progress("compared"));
    let doc = report(&a, &current, &proposed, &pop);
    let md = doc.markdown();
    print!("{md}");
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("wat-als.md"), &md)?;
        std::fs::write(dir.join("wat-als.html"), doc.html())?;
    }
    let fail = a.blocking() || (args.no_new_disclosure && a.newly_disclosed() > 0);
    Ok(if fail {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
