//! Policy versions travel through the federation as documents signed by the Transferpunt. A node adopts a version
//! only when the signature checks out against the Transferpunt's certificate, the policy keeps every invariant,
//! and its effective date has come. A version that narrows what a partner may hold makes the sync rotate the
//! affected projections (a fresh document; the partner is told to delete the old one).

use policies::{Policy, PolicyError};
use serde::{Deserialize, Serialize};

use crate::audit::hex;
use crate::service::Node;
use crate::store::{StoreError, StoredPolicy};

/// A policy version with the Transferpunt's signature over its exact text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedPolicy {
    /// The policy file (TOML).
    pub body: String,
    /// ECDSA P-256 SHA-256 signature (ASN.1, hex) with the Transferpunt's node key.
    pub signature: String,
}

/// Why a signed policy is not adopted.
#[derive(Debug, thiserror::Error)]
pub enum DistributionError {
    /// The signature does not verify against the Transferpunt's certificate.
    #[error("the policy's signature does not verify against the Transferpunt's certificate")]
    Signature,
    /// The policy is invalid or breaks an invariant.
    #[error("policy refused: {0}")]
    Policy(#[from] PolicyError),
    /// Signing failed.
    #[error("cannot sign: {0}")]
    Key(#[from] protocol::pki::PkiError),
    /// Storage failed.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// Not JSON of a signed policy.
    #[error("not a signed policy: {0}")]
    Format(String),
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    s.len().is_multiple_of(2).then_some(())?;
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

impl SignedPolicy {
    /// Check and sign a policy with the Transferpunt's node key. A policy that does not load is not signed.
    pub fn sign(body: &str, key_pem: &str) -> Result<SignedPolicy, DistributionError> {
        Policy::load(body)?;
        let sig = protocol::pki::sign_with_key(key_pem, body.as_bytes())?;
        Ok(SignedPolicy {
            body: body.to_string(),
            signature: hex(&sig),
        })
    }

    /// Verify against the signer's certificate and load (invariants proved, examples run).
    pub fn verify(
        &self,
        signer: &rustls_pki_types::CertificateDer<'_>,
    ) -> Result<Policy, DistributionError> {
        let sig = unhex(&self.signature).ok_or(DistributionError::Signature)?;
        protocol::pki::verify_with_cert(signer, self.body.as_bytes(), &sig)
            .map_err(|_| DistributionError::Signature)?;
        Ok(Policy::load(&self.body)?)
    }

    /// As JSON bytes, for the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a signed policy serialises")
    }

    /// From JSON bytes.
    pub fn from_bytes(b: &[u8]) -> Result<SignedPolicy, DistributionError> {
        serde_json::from_slice(b).map_err(|e| DistributionError::Format(e.to_string()))
    }
}

/// Store a verified policy version (at the Transferpunt when it publishes; elsewhere when it arrives).
pub async fn store(
    node: &Node,
    signed: &SignedPolicy,
    policy: &Policy,
) -> Result<(), DistributionError> {
    node.store()
        .put_policy(&StoredPolicy {
            version: policy.meta.version.clone(),
            effective_from: policies::form::format_date(policy.meta.effective_from),
            body: signed.body.clone(),
            signature: unhex(&signed.signature).unwrap_or_default(),
        })
        .await?;
    Ok(())
}

/// The signed versions this node holds, to pass on.
pub async fn stored(node: &Node) -> Result<Vec<SignedPolicy>, DistributionError> {
    Ok(node
        .store()
        .policies()
        .await?
        .into_iter()
        .map(|p| SignedPolicy {
            body: p.body,
            signature: hex(&p.signature),
        })
        .collect())
}

/// Put in force the newest stored version whose date has come, if it is not in force yet. Returns its version.
/// The stored versions were verified when they arrived; they are loaded (and so checked) again here.
pub async fn adopt_due(node: &Node) -> Result<Option<String>, DistributionError> {
    let today = policies::form::format_date(node.clock_now().date());
    let current = node.policy();
    let due = node
        .store()
        .policies()
        .await?
        .into_iter()
        .filter(|p| p.effective_from <= today)
        .max_by(|a, b| (&a.effective_from, &a.version).cmp(&(&b.effective_from, &b.version)));
    let Some(due) = due else { return Ok(None) };
    let newer = (due.effective_from.as_str(), due.version.as_str())
        > (
            policies::form::format_date(current.meta.effective_from).as_str(),
            current.meta.version.as_str(),
        );
    if !newer || due.version == current.meta.version {
        return Ok(None);
    }
    let policy = Policy::load(&due.body)?;
    node.set_policy(std::sync::Arc::new(policy));
    Ok(Some(due.version))
}
