//! One port for both front-ends: a layer of the gRPC server that hands every request that is
//! not gRPC (by its `content-type`) to the REST service, before any of the gRPC layers, whose
//! answers (trailers, `grpc-status`) only gRPC clients understand.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use bytes::Bytes;
use http_body_util::Either;
use tonic::codegen::http;
use tower::{Layer, Service, ServiceExt};
use tower_http::normalize_path::NormalizePath;

type Rest = NormalizePath<Router>;

#[derive(Clone)]
pub(crate) struct RestLayer {
    rest: Rest,
}

impl RestLayer {
    pub(crate) fn new(rest: Rest) -> Self {
        Self { rest }
    }
}

impl<S> Layer<S> for RestLayer {
    type Service = Dispatch<S>;

    fn layer(&self, grpc: S) -> Dispatch<S> {
        Dispatch {
            grpc,
            rest: self.rest.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Dispatch<S> {
    grpc: S,
    rest: Rest,
}

type Answer<B, E> =
    Pin<Box<dyn Future<Output = Result<http::Response<Either<B, axum::body::Body>>, E>> + Send>>;

impl<S, B> Service<http::Request<tonic::body::Body>> for Dispatch<S>
where
    S: Service<http::Request<tonic::body::Body>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
{
    type Response = http::Response<Either<B, axum::body::Body>>;
    type Error = S::Error;
    type Future = Answer<B, S::Error>;

    /// Always ready: which side answers is known only from the request. Polling the gRPC
    /// layers here would take a place among the requests in progress (their concurrency limit
    /// acquires it when polled) for a request that may be REST's.
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        if is_grpc(&request) {
            let grpc = self.grpc.clone();
            return Box::pin(async move { Ok(grpc.oneshot(request).await?.map(Either::Left)) });
        }
        let rest = self.rest.clone();
        Box::pin(async move {
            let answer: Result<_, Infallible> = rest.oneshot(request).await;
            let Ok(answer) = answer;
            Ok(answer.map(Either::Right))
        })
    }
}

fn is_grpc<B>(request: &http::Request<B>) -> bool {
    request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"))
}
