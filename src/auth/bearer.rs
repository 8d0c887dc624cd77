//! The credentials a call brings in its headers: `authorization: Bearer TOKEN` (RFC 6750),
//! the same in gRPC and in REST, both of which are HTTP.

use super::{Authenticator, Credentials, Revalidation};
use crate::domain::{AuthFailure, Caller, Error};

impl Authenticator {
    /// The caller of an HTTP request, gRPC or REST: its bearer token, and the identity of its
    /// connection's client certificate (which the front-end reads from the transport); and
    /// what a stream needs to authenticate it again.
    pub(crate) async fn authenticate_request(
        &self,
        headers: &http::HeaderMap,
        client_identity: Option<&str>,
    ) -> Result<(Caller, Revalidation), Error> {
        let bearer = bearer_token(headers).map_err(Error::Unauthenticated)?;
        let credentials = Credentials {
            bearer,
            client_identity,
        };
        let caller = self.authenticate(credentials).await?;
        let revalidation = Revalidation::new(
            self.clone(),
            credentials,
            caller.clone(),
            self.stream_check_interval(),
        );
        Ok((caller, revalidation))
    }
}

/// The token of an `authorization: Bearer TOKEN` header (RFC 6750), if the call sent one.
/// Another scheme, several such headers, or a malformed one are invalid credentials.
fn bearer_token(headers: &http::HeaderMap) -> Result<Option<&str>, AuthFailure> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthFailure::Invalid);
    }
    let text = value.to_str().map_err(|_| AuthFailure::Invalid)?;
    let (scheme, token) = text.split_once(' ').ok_or(AuthFailure::Invalid)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthFailure::Invalid);
    }
    let token = token.trim_start_matches(' ');
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(AuthFailure::Invalid);
    }
    Ok(Some(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer_of(values: &[&str]) -> Result<Option<String>, AuthFailure> {
        let mut headers = http::HeaderMap::new();
        for value in values {
            headers.append(
                http::header::AUTHORIZATION,
                http::HeaderValue::from_str(value).unwrap(),
            );
        }
        bearer_token(&headers).map(|token| token.map(str::to_owned))
    }

    #[test]
    fn bearer_tokens_are_read_and_other_schemes_refused() {
        assert_eq!(bearer_of(&[]), Ok(None));
        assert_eq!(bearer_of(&["Bearer abc"]), Ok(Some("abc".into())));
        assert_eq!(bearer_of(&["bearer  a.b.c"]), Ok(Some("a.b.c".into())));
        for malformed in [
            "Basic dXNlcjpwYXNz",
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "abc",
        ] {
            assert_eq!(
                bearer_of(&[malformed]),
                Err(AuthFailure::Invalid),
                "{malformed}"
            );
        }
        assert_eq!(
            bearer_of(&["Bearer a", "Bearer b"]),
            Err(AuthFailure::Invalid)
        );
    }
}
