//! Mutual TLS for the federation: both sides present a certificate from the federation CA, and both refuse, at the
//! handshake, a certificate from another CA, an expired one, and one whose partner is not (or no longer) in the
//! federation directory.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};

use crate::pki::{PeerId, PkiError, certs_from_pem, key_from_pem, peer_id_of};

/// The ALPN of this protocol version: as [`ALPN_V1`], and a peer may send [`crate::frame::Message::Batch`].
pub const ALPN: &[u8] = b"weerthuis/2";

/// The ALPN of the first protocol version, still spoken: a node of an earlier release offers only this, and
/// is sent no batches.
pub const ALPN_V1: &[u8] = b"weerthuis/1";

/// The partners currently admitted and the certificate keys revoked: the federation directory, as the handshake
/// sees it. Shared, so a new signed directory takes effect for the next handshake without restarting the endpoint.
#[derive(Debug, Clone, Default)]
pub struct Admitted(Arc<RwLock<AdmittedSets>>);

#[derive(Debug, Default)]
struct AdmittedSets {
    peers: BTreeSet<PeerId>,
    /// Key fingerprints ([`crate::pki::key_fingerprint`]) refused whoever presents them.
    revoked: BTreeSet<String>,
}

impl Admitted {
    /// Admit exactly these partners.
    pub fn new(peers: impl IntoIterator<Item = PeerId>) -> Self {
        let a = Admitted::default();
        a.replace(peers);
        a
    }

    /// Replace the admitted set (a new directory version), keeping the revoked keys.
    pub fn replace(&self, peers: impl IntoIterator<Item = PeerId>) {
        self.0.write().expect("admitted set lock").peers = peers.into_iter().collect();
    }

    /// Replace the admitted partners and the revoked keys at once (a new directory version).
    pub fn replace_all(
        &self,
        peers: impl IntoIterator<Item = PeerId>,
        revoked: impl IntoIterator<Item = String>,
    ) {
        let mut sets = self.0.write().expect("admitted set lock");
        sets.peers = peers.into_iter().collect();
        sets.revoked = revoked
            .into_iter()
            .map(|k| k.to_ascii_lowercase())
            .collect();
    }

    /// Whether a partner is admitted.
    pub fn contains(&self, peer: &PeerId) -> bool {
        self.0
            .read()
            .expect("admitted set lock")
            .peers
            .contains(peer)
    }

    /// Whether a certificate's key is revoked.
    pub fn is_revoked(&self, cert: &CertificateDer<'_>) -> bool {
        let sets = self.0.read().expect("admitted set lock");
        !sets.revoked.is_empty()
            && crate::pki::key_fingerprint(cert).map_or(true, |k| sets.revoked.contains(&k))
    }

    /// Why a peer with this certificate is not admitted now, or `None` when it is: its partner is not in the
    /// directory, or its key is revoked.
    pub fn refusal(&self, peer: &PeerId, cert: &CertificateDer<'_>) -> Option<String> {
        if !self.contains(peer) {
            return Some(format!("partner {peer} is not in the federation directory"));
        }
        if self.is_revoked(cert) {
            return Some(format!(
                "the certificate key of {peer} is revoked in the federation directory"
            ));
        }
        None
    }
}

/// What a node needs for mutual TLS: its own certificate and key, the federation CA, the admitted partners.
#[derive(Debug, Clone)]
pub struct TlsSetup {
    /// The node's certificate chain.
    pub chain: Vec<CertificateDer<'static>>,
    /// The node's private key.
    pub key: Arc<PrivateKeyDer<'static>>,
    /// The federation CA.
    pub roots: Arc<RootCertStore>,
    /// The federation CA's certificate, PEM: what the signed directory is verified against.
    pub ca_pem: String,
    /// The admitted partners.
    pub admitted: Admitted,
}

impl TlsSetup {
    /// Build from PEM texts.
    pub fn from_pem(
        cert_pem: &str,
        key_pem: &str,
        ca_pem: &str,
        admitted: Admitted,
    ) -> Result<Self, PkiError> {
        let mut roots = RootCertStore::empty();
        for ca in certs_from_pem(ca_pem)? {
            roots
                .add(ca)
                .map_err(|e| PkiError::Pem(format!("federation CA: {e}")))?;
        }
        Ok(TlsSetup {
            chain: certs_from_pem(cert_pem)?,
            key: Arc::new(key_from_pem(key_pem)?),
            roots: Arc::new(roots),
            ca_pem: ca_pem.to_string(),
            admitted,
        })
    }

    /// This node's own partner id, from its certificate.
    pub fn own_id(&self) -> Result<PeerId, PkiError> {
        peer_id_of(&self.chain[0]).map_err(|e| PkiError::Pem(e.to_string()))
    }

    fn provider() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    /// The rustls server side: client certificates mandatory, checked against the CA and the directory.
    pub fn server_config(&self) -> Result<rustls::ServerConfig, rustls::Error> {
        let inner =
            WebPkiClientVerifier::builder_with_provider(self.roots.clone(), Self::provider())
                .build()
                .map_err(|e| rustls::Error::General(e.to_string()))?;
        let verifier = Arc::new(DirectoryClientVerifier {
            inner,
            admitted: self.admitted.clone(),
        });
        let mut cfg = rustls::ServerConfig::builder_with_provider(Self::provider())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.chain.clone(), self.key.clone_key())?;
        cfg.alpn_protocols = vec![ALPN.to_vec(), ALPN_V1.to_vec()];
        // No resumption: a resumed handshake restores the peer's certificate without running the verifier, so a
        // partner removed from the directory (or whose certificate expired) could come back on an old ticket.
        cfg.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        cfg.send_tls13_tickets = 0;
        Ok(cfg)
    }

    /// The rustls client side: presents this node's certificate; the server's must come from the CA, name the
    /// partner dialled, and be admitted.
    pub fn client_config(&self) -> Result<rustls::ClientConfig, rustls::Error> {
        let inner =
            WebPkiServerVerifier::builder_with_provider(self.roots.clone(), Self::provider())
                .build()
                .map_err(|e| rustls::Error::General(e.to_string()))?;
        let verifier = Arc::new(DirectoryServerVerifier {
            inner,
            admitted: self.admitted.clone(),
        });
        let mut cfg = rustls::ClientConfig::builder_with_provider(Self::provider())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_auth_cert(self.chain.clone(), self.key.clone_key())?;
        cfg.alpn_protocols = vec![ALPN.to_vec(), ALPN_V1.to_vec()];
        // Every handshake verifies the server against the directory as it is now (see `server_config`).
        cfg.resumption = rustls::client::Resumption::disabled();
        Ok(cfg)
    }
}

fn admit(admitted: &Admitted, cert: &CertificateDer<'_>) -> Result<(), rustls::Error> {
    let peer =
        peer_id_of(cert).map_err(|e| rustls::Error::General(format!("peer certificate: {e}")))?;
    match admitted.refusal(&peer, cert) {
        None => Ok(()),
        Some(why) => Err(rustls::Error::General(why)),
    }
}

/// WebPKI client verification (CA, validity) plus the directory check.
#[derive(Debug)]
struct DirectoryClientVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    admitted: Admitted,
}

impl ClientCertVerifier for DirectoryClientVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let ok = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        admit(&self.admitted, end_entity)?;
        Ok(ok)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// WebPKI server verification (CA, validity, DNS name of the partner dialled) plus the directory check.
#[derive(Debug)]
struct DirectoryServerVerifier {
    inner: Arc<WebPkiServerVerifier>,
    admitted: Admitted,
}

impl ServerCertVerifier for DirectoryServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let ok = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        admit(&self.admitted, end_entity)?;
        Ok(ok)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
