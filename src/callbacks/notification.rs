//! One notification: CloudEvents 1.0 in JSON (structured mode; a batch in the JSON batch
//! format), signed as the Standard Webhooks specification says, so that receivers verify it
//! with an existing library.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use ring::hmac;
use serde_json::{Value, json};

use crate::domain::{Event, SigningSecret};
use crate::grpc::model_event;
use crate::pb::json::to_json_line;

/// The events' source: the registry, as its REST base path names it.
pub(crate) const SOURCE: &str = "/ai-ml-model-registration/v1";
/// The type of an event: this prefix and the event type (`…ModelEvent.MODEL_UPDATED`).
pub(crate) const TYPE_PREFIX: &str = "modelregistry.v1.ModelEvent.";
const SINGLE: &str = "application/cloudevents+json";
const BATCH: &str = "application/cloudevents-batch+json";

/// A notification ready to POST, and to POST again unchanged on a retry (its id, the
/// receiver's idempotency key, stays the same).
#[derive(Clone, Debug)]
pub(crate) struct Notification {
    /// `webhook-id`: the sequence of its last event.
    pub(crate) id: String,
    /// The sequence of its last event, acknowledged when the receiver accepts it.
    pub(crate) last_sequence: i64,
    pub(crate) content_type: &'static str,
    pub(crate) body: Vec<u8>,
}

impl Notification {
    /// `events` (at least one) as one notification: a single CloudEvent, or a batch of them
    /// when the subscription opted into batches.
    pub(crate) fn of(events: &[Event], batch: bool) -> Self {
        let last_sequence = events.last().map_or(0, |event| event.sequence);
        let (content_type, body) = if batch {
            let all: Vec<Value> = events.iter().map(cloud_event).collect();
            (BATCH, serde_json::to_vec(&all))
        } else {
            (SINGLE, serde_json::to_vec(&cloud_event(&events[0])))
        };
        Self {
            id: last_sequence.to_string(),
            last_sequence,
            content_type,
            body: body.expect("JSON values serialize"),
        }
    }

    /// The Standard Webhooks headers for a send at `now`: id, timestamp and signature.
    pub(crate) fn signed_headers(
        &self,
        secret: &SigningSecret,
        now: DateTime<Utc>,
    ) -> [(&'static str, String); 3] {
        let timestamp = now.timestamp().to_string();
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.bytes());
        let mut context = hmac::Context::with_key(&key);
        context.update(self.id.as_bytes());
        context.update(b".");
        context.update(timestamp.as_bytes());
        context.update(b".");
        context.update(&self.body);
        let signature = STANDARD.encode(context.sign().as_ref());
        [
            ("webhook-id", self.id.clone()),
            ("webhook-timestamp", timestamp),
            ("webhook-signature", format!("v1,{signature}")),
        ]
    }
}

/// An event as a CloudEvent whose data is the ModelEvent that WatchModels sends.
fn cloud_event(event: &Event) -> Value {
    let data: Value = serde_json::from_str(&to_json_line(
        &model_event(event),
        "modelregistry.v1.ModelEvent",
    ))
    .expect("proto3 JSON is JSON");
    json!({
        "specversion": "1.0",
        "id": event.sequence.to_string(),
        "source": SOURCE,
        "type": format!("{TYPE_PREFIX}{}", event.kind.as_str()),
        "subject": event.registration.id.to_string(),
        "time": event.time.to_rfc3339_opts(SecondsFormat::Micros, true),
        "datacontenttype": "application/json",
        "sequence": event.sequence.to_string(),
        "data": data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signed as the Standard Webhooks project's own library signs (and so verifies).
    #[test]
    fn signature_is_the_standard_webhooks_one() {
        let text = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let mut check = crate::domain::Checker::request();
        let secret = SigningSecret::parse(&mut check, "secret", text).unwrap();
        let notification = Notification {
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek".into(),
            last_sequence: 0,
            content_type: SINGLE,
            body: br#"{"test": 2432232314}"#.to_vec(),
        };
        let at = DateTime::from_timestamp(1_614_265_330, 0).unwrap();
        let [(_, id), (_, timestamp), (_, signature)] = notification.signed_headers(&secret, at);
        assert_eq!(timestamp, "1614265330");
        let reference = standardwebhooks::Webhook::new(text)
            .unwrap()
            .sign(&id, 1_614_265_330, &notification.body)
            .unwrap();
        assert_eq!(signature, reference);
    }

    #[test]
    fn the_secret_is_never_shown_in_debug() {
        let secret = SigningSecret::generate();
        assert!(!format!("{secret:?}").contains(&secret.reveal()[6..12]));
    }
}
