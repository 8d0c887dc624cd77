//! What object_store cannot do against the S3 server of the tests: create the bucket, and list
//! multipart uploads begun and never completed or aborted. The server is the one the AWS_*
//! variables name (AWS_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), as for
//! the registry itself, addressed path-style as local S3 servers expect.

use std::sync::OnceLock;

use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::error::DisplayErrorContext;

fn variable(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A client for the S3 server of AWS_ENDPOINT. One per call: the HTTP connections it pools
/// belong to the runtime of the test that made it.
fn client() -> aws_sdk_s3::Client {
    let endpoint = variable("AWS_ENDPOINT").expect("AWS_ENDPOINT names the S3 server");
    let region = variable("AWS_REGION")
        .or_else(|| variable("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".into());
    let credentials = Credentials::new(
        variable("AWS_ACCESS_KEY_ID").expect("AWS_ACCESS_KEY_ID is set"),
        variable("AWS_SECRET_ACCESS_KEY").expect("AWS_SECRET_ACCESS_KEY is set"),
        variable("AWS_SESSION_TOKEN"),
        None,
        "AWS_* variables",
    );
    let config = aws_sdk_s3::Config::builder()
        .endpoint_url(endpoint)
        .region(Region::new(region))
        .credentials_provider(credentials)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// The bucket of an `s3://BUCKET[/PREFIX]` URL.
pub fn bucket_of(url: &str) -> String {
    url::Url::parse(url)
        .expect("an s3:// URL")
        .host_str()
        .expect("a bucket")
        .to_owned()
}

/// Creates the bucket of `url` once per process. An existing bucket is fine.
pub async fn create_bucket(url: &str) {
    static CREATED: OnceLock<()> = OnceLock::new();
    if CREATED.get().is_some() {
        return;
    }
    let bucket = bucket_of(url);
    match client().create_bucket().bucket(&bucket).send().await {
        Ok(_) => {}
        Err(err)
            if err.as_service_error().is_some_and(|e| {
                e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()
            }) => {}
        Err(err) => panic!(
            "creating bucket {bucket} failed: {}",
            DisplayErrorContext(&err)
        ),
    }
    let _ = CREATED.set(());
}

/// The multipart uploads under `prefix` begun and neither completed nor aborted, described by
/// key: a listing of objects does not show them.
pub async fn pending_multipart_uploads(bucket: &str, prefix: &str) -> Vec<String> {
    let client = client();
    let mut pending = Vec::new();
    let (mut key_marker, mut upload_id_marker) = (None, None);
    loop {
        let page = client
            .list_multipart_uploads()
            .bucket(bucket)
            .prefix(prefix)
            .set_key_marker(key_marker)
            .set_upload_id_marker(upload_id_marker)
            .send()
            .await
            .unwrap_or_else(|err| {
                panic!("ListMultipartUploads failed: {}", DisplayErrorContext(&err))
            });
        pending.extend(
            page.uploads()
                .iter()
                .map(|upload| format!("pending multipart upload {}", upload.key().unwrap_or("?"))),
        );
        if page.is_truncated() != Some(true) {
            return pending;
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        upload_id_marker = page.next_upload_id_marker().map(str::to_owned);
    }
}

/// Begins a multipart upload of `key` and leaves it incomplete, as a crashed writer would.
pub async fn begin_multipart_upload(bucket: &str, key: &str) {
    client()
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|err| {
            panic!(
                "CreateMultipartUpload failed: {}",
                DisplayErrorContext(&err)
            )
        });
}
