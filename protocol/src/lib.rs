//! The federation's wire: versioned frames, QUIC endpoints with mutual TLS, the federation PKI, and per-document
//! Automerge sync sessions.
//!
//! **Architecture invariant:** this crate knows documents and peers, not the covenant. It never decides what a
//! peer may have; the node asks the policy. Only this crate knows the wire format.
//!
//! - [`frame`]: `[version][length][postcard payload]`, length checked before allocation.
//! - [`pki`]: the federation CA, node certificates with the partner id as URI SAN, the signed directory.
//! - [`tls`]: mutual TLS that refuses another CA, an expired certificate, or a partner not in the directory.
//! - [`endpoint`]: quinn endpoints and authenticated connections (ALPN `weerthuis/2`, and `weerthuis/1` for nodes of an earlier release).
//! - [`faulty`]: a UDP socket that drops, duplicates, reorders and partitions datagrams (fault injection only).
//! - [`sync`]: one Automerge sync session per (peer, document), persistable.
//! - [`inbox`]: queues bounded by bytes; a connection's messages read ahead into one.
//! - [`trace`]: the W3C `traceparent` a sync message carries to link the two sides of a disclosure.
//! - [`chunks`]: what a sync message's Automerge chunks decompress to, bounded before Automerge inflates them.

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod batch;
pub mod chunks;
pub mod endpoint;
pub mod faulty;
pub mod frame;
pub mod inbox;
pub mod pki;
pub mod sync;
pub mod tls;
pub mod trace;

pub use chunks::{DecompressionError, DecompressionLimits, MAX_DECOMPRESSED_LEN};
pub use endpoint::{Connection, Endpoint, EndpointError, HandshakeLimits};
pub use frame::{FrameError, Message};
pub use inbox::{INBOX_MAX_BYTES, Inbox};
pub use pki::{Directory, DirectoryEntry, FederationCa, PeerId, RevokedKey, SignedDirectory};
pub use tls::{ALPN, ALPN_V1, Admitted, TlsSetup};
