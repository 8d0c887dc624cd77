//! The rustls configuration of the listener: TLS 1.2 and 1.3 with ALPN `h2` (and `http/1.1`
//! for REST clients), the server's certificate from a resolver that can be swapped while
//! serving, and, for mutual TLS, a verifier (swapped likewise) that refuses clients without a
//! certificate from the configured CA.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::client_ca::ClientCaFile;
use super::reload::{CertificateReloader, RotatingCertificate};
use crate::config::TlsConfig;

/// Why TLS could not be set up; every file-related error names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("the key in {} does not belong to the certificate in {}: {reason}", key.display(), cert.display())]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
    #[error("--tls-cert needs --tls-key, and --tls-client-ca needs both")]
    Incomplete,
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The crypto provider of every TLS object of the server. Both ring and aws-lc-rs are linked
/// in, so rustls has no single default to fall back on: it is named here.
pub(crate) fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificate and key files of the server, read together.
#[derive(Debug, Clone)]
pub(crate) struct CertificateFiles {
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
}

/// The bytes of both files, to tell a rotation from an unchanged pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertificatePem {
    cert: Vec<u8>,
    key: Vec<u8>,
}

impl CertificateFiles {
    pub(crate) fn read(&self) -> Result<CertificatePem, TlsError> {
        Ok(CertificatePem {
            cert: read(&self.cert)?,
            key: read(&self.key)?,
        })
    }

    /// The certified key of the files' contents: a chain of one certificate or more, leaf
    /// first, and the private key that belongs to the leaf. The leaf's expiry goes to its
    /// gauge, for the alert that comes before it.
    pub(crate) fn parse(
        &self,
        pem: &CertificatePem,
        provider: &CryptoProvider,
    ) -> Result<CertifiedKey, TlsError> {
        let chain = certificates(&self.cert, &pem.cert)?;
        let not_after = chain.first().and_then(|leaf| {
            let (_, leaf) = X509Certificate::from_der(leaf).ok()?;
            Some(leaf.validity().not_after.timestamp())
        });
        let key = PrivateKeyDer::from_pem_slice(&pem.key).map_err(|err| TlsError::Invalid {
            path: self.key.clone(),
            reason: format!("no PEM private key: {err}"),
        })?;
        let certified =
            CertifiedKey::from_der(chain, key, provider).map_err(|err| TlsError::Mismatch {
                cert: self.cert.clone(),
                key: self.key.clone(),
                reason: err.to_string(),
            })?;
        if let Some(not_after) = not_after {
            metrics::gauge!(TLS_CERTIFICATE_EXPIRY).set(not_after as f64);
        }
        Ok(certified)
    }
}

/// When the served certificate expires (its `notAfter`), in Unix seconds.
pub(crate) const TLS_CERTIFICATE_EXPIRY: &str = "modelreg_tls_certificate_expiry_timestamp_seconds";

/// TLS on the listener, ready to serve: the acceptor, and what keeps its certificate and client
/// CA fresh.
pub(crate) struct TlsServer {
    acceptor: TlsAcceptor,
    reloader: CertificateReloader,
}

impl TlsServer {
    /// TLS as configured, or `None` for plaintext. Every file is read and checked now, so that
    /// a wrong one stops the start with its name.
    pub(crate) fn from_config(config: &TlsConfig) -> Result<Option<Self>, TlsError> {
        let (cert, key) = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => (cert.clone(), key.clone()),
            (None, None) if config.tls_client_ca.is_none() => return Ok(None),
            _ => return Err(TlsError::Incomplete),
        };
        let provider = crypto_provider();
        let files = CertificateFiles { cert, key };
        let pem = files.read()?;
        let certificate = Arc::new(RotatingCertificate::new(files.parse(&pem, &provider)?));

        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
        let (builder, client_ca) = match &config.tls_client_ca {
            Some(path) => {
                let (verifier, file) = ClientCaFile::load(path, &provider)?;
                (builder.with_client_cert_verifier(verifier), Some(file))
            }
            None => (builder.with_no_client_auth(), None),
        };
        let mut server_config = builder.with_cert_resolver(certificate.clone());
        // gRPC is HTTP/2 only; REST clients may speak HTTP/1.1.
        server_config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];

        Ok(Some(Self {
            acceptor: TlsAcceptor::from(Arc::new(server_config)),
            reloader: CertificateReloader::new(
                files,
                pem,
                certificate,
                client_ca,
                provider,
                config.tls_reload_interval,
            ),
        }))
    }

    /// The acceptor for `TlsIncoming`, and what keeps its certificate and client CA fresh (run
    /// it beside the server).
    pub(crate) fn into_parts(self) -> (TlsAcceptor, CertificateReloader) {
        (self.acceptor, self.reloader)
    }
}

/// Every certificate of a PEM file, in order; at least one.
pub(super) fn certificates(
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| TlsError::Invalid {
            path: path.to_owned(),
            reason: format!("unreadable PEM: {err}"),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Invalid {
            path: path.to_owned(),
            reason: "no PEM certificate in it".into(),
        });
    }
    Ok(chain)
}

pub(super) fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}
