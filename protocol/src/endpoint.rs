//! QUIC endpoints (quinn) with the federation's mutual TLS. One endpoint per node both listens and dials.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::pki_types::CertificateDer;

use crate::faulty::FaultHandle;
use crate::frame::{FrameError, Message, read_frame, write_frame};
use crate::pki::{PeerId, peer_id_of};
use crate::tls::TlsSetup;

/// Connections are closed after this long without traffic.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Keep-alives are sent well below the idle timeout.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// Setting up or using an endpoint failed.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// TLS configuration is invalid.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// Binding the UDP socket failed.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// Dialling failed before the handshake.
    #[error("cannot connect to {peer} at {addr}: {source}")]
    Connect {
        /// The partner dialled.
        peer: PeerId,
        /// Its address.
        addr: SocketAddr,
        /// The cause.
        source: quinn::ConnectError,
    },
    /// The handshake or the connection failed (e.g. the certificate was refused).
    #[error("connection with {peer}: {source}")]
    Connection {
        /// The partner (as dialled, or "unknown" when accepting).
        peer: String,
        /// The cause.
        source: quinn::ConnectionError,
    },
    /// The peer presented no usable identity.
    #[error("peer identity: {0}")]
    Identity(String),
    /// A stream failed.
    #[error("stream: {0}")]
    Stream(String),
    /// A frame could not be read or written.
    #[error(transparent)]
    Frame(#[from] FrameError),
}

/// A node's QUIC endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    inner: quinn::Endpoint,
    admitted: crate::Admitted,
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
        let mut inner = bound.map_err(|source| EndpointError::Bind { addr, source })?;
        let client_crypto = QuicClientConfig::try_from(tls.client_config()?)
            .map_err(|e| EndpointError::Tls(rustls::Error::General(e.to_string())))?;
        let mut client = quinn::ClientConfig::new(Arc::new(client_crypto));
        client.transport_config(transport());
        inner.set_default_client_config(client);
        Ok(Endpoint {
            inner,
            admitted: tls.admitted.clone(),
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
                source,
            })?;
        let conn = connecting
            .await
            .map_err(|source| EndpointError::Connection {
                peer: peer.to_string(),
                source,
            })?;
        self.admit(Connection::new(conn)?)
    }

    /// The directory, checked once more after the handshake: whatever path the TLS library took, a partner not
    /// admitted now gets no connection.
    fn admit(&self, conn: Connection) -> Result<Connection, EndpointError> {
        if self.admitted.contains(conn.peer()) {
            Ok(conn)
        } else {
            conn.close("not in the federation directory");
            Err(EndpointError::Identity(format!(
                "{} is not in the federation directory",
                conn.peer()
            )))
        }
    }

    /// Accept the next incoming connection; `None` when the endpoint is closed.
    pub async fn accept(&self) -> Option<Result<Connection, EndpointError>> {
        let incoming = self.inner.accept().await?;
        Some(
            async move {
                let conn = incoming.await.map_err(|source| EndpointError::Connection {
                    peer: "unknown".into(),
                    source,
                })?;
                self.admit(Connection::new(conn)?)
            }
            .await,
        )
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

/// An authenticated connection with a partner.
#[derive(Debug, Clone)]
pub struct Connection {
    inner: quinn::Connection,
    peer: PeerId,
    certificate: CertificateDer<'static>,
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
        Ok(Connection {
            inner,
            peer,
            certificate: first.clone(),
        })
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

    /// Receive the next message; `Ok(None)` when the connection closed. A malformed frame is an error for that
    /// stream only: the caller decides whether to keep the connection.
    pub async fn recv(&self) -> Result<Option<Message>, EndpointError> {
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
                    source,
                });
            }
        };
        match read_frame(&mut s).await? {
            Some(m) => Ok(Some(m)),
            None => Err(EndpointError::Frame(FrameError::Truncated)),
        }
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

    /// Close the connection.
    pub fn close(&self, reason: &str) {
        self.inner.close(0u32.into(), reason.as_bytes());
    }

    /// Resolves when the connection is closed, with the reason.
    pub async fn closed(&self) -> String {
        self.inner.closed().await.to_string()
    }
}
