#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The HTTP rules of the contract, through the handlers with requests as API Gateway builds them.

use serde_json::json;
use ward::handlers;
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
