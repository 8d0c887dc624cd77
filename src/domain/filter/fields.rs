//! The names of the filterable fields, as the parser reads them and the printer writes them,
//! and the operators each field takes.

use super::lexer::Op;
use super::{DataTypeField, EnvironmentField, SyntaxError, TextField, TimeField, echo};

pub(crate) const GROUP: &str = "model_information.target_environment";
pub(crate) const LABELS: &str = "labels";
pub(crate) const ALIASES: &str = "aliases";

const KNOWN: &str = "model_id.{model_name,model_version,artifact_version}, description, \
    model_information.metadata.{author,owner}, create_time, update_time, \
    model_information.{input_data_type,output_data_type}, labels.KEY, labels, aliases, \
    model_information.target_environment{.platform_name,.environment_type,.dependency_list,(...)}";

const KNOWN_IN_GROUP: &str = "platform_name, environment_type, dependency_list";

const ALL_COMPARATORS: &[Op] = &[Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge];
const EQUALITY: &[Op] = &[Op::Eq, Op::Ne];
const EQUALITY_OR_HAS: &[Op] = &[Op::Eq, Op::Ne, Op::Has];
const HAS: &[Op] = &[Op::Has];

impl TextField {
    pub(crate) const ALL: [TextField; 6] = [
        TextField::ModelName,
        TextField::ModelVersion,
        TextField::ArtifactVersion,
        TextField::Description,
        TextField::Author,
        TextField::Owner,
    ];

    pub(crate) fn path(self) -> &'static str {
        match self {
            TextField::ModelName => "model_id.model_name",
            TextField::ModelVersion => "model_id.model_version",
            TextField::ArtifactVersion => "model_id.artifact_version",
            TextField::Description => "description",
            TextField::Author => "model_information.metadata.author",
            TextField::Owner => "model_information.metadata.owner",
        }
    }

    /// Long free texts have no useful order.
    pub(crate) fn is_ordered(self) -> bool {
        matches!(
            self,
            TextField::ModelName | TextField::ModelVersion | TextField::ArtifactVersion
        )
    }
}

impl TimeField {
    pub(crate) const ALL: [TimeField; 2] = [TimeField::CreateTime, TimeField::UpdateTime];

    pub(crate) fn path(self) -> &'static str {
        match self {
            TimeField::CreateTime => "create_time",
            TimeField::UpdateTime => "update_time",
        }
    }
}

impl DataTypeField {
    pub(crate) const ALL: [DataTypeField; 2] = [DataTypeField::Input, DataTypeField::Output];

    pub(crate) fn path(self) -> &'static str {
        match self {
            DataTypeField::Input => "model_information.input_data_type",
            DataTypeField::Output => "model_information.output_data_type",
        }
    }
}

impl EnvironmentField {
    pub(crate) const ALL: [EnvironmentField; 3] = [
        EnvironmentField::PlatformName,
        EnvironmentField::EnvironmentType,
        EnvironmentField::DependencyList,
    ];

    /// The name inside a `target_environment(...)` group.
    pub(crate) fn name(self) -> &'static str {
        match self {
            EnvironmentField::PlatformName => "platform_name",
            EnvironmentField::EnvironmentType => "environment_type",
            EnvironmentField::DependencyList => "dependency_list",
        }
    }

    pub(crate) fn path(self) -> &'static str {
        match self {
            EnvironmentField::PlatformName => "model_information.target_environment.platform_name",
            EnvironmentField::EnvironmentType => {
                "model_information.target_environment.environment_type"
            }
            EnvironmentField::DependencyList => {
                "model_information.target_environment.dependency_list"
            }
        }
    }

    pub(crate) fn operators() -> &'static [Op] {
        EQUALITY_OR_HAS
    }
}

/// A field of a comparison outside a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    Text(TextField),
    Time(TimeField),
    DataType(DataTypeField),
    Label(String),
    Labels,
    Aliases,
    Environment(EnvironmentField),
}

impl Field {
    /// `position` is where `name` starts.
    pub(crate) fn resolve(name: &str, position: usize) -> Result<Field, SyntaxError> {
        if let Some(key) = name.strip_prefix("labels.") {
            check_label_key(key, |at| position + "labels.".len() + at)?;
            return Ok(Field::Label(key.to_owned()));
        }
        let found = match name {
            LABELS => Some(Field::Labels),
            ALIASES => Some(Field::Aliases),
            _ => None,
        };
        found
            .or_else(|| {
                TextField::ALL
                    .into_iter()
                    .find(|f| f.path() == name)
                    .map(Field::Text)
            })
            .or_else(|| {
                TimeField::ALL
                    .into_iter()
                    .find(|f| f.path() == name)
                    .map(Field::Time)
            })
            .or_else(|| {
                DataTypeField::ALL
                    .into_iter()
                    .find(|f| f.path() == name)
                    .map(Field::DataType)
            })
            .or_else(|| {
                EnvironmentField::ALL
                    .into_iter()
                    .find(|f| f.path() == name)
                    .map(Field::Environment)
            })
            .ok_or_else(|| unknown(name, position, KNOWN, ""))
    }

    pub(crate) fn operators(&self) -> &'static [Op] {
        match self {
            Field::Text(f) if f.is_ordered() => ALL_COMPARATORS,
            Field::Text(_) => EQUALITY,
            Field::Time(_) => ALL_COMPARATORS,
            Field::DataType(_) | Field::Labels | Field::Aliases => HAS,
            Field::Label(_) => EQUALITY_OR_HAS,
            Field::Environment(_) => EnvironmentField::operators(),
        }
    }
}

/// A field inside a `target_environment(...)` group.
pub(crate) fn resolve_in_group(
    name: &str,
    position: usize,
) -> Result<EnvironmentField, SyntaxError> {
    EnvironmentField::ALL
        .into_iter()
        .find(|f| f.name() == name)
        .ok_or_else(|| {
            unknown(
                name,
                position,
                KNOWN_IN_GROUP,
                " inside model_information.target_environment(...)",
            )
        })
}

fn unknown(name: &str, position: usize, known: &str, place: &str) -> SyntaxError {
    let keyword = ["and", "or", "not"]
        .iter()
        .any(|k| name.eq_ignore_ascii_case(k));
    let hint = if keyword {
        " (AND, OR and NOT are upper-case)"
    } else {
        ""
    };
    SyntaxError::new(
        position,
        format!(
            "unknown field {}{place}{hint}; known fields: {known}",
            echo(name)
        ),
    )
}

/// Kubernetes-style keys such as `app.kubernetes.io/name`; the rules beyond the characters
/// (lengths, where `/` may stand) are checked where labels are stored.
/// `position_of` gives the position of the key's character at an index.
pub(crate) fn check_label_key(
    key: &str,
    position_of: impl Fn(usize) -> usize,
) -> Result<(), SyntaxError> {
    if key.is_empty() {
        return Err(SyntaxError::new(position_of(0), "expected a label key"));
    }
    match key.chars().position(|c| !is_label_key_char(c)) {
        None => Ok(()),
        Some(at) => Err(SyntaxError::new(
            position_of(at),
            format!(
                "label key {} may hold only ASCII letters, digits, '.', '/', '-' and '_'",
                echo(key)
            ),
        )),
    }
}

pub(crate) fn is_label_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '-' | '_')
}

/// "=, !=" for messages.
pub(crate) fn list(ops: &[Op]) -> String {
    ops.iter()
        .map(|op| op.symbol())
        .collect::<Vec<_>>()
        .join(", ")
}
