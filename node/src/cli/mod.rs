//! The `weerthuis` command line. `main.rs` only parses arguments and reports errors; each subcommand lives in
//! its own module so it can be tested without a process.

pub mod admin;
pub mod bewaartermijn;
pub mod bijzonder;
pub mod host;
pub mod inzage;
pub mod pki;
pub mod policy;
