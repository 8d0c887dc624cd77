//! What every handler reads from a request: a JSON body of an accepted media type and bounded
//! size, entity tags, the registration id of the path, and query parameters of a known set.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::de::DeserializeOwned;

use super::problem::Problem;
use super::resource::ModelRelatedInformation;
use crate::config::RestProfile;
use crate::domain::{Action, Caller, Checker, Etag, RegistrationId, Result as DomainResult};
use crate::metrics;

/// The media types a body may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyType {
    Json,
    MergePatch,
}

impl BodyType {
    fn accepts(self, essence: &str) -> bool {
        match self {
            BodyType::Json => essence == "application/json",
            BodyType::MergePatch => essence == "application/merge-patch+json",
        }
    }

    fn name(self) -> &'static str {
        match self {
            BodyType::Json => "application/json",
            BodyType::MergePatch => "application/merge-patch+json",
        }
    }
}

/// The body as JSON of `kind`, at most `limit` bytes. Type errors name the field where they
/// are (`modelInformation.inputDataType[1]`).
pub(crate) async fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    kind: BodyType,
    limit: usize,
) -> Result<T, Problem> {
    let bytes = accepted_body(headers, body, kind, limit).await?;
    let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(type_error)?;
    deserializer.end().map_err(malformed)?;
    Ok(value)
}

/// A `ModelRelatedInformation` body. Members the resource does not have are refused under
/// `r1ap`, each listed; under `aimlfw` they are ignored, as the Go service ignored them
/// (scripts send `metadata.algorithm` and the like), logged at debug and counted.
pub(crate) async fn resource_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    profile: RestProfile,
    route: &'static str,
) -> Result<ModelRelatedInformation, Problem> {
    let bytes = accepted_body(headers, body, BodyType::Json, limit).await?;
    let mut unknown = Vec::new();
    let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
    // serde_ignored writes `?` for each optional member passed through: not part of the JSON.
    let mut note = |path: serde_ignored::Path<'_>| {
        let path = path.to_string();
        let members: Vec<&str> = path.split('.').filter(|member| *member != "?").collect();
        unknown.push(members.join("."));
    };
    let tracked = serde_ignored::Deserializer::new(&mut deserializer, &mut note);
    let resource = serde_path_to_error::deserialize(tracked).map_err(type_error)?;
    deserializer.end().map_err(malformed)?;
    if unknown.is_empty() {
        return Ok(resource);
    }
    match profile {
        RestProfile::R1ap => Err(Problem::invalid_params(
            unknown
                .into_iter()
                .map(|path| {
                    let member = path.rsplit('.').next().unwrap_or_default().to_owned();
                    (
                        path,
                        format!("unknown member `{member}`: the resource has no such member"),
                    )
                })
                .collect(),
        )),
        RestProfile::Aimlfw => {
            tracing::debug!(route, members = ?unknown, "unknown members ignored");
            metrics::rest_ignored_members(route, unknown.len());
            Ok(resource)
        }
    }
}

fn type_error(err: serde_path_to_error::Error<serde_json::Error>) -> Problem {
    let path = err.path().to_string();
    let param = if path == "." { "body".to_owned() } else { path };
    Problem::invalid_params(vec![(param, err.into_inner().to_string())])
}

fn malformed(err: serde_json::Error) -> Problem {
    Problem::invalid_params(vec![("body".to_owned(), err.to_string())])
}

/// The body of an accepted media type, at most `limit` bytes.
pub(crate) async fn accepted_body(
    headers: &HeaderMap,
    body: Body,
    kind: BodyType,
    limit: usize,
) -> Result<bytes::Bytes, Problem> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    if !essence
        .as_deref()
        .is_some_and(|essence| kind.accepts(essence))
    {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            format!("the body must be {}", kind.name()),
        ));
    }
    read_body(body, limit).await
}

/// The whole body, or 413 beyond `limit` bytes.
pub(crate) async fn read_body(body: Body, limit: usize) -> Result<bytes::Bytes, Problem> {
    axum::body::to_bytes(body, limit).await.map_err(|err| {
        let err = err.into_inner();
        if err.is::<http_body_util::LengthLimitError>() {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "BODY_TOO_LARGE",
                format!("the body is larger than {limit} bytes (--max-message-bytes)"),
            )
        } else {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "BODY_UNREADABLE",
                format!("the body could not be read: {err}"),
            )
        }
    })
}

/// The registration a path names, for a caller about to do `action`. Text that is no id names
/// nothing: 404, as for an unknown id, but only once the caller may do `action` at all, as the
/// core decides permission before existence.
pub(crate) fn registration_id(
    caller: &Caller,
    action: Action,
    text: &str,
) -> DomainResult<RegistrationId> {
    let mut check = Checker::request();
    match RegistrationId::parse(&mut check, "model_registration_id", text) {
        Some(id) => Ok(id),
        None => {
            caller.require(action)?;
            Err(crate::domain::Error::RegistrationNotFound {
                id: text.chars().take(64).collect(),
            })
        }
    }
}

/// The entity tag an answer carries for `etag`.
pub(crate) fn etag_header(etag: &Etag) -> HeaderValue {
    HeaderValue::try_from(format!("\"{}\"", etag.as_str())).expect("etags are visible ASCII")
}

/// The etag a write is conditional on: `If-Match` (RFC 9110), else the one in the body (as
/// over gRPC). `*`, or neither, makes the write unconditional. A weak tag never matches.
pub(crate) fn precondition(headers: &HeaderMap, in_body: String) -> Result<Option<Etag>, Problem> {
    let mut values = headers.get_all(header::IF_MATCH).iter();
    let text = match (values.next(), values.next()) {
        (None, _) => in_body,
        (Some(value), None) => {
            let text = value
                .to_str()
                .map_err(|_| invalid_if_match("is not visible ASCII"))?;
            match text.trim() {
                "*" => return Ok(None),
                tag if tag.contains(',') => {
                    return Err(invalid_if_match(
                        "lists several entity tags; send the one that was read",
                    ));
                }
                tag => match tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                    Some(opaque) => opaque.to_owned(),
                    // A weak tag (`W/"…"`) never matches in a strong comparison.
                    None if tag.starts_with("W/") => tag.to_owned(),
                    None => return Err(invalid_if_match("is not a quoted entity tag")),
                },
            }
        }
        (Some(_), Some(_)) => return Err(invalid_if_match("is sent more than once")),
    };
    let mut check = Checker::request();
    let etag = Etag::parse(&mut check, "etag", text);
    Ok(check.finish(etag)?)
}

fn invalid_if_match(why: &str) -> Problem {
    Problem::invalid_params(vec![("If-Match".to_owned(), why.to_owned())])
}

/// Whether `If-None-Match` names `etag` (or is `*`): the client's copy is current.
pub(crate) fn not_modified(headers: &HeaderMap, etag: &Etag) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag.trim_matches('"') == etag.as_str())
}

/// The query parameters of a request, each at most once and each one of `known`.
pub(crate) fn query_params(
    query: Option<&str>,
    known: &[&str],
) -> Result<BTreeMap<String, String>, Problem> {
    let mut params = BTreeMap::new();
    let mut violations = Vec::new();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if !known.contains(&name.as_ref()) {
            let why = format!(
                "is not a parameter of this request; known: {}",
                known.join(", ")
            );
            violations.push((name.into_owned(), why));
        } else if params
            .insert(name.to_string(), value.into_owned())
            .is_some()
        {
            violations.push((name.into_owned(), "is given more than once".to_owned()));
        }
    }
    if violations.is_empty() {
        Ok(params)
    } else {
        Err(Problem::invalid_params(violations))
    }
}
