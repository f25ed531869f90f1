//! The Logboek Dataverwerkingen's outward faces (Logius-standaarden/logboek-dataverwerkingen): this node's
//! register of processing activities ([`register`], served at `GET /api/v1/verwerkingsactiviteiten`) and the audit
//! log as OpenTelemetry spans ([`otlp`], `weerthuis audit export --format otlp-json`). The log itself is
//! [`crate::audit`]; the link between the two sides of a disclosure (`foreign_operation`) is made by the sync
//! session (`crate::sync`).

pub mod otlp;
pub mod register;

use crate::service::Node;
use crate::store::StoreError;

pub use register::{Activity, Register};

/// The register of `node`: under the policy in force, with the flows of every other policy version it holds (a
/// stored version whose text no longer parses is left out, and logged).
pub async fn register_of(node: &Node) -> Result<Register, StoreError> {
    let current = node.policy();
    let mut earlier = Vec::new();
    for stored in node.store().policies().await?.into_iter().rev() {
        if stored.version == current.meta.version {
            continue;
        }
        match policies::Policy::parse(&stored.body) {
            Ok(p) => earlier.push(p),
            Err(e) => {
                tracing::warn!(version = %stored.version, error = %e, "a stored policy version does not parse: its flows are not in the register");
            }
        }
    }
    Ok(Register::build(node.partner(), &current, &earlier))
}

/// Why the log could not be exported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The log could not be read.
    #[error("reading the audit log: {0}")]
    Store(#[from] StoreError),
    /// The chain is broken: a log that was tampered with is not exported as if it were sound.
    #[error("the audit chain is broken, nothing exported: {0}")]
    Chain(#[from] crate::audit::AuditError),
    /// A stored entry does not parse (the chain verified, so it was written so).
    #[error("audit entry {seq} does not parse: {reason}")]
    Unreadable {
        /// Its seq.
        seq: u64,
        /// The parser's complaint.
        reason: String,
    },
}

/// The audit log of `node` as an OTLP/JSON `ExportTraceServiceRequest`: the entries that started on a day from
/// `from` to `to` (both inclusive, UTC; `None` is open). The whole chain is verified while it is read.
pub async fn export_otlp(
    node: &Node,
    from: Option<time::Date>,
    to: Option<time::Date>,
) -> Result<otlp::ExportTraceServiceRequest, ExportError> {
    const PAGE: u32 = 1_000;
    let register = register_of(node).await?;
    let mut verifier = crate::audit::ChainVerifier::new();
    let mut entries = Vec::new();
    let mut after = 0;
    loop {
        let page = node.store().audit_records(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in &page {
            verifier.push(r)?;
            let stored = r.parse().map_err(|e| ExportError::Unreadable {
                seq: r.seq,
                reason: e.to_string(),
            })?;
            let day = stored
                .entry
                .start_time
                .to_offset(time::UtcOffset::UTC)
                .date();
            if from.is_none_or(|f| day >= f) && to.is_none_or(|t| day <= t) {
                entries.push(stored);
            }
        }
    }
    Ok(otlp::export(
        &crate::audit::entity_uri(node.partner()),
        &register,
        &entries,
    ))
}
