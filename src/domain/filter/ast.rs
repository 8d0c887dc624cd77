//! A discovery filter once parsed and checked: every field is one the registry knows, every
//! operator one that field supports, every literal of the field's type.

use chrono::{DateTime, Utc};

/// A whole filter. `All` and `Any` hold two or more parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Filter {
    /// AND
    All(Vec<Filter>),
    /// OR
    Any(Vec<Filter>),
    /// NOT or `-`
    Not(Box<Filter>),
    /// A comparison on a field of the registration itself.
    Text(TextField, TextMatch),
    /// `create_time` / `update_time` compared with an RFC 3339 time.
    Time(TimeField, Comparator, DateTime<Utc>),
    /// `model_information.input_data_type:"x"`: the list holds exactly this element.
    DataType(DataTypeField, String),
    /// `labels.KEY:*` or `labels:KEY` (key present, `value` None), or
    /// `labels.KEY = "v"` / `!=` / wildcards (`value` Some).
    Label {
        key: String,
        value: Option<TextMatch>,
    },
    /// `aliases:"production"`: the registration carries this alias.
    Alias(String),
    /// Some one target environment satisfies the whole condition: a
    /// `model_information.target_environment(...)` group, or a single comparison such as
    /// `model_information.target_environment.platform_name = "kserve"`.
    Environment(EnvironmentFilter),
}

/// A condition on one target environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EnvironmentFilter {
    All(Vec<EnvironmentFilter>),
    Any(Vec<EnvironmentFilter>),
    Not(Box<EnvironmentFilter>),
    Field(EnvironmentField, TextMatch),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum TextField {
    ModelName,
    ModelVersion,
    ArtifactVersion,
    Description,
    Author,
    Owner,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum TimeField {
    CreateTime,
    UpdateTime,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum DataTypeField {
    Input,
    Output,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum EnvironmentField {
    PlatformName,
    EnvironmentType,
    DependencyList,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Comparator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// How a text is compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TextMatch {
    /// `=`, `!=`, `<`, `<=`, `>`, `>=` with an exact text (byte order for the orderings).
    Compare(Comparator, String),
    /// `=` (or `!=` when `negated`) with a leading and/or trailing `*`: `literal` is the text
    /// between the wildcards, with no wildcard of its own.
    Pattern(Pattern),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pattern {
    pub(crate) negated: bool,
    /// `*` before the literal: any text may come first (a suffix match).
    pub(crate) any_before: bool,
    pub(crate) literal: String,
    /// `*` after the literal: any text may follow (a prefix match).
    pub(crate) any_after: bool,
}

/// A field ListModels can be ordered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum OrderField {
    ModelName,
    ModelVersion,
    CreateTime,
    UpdateTime,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct OrderKey {
    pub(crate) field: OrderField,
    pub(crate) descending: bool,
}

/// An `order_by` as written: one to four distinct fields, each ascending unless `desc`.
/// Empty means the default order (model name, then version).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct OrderBy(pub(crate) Vec<OrderKey>);
