//! The TLS listener against a raw tokio-rustls client, with certificates made by rcgen: the
//! identity a connection carries, handshakes that do not wait on each other, and rotation.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
    SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tonic::transport::server::Connected;

use super::reload::CertificateReloader;
use super::tls::crypto_provider as provider;
use super::{TlsIncoming, TlsServer};
use crate::config::TlsConfig;

const SPIFFE_ID: &str = "spiffe://test.local/ns/ran/sa/trainer";

struct Authority(CertifiedIssuer<'static, KeyPair>);

/// A certificate chain of one and its key, PEM.
struct Leaf {
    cert: String,
    key: String,
}

impl Authority {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        Self(CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap())
    }

    fn sign_leaf(&self, names: Vec<SanType>) -> Leaf {
        let mut params = CertificateParams::default();
        params.subject_alt_names = names;
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.0).unwrap();
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    fn server(&self) -> Leaf {
        self.sign_leaf(vec![SanType::DnsName("localhost".try_into().unwrap())])
    }

    fn client(&self) -> Leaf {
        self.sign_leaf(vec![SanType::URI(SPIFFE_ID.try_into().unwrap())])
    }
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    let partial = dir.join(format!("{name}.partial"));
    std::fs::write(&partial, contents).unwrap();
    std::fs::rename(&partial, &path).unwrap();
    path
}

/// A TLS listener on 127.0.0.1 with `server`'s pair, asking for client certificates of
/// `clients` when given; the files stay in `dir`.
async fn listen(
    dir: &Path,
    server: &Leaf,
    clients: Option<&Authority>,
) -> (TlsIncoming, u16, CertificateReloader) {
    let config = TlsConfig {
        tls_cert: Some(write(dir, "server.pem", &server.cert)),
        tls_key: Some(write(dir, "server-key.pem", &server.key)),
        tls_client_ca: clients.map(|ca| write(dir, "client-ca.pem", &ca.0.pem())),
        tls_reload_interval: Duration::from_secs(3600),
    };
    let tls = TlsServer::from_config(&config)
        .unwrap()
        .expect("TLS is configured");
    let (acceptor, reloader) = tls.into_parts();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (TlsIncoming::new(listener, acceptor), port, reloader)
}

/// A client that trusts `authority` and presents `certificate`, if any.
async fn connect(
    port: u16,
    authority: &Authority,
    certificate: Option<&Leaf>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let mut roots = RootCertStore::empty();
    roots.add(authority.0.der().clone()).unwrap();
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match certificate {
        Some(leaf) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(leaf.cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(leaf.key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let stream = TcpStream::connect(("127.0.0.1", port)).await?;
    TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), stream)
        .await
}

#[tokio::test]
async fn a_connection_carries_the_identity_of_its_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let authority = Authority::new("server CA");
    let clients = Authority::new("client CA");
    let (mut incoming, port, _) = listen(dir.path(), &authority.server(), Some(&clients)).await;

    // The server's side of the handshake runs as `incoming` is polled.
    let client =
        tokio::spawn(async move { connect(port, &authority, Some(&clients.client())).await });
    let connection = incoming.next().await.unwrap().unwrap();
    let client = client.await.unwrap().unwrap();
    assert_eq!(client.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let info = connection.connect_info();
    assert_eq!(info.client_identity.as_deref(), Some(SPIFFE_ID));
    assert_eq!(info.remote_addr, client.get_ref().0.local_addr().ok());
}

#[tokio::test]
async fn a_silent_client_does_not_hold_up_the_next_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let authority = Authority::new("server CA");
    let (mut incoming, port, _) = listen(dir.path(), &authority.server(), None).await;

    // Connects and never says hello: its handshake waits for its time limit.
    let _silent = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let client = tokio::spawn(async move { connect(port, &authority, None).await });
    let connection = tokio::time::timeout(Duration::from_secs(5), incoming.next())
        .await
        .expect("the second handshake completes first")
        .unwrap()
        .unwrap();
    assert_eq!(connection.connect_info().client_identity, None);
    client.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_rotated_pair_is_served_and_a_broken_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let old = Authority::new("old CA");
    let (mut incoming, port, mut reloader) = listen(dir.path(), &old.server(), None).await;
    // Accepts in the background, as tonic would.
    tokio::spawn(async move { while incoming.next().await.is_some() {} });

    let new = Authority::new("new CA");
    let rotated = new.server();
    write(dir.path(), "server.pem", &rotated.cert);
    // Half-way through the rotation the key is the old one: the pair does not load.
    reloader.check();
    connect(port, &old, None)
        .await
        .expect("still the old certificate");
    write(dir.path(), "server-key.pem", &rotated.key);
    reloader.check();
    connect(port, &new, None)
        .await
        .expect("the new certificate");
    assert!(connect(port, &old, None).await.is_err());

    write(dir.path(), "server.pem", "not a certificate");
    reloader.check();
    connect(port, &new, None)
        .await
        .expect("the last certificate that loaded");
}
