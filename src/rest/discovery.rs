//! R1AP §10.2 over REST: `GET /ai-ml-model-discovery/v1/models`. The standard's form answers
//! every match as one JSON array, streamed a page at a time so memory stays bounded however
//! many there are; `page-size` or `page-token` ask for one page instead, with a
//! `Link: rel="next"` header while more follow. `filter` and `order-by` are the discovery
//! language of the gRPC API. The Go model management service's `getModelInfo/{modelName}`
//! lists the versions of one name the same way.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::problem::Problem;
use super::request::query_params;
use super::resource::ModelRelatedInformation;
use super::{Gateway, profile};
use crate::config::RestProfile;
use crate::domain::{Caller, Error, Held, ListQuery, ListQueryDraft, ModelCursor, page_token};
use crate::registry::Registry;

pub(crate) const PATH: &str = "/ai-ml-model-discovery/v1/models";

const PARAMS: [&str; 6] = [
    "model-name",
    "model-version",
    "filter",
    "order-by",
    "page-size",
    "page-token",
];

/// The header that carries the event-log sequence a list was read at: events after it are
/// the changes since (`GET …/events?start-sequence=`).
pub(crate) const SEQUENCE_HEADER: &str = "modelreg-sequence";

/// The models the caller may see that match every given parameter (R1AP §10.2.2).
#[utoipa::path(
    get,
    path = "/ai-ml-model-discovery/v1/models",
    tag = "discovery",
    params(
        ("model-name" = Option<String>, Query, description = "Only models of this name"),
        ("model-version" = Option<String>, Query, description = "Only models of this version"),
        ("filter" = Option<String>, Query, description = "A filter in the registry's discovery language (docs/filtering.md)"),
        ("order-by" = Option<String>, Query, description = "`model_id.model_name`, `create_time desc`, … (docs/filtering.md)"),
        ("page-size" = Option<i32>, Query, minimum = 0, description = "One page of at most this many (default 50, at most 1000) instead of every match"),
        ("page-token" = Option<String>, Query, description = "The page after the one whose Link header gave it"),
    ),
    responses(
        (status = 200, description = "The matching models; empty when none match", body = Vec<ModelRelatedInformation>,
            headers(("Link" = String, description = "`<…>; rel=\"next\"` while more pages follow"),
                    ("Modelreg-Sequence" = i64, description = "The event-log sequence the list was read at"))),
        (status = 400),
    ),
)]
pub(crate) async fn list(
    State(gateway): State<Gateway>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let params = query_params(query.as_deref(), &PARAMS)?;
    let param = |name: &str| params.get(name).cloned().unwrap_or_default();
    let search = Search {
        model_name: param("model-name"),
        model_version: param("model-version"),
        filter: param("filter"),
        order_by: param("order-by"),
    };
    let page_size = match params.get("page-size") {
        None => None,
        Some(text) => Some(text.parse::<i32>().map_err(|_| {
            Problem::invalid_params(vec![(
                "page-size".to_owned(),
                format!("{text:?} is not an integer"),
            )])
        })?),
    };
    let page_token = params.get("page-token").cloned();
    // The Go service answered 404 for a name and version that match nothing, and the
    // training manager reads 404 as "not registered"; the standard answers `200 []`.
    let not_found = (gateway.profile == RestProfile::Aimlfw
        && !search.model_name.is_empty()
        && !search.model_version.is_empty())
    .then(|| Error::ModelNotFound {
        name: search.model_name.clone(),
        version: search.model_version.clone(),
    });
    if page_size.is_none() && page_token.is_none() {
        let (answer, first_page) =
            every_match(gateway.registry.clone(), caller, search, gateway.profile).await?;
        return match not_found {
            Some(err) if first_page == 0 => Err(err.into()),
            _ => Ok(answer),
        };
    }
    let after = match page_token.as_deref() {
        None | Some("") => None,
        Some(token) => Some(page_token::decode(
            gateway.registry.page_token_key(),
            token,
            &search.binding(),
        )?),
    };
    let (page, sequence) = gateway
        .registry
        .list(&caller, search.query(page_size.unwrap_or(0), after)?)
        .await?;
    if let Some(err) = not_found
        && page.items.is_empty()
        && page_token.is_none()
    {
        return Err(err.into());
    }
    let mut answer = json_answer(Body::from(array(gateway.profile, &page.items)), sequence);
    if let Some(after) = page.next {
        let token = page_token::encode(gateway.registry.page_token_key(), &search.binding(), after);
        let mut next = params.clone();
        next.insert("page-token".to_owned(), token);
        answer.headers_mut().insert(header::LINK, next_link(&next));
    }
    Ok(answer)
}

/// What a list searches for; the same on every page.
#[derive(Clone)]
pub(super) struct Search {
    model_name: String,
    model_version: String,
    filter: String,
    order_by: String,
}

impl Search {
    /// Every version of one model.
    pub(super) fn named(model_name: String) -> Self {
        Self {
            model_name,
            model_version: String::new(),
            filter: String::new(),
            order_by: String::new(),
        }
    }

    fn draft(&self, page_size: i32) -> ListQueryDraft<'_> {
        ListQueryDraft {
            model_name: &self.model_name,
            model_version: &self.model_version,
            filter: &self.filter,
            order_by: &self.order_by,
            page_size,
        }
    }

    fn binding(&self) -> String {
        page_token::list_binding(&self.draft(0))
    }

    fn query(&self, page_size: i32, after: Option<ModelCursor>) -> Result<ListQuery, Error> {
        ListQuery::parse(self.draft(page_size), after)
    }
}

/// Every match, as one array written a page at a time, and the number on the first page.
/// The first page is read before the answer starts, so that an invalid query or an
/// unreachable database is a problem answer; a failure after that cuts the body short, which
/// no JSON parser mistakes for a whole list.
pub(super) async fn every_match(
    registry: Registry,
    caller: Caller,
    search: Search,
    profile: RestProfile,
) -> Result<(Response, usize), Problem> {
    let (first, sequence) = registry
        .list(&caller, search.query(i32::MAX, None)?)
        .await?;
    let first_page = first.items.len();
    let body = async_stream::stream! {
        yield Ok(Bytes::from_static(b"["));
        let mut page = first;
        let mut separator = "";
        loop {
            let mut chunk = Vec::new();
            for held in &page.items {
                chunk.extend_from_slice(separator.as_bytes());
                chunk.extend_from_slice(profile::held_json(profile, held));
                separator = ",";
            }
            yield Ok(Bytes::from(chunk));
            let Some(after) = page.next else { break };
            let next = match search.query(i32::MAX, Some(after)) {
                Ok(query) => registry.list(&caller, query).await,
                Err(err) => Err(err),
            };
            match next {
                Ok((next, _)) => page = next,
                Err(err) => {
                    err.log_cause();
                    yield Err(std::io::Error::other(err.reason()));
                    return;
                }
            }
        }
        yield Ok::<_, std::io::Error>(Bytes::from_static(b"]"));
    };
    Ok((json_answer(Body::from_stream(body), sequence), first_page))
}

fn array(profile: RestProfile, page: &[Arc<Held>]) -> Vec<u8> {
    let encoded: Vec<&[u8]> = page
        .iter()
        .map(|held| profile::held_json(profile, held))
        .collect();
    let mut array =
        Vec::with_capacity(2 + encoded.iter().map(|json| json.len() + 1).sum::<usize>());
    array.push(b'[');
    for (index, json) in encoded.into_iter().enumerate() {
        if index > 0 {
            array.push(b',');
        }
        array.extend_from_slice(json);
    }
    array.push(b']');
    array
}

fn json_answer(body: Body, sequence: i64) -> Response {
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::HeaderName::from_static(SEQUENCE_HEADER),
                HeaderValue::from(sequence),
            ),
        ],
        body,
    )
        .into_response()
}

/// `Link: </ai-ml-model-discovery/v1/models?…&page-token=…>; rel="next"` (RFC 8288).
fn next_link(params: &BTreeMap<String, String>) -> HeaderValue {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    HeaderValue::try_from(format!("<{PATH}?{query}>; rel=\"next\""))
        .expect("a form-encoded query is visible ASCII")
}

/// Every registered version of a model, as an array; 404 when none is.
#[utoipa::path(
    get,
    path = "/ai-ml-model-registration/v1/getModelInfo/{modelName}",
    tag = "artifacts",
    params(("modelName" = String, Path)),
    responses(
        (status = 200, body = Vec<ModelRelatedInformation>),
        (status = 404),
    ),
)]
pub(crate) async fn model_info(
    State(gateway): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Path(model_name): Path<String>,
) -> Result<Response, Problem> {
    let search = Search::named(model_name.clone());
    let (answer, first_page) =
        every_match(gateway.registry.clone(), caller, search, gateway.profile).await?;
    if first_page == 0 {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            "MODEL_NOT_FOUND",
            format!("no version of model {model_name:?} is registered"),
        ));
    }
    Ok(answer)
}
