//! The Weer Thuis simulator: a whole federation in one process, to see what a policy change does before it takes
//! effect.
//!
//! - [`population`]: a synthetic population of clients and their paths through the covenant, calibrated on the
//!   2025 evaluation's figures, from Friesland to national size.
//! - [`federation`]: a deterministic in-memory federation running the nodes' own logic (validation, write checks,
//!   `node::sync::plan` projections) over every event of every case, recording every disclosure.
//! - [`calibration`]: the Transferpunt's monitor (the node's own `monitor` code) over what the simulated
//!   Transferpunt holds, side by side with the published figures.
//! - [`whatif`]: the same population under two policies; disclosures newly made, no longer made and uncertain,
//!   invariant violations, unused fields, graded findings; a Dutch report for a privacy officer.
//! - [`faults`]: real nodes over real QUIC with injected partitions, crashes, loss, duplication and reordering;
//!   convergence and canary checks.
//! - [`replay`]: a proposed policy against the disclosures a node recorded in its audit log.
//! - [`oracle`]: the conformance oracle — every value every real node stores, history included, against what the
//!   policy itself lets that node hold under the case's authoritative facts; independent of the sharing code.

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod calibration;
pub mod crosscheck;
pub mod faults;
pub mod federation;
pub mod live;
pub mod oracle;
pub mod population;
pub mod replay;
pub mod report;
pub mod run;
pub mod whatif;
