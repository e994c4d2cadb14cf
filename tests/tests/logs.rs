#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! No secret in any log line or security log entry. Alone in its test binary: tracing caches
//! which call sites are enabled, and tests on other threads without the capturing subscriber
//! would blind it.

use serde_json::{json, Value};
use ward::http::routes as handlers;
use ward_tests::{app, capture_logs, parts, request, unique_login};

#[tokio::test]
async fn no_password_code_secret_or_token_reaches_a_log_line_or_an_event() {
    let app = app().await;
    let login = unique_login("logs");
    let password = "a very particular passphrase 42";
    let mut secrets: Vec<String> = vec![password.into(), "another particular passphrase".into()];
    let mut events = Value::Null;
    let logs = capture_logs(async {
        let post = |path: &str, body: Value, bearer: Option<&str>| {
            request("POST", path, Some(body), bearer)
        };
        let credentials = json!({ "login": login, "password": password });
        handlers::sign_up(&app, post("/v1/accounts", credentials.clone(), None))
            .await
            .unwrap();
        let wrong = json!({ "login": login, "password": "another particular passphrase" });
        handlers::sign_in(&app, post("/v1/sign-in", wrong, None))
            .await
            .unwrap();
        let (_, body) = parts(
            handlers::sign_in(&app, post("/v1/sign-in", credentials.clone(), None))
                .await
                .unwrap(),
        );
        let session = body["session_token"].as_str().unwrap().to_string();
        let bearer = Some(session.as_str());

        let (status, setup) = parts(
            handlers::setup(
                &app,
                post(
                    "/v1/two-factor/setup",
                    json!({ "password": password }),
                    bearer,
                ),
            )
            .await
            .unwrap(),
        );
        assert_eq!(status, 200);
        let secret_text = setup["secret"].as_str().unwrap().to_string();
        let secret = data_encoding::BASE32_NOPAD
            .decode(secret_text.as_bytes())
            .unwrap();
        let step = ward::Now::current().secs() / 30;
        let confirming = ward::crypto::totp::code_at_step(&secret, step).unwrap();
        let (status, enabled) = parts(
            handlers::setup_verify(
                &app,
                post(
                    "/v1/two-factor/setup/verify",
                    json!({ "code": confirming }),
                    bearer,
                ),
            )
            .await
            .unwrap(),
        );
        assert_eq!(status, 200);
        let first_set: Vec<String> = enabled["recovery_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();

        let (_, challenge) = parts(
            handlers::sign_in(&app, post("/v1/sign-in", credentials.clone(), None))
                .await
                .unwrap(),
        );
        let mfa = challenge["mfa_token"].as_str().unwrap().to_string();
        let next = ward::crypto::totp::code_at_step(&secret, step + 1).unwrap();
        handlers::verify_code(
            &app,
            post(
                "/v1/sign-in/verify",
                json!({ "mfa_token": mfa, "code": "999999" }),
                None,
            ),
        )
        .await
        .unwrap();
        let (status, by_code) = parts(
            handlers::verify_code(
                &app,
                post(
                    "/v1/sign-in/verify",
                    json!({ "mfa_token": mfa, "code": next }),
                    None,
                ),
            )
            .await
            .unwrap(),
        );
        assert_eq!(status, 200);
        let (_, challenge) = parts(
            handlers::sign_in(&app, post("/v1/sign-in", credentials.clone(), None))
                .await
                .unwrap(),
        );
        let mfa_2 = challenge["mfa_token"].as_str().unwrap().to_string();
        let (status, by_recovery) = parts(
            handlers::verify_code(
                &app,
                post(
                    "/v1/sign-in/verify",
                    json!({ "mfa_token": mfa_2, "recovery_code": first_set[0] }),
                    None,
                ),
            )
            .await
            .unwrap(),
        );
        assert_eq!(status, 200);

        let confirm = json!({ "password": password });
        handlers::recovery_view(
            &app,
            post(
                "/v1/two-factor/recovery-codes/view",
                confirm.clone(),
                bearer,
            ),
        )
        .await
        .unwrap();
        let (_, regenerated) = parts(
            handlers::recovery_regenerate(
                &app,
                post(
                    "/v1/two-factor/recovery-codes/regenerate",
                    confirm.clone(),
                    bearer,
                ),
            )
            .await
            .unwrap(),
        );
        let (status, _) = parts(
            handlers::disable(&app, post("/v1/two-factor/disable", confirm, bearer))
                .await
                .unwrap(),
        );
        assert_eq!(status, 200);
        let (_, listed) = parts(
            handlers::account_events(&app, request("GET", "/v1/account/events", None, bearer))
                .await
                .unwrap(),
        );
        events = listed;
        handlers::sign_out(&app, request("POST", "/v1/sign-out", None, bearer))
            .await
            .unwrap();

        secrets.extend([
            secret_text.clone(),
            secret_text.to_lowercase(),
            confirming,
            next,
        ]);
        for token in [session, mfa, mfa_2] {
            secrets.push(ward::crypto::random::digest(&token));
            secrets.push(token);
        }
        for answer in [&by_code, &by_recovery] {
            let token = answer["session_token"].as_str().unwrap().to_string();
            secrets.push(ward::crypto::random::digest(&token));
            secrets.push(token);
        }
        let second_set = regenerated["recovery_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string());
        for code in first_set.iter().cloned().chain(second_set) {
            secrets.push(code.to_string());
            secrets.push(code.replace('-', ""));
        }
    })
    .await;

    assert!(
        logs.contains("two-factor authentication enabled"),
        "the flow was logged"
    );
    let kinds: Vec<_> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"recovery_code_used") && kinds.contains(&"two_factor_failed"),
        "{kinds:?}"
    );
    let events_text = events.to_string();
    assert!(secrets.len() > 40);
    for secret in &secrets {
        for line in logs.lines() {
            assert!(
                !line.contains(secret.as_str()),
                "a log line holds a secret: {line}"
            );
        }
        assert!(
            !events_text.contains(secret.as_str()),
            "an event holds a secret"
        );
    }
    for line in logs.lines() {
        serde_json::from_str::<Value>(line).expect("every log line is JSON");
    }
}
