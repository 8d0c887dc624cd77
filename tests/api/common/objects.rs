//! Where a test server keeps artifact bytes, and a second look into that store with
//! object_store itself, as an operator with access to the folder or bucket would look.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt};

use super::s3;
use super::trials::Needs;

/// Where a test server keeps artifact bytes.
#[derive(Clone, Debug)]
pub enum Objects {
    /// A fresh temporary folder.
    File,
    /// A fresh prefix in the bucket of `MODELREG_TEST_S3_URL`.
    S3(String),
}

impl Objects {
    /// The S3 store, its bucket created. Its trial checked the variable before the test started.
    pub async fn s3() -> Self {
        let url = Needs::S3
            .value()
            .unwrap_or_else(|| panic!("{} is not set", Needs::S3.variable()));
        s3::create_bucket(&url).await;
        Self::S3(url)
    }
}

/// The objects of one server's artifact store.
pub struct StoredObjects {
    store: Arc<dyn ObjectStore>,
    /// The folder of a `file://` store.
    folder: Option<PathBuf>,
    /// The bucket and prefix of an `s3://` store.
    s3_location: Option<(String, String)>,
}

impl StoredObjects {
    /// The store at `file:///FOLDER/` or `s3://BUCKET/PREFIX`.
    pub fn open(location: &str) -> Self {
        let url = url::Url::parse(location).expect("an artifact store URL");
        match url.scheme() {
            "file" => Self::in_folder(&url.to_file_path().expect("a folder")),
            "s3" => {
                let prefix = url.path().trim_matches('/');
                Self::in_bucket(&format!("s3://{}", s3::bucket_of(location)), prefix)
            }
            other => panic!("no test support for {other}:// artifact stores"),
        }
    }

    /// The store in `folder`, which the server has created.
    fn in_folder(folder: &Path) -> Self {
        let store = LocalFileSystem::new_with_prefix(folder).expect("open the artifact folder");
        Self {
            store: Arc::new(store),
            folder: Some(folder.to_owned()),
            s3_location: None,
        }
    }

    /// The store under `prefix` in the bucket of `bucket_url`, through the AWS_* variables.
    fn in_bucket(bucket_url: &str, prefix: &str) -> Self {
        let bucket = AmazonS3Builder::from_env()
            .with_url(bucket_url)
            .build()
            .expect("open the test bucket");
        Self {
            store: Arc::new(PrefixStore::new(bucket, prefix)),
            folder: None,
            s3_location: Some((s3::bucket_of(bucket_url), prefix.to_owned())),
        }
    }

    /// Every key in the store.
    pub async fn keys(&self) -> Vec<String> {
        self.store
            .list(None)
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await
            .expect("list the store")
    }

    /// Writes an object behind the registry's back.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) {
        self.store
            .put(&object_store::path::Path::from(key), bytes.into())
            .await
            .expect("put an object");
    }

    /// Removes objects behind the registry's back.
    pub async fn delete(&self, keys: Vec<String>) {
        let paths = futures::stream::iter(keys)
            .map(|key| Ok(object_store::path::Path::from(key)))
            .boxed();
        let _: Vec<_> = self
            .store
            .delete_stream(paths)
            .try_collect()
            .await
            .expect("delete objects");
    }

    /// The bucket and prefix of an S3 store.
    fn bucket_and_prefix(&self) -> &(String, String) {
        self.s3_location.as_ref().expect("an S3 store")
    }

    /// Multipart uploads begun and neither completed nor aborted, of an S3 store.
    pub async fn pending_uploads(&self) -> Vec<String> {
        let (bucket, prefix) = self.bucket_and_prefix();
        s3::pending_multipart_uploads(bucket, prefix).await
    }

    /// Begins a multipart upload of `key` in an S3 store behind the registry's back, and
    /// leaves it incomplete as a crashed writer would.
    pub async fn begin_upload(&self, key: &str) {
        let (bucket, prefix) = self.bucket_and_prefix();
        s3::begin_multipart_upload(bucket, &format!("{prefix}/{key}")).await;
    }

    /// What the store holds: its keys and, for a folder, every file (staged ones too); for S3,
    /// multipart uploads never completed or aborted.
    pub async fn everything(&self) -> Vec<String> {
        let mut found = self.keys().await;
        if let Some(folder) = &self.folder {
            found.extend(files_under(folder).iter().map(|p| p.display().to_string()));
        }
        if let Some((bucket, prefix)) = &self.s3_location {
            found.extend(s3::pending_multipart_uploads(bucket, prefix).await);
        }
        found
    }
}

/// Every file under the artifact folder, staging files included.
fn files_under(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}
