//! Compact tables for people: one row per model, artifact or event, columns padded to fit;
//! and the one-line form of an event that `models watch` prints as it comes.

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
            let labels: Vec<String> = model
                .labels
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect();
            vec![
                id.model_name,
                id.model_version,
                id.artifact_version,
                model.model_registration_id.clone(),
                platforms.join(","),
                model.aliases.join(","),
                labels.join(","),
                timestamp(model.update_time.as_ref()),
            ]
        })
        .collect();
    render(
        &[
            "NAME",
            "VERSION",
            "ARTIFACT",
            "ID",
            "PLATFORMS",
            "ALIASES",
            "LABELS",
            "UPDATED",
        ],
        rows,
    )
}

pub(super) fn artifacts(artifacts: &[pb::ArtifactInfo]) -> String {
    let rows = artifacts
        .iter()
        .map(|artifact| {
            // A declared artifact's bytes are elsewhere: nothing is known of them here.
            let size = if artifact.external {
                "external".to_owned()
            } else {
                bytesize::ByteSize(artifact.size_bytes)
                    .display()
                    .iec()
                    .to_string()
            };
            vec![
                artifact.artifact_version.clone(),
                size,
                artifact.sha256.chars().take(16).collect(),
                artifact.filename.clone(),
                timestamp(artifact.create_time.as_ref()),
            ]
        })
        .collect();
    render(&["ARTIFACT", "SIZE", "SHA256", "FILENAME", "CREATED"], rows)
}

pub(super) fn events(events: &[pb::ModelEvent]) -> String {
    let rows = events
        .iter()
        .map(|event| {
            let id = event.model_id.clone().unwrap_or_default();
            vec![
                event.sequence.to_string(),
                timestamp(event.event_time.as_ref()),
                event_type(event),
                id.model_name,
                id.model_version,
                event.artifact_version.clone(),
                event.actor.clone(),
                etags(event),
                event.model_registration_id.clone(),
            ]
        })
        .collect();
    render(
        &[
            "SEQUENCE", "TIME", "TYPE", "NAME", "VERSION", "ARTIFACT", "ACTOR", "ETAG", "ID",
        ],
        rows,
    )
}

pub(super) fn subscriptions(subscriptions: &[pb::Subscription]) -> String {
    let rows = subscriptions
        .iter()
        .map(|subscription| {
            let filter = subscription.filter.clone().unwrap_or_default();
            let state = match pb::DeliveryState::try_from(subscription.state) {
                Ok(pb::DeliveryState::Failing) => "FAILING",
                _ => "HEALTHY",
            };
            vec![
                subscription.subscription_id.clone(),
                subscription.notification_destination.clone(),
                or_any(&filter.model_name),
                or_any(&filter.model_version),
                subscription.acknowledged_sequence.to_string(),
                subscription.lag_events.to_string(),
                state.to_owned(),
                subscription.last_error.clone(),
            ]
        })
        .collect();
    render(
        &[
            "ID",
            "DESTINATION",
            "NAME",
            "VERSION",
            "ACKED",
            "LAG",
            "STATE",
            "LAST ERROR",
        ],
        rows,
    )
}

fn or_any(text: &str) -> String {
    if text.is_empty() { "*" } else { text }.to_owned()
}

/// One event on one line, as `models watch` prints it:
/// `SEQUENCE TIME TYPE NAME VERSION [artifact A] [@ALIAS [from VERSION]] by ACTOR etag
/// BEFORE->AFTER ID`.
pub(super) fn event_line(event: &pb::ModelEvent) -> String {
    let id = event.model_id.clone().unwrap_or_default();
    let mut line = format!(
        "{}  {}  {}",
        event.sequence,
        timestamp(event.event_time.as_ref()),
        event_type(event)
    );
    if event.initial {
        // Not a change: the model as the initial state found it.
        line.push_str(" (initial)");
    }
    line.push_str(&format!("  {} {}", id.model_name, id.model_version));
    if !event.artifact_version.is_empty() {
        line.push_str(&format!("  artifact {}", event.artifact_version));
    }
    if !event.alias.is_empty() {
        line.push_str(&format!("  @{}", event.alias));
        if !event.previous_model_version.is_empty() {
            line.push_str(&format!(" from {}", event.previous_model_version));
        }
    }
    if !event.actor.is_empty() {
        line.push_str(&format!("  by {}", event.actor));
    }
    line.push_str(&format!(
        "  etag {}  {}",
        etags(event),
        event.model_registration_id
    ));
    line
}

/// `MODEL_UPDATED`, or the number of a type this client does not know.
fn event_type(event: &pb::ModelEvent) -> String {
    pb::EventType::try_from(event.r#type)
        .map(|kind| kind.as_str_name().to_owned())
        .unwrap_or_else(|_| event.r#type.to_string())
}

/// The etag change, `none` on the side that has none (before a registration, after a
/// deletion).
fn etags(event: &pb::ModelEvent) -> String {
    let side = |etag: &str| {
        if etag.is_empty() {
            "none".to_owned()
        } else {
            etag.to_owned()
        }
    };
    format!("{}->{}", side(&event.etag_before), side(&event.etag_after))
}

/// RFC 3339 to the second, UTC.
fn timestamp(time: Option<&prost_types::Timestamp>) -> String {
    time.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}
