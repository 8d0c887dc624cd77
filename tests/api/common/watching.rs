//! A watch stream as tests read it: the next message within a timeout, events without the
//! heartbeats, the status the stream ended with.

use std::time::Duration;

use modelreg::pb::{
    self, model_event_service_client::ModelEventServiceClient, watch_models_response::Message,
};
use tonic::transport::Channel;

/// Longer than any wait a test means to make.
const WAIT: Duration = Duration::from_secs(15);

pub struct Watching {
    stream: tonic::Streaming<pb::WatchModelsResponse>,
}

impl Watching {
    pub async fn start(
        client: &ModelEventServiceClient<Channel>,
        request: pb::WatchModelsRequest,
    ) -> Result<Self, tonic::Status> {
        let stream = client.clone().watch_models(request).await?.into_inner();
        Ok(Self { stream })
    }

    /// Watches every change from now on.
    pub async fn everything(client: &ModelEventServiceClient<Channel>) -> Self {
        Self::start(client, pb::WatchModelsRequest::default())
            .await
            .expect("a watch")
    }

    /// Watches every change after `sequence` (a list's, or the last one seen).
    pub async fn after(
        client: &ModelEventServiceClient<Channel>,
        sequence: i64,
    ) -> Result<Self, tonic::Status> {
        let request = pb::WatchModelsRequest {
            start_sequence: Some(sequence),
            ..Default::default()
        };
        Self::start(client, request).await
    }

    /// The next message; panics when the stream ends or fails, or nothing comes in time.
    pub async fn next(&mut self) -> Message {
        match self.try_next(WAIT).await {
            Ok(Some(message)) => message,
            Ok(None) => panic!("nothing came within {WAIT:?}"),
            Err(status) => panic!("the watch failed: {status:?}"),
        }
    }

    /// The next message within `wait`: `Ok(None)` when none came.
    pub async fn try_next(&mut self, wait: Duration) -> Result<Option<Message>, tonic::Status> {
        match tokio::time::timeout(wait, self.stream.message()).await {
            Err(_) => Ok(None),
            Ok(Ok(Some(response))) => Ok(Some(response.message.expect("a message"))),
            Ok(Ok(None)) => Err(tonic::Status::ok("the stream ended without a status")),
            Ok(Err(status)) => Err(status),
        }
    }

    /// The next event, past heartbeats.
    pub async fn next_event(&mut self) -> pb::ModelEvent {
        loop {
            match self.next().await {
                Message::Event(event) => return event,
                Message::Heartbeat(_) => continue,
                other => panic!("an event was expected, not {other:?}"),
            }
        }
    }

    pub async fn events(&mut self, count: usize) -> Vec<pb::ModelEvent> {
        let mut events = Vec::with_capacity(count);
        for _ in 0..count {
            events.push(self.next_event().await);
        }
        events
    }

    /// Reads until the stream fails; the status it failed with.
    pub async fn failure(&mut self) -> tonic::Status {
        let deadline = tokio::time::Instant::now() + 4 * WAIT;
        loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the stream still goes on after {:?}",
                4 * WAIT
            );
            match self.try_next(WAIT).await {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("the stream did not end within {WAIT:?}"),
                Err(status) => return status,
            }
        }
    }

    /// Asserts that no event comes within `wait` (heartbeats may).
    pub async fn assert_quiet(&mut self, wait: Duration) {
        let until = tokio::time::Instant::now() + wait;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            match self.try_next(left).await {
                Ok(None) => return,
                Ok(Some(Message::Heartbeat(_))) => continue,
                Ok(Some(other)) => panic!("nothing was expected, not {other:?}"),
                Err(status) => panic!("the watch failed: {status:?}"),
            }
        }
    }
}

pub fn event_type(event: &pb::ModelEvent) -> pb::EventType {
    pb::EventType::try_from(event.r#type).expect("a known event type")
}

pub fn name_of(event: &pb::ModelEvent) -> &str {
    &event.model_id.as_ref().expect("a model id").model_name
}
