//! Compact tables for people: one row per model or artifact, columns padded to fit.

use crate::pb;

/// Renders rows under a header, each column as wide as its widest cell.
fn render(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join("  ").trim_end().to_owned() + "\n"
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

pub(super) fn models(models: &[pb::ModelRelatedInformation]) -> String {
    let rows = models
        .iter()
        .map(|model| {
            let id = model.model_id.clone().unwrap_or_default();
            let platforms: Vec<&str> = model
                .model_information
                .iter()
                .flat_map(|info| &info.target_environment)
                .map(|environment| environment.platform_name.as_str())
                .collect();
            vec![
                id.model_name,
                id.model_version,
                id.artifact_version,
                model.model_registration_id.clone(),
                platforms.join(","),
                timestamp(model.update_time.as_ref()),
            ]
        })
        .collect();
    render(
        &["NAME", "VERSION", "ARTIFACT", "ID", "PLATFORMS", "UPDATED"],
        rows,
    )
}

pub(super) fn artifacts(artifacts: &[pb::ArtifactInfo]) -> String {
    let rows = artifacts
        .iter()
        .map(|artifact| {
            vec![
                artifact.artifact_version.clone(),
                bytesize::ByteSize(artifact.size_bytes)
                    .display()
                    .iec()
                    .to_string(),
                artifact.sha256.chars().take(16).collect(),
                artifact.filename.clone(),
                timestamp(artifact.create_time.as_ref()),
            ]
        })
        .collect();
    render(&["ARTIFACT", "SIZE", "SHA256", "FILENAME", "CREATED"], rows)
}

/// RFC 3339 to the second, UTC.
fn timestamp(time: Option<&prost_types::Timestamp>) -> String {
    time.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}
