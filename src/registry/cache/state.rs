//! What the read cache holds: every registration (while they fit), by id, by name and version
//! in the order that discovery pages walk, and by alias; and how each event of the log
//! changes it, exactly as the change changed the database.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use crate::domain::{Event, EventType, Held, Registration, RegistrationId};

/// A model's place in the name order: name, then version (byte order, as every backend's
/// collation of these columns).
pub(super) type NameKey = (String, String);

#[derive(Debug, Default)]
pub(super) struct State {
    /// The last event applied: the state is the database's after it.
    pub(super) applied: i64,
    /// Whether every registration is held. Once one did not fit, a registration that is not
    /// here may still exist, and only what is here can be answered.
    pub(super) complete: bool,
    /// Estimated bytes of the registrations held.
    pub(super) bytes: usize,
    by_id: HashMap<RegistrationId, Arc<Held>>,
    by_name: BTreeMap<NameKey, RegistrationId>,
    /// (model name, alias) → the registration it names.
    by_alias: HashMap<(String, String), RegistrationId>,
}

impl State {
    /// The state of one snapshot: `registrations` as of sequence `applied`, kept while
    /// their bytes stay within `budget`.
    pub(super) fn filled(registrations: Vec<Registration>, applied: i64, budget: usize) -> Self {
        let mut state = State {
            applied,
            complete: true,
            ..State::default()
        };
        for registration in registrations {
            state.put(registration, budget);
        }
        state
    }

    pub(super) fn registrations(&self) -> usize {
        self.by_id.len()
    }

    pub(super) fn by_id(&self, id: RegistrationId) -> Option<&Arc<Held>> {
        self.by_id.get(&id)
    }

    pub(super) fn by_name(&self, name: &str, version: &str) -> Option<&Arc<Held>> {
        let id = self.by_name.get(&(name.to_owned(), version.to_owned()))?;
        self.by_id.get(id)
    }

    pub(super) fn by_alias(&self, name: &str, alias: &str) -> Option<&Arc<Held>> {
        let id = self.by_alias.get(&(name.to_owned(), alias.to_owned()))?;
        self.by_id.get(id)
    }

    /// Every registration held, in no order.
    pub(super) fn all(&self) -> impl Iterator<Item = &Arc<Held>> {
        self.by_id.values()
    }

    /// The registrations from `start` on, in name order.
    pub(super) fn in_name_order(&self, start: Bound<NameKey>) -> impl Iterator<Item = &Arc<Held>> {
        self.by_name
            .range((start, Bound::Unbounded))
            .filter_map(|(_, id)| self.by_id.get(id))
    }

    /// Applies one event of the log. Events come in sequence order and without gaps.
    pub(super) fn apply(&mut self, event: &Event, budget: usize) {
        let registration = &event.registration;
        match event.kind {
            EventType::ModelDeregistered => self.remove(registration.id),
            // The event's registration lost the alias already (a deletion of the model
            // records its alias deletions with the registration as it was: only the alias
            // goes).
            EventType::AliasDeleted => {
                if let Some(change) = &event.alias {
                    self.drop_alias(registration.id, change.alias.as_str());
                }
            }
            EventType::AliasSet => {
                if let Some((previous, _)) = event.alias.as_ref().and_then(|c| c.previous.as_ref())
                    && *previous != registration.id
                {
                    let alias = event.alias.as_ref().map(|c| c.alias.as_str());
                    self.drop_alias(*previous, alias.unwrap_or_default());
                }
                self.put(registration.clone(), budget);
            }
            EventType::ModelRegistered | EventType::ModelUpdated | EventType::ArtifactStored => {
                self.put(registration.clone(), budget);
            }
        }
        self.applied = event.sequence;
    }

    /// Holds `registration` (replacing what was held of it), unless a new one does not fit.
    fn put(&mut self, registration: Registration, budget: usize) {
        let id = registration.id;
        let weight = weight(&registration);
        let held = self.by_id.contains_key(&id);
        if !held && self.bytes + weight > budget {
            self.complete = false;
            return;
        }
        self.remove(id);
        let spec = &registration.spec;
        let name = spec.name.as_str().to_owned();
        for alias in &registration.aliases {
            self.by_alias
                .insert((name.clone(), alias.as_str().to_owned()), id);
        }
        self.by_name
            .insert((name, spec.version.as_str().to_owned()), id);
        self.bytes += weight;
        self.by_id.insert(id, Held::new(registration));
    }

    fn remove(&mut self, id: RegistrationId) {
        let Some(gone) = self.by_id.remove(&id) else {
            return;
        };
        let name = gone.spec.name.as_str();
        self.by_name
            .remove(&(name.to_owned(), gone.spec.version.as_str().to_owned()));
        for alias in &gone.aliases {
            let key = (name.to_owned(), alias.as_str().to_owned());
            if self.by_alias.get(&key) == Some(&id) {
                self.by_alias.remove(&key);
            }
        }
        self.bytes -= weight(&gone);
    }

    /// `alias` no longer names registration `id`.
    fn drop_alias(&mut self, id: RegistrationId, alias: &str) {
        let Some(held) = self.by_id.get(&id) else {
            return;
        };
        if !held.aliases.iter().any(|held| held.as_str() == alias) {
            return;
        }
        let mut edited = Registration::clone(held);
        edited.aliases.retain(|held| held.as_str() != alias);
        let key = (edited.spec.name.as_str().to_owned(), alias.to_owned());
        if self.by_alias.get(&key) == Some(&id) {
            self.by_alias.remove(&key);
        }
        self.bytes -= weight(held);
        self.bytes += weight(&edited);
        self.by_id.insert(id, Held::new(edited));
    }
}

/// Per registration beyond its text: the struct, its allocations' headers, and its entries
/// in the three indexes. Set so that the estimate matches what a server holds: 100,000 models
/// with 3 environments and 5 labels measured 2,833 bytes each of resident memory
/// (`cargo bench --bench discovery`).
const FIXED_BYTES: usize = 1_400;
/// Per string held (an allocation's header and slack) and per index entry of an alias.
const PER_STRING_BYTES: usize = 32;

/// The bytes a registration takes in the cache, estimated from its text: close enough to
/// bound the cache, and cheap.
pub(super) fn weight(registration: &Registration) -> usize {
    let spec = &registration.spec;
    let mut strings = vec![
        spec.name.as_str().len() * 3,
        spec.version.as_str().len() * 2,
        spec.description.len(),
        spec.location.as_deref().map_or(0, str::len),
        spec.author.len(),
        spec.owner.as_deref().map_or(0, str::len),
        spec.data_type_spelling.input.as_deref().map_or(0, str::len),
        spec.data_type_spelling
            .output
            .as_deref()
            .map_or(0, str::len),
        registration.artifact_version.as_str().len(),
        registration.etag.as_str().len(),
    ];
    strings.extend(spec.input_data_type.iter().map(String::len));
    strings.extend(spec.output_data_type.iter().map(String::len));
    for environment in &spec.target_environments {
        strings.push(environment.platform_name.len());
        strings.push(environment.environment_type.len());
        strings.push(environment.dependency_list.len());
    }
    for (key, value) in &spec.labels {
        // A B-tree entry's share of its node besides the two strings.
        strings.push(key.len() + value.len() + 2 * PER_STRING_BYTES);
    }
    for alias in &registration.aliases {
        // Held in the registration and, with the name, in the alias index.
        strings.push(alias.as_str().len() * 2 + spec.name.as_str().len() + PER_STRING_BYTES);
    }
    let text: usize = strings.iter().sum();
    FIXED_BYTES + strings.len() * PER_STRING_BYTES + text + encodings(text)
}

/// The encodings pages keep of a registration (see `Held`), once a page carried it: its
/// protobuf (its text and a few bytes a field) and its JSON in one REST profile (its text
/// and the members' names), each with the allocation's header.
fn encodings(text: usize) -> usize {
    const PROTOBUF_FIELDS: usize = 120;
    const JSON_NAMES: usize = 700;
    2 * text + PROTOBUF_FIELDS + JSON_NAMES + 2 * PER_STRING_BYTES
}
