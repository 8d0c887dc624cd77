//! Certificate rotation without a restart: cert-manager and Kubernetes secrets replace the
//! files in place, and the server picks the new pair up at its next check. Each handshake asks
//! the resolver for the current certificate, so new connections get the new one while open
//! connections, already past their handshake, carry on untouched.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::client_ca::ClientCaFile;
use super::tls::{CertificateFiles, CertificatePem};
use super::versions::Versions;
use crate::tasks::{self, CancellationToken, First};

/// The certificate the listener presents; replaced in place by the reloader.
#[derive(Debug)]
pub(crate) struct RotatingCertificate {
    current: RwLock<Arc<CertifiedKey>>,
}

impl RotatingCertificate {
    pub(crate) fn new(certified_key: CertifiedKey) -> Self {
        Self {
            current: RwLock::new(Arc::new(certified_key)),
        }
    }

    fn current(&self) -> Arc<CertifiedKey> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn replace(&self, certified_key: CertifiedKey) {
        // A panic elsewhere cannot leave a half-written Arc behind: the lock's data stays valid.
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(certified_key);
    }
}

impl ResolvesServerCert for RotatingCertificate {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// Checks the certificate files, and the client CA file of mutual TLS, every interval and swaps
/// in what changed. A pair that does not load (a half-finished rotation, a key that belongs to
/// another certificate) leaves the current certificate in place, with a warning; a client CA
/// file that does not load leaves the current verifier in place likewise. One loop watches
/// all the files, as one interval paces them.
pub(crate) struct CertificateReloader {
    files: CertificateFiles,
    certificate: Arc<RotatingCertificate>,
    client_ca: Option<ClientCaFile>,
    provider: Arc<CryptoProvider>,
    interval: Duration,
    /// The contents of the certificate files, as loaded and as rejected.
    versions: Versions<CertificatePem>,
}

impl CertificateReloader {
    pub(crate) fn new(
        files: CertificateFiles,
        loaded: CertificatePem,
        certificate: Arc<RotatingCertificate>,
        client_ca: Option<ClientCaFile>,
        provider: Arc<CryptoProvider>,
        interval: Duration,
    ) -> Self {
        Self {
            files,
            certificate,
            client_ca,
            provider,
            interval,
            versions: Versions::new(loaded),
        }
    }

    /// Checks until `stop`. An interval of zero turns checking off.
    pub(crate) async fn run(mut self, stop: CancellationToken) {
        if self.interval.is_zero() {
            return;
        }
        // The files were read at start; the first check is one interval later.
        let mut every = tasks::every(self.interval, First::AfterAnInterval, stop);
        while every.tick().await {
            self.check();
        }
    }

    /// Two or three small files every few seconds: read in place, which costs less than a trip
    /// to the blocking pool.
    pub(super) fn check(&mut self) {
        self.check_certificate();
        if let Some(client_ca) = &mut self.client_ca {
            client_ca.check(&self.provider);
        }
    }

    fn check_certificate(&mut self) {
        let read = self.files.read();
        let Some(pem) = self.versions.changed(
            read,
            "cannot read the TLS certificate files; serving the current certificate",
        ) else {
            return;
        };
        match self.files.parse(&pem, &self.provider) {
            Ok(certified_key) => {
                self.certificate.replace(certified_key);
                self.versions.loaded(pem);
                tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
            }
            Err(err) => {
                tracing::warn!(error = %err, "the changed TLS certificate files do not load; serving the current certificate");
                self.versions.rejected(pem);
            }
        }
    }
}
