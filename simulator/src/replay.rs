//! Replay (being written by its owner; the interface below is what `main.rs` calls).

/// Options of `weerthuis-sim replay`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `weerthuis-sim replay`.
pub async fn main(_args: Args) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("not built yet")
}
