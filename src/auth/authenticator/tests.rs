//! The decision, for each combination of methods and credentials.

use super::*;

#[test]
fn jwts_are_told_apart_from_opaque_tokens() {
    assert!(looks_like_jwt("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhIn0.c2ln"));
    assert!(!looks_like_jwt("Xb3_-9aQ"));
    assert!(!looks_like_jwt("a.b"));
    assert!(!looks_like_jwt("a..c"));
    assert!(!looks_like_jwt("a.b.c.d"));
    assert!(!looks_like_jwt("a.b+.c"));
}

#[test]
fn debug_of_credentials_hides_the_token() {
    let credentials = Credentials {
        bearer: Some("secret-token"),
        client_identity: Some("spiffe://x"),
    };
    let shown = format!("{credentials:?}");
    assert!(!shown.contains("secret-token"), "{shown}");
    assert!(shown.contains("spiffe://x"), "{shown}");
}

#[tokio::test]
async fn without_any_method_everyone_is_an_anonymous_admin() {
    let (authenticator, watched) = Authenticator::start(&AuthConfig::default(), false)
        .await
        .unwrap();
    assert!(!authenticator.is_enabled() && watched.is_empty());
    let caller = authenticator
        .authenticate(Credentials {
            bearer: Some("anything"),
            client_identity: None,
        })
        .await
        .unwrap();
    assert_eq!(caller, Caller::anonymous_admin());
}

/// An authenticator with a consumers file of one token consumer and one certificate.
async fn with_consumers(client_certificates: bool) -> (Authenticator, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("consumers.toml");
    let digest = crate::auth::digest::TokenDigest::of("t0ken").to_hex();
    std::fs::write(
        &path,
        format!(
            "[[consumer]]\nname = \"ci\"\ntoken_sha256 = \"{digest}\"\nrole = \"writer\"\n\
             [[consumer]]\nname = \"spiffe://x/deployer\"\nrole = \"reader\"\n"
        ),
    )
    .unwrap();
    let config = AuthConfig {
        auth_tokens: Some(path),
        ..AuthConfig::default()
    };
    let (authenticator, watched) = Authenticator::start(&config, client_certificates)
        .await
        .unwrap();
    assert_eq!(watched.len(), 1);
    (authenticator, dir)
}

async fn caller_of(
    authenticator: &Authenticator,
    bearer: Option<&str>,
    client_identity: Option<&str>,
) -> Result<Caller, Error> {
    authenticator
        .authenticate(Credentials {
            bearer,
            client_identity,
        })
        .await
}

#[tokio::test]
async fn certificates_are_consumers_of_the_file_and_tokens_decide_over_them() {
    let (authenticator, _dir) = with_consumers(true).await;
    let deployer = caller_of(&authenticator, None, Some("spiffe://x/deployer"))
        .await
        .unwrap();
    assert_eq!(deployer.role, Role::Reader);
    let stranger = caller_of(&authenticator, None, Some("spiffe://x/stranger")).await;
    assert!(
        matches!(stranger, Err(Error::UnknownConsumer { principal }) if principal == "spiffe://x/stranger")
    );
    let both = caller_of(&authenticator, Some("t0ken"), Some("spiffe://x/deployer"))
        .await
        .unwrap();
    assert_eq!(both.principal.to_string(), "ci");
    let bad_token = caller_of(&authenticator, Some("nope"), Some("spiffe://x/deployer")).await;
    assert!(matches!(
        bad_token,
        Err(Error::Unauthenticated(AuthFailure::Invalid))
    ));
}

#[tokio::test]
async fn without_a_client_ca_an_identity_is_no_credential() {
    let (authenticator, _dir) = with_consumers(false).await;
    let unverified = caller_of(&authenticator, None, Some("spiffe://x/deployer")).await;
    assert!(matches!(
        unverified,
        Err(Error::Unauthenticated(AuthFailure::Missing))
    ));
    assert_eq!(
        caller_of(&authenticator, Some("t0ken"), None)
            .await
            .unwrap()
            .role,
        Role::Writer
    );
}

#[tokio::test]
async fn with_a_client_ca_alone_certified_clients_are_admins() {
    let (authenticator, _) = Authenticator::start(&AuthConfig::default(), true)
        .await
        .unwrap();
    let certified = authenticator
        .authenticate(Credentials {
            bearer: None,
            client_identity: Some("spiffe://example.org/a"),
        })
        .await
        .unwrap();
    assert_eq!(certified.role, Role::Admin);
    assert_eq!(certified.principal.to_string(), "spiffe://example.org/a");
    let anonymous = authenticator.authenticate(Credentials::default()).await;
    assert!(matches!(
        anonymous,
        Err(Error::Unauthenticated(AuthFailure::Missing))
    ));
    // A token decides over the certificate, and no token method is configured.
    let with_token = authenticator
        .authenticate(Credentials {
            bearer: Some("token"),
            client_identity: Some("spiffe://example.org/a"),
        })
        .await;
    assert!(matches!(
        with_token,
        Err(Error::Unauthenticated(AuthFailure::Invalid))
    ));
}
