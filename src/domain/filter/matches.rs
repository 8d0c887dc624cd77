//! A filter evaluated on a registration in memory, with the answers the database gives for
//! the same filter: texts compare by bytes (every backend's columns collate in byte order),
//! an unset owner is "", `labels.KEY != v` holds when the key is absent, and an environment
//! condition holds when some one target environment meets all of it.

use std::cmp::Ordering;

use chrono::{DateTime, SubsecRound, Utc};

use super::{
    Comparator, DataTypeField, EnvironmentField, EnvironmentFilter, Filter, Pattern, TextField,
    TextMatch, TimeField,
};
use crate::domain::{Registration, TargetEnvironment};

impl Filter {
    /// Whether `registration` passes the filter.
    pub(crate) fn matches(&self, registration: &Registration) -> bool {
        let spec = &registration.spec;
        match self {
            Filter::All(parts) => parts.iter().all(|part| part.matches(registration)),
            Filter::Any(parts) => parts.iter().any(|part| part.matches(registration)),
            Filter::Not(part) => !part.matches(registration),
            Filter::Text(field, matching) => {
                let text = match field {
                    TextField::ModelName => spec.name.as_str(),
                    TextField::ModelVersion => spec.version.as_str(),
                    TextField::ArtifactVersion => registration.artifact_version.as_str(),
                    TextField::Description => spec.description.as_str(),
                    TextField::Author => spec.author.as_str(),
                    TextField::Owner => spec.owner.as_deref().unwrap_or(""),
                };
                matching.matches(text)
            }
            Filter::Time(field, comparator, time) => {
                let held = match field {
                    TimeField::CreateTime => registration.create_time,
                    TimeField::UpdateTime => registration.update_time,
                };
                comparator.holds(held.cmp(&as_stored(*time)))
            }
            Filter::DataType(field, value) => {
                let types = match field {
                    DataTypeField::Input => &spec.input_data_type,
                    DataTypeField::Output => &spec.output_data_type,
                };
                types.iter().any(|held| held == value)
            }
            Filter::Label { key, value } => {
                let held = spec.labels.get(key).map(String::as_str);
                match value {
                    None => held.is_some(),
                    // Absent keys pass `!=` and fail every other comparison.
                    Some(TextMatch::Compare(Comparator::Ne, value)) => held != Some(value.as_str()),
                    Some(TextMatch::Pattern(pattern)) if pattern.negated => {
                        !held.is_some_and(|held| pattern.literal_matches(held))
                    }
                    Some(matching) => held.is_some_and(|held| matching.matches(held)),
                }
            }
            Filter::Alias(name) => registration
                .aliases
                .iter()
                .any(|alias| alias.as_str() == name),
            Filter::Environment(tree) => spec
                .target_environments
                .iter()
                .any(|environment| tree.matches(environment)),
        }
    }
}

impl EnvironmentFilter {
    fn matches(&self, environment: &TargetEnvironment) -> bool {
        match self {
            EnvironmentFilter::All(parts) => parts.iter().all(|part| part.matches(environment)),
            EnvironmentFilter::Any(parts) => parts.iter().any(|part| part.matches(environment)),
            EnvironmentFilter::Not(part) => !part.matches(environment),
            EnvironmentFilter::Field(field, matching) => matching.matches(match field {
                EnvironmentField::PlatformName => &environment.platform_name,
                EnvironmentField::EnvironmentType => &environment.environment_type,
                EnvironmentField::DependencyList => &environment.dependency_list,
            }),
        }
    }
}

impl TextMatch {
    fn matches(&self, text: &str) -> bool {
        match self {
            TextMatch::Compare(comparator, value) => comparator.holds(text.cmp(value.as_str())),
            TextMatch::Pattern(pattern) => pattern.literal_matches(text) != pattern.negated,
        }
    }
}

impl Pattern {
    /// Whether `text` has the literal where the wildcards put it, whatever `negated` says.
    fn literal_matches(&self, text: &str) -> bool {
        let literal = self.literal.as_str();
        match (self.any_before, self.any_after) {
            (true, true) => text.contains(literal),
            (true, false) => text.ends_with(literal),
            (false, true) => text.starts_with(literal),
            (false, false) => text == literal,
        }
    }
}

impl Comparator {
    /// Whether a value that compares with the operand as `ordering` passes.
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Comparator::Eq => ordering.is_eq(),
            Comparator::Ne => ordering.is_ne(),
            Comparator::Lt => ordering.is_lt(),
            Comparator::Le => ordering.is_le(),
            Comparator::Gt => ordering.is_gt(),
            Comparator::Ge => ordering.is_ge(),
        }
    }
}

/// A filter's time as the databases compare it with stored times: to the microsecond, which
/// is the registry's resolution.
fn as_stored(time: DateTime<Utc>) -> DateTime<Utc> {
    time.trunc_subsecs(6)
}
