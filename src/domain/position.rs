//! Where a model stands in a discovery order: the keys an `order_by` sorts by, completed so
//! that every model has a place of its own, and the comparison of two places.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

use super::filter::{OrderBy, OrderField, OrderKey};
use super::{ModelCursor, Registration};

impl OrderBy {
    /// The requested order, completed by name and version (ascending) where it leaves ties:
    /// each model then has a position of its own, which keyset paging needs.
    pub(crate) fn keys(&self) -> Vec<OrderKey> {
        let mut keys = self.0.clone();
        if keys.is_empty() {
            keys.push(OrderKey {
                field: OrderField::ModelName,
                descending: false,
            });
        }
        for field in [OrderField::ModelName, OrderField::ModelVersion] {
            if !keys.iter().any(|key| key.field == field) {
                keys.push(OrderKey {
                    field,
                    descending: false,
                });
            }
        }
        keys
    }
}

/// The fields a model is ordered by, borrowed from a registration or a cursor.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Position<'a> {
    name: &'a str,
    version: &'a str,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

impl<'a> Position<'a> {
    pub(crate) fn of(registration: &'a Registration) -> Self {
        Self {
            name: registration.spec.name.as_str(),
            version: registration.spec.version.as_str(),
            create_time: registration.create_time,
            update_time: registration.update_time,
        }
    }

    pub(crate) fn of_cursor(cursor: &'a ModelCursor) -> Self {
        Self {
            name: &cursor.model_name,
            version: &cursor.model_version,
            create_time: cursor.create_time,
            update_time: cursor.update_time,
        }
    }

    /// How this position compares with `other` in the order of `keys` (texts in byte order,
    /// as the database's columns collate).
    pub(crate) fn cmp_by(&self, other: &Position<'_>, keys: &[OrderKey]) -> Ordering {
        keys.iter()
            .map(|key| {
                let ordering = match key.field {
                    OrderField::ModelName => self.name.cmp(other.name),
                    OrderField::ModelVersion => self.version.cmp(other.version),
                    OrderField::CreateTime => self.create_time.cmp(&other.create_time),
                    OrderField::UpdateTime => self.update_time.cmp(&other.update_time),
                };
                if key.descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            })
            .find(|ordering| ordering.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}
