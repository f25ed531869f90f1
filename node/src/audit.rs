//! The audit log, after the Dutch draft standard "Logboek Dataverwerkingen" (Logius).
//!
//! One [`AuditEntry`] per processing action and data subject: a read or write of personal data through the API,
//! a disclosure to another node, a message received or refused. It carries the trace context (`trace_id`,
//! `span_id`), the processing activity (the policy flow or API purpose), the data subject pseudonymised
//! ([`Pseudonymiser`]: an HMAC of the case id under a node secret — never the BSN), and the user, case, document
//! and field **names** involved. Field values never enter the log: [`AuditEntry::check`] refuses anything in
//! `fields` that is not the qualified name of a field of the model.
//!
//! The store appends entries in the same transaction as the data write they record
//! (`Store::write_document_with_audit`), so a write whose record cannot be stored is refused. Entries are
//! hash-chained: `hash = SHA-256(prev_hash ‖ entry JSON ‖ seq as 8 bytes big-endian)`, and the stored JSON names its
//! own `seq`, so [`verify`] can tell a changed entry from a removed or a reordered one and name its `seq`.
//! Removing the *last* entries leaves a shorter chain that is still valid; compare the [`ChainHead`] with one
//! recorded elsewhere ([`verify_with_anchor`]) to catch that.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use policies::FieldId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// The `prev_hash` of the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// What kind of processing an entry records (the record's `name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Operation {
    /// Personal data read through the local API or CLI.
    Read,
    /// Personal data written through the local API, the CLI or an import of JSON forms.
    Write,
    /// Personal data taken over from the Transferpunt's earlier records (the Excel uitstroommonitor,
    /// `weerthuis import --xlsx`): a write no partner's form made, recorded as what it is.
    Import,
    /// Data sent to another node under a flow of the policy.
    Disclosure,
    /// Data received from another node and accepted.
    Receipt,
    /// Data received from another node and refused (a security event).
    Refusal,
    /// A decision about the policy in force, not about a data subject: a policy version accepted by this
    /// node's privacy officer, or put in force.
    PolicyDecision,
    /// A sign-in to the werkplek, a failed one or a sign-out: no data subject, but the BIO asks that access
    /// attempts are logged, and the privacy officer reads them beside what was done.
    Authentication,
    /// A case erased at this node (vergetelheid, AVG art. 17): the tombstone that remains, with the case's
    /// pseudonym and the ground, no personal data.
    Erasure,
    /// A value corrected at this node and its document rewritten without history (rectificatie, AVG art. 16), or
    /// a partner's rectification taken: field names, never values.
    Rectification,
    /// A disclosure outside the policy's flows (Afspraak 8f, bijzondere situaties) asked for, or refused by the
    /// privacy officer; an approved one is recorded as a [`Operation::Disclosure`]. Field names, never values.
    SpecialDisclosure,
    /// A data subject's request under the AVG handled at this node (an inzage, art. 15), or an inzageverzoek sent
    /// to or received from a partner. Holds field names, never values.
    DataSubjectRequest,
}

/// The outcome of the processing (`status_code`, as in OpenTelemetry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// It succeeded.
    Ok,
    /// It failed or was refused.
    Error,
}

/// One processing action on one data subject. Holds names, never values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// W3C trace id: 32 lowercase hex digits. The only thing that crosses organisations.
    pub trace_id: String,
    /// W3C span id: 16 lowercase hex digits.
    pub span_id: String,
    /// What was done.
    pub name: Operation,
    /// When the processing started.
    #[serde(with = "time::serde::rfc3339")]
    pub start_time: OffsetDateTime,
    /// When it ended.
    #[serde(with = "time::serde::rfc3339")]
    pub end_time: OffsetDateTime,
    /// Whether it succeeded.
    pub status_code: Status,
    /// `dpl.core.processing_activity_id`: the entry in the register of processing activities — the policy flow
    /// for a disclosure, the API purpose for a local read or write.
    pub processing_activity_id: String,
    /// `dpl.core.data_subject_id`: the data subject pseudonymised ([`Pseudonymiser`]).
    pub data_subject_id: Option<String>,
    /// The user (id) who did it; `None` for the node itself (sync).
    pub user: Option<String>,
    /// The case id (random, never the BSN).
    pub case_id: Option<String>,
    /// The document (`registratie`, or a document id).
    pub document: Option<String>,
    /// The fields involved, by qualified name (`registratie.bsn`). Never their values.
    pub fields: Vec<String>,
    /// The purpose in words (`bemiddeling naar woonruimte`).
    pub purpose: String,
    /// The other partner, for disclosures, receipts and refusals (`corporatie:elkien`).
    pub peer: Option<String>,
    /// The policy version a disclosure was made under.
    pub policy_version: Option<String>,
    /// `foreign_operation`: for a receipt, the sender's record of the same exchange (its disclosure), as the
    /// sender named it in the message. A reference stored as given — its shape checked, nothing decided on it.
    /// Absent from the JSON when `None`, so entries written before it existed hash as they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreign_operation: Option<ForeignOperation>,
}

/// The Logboek's `foreign_operation`: the record of the same processing at another organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignOperation {
    /// The other party's trace id (32 lowercase hex digits).
    pub trace_id: String,
    /// The other party's operation (span) id (16 lowercase hex digits).
    pub operation_id: String,
    /// The other party, as a URI: its certificate's URI SAN (`weerthuis://corporatie/elkien`), taken from the
    /// authenticated connection, never from the message.
    pub entity: String,
}

/// The longest entity URI a `foreign_operation` may hold.
pub const MAX_ENTITY_LEN: usize = 200;

/// A partner as the Logboek's `entity` URI: its certificate's URI SAN, `weerthuis://<role>/<code>`.
pub fn entity_uri(partner: &policies::PartnerId) -> String {
    format!("weerthuis://{}/{}", partner.role().name(), partner.code())
}

/// Why an entry may not be logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditEntryError {
    /// The trace id is not 32 lowercase hex digits.
    #[error("trace id must be 32 lowercase hex digits")]
    TraceId,
    /// The span id is not 16 lowercase hex digits.
    #[error("span id must be 16 lowercase hex digits")]
    SpanId,
    /// Something in `fields` is not a field name of the model (a value, perhaps): refused, so no personal data
    /// can enter the log through it.
    #[error("'fields' holds something that is not a field name of the model (entry {index})")]
    NotAFieldName {
        /// Its position in `fields` (the text itself is not repeated: it might be personal data).
        index: usize,
    },
    /// The end lies before the start.
    #[error("end_time lies before start_time")]
    TimeOrder,
    /// The `foreign_operation` is not two well-formed ids and a `weerthuis://` entity URI.
    #[error(
        "foreign_operation must hold a trace_id of 32 and an operation_id of 16 lowercase hex digits, and a weerthuis:// entity of at most 200 characters"
    )]
    ForeignOperation,
}

impl AuditEntry {
    /// An entry for `operation` at `at` (start and end), succeeded, with fresh trace context: what was done
    /// (`activity`, the register's processing activity) and why (`purpose`). The rest is added with the
    /// methods below; what is not added stays empty.
    pub fn new(
        operation: Operation,
        activity: &str,
        purpose: &str,
        at: OffsetDateTime,
    ) -> AuditEntry {
        AuditEntry {
            trace_id: new_trace_id(),
            span_id: new_span_id(),
            name: operation,
            start_time: at,
            end_time: at,
            status_code: Status::Ok,
            // Bounded: an activity may carry a refusal's reason, and the log is not a place for long texts.
            processing_activity_id: activity.chars().take(500).collect(),
            data_subject_id: None,
            user: None,
            case_id: None,
            document: None,
            fields: Vec::new(),
            purpose: purpose.into(),
            peer: None,
            policy_version: None,
            foreign_operation: None,
        }
    }

    /// It ended at `end` (never before it started).
    pub fn ended(mut self, end: OffsetDateTime) -> AuditEntry {
        self.end_time = end.max(self.start_time);
        self
    }

    /// It failed, or was refused.
    pub fn failed(mut self) -> AuditEntry {
        self.status_code = Status::Error;
        self
    }

    /// About this case, whose data subject is `pseudonym` ([`Pseudonymiser::data_subject_id`]).
    pub fn case(mut self, case_id: &str, pseudonym: String) -> AuditEntry {
        self.case_id = Some(case_id.into());
        self.data_subject_id = Some(pseudonym);
        self
    }

    /// By this user.
    pub fn user(mut self, user: Option<String>) -> AuditEntry {
        self.user = user;
        self
    }

    /// About this document.
    pub fn document(mut self, document: Option<String>) -> AuditEntry {
        self.document = document;
        self
    }

    /// Involving these fields (their names).
    pub fn fields<'a>(mut self, fields: impl IntoIterator<Item = &'a FieldId>) -> AuditEntry {
        self.fields = fields.into_iter().map(|f| f.qualified_name()).collect();
        self
    }

    /// With this other partner.
    pub fn peer(mut self, peer: &str) -> AuditEntry {
        self.peer = Some(peer.into());
        self
    }

    /// Under this policy version.
    pub fn policy_version(mut self, version: &str) -> AuditEntry {
        self.policy_version = Some(version.into());
        self
    }

    /// Linked to the other party's record of the same exchange.
    pub fn foreign_operation(mut self, foreign: Option<ForeignOperation>) -> AuditEntry {
        self.foreign_operation = foreign;
        self
    }

    /// Check the entry before it is stored: trace context well formed, only field names in `fields`.
    pub fn check(&self) -> Result<(), AuditEntryError> {
        if !is_lower_hex(&self.trace_id, 32) {
            return Err(AuditEntryError::TraceId);
        }
        if !is_lower_hex(&self.span_id, 16) {
            return Err(AuditEntryError::SpanId);
        }
        if let Some(index) = self.fields.iter().position(|f| FieldId::parse(f).is_none()) {
            return Err(AuditEntryError::NotAFieldName { index });
        }
        if self.end_time < self.start_time {
            return Err(AuditEntryError::TimeOrder);
        }
        if let Some(f) = &self.foreign_operation
            && !(is_lower_hex(&f.trace_id, 32)
                && is_lower_hex(&f.operation_id, 16)
                && f.entity.starts_with("weerthuis://")
                && f.entity.len() <= MAX_ENTITY_LEN
                && f.entity.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(AuditEntryError::ForeignOperation);
        }
        Ok(())
    }

    /// The JSON stored for this entry as entry `seq`, recorded at `at`: the text that is hashed.
    pub fn stored_json(&self, seq: u64, at: OffsetDateTime) -> String {
        serde_json::to_string(&StoredEntry {
            seq,
            recorded_at: at,
            entry: self.clone(),
        })
        .expect("an audit entry always serialises")
    }
}

/// An entry as stored: its own seq and recording time, then the entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEntry {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// When the store appended it.
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    /// The entry.
    #[serde(flatten)]
    pub entry: AuditEntry,
}

/// A fresh W3C trace id (32 hex digits) from the operating system's randomness.
pub fn new_trace_id() -> String {
    hex(&rand::random::<[u8; 16]>())
}

/// A fresh W3C span id (16 hex digits).
pub fn new_span_id() -> String {
    hex(&rand::random::<[u8; 8]>())
}

/// Turns case ids into `dpl.core.data_subject_id` values: HMAC-SHA-256 under a node secret, so the log can be
/// shown or exported without the case id, and the same subject still has one id within this node.
#[derive(Clone)]
pub struct Pseudonymiser {
    key: [u8; 32],
}

impl fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonymiser(..)")
    }
}

impl Pseudonymiser {
    /// A pseudonymiser with the node's secret key.
    pub fn new(key: [u8; 32]) -> Self {
        Pseudonymiser { key }
    }

    /// The pseudonymous data subject id of a case (64 hex digits).
    pub fn data_subject_id(&self, case_id: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC takes any key length");
        mac.update(b"weerthuis data subject\0");
        mac.update(case_id.as_bytes());
        hex(&mac.finalize().into_bytes())
    }
}

/// One stored audit record, as read back from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// When it was recorded.
    pub at: OffsetDateTime,
    /// The stored entry JSON ([`StoredEntry`]), exactly as hashed.
    pub entry: String,
    /// The previous record's hash ([`GENESIS`] for the first).
    pub prev_hash: Vec<u8>,
    /// This record's hash.
    pub hash: Vec<u8>,
}

impl AuditRecord {
    /// The entry, parsed.
    pub fn parse(&self) -> Result<StoredEntry, serde_json::Error> {
        serde_json::from_str(&self.entry)
    }
}

/// The chain hash of an entry: `SHA-256(prev_hash ‖ entry_json ‖ seq as 8 bytes big-endian)`.
pub fn chain_hash(prev_hash: &[u8], entry_json: &str, seq: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev_hash);
    h.update(entry_json.as_bytes());
    h.update(seq.to_be_bytes());
    h.finalize().into()
}

/// The last entry of a verified chain: record it elsewhere (print it, send it to the Transferpunt) to detect a
/// chain cut short later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// Number of entries (the last seq; 0 for an empty log).
    pub seq: u64,
    /// The last entry's hash ([`GENESIS`] for an empty log).
    pub hash: [u8; 32],
}

impl fmt::Display for ChainHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, hex(&self.hash))
    }
}

/// What is wrong with an audit chain. Each variant names the first `seq` where it shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The entry at `seq` (or its hash) was changed after it was written.
    #[error("audit entry {seq} was changed after it was written")]
    Changed {
        /// The entry.
        seq: u64,
    },
    /// The entry at `seq` is missing.
    #[error("audit entry {seq} was removed")]
    Removed {
        /// The first missing seq.
        seq: u64,
    },
    /// The entry stored at `seq` was written as entry `written_as`: entries were moved.
    #[error("audit entry {seq} holds entry {written_as}: entries were reordered")]
    Reordered {
        /// Where it was found.
        seq: u64,
        /// Where it was written.
        written_as: u64,
    },
    /// The entry at `seq` is intact, but does not follow the entry before it.
    #[error("audit entry {seq} does not follow entry {}", seq - 1)]
    BrokenLink {
        /// The entry.
        seq: u64,
    },
    /// The chain is shorter than, or differs from, a head recorded earlier.
    #[error(
        "the audit log does not reach the recorded head {anchor}: entries after {seq} were removed or changed"
    )]
    Truncated {
        /// The last seq present.
        seq: u64,
        /// The head recorded earlier.
        anchor: String,
    },
}

impl AuditError {
    /// The seq the error names.
    pub fn seq(&self) -> u64 {
        match self {
            AuditError::Changed { seq }
            | AuditError::Removed { seq }
            | AuditError::Reordered { seq, .. }
            | AuditError::BrokenLink { seq }
            | AuditError::Truncated { seq, .. } => *seq,
        }
    }
}

/// Checks a chain one record at a time, in seq order, so a long log need not be in memory at once.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    head: ChainHead,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier {
            head: ChainHead {
                seq: 0,
                hash: GENESIS,
            },
        }
    }
}

impl ChainVerifier {
    /// A verifier expecting entry 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// Check the next record.
    pub fn push(&mut self, r: &AuditRecord) -> Result<(), AuditError> {
        let expected = self.head.seq + 1;
        if r.seq > expected {
            return Err(AuditError::Removed { seq: expected });
        }
        if r.seq < expected {
            return Err(AuditError::Reordered {
                seq: r.seq,
                written_as: r.seq,
            });
        }
        let seq = r.seq;
        let written_as = serde_json::from_str::<SeqOnly>(&r.entry)
            .ok()
            .map(|s| s.seq);
        let self_consistent = |s: u64| chain_hash(&r.prev_hash, &r.entry, s)[..] == r.hash[..];
        match written_as {
            Some(w) if w != seq && self_consistent(w) => {
                return Err(AuditError::Reordered { seq, written_as: w });
            }
            Some(w) if w == seq && self_consistent(seq) => {}
            _ => return Err(AuditError::Changed { seq }),
        }
        if r.prev_hash[..] != self.head.hash[..] {
            return Err(AuditError::BrokenLink { seq });
        }
        self.head = ChainHead {
            seq,
            hash: r.hash[..]
                .try_into()
                .map_err(|_| AuditError::Changed { seq })?,
        };
        Ok(())
    }

    /// The head after the records pushed so far.
    pub fn head(&self) -> &ChainHead {
        &self.head
    }
}

#[derive(Deserialize)]
struct SeqOnly {
    seq: u64,
}

/// Verify a whole chain, records in seq order. Returns its head.
pub fn verify(records: &[AuditRecord]) -> Result<ChainHead, AuditError> {
    let mut v = ChainVerifier::new();
    for r in records {
        v.push(r)?;
    }
    Ok(v.head)
}

/// Verify a chain and check that it still reaches a head recorded earlier (catches removal of the last entries).
pub fn verify_with_anchor(
    records: &[AuditRecord],
    anchor: &ChainHead,
) -> Result<ChainHead, AuditError> {
    let head = verify(records)?;
    let at_anchor = if anchor.seq == 0 {
        Some(&GENESIS[..])
    } else {
        records
            .get(anchor.seq as usize - 1)
            .filter(|r| r.seq == anchor.seq)
            .map(|r| &r.hash[..])
    };
    if at_anchor != Some(&anchor.hash[..]) {
        return Err(AuditError::Truncated {
            seq: head.seq,
            anchor: anchor.to_string(),
        });
    }
    Ok(head)
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && s.bytes().any(|b| b != b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_depend_on_the_key_and_the_case() {
        let a = Pseudonymiser::new([1; 32]);
        let b = Pseudonymiser::new([2; 32]);
        assert_eq!(a.data_subject_id("c1"), a.data_subject_id("c1"));
        assert_ne!(a.data_subject_id("c1"), a.data_subject_id("c2"));
        assert_ne!(a.data_subject_id("c1"), b.data_subject_id("c1"));
        assert_eq!(a.data_subject_id("c1").len(), 64);
    }

    #[test]
    fn ids_are_well_formed() {
        assert!(is_lower_hex(&new_trace_id(), 32));
        assert!(is_lower_hex(&new_span_id(), 16));
    }
}
