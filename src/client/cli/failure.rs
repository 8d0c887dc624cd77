//! How the CLI fails: one line with the gRPC code and message, then each violated field of a
//! `google.rpc.BadRequest` on a line of its own; a refused connection names the address tried
//! and how to change it.

use std::fmt;

use tonic_types::StatusExt;

use crate::client::ConnectError;
use crate::pb::code_name;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("{}", status_lines(.0))]
    Rpc(#[from] tonic::Status),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Verification(String),
    #[error("{}\nthe bytes received so far are kept in {partial}; --resume continues from them", status_lines(.status))]
    Interrupted {
        status: tonic::Status,
        partial: String,
    },
    /// The server's log cannot continue a watch from where it was: a silent jump would skip
    /// changes, so the user decides.
    #[error(
        "{}\nhint: the watch cannot continue after sequence {sequence}; start it again with \
         --initial (the current state, then every change after it)",
        status_lines(.status)
    )]
    CannotResume {
        status: tonic::Status,
        sequence: i64,
    },
    /// The watch broke, and --max-reconnects attempts in a row brought nothing.
    #[error("{last}\nno more reconnect attempts (--max-reconnects {attempts})")]
    GaveUp { attempts: u32, last: String },
}

impl CliError {
    /// What to print on stderr: the error, and for a refused connection how to point elsewhere.
    pub fn report(&self) -> String {
        match self {
            CliError::Connect(ConnectError::Unreachable { server, source }) => format!(
                "error: cannot connect to {server}: {}\n\
                 hint: start the server there, or name another one with --server URL or \
                 MODELREG_SERVER=URL; for https:// servers, trust its CA with --ca-cert FILE",
                root_cause(source)
            ),
            other => format!("error: {other}"),
        }
    }
}

fn status_lines(status: &tonic::Status) -> String {
    let mut text = format!("{}: {}", code_name(status.code()), status.message());
    if let Some(bad_request) = status.get_details_bad_request() {
        for violation in bad_request.field_violations {
            text.push_str(&format!(
                "\n  {}: {}",
                violation.field, violation.description
            ));
        }
    }
    text
}

/// The innermost error: "Connection refused (os error 111)" rather than "transport error".
pub(super) fn root_cause<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl fmt::Display + 'a {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause
}
