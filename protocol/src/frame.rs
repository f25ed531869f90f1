//! The wire format: versioned, length-prefixed frames carrying [`Message`]s.
//!
//! A frame is `[version: u8][length: u32 big-endian][payload: length bytes]`, the payload a postcard-encoded
//! [`Message`]. The length is checked against the maximum *before* anything is allocated, so an oversized or hostile
//! length costs the receiver nothing. No I/O in the codec itself: [`encode`] and [`decode`] work on bytes, and
//! [`read_frame`] / [`write_frame`] wrap them for async streams.

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The only frame version this release speaks.
pub const PROTOCOL_VERSION: u8 = 1;

/// The largest payload accepted: big enough for the first sync of a large case document, small enough that a
/// peer cannot make us allocate much.
pub const MAX_FRAME_LEN: u32 = 8 * 1024 * 1024;

/// Header size: version byte and length.
pub const HEADER_LEN: usize = 5;

/// The longest document id accepted.
pub const MAX_DOC_ID_LEN: usize = 200;

/// What nodes say to each other. The protocol knows documents and peers, not the covenant: which documents a peer
/// gets, and whether a change is acceptable, is the node's business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// An Automerge sync message for one document.
    Sync {
        /// The document.
        doc: String,
        /// The encoded `automerge::sync::Message`.
        data: Vec<u8>,
        /// For a message that carries changes: the sender's disclosure record as a W3C `traceparent`
        /// (`00-<trace id>-<span id>-01`, [`crate::trace`]), so the receiver can name it as the
        /// `foreign_operation` of its receipt record (Logboek Dataverwerkingen). A reference only: the receiver
        /// checks its shape, stores it as given and decides nothing on it. Last in the variant, so a node of an
        /// earlier release, which stops reading after `data`, still takes the message; a message of such a node
        /// (without it) is read as `None` ([`decode`]).
        traceparent: Option<String>,
    },
    /// The receiver refused the sender's last message for this document and stops syncing it.
    Refused {
        /// The document.
        doc: String,
        /// Why, in words for the other side's operator.
        reason: String,
    },
    /// The document does not exist or the asker may not have it: both are answered alike.
    NotAvailable {
        /// The document.
        doc: String,
    },
    /// The sender withdraws a document it sent before (a rotated projection): delete your copy.
    Forget {
        /// The document.
        doc: String,
        /// Why.
        reason: String,
    },
    /// A signed artefact the federation distributes (policy version, directory), opaque to the protocol.
    Artefact {
        /// What it is (`policy`, `directory`).
        kind: String,
        /// The signed bytes.
        data: Vec<u8>,
    },
    /// The sender erased this case (the data subject's right to erasure): delete what you received of it from
    /// the sender, and what you passed on of that.
    Erased {
        /// The case id.
        case: String,
    },
    /// Several messages in one frame, compressed ([`crate::batch`]). Last, so every other variant keeps its
    /// index: a node of an earlier release reads every other message as before, and refuses a batch as a
    /// malformed frame (the federation upgrades its nodes together before batches are sent).
    Batch {
        /// Raw DEFLATE of the messages, each `[length u32 BE][payload]`.
        data: Vec<u8>,
    },
}

impl Message {
    /// The document a message is about, if any — for [`Message::Erased`], the case.
    pub fn doc(&self) -> Option<&str> {
        match self {
            Message::Sync { doc, .. }
            | Message::Refused { doc, .. }
            | Message::NotAvailable { doc }
            | Message::Forget { doc, .. } => Some(doc),
            Message::Erased { case } => Some(case),
            Message::Artefact { .. } | Message::Batch { .. } => None,
        }
    }

    /// The bytes the message holds on the heap (its texts and data): what it costs while queued.
    pub fn heap_len(&self) -> usize {
        match self {
            Message::Sync {
                doc,
                data,
                traceparent,
            } => doc.len() + data.len() + traceparent.as_ref().map_or(0, String::len),
            Message::Refused { doc, reason } | Message::Forget { doc, reason } => {
                doc.len() + reason.len()
            }
            Message::NotAvailable { doc } => doc.len(),
            Message::Erased { case } => case.len(),
            Message::Artefact { kind, data } => kind.len() + data.len(),
            Message::Batch { data } => data.len(),
        }
    }
}

/// A frame that could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The announced payload is larger than [`MAX_FRAME_LEN`].
    #[error("frame of {len} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// The announced length.
        len: u32,
        /// The maximum.
        max: u32,
    },
    /// A frame version this release does not speak.
    #[error("unsupported frame version {found} (this node speaks version {PROTOCOL_VERSION})")]
    UnsupportedVersion {
        /// The version found.
        found: u8,
    },
    /// The payload is not a valid message.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The stream ended inside a frame.
    #[error("stream ended inside a frame")]
    Truncated,
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Encode a message as one frame.
pub fn encode(msg: &Message) -> Result<Vec<u8>, FrameError> {
    if let Some(doc) = msg.doc()
        && doc.len() > MAX_DOC_ID_LEN
    {
        return Err(FrameError::Malformed(format!(
            "document id longer than {MAX_DOC_ID_LEN} bytes"
        )));
    }
    let payload = encode_payload(msg)?;
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge {
            len,
            max: MAX_FRAME_LEN,
        });
    }
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.push(PROTOCOL_VERSION);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// A message's payload: what a frame carries after its header, and a batch once per message.
pub(crate) fn encode_payload(msg: &Message) -> Result<Vec<u8>, FrameError> {
    postcard::to_stdvec(msg).map_err(|e| FrameError::Malformed(e.to_string()))
}

/// Check a frame header; returns the payload length.
pub fn check_header(header: [u8; HEADER_LEN]) -> Result<u32, FrameError> {
    if header[0] != PROTOCOL_VERSION {
        return Err(FrameError::UnsupportedVersion { found: header[0] });
    }
    let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge {
            len,
            max: MAX_FRAME_LEN,
        });
    }
    Ok(len)
}

/// Decode one whole frame (header and payload).
pub fn decode(frame: &[u8]) -> Result<Message, FrameError> {
    let header: [u8; HEADER_LEN] = frame
        .get(..HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or(FrameError::Truncated)?;
    let len = check_header(header)? as usize;
    let payload = &frame[HEADER_LEN..];
    if payload.len() < len {
        return Err(FrameError::Truncated);
    }
    if payload.len() > len {
        return Err(FrameError::Malformed(
            "trailing bytes after the payload".into(),
        ));
    }
    decode_payload(payload)
}

/// A sync message as nodes before the `traceparent` field sent it: the same variant index (0) and fields, so its
/// payload reads as this and nothing else.
#[derive(Deserialize)]
enum EarlierSync {
    Sync { doc: String, data: Vec<u8> },
}

pub(crate) fn decode_payload(payload: &[u8]) -> Result<Message, FrameError> {
    let msg: Message = match postcard::from_bytes(payload) {
        Ok(m) => m,
        // postcard is not self-describing: a sync message of an earlier release ends where `traceparent` would
        // start. Read as such, it is the same message without a trace reference.
        Err(e) => match postcard::from_bytes::<EarlierSync>(payload) {
            Ok(EarlierSync::Sync { doc, data }) => Message::Sync {
                doc,
                data,
                traceparent: None,
            },
            Err(_) => return Err(FrameError::Malformed(e.to_string())),
        },
    };
    if msg.doc().is_some_and(|d| d.len() > MAX_DOC_ID_LEN) {
        return Err(FrameError::Malformed(format!(
            "document id longer than {MAX_DOC_ID_LEN} bytes"
        )));
    }
    Ok(msg)
}

/// Read one frame; `Ok(None)` when the stream ends cleanly before a frame starts.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<Message>, FrameError> {
    let mut header = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        let n = r.read(&mut header[got..]).await?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(FrameError::Truncated)
            };
        }
        got += n;
    }
    let len = check_header(header)? as usize;
    // Only now, with the length known to be within bounds, is the buffer allocated.
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => FrameError::Truncated,
            _ => FrameError::Io(e),
        })?;
    decode_payload(&payload).map(Some)
}

/// Write one frame.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    msg: &Message,
) -> Result<(), FrameError> {
    let bytes = encode(msg)?;
    w.write_all(&bytes).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sync(doc: &str, n: usize) -> Message {
        Message::Sync {
            doc: doc.into(),
            data: vec![7; n],
            traceparent: None,
        }
    }

    #[test]
    fn round_trip() {
        for m in [
            sync("case/1/registratie", 10),
            Message::Sync {
                doc: "d".into(),
                data: vec![1],
                traceparent: Some(format!("00-{}-{}-01", "1".repeat(32), "2".repeat(16))),
            },
            Message::Refused {
                doc: "d".into(),
                reason: "write to registratie.bsn not allowed".into(),
            },
            Message::NotAvailable { doc: "d".into() },
            Message::Forget {
                doc: "d".into(),
                reason: "rotated".into(),
            },
            Message::Artefact {
                kind: "policy".into(),
                data: vec![1, 2, 3],
            },
            Message::Erased { case: "c".into() },
        ] {
            assert_eq!(decode(&encode(&m).unwrap()).unwrap(), m);
        }
    }

    #[test]
    fn a_sync_message_of_an_earlier_release_still_decodes_and_it_reads_ours() {
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        enum Earlier {
            Sync { doc: String, data: Vec<u8> },
        }
        let old = Earlier::Sync {
            doc: "case/1/registratie".into(),
            data: vec![1, 2, 3],
        };
        let payload = postcard::to_stdvec(&old).unwrap();
        let mut frame = vec![PROTOCOL_VERSION];
        frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        frame.extend_from_slice(&payload);
        assert_eq!(
            decode(&frame).unwrap(),
            Message::Sync {
                doc: "case/1/registratie".into(),
                data: vec![1, 2, 3],
                traceparent: None,
            }
        );
        // And the other way: an earlier node reads our message, trace reference and all, as its own.
        let ours = encode(&Message::Sync {
            doc: "case/1/registratie".into(),
            data: vec![1, 2, 3],
            traceparent: Some(format!("00-{}-{}-01", "a".repeat(32), "b".repeat(16))),
        })
        .unwrap();
        assert_eq!(
            postcard::from_bytes::<Earlier>(&ours[HEADER_LEN..]).unwrap(),
            old
        );
    }

    #[test]
    fn oversized_length_is_refused_before_allocating() {
        let mut frame = vec![PROTOCOL_VERSION];
        frame.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            decode(&frame),
            Err(FrameError::TooLarge { len: u32::MAX, .. })
        ));
    }

    #[test]
    fn unknown_version_is_a_clear_error() {
        let mut frame = encode(&sync("d", 1)).unwrap();
        frame[0] = 9;
        let e = decode(&frame).unwrap_err();
        assert!(e.to_string().contains("unsupported frame version 9"), "{e}");
    }

    #[test]
    fn garbage_payload_is_malformed_not_a_panic() {
        let mut frame = vec![PROTOCOL_VERSION];
        frame.extend_from_slice(&4u32.to_be_bytes());
        frame.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(decode(&frame), Err(FrameError::Malformed(_))));
        assert!(matches!(decode(&frame[..3]), Err(FrameError::Truncated)));
    }

    #[test]
    fn long_document_ids_are_refused() {
        assert!(matches!(
            encode(&sync(&"x".repeat(MAX_DOC_ID_LEN + 1), 1)),
            Err(FrameError::Malformed(_))
        ));
    }

    #[tokio::test]
    async fn async_read_write() {
        let (mut a, mut b) = tokio::io::duplex(64);
        let m = sync("d", 200);
        let writer = tokio::spawn(async move {
            write_frame(&mut a, &m).await.unwrap();
        });
        let got = read_frame(&mut b).await.unwrap().unwrap();
        writer.await.unwrap();
        assert_eq!(got, sync("d", 200));
        assert!(
            read_frame(&mut b).await.unwrap().is_none(),
            "clean end of stream"
        );
    }
}
