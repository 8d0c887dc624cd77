//! The verifier against tokens signed with keys made here, served from a JWKS file.

use std::time::Instant;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use super::*;
use crate::domain::Role;

const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "modelreg";

struct TestKey {
    kid: String,
    algorithm: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
}

fn ed25519(kid: &str) -> TestKey {
    let pair = Ed25519KeyPair::generate().unwrap();
    let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
    TestKey {
        kid: kid.into(),
        algorithm: Algorithm::EdDSA,
        encoding: EncodingKey::from_ed_der(pair.to_pkcs8v1().unwrap().as_ref()),
        jwk: json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": x, "use": "sig"}),
    }
}

fn rsa(kid: &str) -> TestKey {
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der: Pkcs8V1Der = pair.as_der().unwrap();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(der.as_ref())
    );
    let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    let mut jwk =
        serde_json::to_value(Jwk::from_encoding_key(&encoding, Algorithm::RS256).unwrap()).unwrap();
    jwk["kid"] = kid.into();
    TestKey {
        kid: kid.into(),
        algorithm: Algorithm::RS256,
        encoding,
        jwk,
    }
}

fn jwks(keys: &[&TestKey]) -> String {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()}).to_string()
}

fn claims() -> Value {
    let now = get_current_timestamp();
    json!({"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 600, "role": "writer"})
}

fn sign(key: &TestKey, claims: &Value) -> String {
    let mut header = Header::new(key.algorithm);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
}

fn rules(cache_entries: usize) -> JwtRules {
    JwtRules {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        leeway: Duration::from_secs(30),
        claims: ClaimNames {
            role: "role".into(),
            scopes: "model_scopes".into(),
        },
        cache_entries,
        refresh_min_interval: Duration::from_secs(30),
    }
}

/// A verifier reading `jwks` from a file in `dir`.
async fn verifier(
    dir: &tempfile::TempDir,
    jwks: &str,
    cache_entries: usize,
) -> (Arc<JwtVerifier>, WatchedFile) {
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, jwks).unwrap();
    let (verifier, watched) = JwtVerifier::start(path.to_str().unwrap(), rules(cache_entries))
        .await
        .unwrap();
    (verifier, watched.expect("a JWKS file is watched"))
}

fn failure(result: Result<Caller, Error>) -> AuthFailure {
    match result {
        Err(Error::Unauthenticated(failure)) => failure,
        other => panic!("expected an authentication failure, got {other:?}"),
    }
}

#[tokio::test]
async fn rs256_and_eddsa_tokens_make_callers() {
    let dir = tempfile::tempdir().unwrap();
    let (ed, rs) = (ed25519("ed"), rsa("rs"));
    let (verifier, _) = verifier(&dir, &jwks(&[&ed, &rs]), 100).await;
    for key in [&ed, &rs] {
        let mut claims = claims();
        claims["model_scopes"] = json!("qoe-*");
        let caller = verifier.verify(&sign(key, &claims)).await.unwrap();
        assert_eq!(caller.principal.to_string(), "alice");
        assert_eq!(caller.role, Role::Writer);
        assert!(caller.sees("qoe-1") && !caller.sees("ran-1"));
    }
}

#[tokio::test]
async fn each_refusal_has_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let key = ed25519("ed");
    let (verifier, _) = verifier(&dir, &jwks(&[&key]), 100).await;
    let now = get_current_timestamp();
    let with = |field: &str, value: Value| {
        let mut claims = claims();
        claims[field] = value;
        sign(&key, &claims)
    };
    let without = |field: &str| {
        let mut claims = claims();
        claims.as_object_mut().unwrap().remove(field);
        sign(&key, &claims)
    };
    let cases = [
        (with("exp", json!(now - 120)), AuthFailure::Expired),
        (
            with("aud", json!("someone-else")),
            AuthFailure::WrongAudience,
        ),
        (without("aud"), AuthFailure::WrongAudience),
        (
            with("iss", json!("https://other.example")),
            AuthFailure::WrongIssuer,
        ),
        (without("iss"), AuthFailure::WrongIssuer),
        (with("nbf", json!(now + 120)), AuthFailure::Invalid),
        (without("exp"), AuthFailure::Invalid),
        (without("sub"), AuthFailure::Invalid),
        (with("role", json!("root")), AuthFailure::Invalid),
        (sign(&ed25519("ed"), &claims()), AuthFailure::Invalid),
        (sign(&ed25519("unknown"), &claims()), AuthFailure::Invalid),
        ("a.b.c".to_owned(), AuthFailure::Invalid),
    ];
    for (token, expected) in cases {
        assert_eq!(failure(verifier.verify(&token).await), expected);
    }
    // Within the leeway, an expired token still passes.
    assert!(verifier.verify(&with("exp", json!(now - 10))).await.is_ok());
}

#[tokio::test]
async fn a_token_cannot_pick_another_algorithm_for_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let rs = rsa("rs");
    let (verifier, _) = verifier(&dir, &jwks(&[&rs]), 100).await;
    // An HMAC token "signed" with the RSA key's public modulus: the classic confusion.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("rs".into());
    let secret = EncodingKey::from_secret(rs.jwk["n"].as_str().unwrap().as_bytes());
    let forged = jsonwebtoken::encode(&header, &claims(), &secret).unwrap();
    assert_eq!(
        failure(verifier.verify(&forged).await),
        AuthFailure::Invalid
    );
}

#[tokio::test]
async fn a_changed_jwks_file_is_used_and_an_invalid_one_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (ed25519("old"), ed25519("new"));
    let (verifier, watched) = verifier(&dir, &jwks(&[&old]), 100).await;
    let old_token = sign(&old, &claims());
    assert!(verifier.verify(&old_token).await.is_ok());

    let path = dir.path().join("jwks.json");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let watching = tokio::spawn(watch_files_until(watched, stopped));
    std::fs::write(&path, "{ not json").unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        verifier.verify(&old_token).await.is_ok(),
        "the old keys stay"
    );

    std::fs::write(&path, jwks(&[&new])).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(verifier.verify(&sign(&new, &claims())).await.is_ok());
    // The cache was cleared with the old keys: their token is checked again, and refused.
    assert_eq!(
        failure(verifier.verify(&old_token).await),
        AuthFailure::Invalid
    );
    stop.send(()).unwrap();
    watching.await.unwrap();
}

async fn watch_files_until(file: WatchedFile, stopped: tokio::sync::oneshot::Receiver<()>) {
    let stop = crate::tasks::CancellationToken::new();
    let watching = crate::auth::watch_files(vec![file], Duration::from_millis(10), stop.clone());
    tokio::join!(watching, async {
        let _ = stopped.await;
        stop.cancel();
    });
}

/// Prints what a verification costs against a cache hit (`-- --nocapture` to see it).
#[tokio::test]
async fn a_cache_hit_costs_less_than_a_verification() {
    const ROUNDS: u32 = 200;
    let dir = tempfile::tempdir().unwrap();
    for key in [rsa("key"), ed25519("key")] {
        let (uncached, _) = verifier(&dir, &jwks(&[&key]), 0).await;
        let (cached, _) = verifier(&dir, &jwks(&[&key]), 100).await;
        let token = sign(&key, &claims());
        cached.verify(&token).await.unwrap();
        let timed = |verifier: Arc<JwtVerifier>| {
            let token = token.clone();
            async move {
                let started = Instant::now();
                for _ in 0..ROUNDS {
                    verifier.verify(&token).await.unwrap();
                }
                started.elapsed() / ROUNDS
            }
        };
        let verification = timed(uncached).await;
        let hit = timed(cached).await;
        println!(
            "{:?}: verification {verification:?}, cache hit {hit:?}",
            key.algorithm
        );
        assert!(hit < verification, "{hit:?} >= {verification:?}");
    }
}
