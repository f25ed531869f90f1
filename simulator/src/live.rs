//! A live federation in one process: the node's own harness ([`node::harness`]), re-exported here so the fault,
//! cross-check and oracle runs and the end-to-end tests keep their path to it.

pub use node::harness::*;
