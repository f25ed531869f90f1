//! The Convenant Weer Thuis as code: its data model, validation and completeness, and the policy — the
//! covenant's data agreements written as data — with an evaluator that decides, field by field, who may receive
//! and who may write what.
//!
//! **Architecture invariant:** this crate does no I/O, reads no clock and knows nothing of the network or the
//! database. "Today" is always a parameter. That keeps it deterministic for the simulator and cheap to test.
//!
//! - [`model`]: documents, fields, types ([`model::FieldId`], [`model::FieldSet`]).
//! - [`validate`]: forms from JSON to typed [`form::Form`]s, with every error at once.
//! - [`completeness`]: what is missing before submission; the 8 voorwaarden for bemiddeling.
//! - [`case`]: a case's documents and the facts the policy needs (phase, consent, relations).
//! - [`examples`]: example forms and made-up clients with fictitious BSNs, for the demo, tests and benchmarks.
//! - [`policy`]: the policy language, evaluator, request space, invariants, diff and Dutch explanations.

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod bsn;
pub mod case;
pub mod completeness;
pub mod examples;
pub mod form;
pub mod gemeenten;
pub mod model;
pub mod partner;
pub mod policy;
pub mod validate;
pub mod werkdagen;

pub use case::{CaseDocuments, CaseFacts};
pub use form::{Form, Value};
pub use gemeenten::Gemeenten;
pub use model::{DocumentKind, FieldId, FieldSet};
pub use partner::{Fase, PartnerId, Relation, Role, Voorziening};
pub use policy::{Policy, PolicyError};
pub use validate::{ValidationError, ValidationErrors, Validator};
