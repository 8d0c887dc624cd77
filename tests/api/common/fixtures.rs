//! What tests register and how they check failures: a valid R1AP model, its environments, and
//! the AIP-193 details of an error.

use modelreg::pb;

/// A valid R1AP model with `environments` target environments named `platform-0`, ….
pub fn model(name: &str, version: &str, environments: usize) -> pb::ModelRelatedInformation {
    pb::ModelRelatedInformation {
        model_id: Some(pb::ModelId {
            model_name: name.into(),
            model_version: version.into(),
            artifact_version: String::new(),
        }),
        description: format!("{name} {version}"),
        model_information: Some(pb::ModelInformation {
            metadata: Some(pb::Metadata {
                author: "alice".into(),
                owner: "ran-team".into(),
            }),
            input_data_type: vec!["pdcpBytesDl,pdcpBytesUl".into(), "rsrp".into()],
            output_data_type: vec!["qoe".into()],
            target_environment: (0..environments)
                .map(|i| environment(&format!("platform-{i}")))
                .collect(),
        }),
        model_location: format!("s3://models/{name}/{version}.zip"),
        ..Default::default()
    }
}

pub fn environment(platform: &str) -> pb::TargetEnvironment {
    pb::TargetEnvironment {
        platform_name: platform.into(),
        environment_type: "onnx".into(),
        dependency_list: "numpy,onnxruntime".into(),
    }
}

pub fn environments_of(info: &pb::ModelRelatedInformation) -> Vec<String> {
    info.model_information
        .as_ref()
        .map(|i| {
            i.target_environment
                .iter()
                .map(|e| e.platform_name.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts the code and the AIP-193 ErrorInfo of a failed call; returns the details.
pub fn assert_error(
    status: &tonic::Status,
    code: tonic::Code,
    reason: &str,
) -> tonic_types::ErrorDetails {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), code, "unexpected status: {status:?}");
    let details = status.get_error_details();
    let info = details
        .error_info()
        .unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    assert_eq!(info.reason, reason);
    assert_eq!(info.domain, "modelregistry");
    details
}

/// The fields named by the BadRequest of an INVALID_ARGUMENT answer.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    let details = assert_error(status, tonic::Code::InvalidArgument, "INVALID_ARGUMENT");
    details
        .bad_request()
        .expect("BadRequest details")
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect()
}
