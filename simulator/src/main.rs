//! `weerthuis-sim`: run a simulated federation, compare two policies, inject faults, replay an audit log.

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use simulator::{crosscheck, faults, replay, run, whatif};

/// Simulate a Weer Thuis federation in one process: test a policy change before it takes effect.
#[derive(Debug, Parser)]
#[command(name = "weerthuis-sim", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the same population under the current and a proposed policy and report, for a privacy officer, what
    /// the proposal would disclose newly or no longer, every invariant it breaks, and graded findings. Exit status
    /// 1 on a blocking finding.
    WhatIf(whatif::Args),
    /// Simulate a federation under one policy: the calibration report and every disclosure.
    Run(run::Args),
    /// Run real nodes over real QUIC with injected partitions, crashes, loss, duplication and reordering; check
    /// that every node converged and no canary leaked.
    Faults(faults::Args),
    /// Check a proposed policy against the disclosures a node recorded in its audit log.
    Replay(replay::Args),
    /// Play a small population through seven real nodes and check that after every event each holds exactly what
    /// the in-memory simulation says, and — the conformance oracle — that no node stores a value, history
    /// included, the policy does not let it hold. Reports which flows and write rules the run exercised.
    Crosscheck(crosscheck::Args),
}

/// Exit status 1 means the check failed (a blocking finding, a fault run that did not converge or leaked, a
/// calibration out of tolerance); 2 means the command could not run (a policy that does not parse, a missing file).
fn main() -> ExitCode {
    match run_command() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run_command() -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WEERTHUIS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Run(a) => run::main(a),
        Command::WhatIf(a) => whatif::main(a),
        Command::Faults(a) => rt.block_on(faults::main(a)),
        Command::Replay(a) => rt.block_on(replay::main(a)),
        Command::Crosscheck(a) => rt.block_on(crosscheck::main(a)),
    }
}
