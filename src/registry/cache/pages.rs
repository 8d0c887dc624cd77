//! Pages of discovery answered from memory, as the database would answer them: the same
//! models, in the same order, continued from the same cursor.

use std::ops::Bound;
use std::sync::Arc;

use super::state::State;
use crate::domain::filter::{OrderField, OrderKey};
use crate::domain::{Held, ListQuery, ModelCursor, Page, Position, Registration, Scope};

/// The page `query` asks for among the models of `scope`.
pub(super) fn page_of(
    state: &State,
    query: &ListQuery,
    scope: &Scope,
) -> Page<Arc<Held>, ModelCursor> {
    let limit = query.page_size.get() as usize;
    let keys = query.order.keys();
    let passes = |found: &Registration| {
        let spec = &found.spec;
        query
            .model_version
            .as_deref()
            .is_none_or(|version| version == spec.version.as_str())
            && scope.includes(spec.name.as_str())
            && query
                .filter
                .as_ref()
                .is_none_or(|filter| filter.matches(found))
    };
    // One more than the page tells whether another follows.
    let mut items = if walks_name_order(&keys) {
        in_name_order(state, query, passes, limit + 1)
    } else {
        in_any_order(state, query, &keys, passes, limit + 1)
    };
    let more = items.len() > limit;
    items.truncate(limit);
    let next = more
        .then(|| items.last())
        .flatten()
        .map(|last| ModelCursor {
            model_name: last.spec.name.as_str().to_owned(),
            model_version: last.spec.version.as_str().to_owned(),
            create_time: last.create_time,
            update_time: last.update_time,
        });
    Page {
        items: items.into_iter().map(Arc::clone).collect(),
        next,
    }
}

/// Whether `keys` order models as the cache holds them: by name, then version, ascending.
fn walks_name_order(keys: &[OrderKey]) -> bool {
    matches!(
        keys,
        [
            OrderKey {
                field: OrderField::ModelName,
                descending: false
            },
            OrderKey {
                field: OrderField::ModelVersion,
                descending: false
            },
            ..
        ]
    )
}

/// The first `wanted` models that pass, walking the name order from the cursor (or from the
/// name asked for) and stopping at the first model past that name.
fn in_name_order<'a>(
    state: &'a State,
    query: &ListQuery,
    passes: impl Fn(&Registration) -> bool,
    wanted: usize,
) -> Vec<&'a Arc<Held>> {
    let start = match (&query.after, &query.model_name) {
        (Some(cursor), _) => {
            Bound::Excluded((cursor.model_name.clone(), cursor.model_version.clone()))
        }
        (None, Some(name)) => Bound::Included((name.clone(), String::new())),
        (None, None) => Bound::Unbounded,
    };
    let mut items = Vec::with_capacity(wanted.min(state.registrations()));
    for found in state.in_name_order(start) {
        if let Some(name) = &query.model_name {
            match found.spec.name.as_str().cmp(name) {
                std::cmp::Ordering::Less => continue,
                std::cmp::Ordering::Greater => break,
                std::cmp::Ordering::Equal => {}
            }
        }
        if passes(found) {
            items.push(found);
            if items.len() == wanted {
                break;
            }
        }
    }
    items
}

/// The first `wanted` models that pass in the order of `keys`, after the cursor: every model
/// is looked at, and only the first `wanted` are sorted.
fn in_any_order<'a>(
    state: &'a State,
    query: &ListQuery,
    keys: &[OrderKey],
    passes: impl Fn(&Registration) -> bool,
    wanted: usize,
) -> Vec<&'a Arc<Held>> {
    let after = query.after.as_ref().map(Position::of_cursor);
    let mut items: Vec<&Arc<Held>> = state
        .all()
        .filter(|found| {
            query
                .model_name
                .as_deref()
                .is_none_or(|name| name == found.spec.name.as_str())
                && after.is_none_or(|after| Position::of(found).cmp_by(&after, keys).is_gt())
                && passes(found)
        })
        .collect();
    let order = |a: &&Arc<Held>, b: &&Arc<Held>| Position::of(a).cmp_by(&Position::of(b), keys);
    if items.len() > wanted {
        items.select_nth_unstable_by(wanted - 1, order);
        items.truncate(wanted);
    }
    items.sort_unstable_by(order);
    items
}
