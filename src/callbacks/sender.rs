//! POSTs notifications, to permitted addresses only: a destination's name is resolved by a
//! resolver that drops every address the policy refuses (so a name that points to a private
//! address is refused after resolution, whatever it was when the subscription was made), an
//! address in the URL is checked before the request, and redirects are not followed. TLS
//! certificates are verified against the platform's roots; answers are read up to a cap.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use rustls_platform_verifier::BuilderVerifierExt;

use super::notification::Notification;
use crate::domain::{AddressPolicy, SigningSecret};

/// The most of a receiver's answer that is read (the rest is dropped with the connection).
const ANSWER_BYTES: usize = 64 * 1024;

/// Why an attempt failed, as the metrics name it and `last_error` says it.
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) outcome: &'static str,
    pub(crate) message: String,
}

impl Failed {
    fn new(outcome: &'static str, message: impl Into<String>) -> Self {
        Self {
            outcome,
            message: message.into(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Sender {
    client: reqwest::Client,
    policy: AddressPolicy,
}

impl Sender {
    pub(crate) fn new(
        policy: AddressPolicy,
        timeout: Duration,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_platform_verifier()?
        .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would connect wherever it is told: the policy could not hold.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .user_agent(concat!("modelreg/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client, policy })
    }

    /// POSTs `notification` to `destination`, signed with `secret`; a 2xx answer
    /// acknowledges it.
    pub(crate) async fn send(
        &self,
        destination: &url::Url,
        notification: &Notification,
        secret: &SigningSecret,
    ) -> Result<(), Failed> {
        let literal = match destination.host() {
            Some(url::Host::Ipv4(ip)) => Some(ip.into()),
            Some(url::Host::Ipv6(ip)) => Some(ip.into()),
            _ => None,
        };
        if literal.is_some_and(|ip| !self.policy.permits(ip)) {
            return Err(Failed::new(
                "refused",
                "the destination is an address that --callback-allow does not open",
            ));
        }
        let mut request = self
            .client
            .post(destination.clone())
            .header(reqwest::header::CONTENT_TYPE, notification.content_type)
            .body(notification.body.clone());
        for (name, value) in notification.signed_headers(secret, Utc::now()) {
            request = request.header(name, value);
        }
        let mut answer = request.send().await.map_err(failure)?;
        let status = answer.status();
        // Read a little of the answer (for the error message), never all of it.
        let mut read = Vec::new();
        while read.len() < ANSWER_BYTES {
            match answer.chunk().await {
                Ok(Some(chunk)) => read.extend_from_slice(&chunk),
                _ => break,
            }
        }
        if status.is_success() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&read[..read.len().min(200)]).into_owned();
        let why = if status.is_redirection() {
            format!("HTTP {status} (redirects are not followed)")
        } else if text.trim().is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {}", text.trim())
        };
        Err(Failed::new("http_error", why))
    }
}

fn failure(err: reqwest::Error) -> Failed {
    let refused = std::iter::successors(Some(&err as &(dyn std::error::Error + 'static)), |err| {
        err.source()
    })
    .any(|cause| cause.to_string().contains(REFUSED));
    if refused {
        Failed::new("refused", REFUSED)
    } else if err.is_timeout() {
        Failed::new("timeout", "no answer within --callback-timeout")
    } else {
        // The chain of causes, without the URL (reqwest's own message repeats it).
        let mut message = String::new();
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&err);
        while let Some(err) = cause {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&err.to_string());
            cause = err.source();
        }
        Failed::new("unreachable", message)
    }
}

const REFUSED: &str =
    "the destination resolves only to addresses that --callback-allow does not open";

/// The system's resolver, keeping only the addresses the policy permits.
struct GuardedResolver {
    policy: AddressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let permitted: Vec<SocketAddr> =
                found.filter(|addr| policy.permits(addr.ip())).collect();
            if permitted.is_empty() {
                return Err(REFUSED.into());
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}
