//! Artifacts: how a request names a model, what an upload declares, what a download asks for,
//! and an artifact as the registry records it.

use chrono::{DateTime, Utc};

use super::check::Checker;
use super::draft::ModelIdDraft;
use super::error::Result;
use super::labels::Alias;
use super::limits;
use super::names::{ArtifactVersion, ModelName, ModelVersion, RegistrationId};

const DEFAULT_FILENAME: &str = "artifact";
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// How a request names a model: by registration id, by name and version, or by name and alias.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ModelRef {
    Id(RegistrationId),
    NameVersion(ModelName, ModelVersion),
    NameAlias(ModelName, Alias),
}

/// A model selector as the client sent it: a name, and a version or an alias.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SelectorDraft {
    pub(crate) model_name: String,
    pub(crate) version_or_alias: Option<VersionOrAlias>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum VersionOrAlias {
    Version(String),
    Alias(String),
}

impl ModelRef {
    /// Parses a request's `model_registration_id`, `model_id` and `model` (a selector);
    /// exactly one must be given. `prefix` is where they are in the request ("header." in an
    /// upload).
    pub(crate) fn parse(
        registration_id: &str,
        model_id: Option<&ModelIdDraft>,
        selector: Option<&SelectorDraft>,
        prefix: &str,
    ) -> Result<Self> {
        let mut check = Checker::request();
        let model = Self::check(&mut check, registration_id, model_id, selector, prefix);
        check.finish(model)
    }

    fn check(
        check: &mut Checker,
        registration_id: &str,
        model_id: Option<&ModelIdDraft>,
        selector: Option<&SelectorDraft>,
        prefix: &str,
    ) -> Option<Self> {
        let id_field = format!("{prefix}model_registration_id");
        let names = model_id.filter(|id| !id.model_name.is_empty() || !id.model_version.is_empty());
        let ways = usize::from(!registration_id.is_empty())
            + usize::from(names.is_some())
            + usize::from(selector.is_some());
        if ways > 1 {
            let (field, why) = match selector {
                Some(_) => (
                    "model",
                    "name the model one way: by model_registration_id, model_id or model",
                ),
                None => (
                    "model_id",
                    "must not be given with model_registration_id; name the model one way",
                ),
            };
            check.violation(format!("{prefix}{field}"), why);
            return None;
        }
        if let Some(selector) = selector {
            return Self::check_selector(check, selector, &format!("{prefix}model"));
        }
        match (registration_id.is_empty(), names) {
            (false, _) => RegistrationId::parse(check, &id_field, registration_id).map(Self::Id),
            (true, Some(names)) => {
                let name = ModelName::parse(
                    check,
                    &format!("{prefix}model_id.model_name"),
                    &names.model_name,
                );
                let version = ModelVersion::parse(
                    check,
                    &format!("{prefix}model_id.model_version"),
                    &names.model_version,
                );
                Some(Self::NameVersion(name?, version?))
            }
            (true, None) => {
                check.violation(
                    id_field,
                    "is required, unless model_id or model names the model",
                );
                None
            }
        }
    }

    fn check_selector(check: &mut Checker, selector: &SelectorDraft, at: &str) -> Option<Self> {
        let name = ModelName::parse(check, &format!("{at}.model_name"), &selector.model_name);
        match &selector.version_or_alias {
            Some(VersionOrAlias::Version(version)) => {
                let version = ModelVersion::parse(check, &format!("{at}.model_version"), version);
                Some(Self::NameVersion(name?, version?))
            }
            Some(VersionOrAlias::Alias(alias)) => {
                let alias = Alias::parse(check, &format!("{at}.alias"), alias);
                Some(Self::NameAlias(name?, alias?))
            }
            None => {
                check.violation(
                    format!("{at}.version_or_alias"),
                    "is required: a model_version or an alias",
                );
                None
            }
        }
    }
}

/// An upload's header as the client sent it.
#[derive(Clone, Debug, Default)]
pub(crate) struct UploadDraft {
    pub(crate) model_registration_id: String,
    pub(crate) model_id: Option<ModelIdDraft>,
    pub(crate) sha256: String,
    /// 0 means not declared.
    pub(crate) size_bytes: u64,
    pub(crate) filename: String,
    pub(crate) content_type: String,
}

/// What an upload's header declares, valid by construction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UploadSpec {
    pub(crate) model: ModelRef,
    /// Lowercase hex, when declared.
    pub(crate) sha256: Option<String>,
    pub(crate) size_bytes: Option<u64>,
    pub(crate) filename: String,
    pub(crate) content_type: String,
}

impl UploadSpec {
    pub(crate) fn parse(header: UploadDraft) -> Result<Self> {
        let UploadDraft {
            model_registration_id,
            model_id,
            sha256,
            size_bytes,
            filename,
            content_type,
        } = header;
        let mut check = Checker::request();
        let model = ModelRef::check(
            &mut check,
            &model_registration_id,
            model_id.as_ref(),
            None,
            "header.",
        );
        let sha256 = sha256.to_ascii_lowercase();
        if !sha256.is_empty() && (sha256.len() != 64 || hex::decode(&sha256).is_err()) {
            check.violation("header.sha256", "must be 64 hexadecimal digits");
        }
        if filename.contains('/') || filename.chars().any(char::is_control) {
            check.violation(
                "header.filename",
                "must not contain '/' or control characters",
            );
        } else {
            check.max_chars("header.filename", &filename, limits::NAME_CHARS);
        }
        if content_type.chars().any(char::is_control) {
            check.violation("header.content_type", "must not contain control characters");
        } else {
            check.max_chars("header.content_type", &content_type, limits::NAME_CHARS);
        }
        let spec = model.map(|model| Self {
            model,
            sha256: (!sha256.is_empty()).then_some(sha256),
            size_bytes: (size_bytes > 0).then_some(size_bytes),
            filename: or_default(filename, DEFAULT_FILENAME),
            content_type: or_default(content_type, DEFAULT_CONTENT_TYPE),
        });
        check.finish(spec)
    }
}

/// A download request: which model, which version (`None` = latest), from where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DownloadSpec {
    pub(crate) model: ModelRef,
    pub(crate) artifact_version: Option<ArtifactVersion>,
    pub(crate) offset: u64,
}

impl DownloadSpec {
    pub(crate) fn parse(
        registration_id: &str,
        model_id: Option<&ModelIdDraft>,
        selector: Option<&SelectorDraft>,
        artifact_version: String,
        offset: u64,
    ) -> Result<Self> {
        let mut check = Checker::request();
        let model = ModelRef::check(&mut check, registration_id, model_id, selector, "");
        let version = if artifact_version.is_empty() {
            Some(None)
        } else {
            ArtifactVersion::parse(&mut check, "artifact_version", artifact_version).map(Some)
        };
        let spec = model.zip(version).map(|(model, artifact_version)| Self {
            model,
            artifact_version,
            offset,
        });
        check.finish(spec)
    }
}

/// An artifact version a client declares for bytes it stored elsewhere itself (as AIMLFW's
/// training pipelines do): recorded as the model's next artifact, with no bytes here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DeclareSpec {
    pub(crate) model: ModelRef,
    pub(crate) artifact_version: ArtifactVersion,
}

impl DeclareSpec {
    pub(crate) fn parse(
        registration_id: &str,
        model_id: Option<&ModelIdDraft>,
        selector: Option<&SelectorDraft>,
        artifact_version: String,
    ) -> Result<Self> {
        let mut check = Checker::request();
        let model = ModelRef::check(&mut check, registration_id, model_id, selector, "");
        let version =
            ArtifactVersion::parse_declared(&mut check, "artifact_version", artifact_version);
        let spec = model.zip(version).map(|(model, artifact_version)| Self {
            model,
            artifact_version,
        });
        check.finish(spec)
    }
}

/// A model as artifact answers name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ModelIdentity {
    pub(crate) id: RegistrationId,
    pub(crate) name: ModelName,
    pub(crate) version: ModelVersion,
}

/// One stored artifact version of a model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Artifact {
    /// 1 for the first artifact of a model, then 2, 3, …
    pub(crate) sequence: i64,
    pub(crate) version: ArtifactVersion,
    /// Where the bytes are in the object store; made of ids only.
    pub(crate) object_key: String,
    pub(crate) size_bytes: u64,
    /// Lowercase hex.
    pub(crate) sha256: String,
    pub(crate) filename: String,
    pub(crate) content_type: String,
    pub(crate) create_time: DateTime<Utc>,
    /// Declared by a client that stored the bytes elsewhere: the registry holds none of them
    /// (no object key, size or checksum).
    pub(crate) external: bool,
}

impl Artifact {
    /// The record of `version`, declared for bytes stored elsewhere, as a model's
    /// `sequence`-th artifact.
    pub(crate) fn external(sequence: i64, version: ArtifactVersion, time: DateTime<Utc>) -> Self {
        Self {
            sequence,
            version,
            object_key: String::new(),
            size_bytes: 0,
            sha256: String::new(),
            filename: String::new(),
            content_type: String::new(),
            create_time: time,
            external: true,
        }
    }
}

fn or_default(value: String, default: &str) -> String {
    if value.is_empty() {
        default.to_owned()
    } else {
        value
    }
}
