//! The federation's wire: versioned frames, QUIC endpoints with mutual TLS, Automerge sync sessions.
//!
//! This crate knows documents and peers, not the covenant. It is filled in by the federation sync work (#4).
