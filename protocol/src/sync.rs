//! One Automerge sync session per (peer, document), persistable so a restart resumes where it stopped.
//!
//! Incoming messages are never merged blindly: [`SyncSession::receive_checked`] applies the message to a *fork*
//! first and hands every new change to a check (the node's policy check). Only if the check passes is the message
//! applied to the real document. A diff of the document would not be enough: a write that lost a conflict does not
//! show in a diff, but it is in the history.

use automerge::sync::{self, SyncDoc};
use automerge::{AutoCommit, Change, ChangeHash};

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
    #[error("Automerge refused the sync message: {0}")]
    Apply(#[from] automerge::AutomergeError),
}

/// The sync state with one peer for one document.
#[derive(Debug, Default)]
pub struct SyncSession {
    state: sync::State,
}

impl SyncSession {
    /// A fresh session (the first contact, or after a peer lost its data).
    pub fn new() -> Self {
        Self::default()
    }

    /// Restore a persisted session.
    pub fn restore(bytes: &[u8]) -> Result<Self, SyncError> {
        let state = sync::State::decode(bytes).map_err(|e| SyncError::State(e.to_string()))?;
        Ok(SyncSession { state })
    }

    /// The session as bytes to persist. Only the shared heads survive: the peer's in-flight knowledge is
    /// rebuilt on reconnect.
    pub fn persist(&self) -> Vec<u8> {
        self.state.encode()
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
        let msg = sync::Message::decode(bytes).map_err(|e| SyncError::Decode(e.to_string()))?;
        doc.sync().receive_sync_message(&mut self.state, msg)?;
        Ok(())
    }

    /// Apply a message only if `check` accepts every change it would add. `check` sees the fork with the changes
    /// applied (to resolve object paths) and the new changes. On refusal nothing changes: neither the document nor
    /// the session state.
    pub fn receive_checked<T, E>(
        &mut self,
        doc: &mut AutoCommit,
        bytes: &[u8],
        check: impl FnOnce(&mut AutoCommit, &[Change]) -> Result<T, E>,
    ) -> Result<Result<T, E>, SyncError> {
        let msg = sync::Message::decode(bytes).map_err(|e| SyncError::Decode(e.to_string()))?;
        let before: Vec<ChangeHash> = doc.get_heads();
        let mut fork = doc.fork();
        let mut trial_state = sync::State::decode(&self.state.encode())
            .map_err(|e| SyncError::State(e.to_string()))?;
        fork.sync()
            .receive_sync_message(&mut trial_state, msg.clone())?;
        let new: Vec<Change> = fork.get_changes(&before);
        let accepted = match check(&mut fork, &new) {
            Ok(t) => t,
            Err(e) => return Ok(Err(e)),
        };
        doc.sync().receive_sync_message(&mut self.state, msg)?;
        Ok(Ok(accepted))
    }
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
