//! The federation's PKI: a private federation CA (PKIoverheid with OINs in production), node certificates that
//! carry the partner id, and the signed federation directory.
//!
//! A node certificate carries the partner id twice: as URI SAN `weerthuis://<role>/<code>` (what authorises the
//! peer) and as a DNS SAN `<role>-<code>.weerthuis.invalid` (what webpki matches when dialling, since it never
//! matches URI SANs).

use std::fmt;
use std::str::FromStr;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use ring::signature::{self, EcdsaKeyPair, KeyPair as _};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A peer's identity as its certificate states it: `<role>:<code>`. The protocol does not interpret roles.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PeerId(String);

/// A peer id or certificate name that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid peer id {0:?}: expected <role>:<code> of letters, digits, '-' and '_'")]
pub struct PeerIdError(pub String);

impl PeerId {
    /// The URI SAN for this peer.
    pub fn uri(&self) -> String {
        let (role, code) = self.parts();
        format!("weerthuis://{role}/{code}")
    }

    /// The DNS name in this peer's certificate, used as the TLS server name when dialling it.
    pub fn dns_name(&self) -> String {
        let (role, code) = self.parts();
        format!(
            "{}-{}.weerthuis.invalid",
            role,
            code.to_ascii_lowercase().replace('_', "-")
        )
    }

    /// Parse a URI SAN `weerthuis://<role>/<code>`.
    pub fn from_uri(uri: &str) -> Result<PeerId, PeerIdError> {
        let rest = uri
            .strip_prefix("weerthuis://")
            .ok_or_else(|| PeerIdError(uri.into()))?;
        let (role, code) = rest
            .split_once('/')
            .ok_or_else(|| PeerIdError(uri.into()))?;
        format!("{role}:{code}").parse()
    }

    /// Role and code.
    pub fn parts(&self) -> (&str, &str) {
        self.0.split_once(':').expect("checked when parsed")
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PeerId {
    type Err = PeerIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok_part = |p: &str| {
            !p.is_empty()
                && p.len() <= 64
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        match s.split_once(':') {
            Some((role, code)) if ok_part(role) && ok_part(code) => Ok(PeerId(s.to_string())),
            _ => Err(PeerIdError(s.to_string())),
        }
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A PKI operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Generating or signing a certificate failed.
    #[error(transparent)]
    Certificate(#[from] rcgen::Error),
    /// A PEM file holds no (or no usable) certificate or key.
    #[error("PEM: {0}")]
    Pem(String),
    /// The directory's signature does not verify against the federation CA.
    #[error("the federation directory's signature does not verify against the federation CA")]
    BadSignature,
    /// The directory is not valid JSON of the expected shape.
    #[error("federation directory: {0}")]
    Directory(String),
    /// A certificate cannot be renewed.
    #[error("certificate not renewed: {0}")]
    Renewal(String),
}

/// A certificate with its private key, both PEM.
#[derive(Debug, Clone)]
pub struct CertifiedKey {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key (PKCS#8), PEM. Keep it on the node only.
    pub key_pem: String,
}

/// The federation CA: issues node certificates and signs the directory.
pub struct FederationCa {
    cert_pem: String,
    key: KeyPair,
}

impl fmt::Debug for FederationCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FederationCa").finish_non_exhaustive()
    }
}

impl FederationCa {
    /// Create a new CA valid from `not_before` to `not_after`.
    pub fn create(
        name: &str,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<Self, PkiError> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        dn.push(DnType::OrganizationName, "Convenant Weer Thuis");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = not_before;
        params.not_after = not_after;
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(FederationCa {
            cert_pem: cert.pem(),
            key,
        })
    }

    /// Load a CA from its PEM certificate and key.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, PkiError> {
        let key = KeyPair::from_pem(key_pem)?;
        // Parse once to fail early on a bad certificate.
        Issuer::from_ca_cert_pem(cert_pem, &key)?;
        Ok(FederationCa {
            cert_pem: cert_pem.to_string(),
            key,
        })
    }

    /// The CA certificate, PEM: what every node trusts.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA key, PEM. Keep it offline at the Transferpunt.
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// Issue a node certificate for a partner, valid from `not_before` to `not_after`.
    pub fn issue(
        &self,
        peer: &PeerId,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<CertifiedKey, PkiError> {
        let issuer = Issuer::from_ca_cert_pem(&self.cert_pem, &self.key)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, peer.as_str());
        params.distinguished_name = dn;
        params.subject_alt_names = vec![
            SanType::URI(peer.uri().try_into()?),
            SanType::DnsName(peer.dns_name().try_into()?),
        ];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.not_before = not_before;
        params.not_after = not_after;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &issuer)?;
        Ok(CertifiedKey {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Whether `cert` was issued by this CA: its signature verifies against the CA's key.
    pub fn issued(&self, cert: &CertificateDer<'_>) -> bool {
        let Ok((_, parsed)) = x509_parser::parse_x509_certificate(cert) else {
            return false;
        };
        let tbs: &[u8] = parsed.tbs_certificate.as_ref();
        signature::UnparsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_ASN1,
            self.key.public_key_raw(),
        )
        .verify(tbs, parsed.signature_value.data.as_ref())
        .is_ok()
    }

    /// Renew a node certificate this CA issued: a new certificate with a *new* key for the same partner id, valid
    /// from `not_before` to `not_after`. The old one must not have expired at `now` (a renewal replaces a valid
    /// certificate; an expired one is issued anew with [`FederationCa::issue`]).
    pub fn renew(
        &self,
        old: &CertificateDer<'_>,
        now: OffsetDateTime,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<(PeerId, CertifiedKey), PkiError> {
        if !self.issued(old) {
            return Err(PkiError::Renewal(
                "the certificate was not issued by this federation CA".into(),
            ));
        }
        let peer = peer_id_of(old).map_err(|e| PkiError::Renewal(e.to_string()))?;
        let expires = self::not_after(old)?;
        if expires <= now {
            return Err(PkiError::Renewal(format!(
                "the certificate of {peer} expired at {expires} (rule: a certificate is renewed before it expires; \
                 issue a new one with `weerthuis ca issue`)"
            )));
        }
        Ok((peer.clone(), self.issue(&peer, not_before, not_after)?))
    }

    /// Sign a directory.
    pub fn sign_directory(&self, dir: &Directory) -> Result<SignedDirectory, PkiError> {
        let body = serde_json::to_vec(dir).map_err(|e| PkiError::Directory(e.to_string()))?;
        let rng = ring::rand::SystemRandom::new();
        let signer = EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &self.key.serialize_der(),
            &rng,
        )
        .map_err(|e| PkiError::Pem(format!("CA key is not ECDSA P-256: {e}")))?;
        let sig = signer
            .sign(&rng, &body)
            .map_err(|_| PkiError::BadSignature)?;
        debug_assert!(!signer.public_key().as_ref().is_empty());
        Ok(SignedDirectory {
            body,
            signature: sig.as_ref().to_vec(),
        })
    }
}

/// Sign `body` with a node's private key (ECDSA P-256, PKCS#8 PEM): how the Transferpunt signs a policy version.
pub fn sign_with_key(key_pem: &str, body: &[u8]) -> Result<Vec<u8>, PkiError> {
    let PrivateKeyDer::Pkcs8(der) = key_from_pem(key_pem)? else {
        return Err(PkiError::Pem("expected a PKCS#8 key".into()));
    };
    let rng = ring::rand::SystemRandom::new();
    let signer = EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        der.secret_pkcs8_der(),
        &rng,
    )
    .map_err(|e| PkiError::Pem(format!("key is not ECDSA P-256: {e}")))?;
    Ok(signer
        .sign(&rng, body)
        .map_err(|_| PkiError::BadSignature)?
        .as_ref()
        .to_vec())
}

/// Verify a signature made with [`sign_with_key`] against the signer's certificate.
pub fn verify_with_cert(
    cert: &CertificateDer<'_>,
    body: &[u8],
    sig: &[u8],
) -> Result<(), PkiError> {
    let (_, parsed) =
        x509_parser::parse_x509_certificate(cert).map_err(|e| PkiError::Pem(e.to_string()))?;
    let public = parsed.public_key().subject_public_key.data.to_vec();
    signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, public)
        .verify(body, sig)
        .map_err(|_| PkiError::BadSignature)
}

/// Parse all certificates of a PEM text.
pub fn certs_from_pem(pem: &str) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let certs: Vec<_> = pem_blocks(pem, "CERTIFICATE")?
        .into_iter()
        .map(CertificateDer::from)
        .collect();
    if certs.is_empty() {
        return Err(PkiError::Pem("no CERTIFICATE block found".into()));
    }
    Ok(certs)
}

/// Parse a PKCS#8 private key from PEM.
pub fn key_from_pem(pem: &str) -> Result<PrivateKeyDer<'static>, PkiError> {
    let mut blocks = pem_blocks(pem, "PRIVATE KEY")?;
    if blocks.len() != 1 {
        return Err(PkiError::Pem(
            "expected exactly one PRIVATE KEY block".into(),
        ));
    }
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        blocks.remove(0),
    )))
}

fn pem_blocks(pem: &str, tag: &str) -> Result<Vec<Vec<u8>>, PkiError> {
    let mut out = Vec::new();
    for p in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
        let p = p.map_err(|e| PkiError::Pem(e.to_string()))?;
        if p.label == tag {
            out.push(p.contents);
        }
    }
    Ok(out)
}

/// The partner id in a certificate's URI SAN.
pub fn peer_id_of(cert: &CertificateDer<'_>) -> Result<PeerId, PeerIdError> {
    let ee = webpki::EndEntityCert::try_from(cert).map_err(|e| PeerIdError(e.to_string()))?;
    let mut uris = ee.valid_uri_names();
    let uri = uris
        .next()
        .ok_or_else(|| PeerIdError("certificate has no URI SAN".into()))?;
    PeerId::from_uri(uri)
}

/// A contact person of a partner (Afspraak 3g: at most two per partner).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Name.
    pub naam: String,
    /// E-mail.
    pub email: String,
    /// Phone.
    #[serde(default)]
    pub telefoon: Option<String>,
}

/// One partner in the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryEntry {
    /// The partner id.
    pub id: PeerId,
    /// Its name.
    pub name: String,
    /// Where its node listens (`host:port`), if it accepts connections.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Its fixed contact persons.
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// For a corporatie: the gemeenten (CBS codes) where it lets homes, for the round-robin.
    #[serde(default)]
    pub werkgebied: Vec<String>,
    /// When the partner can be reached for signalen and knelpunten (Afspraak 7a, Bijlage 2), in words
    /// ("werkdagen 9:00-12:00").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bereikbaar: Option<String>,
    /// A number that answers 24 hours a day, where the partner has one (Bijlage 2: there is no standard 24-hour
    /// reachability of zorgaanbieders and gebiedsteams; a partner that offers it lists it here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telefoon_24_uur: Option<String>,
}

/// A single certificate key revoked by the directory: a stolen or lost key, without removing its partner (who gets
/// a renewed certificate with a new key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedKey {
    /// The partner the key belonged to (for people reading the directory; the key decides).
    pub partner: PeerId,
    /// The key's fingerprint: SHA-256 of the certificate's SubjectPublicKeyInfo, lowercase hex
    /// ([`key_fingerprint`]). Every certificate with this key is refused, whatever its serial or validity.
    pub key: String,
    /// Why, in a few words (no personal data).
    #[serde(default)]
    pub reason: Option<String>,
}

/// The federation directory: who takes part, where they are, whom to call, and which keys are revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    /// Increases with every change; a node never goes back to a lower version.
    pub version: u64,
    /// The partners.
    pub partners: Vec<DirectoryEntry>,
    /// Revoked certificate keys (a stolen key revoked without removing the partner).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revoked: Vec<RevokedKey>,
}

impl Directory {
    /// The entry of a partner.
    pub fn get(&self, id: &PeerId) -> Option<&DirectoryEntry> {
        self.partners.iter().find(|p| &p.id == id)
    }
}

/// The fingerprint of a certificate's key: SHA-256 over its SubjectPublicKeyInfo (DER), lowercase hex. What the
/// directory's revocation list names: a renewed certificate has a new key and another fingerprint.
pub fn key_fingerprint(cert: &CertificateDer<'_>) -> Result<String, PkiError> {
    let (_, parsed) =
        x509_parser::parse_x509_certificate(cert).map_err(|e| PkiError::Pem(e.to_string()))?;
    let digest = ring::digest::digest(&ring::digest::SHA256, parsed.public_key().raw);
    Ok(digest.as_ref().iter().map(|b| format!("{b:02x}")).collect())
}

/// When a certificate expires (its `notAfter`).
pub fn not_after(cert: &CertificateDer<'_>) -> Result<OffsetDateTime, PkiError> {
    let (_, parsed) =
        x509_parser::parse_x509_certificate(cert).map_err(|e| PkiError::Pem(e.to_string()))?;
    OffsetDateTime::from_unix_timestamp(parsed.validity().not_after.timestamp())
        .map_err(|e| PkiError::Pem(format!("notAfter: {e}")))
}

/// A directory with the federation CA's signature over its exact bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedDirectory {
    /// The directory, as JSON bytes.
    pub body: Vec<u8>,
    /// ECDSA P-256 SHA-256 signature (ASN.1) by the CA key.
    pub signature: Vec<u8>,
}

impl SignedDirectory {
    /// Verify the signature against the CA certificate and return the directory.
    pub fn verify(&self, ca_cert_pem: &str) -> Result<Directory, PkiError> {
        let ca = certs_from_pem(ca_cert_pem)?.remove(0);
        let (_, cert) =
            x509_parser::parse_x509_certificate(&ca).map_err(|e| PkiError::Pem(e.to_string()))?;
        let public = cert.public_key().subject_public_key.data.to_vec();
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, public)
            .verify(&self.body, &self.signature)
            .map_err(|_| PkiError::BadSignature)?;
        serde_json::from_slice(&self.body).map_err(|e| PkiError::Directory(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    #[test]
    fn node_certificates_carry_the_partner_id() {
        let ca = FederationCa::create(
            "test CA",
            now() - Duration::days(1),
            now() + Duration::days(30),
        )
        .unwrap();
        let peer: PeerId = "gemeente:GM0080".parse().unwrap();
        let ck = ca
            .issue(&peer, now() - Duration::days(1), now() + Duration::days(30))
            .unwrap();
        let cert = certs_from_pem(&ck.cert_pem).unwrap().remove(0);
        assert_eq!(peer_id_of(&cert).unwrap(), peer);
        assert_eq!(peer.dns_name(), "gemeente-gm0080.weerthuis.invalid");
        key_from_pem(&ck.key_pem).unwrap();
        // The CA survives a round trip through PEM.
        let again = FederationCa::from_pem(ca.cert_pem(), &ca.key_pem()).unwrap();
        again
            .issue(&peer, now(), now() + Duration::days(1))
            .unwrap();
    }

    #[test]
    fn directory_signature_verifies_and_detects_tampering() {
        let ca = FederationCa::create(
            "test CA",
            now() - Duration::days(1),
            now() + Duration::days(30),
        )
        .unwrap();
        let dir = Directory {
            version: 1,
            partners: vec![DirectoryEntry {
                id: "transferpunt:sdf".parse().unwrap(),
                name: "Transferpunt".into(),
                endpoint: Some("127.0.0.1:4433".into()),
                contacts: vec![],
                werkgebied: vec![],
                bereikbaar: None,
                telefoon_24_uur: None,
            }],
            revoked: vec![],
        };
        let signed = ca.sign_directory(&dir).unwrap();
        assert_eq!(signed.verify(ca.cert_pem()).unwrap(), dir);
        let mut forged = signed.clone();
        forged.body = forged
            .body
            .iter()
            .map(|b| if *b == b'1' { b'2' } else { *b })
            .collect();
        assert!(matches!(
            forged.verify(ca.cert_pem()),
            Err(PkiError::BadSignature)
        ));
        let other = FederationCa::create(
            "other CA",
            now() - Duration::days(1),
            now() + Duration::days(30),
        )
        .unwrap();
        assert!(matches!(
            signed.verify(other.cert_pem()),
            Err(PkiError::BadSignature)
        ));
    }

    #[test]
    fn renewal_keeps_the_partner_and_changes_the_key() {
        let ca = FederationCa::create(
            "test CA",
            now() - Duration::days(1),
            now() + Duration::days(30),
        )
        .unwrap();
        let peer: PeerId = "gemeente:GM0080".parse().unwrap();
        let old = ca
            .issue(&peer, now() - Duration::days(1), now() + Duration::days(30))
            .unwrap();
        let old_der = certs_from_pem(&old.cert_pem).unwrap().remove(0);
        assert!(ca.issued(&old_der));
        let (renewed_for, new) = ca
            .renew(&old_der, now(), now(), now() + Duration::days(60))
            .unwrap();
        assert_eq!(renewed_for, peer);
        let new_der = certs_from_pem(&new.cert_pem).unwrap().remove(0);
        assert_eq!(peer_id_of(&new_der).unwrap(), peer);
        assert_ne!(
            key_fingerprint(&old_der).unwrap(),
            key_fingerprint(&new_der).unwrap()
        );
        assert_eq!(key_fingerprint(&old_der).unwrap().len(), 64);
        // Another CA's certificate is not renewed; nor is an expired one.
        let other = FederationCa::create(
            "other",
            now() - Duration::days(1),
            now() + Duration::days(30),
        )
        .unwrap();
        assert!(!other.issued(&old_der));
        assert!(matches!(
            other.renew(&old_der, now(), now(), now() + Duration::days(1)),
            Err(PkiError::Renewal(_))
        ));
        let err = ca
            .renew(
                &old_der,
                now() + Duration::days(31),
                now(),
                now() + Duration::days(1),
            )
            .unwrap_err();
        assert!(
            err.to_string().contains("renewed before it expires"),
            "{err}"
        );
    }

    #[test]
    fn peer_ids_parse() {
        assert!("corporatie:elkien".parse::<PeerId>().is_ok());
        assert!("corporatie".parse::<PeerId>().is_err());
        assert!("a:b/c".parse::<PeerId>().is_err());
        assert_eq!(
            PeerId::from_uri("weerthuis://zorgaanbieder/kwadrant")
                .unwrap()
                .as_str(),
            "zorgaanbieder:kwadrant"
        );
    }
}
