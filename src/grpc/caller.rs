//! The caller of a request, as the authentication layer found it: every registry operation
//! takes one, and the registry decides what it may do.

use tonic::Request;

use crate::domain::{AuthFailure, Caller, Error};

/// Takes the caller out of the request's extensions. Every request passes the authentication
/// layer; one without a caller is refused rather than let through.
pub(crate) fn take_caller<T>(request: &mut Request<T>) -> Result<Caller, Error> {
    request
        .extensions_mut()
        .remove::<Caller>()
        .ok_or(Error::Unauthenticated(AuthFailure::Missing))
}
