//! How object store failures become domain errors: by what can be done about them.

use crate::domain::Error;

/// Object store failures by what can be done about them: refusals that only a change of
/// configuration fixes, and transient ones (network, server errors) that a retry may get past.
impl From<object_store::Error> for Error {
    fn from(err: object_store::Error) -> Self {
        use object_store::Error as E;
        match err {
            E::PermissionDenied { .. }
            | E::Unauthenticated { .. }
            | E::UnknownConfigurationKey { .. }
            | E::NotSupported { .. }
            | E::NotImplemented { .. }
            | E::InvalidPath { .. }
            // Where an object may be missing (reads, deletes) that is handled before; anywhere
            // else a missing bucket or folder is.
            | E::NotFound { .. } => Error::ArtifactStoreMisconfigured(err.into()),
            E::Generic { .. } | E::JoinError { .. } => Error::ArtifactStoreUnavailable(err.into()),
            // Keys are made of fresh ids and written once: a conflict is a bug.
            _ => Error::Internal(err.into()),
        }
    }
}

/// A recorded artifact whose object is gone has lost data; other failures are the store's.
pub(super) fn read_error(err: object_store::Error, key: &str) -> Error {
    match err {
        object_store::Error::NotFound { .. } => Error::ArtifactDataLoss {
            key: key.to_owned(),
        },
        err => err.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ArtifactConfig;
    use crate::objects::Objects;

    fn classified(err: object_store::Error) -> &'static str {
        Error::from(err).reason()
    }

    fn source() -> Box<dyn std::error::Error + Send + Sync> {
        "refused".into()
    }

    #[test]
    fn only_transient_store_failures_are_unavailable() {
        let path = String::from("models/x");
        assert_eq!(
            classified(object_store::Error::Generic {
                store: "S3",
                source: source()
            }),
            "ARTIFACT_STORE_UNAVAILABLE"
        );
        for refusal in [
            object_store::Error::PermissionDenied {
                path: path.clone(),
                source: source(),
            },
            object_store::Error::Unauthenticated {
                path: path.clone(),
                source: source(),
            },
            object_store::Error::NotFound {
                path: path.clone(),
                source: source(),
            },
        ] {
            assert_eq!(classified(refusal), "ARTIFACT_STORE_MISCONFIGURED");
        }
        assert_eq!(
            classified(object_store::Error::AlreadyExists {
                path,
                source: source()
            }),
            "INTERNAL"
        );
    }

    #[tokio::test]
    async fn a_missing_object_of_a_recorded_artifact_is_data_loss() {
        let folder = tempfile::tempdir().unwrap();
        let config = ArtifactConfig {
            artifact_store: Some(url::Url::from_directory_path(folder.path()).unwrap().into()),
            ..ArtifactConfig::default()
        };
        let objects = Objects::open(&config, "sqlite::memory:").unwrap();
        let err = objects
            .read("models/x/artifacts/y", 0..10)
            .await
            .err()
            .unwrap();
        assert_eq!(err.reason(), "ARTIFACT_DATA_LOSS");
    }
}
