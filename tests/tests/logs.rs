#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! No secret in any log line. Alone in its test binary: tracing caches which call sites are
//! enabled, and tests on other threads without the capturing subscriber would blind it.

use serde_json::json;
use ward::handlers;
use ward_tests::{app, capture_logs, parts, request, unique_login};

#[tokio::test]
async fn no_password_or_token_reaches_a_log_line() {
    let app = app().await;
    let login = unique_login("logs");
    let password = "a very particular passphrase 42";
    let mut tokens = Vec::new();
    let logs = capture_logs(async {
        let credentials = json!({ "login": login, "password": password });
        handlers::sign_up(
            &app,
            request("POST", "/v1/accounts", Some(credentials.clone()), None),
        )
        .await
        .unwrap();
        let wrong = json!({ "login": login, "password": "another particular passphrase" });
        handlers::sign_in(&app, request("POST", "/v1/sign-in", Some(wrong), None))
            .await
            .unwrap();
        let (_, body) = parts(
            handlers::sign_in(
                &app,
                request("POST", "/v1/sign-in", Some(credentials), None),
            )
            .await
            .unwrap(),
        );
        let token = body["session_token"].as_str().unwrap().to_string();
        handlers::account(&app, request("GET", "/v1/account", None, Some(&token)))
            .await
            .unwrap();
        handlers::whoami(&app, request("GET", "/v1/whoami", None, Some(&token)))
            .await
            .unwrap();
        handlers::sign_out(&app, request("POST", "/v1/sign-out", None, Some(&token)))
            .await
            .unwrap();
        tokens.push(token);
    })
    .await;
    assert!(logs.contains("signed in"), "the flow was logged: {logs}");
    let token = &tokens[0];
    for secret in [
        password,
        "another particular passphrase",
        token.as_str(),
        &ward::token::digest(token),
    ] {
        for line in logs.lines() {
            assert!(!line.contains(secret), "a log line holds a secret: {line}");
        }
    }
    for line in logs.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("every log line is JSON");
    }
}
