//! A partner's node in the Weer Thuis federation.
//!
//! - [`cli`]: the `weerthuis` command, one subcommand per module (`policy …`).
//! - [`store`]: the database (SQLite or PostgreSQL): cases, Automerge documents, sync state, users, audit log.
//! - [`doc`]: forms as Automerge documents, and actor ids bound to partner ids.
//! - [`audit`]: audit entries after Logboek Dataverwerkingen, the hash chain and its verification.
//! - [`logboek`]: the register of processing activities the entries name, and the log as OTLP/JSON spans.
//! - [`metrics`]: Prometheus metrics for `GET /metrics` (connections, sync counters, refused messages).
//! - [`monitor`]: the Transferpunt's uitstroommonitor (the `monitor` crate, re-exported) over the cases this node
//!   holds.
//! - [`demo`]: `weerthuis demo`, a whole federation in one process playing the [`scenario`].
//! - [`harness`]: the one in-process federation of real nodes (the demo, the end-to-end tests, the simulator).
//! - [`import`]: the Transferpunt's Excel uitstroommonitor (xlsx or CSV) into cases of its node.
//! - [`scenario`]: the bemiddeling the demo, the end-to-end test and the fault runs play, as data.
//! - [`indienen`]: submitting a bemiddelingsverzoek and sending it back; [`bemiddeling`]: assigning a corporatie;
//!   [`signalen`]: the deadline alerts addressed to this node's own partner.
//! - [`vergetelheid`]: erasing a case (AVG art. 17) and telling the partners that received part of it.

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod access;
pub mod api;
pub mod app;
pub mod audit;
pub mod bemiddeling;
pub mod bereikbaarheid;
pub mod bewaartermijn;
pub mod bijzonder;
pub mod bsn_index;
pub mod case;
pub mod cli;
pub mod config;
pub mod demo;
pub mod directory;
pub mod distribution;
pub mod doc;
pub mod facts;
pub mod harness;
pub mod host;
pub mod huurdermelding;
pub mod import;
pub mod indienen;
pub mod inzage;
pub mod logboek;
pub mod meldingen;
pub mod metrics;
pub mod monitor;
pub mod ops;
pub mod projection;
pub mod rectificatie;
pub mod scenario;
pub mod service;
pub mod signalen;
pub mod store;
pub mod sync;
pub mod vergetelheid;
pub mod werkplek;
pub mod wire;
