//! Structured JSON logs. Lines carry the request id and, where known, the account id; they
//! never carry passwords, codes, secrets, tokens or token digests.

/// Installs the JSON subscriber once per cold start. The level comes from `RUST_LOG` (default info).
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .try_init();
}
