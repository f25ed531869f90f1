//! `weerthuis-sim`: run a simulated federation, compare two policies, inject faults, replay an audit log.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use simulator::{faults, replay};

/// Simulate a Weer Thuis federation in one process: test a policy change before it takes effect.
#[derive(Debug, Parser)]
#[command(name = "weerthuis-sim", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run real nodes over real QUIC with injected partitions, crashes, loss, duplication and reordering; check
    /// that every node converged and no canary leaked.
    Faults(faults::Args),
    /// Check a proposed policy against the disclosures a node recorded in its audit log.
    Replay(replay::Args),
}

fn main() -> anyhow::Result<ExitCode> {
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
        Command::Faults(a) => rt.block_on(faults::main(a)),
        Command::Replay(a) => rt.block_on(replay::main(a)),
    }
}
