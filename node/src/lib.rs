//! A partner's node in the Weer Thuis federation.
//!
//! - [`cli`]: the `weerthuis` command, one subcommand per module (`policy …`).

pub mod cli;
