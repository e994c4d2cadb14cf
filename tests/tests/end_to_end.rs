#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Every function reached over HTTP through `cargo lambda watch`, as a client sees the service.

use reqwest::StatusCode;
use serde_json::{json, Value};
use ward_tests::{api_url, call, http, unique_login, PASSWORD};

fn assert_error(answer: &(u16, reqwest::header::HeaderMap, Value), status: u16, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.2);
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

fn now_step() -> i64 {
    ward::Now::current().secs() / 30
}

/// The story of API.md with an authenticator app: enrol by scanning the QR code, sign in with the
/// app, then with a recovery code, view, regenerate, disable.
#[tokio::test]
async fn two_factor_from_enrolment_to_disable_over_http() {
    use reqwest::Method;
    let login = unique_login("story");
    let credentials = json!({ "login": login, "password": PASSWORD });
    call(
        Method::POST,
        "/v1/accounts",
        Some(credentials.clone()),
        None,
    )
    .await;
    let session = call(Method::POST, "/v1/sign-in", Some(credentials.clone()), None)
        .await
        .2["session_token"]
        .as_str()
        .unwrap()
        .to_string();
    let password = json!({ "password": PASSWORD });

    assert_error(
        &call(
            Method::POST,
            "/v1/two-factor/setup",
            Some(json!({ "password": "wrong password" })),
            Some(&session),
        )
        .await,
        403,
        "invalid_password",
    );
    let setup = call(
        Method::POST,
        "/v1/two-factor/setup",
        Some(password.clone()),
        Some(&session),
    )
    .await;
    assert_eq!(setup.0, StatusCode::OK);
    assert_eq!(setup.2["expires_in"], 600);
    // What the phone's camera reads is the key URI, and its secret is the one shown as text.
    let uri = decode_qr(setup.2["qr_png"].as_str().unwrap());
    assert_eq!(uri, setup.2["otpauth_uri"].as_str().unwrap());
    let secret_text = setup.2["secret"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Ward%20Local:")
            && uri.contains(&format!("secret={secret_text}&"))
    );
    let secret = data_encoding::BASE32_NOPAD
        .decode(secret_text.as_bytes())
        .unwrap();
    let app_code =
        |offset: i64| ward::crypto::totp::code_at_step(&secret, now_step() + offset).unwrap();

    assert_error(
        &call(
            Method::POST,
            "/v1/two-factor/setup/verify",
            Some(json!({ "code": "000000" })),
            Some(&session),
        )
        .await,
        401,
        "invalid_code",
    );
    let enabled = call(
        Method::POST,
        "/v1/two-factor/setup/verify",
        Some(json!({ "code": app_code(0) })),
        Some(&session),
    )
    .await;
    assert_eq!(enabled.0, StatusCode::OK);
    assert_eq!(enabled.2["enabled"], true);
    let codes: Vec<String> = enabled.2["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    assert_eq!(
        call(Method::GET, "/v1/account", None, Some(&session))
            .await
            .2["two_factor"]["recovery_codes_remaining"],
        10
    );

    // Sign out, then sign in with the app's code.
    call(Method::POST, "/v1/sign-out", None, Some(&session)).await;
    let challenge = call(Method::POST, "/v1/sign-in", Some(credentials.clone()), None).await;
    assert_eq!(challenge.2["status"], "two_factor_required");
    assert_eq!(challenge.2["expires_in"], 300);
    assert!(challenge.2.get("session_token").is_none());
    let mfa = challenge.2["mfa_token"].as_str().unwrap().to_string();
    let signed_in = call(
        Method::POST,
        "/v1/sign-in/verify",
        Some(json!({ "mfa_token": mfa, "code": app_code(1) })),
        None,
    )
    .await;
    assert_eq!(signed_in.0, StatusCode::OK, "{}", signed_in.2);
    assert!(signed_in.2.get("recovery_codes_remaining").is_none());
    let session = signed_in.2["session_token"].as_str().unwrap().to_string();
    // That mfa_token is spent.
    assert_error(
        &call(
            Method::POST,
            "/v1/sign-in/verify",
            Some(json!({ "mfa_token": mfa, "code": app_code(1) })),
            None,
        )
        .await,
        401,
        "mfa_token_invalid",
    );

    // Sign in with a recovery code, typed carelessly.
    let mfa = call(Method::POST, "/v1/sign-in", Some(credentials.clone()), None)
        .await
        .2["mfa_token"]
        .as_str()
        .unwrap()
        .to_string();
    let typed = codes[0].to_uppercase().replace('-', " ");
    let by_recovery = call(
        Method::POST,
        "/v1/sign-in/verify",
        Some(json!({ "mfa_token": mfa, "recovery_code": typed })),
        None,
    )
    .await;
    assert_eq!(by_recovery.0, StatusCode::OK);
    assert_eq!(by_recovery.2["recovery_codes_remaining"], 9);

    let view = call(
        Method::POST,
        "/v1/two-factor/recovery-codes/view",
        Some(password.clone()),
        Some(&session),
    )
    .await;
    assert_eq!(view.2["remaining"], 9);
    assert_eq!(
        view.2["recovery_codes"][0],
        json!({ "code": codes[0], "used": true })
    );
    assert_eq!(
        view.2["recovery_codes"][1],
        json!({ "code": codes[1], "used": false })
    );

    let regenerated = call(
        Method::POST,
        "/v1/two-factor/recovery-codes/regenerate",
        Some(password.clone()),
        Some(&session),
    )
    .await;
    assert_eq!(
        regenerated.2["recovery_codes"].as_array().unwrap().len(),
        10
    );
    let mfa = call(Method::POST, "/v1/sign-in", Some(credentials.clone()), None)
        .await
        .2["mfa_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_error(
        &call(
            Method::POST,
            "/v1/sign-in/verify",
            Some(json!({ "mfa_token": mfa, "recovery_code": codes[1] })),
            None,
        )
        .await,
        401,
        "invalid_code",
    );

    let disabled = call(
        Method::POST,
        "/v1/two-factor/disable",
        Some(password.clone()),
        Some(&session),
    )
    .await;
    assert_eq!(disabled.2, json!({ "enabled": false }));
    assert_error(
        &call(
            Method::POST,
            "/v1/two-factor/disable",
            Some(password),
            Some(&session),
        )
        .await,
        409,
        "two_factor_not_enabled",
    );
    let plain = call(Method::POST, "/v1/sign-in", Some(credentials), None).await;
    assert_eq!(plain.2["status"], "signed_in");

    let log = call(Method::GET, "/v1/account/events", None, Some(&session)).await;
    assert_eq!(log.0, StatusCode::OK);
    assert_eq!(log.2["events"][0]["type"], "signed_in");
    assert!(log.2["next_cursor"].is_null());
}

fn decode_qr(data_uri: &str) -> String {
    use base64::Engine;
    let png = base64::engine::general_purpose::STANDARD
        .decode(data_uri.strip_prefix("data:image/png;base64,").unwrap())
        .unwrap();
    let image = image::load_from_memory(&png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    grids[0].decode().unwrap().1
}

#[tokio::test]
async fn simultaneous_verify_calls_with_one_code_over_http_give_one_session() {
    use reqwest::Method;
    let login = unique_login("http-verify-race");
    let ward_tests::EnrolledOverHttp {
        credentials,
        secret,
        step,
        ..
    } = ward_tests::enrolled_over_http(&login).await;
    let mut tokens = Vec::new();
    for _ in 0..4 {
        let answer = call(Method::POST, "/v1/sign-in", Some(credentials.clone()), None).await;
        tokens.push(answer.2["mfa_token"].as_str().unwrap().to_string());
    }
    let code = ward::crypto::totp::code_at_step(&secret, step + 1).unwrap();
    let racing = tokens.iter().map(|mfa| {
        call(
            Method::POST,
            "/v1/sign-in/verify",
            Some(json!({ "mfa_token": mfa, "code": code })),
            None,
        )
    });
    let answers = futures::future::join_all(racing).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
    println!("4 simultaneous Verify2FACode calls over HTTP with one code: {statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1);
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 3);
}

async fn invoke(function: &str, event: &Value) -> Value {
    ward_tests::invoke_at(&api_url(), function, event).await
}

/// Sign in with 2FA once, create a token, script against whoami with it, revoke it; the
/// authorizer, invoked with the saved event, allows the token and then denies it.
#[tokio::test]
async fn a_script_with_a_personal_access_token_and_the_authorizer() {
    use reqwest::Method;
    let login = unique_login("script");
    let ward_tests::EnrolledOverHttp {
        credentials,
        secret,
        step,
        ..
    } = ward_tests::enrolled_over_http(&login).await;
    let mfa = call(Method::POST, "/v1/sign-in", Some(credentials), None)
        .await
        .2["mfa_token"]
        .as_str()
        .unwrap()
        .to_string();
    let code = ward::crypto::totp::code_at_step(&secret, step + 1).unwrap();
    let signed_in = call(
        Method::POST,
        "/v1/sign-in/verify",
        Some(json!({ "mfa_token": mfa, "code": code })),
        None,
    )
    .await;
    let session = signed_in.2["session_token"].as_str().unwrap().to_string();

    let created = call(
        Method::POST,
        "/v1/tokens",
        Some(json!({ "name": "nightly", "password": PASSWORD })),
        Some(&session),
    )
    .await;
    assert_eq!(created.0, StatusCode::CREATED);
    let token = created.2["token"].as_str().unwrap().to_string();
    let id = created.2["id"].as_str().unwrap().to_string();
    for _ in 0..3 {
        let me = call(Method::GET, "/v1/whoami", None, Some(&token)).await;
        assert_eq!(me.2["auth"], "token");
        assert_eq!(me.2["token_id"], id.as_str());
    }
    assert_error(
        &call(Method::GET, "/v1/tokens", None, Some(&token)).await,
        403,
        "session_required",
    );
    let listed = call(Method::GET, "/v1/tokens", None, Some(&session)).await;
    assert_eq!(listed.2["tokens"][0]["id"], id.as_str());
    assert!(!listed.2.to_string().contains(&token));

    let saved = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/events/authorizer-request.json"
    ))
    .unwrap();
    let event: Value =
        serde_json::from_str(&saved.replace("REPLACE_WITH_A_TOKEN", &token)).unwrap();
    let allowed = invoke("authorizer", &event).await;
    assert_eq!(allowed["isAuthorized"], true);
    assert_eq!(allowed["context"]["token_id"], id.as_str());
    assert_eq!(allowed["context"]["auth"], "token");

    let revoked = call(
        Method::DELETE,
        &format!("/v1/tokens/{id}"),
        None,
        Some(&session),
    )
    .await;
    assert_eq!(revoked.0, StatusCode::NO_CONTENT);
    assert_error(
        &call(Method::GET, "/v1/whoami", None, Some(&token)).await,
        401,
        "unauthorized",
    );
    assert_error(
        &call(
            Method::DELETE,
            &format!("/v1/tokens/{id}"),
            None,
            Some(&session),
        )
        .await,
        404,
        "not_found",
    );
    let denied = invoke("authorizer", &event).await;
    assert_eq!(denied["isAuthorized"], false);
}
