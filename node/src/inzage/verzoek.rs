//! The federated inzage: this node tells the person which partners received data about them (its disclosure
//! log) and sends each of them a signed inzageverzoek, which lands in that partner's privacy officer's queue.
//! Each partner answers the person for itself (Afspraak 8: every partner is its own controller); its privacy
//! officer marks the request handled.
//!
//! On the wire the request is an `Artefact` of kind [`KIND_REQUEST`] over the authenticated QUIC connection —
//! no new message type: the protocol carries signed artefacts already (policy versions). It is signed with the
//! sender's node key (ECDSA P-256, as the Transferpunt signs a policy version) over a domain-separated payload,
//! verified at the receiver against the certificate of the connection it came on, and kept as received: the
//! queue holds evidence of who asked what, not only a row. It names the person by the federation's case id
//! (which both partners hold already), never by BSN. The receiver confirms with [`KIND_RECEIPT`]; the sender
//! offers an unconfirmed request again on every connection until it is confirmed.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::audit::{AuditEntry, Operation};
use crate::service::Node;
use crate::store::{CaseId, OutgoingRequest, QueuedRequest, StoreError, User, WriteError};

/// The `Artefact` kind of an inzageverzoek.
pub const KIND_REQUEST: &str = "inzageverzoek";
/// The `Artefact` kind of the receiver's confirmation (its data: the request's id).
pub const KIND_RECEIPT: &str = "inzageverzoek-ontvangen";
/// The processing activity of a request sent.
pub const ACTIVITY_SENT: &str = "avg.art15.inzageverzoek.verzonden";
/// The processing activity of a request received.
pub const ACTIVITY_RECEIVED: &str = "avg.art15.inzageverzoek.ontvangen";
/// The processing activity of a request marked handled.
pub const ACTIVITY_HANDLED: &str = "avg.art15.inzageverzoek.afgehandeld";

/// The most bytes a signed request may have: it is a few short texts.
pub const MAX_REQUEST_LEN: usize = 4096;

/// What a request says. The wire names are Dutch, as the covenant's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verzoek {
    /// A random id (UUID form).
    pub id: String,
    /// The sender's partner id.
    pub van: String,
    /// The receiver's partner id.
    pub aan: String,
    /// The case (the federation's case id).
    pub casus: String,
    /// What is asked.
    pub soort: String,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub gedaan_op: OffsetDateTime,
}

/// A request with its signature, as it travels and is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedVerzoek {
    /// The request's JSON, exactly as signed.
    pub body: String,
    /// ECDSA P-256 over [`payload`]`(body)`, hex.
    pub signature: String,
}

/// What is signed: a fixed label, then the body (so the signature cannot pass as one over a policy version).
pub fn payload(body: &str) -> Vec<u8> {
    let mut p = b"weerthuis inzageverzoek v1\0".to_vec();
    p.extend_from_slice(body.as_bytes());
    p
}

/// Why a request could not be made, sent or taken.
#[derive(Debug, thiserror::Error)]
pub enum VerzoekError {
    /// The node has no key to sign with (no federation configured).
    #[error("this node has no federation key to sign an inzageverzoek with")]
    NoKey,
    /// Signing or verifying failed.
    #[error("signature: {0}")]
    Signature(#[from] protocol::pki::PkiError),
    /// The request is not well formed.
    #[error("not an inzageverzoek: {0}")]
    Malformed(String),
    /// The request names another sender or receiver than the connection it came on.
    #[error("the inzageverzoek names {named}, but came from {actual}")]
    WrongParty {
        /// Who the request names.
        named: String,
        /// Who it is.
        actual: String,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The audit record could not be stored.
    #[error(transparent)]
    Audit(#[from] WriteError),
    /// Reading the disclosure log failed.
    #[error(transparent)]
    Inzage(#[from] super::InzageError),
}

impl SignedVerzoek {
    /// Sign a request with a node key (PKCS#8 PEM).
    pub fn sign(v: &Verzoek, key_pem: &str) -> Result<SignedVerzoek, VerzoekError> {
        let body = serde_json::to_string(v).map_err(|e| VerzoekError::Malformed(e.to_string()))?;
        let sig = protocol::pki::sign_with_key(key_pem, &payload(&body))?;
        Ok(SignedVerzoek {
            body,
            signature: crate::audit::hex(&sig),
        })
    }

    /// The bytes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a signed request serialises")
    }

    /// Parse the bytes from the wire (bounded by [`MAX_REQUEST_LEN`]).
    pub fn from_bytes(data: &[u8]) -> Result<SignedVerzoek, VerzoekError> {
        if data.len() > MAX_REQUEST_LEN {
            return Err(VerzoekError::Malformed(format!(
                "{} bytes, at most {MAX_REQUEST_LEN}",
                data.len()
            )));
        }
        serde_json::from_slice(data).map_err(|e| VerzoekError::Malformed(e.to_string()))
    }

    /// Verify the signature against the signer's certificate, and read the request.
    pub fn verify(
        &self,
        signer: &rustls_pki_types::CertificateDer<'_>,
    ) -> Result<Verzoek, VerzoekError> {
        let sig = unhex(&self.signature)
            .ok_or_else(|| VerzoekError::Malformed("signature is not hex".into()))?;
        protocol::pki::verify_with_cert(signer, &payload(&self.body), &sig)?;
        let v: Verzoek =
            serde_json::from_str(&self.body).map_err(|e| VerzoekError::Malformed(e.to_string()))?;
        if v.casus.parse::<CaseId>().is_err() {
            return Err(VerzoekError::Malformed("casus is not a case id".into()));
        }
        Ok(v)
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Make and store a signed inzageverzoek for every partner that received data about these cases from this node
/// (its disclosure log), one per (partner, case); the federation sends them. Each is recorded in the audit log.
pub async fn request_from_partners(
    node: &Node,
    user: Option<&User>,
    cases: &[CaseId],
) -> Result<Vec<OutgoingRequest>, VerzoekError> {
    let log = super::audit_entries(node.store()).await?;
    let mut pairs: BTreeSet<(String, CaseId)> = BTreeSet::new();
    for e in &log {
        if !super::is_disclosure(&e.entry) {
            continue;
        }
        let (Some(case), Some(peer)) = (&e.entry.case_id, &e.entry.peer) else {
            continue;
        };
        if let Some(c) = cases.iter().find(|c| c.as_str() == case) {
            pairs.insert((peer.clone(), c.clone()));
        }
    }
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let key = node.signing_key().ok_or(VerzoekError::NoKey)?;
    let mut out = Vec::new();
    for (peer, case) in pairs {
        let now = node.clock_now();
        let v = Verzoek {
            id: CaseId::random().to_string(),
            van: node.partner().to_string(),
            aan: peer.clone(),
            casus: case.to_string(),
            soort: "inzage (AVG art. 15)".into(),
            gedaan_op: now,
        };
        let signed = SignedVerzoek::sign(&v, &key)?;
        let req = OutgoingRequest {
            id: v.id.clone(),
            peer: peer.clone(),
            case_id: case.clone(),
            created_at: now,
            signed: signed.to_bytes(),
            delivered_at: None,
        };
        let entry = AuditEntry::new(
            Operation::DataSubjectRequest,
            ACTIVITY_SENT,
            super::PURPOSE_INZAGE,
            now,
        )
        .user(user.map(|u| u.id.clone()))
        .peer(&peer)
        .case(
            case.as_str(),
            node.pseudonymiser().data_subject_id(case.as_str()),
        );
        node.store().append_audit(&entry).await?;
        node.store().add_outgoing_request(&req).await?;
        out.push(req);
    }
    node.outgoing_requests_changed();
    Ok(out)
}

/// Take a request that came from `peer` over a connection with certificate `signer`: verified, addressed to
/// this node, from that peer; queued for the privacy officer (once) and recorded. Returns the request's id, to
/// confirm.
pub async fn receive(
    node: &Node,
    peer: &policies::PartnerId,
    signer: &rustls_pki_types::CertificateDer<'_>,
    data: &[u8],
) -> Result<String, VerzoekError> {
    let signed = SignedVerzoek::from_bytes(data)?;
    let v = signed.verify(signer)?;
    if v.van != peer.to_string() {
        return Err(VerzoekError::WrongParty {
            named: v.van,
            actual: peer.to_string(),
        });
    }
    if v.aan != node.partner().to_string() {
        return Err(VerzoekError::WrongParty {
            named: v.aan,
            actual: node.partner().to_string(),
        });
    }
    let case: CaseId = v
        .casus
        .parse()
        .map_err(|_| VerzoekError::Malformed("casus".into()))?;
    let new = node
        .store()
        .queue_request(&v.id, &v.van, &case, v.gedaan_op, data)
        .await?;
    if new {
        let entry = AuditEntry::new(
            Operation::DataSubjectRequest,
            ACTIVITY_RECEIVED,
            super::PURPOSE_INZAGE,
            node.clock_now(),
        )
        .peer(&v.van)
        .case(
            case.as_str(),
            node.pseudonymiser().data_subject_id(case.as_str()),
        );
        node.store().append_audit(&entry).await?;
        tracing::info!(peer = %peer, request = %v.id, "inzageverzoek queued for the privacy officer");
    }
    Ok(v.id)
}

/// Mark a queued request handled by `user` (the privacy officer answered the person). Recorded.
pub async fn mark_handled(node: &Node, user: &User, id: &str) -> Result<bool, VerzoekError> {
    let queue = node.store().request_queue().await?;
    let Some(q) = queue.iter().find(|q| q.id == id && q.handled_at.is_none()) else {
        return Ok(false);
    };
    let done = node.store().mark_request_handled(id, &user.id).await?;
    if done {
        let entry = AuditEntry::new(
            Operation::DataSubjectRequest,
            ACTIVITY_HANDLED,
            super::PURPOSE_INZAGE,
            node.clock_now(),
        )
        .user(Some(user.id.clone()))
        .peer(&q.sender)
        .case(
            q.case_id.as_str(),
            node.pseudonymiser().data_subject_id(q.case_id.as_str()),
        );
        node.store().append_audit(&entry).await?;
    }
    Ok(done)
}

/// A queued request with whether this node holds the case it names.
#[derive(Debug, Clone)]
pub struct QueueItem {
    /// The request.
    pub request: QueuedRequest,
    /// Whether this node holds the case.
    pub held: bool,
}

/// The privacy officer's queue, each item with whether the case is held here.
pub async fn queue(node: &Node) -> Result<Vec<QueueItem>, StoreError> {
    let mut out = Vec::new();
    for request in node.store().request_queue().await? {
        let held = node.store().get_case(&request.case_id).await?.is_some();
        out.push(QueueItem { request, held });
    }
    Ok(out)
}
