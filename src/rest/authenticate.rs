//! Authentication of every REST request, with the same credentials as gRPC: a bearer token
//! (a consumer's or a JWT) or the client certificate of the connection. The caller goes into
//! the request's extensions for handlers; a failure is a 401 (or 503) problem.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Span;

use super::problem::Problem;
use crate::auth::Authenticator;
use crate::domain::Caller;
use crate::transport::client_identity;

/// Paths that answer without credentials: the API's description tells nothing about models.
const OPEN_PATHS: [&str; 1] = ["/openapi.json"];

pub(crate) async fn authenticate(
    State(authenticator): State<Authenticator>,
    mut request: Request,
    next: Next,
) -> Response {
    if !authenticator.is_enabled() {
        request.extensions_mut().insert(Caller::anonymous_admin());
        return next.run(request).await;
    }
    if OPEN_PATHS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let authenticated = authenticator
        .authenticate_request(request.headers(), client_identity(request.extensions()))
        .await;
    match authenticated {
        Ok((caller, revalidation)) => {
            Span::current().record("principal", tracing::field::display(&caller.principal));
            request.extensions_mut().insert(caller);
            request.extensions_mut().insert(revalidation);
            next.run(request).await
        }
        Err(err) => Problem::from(err).into_response(),
    }
}
