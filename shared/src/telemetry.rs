//! Structured JSON logs. Lines carry the request id and, where known, the account id; they
//! never carry passwords, codes, secrets, tokens or token digests.

use tracing_subscriber::EnvFilter;

/// Crates that log wire traffic (item contents, keys holding token digests) below `info`. They are
/// held at `info` whatever `RUST_LOG` says, so that no level setting can put a secret in a log.
const WIRE_LEVEL_CRATES: [&str; 11] = [
    "aws_config",
    "aws_runtime",
    "aws_sigv4",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "aws_sdk_dynamodb",
    "aws_sdk_secretsmanager",
    "hyper",
    "hyper_util",
    "h2",
];

/// The filter of every function: `level` (from `RUST_LOG`, default info) with the wire crates capped.
pub fn filter(level: &str) -> EnvFilter {
    let mut filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    for name in WIRE_LEVEL_CRATES {
        if let Ok(directive) = format!("{name}=info").parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// Installs the JSON subscriber once per cold start.
pub fn init() {
    let level = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_string());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter(&level))
        .with_current_span(false)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .try_init();
}
