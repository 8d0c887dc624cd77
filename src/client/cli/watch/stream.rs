//! One WatchModels call at a time: where it starts, what it prints, and whether the way it
//! broke is something a reconnect mends.

use std::io::Write;

use tonic::Code;
use tonic_types::StatusExt;

use crate::client::cli::failure::root_cause;
use crate::client::cli::{CliError, Output, json, table};
use crate::client::{ConnectError, Connection};
use crate::pb::{
    self, code_name, model_event_service_client::ModelEventServiceClient,
    watch_models_response::Message,
};

/// Where the next WatchModels call starts.
#[derive(Clone, Copy, Debug)]
pub(super) enum Resume {
    /// With the initial state: asked until its marker has arrived.
    InitialState,
    /// After this sequence: every event up to it was printed or did not match (0: a registry
    /// that had never changed).
    After(i64),
}

/// Why a watch ends for good.
pub(super) enum Stop {
    Failed(CliError),
    /// Whoever read stdout went away (`| head`): nothing left to do.
    ReaderGone,
}

impl From<tonic::Status> for Stop {
    fn from(status: tonic::Status) -> Self {
        Stop::Failed(status.into())
    }
}

impl From<ConnectError> for Stop {
    fn from(err: ConnectError) -> Self {
        Stop::Failed(err.into())
    }
}

/// A stream that broke in a way a reconnect can mend.
pub(super) struct Interruption {
    pub(super) reason: String,
    /// The stream brought at least one message: the server was there and serving.
    pub(super) progressed: bool,
}

pub(super) struct Watch {
    /// The filters; the start is set from `resume` on every call.
    request: pb::WatchModelsRequest,
    output: Output,
    resume: Resume,
    /// The initial state received so far: printed once its marker arrives, so that a stream
    /// broken in the middle of it starts it over without printing anything twice.
    initial: Vec<pb::ModelEvent>,
}

impl Watch {
    pub(super) fn new(request: pb::WatchModelsRequest, output: Output, resume: Resume) -> Self {
        Self {
            request,
            output,
            resume,
            initial: Vec::new(),
        }
    }

    /// One WatchModels call, followed until it breaks.
    pub(super) async fn once(
        &mut self,
        channel: Connection,
        reconnect: bool,
    ) -> Result<Interruption, Stop> {
        let mut request = self.request.clone();
        match self.resume {
            Resume::InitialState => request.send_initial_state = true,
            Resume::After(sequence) => request.start_sequence = Some(sequence),
        }
        self.initial.clear();
        let mut stream = match ModelEventServiceClient::new(channel)
            .watch_models(request)
            .await
        {
            Ok(response) => response.into_inner(),
            Err(status) => return self.interrupted(status, false),
        };
        if reconnect {
            eprintln!("reconnected: watching {}", self.resume_note());
        } else if self.output == Output::Table && matches!(self.resume, Resume::After(_)) {
            // The sequence to give --since to resume later; the initial state has its marker.
            eprintln!("watching {}; Ctrl-C stops", self.resume_note());
        }
        let mut progressed = false;
        loop {
            let message = match stream.message().await {
                Ok(Some(response)) => response.message,
                Ok(None) => {
                    return Ok(Interruption {
                        reason: "the server ended the stream".into(),
                        progressed,
                    });
                }
                Err(status) => return self.interrupted(status, progressed),
            };
            progressed = true;
            match message {
                Some(Message::Event(event)) => self.event(event)?,
                Some(Message::InitialStateComplete(marker)) => self.complete(marker.sequence)?,
                Some(Message::Heartbeat(heartbeat)) => self.advance(heartbeat.sequence),
                // A kind of message newer than this client: nothing to print or resume from.
                None => {}
            }
        }
    }

    fn event(&mut self, event: pb::ModelEvent) -> Result<(), Stop> {
        match self.resume {
            Resume::InitialState => self.initial.push(event),
            Resume::After(_) => {
                self.print(&event)?;
                self.advance(event.sequence);
            }
        }
        Ok(())
    }

    fn complete(&mut self, sequence: i64) -> Result<(), Stop> {
        for event in std::mem::take(&mut self.initial) {
            self.print(&event)?;
        }
        self.resume = Resume::After(sequence);
        if self.output == Output::Table {
            eprintln!("initial state complete at sequence {sequence}; changes follow");
        }
        Ok(())
    }

    /// Everything up to `sequence` has been seen (printed, or it did not match).
    fn advance(&mut self, sequence: i64) {
        if let Resume::After(after) = &mut self.resume {
            *after = (*after).max(sequence);
        }
    }

    fn print(&self, event: &pb::ModelEvent) -> Result<(), Stop> {
        let line = match self.output {
            Output::Json => json::to_json_line(event, json::EVENT),
            Output::Table => table::event_line(event),
        };
        // Stdout is line-buffered: each event is out as soon as it is printed.
        writeln!(std::io::stdout().lock(), "{line}").map_err(|source| match source.kind() {
            std::io::ErrorKind::BrokenPipe => Stop::ReaderGone,
            _ => Stop::Failed(CliError::Io {
                path: "stdout".into(),
                source,
            }),
        })
    }

    /// Sorts a failed call: what a reconnect mends, and what ends the watch.
    fn interrupted(
        &mut self,
        status: tonic::Status,
        progressed: bool,
    ) -> Result<Interruption, Stop> {
        let reason = status
            .get_details_error_info()
            .map(|info| info.reason)
            .unwrap_or_default();
        let retry = match status.code() {
            // The log cannot go on from here: resuming elsewhere would skip changes or print
            // them twice. (This client's own OUT_OF_RANGE, a message too large, has no reason.)
            Code::OutOfRange
                if matches!(reason.as_str(), "SEQUENCE_EXPIRED" | "SEQUENCE_AHEAD") =>
            {
                return Err(Stop::Failed(CliError::CannotResume {
                    sequence: self.position(),
                    status,
                }));
            }
            Code::Unavailable => true,
            Code::ResourceExhausted => reason == "WATCHER_TOO_SLOW",
            // A status with a source was made by this client from a broken connection, not
            // sent by the server.
            _ => std::error::Error::source(&status).is_some(),
        };
        if !retry {
            return Err(status.into());
        }
        // Everything the server sent before its status has arrived: its last sequence also
        // counts the events that did not match.
        if let Some(last) = status
            .get_details_error_info()
            .and_then(|info| info.metadata.get("last_sequence")?.parse().ok())
        {
            self.advance(last);
        }
        let reason = match std::error::Error::source(&status) {
            Some(_) => format!("connection lost: {}", root_cause(&status)),
            None => format!("{}: {}", code_name(status.code()), status.message()),
        };
        Ok(Interruption { reason, progressed })
    }

    fn position(&self) -> i64 {
        match self.resume {
            Resume::InitialState => 0,
            Resume::After(sequence) => sequence,
        }
    }

    pub(super) fn resume_note(&self) -> String {
        match self.resume {
            Resume::InitialState => "with the initial state".into(),
            Resume::After(sequence) => format!("changes after sequence {sequence}"),
        }
    }
}
