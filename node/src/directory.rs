//! The federation directory's own life cycle (issue #13 item 6): who takes part, where their nodes are, whom to
//! call, and which certificate keys are revoked — signed, versioned, distributed and applied without a restart.
//!
//! - **Signed by the federation CA**, over the directory's exact JSON bytes, with its `version` inside them
//!   (`weerthuis directory sign`, the CA key kept offline at the Transferpunt). Every node verifies it against the
//!   CA certificate it already trusts for the handshake.
//! - **Versions only go up.** A node stores a directory only when its version is above every one it holds; an
//!   identical repeat is ignored; a lower version, or another text under a stored version, is refused as a
//!   security event naming both numbers ([`DirectoryError::Replay`], [`DirectoryError::VersionTaken`]).
//! - **Distributed as policy versions are** (`crate::distribution`): the Transferpunt passes the highest signed
//!   directory it holds to every peer, once per connection, as an `Artefact` of kind [`DIRECTORY_KIND`]; an
//!   artefact of that kind from another partner is refused (the receive core). A directory reaches the
//!   Transferpunt by `weerthuis directory install` (or in its configuration at start).
//! - **Valid** ([`validate`]): every partner id names a covenant role, no id twice, exactly one Transferpunt (the
//!   covenant has one, and the nodes trust it for facts and policy versions), at most two contact persons per
//!   partner (Afspraak 3g), endpoints as `ip:port`, revoked keys as SHA-256 fingerprints.
//! - **Applied live** by the federation (`crate::sync`): new partners are admitted and dialled, moved ones dialled
//!   at their new address, removed partners and revoked keys refused at the handshake and their open connections
//!   closed.
//! - **A partner leaving** (Afspraak 11): the remaining nodes stop syncing with it and refuse it; the Transferpunt
//!   hands it the directory that removes it before closing; a node that verifies a directory without itself
//!   erases what it received from others ([`forget_after_removal`]) and keeps only what it wrote itself.

use std::net::SocketAddr;

use policies::{PartnerId, Role};
use protocol::pki::{Directory, PkiError, SignedDirectory};
use time::OffsetDateTime;

use crate::service::Node;
use crate::store::{Store, StoreError, StoredDirectory};

/// The `Artefact` kind of a signed directory on the wire.
pub const DIRECTORY_KIND: &str = "directory";

/// At most this many fixed contact persons per partner (Afspraak 3g).
pub const MAX_CONTACTS: usize = 2;

/// The longest `bereikbaar` text: a line on the partners page, not a document.
pub const MAX_BEREIKBAAR: usize = 120;

/// A phone number as people write it: 10 to 15 digits (a Dutch number, or one with a country code), with
/// spaces, '-', '+' and brackets between them.
fn is_phone_number(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    (10..=15).contains(&digits)
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '+' | '(' | ')'))
}

/// How long before a certificate expires the node warns (and `weerthuis_certificate_expires_in_seconds` shows).
pub const EXPIRY_WARNING: time::Duration = time::Duration::days(30);

/// Why a directory is not signed, stored or taken.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The signature does not verify against the federation CA, or the bytes are not a directory.
    #[error("federation directory refused: {0} (rule: only the federation CA signs the directory)")]
    Signature(#[from] PkiError),
    /// Not JSON of a signed directory.
    #[error("not a signed federation directory: {0}")]
    Format(String),
    /// The directory breaks one or more rules; every problem is listed.
    #[error("federation directory version {version} is invalid: {}", problems.join("; "))]
    Invalid {
        /// Its version.
        version: u64,
        /// Each problem, naming the partner or field and the rule.
        problems: Vec<String>,
    },
    /// An older directory arriving after a newer one: a replay or a rollback.
    #[error(
        "federation directory version {version} refused: field `version` is not above version {highest} that \
         this node already holds (rule: directory versions only rise; an old directory must not bring back a \
         removed partner or a revoked key)"
    )]
    Replay {
        /// The refused version.
        version: u64,
        /// The highest version stored here.
        highest: u64,
    },
    /// Another text under a version already stored.
    #[error(
        "federation directory version {version} refused: this node holds another text under version {version} \
         (rule: one signed text per directory version)"
    )]
    VersionTaken {
        /// The version.
        version: u64,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Check a directory against the federation's rules; every problem at once, each naming the partner or field
/// and the rule.
pub fn validate(dir: &Directory) -> Result<(), DirectoryError> {
    let mut problems = Vec::new();
    if dir.version == 0 {
        problems.push(
            "field `version` is 0 (rule: a directory has version 1 or more, raised with every change)".into(),
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut transferpunten = Vec::new();
    for p in &dir.partners {
        let id = p.id.as_str();
        if !seen.insert(id) {
            problems.push(format!(
                "partner {id}: listed twice (rule: one entry per partner)"
            ));
        }
        match id.parse::<PartnerId>() {
            Ok(partner) if partner.role() == Role::Transferpunt => transferpunten.push(id),
            Ok(_) => {}
            Err(e) => problems.push(format!(
                "partner {id}: field `id` is not a partner id ({e}) (rule: <role>:<code> with a covenant role)"
            )),
        }
        if p.name.trim().is_empty() {
            problems.push(format!(
                "partner {id}: field `name` is empty (rule: every partner has a name)"
            ));
        }
        if let Some(endpoint) = &p.endpoint
            && endpoint.parse::<SocketAddr>().is_err()
        {
            problems.push(format!(
                "partner {id}: field `endpoint` is {endpoint:?} (rule: an IP address and port, e.g. 192.0.2.10:4433)"
            ));
        }
        if p.contacts.len() > MAX_CONTACTS {
            problems.push(format!(
                "partner {id}: field `contacts` names {} contact persons (rule: at most {MAX_CONTACTS} fixed contact \
                 persons per partner, Afspraak 3g)",
                p.contacts.len()
            ));
        }
        for (i, c) in p.contacts.iter().enumerate() {
            if c.naam.trim().is_empty() {
                problems.push(format!(
                    "partner {id}: field `contacts[{i}].naam` is empty (rule: a contact person has a name)"
                ));
            }
            let email = c.email.trim();
            let well_formed = email
                .split_once('@')
                .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
                && !email.contains(char::is_whitespace);
            if !well_formed {
                problems.push(format!(
                    "partner {id}: field `contacts[{i}].email` is not an e-mail address (rule: name@domain)"
                ));
            }
        }
        if let Some(telefoon) = &p.telefoon_24_uur
            && !is_phone_number(telefoon)
        {
            problems.push(format!(
                "partner {id}: field `telefoon_24_uur` is {telefoon:?} (rule: a phone number of 10 to 15 digits, \
                 with spaces, '-', '+' or brackets, e.g. 058-2338010)"
            ));
        }
        if let Some(bereikbaar) = &p.bereikbaar
            && (bereikbaar.trim().is_empty() || bereikbaar.chars().count() > MAX_BEREIKBAAR)
        {
            problems.push(format!(
                "partner {id}: field `bereikbaar` is empty or longer than {MAX_BEREIKBAAR} characters (rule: when \
                 the partner can be reached, in a few words, e.g. \"werkdagen 9:00-12:00\")"
            ));
        }
    }
    match transferpunten.len() {
        1 => {}
        0 => problems.push(
            "field `partners` has no Transferpunt (rule: exactly one partner with role transferpunt)".into(),
        ),
        _ => problems.push(format!(
            "field `partners` has {} Transferpunten ({}) (rule: exactly one partner with role transferpunt: the \
             nodes take it for the covenant's Transferpunt)",
            transferpunten.len(),
            transferpunten.join(", ")
        )),
    }
    for (i, r) in dir.revoked.iter().enumerate() {
        let hex = r.key.len() == 64 && r.key.chars().all(|c| c.is_ascii_hexdigit());
        if !hex {
            problems.push(format!(
                "field `revoked[{i}].key` of {} is not a key fingerprint (rule: 64 hex digits, SHA-256 of the \
                 certificate's public key, as `weerthuis ca fingerprint` prints it)",
                r.partner
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(DirectoryError::Invalid {
            version: dir.version,
            problems,
        })
    }
}

/// Verify a signed directory against the federation CA and check it ([`validate`]).
pub fn verify(signed: &SignedDirectory, ca_pem: &str) -> Result<Directory, DirectoryError> {
    let dir = signed.verify(ca_pem)?;
    validate(&dir)?;
    Ok(dir)
}

/// A signed directory as the bytes of an `Artefact`.
pub fn to_bytes(signed: &SignedDirectory) -> Vec<u8> {
    serde_json::to_vec(signed).expect("a signed directory serialises")
}

/// A signed directory from the bytes of an `Artefact` or a file.
pub fn from_bytes(bytes: &[u8]) -> Result<SignedDirectory, DirectoryError> {
    serde_json::from_slice(bytes).map_err(|e| DirectoryError::Format(e.to_string()))
}

/// Store a verified directory. Returns `false` when exactly this signed directory is stored already. Refused: a
/// version below the highest stored ([`DirectoryError::Replay`]) or another text under a stored version.
pub async fn store(
    store: &Store,
    signed: &SignedDirectory,
    dir: &Directory,
) -> Result<bool, DirectoryError> {
    if let Some(same) = store.directory(dir.version).await? {
        if same.body == signed.body && same.signature == signed.signature {
            return Ok(false);
        }
        return Err(DirectoryError::VersionTaken {
            version: dir.version,
        });
    }
    let highest = store.latest_directory_version().await?;
    if dir.version < highest {
        return Err(DirectoryError::Replay {
            version: dir.version,
            highest,
        });
    }
    let new = store
        .put_directory(&StoredDirectory {
            version: dir.version,
            body: signed.body.clone(),
            signature: signed.signature.clone(),
        })
        .await?;
    if !new {
        // Stored by another process between the check and the insert: judged again at the next arrival.
        tracing::warn!(
            version = dir.version,
            "federation directory stored concurrently"
        );
    }
    Ok(new)
}

/// Verify a signed directory (bytes) against the CA and store it: the directory, its signed form, and whether it
/// is new here. An error is a security event for the caller to record (except [`DirectoryError::Store`]).
pub async fn receive(
    st: &Store,
    bytes: &[u8],
    ca_pem: &str,
) -> Result<(Directory, SignedDirectory, bool), DirectoryError> {
    let signed = from_bytes(bytes)?;
    let dir = verify(&signed, ca_pem)?;
    let new = store(st, &signed, &dir).await?;
    Ok((dir, signed, new))
}

/// The highest directory stored at this node, verified again against the CA.
pub async fn latest(
    st: &Store,
    ca_pem: &str,
) -> Result<Option<(Directory, SignedDirectory)>, DirectoryError> {
    let Some(stored) = st.latest_directory().await? else {
        return Ok(None);
    };
    let signed = SignedDirectory {
        body: stored.body,
        signature: stored.signature,
    };
    let dir = verify(&signed, ca_pem)?;
    Ok(Some((dir, signed)))
}

/// The directory to start with: the configured file's or the highest stored one (received from the federation
/// while the node ran), whichever has the higher version. The file's is stored when it is newer, so the node can
/// pass it on and never goes back below it. The same version with another text is an error: the operator must
/// say which one holds.
pub async fn at_start(
    st: &Store,
    file: &SignedDirectory,
    ca_pem: &str,
) -> Result<(Directory, SignedDirectory), DirectoryError> {
    let from_file = verify(file, ca_pem)?;
    match latest(st, ca_pem).await? {
        Some((stored, signed)) if stored.version > from_file.version => {
            tracing::info!(
                stored = stored.version,
                file = from_file.version,
                "the federation directory received from the federation is newer than the configured file: using it"
            );
            Ok((stored, signed))
        }
        _ => {
            store(st, file, &from_file).await?;
            Ok((from_file, file.clone()))
        }
    }
}

/// This node verified a directory that no longer lists it: it left the federation (Afspraak 11). Everything it
/// received from other partners is erased — their documents with their whole history, their projections — with
/// an audit tombstone per case; what it wrote itself stays (it is its own controller, Afspraak 8). Returns how
/// many cases were touched.
pub async fn forget_after_removal(
    node: &Node,
    version: u64,
) -> Result<usize, crate::service::ServiceError> {
    let basis = format!(
        "Afspraak 11: uitgetreden, niet meer in het adresboek van de federatie (versie {version}); ontvangen \
         gegevens van partners gewist"
    );
    let cases = node.store().list_cases().await?;
    let mut touched = 0;
    for c in &cases {
        if received_anything(node, &c.id).await? {
            node.forget_received(&c.id, &basis).await?;
            touched += 1;
        }
    }
    tracing::warn!(
        version,
        cases = touched,
        "this node is not in the federation directory any more: what it received from partners is erased"
    );
    Ok(touched)
}

/// Whether this node holds anything of `case` that another partner sent it.
async fn received_anything(
    node: &Node,
    case: &crate::store::CaseId,
) -> Result<bool, crate::service::ServiceError> {
    let me = node.partner().to_string();
    if node
        .store()
        .projections_of_case(case)
        .await?
        .iter()
        .any(|p| p.sender != me)
    {
        return Ok(true);
    }
    let own = crate::doc::actor_for(node.partner());
    Ok(node
        .local_docs(case)
        .await
        .iter()
        .any(|d| d.creator.as_ref().is_some_and(|c| *c != own)))
}

/// A warning when `not_after` is within [`EXPIRY_WARNING`] of `now` (or past), in words for the log.
pub fn expiry_warning(
    what: &str,
    not_after: OffsetDateTime,
    now: OffsetDateTime,
) -> Option<String> {
    let left = not_after - now;
    if left > EXPIRY_WARNING {
        return None;
    }
    Some(if left <= time::Duration::ZERO {
        format!("{what} expired at {not_after}")
    } else {
        format!(
            "{what} expires at {not_after}, in {} days: renew it (weerthuis ca renew) and restart the node with it",
            left.whole_days()
        )
    })
}
