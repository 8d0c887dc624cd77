//! How the REST API names what the domain reports: fields of the resource as the JSON writes
//! them (`modelInformation.targetEnvironment[0]`), request fields as the query parameters,
//! path parameters and headers that carry them.

/// A path of the resource in proto field names (`model_information.target_environment[0]`) as
/// proto3's JSON mapping names it (`modelInformation.targetEnvironment[0]`). Label keys
/// (`labels.team_name`) are data and keep their spelling.
pub(crate) fn json_path(path: &str) -> String {
    if let Some(key) = path.strip_prefix("labels.") {
        return format!("labels.{key}");
    }
    let mut json = String::with_capacity(path.len());
    let mut upper = false;
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => in_index = true,
            ']' => in_index = false,
            '_' if !in_index => {
                upper = true;
                continue;
            }
            _ => {}
        }
        if upper {
            json.extend(c.to_uppercase());
            upper = false;
        } else {
            json.push(c);
        }
    }
    json
}

/// A request field (`page_size`, `etag`) as the parameter that carries it over REST.
pub(crate) fn request_param(field: &str) -> String {
    match field {
        "etag" => "If-Match".to_owned(),
        "request_id" => "Idempotency-Key".to_owned(),
        "model_registration_id" => "modelRegistrationId".to_owned(),
        "start_sequence" => "start-sequence".to_owned(),
        "send_initial_state" => "initial-state".to_owned(),
        other if other.starts_with("model_related_information.") => json_path(
            other
                .strip_prefix("model_related_information.")
                .unwrap_or(other),
        ),
        other => other.replace('_', "-"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_paths_are_written_as_the_json_names_them() {
        assert_eq!(
            json_path("model_information.target_environment[10].platform_name"),
            "modelInformation.targetEnvironment[10].platformName"
        );
        assert_eq!(json_path("model_id.model_name"), "modelId.modelName");
        assert_eq!(json_path("labels.team_name"), "labels.team_name");
        assert_eq!(json_path("description"), "description");
    }

    #[test]
    fn request_fields_are_the_parameters_that_carry_them() {
        assert_eq!(request_param("page_size"), "page-size");
        assert_eq!(request_param("order_by"), "order-by");
        assert_eq!(request_param("etag"), "If-Match");
        assert_eq!(request_param("request_id"), "Idempotency-Key");
        assert_eq!(
            request_param("model_related_information.model_id.model_version"),
            "modelId.modelVersion"
        );
    }
}
