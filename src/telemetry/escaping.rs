//! Every field value is written with its control characters escaped (`\n`, `\u{1b}`): values
//! that callers choose (a model name, a header, an error that quotes a request) can neither
//! start a forged line nor send a terminal escape sequence.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::Writer;

/// Formats fields as the default formatter does (`message`, then `name=value` separated by
/// spaces, errors with their sources), with control characters escaped.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct EscapedFields;

impl<'a> MakeVisitor<Writer<'a>> for EscapedFields {
    type Visitor = EscapingVisitor<'a>;

    fn make_visitor(&self, writer: Writer<'a>) -> Self::Visitor {
        EscapingVisitor {
            writer,
            first: true,
            result: Ok(()),
        }
    }
}

pub(crate) struct EscapingVisitor<'a> {
    writer: Writer<'a>,
    first: bool,
    result: fmt::Result,
}

impl EscapingVisitor<'_> {
    fn write(&mut self, field: &Field, value: fmt::Arguments<'_>) {
        let name = field.name();
        // Metadata of `log` records, which the formatter prints already, and the names and
        // kinds of spans that only OpenTelemetry reads.
        if self.result.is_err() || name.starts_with("log.") || name.starts_with("otel.") {
            return;
        }
        let separator = if self.first { "" } else { " " };
        self.first = false;
        self.result = match name {
            "message" => write!(self.writer, "{separator}"),
            name => write!(self.writer, "{separator}{}=", name.trim_start_matches("r#")),
        }
        .and_then(|()| Escaping(&mut self.writer).write_fmt(value));
    }
}

impl Visit for EscapingVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.write(field, format_args!("{value}"));
        } else {
            self.write(field, format_args!("{value:?}"));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            let _ = write!(text, ": {cause}");
            source = cause.source();
        }
        self.write(field, format_args!("{text}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write(field, format_args!("{value:?}"));
    }
}

impl VisitOutput<fmt::Result> for EscapingVisitor<'_> {
    fn finish(self) -> fmt::Result {
        self.result
    }
}

impl VisitFmt for EscapingVisitor<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        &mut self.writer
    }
}

/// Writes through to the log line, with every control character written as its escape. Text
/// without any (nearly all of it) is written as it comes, without a copy.
struct Escaping<'w, 'a>(&'w mut Writer<'a>);

impl fmt::Write for Escaping<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        // C0 controls, DEL, and the lead byte of U+0080..U+00BF (the C1 controls among them).
        let suspect = |byte: u8| byte < 0x20 || byte == 0x7f || byte == 0xc2;
        if !text.bytes().any(suspect) {
            return self.0.write_str(text);
        }
        for c in text.chars() {
            if c.is_control() {
                write!(self.0, "{}", c.escape_default())?;
            } else {
                self.0.write_char(c)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn logged(log: impl FnOnce()) -> String {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(EscapedFields)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn a_caller_chosen_value_cannot_forge_a_line_or_an_escape() {
        let forged = "qoe\n2026-01-01T00:00:00Z  INFO forged: admin logged in\u{1b}[2J\u{85}©";
        let text = logged(|| {
            let span = tracing::info_span!("rpc", principal = %forged);
            let _entered = span.enter();
            tracing::info!(model = %forged, debug = ?forged, "seen {forged}");
        });
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("qoe\\n2026"), "{text}");
        assert!(text.contains("principal=qoe\\n"), "{text}");
        assert!(text.contains("model=qoe\\n"), "{text}");
        assert!(text.contains("seen qoe\\n"), "{text}");
        // A C1 control (NEL) is escaped; other Latin-1 text is not.
        assert!(text.contains("\\u{85}©"), "{text}");
    }

    #[test]
    fn fields_read_as_the_default_formatter_writes_them() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] io::Error);
        let err = Outer(io::Error::other("inner"));
        let text = logged(|| {
            tracing::warn!(
                count = 3,
                name = "x",
                error = &err as &dyn std::error::Error,
                "hello"
            );
        });
        assert!(
            text.contains("hello count=3 name=\"x\" error=outer: inner"),
            "{text}"
        );
    }
}
