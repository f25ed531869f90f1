//! A UDP socket that misbehaves on purpose: for the simulator's fault injection under real quinn.
//!
//! [`FaultySocket`] wraps the runtime's real socket (quinn's [`AsyncUdpSocket`]) and, for every outgoing datagram,
//! asks a [`FateSource`] whether to deliver it, drop it, send it twice, or hold it back and send it after the next
//! one (reordering). A [`FaultHandle`] can also cut the socket off from given addresses — or from everyone — in both
//! directions: a partition. QUIC then has to cope exactly as it would on a bad network, so what the simulator tests
//! is the real transport and the real sync on top of it.
//!
//! The socket sends one datagram per transmit (no GSO), so a fate applies to exactly one QUIC packet.
//!
//! Production never builds one of these: [`crate::Endpoint::bind`] uses quinn's own socket, unchanged.

use std::collections::BTreeSet;
use std::fmt;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use quinn::udp::{RecvMeta, Transmit};
use quinn::{AsyncUdpSocket, UdpPoller};

/// A datagram held back for reordering is sent at the latest after this long, even if no other datagram follows.
pub const HOLD_AT_MOST: Duration = Duration::from_millis(15);

/// What happens to one outgoing datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Sent as usual.
    Deliver,
    /// Never sent.
    Drop,
    /// Sent twice.
    Duplicate,
    /// Held back and sent after the next datagram to the same address (or after [`HOLD_AT_MOST`]).
    Reorder,
}

/// Decides the fate of each outgoing datagram (the simulator gives a seeded random source).
pub trait FateSource: Send + 'static {
    /// The fate of the next datagram to `to`, of `len` bytes.
    fn fate(&mut self, to: SocketAddr, len: usize) -> Fate;
}

/// Counts of what was done to datagrams (these depend on timing: for logs, not for reproducible reports).
#[derive(Debug, Default)]
pub struct FaultCounts {
    /// Datagrams sent untouched.
    pub delivered: AtomicU64,
    /// Datagrams dropped by a [`Fate::Drop`].
    pub dropped: AtomicU64,
    /// Datagrams sent twice.
    pub duplicated: AtomicU64,
    /// Datagrams held back and sent after another.
    pub reordered: AtomicU64,
    /// Datagrams (either direction) dropped because of a partition.
    pub partitioned: AtomicU64,
}

impl FaultCounts {
    /// The counts as plain numbers: (delivered, dropped, duplicated, reordered, partitioned).
    pub fn snapshot(&self) -> (u64, u64, u64, u64, u64) {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        (
            l(&self.delivered),
            l(&self.dropped),
            l(&self.duplicated),
            l(&self.reordered),
            l(&self.partitioned),
        )
    }
}

struct Held {
    to: SocketAddr,
    contents: Vec<u8>,
    ecn: Option<quinn::udp::EcnCodepoint>,
    src_ip: Option<std::net::IpAddr>,
    /// Distinguishes one held datagram from the next, so a late flush timer does not send a newer one early.
    ticket: u64,
}

struct State {
    fates: Box<dyn FateSource>,
    /// Addresses cut off in both directions.
    blocked: BTreeSet<SocketAddr>,
    /// Cut off from everyone.
    isolated: bool,
    held: Option<Held>,
    tickets: u64,
}

struct Shared {
    state: Mutex<State>,
    counts: FaultCounts,
}

/// Controls the faults of one socket: the fate source it was made with, and partitions switched on and off.
/// Cheap to clone; every clone controls the same socket.
#[derive(Clone)]
pub struct FaultHandle(Arc<Shared>);

impl fmt::Debug for FaultHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultHandle")
            .field("counts", &self.0.counts)
            .finish_non_exhaustive()
    }
}

impl FaultHandle {
    /// A handle whose socket asks `fates` about every outgoing datagram.
    pub fn new(fates: impl FateSource) -> FaultHandle {
        FaultHandle(Arc::new(Shared {
            state: Mutex::new(State {
                fates: Box::new(fates),
                blocked: BTreeSet::new(),
                isolated: false,
                held: None,
                tickets: 0,
            }),
            counts: FaultCounts::default(),
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves nothing half-done that matters here: keep going.
        self.0.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drop every datagram to and from these addresses until [`FaultHandle::heal`].
    pub fn block(&self, addrs: impl IntoIterator<Item = SocketAddr>) {
        self.state().blocked.extend(addrs);
    }

    /// Drop every datagram to and from anyone until [`FaultHandle::heal`].
    pub fn isolate(&self) {
        self.state().isolated = true;
    }

    /// End every partition of this socket.
    pub fn heal(&self) {
        let mut s = self.state();
        s.blocked.clear();
        s.isolated = false;
    }

    /// What was done to datagrams so far.
    pub fn counts(&self) -> &FaultCounts {
        &self.0.counts
    }

    /// Wrap a real socket.
    pub fn wrap(&self, inner: Arc<dyn AsyncUdpSocket>) -> Arc<dyn AsyncUdpSocket> {
        Arc::new(FaultySocket {
            inner,
            faults: self.clone(),
        })
    }
}

/// A socket that applies a [`FaultHandle`]'s faults to the real socket it wraps.
pub struct FaultySocket {
    inner: Arc<dyn AsyncUdpSocket>,
    faults: FaultHandle,
}

impl fmt::Debug for FaultySocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultySocket")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

fn cut(s: &State, addr: &SocketAddr) -> bool {
    s.isolated || s.blocked.contains(addr)
}

/// Send a held datagram. Errors (a full socket buffer) count as one more loss: QUIC recovers either way.
fn send_held(inner: &dyn AsyncUdpSocket, h: &Held) {
    let t = Transmit {
        destination: h.to,
        ecn: h.ecn,
        contents: &h.contents,
        segment_size: None,
        src_ip: h.src_ip,
    };
    let _ = inner.try_send(&t);
}

impl AsyncUdpSocket for FaultySocket {
    fn create_io_poller(self: Arc<Self>) -> Pin<Box<dyn UdpPoller>> {
        self.inner.clone().create_io_poller()
    }

    fn try_send(&self, transmit: &Transmit) -> io::Result<()> {
        let counts = &self.faults.0.counts;
        let mut s = self.faults.state();
        if cut(&s, &transmit.destination) {
            counts.partitioned.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let fate = s.fates.fate(transmit.destination, transmit.contents.len());
        // A datagram held for reordering goes out right after the next one to the same address.
        let release = match &s.held {
            Some(h) if h.to == transmit.destination && fate != Fate::Reorder => s.held.take(),
            _ => None,
        };
        let result = match fate {
            Fate::Deliver => {
                counts.delivered.fetch_add(1, Ordering::Relaxed);
                self.inner.try_send(transmit)
            }
            Fate::Drop => {
                counts.dropped.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Fate::Duplicate => {
                counts.duplicated.fetch_add(1, Ordering::Relaxed);
                let r = self.inner.try_send(transmit);
                if r.is_ok() {
                    let _ = self.inner.try_send(transmit);
                }
                r
            }
            Fate::Reorder if s.held.is_none() => {
                counts.reordered.fetch_add(1, Ordering::Relaxed);
                s.tickets += 1;
                let ticket = s.tickets;
                s.held = Some(Held {
                    to: transmit.destination,
                    contents: transmit.contents.to_vec(),
                    ecn: transmit.ecn,
                    src_ip: transmit.src_ip,
                    ticket,
                });
                // If nothing follows soon, send it anyway: reordering, not loss.
                let inner = self.inner.clone();
                let faults = self.faults.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(HOLD_AT_MOST).await;
                    let held = {
                        let mut s = faults.state();
                        match &s.held {
                            Some(h) if h.ticket == ticket => s.held.take(),
                            _ => None,
                        }
                    };
                    if let Some(h) = held {
                        send_held(&*inner, &h);
                    }
                });
                Ok(())
            }
            // Only one datagram is held at a time; a second one just goes out.
            Fate::Reorder => {
                counts.delivered.fetch_add(1, Ordering::Relaxed);
                self.inner.try_send(transmit)
            }
        };
        if let Some(h) = release {
            if result.is_ok() {
                send_held(&*self.inner, &h);
            } else {
                // The new datagram could not go yet (WouldBlock): keep holding, quinn will retry it.
                s.held = Some(h);
            }
        }
        result
    }

    fn poll_recv(
        &self,
        cx: &mut Context,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        loop {
            let n = match self.inner.poll_recv(cx, bufs, meta) {
                Poll::Ready(Ok(n)) => n,
                other => return other,
            };
            // Drop what comes from a cut-off address, keeping the rest in order at the front.
            let s = self.faults.state();
            let mut kept = 0;
            for i in 0..n {
                if cut(&s, &meta[i].addr) {
                    self.faults
                        .0
                        .counts
                        .partitioned
                        .fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                if kept != i {
                    let len = meta[i].len;
                    let (front, back) = bufs.split_at_mut(i);
                    front[kept][..len].copy_from_slice(&back[0][..len]);
                    meta[kept] = meta[i];
                }
                kept += 1;
            }
            drop(s);
            if kept > 0 {
                return Poll::Ready(Ok(kept));
            }
            // Everything was cut off: poll again, which registers the waker when nothing more is ready.
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    fn max_transmit_segments(&self) -> usize {
        // One transmit is one datagram, so each fate applies to exactly one packet.
        1
    }

    fn max_receive_segments(&self) -> usize {
        self.inner.max_receive_segments()
    }

    fn may_fragment(&self) -> bool {
        self.inner.may_fragment()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Always(Fate);
    impl FateSource for Always {
        fn fate(&mut self, _: SocketAddr, _: usize) -> Fate {
            self.0
        }
    }

    async fn pair(fate: Fate) -> (FaultHandle, Arc<dyn AsyncUdpSocket>, tokio::net::UdpSocket) {
        let rt = quinn::TokioRuntime;
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let inner = quinn::Runtime::wrap_udp_socket(&rt, sock).unwrap();
        let handle = FaultHandle::new(Always(fate));
        let faulty = handle.wrap(inner);
        let peer = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        (handle, faulty, peer)
    }

    /// Send as quinn does: try, and on `WouldBlock` wait until the socket is writable.
    async fn send(s: &Arc<dyn AsyncUdpSocket>, to: SocketAddr, bytes: &[u8]) {
        let mut poller = s.clone().create_io_poller();
        loop {
            let t = Transmit {
                destination: to,
                ecn: None,
                contents: bytes,
                segment_size: None,
                src_ip: None,
            };
            match s.try_send(&t) {
                Ok(()) => return,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::future::poll_fn(|cx| poller.as_mut().poll_writable(cx))
                        .await
                        .unwrap();
                }
                Err(e) => panic!("send: {e}"),
            }
        }
    }

    async fn recv(peer: &tokio::net::UdpSocket) -> Vec<u8> {
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(5), peer.recv(&mut buf))
            .await
            .expect("a datagram arrives")
            .unwrap();
        buf[..n].to_vec()
    }

    #[tokio::test]
    async fn duplicates_and_reorders_datagrams() {
        let (_, faulty, peer) = pair(Fate::Duplicate).await;
        let to = peer.local_addr().unwrap();
        send(&faulty, to, b"a").await;
        assert_eq!(recv(&peer).await, b"a");
        assert_eq!(recv(&peer).await, b"a");

        let (h, faulty, peer) = pair(Fate::Reorder).await;
        let to = peer.local_addr().unwrap();
        send(&faulty, to, b"1").await;
        // The second finds one already held and goes straight out; the first follows it.
        send(&faulty, to, b"2").await;
        assert_eq!(recv(&peer).await, b"2");
        assert_eq!(recv(&peer).await, b"1");
        // A held datagram with nothing after it is still sent, a little late.
        send(&faulty, to, b"3").await;
        assert_eq!(recv(&peer).await, b"3");
        assert_eq!(h.counts().snapshot().3, 2);
    }

    #[tokio::test]
    async fn drops_and_partitions() {
        let (h, faulty, peer) = pair(Fate::Drop).await;
        send(&faulty, peer.local_addr().unwrap(), b"x").await;
        assert_eq!(h.counts().snapshot().1, 1);

        let (h, faulty, peer) = pair(Fate::Deliver).await;
        let to = peer.local_addr().unwrap();
        h.block([to]);
        send(&faulty, to, b"cut").await;
        h.heal();
        send(&faulty, to, b"healed").await;
        assert_eq!(recv(&peer).await, b"healed");
        assert_eq!(h.counts().snapshot().4, 1);

        // Incoming from a cut-off address is dropped too.
        h.isolate();
        peer.send_to(b"in", faulty.local_addr().unwrap())
            .await
            .unwrap();
        let mut buf = [0u8; 64];
        let mut meta = [RecvMeta::default()];
        let polled = std::future::poll_fn(|cx| {
            let mut bufs = [IoSliceMut::new(&mut buf)];
            match faulty.poll_recv(cx, &mut bufs, &mut meta) {
                Poll::Pending => Poll::Ready(None),
                Poll::Ready(r) => Poll::Ready(Some(r)),
            }
        });
        // Give the datagram time to arrive, then poll: it must be swallowed.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            polled.await.is_none(),
            "a datagram from a cut-off peer was delivered"
        );
        assert_eq!(h.counts().snapshot().4, 2);
    }
}
