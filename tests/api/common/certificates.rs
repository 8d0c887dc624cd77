//! Certificates for the TLS tests, made fresh by rcgen for each test: authorities, server
//! certificates for 127.0.0.1 and localhost, client certificates with an identity, and the
//! PEM files a server or a CLI reads.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

/// A certificate authority of its own, trusted by nothing until a test says so.
pub struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its private key, both PEM.
pub struct KeyAndCertificate {
    pub cert: String,
    pub key: String,
}

impl Authority {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap())
            .expect("a CA certificate");
        Self { issuer }
    }

    /// The authority's own certificate, PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// TLS for a client that trusts this authority alone.
    pub fn trusted_by_client(&self) -> ClientTlsConfig {
        ClientTlsConfig::new().ca_certificate(Certificate::from_pem(self.pem()))
    }

    /// A server certificate valid for 127.0.0.1 and localhost.
    pub fn server_certificate(&self) -> KeyAndCertificate {
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "modelreg test server");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign(params)
    }

    /// A client certificate whose URI SAN is `identity` (a SPIFFE id, say).
    pub fn client_certificate(&self, identity: &str) -> KeyAndCertificate {
        let mut params = CertificateParams::default();
        params.subject_alt_names = vec![SanType::URI(identity.try_into().unwrap())];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(params)
    }

    /// A client certificate with no SAN, named by its subject CN alone (any text, even one a
    /// server must refuse).
    pub fn client_certificate_with_common_name(&self, common_name: &str) -> KeyAndCertificate {
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(params)
    }

    fn sign(&self, params: CertificateParams) -> KeyAndCertificate {
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).expect("a certificate");
        KeyAndCertificate {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}

impl KeyAndCertificate {
    /// The client identity tonic presents.
    pub fn identity(&self) -> Identity {
        Identity::from_pem(&self.cert, &self.key)
    }

    /// Writes `NAME.pem` and `NAME-key.pem` into `dir`, each replaced in one rename as
    /// Kubernetes updates a mounted secret; returns their paths.
    pub fn write(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{name}.pem"));
        let key = dir.join(format!("{name}-key.pem"));
        write_atomically(&cert, &self.cert);
        write_atomically(&key, &self.key);
        (cert, key)
    }
}

/// Writes `contents` beside `path`, then renames it over `path`: readers see the old file or
/// the new one, never a part.
pub fn write_atomically(path: &Path, contents: &str) {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, contents).expect("write a PEM file");
    std::fs::rename(&partial, path).expect("rename the PEM file into place");
}
