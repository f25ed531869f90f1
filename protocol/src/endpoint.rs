//! QUIC endpoints (quinn) with the federation's mutual TLS. One endpoint per node both listens and dials.
//!
//! **Handshakes run concurrently and are bounded.** A background task takes every incoming connection attempt and
//! runs its handshake in a task of its own, each bounded by [`HandshakeLimits::timeout`]; at most
//! [`HandshakeLimits::max_in_progress`] attempts are in progress (or finished but not yet taken by
//! [`Endpoint::accept`]) at once, and an attempt beyond that is refused at once (QUIC `CONNECTION_REFUSED`), never
//! queued. A client that sends an Initial and then nothing therefore costs one slot for at most the timeout, and
//! stalls nobody else.
//!
//! **A connection ends when the peer's certificate does.** The handshake checks validity once; afterwards each
//! [`Connection`] is closed (code [`CLOSE_CERTIFICATE_EXPIRED`]) as soon as the peer's certificate chain has
//! expired, so the peer has to handshake again, which an expired certificate does not pass.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::pki_types::CertificateDer;
use time::OffsetDateTime;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::faulty::FaultHandle;
use crate::frame::{FrameError, Message, read_frame, write_frame};
use crate::inbox::{Inbox, bounded_by_bytes};
use crate::pki::{PeerId, peer_id_of};
use crate::tls::TlsSetup;

/// Connections are closed after this long without traffic.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Keep-alives are sent well below the idle timeout.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// Default bound on incoming connection attempts in progress at once (handshaking, or handshaken and not yet
/// taken by [`Endpoint::accept`]). An attempt beyond it is refused, not queued. A handshake takes about a
/// millisecond; 64 at once is far more than a federation of a few thousand nodes redialling needs, and bounds
/// what half-open handshakes can hold.
pub const MAX_CONCURRENT_HANDSHAKES: usize = 64;

/// Default bound on one incoming handshake, from the first packet to an admitted connection. Honest peers finish
/// in milliseconds (and give up dialling after 5 s); a half-open handshake is dropped after this and frees its slot.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The QUIC application close code of a connection closed because the peer's certificate expired.
pub const CLOSE_CERTIFICATE_EXPIRED: u32 = 0x57_01;

/// The bounds on incoming handshakes (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeLimits {
    /// At most this many incoming attempts in progress at once; more are refused. At least 1.
    pub max_in_progress: usize,
    /// Each handshake is abandoned after this long.
    pub timeout: Duration,
}

impl Default for HandshakeLimits {
    fn default() -> Self {
        HandshakeLimits {
            max_in_progress: MAX_CONCURRENT_HANDSHAKES,
            timeout: HANDSHAKE_TIMEOUT,
        }
    }
}

/// What became of incoming connection attempts so far (for metrics and tests).
#[derive(Debug, Default)]
pub struct HandshakeCounts {
    /// Attempts refused because [`HandshakeLimits::max_in_progress`] were already in progress.
    pub refused_at_capacity: AtomicU64,
    /// Handshakes abandoned after [`HandshakeLimits::timeout`].
    pub timed_out: AtomicU64,
}

/// Setting up or using an endpoint failed.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// TLS configuration is invalid.
    #[error(transparent)]
    Tls(#[from] rustls::Error),
    /// Binding the UDP socket failed.
    #[error("cannot bind {addr}: {cause}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        cause: std::io::Error,
    },
    /// Dialling failed before the handshake.
    #[error("cannot connect to {peer} at {addr}: {cause}")]
    Connect {
        /// The partner dialled.
        peer: PeerId,
        /// Its address.
        addr: SocketAddr,
        /// The cause.
        cause: quinn::ConnectError,
    },
    /// The handshake or the connection failed (e.g. the certificate was refused).
    #[error("connection with {peer}: {cause}")]
    Connection {
        /// The partner (as dialled, or "unknown" when accepting).
        peer: String,
        /// The cause.
        cause: quinn::ConnectionError,
    },
    /// The peer presented no usable identity.
    #[error("peer identity: {0}")]
    Identity(String),
    /// An incoming handshake did not finish within the handshake timeout.
    #[error(
        "handshake with {remote} did not finish within the handshake timeout (HANDSHAKE_TIMEOUT) of {timeout:?}"
    )]
    HandshakeTimeout {
        /// The address the attempt came from.
        remote: SocketAddr,
        /// The timeout ([`HandshakeLimits::timeout`]).
        timeout: Duration,
    },
    /// A stream failed.
    #[error("stream: {0}")]
    Stream(String),
    /// A frame could not be read or written.
    #[error(transparent)]
    Frame(#[from] FrameError),
}

/// A node's QUIC endpoint. Clones share the endpoint; when the last clone is dropped, handshakes in progress are
/// abandoned and the endpoint stops accepting.
#[derive(Debug, Clone)]
pub struct Endpoint {
    inner: quinn::Endpoint,
    admitted: crate::Admitted,
    /// Handshaken connections (or failed attempts), each with the slot it holds until taken.
    accepted: Arc<Mutex<mpsc::Receiver<Attempt>>>,
    slots: Arc<Semaphore>,
    limits: HandshakeLimits,
    counts: Arc<HandshakeCounts>,
}

/// The outcome of one incoming attempt, holding its slot until [`Endpoint::accept`] takes it.
#[derive(Debug)]
struct Attempt {
    outcome: Result<Connection, EndpointError>,
    _slot: OwnedSemaphorePermit,
}

fn transport() -> Arc<quinn::TransportConfig> {
    let mut t = quinn::TransportConfig::default();
    t.max_idle_timeout(Some(IDLE_TIMEOUT.try_into().expect("30 s fits")));
    t.keep_alive_interval(Some(KEEP_ALIVE));
    Arc::new(t)
}

impl Endpoint {
    /// Bind a UDP socket (use port 0 in tests) and serve and dial with `tls`.
    pub fn bind(addr: SocketAddr, tls: &TlsSetup) -> Result<Endpoint, EndpointError> {
        Self::bind_with(addr, tls, None)
    }

    /// As [`Endpoint::bind`], but with `faults` the socket drops, duplicates, reorders or cuts off datagrams as
    /// the handle says (the simulator's fault injection). `None` is exactly [`Endpoint::bind`].
    pub fn bind_with(
        addr: SocketAddr,
        tls: &TlsSetup,
        faults: Option<&FaultHandle>,
    ) -> Result<Endpoint, EndpointError> {
        Self::bind_limited(addr, tls, faults, HandshakeLimits::default())
    }

    /// As [`Endpoint::bind_with`], with other bounds on incoming handshakes than the defaults
    /// ([`MAX_CONCURRENT_HANDSHAKES`], [`HANDSHAKE_TIMEOUT`]). Must be called within a tokio runtime.
    pub fn bind_limited(
        addr: SocketAddr,
        tls: &TlsSetup,
        faults: Option<&FaultHandle>,
        limits: HandshakeLimits,
    ) -> Result<Endpoint, EndpointError> {
        let limits = HandshakeLimits {
            max_in_progress: limits.max_in_progress.max(1),
            ..limits
        };
        let server_crypto = QuicServerConfig::try_from(tls.server_config()?)
            .map_err(|e| EndpointError::Tls(rustls::Error::General(e.to_string())))?;
        let mut server = quinn::ServerConfig::with_crypto(Arc::new(server_crypto));
        server.transport_config(transport());
        let bound = match faults {
            None => quinn::Endpoint::server(server, addr),
            Some(faults) => std::net::UdpSocket::bind(addr).and_then(|socket| {
                let runtime = Arc::new(quinn::TokioRuntime);
                let socket = quinn::Runtime::wrap_udp_socket(&*runtime, socket)?;
                quinn::Endpoint::new_with_abstract_socket(
                    quinn::EndpointConfig::default(),
                    Some(server),
                    faults.wrap(socket),
                    runtime,
                )
            }),
        };
        let mut inner = bound.map_err(|source| EndpointError::Bind {
            addr,
            cause: source,
        })?;
        let client_crypto = QuicClientConfig::try_from(tls.client_config()?)
            .map_err(|e| EndpointError::Tls(rustls::Error::General(e.to_string())))?;
        let mut client = quinn::ClientConfig::new(Arc::new(client_crypto));
        client.transport_config(transport());
        inner.set_default_client_config(client);
        let slots = Arc::new(Semaphore::new(limits.max_in_progress));
        // Every attempt in the channel holds a slot, so it never holds more than `max_in_progress`.
        let (tx, rx) = mpsc::channel(limits.max_in_progress);
        let counts = Arc::new(HandshakeCounts::default());
        tokio::spawn(take_incoming(
            inner.clone(),
            tls.admitted.clone(),
            limits,
            slots.clone(),
            counts.clone(),
            tx,
        ));
        Ok(Endpoint {
            inner,
            admitted: tls.admitted.clone(),
            accepted: Arc::new(Mutex::new(rx)),
            slots,
            limits,
            counts,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Dial a partner; the handshake proves it is that partner, from the federation CA, and admitted.
    pub async fn connect(
        &self,
        addr: SocketAddr,
        peer: &PeerId,
    ) -> Result<Connection, EndpointError> {
        let connecting = self
            .inner
            .connect(addr, &peer.dns_name())
            .map_err(|source| EndpointError::Connect {
                peer: peer.clone(),
                addr,
                cause: source,
            })?;
        let conn = connecting
            .await
            .map_err(|source| EndpointError::Connection {
                peer: peer.to_string(),
                cause: source,
            })?;
        admit(&self.admitted, conn)
    }

    /// Accept the next incoming connection (or the error of an attempt that failed its handshake, timed out, or
    /// was not admitted); `None` when the endpoint is closed. Handshakes run concurrently in the background
    /// (see the module documentation); this only takes their outcomes, and is cancellation safe.
    pub async fn accept(&self) -> Option<Result<Connection, EndpointError>> {
        let attempt = self.accepted.lock().await.recv().await?;
        Some(attempt.outcome)
    }

    /// The bounds on incoming handshakes this endpoint enforces.
    pub fn handshake_limits(&self) -> HandshakeLimits {
        self.limits
    }

    /// Incoming attempts holding a slot now: handshaking, or handshaken and not yet taken by [`Endpoint::accept`].
    pub fn handshakes_in_progress(&self) -> usize {
        self.limits.max_in_progress - self.slots.available_permits()
    }

    /// What became of incoming attempts so far: refused at capacity, timed out.
    pub fn handshake_counts(&self) -> &HandshakeCounts {
        &self.counts
    }

    /// Close every connection and stop accepting.
    pub fn close(&self) {
        self.inner.close(0u32.into(), b"shutting down");
    }

    /// Wait until every connection is closed.
    pub async fn wait_idle(&self) {
        self.inner.wait_idle().await;
    }
}

/// Take incoming attempts off the quinn endpoint and handshake each in a task of its own, within the limits. Ends
/// when the endpoint is closed or every [`Endpoint`] handle is dropped; handshakes still in progress are then
/// abandoned (dropping a quinn `Connecting` closes it).
async fn take_incoming(
    endpoint: quinn::Endpoint,
    admitted: crate::Admitted,
    limits: HandshakeLimits,
    slots: Arc<Semaphore>,
    counts: Arc<HandshakeCounts>,
    tx: mpsc::Sender<Attempt>,
) {
    let mut handshakes = JoinSet::new();
    loop {
        tokio::select! {
            incoming = endpoint.accept() => {
                let Some(incoming) = incoming else { break };
                let remote = incoming.remote_address();
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    let n = counts.refused_at_capacity.fetch_add(1, Ordering::Relaxed) + 1;
                    // A flood must not flood the log too: a warning at 1, 2, 4, 8, … refusals.
                    if n.is_power_of_two() {
                        tracing::warn!(
                            %remote,
                            max_in_progress = limits.max_in_progress,
                            refused_so_far = n,
                            "refused a connection attempt: the limit of concurrent handshakes \
                             (MAX_CONCURRENT_HANDSHAKES) is reached"
                        );
                    } else {
                        tracing::debug!(%remote, refused_so_far = n, "refused a connection attempt at capacity");
                    }
                    incoming.refuse();
                    continue;
                };
                let (admitted, counts, tx) = (admitted.clone(), counts.clone(), tx.clone());
                handshakes.spawn(async move {
                    let outcome = match tokio::time::timeout(limits.timeout, incoming).await {
                        Ok(Ok(conn)) => admit(&admitted, conn),
                        Ok(Err(source)) => Err(EndpointError::Connection {
                            peer: "unknown".into(),
                            cause: source,
                        }),
                        Err(_) => {
                            let n = counts.timed_out.fetch_add(1, Ordering::Relaxed) + 1;
                            if n.is_power_of_two() {
                                tracing::warn!(%remote, timeout = ?limits.timeout, timed_out_so_far = n, "abandoned a handshake that did not finish in time");
                            } else {
                                tracing::debug!(%remote, timed_out_so_far = n, "abandoned a handshake that did not finish in time");
                            }
                            Err(EndpointError::HandshakeTimeout {
                                remote,
                                timeout: limits.timeout,
                            })
                        }
                    };
                    // Never blocks: the channel has room for every slot. Fails only when nobody accepts any more.
                    let _ = tx.send(Attempt { outcome, _slot: slot }).await;
                });
            }
            Some(_) = handshakes.join_next(), if !handshakes.is_empty() => {}
            () = tx.closed() => break,
        }
    }
}

/// Check a handshaken connection once more against the directory (whatever path the TLS library took, a partner
/// not admitted now gets no connection) and arm its certificate-expiry close.
fn admit(admitted: &crate::Admitted, conn: quinn::Connection) -> Result<Connection, EndpointError> {
    let conn = Connection::new(conn)?;
    if let Some(why) = admitted.refusal(conn.peer(), conn.peer_certificate()) {
        conn.close(&why);
        return Err(EndpointError::Identity(why));
    }
    conn.arm_expiry();
    Ok(conn)
}

/// The earliest `notAfter` in a certificate chain.
fn chain_not_after(certs: &[CertificateDer<'_>]) -> Result<OffsetDateTime, EndpointError> {
    let mut earliest: Option<OffsetDateTime> = None;
    for cert in certs {
        let (_, parsed) = x509_parser::parse_x509_certificate(cert)
            .map_err(|e| EndpointError::Identity(format!("peer certificate: {e}")))?;
        let t = OffsetDateTime::from_unix_timestamp(parsed.validity().not_after.timestamp())
            .map_err(|e| EndpointError::Identity(format!("peer certificate notAfter: {e}")))?;
        earliest = Some(earliest.map_or(t, |e| e.min(t)));
    }
    earliest.ok_or_else(|| EndpointError::Identity("empty certificate chain".into()))
}

/// Aborts the expiry timer of a connection when its last handle is dropped, so the timer (which holds a quinn
/// handle) never keeps a connection alive that the application let go of.
#[derive(Debug, Default)]
struct ExpiryTimer(std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>);

impl Drop for ExpiryTimer {
    fn drop(&mut self) {
        if let Some(task) = self.0.get_mut().ok().and_then(Option::take) {
            task.abort();
        }
    }
}

/// Longest single sleep of an expiry timer: tokio's timer does not take deadlines years away.
const EXPIRY_CHECK_EVERY: Duration = Duration::from_secs(24 * 3600);

/// An authenticated connection with a partner.
#[derive(Debug, Clone)]
pub struct Connection {
    inner: quinn::Connection,
    peer: PeerId,
    certificate: CertificateDer<'static>,
    not_after: OffsetDateTime,
    expiry: Arc<ExpiryTimer>,
    /// Whether the peer speaks [`crate::ALPN`] (version 2) and so takes batches.
    batches: bool,
    /// Messages of a batch read and not handed out yet ([`Connection::recv`] returns one at a time).
    unpacked: Arc<std::sync::Mutex<std::collections::VecDeque<Message>>>,
}

impl Connection {
    fn new(inner: quinn::Connection) -> Result<Self, EndpointError> {
        let identity = inner
            .peer_identity()
            .ok_or_else(|| EndpointError::Identity("no peer certificate".into()))?;
        let certs = identity
            .downcast::<Vec<CertificateDer<'static>>>()
            .map_err(|_| EndpointError::Identity("unexpected peer identity type".into()))?;
        let first = certs
            .first()
            .ok_or_else(|| EndpointError::Identity("empty certificate chain".into()))?;
        let peer = peer_id_of(first).map_err(|e| EndpointError::Identity(e.to_string()))?;
        let not_after = chain_not_after(&certs)?;
        let batches = inner
            .handshake_data()
            .and_then(|d| d.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
            .and_then(|d| d.protocol)
            .is_some_and(|p| p == crate::tls::ALPN);
        Ok(Connection {
            inner,
            peer,
            certificate: first.clone(),
            not_after,
            expiry: Arc::default(),
            batches,
            unpacked: Arc::default(),
        })
    }

    /// When the peer's certificate chain expires (the earliest `notAfter` of the certificates it presented). The
    /// connection is closed with [`CLOSE_CERTIFICATE_EXPIRED`] once this has passed.
    pub fn peer_not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// Start the timer that closes this connection once the peer's certificate has expired: from the first second
    /// after `notAfter`, which is when webpki refuses it at a handshake.
    fn arm_expiry(&self) {
        let conn = self.inner.clone();
        let (peer, not_after) = (self.peer.clone(), self.not_after);
        let deadline = not_after + Duration::from_secs(1);
        let task = tokio::spawn(async move {
            let wait = async {
                loop {
                    let left = deadline - OffsetDateTime::now_utc();
                    if left <= time::Duration::ZERO {
                        break;
                    }
                    let left = Duration::try_from(left).unwrap_or(EXPIRY_CHECK_EVERY);
                    tokio::time::sleep(left.min(EXPIRY_CHECK_EVERY)).await;
                }
            };
            tokio::select! {
                () = wait => {
                    let at = not_after
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_else(|_| not_after.to_string());
                    tracing::info!(%peer, not_after = %at, "closing the connection: the peer's certificate expired");
                    conn.close(
                        CLOSE_CERTIFICATE_EXPIRED.into(),
                        format!("peer certificate expired at {at}").as_bytes(),
                    );
                }
                _ = conn.closed() => {}
            }
        });
        *self.expiry.0.lock().expect("expiry timer lock") = Some(task);
    }

    /// The partner at the other end, from its certificate — never from anything it says.
    pub fn peer(&self) -> &PeerId {
        &self.peer
    }

    /// The partner's certificate, as presented in the handshake (to verify what it signed).
    pub fn peer_certificate(&self) -> &CertificateDer<'static> {
        &self.certificate
    }

    /// The partner's address.
    pub fn remote_address(&self) -> SocketAddr {
        self.inner.remote_address()
    }

    /// Send one message on a fresh unidirectional stream.
    pub async fn send(&self, msg: &Message) -> Result<(), EndpointError> {
        let mut s = self
            .inner
            .open_uni()
            .await
            .map_err(|e| EndpointError::Stream(e.to_string()))?;
        write_frame(&mut s, msg).await?;
        s.finish()
            .map_err(|e| EndpointError::Stream(e.to_string()))?;
        Ok(())
    }

    /// Send several messages: as one compressed [`Message::Batch`] per [`crate::batch::BATCH_TARGET`] bytes when
    /// the peer takes batches, otherwise one by one.
    pub async fn send_many(&self, msgs: &[Message]) -> Result<(), EndpointError> {
        if !self.batches || msgs.len() < 2 {
            for m in msgs {
                self.send(m).await?;
            }
            return Ok(());
        }
        let mut start = 0;
        let mut bytes = 0;
        for (i, m) in msgs.iter().enumerate() {
            let len = m.heap_len() + 64;
            if i > start && bytes + len > crate::batch::BATCH_TARGET {
                self.send_packed(&msgs[start..i]).await?;
                start = i;
                bytes = 0;
            }
            bytes += len;
        }
        self.send_packed(&msgs[start..]).await
    }

    async fn send_packed(&self, msgs: &[Message]) -> Result<(), EndpointError> {
        match msgs {
            [one] => self.send(one).await,
            _ => self.send(&crate::batch::pack(msgs)?).await,
        }
    }

    /// Whether the peer takes [`Message::Batch`] (it negotiated [`crate::ALPN`]).
    pub fn takes_batches(&self) -> bool {
        self.batches
    }

    /// The bytes this connection has sent in UDP datagrams so far: what went on the wire, QUIC and TLS included.
    pub fn wire_bytes_sent(&self) -> u64 {
        self.inner.stats().udp_tx.bytes
    }

    /// Receive the next message; `Ok(None)` when the connection closed. A malformed frame is an error for that
    /// stream only: the caller decides whether to keep the connection. A batch is handed out message by message.
    pub async fn recv(&self) -> Result<Option<Message>, EndpointError> {
        if let Some(m) = self.unpacked.lock().expect("unpacked lock").pop_front() {
            return Ok(Some(m));
        }
        let mut s = match self.inner.accept_uni().await {
            Ok(s) => s,
            Err(
                quinn::ConnectionError::ApplicationClosed(_)
                | quinn::ConnectionError::LocallyClosed,
            ) => {
                return Ok(None);
            }
            Err(source) => {
                return Err(EndpointError::Connection {
                    peer: self.peer.to_string(),
                    cause: source,
                });
            }
        };
        match read_frame(&mut s).await? {
            Some(Message::Batch { data }) => {
                let mut msgs = crate::batch::unpack(&data)?.into_iter();
                let first = msgs.next();
                self.unpacked.lock().expect("unpacked lock").extend(msgs);
                match first {
                    Some(m) => Ok(Some(m)),
                    None => Err(EndpointError::Frame(FrameError::Malformed(
                        "an empty batch".into(),
                    ))),
                }
            }
            Some(m) => Ok(Some(m)),
            None => Err(EndpointError::Frame(FrameError::Truncated)),
        }
    }

    /// Read this connection's messages ahead, in a task of their own, into an [`Inbox`] holding at most
    /// `max_bytes` of messages ([`crate::inbox::INBOX_MAX_BYTES`] is the default to use): when it is full, reading
    /// waits, QUIC flow control holds the peer back, and the node's memory for this peer stays bounded by
    /// `max_bytes` plus the one frame being read. Call it once per connection (two readers would share the
    /// messages). The reader ends when the connection does, or when the inbox is dropped.
    pub fn inbox(&self, max_bytes: usize) -> Inbox {
        let (tx, rx) = bounded_by_bytes(max_bytes);
        let conn = self.clone();
        let reader = tokio::spawn(async move {
            loop {
                let item = match conn.recv().await {
                    Ok(Some(m)) => Ok(m),
                    Ok(None) => break,
                    Err(EndpointError::Frame(e)) => Err(e),
                    Err(e) => {
                        tracing::debug!(peer = %conn.peer, error = %e, "connection ended");
                        break;
                    }
                };
                let bytes = item.as_ref().map_or(0, Message::heap_len);
                if tx.send(item, bytes).await.is_err() {
                    break;
                }
            }
        });
        Inbox::new(rx, reader)
    }

    /// Send raw bytes on a fresh stream: for tests of what a hostile peer can send.
    pub async fn send_raw(&self, bytes: &[u8]) -> Result<(), EndpointError> {
        let mut s = self
            .inner
            .open_uni()
            .await
            .map_err(|e| EndpointError::Stream(e.to_string()))?;
        s.write_all(bytes)
            .await
            .map_err(|e| EndpointError::Stream(e.to_string()))?;
        s.finish()
            .map_err(|e| EndpointError::Stream(e.to_string()))?;
        Ok(())
    }

    /// Send one message and wait (at most `limit`) until the peer has acknowledged all of it: for a last word
    /// before [`Connection::close`], which would otherwise discard data not yet delivered.
    pub async fn send_and_flush(
        &self,
        msg: &Message,
        limit: Duration,
    ) -> Result<(), EndpointError> {
        let delivered = async {
            let mut s = self
                .inner
                .open_uni()
                .await
                .map_err(|e| EndpointError::Stream(e.to_string()))?;
            write_frame(&mut s, msg).await?;
            s.finish()
                .map_err(|e| EndpointError::Stream(e.to_string()))?;
            s.stopped()
                .await
                .map_err(|e| EndpointError::Stream(e.to_string()))?;
            Ok(())
        };
        tokio::time::timeout(limit, delivered)
            .await
            .map_err(|_| EndpointError::Stream("not acknowledged in time".into()))?
    }

    /// Close the connection.
    pub fn close(&self, reason: &str) {
        self.inner.close(0u32.into(), reason.as_bytes());
    }

    /// Resolves when the connection is closed, with the reason.
    pub async fn closed(&self) -> String {
        self.inner.closed().await.to_string()
    }
}
