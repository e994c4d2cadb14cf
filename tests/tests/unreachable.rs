#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The database and the key secret's store gone: every route answers the contract's
//! `503 service_unavailable` within 10 seconds, for a port that drops every connection and for one
//! that accepts and never answers, and nothing is changed. The state each request needs (sessions,
//! an mfa_token, a pending setup) is made on the emulator first; the requests then go to an app
//! whose DynamoDB and Secrets Manager clients both talk to the dead port.

use lambda_http::RequestExt;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use ward::http::routes as handlers;
use ward::Now;
use ward_tests::{app, parts, request, PASSWORD};

/// A port that accepts each connection and closes it at once.
async fn dropping() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(stream);
        }
    });
    format!("http://{address}")
}

/// A port that accepts connections and never answers on them.
async fn silent() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    format!("http://{address}")
}

/// An app, as a function builds it, whose every AWS call goes to `endpoint`.
fn app_with_every_call_at(endpoint: &str) -> ward::App {
    let sdk = ward::app::sdk_config_from("ward-tests", |name| {
        if name == "AWS_ENDPOINT_URL" {
            Some(endpoint.to_string())
        } else {
            std::env::var(name).ok()
        }
    })
    .unwrap();
    ward::App::new(ward_tests::config(), &sdk)
}

async fn every_route_is_503_within_10_s(endpoint: &str) {
    let live = app().await;
    let now = Now::current();
    let signed_in = ward_tests::signed_in_account(&live, "gone", now).await;
    let enrolled = ward_tests::enrolled_account(&live, "gone-2fa", now).await;
    let mfa_token = ward_tests::mfa_token(&live, &enrolled.login, now).await;
    let token = ward_tests::access_token(&live, &signed_in.session, "gone", now).await;
    let session = signed_in.session_token.as_str();
    let two_factor = enrolled.session_token.as_str();
    let password = json!({ "password": PASSWORD });
    let dead = app_with_every_call_at(endpoint);
    let app = &dead;

    type Answer<'a> = std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<ward::http::response::Complete, lambda_http::Error>,
                > + 'a,
        >,
    >;
    let post = |path: &str, bearer: Option<&str>, body: serde_json::Value| {
        request("POST", path, Some(body), bearer)
    };
    let new_login = json!({"login": ward_tests::unique_login("gone-new"), "password": PASSWORD});
    let sign_in = json!({"login": signed_in.login, "password": PASSWORD});
    let code = json!({"mfa_token": mfa_token, "code": enrolled.code_after(1)});
    let routes: Vec<(&str, Answer)> = vec![
        (
            "sign-up",
            Box::pin(handlers::sign_up(
                app,
                post("/v1/accounts", None, new_login),
            )),
        ),
        (
            "sign-in",
            Box::pin(handlers::sign_in(app, post("/v1/sign-in", None, sign_in))),
        ),
        (
            "verify-code",
            Box::pin(handlers::verify_code(
                app,
                post("/v1/sign-in/verify", None, code),
            )),
        ),
        (
            "sign-out",
            Box::pin(handlers::sign_out(
                app,
                request("POST", "/v1/sign-out", None, Some(session)),
            )),
        ),
        (
            "whoami",
            Box::pin(handlers::whoami(
                app,
                request("GET", "/v1/whoami", None, Some(session)),
            )),
        ),
        (
            "whoami-token",
            Box::pin(handlers::whoami(
                app,
                request("GET", "/v1/whoami", None, Some(&token.token)),
            )),
        ),
        (
            "account",
            Box::pin(handlers::account(
                app,
                request("GET", "/v1/account", None, Some(session)),
            )),
        ),
        (
            "account-events",
            Box::pin(handlers::account_events(
                app,
                request("GET", "/v1/account/events", None, Some(session)),
            )),
        ),
        (
            "setup",
            Box::pin(handlers::setup(
                app,
                post("/v1/two-factor/setup", Some(session), password.clone()),
            )),
        ),
        (
            "setup-verify",
            Box::pin(handlers::setup_verify(
                app,
                post(
                    "/v1/two-factor/setup/verify",
                    Some(session),
                    json!({"code": "123456"}),
                ),
            )),
        ),
        (
            "recovery-view",
            Box::pin(handlers::recovery_view(
                app,
                post(
                    "/v1/two-factor/recovery-codes/view",
                    Some(two_factor),
                    password.clone(),
                ),
            )),
        ),
        (
            "recovery-regenerate",
            Box::pin(handlers::recovery_regenerate(
                app,
                post(
                    "/v1/two-factor/recovery-codes/regenerate",
                    Some(two_factor),
                    password.clone(),
                ),
            )),
        ),
        (
            "disable",
            Box::pin(handlers::disable(
                app,
                post("/v1/two-factor/disable", Some(two_factor), password.clone()),
            )),
        ),
        (
            "token-create",
            Box::pin(handlers::token_create(
                app,
                post(
                    "/v1/tokens",
                    Some(session),
                    json!({"name": "gone", "password": PASSWORD}),
                ),
            )),
        ),
        (
            "token-list",
            Box::pin(handlers::token_list(
                app,
                request("GET", "/v1/tokens", None, Some(session)),
            )),
        ),
        (
            "token-revoke",
            Box::pin(handlers::token_revoke(
                app,
                ward_tests::with_path_parameter(
                    request(
                        "DELETE",
                        &format!("/v1/tokens/{}", token.id),
                        None,
                        Some(session),
                    ),
                    "token_id",
                    &token.id,
                ),
            )),
        ),
        (
            "session-list",
            Box::pin(handlers::session_list(
                app,
                request("GET", "/v1/sessions", None, Some(session)),
            )),
        ),
        (
            "session-end",
            Box::pin(handlers::session_end(
                app,
                ward_tests::with_path_parameter(
                    request("DELETE", "/v1/sessions/s", None, Some(session)),
                    "session_id",
                    "0123456789abcdef0123456789abcdef",
                ),
            )),
        ),
        (
            "session-end-others",
            Box::pin(handlers::session_end_others(
                app,
                post("/v1/sessions/end-others", Some(session), password.clone()),
            )),
        ),
    ];
    let started = Instant::now();
    let answers = futures::future::join_all(routes.into_iter().map(|(name, answer)| async move {
        let response = answer.await.unwrap();
        (name, parts(response), started.elapsed())
    }));
    // A route that waits on the dead port for ever fails here instead of hanging the suite.
    let answers = tokio::time::timeout(Duration::from_secs(20), answers)
        .await
        .expect("every route answered within 20 s");
    for (name, (status, body), took) in answers {
        assert_eq!(
            (status, body["error"].as_str()),
            (503, Some("service_unavailable")),
            "{name}: {body}"
        );
        assert_eq!(body.as_object().unwrap().len(), 2, "{name}: {body}");
        assert!(took < Duration::from_secs(10), "{name} took {took:?}");
    }
    // Nothing changed: the sessions still work, the code is still unused.
    let whoami = handlers::whoami(&live, request("GET", "/v1/whoami", None, Some(session))).await;
    assert_eq!(parts(whoami.unwrap()).0, 200);
    let still = ward::domain::session::authenticate(&live.store, &token.token, now).await;
    assert!(still.is_ok(), "the token was not revoked");
}

#[tokio::test]
async fn a_port_that_drops_every_connection_is_503_on_every_route() {
    every_route_is_503_within_10_s(&dropping().await).await;
}

#[tokio::test]
async fn a_port_that_never_answers_is_503_on_every_route() {
    every_route_is_503_within_10_s(&silent().await).await;
}

/// The key secret's store gone, the database there: the routes that open or seal a secret are 503,
/// and the ones that do not still work.
#[tokio::test]
async fn the_key_store_gone_is_503_where_a_key_is_needed_and_nothing_else() {
    for endpoint in [dropping().await, silent().await] {
        let live = app().await;
        let now = Now::current();
        let signed_in = ward_tests::signed_in_account(&live, "keys-gone", now).await;
        let enrolled = ward_tests::enrolled_account(&live, "keys-gone-2fa", now).await;
        let mfa_token = ward_tests::mfa_token(&live, &enrolled.login, now).await;
        let mut app = app_with_every_call_at(&endpoint);
        app.store = live.store.clone();
        let session = signed_in.session_token.as_str();
        let password = json!({ "password": PASSWORD });
        let code = json!({"mfa_token": mfa_token, "code": enrolled.code_after(1)});
        let started = Instant::now();
        let (setup, verify, whoami) = tokio::time::timeout(Duration::from_secs(20), async {
            tokio::join!(
                handlers::setup(
                    &app,
                    request(
                        "POST",
                        "/v1/two-factor/setup",
                        Some(password),
                        Some(session)
                    )
                ),
                handlers::verify_code(
                    &app,
                    request("POST", "/v1/sign-in/verify", Some(code), None)
                ),
                handlers::whoami(&app, request("GET", "/v1/whoami", None, Some(session))),
            )
        })
        .await
        .expect("answered within 20 s");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        for (name, response) in [("setup", setup), ("verify-code", verify)] {
            let (status, body) = parts(response.unwrap());
            assert_eq!(
                (status, body["error"].as_str()),
                (503, Some("service_unavailable")),
                "{name}: {body}"
            );
        }
        assert_eq!(parts(whoami.unwrap()).0, 200);
        // The code was not spent: with the key store back, it signs in.
        let mfa = ward_tests::mfa_token(&live, &enrolled.login, now).await;
        let verified = handlers::verify_code(
            &live,
            request(
                "POST",
                "/v1/sign-in/verify",
                Some(json!({"mfa_token": mfa, "code": enrolled.code_after(1)})),
                None,
            ),
        )
        .await;
        assert_eq!(parts(verified.unwrap()).0, 200);
    }
}

/// A route answers before its invocation's deadline, however long the database takes: with 3 s
/// left, a read that would wait out the SDK's 5 s is the contract's 503 in about 2 s (the deadline
/// less the second kept back to answer), not Lambda's own timeout.
#[tokio::test]
async fn a_route_answers_503_before_its_invocations_deadline() {
    let live = app().await;
    let account = ward_tests::signed_in_account(&live, "deadline", Now::current()).await;
    let dead = app_with_every_call_at(&silent().await);
    let deadline = u64::try_from(Now::current().millis).unwrap() + 3_000;
    let mut context = lambda_http::Context::default();
    context.deadline = deadline;
    let request = request("GET", "/v1/whoami", None, Some(&account.session_token))
        .with_lambda_context(context);
    let started = Instant::now();
    let (status, body) = parts(handlers::whoami(&dead, request).await.unwrap());
    let took = started.elapsed();
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("service_unavailable")),
        "{body}"
    );
    assert!(
        // Without the budget, the SDK would give up only at its operation timeout (5 s).
        took >= Duration::from_millis(1_500) && took < Duration::from_millis(3_500),
        "{took:?}"
    );
}

/// The SDK's timeouts and retries (docs/ARCHITECTURE.md, "Timeouts and retries") fit inside every
/// function's timeout in template.yaml: one call, all its attempts included, gives up while the
/// route still has time to answer 503 itself, before Lambda ends the invocation with an answer
/// that is not the contract's.
#[test]
fn one_call_gives_up_within_every_function_timeout() {
    let sdk = ward::app::sdk_config_from("ward-tests", |name| match name {
        "AWS_REGION" => Some("eu-west-1".to_string()),
        "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" => Some("x".to_string()),
        _ => None,
    })
    .unwrap();
    let timeouts = sdk.timeout_config().unwrap();
    let attempts = sdk.retry_config().unwrap().max_attempts();
    let operation = timeouts.operation_timeout().unwrap();
    let attempt = timeouts.operation_attempt_timeout().unwrap();
    assert!(timeouts.connect_timeout().unwrap() < attempt);
    assert!(timeouts.read_timeout().unwrap() < attempt);
    // A retry can start before the operation timeout, which caps the attempts and the backoff
    // between them together.
    assert!(
        attempts >= 2 && attempt < operation,
        "{attempts} attempts of {attempt:?} in {operation:?}"
    );

    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let template: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let global = template["Globals"]["Function"]["Timeout"].as_u64();
    let mut functions = 0;
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        functions += 1;
        let seconds = resource["Properties"]["Timeout"]
            .as_u64()
            .or(global)
            .unwrap();
        let timeout = Duration::from_secs(seconds);
        assert!(
            operation + ward::http::response::ANSWER_RESERVE < timeout,
            "{name:?}: one call may take {operation:?}, the function has {timeout:?}"
        );
    }
    assert_eq!(functions, 20);
}
