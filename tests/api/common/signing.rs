//! What an identity provider does, for the authentication tests: signing keys of each
//! supported algorithm made fresh by aws-lc-rs, tokens signed with them, and a JWKS served over
//! real HTTP that counts its requests and can be changed while it runs.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header, get_current_timestamp};
use serde_json::{Value, json};

pub const ISSUER: &str = "https://issuer.example";
pub const AUDIENCE: &str = "modelreg";

/// A private key and the public JWK that verifies its signatures.
pub struct SigningKey {
    pub kid: String,
    pub algorithm: Algorithm,
    encoding: EncodingKey,
    pub jwk: Value,
}

impl SigningKey {
    pub fn new(algorithm: Algorithm, kid: &str) -> Self {
        let (encoding, mut jwk) = match algorithm {
            Algorithm::RS256 => {
                let pair =
                    aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
                let der: Pkcs8V1Der = pair.as_der().unwrap();
                // jsonwebtoken reads RSA keys in PKCS#1; its PEM reader unwraps PKCS#8.
                let pem = format!(
                    "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                    STANDARD.encode(der.as_ref())
                );
                let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
                let jwk = Jwk::from_encoding_key(&encoding, algorithm).unwrap();
                (encoding, serde_json::to_value(jwk).unwrap())
            }
            Algorithm::ES256 => {
                let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
                let encoding = EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref());
                let jwk = Jwk::from_encoding_key(&encoding, algorithm).unwrap();
                (encoding, serde_json::to_value(jwk).unwrap())
            }
            Algorithm::EdDSA => {
                let pair = Ed25519KeyPair::generate().unwrap();
                let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
                let encoding = EncodingKey::from_ed_der(pair.to_pkcs8v1().unwrap().as_ref());
                let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": x, "alg": "EdDSA"});
                (encoding, jwk)
            }
            other => panic!("no test keys for {other:?}"),
        };
        jwk["kid"] = kid.into();
        Self {
            kid: kid.into(),
            algorithm,
            encoding,
            jwk,
        }
    }

    /// A token of these claims, naming this key.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }

    /// The same signature made with this key, under another key's `kid`.
    pub fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// Valid claims for the test issuer and audience: a writer for ten minutes.
pub fn claims(subject: &str) -> Value {
    json!({
        "sub": subject,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": get_current_timestamp() + 600,
        "role": "writer",
    })
}

pub fn jwks(keys: &[&SigningKey]) -> String {
    json!({"keys": keys.iter().map(|key| key.jwk.clone()).collect::<Vec<_>>()}).to_string()
}

/// A JWKS at `http://127.0.0.1:PORT/jwks.json`, until dropped.
pub struct JwksServer {
    pub url: String,
    document: Arc<Mutex<String>>,
    requests: Arc<AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

impl JwksServer {
    pub async fn start(document: String) -> Self {
        let document = Arc::new(Mutex::new(document));
        let requests = Arc::new(AtomicUsize::new(0));
        let router = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get({
                let document = document.clone();
                let requests = requests.clone();
                move || async move {
                    requests.fetch_add(1, Ordering::SeqCst);
                    let body = document.lock().unwrap().clone();
                    ([("content-type", "application/json")], body)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self {
            url: format!("http://{addr}/jwks.json"),
            document,
            requests,
            server,
        }
    }

    pub fn publish(&self, document: String) {
        *self.document.lock().unwrap() = document;
    }

    /// GETs received so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.server.abort();
    }
}
