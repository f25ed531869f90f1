//! Many messages in one frame, compressed: how a burst (a first sync, a reconnect) travels.
//!
//! A [`Message::Batch`] carries raw DEFLATE of the batch's messages, each as `[length: u32 big-endian][payload]` —
//! the payload exactly a frame's ([`crate::frame`]). One frame instead of one QUIC stream per message, and the
//! DEFLATE window sees what the messages repeat (document names, partner ids, field names, `_meta`), which
//! Automerge, compressing each change on its own and only its larger columns, does not.
//!
//! The receiver inflates into a buffer that may not grow past [`MAX_BATCH_INFLATED`], so a hostile batch costs at
//! most that; every message inside is then checked as a frame's payload is, and a batch inside a batch is refused.
//! [`crate::Connection::recv`] hands the messages out one by one: nothing above the connection sees a batch.

use std::io::Write as _;

use flate2::{Compression, Decompress, FlushDecompress, Status};

use crate::frame::{FrameError, MAX_FRAME_LEN, Message, decode_payload, encode_payload};

/// The most a batch may inflate to: one frame's maximum. The sender packs at most [`BATCH_TARGET`] before
/// compressing, so honest batches stay far below it.
pub const MAX_BATCH_INFLATED: usize = MAX_FRAME_LEN as usize;

/// How many bytes of messages (before compression) a sender packs into one batch at most.
pub const BATCH_TARGET: usize = 1024 * 1024;

/// The DEFLATE level: the best. A first sync of 2,000 cases put 0.59–0.63× the forms' JSON on the wire (both
/// directions) at level 1, 0.53× at 6 and 0.49–0.50× at 9, at the same speed within the runs' spread: deflating
/// the batches is a small part of what a first sync costs beside deciding on and storing every case (#14).
const LEVEL: u32 = 9;

/// Pack `msgs` into one [`Message::Batch`]. Fails when one of them cannot be encoded, or when together they are
/// larger than a frame may inflate to (the caller packs at most [`BATCH_TARGET`]).
pub fn pack(msgs: &[Message]) -> Result<Message, FrameError> {
    let mut plain = Vec::new();
    for m in msgs {
        if matches!(m, Message::Batch { .. }) {
            return Err(FrameError::Malformed("a batch inside a batch".into()));
        }
        let payload = encode_payload(m)?;
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        plain.extend_from_slice(&len.to_be_bytes());
        plain.extend_from_slice(&payload);
    }
    if plain.len() > MAX_BATCH_INFLATED {
        return Err(FrameError::TooLarge {
            len: u32::try_from(plain.len()).unwrap_or(u32::MAX),
            max: MAX_BATCH_INFLATED as u32,
        });
    }
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), Compression::new(LEVEL));
    encoder.write_all(&plain)?;
    Ok(Message::Batch {
        data: encoder.finish()?,
    })
}

/// The messages of a batch, in order. Refused whole, as a malformed frame is: more than [`MAX_BATCH_INFLATED`]
/// inflated, DEFLATE that does not end, a length past the end, a message that is not valid, or a batch inside.
pub fn unpack(data: &[u8]) -> Result<Vec<Message>, FrameError> {
    let plain = inflate_bounded(data, MAX_BATCH_INFLATED)?;
    let mut out = Vec::new();
    let mut rest = plain.as_slice();
    while !rest.is_empty() {
        let (len, tail) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| FrameError::Malformed("a batch ends inside a length".into()))?;
        let len = u32::from_be_bytes(*len) as usize;
        if len > tail.len() {
            return Err(FrameError::Malformed(
                "a message in a batch runs past its end".into(),
            ));
        }
        let (payload, tail) = tail.split_at(len);
        let msg = decode_payload(payload)?;
        if matches!(msg, Message::Batch { .. }) {
            return Err(FrameError::Malformed("a batch inside a batch".into()));
        }
        out.push(msg);
        rest = tail;
    }
    Ok(out)
}

/// Inflate raw DEFLATE, refusing as soon as the output passes `limit`: at most `limit + 1` bytes are allocated.
fn inflate_bounded(data: &[u8], limit: usize) -> Result<Vec<u8>, FrameError> {
    let cap = limit + 1;
    let mut inflater = Decompress::new(false);
    let mut out: Vec<u8> = Vec::with_capacity(data.len().saturating_mul(4).clamp(4096, cap));
    loop {
        if out.len() == out.capacity() {
            // `reserve_exact`: growing by doubling could allocate far past the limit.
            out.reserve_exact(out.len().clamp(4096, cap - out.len()));
        }
        let consumed = inflater.total_in() as usize;
        let status = inflater
            .decompress_vec(&data[consumed..], &mut out, FlushDecompress::Finish)
            .map_err(|e| FrameError::Malformed(format!("a batch does not inflate: {e}")))?;
        if out.len() > limit {
            return Err(FrameError::Malformed(format!(
                "a batch inflates to more than {limit} bytes"
            )));
        }
        match status {
            Status::StreamEnd => break,
            Status::Ok => {}
            Status::BufError => {
                // No progress possible with room to spare: the input ended before the stream did.
                if out.len() < out.capacity() {
                    return Err(FrameError::Malformed(
                        "a batch ends inside its compressed data".into(),
                    ));
                }
            }
        }
    }
    if (inflater.total_in() as usize) != data.len() {
        return Err(FrameError::Malformed(
            "trailing bytes after a batch's compressed data".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sync(doc: &str, n: usize) -> Message {
        Message::Sync {
            doc: doc.into(),
            data: (0..n).map(|i| (i % 7) as u8).collect(),
            traceparent: None,
        }
    }

    #[test]
    fn a_batch_unpacks_to_its_messages_in_order_and_is_smaller() {
        let msgs: Vec<Message> = (0..50)
            .map(|i| sync(&format!("p/case-{i}/zorgaanbieder:a/transferpunt:b/1"), 300))
            .chain([Message::NotAvailable { doc: "d".into() }])
            .collect();
        let packed = pack(&msgs).unwrap();
        let Message::Batch { data } = &packed else {
            panic!("a batch")
        };
        let plain: usize = msgs
            .iter()
            .map(|m| encode_payload(m).unwrap().len() + 4)
            .sum();
        assert!(data.len() * 4 < plain, "{} of {plain}", data.len());
        assert_eq!(unpack(data).unwrap(), msgs);
        // And through a whole frame.
        let frame = crate::frame::encode(&packed).unwrap();
        assert_eq!(crate::frame::decode(&frame).unwrap(), packed);
    }

    #[test]
    fn a_batch_that_inflates_past_the_limit_is_refused_without_growing_past_it() {
        let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), Compression::best());
        encoder
            .write_all(&vec![0u8; MAX_BATCH_INFLATED + 1])
            .unwrap();
        let bomb = encoder.finish().unwrap();
        assert!(bomb.len() < 64 * 1024, "small on the wire: {}", bomb.len());
        let err = unpack(&bomb).unwrap_err();
        assert!(err.to_string().contains("inflates to more than"), "{err}");
    }

    #[test]
    fn broken_batches_are_refused_naming_what_is_wrong() {
        // A batch inside a batch.
        let inner = pack(&[sync("a", 3)]).unwrap();
        assert!(pack(std::slice::from_ref(&inner)).is_err());
        let mut plain = Vec::new();
        let payload = encode_payload(&inner).unwrap();
        plain.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        plain.extend_from_slice(&payload);
        let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(&plain).unwrap();
        let nested = encoder.finish().unwrap();
        assert!(
            unpack(&nested)
                .unwrap_err()
                .to_string()
                .contains("inside a batch")
        );
        // A length past the end.
        let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(&[0, 0, 1, 0, 1, 2, 3]).unwrap();
        assert!(
            unpack(&encoder.finish().unwrap())
                .unwrap_err()
                .to_string()
                .contains("past its end")
        );
        // Compressed data cut short.
        let Message::Batch { data } = pack(&[sync("a", 3000)]).unwrap() else {
            unreachable!()
        };
        assert!(unpack(&data[..data.len() / 2]).is_err());
        // Not DEFLATE at all.
        assert!(unpack(&[0xff; 16]).is_err());
    }
}
