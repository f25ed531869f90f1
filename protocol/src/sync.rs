//! One Automerge sync session per (peer, document), persistable so a restart resumes where it stopped.
//!
//! Incoming messages are never merged blindly: [`SyncSession::receive_checked`] applies the message to a *fork*
//! first and hands every new change to a check (the node's policy check). Only if the check passes is the message
//! applied to the real document. A diff of the document would not be enough: a write that lost a conflict does not
//! show in a diff, but it is in the history.
//!
//! Before Automerge sees a message, what its chunks decompress to is checked against the session's
//! [`DecompressionLimits`] ([`crate::chunks`]): a message that would inflate past them is refused with
//! [`SyncError::Decompression`], having cost a fixed, small buffer.

use automerge::sync::{self, SyncDoc};
use automerge::{AutoCommit, Change, ChangeHash};

use crate::chunks::{DecompressionError, DecompressionLimits, decompressed_size};

/// A sync session failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The bytes are not an Automerge sync message.
    #[error("not an Automerge sync message: {0}")]
    Decode(String),
    /// The persisted state does not decode.
    #[error("persisted sync state is corrupt: {0}")]
    State(String),
    /// Automerge refused the message.
    #[error(transparent)]
    Apply(#[from] automerge::AutomergeError),
    /// The message would decompress past a limit (or its chunks do not parse): refused before Automerge
    /// decompressed anything.
    #[error(transparent)]
    Decompression(#[from] DecompressionError),
}

/// The sync state with one peer for one document.
#[derive(Debug, Default, Clone)]
pub struct SyncSession {
    state: sync::State,
    limits: DecompressionLimits,
}

/// Decode a sync message and check what it decompresses to, before Automerge inflates any of it.
pub fn decode_checked(
    bytes: &[u8],
    limits: DecompressionLimits,
) -> Result<sync::Message, SyncError> {
    // Decoding copies the chunks as they are (at most a frame); it inflates nothing.
    let msg = sync::Message::decode(bytes).map_err(|e| SyncError::Decode(e.to_string()))?;
    if let Err(e) = decompressed_size(&msg, limits) {
        tracing::warn!(error = %e, "refused a sync message before decompressing it");
        return Err(e.into());
    }
    Ok(msg)
}

impl SyncSession {
    /// A fresh session (the first contact, or after a peer lost its data).
    pub fn new() -> Self {
        Self::default()
    }

    /// A session with a peer known to hold nothing of the document (it answered "not available"): its first
    /// message carries every change, so the peer can take the document as a push instead of being asked to
    /// answer a request for something it does not hold.
    pub fn for_empty_peer() -> Self {
        let mut session = Self::default();
        let mut empty = automerge::AutoCommit::new();
        let ask = empty
            .sync()
            .generate_sync_message(&mut sync::State::new())
            .expect("a fresh document has a first message");
        // The empty peer's first message carries no changes: receiving it only tells the state what the peer has.
        empty
            .sync()
            .receive_sync_message(&mut session.state, ask)
            .expect("a message without changes applies");
        session
    }

    /// Restore a persisted session.
    pub fn restore(bytes: &[u8]) -> Result<Self, SyncError> {
        let state = sync::State::decode(bytes).map_err(|e| SyncError::State(e.to_string()))?;
        Ok(SyncSession {
            state,
            limits: DecompressionLimits::default(),
        })
    }

    /// The same session with other decompression limits than the defaults
    /// ([`crate::chunks::MAX_DECOMPRESSED_LEN`], [`crate::chunks::MAX_DECOMPRESSED_CHANGE_LEN`]). Limits are not
    /// persisted.
    pub fn with_limits(mut self, limits: DecompressionLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The session as bytes to persist. Only the shared heads survive: the peer's in-flight knowledge is
    /// rebuilt on reconnect.
    pub fn persist(&self) -> Vec<u8> {
        self.state.encode()
    }

    /// Whether the peer has acknowledged holding every one of `heads` (they are among the heads both sides share).
    pub fn peer_holds(&self, heads: &[automerge::ChangeHash]) -> bool {
        !heads.is_empty() && heads.iter().all(|h| self.state.shared_heads.contains(h))
    }

    /// The next message to send for `doc`, if the peer needs one.
    pub fn generate(&mut self, doc: &mut AutoCommit) -> Option<Vec<u8>> {
        doc.sync()
            .generate_sync_message(&mut self.state)
            .map(|m| m.encode())
    }

    /// Apply a message without a check: for documents this node receives from their only writer, after the
    /// caller has checked the author some other way. Prefer [`SyncSession::receive_checked`].
    pub fn receive(&mut self, doc: &mut AutoCommit, bytes: &[u8]) -> Result<(), SyncError> {
        let msg = decode_checked(bytes, self.limits)?;
        doc.sync().receive_sync_message(&mut self.state, msg)?;
        Ok(())
    }

    /// Apply a message only if it is within the decompression limits and `check` accepts every change it would add.
    /// `check` sees a copy of the document with the changes applied (to resolve object paths; it reads, it does not
    /// write: what it leaves is kept) and the new changes. On refusal nothing changes: neither the document nor the
    /// session state.
    pub fn receive_checked<T, E>(
        &mut self,
        doc: &mut AutoCommit,
        bytes: &[u8],
        check: impl FnOnce(&mut AutoCommit, &[Change]) -> Result<T, E>,
    ) -> Result<Result<T, E>, SyncError> {
        let msg = decode_checked(bytes, self.limits)?;
        let before: Vec<ChangeHash> = doc.get_heads();
        // Applied once, to copies of the document and the session; kept when the check accepts (Automerge is
        // deterministic: the same message on the same document and state gives the same result as applying it to
        // the originals, which cost a second apply per message, #14).
        let mut trial = doc.clone();
        let mut trial_state = self.state.clone();
        trial.sync().receive_sync_message(&mut trial_state, msg)?;
        let new: Vec<Change> = trial.get_changes(&before);
        let accepted = match check(&mut trial, &new) {
            Ok(t) => t,
            Err(e) => return Ok(Err(e)),
        };
        *doc = trial;
        self.state = trial_state;
        Ok(Ok(accepted))
    }
}

/// Whether `doc` holds changes it could not apply yet because a change they depend on has not arrived.
///
/// Automerge keeps such changes in the document's in-memory queue and asks the peer for what is missing; the peer
/// sends only that, because it counts the queued ones as delivered. A node that reads the document anew from its
/// store for every message loses the queue with the document, so the queued changes would never come again and
/// both sides would go quiet with different documents. This is how a receiver sees it has to start over. (It
/// happens when the peer's Bloom filter of what this side holds gives a false positive, about one change in a
/// hundred where both sides write.)
pub fn waits_for_changes(doc: &AutoCommit) -> bool {
    use automerge::ReadDoc;
    !doc.get_missing_deps(&[]).is_empty()
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ROOT, ReadDoc};

    use super::*;

    fn doc(actor: u8) -> AutoCommit {
        AutoCommit::new().with_actor(ActorId::from(vec![actor; 16]))
    }

    /// Run sessions until neither side has anything to say.
    fn converge(
        a: &mut AutoCommit,
        sa: &mut SyncSession,
        b: &mut AutoCommit,
        sb: &mut SyncSession,
    ) -> usize {
        let mut rounds = 0;
        loop {
            let m1 = sa.generate(a);
            if let Some(m) = &m1 {
                sb.receive(b, m).unwrap();
            }
            let m2 = sb.generate(b);
            if let Some(m) = &m2 {
                sa.receive(a, m).unwrap();
            }
            rounds += 1;
            if m1.is_none() && m2.is_none() {
                return rounds;
            }
            assert!(rounds < 20, "sync does not converge");
        }
    }

    #[test]
    fn two_writers_converge_and_state_survives_persisting() {
        let (mut a, mut b) = (doc(1), doc(2));
        a.put(ROOT, "datum_verzoek", "2025-11-03").unwrap();
        let (mut sa, mut sb) = (SyncSession::new(), SyncSession::new());
        converge(&mut a, &mut sa, &mut b, &mut sb);
        assert_eq!(a.get_heads(), b.get_heads());

        // Concurrent edits of different fields merge.
        a.put(ROOT, "woonwens", "kleine woning").unwrap();
        b.put(ROOT, "ontbrekende_gegevens", "aanmelding.hoofdinkomen")
            .unwrap();
        let mut sa = SyncSession::restore(&sa.persist()).unwrap();
        let mut sb = SyncSession::restore(&sb.persist()).unwrap();
        converge(&mut a, &mut sa, &mut b, &mut sb);
        assert_eq!(a.get_heads(), b.get_heads());
        assert!(b.get(ROOT, "woonwens").unwrap().is_some());
        assert!(a.get(ROOT, "ontbrekende_gegevens").unwrap().is_some());
    }

    #[test]
    fn a_refused_message_changes_nothing() {
        let (mut a, mut b) = (doc(1), doc(2));
        a.put(ROOT, "bsn", "123456782").unwrap();
        let (mut sa, mut sb) = (SyncSession::new(), SyncSession::new());
        // b announces itself, a answers with its changes.
        let hello = sb.generate(&mut b).unwrap();
        sa.receive(&mut a, &hello).unwrap();
        let changes = sa.generate(&mut a).unwrap();
        let heads_before = b.get_heads();
        let outcome = sb
            .receive_checked(&mut b, &changes, |_fork, new| {
                assert_eq!(new.len(), 1);
                Err::<(), _>("no")
            })
            .unwrap();
        assert_eq!(outcome, Err("no"));
        assert_eq!(b.get_heads(), heads_before);
        assert!(b.get(ROOT, "bsn").unwrap().is_none());
        // Accepting the same message applies it.
        let outcome = sb
            .receive_checked(&mut b, &changes, |_, _| Ok::<(), ()>(()))
            .unwrap();
        assert!(outcome.is_ok());
        assert!(b.get(ROOT, "bsn").unwrap().is_some());
    }

    /// A whole saved document (DEFLATE columns) and a compressed change, as a v2 sync message carries them: within
    /// the default limits they apply; under a tight limit they are refused and nothing changes.
    #[test]
    fn compressed_content_within_the_limits_applies_and_beyond_them_is_refused() {
        use automerge::sync::{ChunkList, MessageVersion};

        let mut a = doc(1);
        for i in 0..1500 {
            a.put(ROOT, format!("veld_{}", i % 50), i as i64).unwrap();
        }
        a.commit();
        a.put(ROOT, "toelichting", "a".repeat(20_000)).unwrap();
        a.commit();
        let mut last = a.get_last_local_change().unwrap().clone();
        let mut saved = a.save();
        saved.extend_from_slice(&last.bytes());
        let bytes = sync::Message {
            heads: a.get_heads(),
            need: vec![],
            have: vec![],
            changes: ChunkList::from(saved),
            flags: None,
            version: MessageVersion::V2,
        }
        .encode();

        let mut tight = SyncSession::new().with_limits(DecompressionLimits {
            per_message: bytes.len() as u64,
            ..Default::default()
        });
        let mut b = doc(2);
        let heads = b.get_heads();
        let refused = tight.receive_checked(&mut b, &bytes, |_, _| Ok::<(), ()>(()));
        assert!(
            matches!(
                refused,
                Err(SyncError::Decompression(
                    DecompressionError::MessageTooLarge { .. }
                ))
            ),
            "{refused:?}"
        );
        assert_eq!(b.get_heads(), heads);

        let outcome = SyncSession::new()
            .receive_checked(&mut b, &bytes, |_, new| {
                assert!(!new.is_empty());
                Ok::<(), ()>(())
            })
            .unwrap();
        assert!(outcome.is_ok());
        assert_eq!(b.get_heads(), a.get_heads());
        assert!(b.get(ROOT, "toelichting").unwrap().is_some());
    }

    #[test]
    fn garbage_is_a_decode_error() {
        let mut s = SyncSession::new();
        assert!(matches!(
            s.receive(&mut doc(1), b"not automerge"),
            Err(SyncError::Decode(_))
        ));
        assert!(SyncSession::restore(b"junk").is_err());
    }
}
