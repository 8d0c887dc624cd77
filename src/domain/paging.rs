//! Paging (AIP-158): page sizes, and the keyset positions pages continue from.

use chrono::{DateTime, Utc};

use super::check::Checker;
use super::error::Result;
use super::filter::{Filter, OrderBy};
use super::labels::key_problem;
use super::limits;
use super::names::RegistrationId;

const DEFAULT_PAGE_SIZE: u64 = 50;
const MAX_PAGE_SIZE: u64 = 1000;

/// How many items a page holds: 1 to 1000.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PageSize(u64);

impl PageSize {
    /// 0 means the default (50), too large is coerced to 1000, negative is an error.
    pub(crate) fn parse(requested: i32) -> Result<Self> {
        let mut check = Checker::request();
        let size = Self::check(&mut check, requested);
        check.finish(size)
    }

    pub(super) fn check(check: &mut Checker, requested: i32) -> Option<Self> {
        match u64::try_from(requested) {
            Err(_) => {
                check.violation(
                    "page_size",
                    format!("must not be negative (is {requested})"),
                );
                None
            }
            Ok(0) => Some(Self(DEFAULT_PAGE_SIZE)),
            Ok(size) => Some(Self(size.min(MAX_PAGE_SIZE))),
        }
    }

    /// The largest page there is.
    pub(crate) fn largest() -> Self {
        Self(MAX_PAGE_SIZE)
    }

    pub(crate) fn get(self) -> u64 {
        self.0
    }
}

/// The position of a model in discovery order: pages continue after it. It holds every field
/// discovery can be ordered by, so that it serves every order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ModelCursor {
    pub(crate) model_name: String,
    pub(crate) model_version: String,
    pub(crate) create_time: DateTime<Utc>,
    pub(crate) update_time: DateTime<Utc>,
}

/// The position of an artifact in a model's history: pages continue with older ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ArtifactCursor {
    pub(crate) model: RegistrationId,
    pub(crate) before_sequence: i64,
}

/// A discovery request: exact filters and a filter expression, an order, where to continue,
/// how many.
#[derive(Clone, Debug)]
pub(crate) struct ListQuery {
    pub(crate) model_name: Option<String>,
    pub(crate) model_version: Option<String>,
    pub(crate) filter: Option<Filter>,
    pub(crate) order: OrderBy,
    pub(crate) after: Option<ModelCursor>,
    pub(crate) page_size: PageSize,
}

/// A discovery request's fields, as a front-end received them.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ListQueryDraft<'a> {
    pub(crate) model_name: &'a str,
    pub(crate) model_version: &'a str,
    pub(crate) filter: &'a str,
    pub(crate) order_by: &'a str,
    pub(crate) page_size: i32,
}

impl ListQuery {
    /// A discovery request: empty filters match every model; filters longer than any name
    /// are rejected rather than searched for.
    pub(crate) fn parse(draft: ListQueryDraft<'_>, after: Option<ModelCursor>) -> Result<Self> {
        let mut check = Checker::request();
        check.max_chars("model_name", draft.model_name, limits::NAME_CHARS);
        check.max_chars("model_version", draft.model_version, limits::NAME_CHARS);
        let filter = match Filter::parse(draft.filter) {
            Ok(filter) => {
                if let Some(filter) = &filter {
                    check_label_keys(&mut check, filter);
                }
                Some(filter)
            }
            Err(err) => {
                check.violation("filter", err.to_string());
                None
            }
        };
        let order = OrderBy::parse(draft.order_by)
            .map_err(|err| check.violation("order_by", err.to_string()))
            .ok();
        let page_size = PageSize::check(&mut check, draft.page_size);
        let query = match (filter, order, page_size) {
            (Some(filter), Some(order), Some(page_size)) => Some(Self {
                model_name: non_empty(draft.model_name),
                model_version: non_empty(draft.model_version),
                filter,
                order,
                after,
                page_size,
            }),
            _ => None,
        };
        check.finish(query)
    }

    /// Every model (of a scope) in the default order, a page at a time.
    pub(crate) fn exact(
        model_name: Option<&str>,
        model_version: Option<&str>,
        after: Option<ModelCursor>,
    ) -> Self {
        Self {
            model_name: model_name.map(str::to_owned),
            model_version: model_version.map(str::to_owned),
            filter: None,
            order: OrderBy::default(),
            after,
            page_size: PageSize::largest(),
        }
    }
}

/// A label key that no label can have is a mistake worth reporting, not a filter that
/// silently matches nothing.
fn check_label_keys(check: &mut Checker, filter: &Filter) {
    match filter {
        Filter::All(parts) | Filter::Any(parts) => {
            for part in parts {
                check_label_keys(check, part);
            }
        }
        Filter::Not(part) => check_label_keys(check, part),
        Filter::Label { key, .. } => {
            if let Some(problem) = key_problem(key) {
                check.violation("filter", format!("labels.{problem}"));
            }
        }
        Filter::Text(..)
        | Filter::Time(..)
        | Filter::DataType(..)
        | Filter::Alias(_)
        | Filter::Environment(_) => {}
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

#[derive(Debug)]
pub(crate) struct Page<T, C> {
    pub(crate) items: Vec<T>,
    /// Where the next page starts, when there is one.
    pub(crate) next: Option<C>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Error;

    #[test]
    fn page_sizes_follow_aip_158() {
        assert_eq!(PageSize::parse(0).unwrap().get(), 50);
        assert_eq!(PageSize::parse(7).unwrap().get(), 7);
        assert_eq!(PageSize::parse(5000).unwrap().get(), 1000);
        assert!(matches!(
            PageSize::parse(-1),
            Err(Error::InvalidArgument(_))
        ));
    }
}
