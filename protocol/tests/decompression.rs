//! A decompression bomb in a sync message: a compressed change chunk of a few megabytes — within the frame cap —
//! whose DEFLATE body claims a gibibyte. It is refused, naming the limit, before Automerge sees it, and refusing it
//! costs no more memory than the message itself: the peak of this process's heap allocations is measured.
//!
//! One test per file: the allocation counter is global to the process.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use automerge::sync::{ChunkList, Message, MessageVersion};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use protocol::chunks::{DecompressionError, MAX_DECOMPRESSED_CHANGE_LEN, MAX_DECOMPRESSED_LEN};
use protocol::frame::MAX_FRAME_LEN;
use protocol::sync::{SyncError, SyncSession};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bits written LSB first, as DEFLATE packs them.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u64, bits: u32) {
        self.acc |= value << self.n;
        self.n += bits;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }
    /// A Huffman code: written most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        let reversed = code.reverse_bits() >> (32 - len);
        self.put(u64::from(reversed), len);
    }
    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// Raw DEFLATE of `1 + 258 * repeats` zero bytes: one fixed-Huffman block, a literal 0, then `repeats` copies of
/// (length 258, distance 1) at 13 bits each.
fn deflate_bomb(repeats: usize) -> Vec<u8> {
    let mut b = Bits::default();
    b.put(1, 1); // last block
    b.put(1, 2); // fixed Huffman
    b.code(0x30, 8); // literal 0
    for _ in 0..repeats {
        b.code(0xc5, 8); // length symbol 285: 258 bytes
        b.code(0, 5); // distance code 0: distance 1
    }
    b.code(0, 7); // end of block
    b.finish()
}

/// An Automerge chunk of `kind` with `body` (the checksum is not checked before inflating, so any will do).
fn chunk(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, kind];
    let mut len = body.len() as u64;
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(body);
    out
}

fn sync_message(chunks: Vec<Vec<u8>>) -> Vec<u8> {
    Message {
        heads: vec![],
        need: vec![],
        have: vec![],
        changes: ChunkList::from(chunks),
        flags: None,
        version: MessageVersion::V1,
    }
    .encode()
}

#[test]
fn a_decompression_bomb_is_refused_quickly_without_allocating_its_size() {
    const GIB: usize = 1 << 30;
    let bomb = deflate_bomb(GIB / 258);
    let bytes = sync_message(vec![chunk(2, &bomb)]);
    assert!(
        bytes.len() < MAX_FRAME_LEN as usize,
        "the bomb fits in one frame: {} bytes",
        bytes.len()
    );

    let mut doc = AutoCommit::new();
    doc.put(ROOT, "woonwens", "kleine woning").unwrap();
    let heads = doc.get_heads();
    let mut session = SyncSession::new();

    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let started = Instant::now();
    let outcome = session.receive_checked(&mut doc, &bytes, |_, _| Ok::<(), ()>(()));
    let took = started.elapsed();
    let peak = PEAK.load(Ordering::Relaxed) - base;

    match outcome {
        Err(SyncError::Decompression(DecompressionError::ChangeTooLarge { chunk: 0, limit })) => {
            assert_eq!(limit, MAX_DECOMPRESSED_CHANGE_LEN)
        }
        other => panic!("expected the per-change limit, got {other:?}"),
    }
    let text = session
        .receive_checked(&mut doc, &bytes, |_, _| Ok::<(), ()>(()))
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("MAX_DECOMPRESSED_CHANGE_LEN") && text.contains("16777216 bytes"),
        "{text}"
    );
    assert_eq!(doc.get_heads(), heads, "nothing applied");
    // The message itself is copied once while decoding; the inflater adds a small fixed buffer. Nothing near the
    // gibibyte, nor even the limit, is allocated.
    assert!(
        peak < bytes.len() + (1 << 20),
        "refusing the bomb allocated {peak} bytes for a message of {} bytes",
        bytes.len()
    );
    // Generous for a debug build on a loaded machine; inflating stops at 16 MiB of the 1 GiB.
    assert!(took.as_secs() < 30, "took {took:?}");
    eprintln!(
        "bomb of {} bytes (inflating to 1 GiB) refused in {took:?}, peak allocation {peak} bytes",
        bytes.len()
    );

    // The same bomb as a DEFLATE column of a document chunk passes no per-change limit (a document holds many
    // changes) but is stopped at the message limit.
    let mut body = vec![0u8]; // no actors
    body.push(0); // no heads
    body.push(0); // no change columns
    body.push(1); // one op column:
    let spec: u32 = (1 << 4) | 0x08; // id 1, deflated
    body.push(spec as u8);
    let mut len = bomb.len() as u64;
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            body.push(byte);
            break;
        }
        body.push(byte | 0x80);
    }
    body.extend_from_slice(&bomb);
    let bytes = sync_message(vec![chunk(0, &body)]);
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let outcome = SyncSession::new().receive(&mut doc, &bytes);
    let peak = PEAK.load(Ordering::Relaxed) - base;
    match outcome {
        Err(SyncError::Decompression(DecompressionError::MessageTooLarge { chunk: 0, limit })) => {
            assert_eq!(limit, MAX_DECOMPRESSED_LEN)
        }
        other => panic!("expected the per-message limit, got {other:?}"),
    }
    assert!(peak < bytes.len() + (1 << 20), "{peak} bytes");
}
