//! Fault injection (being written by its owner; the interface below is what `main.rs` calls).

/// Options of `weerthuis-sim faults`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `weerthuis-sim faults`.
pub async fn main(_args: Args) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("not built yet")
}
