//! Validated artifact requests: which model they name, and what an upload declares.

use uuid::Uuid;

use super::{Checker, limits};
use crate::error::Error;
use crate::pb;

const DEFAULT_FILENAME: &str = "artifact";
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";
const ARTIFACT_VERSION_CHARS: usize = 64;

/// How a request names a model: by registration id, or by name and version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelRef {
    Id(Uuid),
    NameVersion { name: String, version: String },
}

impl ModelRef {
    /// Parses `model_registration_id` and `model_id` of a request; exactly one must be given.
    pub fn parse(
        registration_id: &str,
        model_id: Option<&pb::ModelId>,
        prefix: &str,
    ) -> Result<Self, Error> {
        let mut check = Checker::default();
        let model = model_ref(&mut check, registration_id, model_id, prefix);
        check.finish()?;
        Ok(model.expect("a model reference when nothing is violated"))
    }
}

fn model_ref(
    check: &mut Checker,
    registration_id: &str,
    model_id: Option<&pb::ModelId>,
    prefix: &str,
) -> Option<ModelRef> {
    let id_field = format!("{prefix}model_registration_id");
    let names = model_id.filter(|id| !id.model_name.is_empty() || !id.model_version.is_empty());
    match (registration_id.is_empty(), names) {
        (false, Some(_)) => {
            check.violation(
                format!("{prefix}model_id"),
                "must not be given with model_registration_id; name the model one way",
            );
            None
        }
        (false, None) => match Uuid::parse_str(registration_id) {
            Ok(id) => Some(ModelRef::Id(id)),
            Err(_) => {
                check.violation(id_field, format!("{registration_id:?} is not a UUID"));
                None
            }
        },
        (true, Some(names)) => {
            let before = check.violations.len();
            check.identifier(format!("{prefix}model_id.model_name"), &names.model_name);
            check.identifier(
                format!("{prefix}model_id.model_version"),
                &names.model_version,
            );
            (check.violations.len() == before).then(|| ModelRef::NameVersion {
                name: names.model_name.clone(),
                version: names.model_version.clone(),
            })
        }
        (true, None) => {
            check.violation(
                id_field,
                "is required, unless model_id names the model by model_name and model_version",
            );
            None
        }
    }
}

/// What an upload's header declares, valid by construction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadSpec {
    pub model: ModelRef,
    /// Lowercase hex, when declared.
    pub sha256: Option<String>,
    pub size_bytes: Option<u64>,
    pub filename: String,
    pub content_type: String,
}

impl UploadSpec {
    pub fn parse(header: &pb::ArtifactHeader) -> Result<Self, Error> {
        let mut check = Checker::default();
        let model = model_ref(
            &mut check,
            &header.model_registration_id,
            header.model_id.as_ref(),
            "header.",
        );
        let sha256 = header.sha256.to_ascii_lowercase();
        if !sha256.is_empty() && (sha256.len() != 64 || hex::decode(&sha256).is_err()) {
            check.violation("header.sha256", "must be 64 hexadecimal digits");
        }
        if header.filename.contains('/') || header.filename.chars().any(char::is_control) {
            check.violation(
                "header.filename",
                "must not contain '/' or control characters",
            );
        } else {
            check.max_chars(
                "header.filename".into(),
                &header.filename,
                limits::NAME_CHARS,
            );
        }
        if header.content_type.chars().any(char::is_control) {
            check.violation("header.content_type", "must not contain control characters");
        } else {
            check.max_chars(
                "header.content_type".into(),
                &header.content_type,
                limits::NAME_CHARS,
            );
        }
        check.finish()?;
        Ok(Self {
            model: model.expect("a model reference when nothing is violated"),
            sha256: (!sha256.is_empty()).then_some(sha256),
            size_bytes: (header.size_bytes > 0).then_some(header.size_bytes),
            filename: or_default(&header.filename, DEFAULT_FILENAME),
            content_type: or_default(&header.content_type, DEFAULT_CONTENT_TYPE),
        })
    }
}

/// A download request: which model, which version (`None` = latest), from where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadSpec {
    pub model: ModelRef,
    pub artifact_version: Option<String>,
    pub offset: u64,
}

impl DownloadSpec {
    pub fn parse(request: &pb::DownloadArtifactRequest) -> Result<Self, Error> {
        let mut check = Checker::default();
        let model = model_ref(
            &mut check,
            &request.model_registration_id,
            request.model_id.as_ref(),
            "",
        );
        check.max_chars(
            "artifact_version".into(),
            &request.artifact_version,
            ARTIFACT_VERSION_CHARS,
        );
        check.finish()?;
        Ok(Self {
            model: model.expect("a model reference when nothing is violated"),
            artifact_version: (!request.artifact_version.is_empty())
                .then(|| request.artifact_version.clone()),
            offset: request.offset,
        })
    }
}

fn or_default(value: &str, default: &str) -> String {
    if value.is_empty() { default } else { value }.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(name: &str, version: &str) -> Option<pb::ModelId> {
        Some(pb::ModelId {
            model_name: name.into(),
            model_version: version.into(),
            artifact_version: String::new(),
        })
    }

    fn fields(err: Error) -> Vec<String> {
        match err {
            Error::InvalidArgument(violations) => violations.into_iter().map(|v| v.field).collect(),
            other => panic!("not INVALID_ARGUMENT: {other:?}"),
        }
    }

    #[test]
    fn a_model_is_named_exactly_one_way() {
        let id = Uuid::now_v7();
        assert_eq!(
            ModelRef::parse(&id.to_string(), None, "").unwrap(),
            ModelRef::Id(id)
        );
        assert_eq!(
            ModelRef::parse("", names("qoe", "1").as_ref(), "").unwrap(),
            ModelRef::NameVersion {
                name: "qoe".into(),
                version: "1".into()
            }
        );
        let both = ModelRef::parse(&id.to_string(), names("qoe", "1").as_ref(), "");
        assert_eq!(fields(both.unwrap_err()), ["model_id"]);
        let neither = ModelRef::parse("", names("", "").as_ref(), "");
        assert_eq!(fields(neither.unwrap_err()), ["model_registration_id"]);
        let half = ModelRef::parse("", names("qoe", "").as_ref(), "");
        assert_eq!(fields(half.unwrap_err()), ["model_id.model_version"]);
    }

    #[test]
    fn a_header_reports_every_violation() {
        let header = pb::ArtifactHeader {
            model_registration_id: "not-a-uuid".into(),
            sha256: "abc".into(),
            filename: "../etc/passwd".into(),
            content_type: "text/plain\n".into(),
            ..Default::default()
        };
        assert_eq!(
            fields(UploadSpec::parse(&header).unwrap_err()),
            [
                "header.model_registration_id",
                "header.sha256",
                "header.filename",
                "header.content_type"
            ]
        );
    }

    #[test]
    fn a_header_gets_defaults_and_lowercase_digests() {
        let header = pb::ArtifactHeader {
            model_id: names("qoe", "1"),
            sha256: "AB".repeat(32),
            ..Default::default()
        };
        let spec = UploadSpec::parse(&header).unwrap();
        assert_eq!(spec.sha256.as_deref(), Some("ab".repeat(32).as_str()));
        assert_eq!(spec.size_bytes, None);
        assert_eq!(spec.filename, "artifact");
        assert_eq!(spec.content_type, "application/octet-stream");
    }
}
