//! Client CA rotation without a restart: the verifier of client certificates is swapped in
//! place, like the server's certificate. Each handshake asks the current verifier, so new
//! connections are checked against the new CA set while open connections, already past their
//! handshake, carry on untouched.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};

use super::tls::{TlsError, certificates, read};
use super::versions::Versions;

/// Refuses, during the handshake, clients without a certificate that chains to a CA of `pem`
/// (the contents of `path`, which errors name).
pub(crate) fn client_verifier(
    path: &Path,
    pem: &[u8],
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, TlsError> {
    let invalid = |reason: String| TlsError::Invalid {
        path: path.to_owned(),
        reason,
    };
    let mut roots = RootCertStore::empty();
    for certificate in certificates(path, pem)? {
        roots
            .add(certificate)
            .map_err(|err| invalid(format!("not a CA certificate: {err}")))?;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
        .build()
        .map_err(|err| invalid(err.to_string()))
}

/// The verifier of client certificates; replaced in place by the reloader.
#[derive(Debug)]
pub(crate) struct RotatingClientVerifier {
    current: RwLock<Arc<dyn ClientCertVerifier>>,
}

impl RotatingClientVerifier {
    pub(crate) fn new(verifier: Arc<dyn ClientCertVerifier>) -> Self {
        Self {
            current: RwLock::new(verifier),
        }
    }

    fn current(&self) -> Arc<dyn ClientCertVerifier> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn replace(&self, verifier: Arc<dyn ClientCertVerifier>) {
        // A panic elsewhere cannot leave a half-written Arc behind: the lock's data stays valid.
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = verifier;
    }
}

impl ClientCertVerifier for RotatingClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.current().offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.current().client_auth_mandatory()
    }

    /// No hints: the subjects borrow from a verifier that a rotation may drop while the
    /// borrow is alive, and hints of a CA set kept from before a rotation would steer clients
    /// away from the certificate the server now wants. The list is advisory (RFC 8446 4.2.4,
    /// RFC 5246 7.4.4: empty means any); clients present their certificate anyway.
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.current()
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.current().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.current().verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.current().supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.current().requires_raw_public_keys()
    }
}

/// The client CA file as the reloader watches it: a changed file that loads replaces the
/// verifier; one that does not keeps the current verifier, with a warning.
pub(crate) struct ClientCaFile {
    path: PathBuf,
    verifier: Arc<RotatingClientVerifier>,
    /// The contents of the file, as loaded and as rejected.
    versions: Versions<Vec<u8>>,
}

impl ClientCaFile {
    /// The verifier of the file at `path`, read now, and what keeps it fresh.
    pub(crate) fn load(
        path: &Path,
        provider: &Arc<CryptoProvider>,
    ) -> Result<(Arc<RotatingClientVerifier>, Self), TlsError> {
        let pem = read(path)?;
        let verifier = Arc::new(RotatingClientVerifier::new(client_verifier(
            path, &pem, provider,
        )?));
        let file = Self {
            path: path.to_owned(),
            verifier: Arc::clone(&verifier),
            versions: Versions::new(pem),
        };
        Ok((verifier, file))
    }

    pub(super) fn check(&mut self, provider: &Arc<CryptoProvider>) {
        let Some(pem) = self.versions.changed(
            read(&self.path),
            "cannot read the TLS client CA file; verifying clients against the current CA",
        ) else {
            return;
        };
        match client_verifier(&self.path, &pem, provider) {
            Ok(verifier) => {
                self.verifier.replace(verifier);
                self.versions.loaded(pem);
                tracing::info!(client_ca = %self.path.display(), "TLS client CA reloaded");
            }
            Err(err) => {
                tracing::warn!(error = %err, "the changed TLS client CA file does not load; verifying clients against the current CA");
                self.versions.rejected(pem);
            }
        }
    }
}
