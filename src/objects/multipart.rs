//! Multipart uploads on S3 that were begun and never completed nor aborted: a crash in the
//! middle of an upload leaves one. Object listings do not show them, yet their parts stay
//! stored, and billed, until the upload is aborted. object_store cannot list them, so the AWS
//! SDK does, configured from what object_store itself read: the same AWS_* variables, and the
//! bucket and prefix of `--artifact-store`.

use std::time::SystemTime;

use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::error::SdkError;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};

use super::MODELS_PREFIX;
use crate::domain::{Error, Result};

/// The multipart uploads under the registry's prefix of one bucket.
#[derive(Clone, Debug)]
pub(crate) struct MultipartUploads {
    client: aws_sdk_s3::Client,
    bucket: String,
    /// `PREFIX/` of `s3://BUCKET/PREFIX`, or nothing.
    store_prefix: String,
}

/// An incomplete multipart upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StalledUpload {
    /// Its key in the store (under the store's prefix), as the object would have been named.
    pub(crate) key: String,
    pub(crate) upload_id: String,
}

impl MultipartUploads {
    /// A client for the store that `builder` (from the environment) and `bucket`/`prefix` (from
    /// `--artifact-store`) describe. `None` when its credentials are not static ones: object_store
    /// fetches those (instance metadata, web identity, containers) by means the SDK would need
    /// a credential chain of its own for.
    pub(crate) fn for_store(builder: &AmazonS3Builder, bucket: &str, prefix: &str) -> Option<Self> {
        let setting = |key| builder.get_config_value(&key).filter(|v| !v.is_empty());
        let (Some(key_id), Some(secret)) = (
            setting(AmazonS3ConfigKey::AccessKeyId),
            setting(AmazonS3ConfigKey::SecretAccessKey),
        ) else {
            return None;
        };
        let region = setting(AmazonS3ConfigKey::Region).unwrap_or_else(|| "us-east-1".into());
        let credentials = Credentials::new(
            key_id,
            secret,
            setting(AmazonS3ConfigKey::Token),
            None,
            "AWS_* variables",
        );
        let virtual_hosted = setting(AmazonS3ConfigKey::VirtualHostedStyleRequest)
            .is_some_and(|value| is_true(&value));
        let mut config = aws_sdk_s3::Config::builder()
            .region(Region::new(region))
            .credentials_provider(credentials)
            .force_path_style(!virtual_hosted);
        // object_store prefers the S3-specific endpoint, as the SDK does.
        let endpoint =
            setting(AmazonS3ConfigKey::S3Endpoint).or(setting(AmazonS3ConfigKey::Endpoint));
        if let Some(endpoint) = endpoint {
            config = config.endpoint_url(service_endpoint(&endpoint, bucket, virtual_hosted));
        }
        let store_prefix = match prefix.trim_matches('/') {
            "" => String::new(),
            prefix => format!("{prefix}/"),
        };
        Some(Self {
            client: aws_sdk_s3::Client::from_conf(config.build()),
            bucket: bucket.to_owned(),
            store_prefix,
        })
    }

    /// Uploads of artifact objects begun before `cutoff`.
    pub(crate) async fn stalled_before(&self, cutoff: SystemTime) -> Result<Vec<StalledUpload>> {
        let mut stalled = Vec::new();
        let (mut key_marker, mut upload_id_marker) = (None, None);
        loop {
            let page = self
                .client
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .prefix(format!("{}{MODELS_PREFIX}/", self.store_prefix))
                .set_key_marker(key_marker)
                .set_upload_id_marker(upload_id_marker)
                .send()
                .await
                .map_err(classify)?;
            for upload in page.uploads() {
                let (Some(key), Some(upload_id)) = (upload.key(), upload.upload_id()) else {
                    continue;
                };
                let initiated = upload
                    .initiated()
                    .and_then(|t| SystemTime::try_from(*t).ok());
                if begun(initiated, key).is_some_and(|begun| begun < cutoff) {
                    stalled.push(StalledUpload {
                        key: key[self.store_prefix.len()..].to_owned(),
                        upload_id: upload_id.to_owned(),
                    });
                }
            }
            if page.is_truncated() != Some(true) {
                return Ok(stalled);
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            upload_id_marker = page.next_upload_id_marker().map(str::to_owned);
        }
    }

    /// Aborts uploads, which removes their parts; one that cannot be aborted is logged and
    /// left for the next sweep.
    pub(crate) async fn abort(&self, uploads: Vec<StalledUpload>) {
        for upload in uploads {
            let aborted = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(format!("{}{}", self.store_prefix, upload.key))
                .upload_id(&upload.upload_id)
                .send()
                .await;
            match aborted {
                Ok(_) => {}
                // NoSuchUpload: aborted meanwhile, by another replica's sweep or a lifecycle rule.
                Err(err) if status_of(&err) == Some(404) => {}
                Err(err) => tracing::error!(
                    key = %upload.key, upload_id = %upload.upload_id,
                    error = %aws_sdk_s3::error::DisplayErrorContext(&err),
                    "cannot abort an incomplete multipart upload"
                ),
            }
        }
    }
}

/// When an upload began: the later of the store's word and the time in the artifact id that
/// ends its key (a UUIDv7, taken by this registry just before the upload began). Either alone
/// may be wrong: the store's clock may differ from ours, and some S3-compatible servers report
/// a fixed date. `None` when neither is known: such an upload is never taken for stale.
fn begun(initiated: Option<SystemTime>, key: &str) -> Option<SystemTime> {
    let by_id = key
        .rsplit('/')
        .next()
        .and_then(|id| uuid::Uuid::parse_str(id).ok())
        .and_then(|id| id.get_timestamp())
        .map(|timestamp| {
            let (seconds, nanos) = timestamp.to_unix();
            SystemTime::UNIX_EPOCH + std::time::Duration::new(seconds, nanos)
        });
    initiated.max(by_id)
}

/// object_store's reading of a boolean setting.
fn is_true(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "1" | "true" | "on" | "yes" | "y"
    )
}

/// The endpoint the SDK needs. With virtual-hosted requests object_store takes the endpoint as
/// the bucket's own (`https://BUCKET.HOST`); the SDK adds the bucket itself, so it gets the
/// endpoint without it.
fn service_endpoint(endpoint: &str, bucket: &str, virtual_hosted: bool) -> String {
    if !virtual_hosted {
        return endpoint.to_owned();
    }
    match url::Url::parse(endpoint) {
        Ok(mut url) => {
            let service_host = url
                .host_str()
                .and_then(|host| host.strip_prefix(&format!("{bucket}.")))
                .map(str::to_owned);
            match service_host {
                Some(host) if url.set_host(Some(&host)).is_ok() => {
                    url.as_str().trim_end_matches('/').to_owned()
                }
                _ => endpoint.to_owned(),
            }
        }
        Err(_) => endpoint.to_owned(),
    }
}

/// S3 failures by what can be done about them, as for object_store's (see `objects`):
/// refusals that only a change of configuration fixes, transient ones that a retry may get
/// past, and the rest.
fn classify<E>(err: SdkError<E>) -> Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    let status = status_of(&err);
    let cause: Box<dyn std::error::Error + Send + Sync> =
        aws_sdk_s3::error::DisplayErrorContext(err)
            .to_string()
            .into();
    match status {
        // Credentials, permissions, a missing bucket, an unsupported operation.
        Some(401 | 403 | 404 | 405 | 501) => Error::ArtifactStoreMisconfigured(cause),
        Some(408 | 429 | 500..=599) => Error::ArtifactStoreUnavailable(cause),
        Some(_) => Error::Internal(cause),
        // No answer: the request timed out or could not be sent.
        None => Error::ArtifactStoreUnavailable(cause),
    }
}

/// The HTTP status of the store's answer, when there was one.
fn status_of<E>(err: &SdkError<E>) -> Option<u16> {
    err.raw_response()
        .map(|response| response.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_virtual_hosted_endpoint_loses_its_bucket() {
        assert_eq!(
            service_endpoint("https://models.s3.eu-west-1.amazonaws.com", "models", true),
            "https://s3.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            service_endpoint("http://minio:9000", "models", true),
            "http://minio:9000"
        );
        assert_eq!(
            service_endpoint("http://models.minio:9000", "models", false),
            "http://models.minio:9000"
        );
    }

    #[test]
    fn an_upload_began_when_its_key_or_the_store_says_so_whichever_is_later() {
        let id = uuid::Uuid::now_v7();
        let key = format!("prefix/models/{}/artifacts/{id}", uuid::Uuid::now_v7());
        let now = SystemTime::now();
        let long_ago = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_289_422_113);
        let from_key = begun(Some(long_ago), &key).unwrap();
        assert!(from_key > now - std::time::Duration::from_secs(5) && from_key <= now);
        let later = now + std::time::Duration::from_secs(60);
        assert_eq!(begun(Some(later), &key), Some(later));
        assert_eq!(
            begun(Some(long_ago), "models/x/artifacts/y"),
            Some(long_ago)
        );
        assert_eq!(begun(None, "models/x/artifacts/y"), None);
    }

    #[test]
    fn only_static_credentials_give_a_client() {
        let builder = AmazonS3Builder::new().with_region("us-east-1");
        assert!(MultipartUploads::for_store(&builder, "bucket", "prefix").is_none());
        let builder = builder
            .with_access_key_id("id")
            .with_secret_access_key("secret");
        let uploads = MultipartUploads::for_store(&builder, "bucket", "/a/b/").unwrap();
        assert_eq!(uploads.store_prefix, "a/b/");
    }
}
