//! A JWKS URL, fetched at start and again when a token names a key the server does not hold:
//! that is how an identity provider's new keys arrive. Fetches happen at most once per
//! minimum interval, however many tokens name unknown keys, and callers arriving during a
//! fetch wait for it rather than start their own.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::fetch::{fetch, http_client};
use super::keys::KeySet;
use crate::config::redact_url;
use crate::domain::Cause;

pub(crate) struct RemoteKeys {
    url: url::Url,
    client: reqwest::Client,
    min_interval: Duration,
    state: Mutex<LastFetch>,
}

#[derive(Default)]
struct LastFetch {
    at: Option<Instant>,
    failed: bool,
}

/// What asking for a fresh key set gave.
pub(crate) enum Refresh {
    Fetched(KeySet),
    /// The last fetch was too recent to fetch again; `failed` says whether it failed.
    TooSoon {
        failed: bool,
    },
    Failed(Cause),
}

impl RemoteKeys {
    pub(crate) fn new(url: url::Url, min_interval: Duration) -> Result<Self, Cause> {
        Ok(Self {
            url,
            client: http_client()?,
            min_interval,
            state: Mutex::new(LastFetch::default()),
        })
    }

    pub(crate) fn url(&self) -> &url::Url {
        &self.url
    }

    pub(crate) async fn refresh(&self) -> Refresh {
        let mut last = self.state.lock().await;
        if let Some(at) = last.at
            && at.elapsed() < self.min_interval
        {
            return Refresh::TooSoon {
                failed: last.failed,
            };
        }
        last.at = Some(Instant::now());
        let fetched = fetch(&self.client, &self.url)
            .await
            .and_then(|body| KeySet::parse(&body).map_err(Cause::from));
        last.failed = fetched.is_err();
        match fetched {
            Ok(keys) => {
                tracing::info!(url = %redact_url(self.url.as_str()), keys = keys.len(), "JWKS fetched");
                Refresh::Fetched(keys)
            }
            Err(cause) => {
                tracing::warn!(url = %redact_url(self.url.as_str()), error = %cause, "cannot fetch the JWKS");
                Refresh::Failed(cause)
            }
        }
    }
}
