#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! No secret in any line that any process writes, with the functions at `RUST_LOG=trace` and the
//! Lambda runtime in the path: `make test` serves a second `cargo lambda watch` whose functions log
//! at trace (`WARD_TRACE_API_URL`) and names its log and the emulator's (`WARD_TRACE_LOGS`). The
//! journey runs every route on every path through it; then every line of those files is searched
//! for every password, code, secret, token and token digest the journey sent or received.

use std::time::Duration;

fn trace_stack() -> (String, Vec<String>) {
    let url = std::env::var("WARD_TRACE_API_URL")
        .expect("WARD_TRACE_API_URL is set by `make test`, which serves the functions at trace");
    let logs = std::env::var("WARD_TRACE_LOGS").unwrap();
    (url, logs.split(':').map(str::to_string).collect())
}

fn read_all(files: &[String]) -> String {
    files
        .iter()
        .map(|file| {
            let bytes = std::fs::read(file).unwrap_or_else(|error| panic!("{file}: {error}"));
            String::from_utf8_lossy(&bytes).into_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn no_line_of_any_process_holds_a_secret_with_the_functions_at_trace() {
    let (url, files) = trace_stack();
    let mut secrets = ward_tests::journey::every_path(&url).await;
    secrets.push(ward_tests::PASSWORD.to_string());
    secrets.push("not the password".to_string());
    secrets.sort();
    secrets.dedup();
    // The last lines of a function reach the file a moment after its answer.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let text = read_all(&files);

    assert!(
        text.contains("\"rust_log\":\"trace\""),
        "the functions logged at trace"
    );
    for function in [
        "sign-in",
        "verify-code",
        "setup-verify",
        "token-create",
        "authorizer",
    ] {
        assert!(
            text.contains(function),
            "{function} ran through this instance"
        );
    }
    assert!(secrets.len() > 60, "{} secrets", secrets.len());
    // A six-digit code is looked for as a value (after a quote, as a logged body holds it), so
    // that the digits of a timestamp or request id cannot match it by chance.
    let needles: Vec<String> = secrets
        .iter()
        .filter(|secret| !["000000", "123456"].contains(&secret.as_str()))
        .map(|secret| {
            if secret.len() == 6 && secret.bytes().all(|b| b.is_ascii_digit()) {
                format!("\"{secret}")
            } else {
                secret.clone()
            }
        })
        .collect();
    let mut found = Vec::new();
    for line in text.lines() {
        for secret in &needles {
            if line.contains(secret.as_str()) {
                found.push(format!("{secret:.12}… in: {line:.300}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "{} lines hold a secret:\n{}",
        found.len(),
        found.join("\n")
    );
}
