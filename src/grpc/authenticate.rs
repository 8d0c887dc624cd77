//! Authentication of every call, as a tower layer: the credentials a call brought (an
//! `authorization: Bearer` header, the client certificate of its connection) become the
//! `Caller` that handlers find in the request's extensions, or the call is answered at once
//! with the status of the failure. Health checks and reflection stay open to all.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::future::Either;
use tonic::Status;
use tonic::codegen::http;
use tower::{Layer, Service};
use tracing::Span;

use crate::auth::{Authenticator, Credentials};
use crate::domain::{AuthFailure, Caller, Error};
use crate::transport::client_identity;

/// Paths that answer without credentials: probes and tooling must work before anyone has a
/// token, and tell nothing about models.
const OPEN_PATHS: [&str; 2] = ["/grpc.health.v1.Health/", "/grpc.reflection."];

type Response = http::Response<tonic::body::Body>;
type Authenticating<E> = Pin<Box<dyn Future<Output = Result<Response, E>> + Send>>;

#[derive(Clone)]
pub(crate) struct AuthenticateLayer {
    authenticator: Authenticator,
}

impl AuthenticateLayer {
    pub(crate) fn new(authenticator: Authenticator) -> Self {
        Self { authenticator }
    }
}

impl<S> Layer<S> for AuthenticateLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Authenticate<S> {
        Authenticate {
            inner,
            authenticator: self.authenticator.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Authenticate<S> {
    inner: S,
    authenticator: Authenticator,
}

impl<S, B> Service<http::Request<B>> for Authenticate<S>
where
    S: Service<http::Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<S::Future, Authenticating<S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // Without authentication, no allocation and no await: the call goes straight on.
        if !self.authenticator.is_enabled() {
            request.extensions_mut().insert(Caller::anonymous_admin());
            return Either::Left(self.inner.call(request));
        }
        let path = request.uri().path();
        if OPEN_PATHS.iter().any(|open| path.starts_with(open)) {
            return Either::Left(self.inner.call(request));
        }
        // The service that was made ready is the one that must be called; a clone takes its
        // place for the next call.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let authenticator = self.authenticator.clone();
        // The call's span (from the trace layer), entered now: the future may be polled later.
        let span = Span::current();
        Either::Right(Box::pin(async move {
            let authenticated = match bearer_token(request.headers()) {
                Ok(bearer) => {
                    let credentials = Credentials {
                        bearer,
                        client_identity: client_identity(request.extensions()),
                    };
                    authenticator.authenticate(credentials).await
                }
                Err(failure) => Err(Error::Unauthenticated(failure)),
            };
            match authenticated {
                Ok(caller) => {
                    span.record("principal", tracing::field::display(&caller.principal));
                    request.extensions_mut().insert(caller);
                    inner.call(request).await
                }
                Err(err) => Ok(Status::from(err).into_http()),
            }
        }))
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
