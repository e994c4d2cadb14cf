#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Every function reached over HTTP through `cargo lambda watch`, as a client sees the service.

use reqwest::StatusCode;
use serde_json::{json, Value};
use ward_tests::{api_url, http, unique_login, PASSWORD};

async fn call(
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    bearer: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = http().request(method, format!("{}{path}", api_url()));
    if let Some(body) = body {
        request = request.json(&body);
    }
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, headers, body)
}

fn assert_error(answer: &(StatusCode, reqwest::header::HeaderMap, Value), status: u16, code: &str) {
    assert_eq!(answer.0.as_u16(), status, "{}", answer.2);
    assert_eq!(answer.2["error"], code);
    assert!(answer.2["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(answer.1["cache-control"], "no-store");
    assert_eq!(answer.1["content-type"], "application/json");
}

#[tokio::test]
async fn sign_up_sign_in_account_whoami_sign_out() {
    use reqwest::Method;
    let login = unique_login("walk");
    let credentials = json!({ "login": login.to_uppercase(), "password": PASSWORD });

    let created = call(
        Method::POST,
        "/v1/accounts",
        Some(credentials.clone()),
        None,
    )
    .await;
    assert_eq!(created.0, StatusCode::CREATED);
    assert_eq!(created.1["cache-control"], "no-store");
    assert_eq!(created.2["login"], login.as_str());
    let account_id = created.2["account_id"].as_str().unwrap().to_string();

    assert_error(
        &call(
            Method::POST,
            "/v1/accounts",
            Some(credentials.clone()),
            None,
        )
        .await,
        409,
        "login_taken",
    );

    let signed_in = call(Method::POST, "/v1/sign-in", Some(credentials), None).await;
    assert_eq!(signed_in.0, StatusCode::OK);
    assert_eq!(signed_in.2["status"], "signed_in");
    assert_eq!(signed_in.2["expires_in"], 43_200);
    let token = signed_in.2["session_token"].as_str().unwrap().to_string();

    let account = call(Method::GET, "/v1/account", None, Some(&token)).await;
    assert_eq!(account.0, StatusCode::OK);
    assert_eq!(account.2["account_id"], account_id.as_str());
    assert_eq!(
        account.2["two_factor"],
        json!({ "enabled": false, "enabled_at": null, "recovery_codes_remaining": null })
    );
    assert!(account.2["created_at"].as_str().unwrap().ends_with('Z'));

    let whoami = call(Method::GET, "/v1/whoami", None, Some(&token)).await;
    assert_eq!(
        whoami.2,
        json!({ "account_id": account_id, "login": login, "auth": "session", "token_id": null })
    );

    let signed_out = call(Method::POST, "/v1/sign-out", None, Some(&token)).await;
    assert_eq!(signed_out.0, StatusCode::NO_CONTENT);

    for (method, path) in [
        (Method::GET, "/v1/whoami"),
        (Method::GET, "/v1/account"),
        (Method::POST, "/v1/sign-out"),
    ] {
        assert_error(
            &call(method, path, None, Some(&token)).await,
            401,
            "unauthorized",
        );
    }
}

#[tokio::test]
async fn errors_keep_the_contract_shape_over_http() {
    use reqwest::Method;
    let wrong = json!({ "login": unique_login("nobody"), "password": "not the password" });
    assert_error(
        &call(Method::POST, "/v1/sign-in", Some(wrong), None).await,
        401,
        "invalid_credentials",
    );
    assert_error(
        &call(
            Method::POST,
            "/v1/sign-in",
            Some(json!({ "login": "x@example.com" })),
            None,
        )
        .await,
        400,
        "invalid_request",
    );
    assert_error(
        &call(Method::DELETE, "/v1/sign-in", None, None).await,
        405,
        "method_not_allowed",
    );
    assert_error(
        &call(Method::GET, "/v1/whoami", None, None).await,
        401,
        "unauthorized",
    );
    assert_error(
        &call(Method::GET, "/v1/whoami", None, Some("ward_s_forged")).await,
        401,
        "unauthorized",
    );

    let big = "x".repeat(20 * 1024);
    let response = http()
        .post(format!("{}/v1/accounts", api_url()))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
}

#[tokio::test]
async fn racing_sign_ups_over_http_create_one_account() {
    let login = unique_login("http-race");
    let body = json!({ "login": login, "password": PASSWORD });
    let requests = (0..6).map(|_| {
        call(
            reqwest::Method::POST,
            "/v1/accounts",
            Some(body.clone()),
            None,
        )
    });
    let answers = futures::future::join_all(requests).await;
    let created = answers
        .iter()
        .filter(|a| a.0 == StatusCode::CREATED)
        .count();
    let taken = answers
        .iter()
        .filter(|a| a.0 == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, taken), (1, 5));
}
