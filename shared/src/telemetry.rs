//! Structured JSON logs. Lines carry the request id and, where known, the account id; they
//! never carry passwords, codes, secrets, tokens or token digests.
//!
//! Other crates log what passes through them below `info`: the Lambda runtime logs every incoming
//! event whole at `trace` (bodies with passwords and codes, `Authorization` headers), the SDK and
//! hyper log requests and responses (items holding token digests). So every crate but this one is
//! held at `info` by a filter of its own that sits beside `RUST_LOG`'s: no directive, however
//! specific (`lambda_runtime::layers=trace`, a span filter), can open it.

use tracing::{Level, Metadata};
use tracing_subscriber::filter::{filter_fn, FilterExt, LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Filter, SubscriberExt};
use tracing_subscriber::Layer;
use tracing_subscriber::Registry;

/// Whether an event may be written at all: this crate's at any level `RUST_LOG` allows, every
/// other crate's at `info` and above only.
pub fn allowed(metadata: &Metadata<'_>) -> bool {
    let own = metadata.target() == "ward" || metadata.target().starts_with("ward::");
    own || *metadata.level() <= Level::INFO
}

/// `RUST_LOG`'s filter: a level, and levels per target (`info,ward=debug`); default `info`, and
/// an unreadable setting also means `info`. (Targets, not EnvFilter: no span or field directives,
/// and no regular expression compiled at every cold start.)
pub fn level_filter(level: &str) -> Targets {
    // Empty parts ("info," or an empty setting) are no directive at all, as they were for
    // EnvFilter; Targets alone would read one as "everything at trace".
    let parts: Vec<&str> = level
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect();
    if parts.is_empty() {
        return Targets::new().with_default(LevelFilter::INFO);
    }
    parts
        .join(",")
        .parse()
        .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO))
}

/// The subscriber of every function, writing JSON lines to `writer` at `level` (a `RUST_LOG`
/// value), with every other crate capped at `info`.
pub fn subscriber<W>(level: &str, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let level = level_filter(level);
    // The cap of other crates knows no level of its own; without this hint the pair would have
    // none, and every span and event of every crate (the SDK has hundreds, most at debug and
    // trace) would be registered and filtered at run time instead of skipped where it stands.
    let hint = Filter::<Registry>::max_level_hint(&level).unwrap_or(LevelFilter::TRACE);
    let lines = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .with_writer(writer)
        .with_filter(level.and(filter_fn(allowed).with_max_level_hint(hint)));
    tracing_subscriber::registry().with(lines)
}

/// Installs the JSON subscriber once per cold start.
pub fn init() {
    let level = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_string());
    if tracing::subscriber::set_global_default(subscriber(&level, std::io::stdout)).is_ok() {
        tracing::debug!(rust_log = level, "logs configured");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn the_subscriber_tells_tracing_its_most_verbose_level() {
        use tracing::Subscriber;
        // So that a callsite below it is skipped where it stands, never registered and filtered.
        let hint = |level: &str| subscriber(level, std::io::sink).max_level_hint();
        assert_eq!(hint("error"), Some(LevelFilter::ERROR));
        assert_eq!(hint("info"), Some(LevelFilter::INFO));
        assert_eq!(hint("ward=debug"), Some(LevelFilter::DEBUG));
        // Empty parts are no directive: neither opens anything at trace.
        assert_eq!(hint(""), Some(LevelFilter::INFO));
        assert_eq!(hint("info,"), Some(LevelFilter::INFO));
        assert_eq!(hint("warn,,ward=debug"), Some(LevelFilter::DEBUG));
    }

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn no_setting_opens_another_crates_debug_or_trace_lines() {
        for level in [
            "trace",
            "info,lambda_runtime=trace",
            "info,lambda_runtime::layers::api_response=trace",
            "info,aws_smithy_runtime=trace,hyper=trace",
            "info,[{body}]=trace",
        ] {
            let lines = Lines::default();
            let writer = lines.clone();
            let subscriber = subscriber(level, move || writer.clone());
            tracing::subscriber::with_default(subscriber, || {
                tracing::trace!(target: "lambda_runtime::layers::api_response", body = "a-password", "raw event");
                tracing::debug!(target: "aws_smithy_runtime::client", body = "a-digest", "response");
                tracing::info!(target: "lambda_runtime", "visible at info");
                tracing::trace!("this crate's own trace line");
            });
            let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
            assert!(
                !text.contains("a-password") && !text.contains("a-digest"),
                "{level}: {text}"
            );
            assert!(text.contains("visible at info"), "{level}: {text}");
            if level == "trace" {
                assert!(text.contains("own trace line"), "{text}");
            }
        }
    }
}
