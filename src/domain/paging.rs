//! Paging (AIP-158): page sizes, and the keyset positions pages continue from.

use super::check::Checker;
use super::error::Result;
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

/// The position of a model in discovery order: pages continue after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ModelCursor {
    pub(crate) model_name: String,
    pub(crate) model_version: String,
}

/// The position of an artifact in a model's history: pages continue with older ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ArtifactCursor {
    pub(crate) model: RegistrationId,
    pub(crate) before_sequence: i64,
}

/// A discovery request: exact filters, where to continue, how many.
#[derive(Clone, Debug)]
pub(crate) struct ListQuery {
    pub(crate) model_name: Option<String>,
    pub(crate) model_version: Option<String>,
    pub(crate) after: Option<ModelCursor>,
    pub(crate) page_size: PageSize,
}

impl ListQuery {
    /// A discovery request: empty filters match every model; filters longer than any name
    /// are rejected rather than searched for.
    pub(crate) fn parse(
        model_name: &str,
        model_version: &str,
        page_size: i32,
        after: Option<ModelCursor>,
    ) -> Result<Self> {
        let mut check = Checker::request();
        check.max_chars("model_name", model_name, limits::NAME_CHARS);
        check.max_chars("model_version", model_version, limits::NAME_CHARS);
        let page_size = PageSize::check(&mut check, page_size);
        let query = page_size.map(|page_size| Self {
            model_name: non_empty(model_name),
            model_version: non_empty(model_version),
            after,
            page_size,
        });
        check.finish(query)
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
