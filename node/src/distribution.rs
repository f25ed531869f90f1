//! Policy versions and their revocations travel through the federation as artefacts signed by the Transferpunt.
//!
//! - **Order.** Every version carries a sequence number *inside* the signed payload ([`SignedPolicy`]). A node
//!   stores a version only when its sequence is above every sequence it holds (an identical repeat is ignored:
//!   the Transferpunt passes every version on at every connection, in sequence order); anything else is a replay
//!   or a conflict and refused as a security event. The version in force is chosen by sequence, never by
//!   comparing labels or dates.
//! - **Revocation.** The Transferpunt signs "revoke sequence N" ([`SignedRevocation`]); a revoked version is never
//!   (again) put in force, and a node that has it in force falls back to the highest version before it that may
//!   be in force.
//! - **Consent of each controller** (Afspraak 8). A version that narrows what this node discloses, or changes
//!   nothing of it, takes effect on its date. One that *widens* it — this node's role, as sender, would send some
//!   receiver a field the version in force does not allow — waits until this node's privacy officer accepts it
//!   ([`accept`], `weerthuis policy accept`). A version that was in force here before needs no new acceptance.
//!
//! The version in force is: the highest sequence whose date has come, that is not revoked, and that is the one in
//! force, was in force here before, was accepted, or does not widen what this node discloses ([`Adopter`]).
//! Nothing higher qualifying, the node's own configured policy (sequence 0) is in force.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use policies::policy::space::{Access, Diff};
use policies::{Policy, PolicyError, Role};
use serde::{Deserialize, Serialize};

use crate::audit::{AuditEntry, Operation, hex};
use crate::service::Node;
use crate::store::{
    PolicyAcceptance, Store, StoreError, StoredPolicy, StoredRevocation, WriteError,
};

/// The `Artefact` kind of a policy version on the wire.
pub const POLICY_KIND: &str = "policy";
/// The `Artefact` kind of a revocation on the wire.
pub const REVOCATION_KIND: &str = "policy-revocation";

/// What a policy version's signature covers comes after this prefix, so no other signature made with the
/// Transferpunt's key (a revocation, a version signed over its text alone before sequence numbers) passes as one.
const POLICY_DOMAIN: &[u8] = b"weerthuis policy version\0";
/// Likewise for a revocation.
const REVOCATION_DOMAIN: &[u8] = b"weerthuis policy revocation\0";

/// The bytes a policy version's signature covers: a domain prefix, the sequence (8 bytes big-endian), the text.
pub fn policy_payload(sequence: u64, body: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(POLICY_DOMAIN.len() + 8 + body.len());
    out.extend_from_slice(POLICY_DOMAIN);
    out.extend_from_slice(&sequence.to_be_bytes());
    out.extend_from_slice(body.as_bytes());
    out
}

/// The bytes a revocation's signature covers: a domain prefix and the revoked sequence (8 bytes big-endian).
pub fn revocation_payload(sequence: u64) -> Vec<u8> {
    let mut out = REVOCATION_DOMAIN.to_vec();
    out.extend_from_slice(&sequence.to_be_bytes());
    out
}

/// A policy version with the Transferpunt's signature over its sequence number and its exact text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedPolicy {
    /// Rises with every version the Transferpunt signs (1, 2, …); decides which version is newest. Signed.
    pub sequence: u64,
    /// The policy file (TOML). Signed.
    pub body: String,
    /// ECDSA P-256 SHA-256 signature (ASN.1, hex) with the Transferpunt's node key over the sequence and body.
    pub signature: String,
}

/// "Revoke the version with this sequence number", signed by the Transferpunt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedRevocation {
    /// The sequence number of the revoked version. Signed.
    pub sequence: u64,
    /// ECDSA P-256 SHA-256 signature (ASN.1, hex) with the Transferpunt's node key.
    pub signature: String,
}

/// Why a policy version or revocation is not signed, stored, accepted or put in force.
#[derive(Debug, thiserror::Error)]
pub enum DistributionError {
    /// The signature does not verify against the Transferpunt's certificate.
    #[error(
        "{what} refused: field `signature` does not verify against the Transferpunt's certificate \
         (rule: only the Transferpunt signs policy versions and revocations)"
    )]
    Signature {
        /// "policy version" or "revocation".
        what: &'static str,
    },
    /// Sequence 0 stands for a node's own configured policy.
    #[error(
        "field `sequence` is 0 (rule: a signed policy version or revocation has sequence 1 or more; 0 stands for \
         a node's own configured policy)"
    )]
    ZeroSequence,
    /// An older version arriving after a newer one: a replay or a rollback.
    #[error(
        "policy version {version} refused: field `sequence` is {sequence}, not above sequence {highest} that this \
         node already holds (rule: sequence numbers only rise; an old version must not roll back a newer one)"
    )]
    Replay {
        /// The refused version's label.
        version: String,
        /// Its sequence.
        sequence: u64,
        /// The highest sequence stored here.
        highest: u64,
    },
    /// Another text under a sequence number already stored.
    #[error(
        "policy version {version} refused: field `sequence` {sequence} already belongs to version {stored} with \
         another text or signature (rule: one signed text per sequence number)"
    )]
    SequenceTaken {
        /// The refused version's label.
        version: String,
        /// Its sequence.
        sequence: u64,
        /// The label stored under that sequence.
        stored: String,
    },
    /// A label already used by another sequence number.
    #[error(
        "policy version {version} (sequence {sequence}) refused: field `version` is already the label of sequence \
         {stored_sequence} (rule: one label per version, as audit records name it)"
    )]
    VersionTaken {
        /// The label.
        version: String,
        /// The refused sequence.
        sequence: u64,
        /// The sequence that has the label.
        stored_sequence: u64,
    },
    /// No stored version has this label or sequence.
    #[error("no policy version with label or sequence {0:?} is stored at this node")]
    UnknownVersion(String),
    /// The version is revoked.
    #[error(
        "policy version {version} (sequence {sequence}) is revoked (rule: a revoked version is never put in force)"
    )]
    Revoked {
        /// Its label.
        version: String,
        /// Its sequence.
        sequence: u64,
    },
    /// The policy is invalid or breaks an invariant.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// Signing failed.
    #[error(transparent)]
    Key(#[from] protocol::pki::PkiError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Storage with the audit log failed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// Not JSON of a signed policy or revocation.
    #[error("not a signed {what}: {detail}")]
    Format {
        /// "policy version" or "revocation".
        what: &'static str,
        /// The parser's complaint.
        detail: String,
    },
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    s.len().is_multiple_of(2).then_some(())?;
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

fn verify_signature(
    signer: &rustls_pki_types::CertificateDer<'_>,
    payload: &[u8],
    signature: &str,
    what: &'static str,
) -> Result<(), DistributionError> {
    let sig = unhex(signature).ok_or(DistributionError::Signature { what })?;
    protocol::pki::verify_with_cert(signer, payload, &sig)
        .map_err(|_| DistributionError::Signature { what })
}

impl SignedPolicy {
    /// Check and sign a policy with the Transferpunt's node key, under a sequence number (above every one signed
    /// before: `publish` and every node refuse it otherwise). A policy that does not load is not signed.
    pub fn sign(
        body: &str,
        sequence: u64,
        key_pem: &str,
    ) -> Result<SignedPolicy, DistributionError> {
        if sequence == 0 {
            return Err(DistributionError::ZeroSequence);
        }
        Policy::load(body)?;
        let sig = protocol::pki::sign_with_key(key_pem, &policy_payload(sequence, body))?;
        Ok(SignedPolicy {
            sequence,
            body: body.to_string(),
            signature: hex(&sig),
        })
    }

    /// Verify sequence and text against the signer's certificate, and load (invariants proved, examples run).
    pub fn verify(
        &self,
        signer: &rustls_pki_types::CertificateDer<'_>,
    ) -> Result<Policy, DistributionError> {
        if self.sequence == 0 {
            return Err(DistributionError::ZeroSequence);
        }
        verify_signature(
            signer,
            &policy_payload(self.sequence, &self.body),
            &self.signature,
            "policy version",
        )?;
        Ok(Policy::load(&self.body)?)
    }

    /// As JSON bytes, for the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a signed policy serialises")
    }

    /// From JSON bytes.
    pub fn from_bytes(b: &[u8]) -> Result<SignedPolicy, DistributionError> {
        serde_json::from_slice(b).map_err(|e| DistributionError::Format {
            what: "policy version",
            detail: e.to_string(),
        })
    }
}

impl SignedRevocation {
    /// Sign "revoke sequence N" with the Transferpunt's node key.
    pub fn sign(sequence: u64, key_pem: &str) -> Result<SignedRevocation, DistributionError> {
        if sequence == 0 {
            return Err(DistributionError::ZeroSequence);
        }
        let sig = protocol::pki::sign_with_key(key_pem, &revocation_payload(sequence))?;
        Ok(SignedRevocation {
            sequence,
            signature: hex(&sig),
        })
    }

    /// Verify against the signer's certificate.
    pub fn verify(
        &self,
        signer: &rustls_pki_types::CertificateDer<'_>,
    ) -> Result<(), DistributionError> {
        if self.sequence == 0 {
            return Err(DistributionError::ZeroSequence);
        }
        verify_signature(
            signer,
            &revocation_payload(self.sequence),
            &self.signature,
            "revocation",
        )
    }

    /// As JSON bytes, for the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a signed revocation serialises")
    }

    /// From JSON bytes.
    pub fn from_bytes(b: &[u8]) -> Result<SignedRevocation, DistributionError> {
        serde_json::from_slice(b).map_err(|e| DistributionError::Format {
            what: "revocation",
            detail: e.to_string(),
        })
    }
}

/// Store a verified policy version (at the Transferpunt when it publishes; elsewhere when it arrives). Returns
/// `false` when exactly this signed version is stored already (the Transferpunt passes every version on at every
/// connection). Refused: a sequence not above every one stored ([`DistributionError::Replay`]), another text under
/// a stored sequence, or a label another sequence has.
pub async fn store(
    node: &Node,
    signed: &SignedPolicy,
    policy: &Policy,
) -> Result<bool, DistributionError> {
    let stored = node.store().policies().await?;
    let signature = unhex(&signed.signature).unwrap_or_default();
    let version = policy.meta.version.clone();
    if let Some(same) = stored.iter().find(|p| p.sequence == signed.sequence) {
        if same.body == signed.body && same.signature == signature {
            return Ok(false);
        }
        return Err(DistributionError::SequenceTaken {
            version,
            sequence: signed.sequence,
            stored: same.version.clone(),
        });
    }
    if let Some(highest) = stored.iter().map(|p| p.sequence).max()
        && signed.sequence < highest
    {
        return Err(DistributionError::Replay {
            version,
            sequence: signed.sequence,
            highest,
        });
    }
    if let Some(other) = stored.iter().find(|p| p.version == version) {
        return Err(DistributionError::VersionTaken {
            version,
            sequence: signed.sequence,
            stored_sequence: other.sequence,
        });
    }
    let new = node
        .store()
        .put_policy(&StoredPolicy {
            sequence: signed.sequence,
            version: version.clone(),
            effective_from: policies::form::format_date(policy.meta.effective_from),
            body: signed.body.clone(),
            signature,
        })
        .await?;
    if !new {
        // Stored by someone else between the check and the insert; the next arrival is judged again.
        tracing::warn!(sequence = signed.sequence, version = %version, "policy version stored concurrently");
    }
    Ok(new)
}

/// Store a verified revocation. Returns `false` when that sequence was revoked before.
pub async fn store_revocation(
    node: &Node,
    revocation: &SignedRevocation,
) -> Result<bool, DistributionError> {
    Ok(node
        .store()
        .put_revocation(&StoredRevocation {
            sequence: revocation.sequence,
            signature: unhex(&revocation.signature).unwrap_or_default(),
        })
        .await?)
}

/// At the Transferpunt: sign "revoke sequence N" with its node key and store it, to be passed to every partner.
/// The sequence must be one the Transferpunt published. Returns the revocation and the label of the revoked
/// version.
pub async fn revoke(
    node: &Node,
    sequence: u64,
    key_pem: &str,
) -> Result<(SignedRevocation, String), DistributionError> {
    let stored = node.store().policies().await?;
    let version = stored
        .iter()
        .find(|p| p.sequence == sequence)
        .map(|p| p.version.clone())
        .ok_or_else(|| DistributionError::UnknownVersion(sequence.to_string()))?;
    let revocation = SignedRevocation::sign(sequence, key_pem)?;
    if store_revocation(node, &revocation).await? {
        tracing::info!(sequence, version = %version, "policy version revoked");
    }
    Ok((revocation, version))
}

/// A signed artefact to pass on, with a key that identifies it (so a session sends it once per connection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artefact {
    /// [`POLICY_KIND`] or [`REVOCATION_KIND`].
    pub kind: &'static str,
    /// Identifies the artefact (its kind and signature).
    pub key: String,
    /// Its bytes on the wire.
    pub data: Vec<u8>,
}

/// The signed versions (in sequence order: a receiver refuses a sequence below one it holds) and then the
/// revocations this node holds, to pass on.
pub async fn artefacts(node: &Node) -> Result<Vec<Artefact>, DistributionError> {
    let store = node.store();
    let mut out: Vec<Artefact> = store
        .policies()
        .await?
        .into_iter()
        .map(|p| {
            let signed = SignedPolicy {
                sequence: p.sequence,
                body: p.body,
                signature: hex(&p.signature),
            };
            Artefact {
                kind: POLICY_KIND,
                key: format!("{POLICY_KIND}:{}", signed.signature),
                data: signed.to_bytes(),
            }
        })
        .collect();
    out.extend(store.revocations().await?.into_iter().map(|r| {
        let signed = SignedRevocation {
            sequence: r.sequence,
            signature: hex(&r.signature),
        };
        Artefact {
            kind: REVOCATION_KIND,
            key: format!("{REVOCATION_KIND}:{}", signed.signature),
            data: signed.to_bytes(),
        }
    }));
    Ok(out)
}

/// What an artefact from the Transferpunt turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A policy version, verified; `new` is false for a repeat of one stored already.
    Version {
        /// Its sequence.
        sequence: u64,
        /// Its label.
        version: String,
        /// When it takes effect.
        effective_from: String,
        /// Stored now (not a repeat).
        new: bool,
    },
    /// A revocation, verified; `new` is false for one stored already.
    Revocation {
        /// The revoked sequence.
        sequence: u64,
        /// Stored now (not a repeat).
        new: bool,
    },
}

/// Verify an artefact of `kind` ([`POLICY_KIND`] or [`REVOCATION_KIND`]) against the Transferpunt's certificate
/// and store it. An error is a security event for the caller to record.
pub async fn receive(
    node: &Node,
    kind: &str,
    data: &[u8],
    signer: &rustls_pki_types::CertificateDer<'_>,
) -> Result<Received, DistributionError> {
    if kind == REVOCATION_KIND {
        let revocation = SignedRevocation::from_bytes(data)?;
        revocation.verify(signer)?;
        let new = store_revocation(node, &revocation).await?;
        return Ok(Received::Revocation {
            sequence: revocation.sequence,
            new,
        });
    }
    let signed = SignedPolicy::from_bytes(data)?;
    let policy = signed.verify(signer)?;
    let new = store(node, &signed, &policy).await?;
    Ok(Received::Version {
        sequence: signed.sequence,
        version: policy.meta.version.clone(),
        effective_from: policies::form::format_date(policy.meta.effective_from),
        new,
    })
}

/// What `proposed` lets a partner of `role`, as sender, send to some receiver that `current` does not: the exact
/// [`Policy::diff`] restricted to newly allowed disclosures by that role. Empty: the change narrows what such a
/// partner discloses, or leaves it alike.
pub fn newly_disclosed(role: Role, current: &Policy, proposed: &Policy) -> Diff {
    Diff {
        entries: current
            .diff(proposed)
            .entries
            .into_iter()
            .filter(|e| {
                e.added && e.access == Access::Receive && e.from.is_some_and(|(r, _)| r == role)
            })
            .collect(),
    }
}

/// The version to put in force among `versions` (in sequence order): the highest whose date has come (`today`,
/// `YYYY-MM-DD`), not revoked, and that is the one in force (`current`), or `approved` (accepted by the privacy
/// officer or in force here before), or for which `widens` says no. 0 when none is: the node's own policy.
fn choose(
    versions: &[StoredPolicy],
    today: &str,
    revoked: &BTreeSet<u64>,
    approved: &BTreeSet<u64>,
    current: u64,
    mut widens: impl FnMut(&StoredPolicy) -> Result<bool, DistributionError>,
) -> Result<u64, DistributionError> {
    for v in versions.iter().rev() {
        if v.effective_from.as_str() > today || revoked.contains(&v.sequence) {
            continue;
        }
        if v.sequence == current || approved.contains(&v.sequence) || !widens(v)? {
            return Ok(v.sequence);
        }
    }
    Ok(0)
}

fn decision_entry(
    purpose: String,
    activity: &str,
    user: Option<String>,
    version: &str,
    now: time::OffsetDateTime,
) -> AuditEntry {
    AuditEntry::new(Operation::PolicyDecision, activity, &purpose, now)
        .user(user)
        .policy_version(version)
}

/// The version in force as this node's records say: the last one put in force, if it is a stored version.
async fn recorded_in_force(node: &Node) -> Result<u64, DistributionError> {
    Ok(node
        .store()
        .policy_adoptions()
        .await?
        .last()
        .map_or(0, |a| a.sequence))
}

/// Puts stored policy versions in force at one node, run by the federation every [`crate::sync::ADOPT_EVERY`].
/// Keeps the node's own configured policy (sequence 0, to fall back to when every version is revoked) and what it
/// computed of versions that widen what the node discloses (a diff over the whole request space).
pub struct Adopter {
    base: Option<Arc<Policy>>,
    in_force: Option<(u64, Arc<Policy>)>,
    widens: HashMap<(u64, u64), bool>,
    waiting: BTreeSet<u64>,
}

/// The sequences whose signed revocation this node holds: never put in force, and a reason to fall back.
async fn revoked_sequences(store: &Store) -> Result<BTreeSet<u64>, DistributionError> {
    Ok(store
        .revocations()
        .await?
        .into_iter()
        .map(|r| r.sequence)
        .collect())
}

/// The sequences that may widen what this node discloses: those its privacy officer accepted, and those that
/// were in force here before, which need no new acceptance (see the module documentation).
async fn approved_sequences(store: &Store) -> Result<BTreeSet<u64>, DistributionError> {
    let mut approved: BTreeSet<u64> = store
        .policy_acceptances()
        .await?
        .into_iter()
        .map(|a| a.sequence)
        .collect();
    approved.extend(
        store
            .policy_adoptions()
            .await?
            .into_iter()
            .map(|a| a.sequence),
    );
    Ok(approved)
}

/// Why a signed version is put in force, for the audit entry (in Dutch): the version in force was revoked,
/// it is the version the records say was in force (after a restart), or its effective date has come.
fn adoption_reason(previous_revoked: bool, recorded_before: bool) -> &'static str {
    if previous_revoked {
        "na intrekking van de vorige versie"
    } else if recorded_before {
        "opnieuw na herstart"
    } else {
        "op de ingangsdatum"
    }
}

impl Adopter {
    /// For a node whose configured policy is in force (the federation starts it before anything is adopted).
    pub fn new(node: &Node) -> Adopter {
        Adopter {
            base: Some(node.policy()),
            in_force: None,
            widens: HashMap::new(),
            waiting: BTreeSet::new(),
        }
    }

    /// Put in force the version that should be (see the module documentation), if it is not in force yet.
    /// Returns its label when the policy in force changed. The stored versions were verified when they arrived;
    /// they are loaded (and so checked) again here.
    pub async fn adopt_due(&mut self, node: &Node) -> Result<Option<String>, DistributionError> {
        let store = node.store();
        let versions = store.policies().await?;
        let recorded = recorded_in_force(node).await?;
        if versions.is_empty() && recorded == 0 {
            return Ok(None);
        }
        let base = self.base(node, &versions, recorded);
        // What is in force: after a restart the node holds its configured policy in memory, but its records say
        // which version it had put in force; widening is judged against that.
        let (cur_seq, cur_policy) = match &self.in_force {
            Some((s, p)) if Arc::ptr_eq(p, &node.policy()) => (*s, p.clone()),
            _ => match versions.iter().find(|v| v.sequence == recorded) {
                Some(v) if recorded != 0 => (recorded, Arc::new(Policy::load(&v.body)?)),
                _ => (0, base.clone()),
            },
        };
        let today = policies::form::format_date(node.clock_now().date());
        let revoked = revoked_sequences(store).await?;
        let approved = approved_sequences(store).await?;
        let role = node.partner().role();
        let cache = &mut self.widens;
        let waiting = &mut self.waiting;
        let target = choose(&versions, &today, &revoked, &approved, cur_seq, |v| {
            if let Some(w) = cache.get(&(cur_seq, v.sequence)) {
                return Ok(*w);
            }
            let proposed = Policy::load(&v.body)?;
            let newly = newly_disclosed(role, &cur_policy, &proposed);
            let w = !newly.is_empty();
            cache.insert((cur_seq, v.sequence), w);
            if w && waiting.insert(v.sequence) {
                tracing::info!(
                    sequence = v.sequence,
                    version = %v.version,
                    requests = newly.changed_requests(),
                    "policy version widens what this node discloses: it waits for this node's privacy officer \
                     (weerthuis policy pending / accept)"
                );
            }
            Ok(w)
        })?;
        let in_memory = self
            .in_force
            .as_ref()
            .is_some_and(|(s, p)| *s == target && Arc::ptr_eq(p, &node.policy()))
            || (target == 0 && self.in_force.is_none() && recorded == 0);
        if in_memory {
            return Ok(None);
        }
        let (policy, why) = match versions.iter().find(|v| v.sequence == target) {
            Some(v) => (
                if target == cur_seq {
                    cur_policy.clone()
                } else {
                    Arc::new(Policy::load(&v.body)?)
                },
                adoption_reason(revoked.contains(&cur_seq), target == recorded),
            ),
            None => (
                base.clone(),
                "als eigen beleid van deze node: geen ondertekende versie komt (nog) in aanmerking",
            ),
        };
        let version = policy.meta.version.clone();
        if revoked.contains(&cur_seq) {
            tracing::warn!(revoked = cur_seq, fallback = target, version = %version, "the policy version in force was revoked: falling back");
        }
        node.set_policy(policy.clone());
        let entry = decision_entry(
            format!("beleidsversie {version} (volgnummer {target}) in werking {why}"),
            "beleid.in_werking",
            None,
            &version,
            node.clock_now(),
        );
        store
            .record_adoption_with_audit(target, &version, &entry)
            .await?;
        self.in_force = Some((target, policy));
        Ok(Some(version))
    }

    /// The node's own configured policy. When the federation was started again on a node that had a signed
    /// version in force (tests do that; the binary starts afresh), that version is in memory, not the configured
    /// one: the shipped covenant policy stands in.
    fn base(&mut self, node: &Node, versions: &[StoredPolicy], recorded: u64) -> Arc<Policy> {
        let base = self.base.take().unwrap_or_else(|| node.policy());
        let base = if recorded != 0
            && self.in_force.is_none()
            && versions
                .iter()
                .any(|v| v.sequence == recorded && v.version == base.meta.version)
        {
            Arc::new(Policy::covenant())
        } else {
            base
        };
        self.base = Some(base.clone());
        base
    }
}

/// The privacy officer's agreement to a version (by label, or by sequence number), recorded in the store and the
/// audit log in one transaction. Returns the version and whether it was newly accepted (`false`: accepted before).
pub async fn accept(
    node: &Node,
    which: &str,
    by: &str,
) -> Result<(StoredPolicy, bool), DistributionError> {
    let versions = node.store().policies().await?;
    let found = versions
        .iter()
        .find(|v| v.version == which)
        .or_else(|| {
            which
                .parse::<u64>()
                .ok()
                .and_then(|s| versions.iter().find(|v| v.sequence == s))
        })
        .cloned()
        .ok_or_else(|| DistributionError::UnknownVersion(which.to_string()))?;
    let revoked = node.store().revocations().await?;
    if revoked.iter().any(|r| r.sequence == found.sequence) {
        return Err(DistributionError::Revoked {
            version: found.version,
            sequence: found.sequence,
        });
    }
    let now = node.clock_now();
    let entry = decision_entry(
        format!(
            "beleidsversie {} (volgnummer {}) aanvaard door de privacy officer ({by}): deze node mag verstrekken \
             wat die versie toestaat, vanaf {}",
            found.version, found.sequence, found.effective_from
        ),
        "beleid.aanvaard",
        Some(by.to_string()),
        &found.version,
        now,
    );
    let new = node
        .store()
        .accept_policy_with_audit(
            &PolicyAcceptance {
                sequence: found.sequence,
                version: found.version.clone(),
                accepted_by: by.to_string(),
                accepted_at: now,
            },
            &entry,
        )
        .await?;
    if new {
        tracing::info!(sequence = found.sequence, version = %found.version, "policy version accepted by the privacy officer");
    }
    Ok((found, new))
}

/// Where a stored version that is not in force stands at this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// It widens what this node discloses and waits for the privacy officer.
    AwaitsAcceptance,
    /// It widens what this node discloses and the privacy officer accepted it.
    Accepted(PolicyAcceptance),
    /// It narrows what this node discloses or leaves it alike: it takes effect on its date.
    Automatic,
}

/// A stored version above the one in force, and what it would change in what this node discloses.
#[derive(Debug, Clone)]
pub struct Upcoming {
    /// The version.
    pub version: StoredPolicy,
    /// Where it stands.
    pub standing: Standing,
    /// What this node would newly disclose under it ([`newly_disclosed`] against the version in force).
    pub newly: Diff,
}

/// The version in force at a node and the stored versions above it that are not revoked.
#[derive(Debug, Clone)]
pub struct Outlook {
    /// The sequence in force (0: the node's configured policy).
    pub sequence: u64,
    /// Its label.
    pub version: String,
    /// The versions above it, in sequence order.
    pub upcoming: Vec<Upcoming>,
    /// The revoked sequences.
    pub revoked: Vec<u64>,
}

/// What a privacy officer needs to decide: the version in force (as the node's records say; `base` is the node's
/// configured policy) and, for every later version, what this node would newly disclose under it.
pub async fn outlook(node: &Node, base: &Policy) -> Result<Outlook, DistributionError> {
    let store = node.store();
    let versions = store.policies().await?;
    let recorded = recorded_in_force(node).await?;
    let current = match versions.iter().find(|v| v.sequence == recorded) {
        Some(v) if recorded != 0 => Policy::load(&v.body)?,
        _ => base.clone(),
    };
    let revoked: Vec<u64> = store
        .revocations()
        .await?
        .into_iter()
        .map(|r| r.sequence)
        .collect();
    let accepted = store.policy_acceptances().await?;
    let role = node.partner().role();
    let mut upcoming = Vec::new();
    for v in versions
        .into_iter()
        .filter(|v| v.sequence > recorded && !revoked.contains(&v.sequence))
    {
        let newly = newly_disclosed(role, &current, &Policy::load(&v.body)?);
        let standing = match accepted.iter().find(|a| a.sequence == v.sequence) {
            _ if newly.is_empty() => Standing::Automatic,
            Some(a) => Standing::Accepted(a.clone()),
            None => Standing::AwaitsAcceptance,
        };
        upcoming.push(Upcoming {
            version: v,
            standing,
            newly,
        });
    }
    Ok(Outlook {
        sequence: recorded,
        version: current.meta.version.clone(),
        upcoming,
        revoked,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(sequence: u64, version: &str, effective_from: &str) -> StoredPolicy {
        StoredPolicy {
            sequence,
            version: version.into(),
            effective_from: effective_from.into(),
            body: String::new(),
            signature: Vec::new(),
        }
    }

    fn none() -> BTreeSet<u64> {
        BTreeSet::new()
    }

    #[test]
    fn the_version_in_force_is_chosen_by_sequence_not_by_label_or_date() {
        // 2026.10 is newer than 2026.9 (sequence 2 > 1) though its label sorts lower and its date is earlier.
        let versions = [v(1, "2026.9", "2026-03-01"), v(2, "2026.10", "2026-02-01")];
        let chosen = choose(&versions, "2026-04-01", &none(), &none(), 0, |_| Ok(false)).unwrap();
        assert_eq!(chosen, 2);
        // Before the later date of 2026.9 only 2026.10 is due.
        let chosen = choose(&versions, "2026-02-15", &none(), &none(), 0, |_| Ok(false)).unwrap();
        assert_eq!(chosen, 2);
    }

    #[test]
    fn a_revoked_version_falls_back_to_the_highest_before_it() {
        let versions = [
            v(1, "a", "2026-01-01"),
            v(2, "b", "2026-01-01"),
            v(3, "c", "2026-01-01"),
        ];
        let revoked = BTreeSet::from([3]);
        // 3 was in force; 2 was in force before it and widens against 3: still chosen, it was approved here.
        let approved = BTreeSet::from([2, 3]);
        assert_eq!(
            choose(&versions, "2026-06-01", &revoked, &approved, 3, |_| Ok(
                true
            ))
            .unwrap(),
            2
        );
        // Everything revoked: the node's own policy.
        let all = BTreeSet::from([1, 2, 3]);
        assert_eq!(
            choose(&versions, "2026-06-01", &all, &approved, 3, |_| Ok(false)).unwrap(),
            0
        );
    }

    #[test]
    fn a_widening_version_waits_unless_accepted() {
        let versions = [v(1, "a", "2026-01-01"), v(2, "b", "2026-01-01")];
        let widens = |p: &StoredPolicy| Ok(p.sequence == 2);
        assert_eq!(
            choose(&versions, "2026-06-01", &none(), &none(), 1, widens).unwrap(),
            1
        );
        let accepted = BTreeSet::from([2]);
        assert_eq!(
            choose(&versions, "2026-06-01", &none(), &accepted, 1, widens).unwrap(),
            2
        );
    }

    #[test]
    fn widening_is_judged_per_sending_role() {
        let current = Policy::covenant();
        // The uitstroomgemeente also gets the date the Transferpunt received the request.
        let wider = Policy::load(&policies::policy::COVENANT_POLICY.replace(
            r#""beoordeling.status", "beoordeling.gekozen_uitstroomgemeente""#,
            r#""beoordeling.status", "beoordeling.datum_ontvangen", "beoordeling.gekozen_uitstroomgemeente""#,
        ))
        .unwrap();
        let newly = newly_disclosed(Role::Transferpunt, &current, &wider);
        assert!(!newly.is_empty());
        assert!(newly.entries.iter().all(|e| e.added
            && e.from.map(|f| f.0) == Some(Role::Transferpunt)
            && e.field.qualified_name() == "beoordeling.datum_ontvangen"));
        // The gemeente receives more, but discloses nothing more: not its privacy officer's decision.
        assert!(newly_disclosed(Role::Gemeente, &current, &wider).is_empty());
        // Back again is a narrowing for everyone.
        for role in Role::ALL {
            assert!(newly_disclosed(role, &wider, &current).is_empty(), "{role}");
        }
    }

    #[test]
    fn signatures_cover_the_sequence_and_are_not_interchangeable() {
        let now = time::OffsetDateTime::now_utc();
        let (from, to) = (now - time::Duration::days(1), now + time::Duration::days(1));
        let ca = protocol::pki::FederationCa::create("test", from, to).unwrap();
        let tp = ca
            .issue(&"transferpunt:sdf".parse().unwrap(), from, to)
            .unwrap();
        let cert = protocol::pki::certs_from_pem(&tp.cert_pem)
            .unwrap()
            .remove(0);
        let body = policies::policy::COVENANT_POLICY;
        let signed = SignedPolicy::sign(body, 3, &tp.key_pem).unwrap();
        assert!(signed.verify(&cert).is_ok());
        // The same signature under another sequence does not verify.
        let renumbered = SignedPolicy {
            sequence: 4,
            ..signed.clone()
        };
        assert!(matches!(
            renumbered.verify(&cert),
            Err(DistributionError::Signature { .. })
        ));
        // A signature over the text alone (the scheme before sequence numbers) does not verify.
        let old = SignedPolicy {
            signature: hex(&protocol::pki::sign_with_key(&tp.key_pem, body.as_bytes()).unwrap()),
            ..signed.clone()
        };
        assert!(old.verify(&cert).is_err());
        // A revocation's signature is not a policy's, and the other way round.
        let revocation = SignedRevocation::sign(3, &tp.key_pem).unwrap();
        assert!(revocation.verify(&cert).is_ok());
        let swapped = SignedRevocation {
            sequence: 3,
            signature: signed.signature.clone(),
        };
        assert!(swapped.verify(&cert).is_err());
        assert!(matches!(
            SignedPolicy::sign(body, 0, &tp.key_pem),
            Err(DistributionError::ZeroSequence)
        ));
    }
}
