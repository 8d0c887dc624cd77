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

use crate::auth::Authenticator;
use crate::domain::Caller;
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
            let authenticated = authenticator
                .authenticate_request(request.headers(), client_identity(request.extensions()))
                .await;
            match authenticated {
                Ok((caller, revalidation)) => {
                    span.record("principal", tracing::field::display(&caller.principal));
                    request.extensions_mut().insert(caller);
                    request.extensions_mut().insert(revalidation);
                    inner.call(request).await
                }
                Err(err) => Ok(Status::from(err).into_http()),
            }
        }))
    }
}
