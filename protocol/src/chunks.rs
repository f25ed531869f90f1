//! What the Automerge storage chunks of a sync message decompress to, measured *before* Automerge inflates them.
//!
//! The frame cap ([`crate::frame::MAX_FRAME_LEN`]) bounds the bytes on the wire, not what Automerge makes of them:
//! a chunk's body, or a column inside a document, may be raw DEFLATE, and DEFLATE expands up to ~1000:1, so one
//! 8 MiB sync message could make Automerge allocate gigabytes. [`decompressed_size`] walks the chunks the way
//! Automerge 0.12 parses them (`rust/automerge/src/storage/`), inflates every DEFLATE stream with a streaming
//! inflater into a small fixed buffer, counting, and stops as soon as a limit is passed: nothing of the
//! decompressed data is kept, and at most [`INFLATE_BUFFER`] bytes past the limit are ever produced.
//!
//! The format, as Automerge 0.12 reads it (the sync message's change list is concatenated and parsed as a sequence
//! of chunks):
//!
//! - chunk: magic `85 6f 4a 83`, checksum (4 bytes), type (1 byte), body length (uLEB128), body;
//! - type 1, change: deps, actor, seq, start op, time, message, other actors, op column metadata, op columns.
//!   Automerge refuses DEFLATE columns inside a change, so its size is its length;
//! - type 2, compressed change: the body is raw DEFLATE of a type-1 body;
//! - type 0, document (what a v2 sync message carries: a whole saved document): actors, heads, change column
//!   metadata, op column metadata, change columns, op columns, head indices; a column whose spec has bit 3 set
//!   (`0x08`) is raw DEFLATE;
//! - type 3, bundle: deps, actors, change column metadata, change columns, op column metadata, op columns; columns
//!   may be DEFLATE as in a document.
//!
//! Column metadata: a uLEB128 count, then per column a uLEB128 spec (u32) and a uLEB128 length (u64).
//!
//! Anything this walk cannot follow is refused as [`DecompressionError::Malformed`]: Automerge could not load it
//! either (it would stop at that chunk), and a chunk skipped here must never be one Automerge inflates.

use automerge::sync;
use flate2::{Decompress, FlushDecompress, Status};

/// The most one sync message may decompress to, over all its chunks (changes, documents, bundles). A sync message
/// is at most [`crate::frame::MAX_FRAME_LEN`] (8 MiB) on the wire; Automerge's column compression of real
/// documents gains a few times that at most, so 64 MiB leaves honest documents a wide margin while bounding what
/// a hostile message costs.
pub const MAX_DECOMPRESSED_LEN: u64 = 64 * 1024 * 1024;

/// The most one change (a chunk of type 1 or 2) may decompress to. Automerge sends changes uncompressed, so an
/// honest change fits in a frame (8 MiB); twice that is the bound. Documents and bundles hold many changes and are
/// bounded by [`MAX_DECOMPRESSED_LEN`] only.
pub const MAX_DECOMPRESSED_CHANGE_LEN: u64 = 16 * 1024 * 1024;

/// The inflater's output buffer: how far past a limit inflating may go before it stops.
pub const INFLATE_BUFFER: usize = 32 * 1024;

/// Automerge's chunk magic bytes.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// The column spec bit that marks a DEFLATE column.
const DEFLATE_BIT: u32 = 0x08;

/// The decompression bounds of a sync session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecompressionLimits {
    /// The whole message: [`MAX_DECOMPRESSED_LEN`] by default.
    pub per_message: u64,
    /// One change: [`MAX_DECOMPRESSED_CHANGE_LEN`] by default.
    pub per_change: u64,
}

impl Default for DecompressionLimits {
    fn default() -> Self {
        DecompressionLimits {
            per_message: MAX_DECOMPRESSED_LEN,
            per_change: MAX_DECOMPRESSED_CHANGE_LEN,
        }
    }
}

/// A sync message refused before Automerge decompressed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecompressionError {
    /// One change decompresses to more than the per-change limit.
    #[error(
        "change chunk {chunk} of the sync message decompresses to more than the limit of {limit} bytes per change (MAX_DECOMPRESSED_CHANGE_LEN)"
    )]
    ChangeTooLarge {
        /// The chunk's position in the message (from 0).
        chunk: usize,
        /// The limit passed.
        limit: u64,
    },
    /// The message decompresses to more than the per-message limit.
    #[error(
        "the sync message decompresses to more than the limit of {limit} bytes per message (MAX_DECOMPRESSED_LEN), passed in chunk {chunk}"
    )]
    MessageTooLarge {
        /// The chunk in which the limit was passed.
        chunk: usize,
        /// The limit passed.
        limit: u64,
    },
    /// The chunks do not follow Automerge's storage format.
    #[error("chunk {chunk} of the sync message is malformed: {reason}")]
    Malformed {
        /// The chunk's position in the message.
        chunk: usize,
        /// What is wrong.
        reason: String,
    },
}

/// The decompressed size of every chunk in `msg`, checked against `limits` before anything is decompressed for
/// keeps. Returns the total decompressed size of the message's chunks.
pub fn decompressed_size(
    msg: &sync::Message,
    limits: DecompressionLimits,
) -> Result<u64, DecompressionError> {
    // Automerge joins the list and parses the result as one sequence of chunks; so does this (without a copy for
    // the usual list of one: a v2 message).
    let joined: std::borrow::Cow<'_, [u8]> = match msg.changes.len() {
        1 => msg.changes.iter().next().unwrap_or_default().into(),
        _ => msg
            .changes
            .iter()
            .flatten()
            .copied()
            .collect::<Vec<u8>>()
            .into(),
    };
    let mut walk = Walk {
        limits,
        used: 0,
        chunk: 0,
    };
    let mut rest: &[u8] = &joined;
    while !rest.is_empty() {
        rest = walk.chunk(rest)?;
        walk.chunk += 1;
    }
    Ok(walk.used)
}

/// Where a walk is: how much of the message's budget is used, which chunk it is in.
struct Walk {
    limits: DecompressionLimits,
    used: u64,
    chunk: usize,
}

impl Walk {
    fn malformed(&self, reason: impl Into<String>) -> DecompressionError {
        DecompressionError::Malformed {
            chunk: self.chunk,
            reason: reason.into(),
        }
    }

    /// Count `n` more bytes against the message limit.
    fn add(&mut self, n: u64) -> Result<(), DecompressionError> {
        self.used = self.used.saturating_add(n);
        if self.used > self.limits.per_message {
            return Err(DecompressionError::MessageTooLarge {
                chunk: self.chunk,
                limit: self.limits.per_message,
            });
        }
        Ok(())
    }

    /// Bytes left under the message limit.
    fn left(&self) -> u64 {
        self.limits.per_message.saturating_sub(self.used)
    }

    /// Walk one chunk at the start of `input`; returns what follows it.
    fn chunk<'a>(&mut self, input: &'a [u8]) -> Result<&'a [u8], DecompressionError> {
        let mut r = Reader::new(input);
        let magic = r.take(4).map_err(|e| self.malformed(e))?;
        if magic != MAGIC {
            return Err(self.malformed("not an Automerge chunk (wrong magic bytes)"));
        }
        r.take(4).map_err(|e| self.malformed(e))?; // checksum
        let kind = r.byte().map_err(|e| self.malformed(e))?;
        let len = r.uleb().map_err(|e| self.malformed(e))?;
        let header_len = r.pos as u64;
        let body = r.take_u64(len).map_err(|e| self.malformed(e))?;
        let rest = &input[r.pos..];
        match kind {
            // A change: its bytes are what Automerge holds (DEFLATE columns in a change are refused).
            1 => {
                let size = header_len + len;
                self.change_fits(size)?;
                self.add(size)?;
            }
            // A compressed change: header plus the inflated body.
            2 => {
                let cap = self.limits.per_change.min(self.left());
                let inflated = match inflate_bounded(body, cap.saturating_sub(header_len)) {
                    Ok(n) => n,
                    Err(Inflate::Exceeded) => {
                        // Which limit was the tighter one decides the error.
                        return Err(if self.limits.per_change <= self.left() {
                            DecompressionError::ChangeTooLarge {
                                chunk: self.chunk,
                                limit: self.limits.per_change,
                            }
                        } else {
                            DecompressionError::MessageTooLarge {
                                chunk: self.chunk,
                                limit: self.limits.per_message,
                            }
                        });
                    }
                    Err(Inflate::Corrupt(e)) => {
                        return Err(self.malformed(format!("compressed change: {e}")));
                    }
                };
                let size = header_len + inflated;
                self.change_fits(size)?;
                self.add(size)?;
            }
            0 => self.columnar(header_len, body, Layout::Document)?,
            3 => self.columnar(header_len, body, Layout::Bundle)?,
            other => return Err(self.malformed(format!("unknown chunk type {other}"))),
        }
        Ok(rest)
    }

    fn change_fits(&self, size: u64) -> Result<(), DecompressionError> {
        if size > self.limits.per_change {
            return Err(DecompressionError::ChangeTooLarge {
                chunk: self.chunk,
                limit: self.limits.per_change,
            });
        }
        Ok(())
    }

    /// A document or bundle: the bytes outside DEFLATE columns as they are, each DEFLATE column inflated within
    /// what is left of the message's budget.
    fn columnar(
        &mut self,
        header_len: u64,
        body: &[u8],
        layout: Layout,
    ) -> Result<(), DecompressionError> {
        let mut r = Reader::new(body);
        let parsed = (|| -> Result<Vec<(bool, std::ops::Range<usize>)>, String> {
            let mut deflated = Vec::new();
            match layout {
                Layout::Document => {
                    r.actors()?;
                    r.hashes()?;
                    let change_meta = r.columns()?;
                    let ops_meta = r.columns()?;
                    for cols in [change_meta, ops_meta] {
                        for (spec, len) in cols {
                            let start = r.pos;
                            r.take_u64(len)?;
                            deflated.push((spec & DEFLATE_BIT != 0, start..r.pos));
                        }
                    }
                }
                Layout::Bundle => {
                    r.hashes()?;
                    r.actors()?;
                    for _ in 0..2 {
                        for (spec, len) in r.columns()? {
                            let start = r.pos;
                            r.take_u64(len)?;
                            deflated.push((spec & DEFLATE_BIT != 0, start..r.pos));
                        }
                    }
                }
            }
            Ok(deflated)
        })()
        .map_err(|e| self.malformed(format!("{}: {e}", layout.name())))?;
        let compressed: u64 = parsed
            .iter()
            .filter(|(d, _)| *d)
            .map(|(_, range)| range.len() as u64)
            .sum();
        self.add(header_len + body.len() as u64 - compressed)?;
        for (_, range) in parsed.into_iter().filter(|(d, _)| *d) {
            let n = match inflate_bounded(&body[range], self.left()) {
                Ok(n) => n,
                Err(Inflate::Exceeded) => {
                    return Err(DecompressionError::MessageTooLarge {
                        chunk: self.chunk,
                        limit: self.limits.per_message,
                    });
                }
                Err(Inflate::Corrupt(e)) => {
                    return Err(self.malformed(format!("{} column: {e}", layout.name())));
                }
            };
            self.add(n)?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Layout {
    Document,
    Bundle,
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Layout::Document => "document",
            Layout::Bundle => "bundle",
        }
    }
}

enum Inflate {
    /// More than the cap would come out.
    Exceeded,
    /// Not valid DEFLATE.
    Corrupt(String),
}

/// The size raw DEFLATE `input` inflates to, if at most `cap`; inflated into a fixed buffer and dropped, so the
/// cost is [`INFLATE_BUFFER`] bytes of memory and time proportional to `cap`, whatever the stream claims.
fn inflate_bounded(input: &[u8], cap: u64) -> Result<u64, Inflate> {
    let mut inflater = Decompress::new(false);
    let mut out = vec![0u8; INFLATE_BUFFER];
    loop {
        let (in_before, out_before) = (inflater.total_in(), inflater.total_out());
        let at = usize::try_from(in_before)
            .unwrap_or(usize::MAX)
            .min(input.len());
        let status = inflater
            .decompress(&input[at..], &mut out, FlushDecompress::None)
            .map_err(|e| Inflate::Corrupt(e.to_string()))?;
        if inflater.total_out() > cap {
            return Err(Inflate::Exceeded);
        }
        match status {
            Status::StreamEnd => return Ok(inflater.total_out()),
            // No progress: the input ended inside the stream. Automerge gets no more out of it than this either.
            Status::Ok | Status::BufError
                if inflater.total_in() == in_before && inflater.total_out() == out_before =>
            {
                return Ok(inflater.total_out());
            }
            Status::Ok | Status::BufError => {}
        }
    }
}

/// A cursor over bytes with the primitives of Automerge's storage format.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| {
                format!(
                    "{n} bytes announced at offset {}, {} left",
                    self.pos,
                    self.bytes.len() - self.pos
                )
            })?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn take_u64(&mut self, n: u64) -> Result<&'a [u8], String> {
        self.take(usize::try_from(n).map_err(|_| format!("length {n} does not fit"))?)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    /// An unsigned LEB128 of at most 64 bits.
    fn uleb(&mut self) -> Result<u64, String> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let part = u64::from(b & 0x7f);
            if shift == 63 && part > 1 {
                break;
            }
            value |= part << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("LEB128 number larger than 64 bits".into())
    }

    /// A count, then that many change hashes (32 bytes each).
    fn hashes(&mut self) -> Result<(), String> {
        let n = self.uleb()?;
        self.take_u64(n.checked_mul(32).ok_or("too many hashes")?)?;
        Ok(())
    }

    /// A count, then that many actor ids (each length-prefixed).
    fn actors(&mut self) -> Result<(), String> {
        let n = self.uleb()?;
        for _ in 0..n {
            let len = self.uleb()?;
            self.take_u64(len)?;
        }
        Ok(())
    }

    /// Column metadata: a count, then (spec, length) per column.
    fn columns(&mut self) -> Result<Vec<(u32, u64)>, String> {
        let n = self.uleb()?;
        let mut cols = Vec::new();
        for _ in 0..n {
            let spec = u32::try_from(self.uleb()?).map_err(|_| "column spec beyond 32 bits")?;
            let len = self.uleb()?;
            cols.push((spec, len));
        }
        Ok(cols)
    }
}

#[cfg(test)]
mod tests {
    use automerge::sync::{ChunkList, MessageVersion};
    use automerge::transaction::Transactable;
    use automerge::{ActorId, AutoCommit, ROOT};

    use super::*;

    fn message(chunks: Vec<Vec<u8>>) -> sync::Message {
        sync::Message {
            heads: vec![],
            need: vec![],
            have: vec![],
            changes: ChunkList::from(chunks),
            flags: None,
            version: MessageVersion::V1,
        }
    }

    fn doc() -> AutoCommit {
        AutoCommit::new().with_actor(ActorId::from(vec![7u8; 16]))
    }

    /// A document with enough ops that `save` deflates its columns.
    fn big_doc() -> AutoCommit {
        let mut d = doc();
        for i in 0..1500 {
            d.put(ROOT, format!("veld_{}", i % 50), i as i64).unwrap();
        }
        d
    }

    #[test]
    fn plain_changes_count_their_bytes() {
        let mut d = doc();
        d.put(ROOT, "woonwens", "kleine woning").unwrap();
        d.commit();
        d.put(ROOT, "gemeente", "GM0080").unwrap();
        let raw: Vec<Vec<u8>> = d
            .get_changes(&[])
            .into_iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect();
        let total: usize = raw.iter().map(Vec::len).sum();
        assert_eq!(raw.len(), 2);
        assert_eq!(
            decompressed_size(&message(raw), DecompressionLimits::default()),
            Ok(total as u64)
        );
    }

    #[test]
    fn a_compressed_change_is_measured_inflated() {
        let mut d = doc();
        d.put(ROOT, "toelichting", "a".repeat(20_000)).unwrap();
        let mut change = d.get_changes(&[]).remove(0);
        let raw_len = change.raw_bytes().len() as u64;
        let compressed = change.bytes().to_vec();
        assert_eq!(compressed[8], 2, "automerge compressed this change");
        assert!((compressed.len() as u64) < raw_len / 10);
        let size =
            decompressed_size(&message(vec![compressed.clone()]), Default::default()).unwrap();
        // The same change, inflated: only the header's length field may differ by a byte or two.
        assert!(size.abs_diff(raw_len) <= 4, "{size} vs {raw_len}");

        let tight = DecompressionLimits {
            per_change: 10_000,
            ..Default::default()
        };
        let err = decompressed_size(&message(vec![compressed]), tight).unwrap_err();
        assert_eq!(
            err,
            DecompressionError::ChangeTooLarge {
                chunk: 0,
                limit: 10_000
            }
        );
        assert!(
            err.to_string().contains("MAX_DECOMPRESSED_CHANGE_LEN"),
            "{err}"
        );
        assert!(err.to_string().contains("10000 bytes"), "{err}");
    }

    #[test]
    fn a_saved_document_is_measured_with_its_columns_inflated() {
        let mut d = big_doc();
        let saved = d.save();
        let plain = d.save_nocompress();
        assert!(saved.len() < plain.len(), "save deflated some columns");
        let size = decompressed_size(&message(vec![saved.clone()]), Default::default()).unwrap();
        assert!(
            size.abs_diff(plain.len() as u64) <= 4,
            "{size} vs {}",
            plain.len()
        );
        assert_eq!(
            decompressed_size(&message(vec![plain.clone()]), Default::default()),
            Ok(plain.len() as u64)
        );

        let tight = DecompressionLimits {
            per_message: saved.len() as u64 + 100,
            ..Default::default()
        };
        let err = decompressed_size(&message(vec![saved]), tight).unwrap_err();
        assert!(
            matches!(err, DecompressionError::MessageTooLarge { chunk: 0, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("MAX_DECOMPRESSED_LEN"), "{err}");
    }

    #[test]
    fn a_bundle_is_walked() {
        let mut d = big_doc();
        let hashes: Vec<_> = d.get_changes(&[]).iter().map(|c| c.hash()).collect();
        let bundle = d.bundle(hashes).unwrap().bytes().to_vec();
        assert_eq!(bundle[8], 3, "a bundle chunk");
        let size = decompressed_size(&message(vec![bundle.clone()]), Default::default()).unwrap();
        assert!(size >= bundle.len() as u64);
    }

    #[test]
    fn the_message_limit_counts_all_chunks_and_chunks_may_span_list_entries() {
        let mut d = doc();
        for i in 0..10 {
            d.put(ROOT, "teller", i).unwrap();
            d.commit();
        }
        let raw: Vec<Vec<u8>> = d
            .get_changes(&[])
            .into_iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect();
        let total: u64 = raw.iter().map(|c| c.len() as u64).sum();
        // Split differently from the chunk boundaries: Automerge joins the list before parsing.
        let joined: Vec<u8> = raw.concat();
        let (a, b) = joined.split_at(joined.len() / 3);
        let odd = message(vec![a.to_vec(), b.to_vec()]);
        assert_eq!(decompressed_size(&odd, Default::default()), Ok(total));
        let tight = DecompressionLimits {
            per_message: total - 1,
            ..Default::default()
        };
        assert_eq!(
            decompressed_size(&message(raw), tight),
            Err(DecompressionError::MessageTooLarge {
                chunk: 9,
                limit: total - 1
            })
        );
    }

    #[test]
    fn what_automerge_could_not_parse_is_malformed() {
        let mut d = doc();
        d.put(ROOT, "x", 1).unwrap();
        let good = d.get_changes(&[])[0].raw_bytes().to_vec();
        let mut unknown = good.clone();
        unknown[8] = 9;
        let mut truncated = good.clone();
        truncated.pop();
        let mut bad_deflate = good.clone();
        bad_deflate[8] = 2; // claims to be compressed; the body is not DEFLATE
        for (bytes, what) in [
            (b"junk".to_vec(), "magic"),
            (unknown, "unknown chunk type 9"),
            (truncated, "announced"),
            (bad_deflate, "compressed change"),
        ] {
            let err = decompressed_size(&message(vec![good.clone(), bytes]), Default::default())
                .unwrap_err();
            assert!(
                matches!(&err, DecompressionError::Malformed { chunk: 1, reason } if reason.contains(what)),
                "{what}: {err}"
            );
        }
    }
}
