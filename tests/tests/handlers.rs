#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The HTTP rules of the contract, through the handlers with requests as API Gateway builds them.

use serde_json::json;
use ward::http::routes as handlers;
use ward_tests::{app, parts, request, unique_login, PASSWORD};

#[tokio::test]
async fn a_body_over_16_kib_is_413_before_parsing() {
    let app = app().await;
    let body = json!({ "login": "x".repeat(17 * 1024), "password": PASSWORD });
    let response = handlers::sign_up(&app, request("POST", "/v1/accounts", Some(body), None))
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (status, body) = parts(response);
    assert_eq!(status, 413);
    assert_eq!(body["error"], "payload_too_large");

    // Routes that read no body, and routes whose bearer token is missing, refuse it the same way
    // (before the token is looked up): 16 KiB and one byte, as raw text.
    let oversized = || {
        let mut request = request("GET", "/v1/whoami", None, None);
        *request.body_mut() = lambda_http::Body::Text("x".repeat(16 * 1024 + 1));
        request
    };
    let answers = [
        handlers::whoami(&app, oversized()).await.unwrap(),
        handlers::account(&app, oversized()).await.unwrap(),
        handlers::session_list(&app, oversized()).await.unwrap(),
    ];
    for response in answers {
        let (status, body) = parts(response);
        assert_eq!(
            (status, body["error"].as_str()),
            (413, Some("payload_too_large"))
        );
    }
    // Exactly 16 KiB is not refused for its size (it is 401: no token).
    let mut at_limit = request("GET", "/v1/whoami", None, None);
    *at_limit.body_mut() = lambda_http::Body::Text("x".repeat(16 * 1024));
    let (status, _) = parts(handlers::whoami(&app, at_limit).await.unwrap());
    assert_eq!(status, 401);
}

#[tokio::test]
async fn bad_input_is_400_naming_the_field() {
    let app = app().await;
    let cases = [
        (json!({ "login": "someone@example.com" }), "password"),
        (json!({ "login": 42, "password": PASSWORD }), "login"),
        (json!({ "login": "ab", "password": PASSWORD }), "login"),
        (
            json!({ "login": "someone@example.com", "password": "short" }),
            "password",
        ),
        (
            json!({ "login": "someone@example.com", "password": "x".repeat(129) }),
            "password",
        ),
        (
            json!({ "login": "someone@example.com", "password": PASSWORD, "admin": true }),
            "admin",
        ),
    ];
    for (body, field) in cases {
        let response = handlers::sign_up(
            &app,
            request("POST", "/v1/accounts", Some(body.clone()), None),
        )
        .await
        .unwrap();
        let (status, answer) = parts(response);
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["error"], "invalid_request");
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .contains(&format!("`{field}`")),
            "{answer}"
        );
    }
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = app().await;
    let mut malformed = request("POST", "/v1/sign-in", None, None);
    *malformed.body_mut() = lambda_http::Body::Text("{\"login\": ".into());
    let (status, body) = parts(handlers::sign_in(&app, malformed).await.unwrap());
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (400, "invalid_request")
    );
}

#[tokio::test]
async fn a_known_route_with_the_wrong_method_is_405() {
    let app = app().await;
    let (status, body) = parts(
        handlers::sign_in(&app, request("GET", "/v1/sign-in", None, None))
            .await
            .unwrap(),
    );
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (405, "method_not_allowed")
    );
    let (status, _) = parts(
        handlers::whoami(&app, request("POST", "/v1/whoami", None, None))
            .await
            .unwrap(),
    );
    assert_eq!(status, 405);
}

#[tokio::test]
async fn a_token_in_the_query_string_is_never_accepted() {
    let app = app().await;
    let login = unique_login("query");
    let (status, _) = parts(
        handlers::sign_up(
            &app,
            request(
                "POST",
                "/v1/accounts",
                Some(json!({"login": login, "password": PASSWORD})),
                None,
            ),
        )
        .await
        .unwrap(),
    );
    assert_eq!(status, 201);
    let (_, signed_in) = parts(
        handlers::sign_in(
            &app,
            request(
                "POST",
                "/v1/sign-in",
                Some(json!({"login": login, "password": PASSWORD})),
                None,
            ),
        )
        .await
        .unwrap(),
    );
    let token = signed_in["session_token"].as_str().unwrap();
    let in_query = request(
        "GET",
        &format!("/v1/whoami?access_token={token}"),
        None,
        None,
    );
    let (status, body) = parts(handlers::whoami(&app, in_query).await.unwrap());
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (401, "unauthorized")
    );
    let (status, body) = parts(
        handlers::whoami(&app, request("GET", "/v1/whoami", None, Some(token)))
            .await
            .unwrap(),
    );
    assert_eq!(status, 200);
    assert_eq!(body["login"], login.as_str());
}

#[tokio::test]
async fn a_body_that_is_not_utf8_is_400() {
    let app = app().await;
    let mut binary = request("POST", "/v1/accounts", None, None);
    *binary.body_mut() = lambda_http::Body::Binary(vec![0xff, 0x5e, 0xd4, 0x8f]);
    let (status, body) = parts(handlers::sign_up(&app, binary).await.unwrap());
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (400, "invalid_request")
    );
}

#[test]
fn a_function_without_its_configuration_fails_its_cold_start_with_a_clear_line() {
    // The functions are built next to this test binary (target/<profile>/deps/..).
    let binary = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("whoami");
    assert!(
        binary.exists(),
        "build the functions first (make test does)"
    );
    let output = std::process::Command::new(&binary)
        .env_clear()
        .env("KEY_SECRET_ID", "ward/master-key")
        .env("TOTP_ISSUER", "Ward")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(printed.contains("TABLE_NAME"), "{printed}");
    assert!(printed.contains("configuration is incomplete"), "{printed}");
}

fn saved_event(name: &str) -> serde_json::Value {
    let path = format!("{}/../infra/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn at_route(mut event: serde_json::Value, path: &str) -> lambda_http::Request {
    event["rawPath"] = path.into();
    event["routeKey"] = format!("POST {path}").into();
    event["requestContext"]["http"]["path"] = path.into();
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

/// API Gateway may deliver a body base64-encoded (`isBase64Encoded: true`): it is read as the
/// same JSON.
#[tokio::test]
async fn a_base64_encoded_body_from_api_gateway_is_read_as_json() {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let app = app().await;
    let mut event = saved_event("sign-up-base64.json");
    let body = engine.decode(event["body"].as_str().unwrap()).unwrap();
    let login = unique_login("base64");
    let body = String::from_utf8(body)
        .unwrap()
        .replace("REPLACE_WITH_A_LOGIN", &login);
    event["body"] = engine.encode(body).into();
    let (status, created) = parts(
        handlers::sign_up(&app, at_route(event, "/v1/accounts"))
            .await
            .unwrap(),
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["login"], login.as_str());
}

/// A base64 body that is not UTF-8 is `400 invalid_request` in the contract's shape on every
/// route that reads a body, never a 500. (A body flagged base64 that does not decode is never sent
/// by API Gateway, which does the encoding; lambda_http would panic on it before any handler.)
#[tokio::test]
async fn a_base64_body_that_is_not_utf8_is_400_on_every_route_with_a_body() {
    let app = app().await;
    let now = ward::Now::current();
    let session = ward_tests::signed_in_account(&app, "not-utf8", now).await;
    let event = saved_event("post-not-utf8.json");
    for path in [
        "/v1/accounts",
        "/v1/sign-in",
        "/v1/sign-in/verify",
        "/v1/two-factor/setup",
        "/v1/two-factor/setup/verify",
        "/v1/two-factor/recovery-codes/view",
        "/v1/two-factor/recovery-codes/regenerate",
        "/v1/two-factor/disable",
        "/v1/tokens",
    ] {
        let mut request = at_route(event.clone(), path);
        let bearer = format!("Bearer {}", session.session_token);
        request
            .headers_mut()
            .insert("authorization", bearer.parse().unwrap());
        let response = match path {
            "/v1/accounts" => handlers::sign_up(&app, request).await,
            "/v1/sign-in" => handlers::sign_in(&app, request).await,
            "/v1/sign-in/verify" => handlers::verify_code(&app, request).await,
            "/v1/two-factor/setup" => handlers::setup(&app, request).await,
            "/v1/two-factor/setup/verify" => handlers::setup_verify(&app, request).await,
            "/v1/two-factor/recovery-codes/view" => handlers::recovery_view(&app, request).await,
            "/v1/two-factor/recovery-codes/regenerate" => {
                handlers::recovery_regenerate(&app, request).await
            }
            "/v1/two-factor/disable" => handlers::disable(&app, request).await,
            _ => handlers::token_create(&app, request).await,
        };
        let response = response.unwrap();
        assert_eq!(response.headers()["content-type"], "application/json");
        let (status, body) = parts(response);
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{path}: {body}"
        );
        assert_eq!(body.as_object().unwrap().len(), 2, "{path}");
    }
}

#[tokio::test]
async fn the_account_status_writes_null_for_what_an_account_without_2fa_lacks() {
    let app = app().await;
    let account = ward_tests::signed_in_account(&app, "status-json", ward::Now::current()).await;
    let (status, body) = parts(
        handlers::account(
            &app,
            request("GET", "/v1/account", None, Some(&account.session_token)),
        )
        .await
        .unwrap(),
    );
    assert_eq!(status, 200);
    assert_eq!(body["account_id"], account.account_id.as_str());
    assert_eq!(
        body["two_factor"],
        serde_json::json!({"enabled": false, "enabled_at": null, "recovery_codes_remaining": null})
    );
}
