//! Finding a person by BSN without storing the BSN (issue #13, inzage): every BSN a case's registratie holds at
//! this node — in its own registratie or in one projected to it — is indexed as HMAC-SHA-256 under a secret of
//! this node's own (`bsn-index.key` in the data directory, mode 0600, made at `init` or at the first start of an
//! older data directory). The database alone does not give the BSNs back: a guess of a BSN has to be hashed
//! under the key, and the key is not in the database.
//!
//! Why an index kept on every write and not a scan of every case at each inzage: a scan loads and decodes every
//! Automerge document and projection of the node (seconds for a few thousand cases); keeping the index costs one
//! read of the changed case on a change that already loads it. Keeping it right: every path that changes what a
//! node holds of a case ends in `Node::notify_changed`, and the two callers that store (the local write path and
//! the sync session) re-index the case there (`Node::reindex_bsn`). A lookup re-reads the cases it finds and
//! keeps only those that still hold the BSN, so an entry left stale by a failed update cannot show a wrong
//! person; and the index records the key it was built under, so a data directory from before the index, or a
//! replaced key, is re-indexed whole at start (`Node::ensure_bsn_index`).

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use policies::bsn::Bsn;
use sha2::Sha256;

/// The file holding the node's secret for the BSN index.
pub const BSN_INDEX_KEY_FILE: &str = "bsn-index.key";

/// The node's secret for the BSN index.
#[derive(Clone)]
pub struct BsnKey {
    key: [u8; 32],
}

impl fmt::Debug for BsnKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BsnKey(..)")
    }
}

impl BsnKey {
    /// The key from its 32 bytes.
    pub fn new(key: [u8; 32]) -> BsnKey {
        BsnKey { key }
    }

    fn mac(&self, label: &[u8], data: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC takes any key length");
        mac.update(label);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// The index entry of a BSN.
    pub fn hash(&self, bsn: &Bsn) -> [u8; 32] {
        self.mac(b"weerthuis bsn index\0", bsn.as_digits().as_bytes())
    }

    /// What the index stores to know which key it was built under (not the key: an HMAC of a fixed text).
    pub fn check(&self) -> [u8; 32] {
        self.mac(b"weerthuis bsn index key check\0", b"")
    }
}

/// The BSNs of the registratie forms of a case as held (own or projected), valid ones only.
pub fn bsns_of<'a>(forms: impl IntoIterator<Item = &'a policies::form::Form>) -> Vec<Bsn> {
    let mut out: Vec<Bsn> = forms
        .into_iter()
        .filter(|f| f.kind() == policies::DocumentKind::Registratie)
        .filter_map(|f| f.text("bsn"))
        .filter_map(|t| Bsn::parse(t).ok())
        .collect();
    out.sort_by_key(Bsn::as_digits);
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_depends_on_the_key_and_hides_the_number() {
        let bsn = Bsn::parse(&policies::examples::fictitious_bsn(7)).unwrap();
        let a = BsnKey::new([1; 32]);
        let b = BsnKey::new([2; 32]);
        assert_ne!(a.hash(&bsn), b.hash(&bsn));
        assert_eq!(a.hash(&bsn), a.hash(&bsn));
        assert_ne!(a.check(), b.check());
        let hex = crate::audit::hex(&a.hash(&bsn));
        assert!(!hex.contains(&bsn.as_digits()));
    }
}
