//! `weerthuis`: run and manage a node of the Weer Thuis federation.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use node::cli::policy::PolicyCommand;

/// A node of the Weer Thuis federation: each covenant partner's own records, shared as the covenant's policy allows.
#[derive(Debug, Parser)]
#[command(name = "weerthuis", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check, explain, compare a policy, or ask why a partner gets a field.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stdout = std::io::stdout().lock();
    let result = match cli.command {
        Command::Policy(cmd) => node::cli::policy::run(cmd, &mut stdout),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // `{:#}` prints the whole chain: "policy x is refused: policy breaks 1 invariant(s): ...".
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
