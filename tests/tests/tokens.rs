#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Personal access tokens and the authorizer, against the DynamoDB emulator.

use serde_json::{json, Value};
use ward::domain::access_token as tokens;
use ward::http::authorizer::{decide, AuthorizerRequest};
use ward::http::routes as handlers;
use ward::{Error, Now};
use ward_tests::{app, client, counted_app, enrolled_account, parts, request, PASSWORD};

async fn create(app: &ward::App, session: &str, body: Value) -> (u16, Value) {
    parts(
        handlers::token_create(
            app,
            request("POST", "/v1/tokens", Some(body), Some(session)),
        )
        .await
        .unwrap(),
    )
}

async fn whoami(app: &ward::App, bearer: &str) -> (u16, Value) {
    parts(
        handlers::whoami(app, request("GET", "/v1/whoami", None, Some(bearer)))
            .await
            .unwrap(),
    )
}

async fn list(app: &ward::App, session: &str) -> Value {
    let (status, body) = parts(
        handlers::token_list(app, request("GET", "/v1/tokens", None, Some(session)))
            .await
            .unwrap(),
    );
    assert_eq!(status, 200);
    body
}

fn revoke_request(session: &str, token_id: &str) -> lambda_http::Request {
    ward_tests::with_path_parameter(
        request(
            "DELETE",
            &format!("/v1/tokens/{token_id}"),
            None,
            Some(session),
        ),
        "token_id",
        token_id,
    )
}

/// The saved authorizer event with `header` as its Authorization header.
fn authorizer_event(header: &str) -> AuthorizerRequest {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/events/authorizer-request.json"
    ))
    .unwrap();
    serde_json::from_str(&text.replace("Bearer REPLACE_WITH_A_TOKEN", header)).unwrap()
}

#[tokio::test]
async fn create_list_whoami_revoke() {
    let app = app().await;
    let account = enrolled_account(&app, "pat", Now::current()).await;
    let session = account.session_token.as_str();

    let (status, created) = create(
        &app,
        session,
        json!({ "name": "deploy script", "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let token = created["token"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(token.starts_with("ward_pat_"));
    assert_eq!(created["name"], "deploy script");
    let created_at = time::OffsetDateTime::parse(
        created["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let expires_at = time::OffsetDateTime::parse(
        created["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(
        (expires_at - created_at).whole_days(),
        30,
        "30 days by default"
    );

    let listed = list(&app, session).await;
    assert_eq!(listed["tokens"].as_array().unwrap().len(), 1);
    let entry = &listed["tokens"][0];
    let fields: Vec<_> = entry.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        fields,
        ["created_at", "expires_at", "id", "last_used_at", "name"]
    );
    assert_eq!(entry["id"], id.as_str());
    assert!(entry["last_used_at"].is_null());
    assert!(
        !listed.to_string().contains(&token)
            && !listed
                .to_string()
                .contains(&ward::crypto::random::digest(&token))
    );

    let (status, me) = whoami(&app, &token).await;
    assert_eq!(status, 200);
    assert_eq!(
        me,
        json!({ "account_id": account.account_id, "login": account.login, "auth": "token", "token_id": id })
    );
    // The last use is recorded off the request's path; it shows up shortly after.
    let mut last_used = Value::Null;
    for _ in 0..50 {
        last_used = list(&app, session).await["tokens"][0]["last_used_at"].clone();
        if !last_used.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(last_used.as_str().is_some_and(|at| at.ends_with('Z')));

    let (status, _) = parts(
        handlers::token_revoke(&app, revoke_request(session, &id))
            .await
            .unwrap(),
    );
    assert_eq!(status, 204);
    let (status, body) = whoami(&app, &token).await;
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (401, "unauthorized")
    );
    assert!(list(&app, session).await["tokens"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn every_refusal_of_the_token_routes() {
    let app = app().await;
    let account = enrolled_account(&app, "pat-refusals", Now::current()).await;
    let other = enrolled_account(&app, "pat-other", Now::current()).await;
    let session = account.session_token.as_str();

    let (status, body) = create(
        &app,
        session,
        json!({ "name": "x", "password": "wrong password" }),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (403, "invalid_password")
    );
    for bad in [
        json!({ "name": "x" }),
        json!({ "name": "", "password": PASSWORD }),
        json!({ "name": "x", "password": PASSWORD, "expires_in_days": 0 }),
        json!({ "name": "x", "password": PASSWORD, "expires_in_days": 367 }),
        json!({ "name": "x", "password": PASSWORD, "expires_in_days": "30" }),
    ] {
        let (status, answer) = create(&app, session, bad.clone()).await;
        assert_eq!(
            (status, answer["error"].as_str().unwrap()),
            (400, "invalid_request"),
            "{bad}"
        );
    }
    let (_, created) = create(
        &app,
        session,
        json!({ "name": "ci", "password": PASSWORD, "expires_in_days": 366 }),
    )
    .await;
    let token = created["token"].as_str().unwrap();
    let id = created["id"].as_str().unwrap();

    // A personal access token does not open the routes that need a session.
    let as_token = [
        handlers::token_create(
            &app,
            request(
                "POST",
                "/v1/tokens",
                Some(json!({ "name": "y", "password": PASSWORD })),
                Some(token),
            ),
        )
        .await
        .unwrap(),
        handlers::token_list(&app, request("GET", "/v1/tokens", None, Some(token)))
            .await
            .unwrap(),
        handlers::token_revoke(&app, revoke_request(token, id))
            .await
            .unwrap(),
        handlers::setup(
            &app,
            request(
                "POST",
                "/v1/two-factor/setup",
                Some(json!({ "password": PASSWORD })),
                Some(token),
            ),
        )
        .await
        .unwrap(),
        handlers::disable(
            &app,
            request(
                "POST",
                "/v1/two-factor/disable",
                Some(json!({ "password": PASSWORD })),
                Some(token),
            ),
        )
        .await
        .unwrap(),
        handlers::recovery_view(
            &app,
            request(
                "POST",
                "/v1/two-factor/recovery-codes/view",
                Some(json!({ "password": PASSWORD })),
                Some(token),
            ),
        )
        .await
        .unwrap(),
        handlers::account(&app, request("GET", "/v1/account", None, Some(token)))
            .await
            .unwrap(),
        handlers::account_events(
            &app,
            request("GET", "/v1/account/events", None, Some(token)),
        )
        .await
        .unwrap(),
        handlers::setup_verify(
            &app,
            request(
                "POST",
                "/v1/two-factor/setup/verify",
                Some(json!({ "code": "123456" })),
                Some(token),
            ),
        )
        .await
        .unwrap(),
        handlers::recovery_regenerate(
            &app,
            request(
                "POST",
                "/v1/two-factor/recovery-codes/regenerate",
                Some(json!({ "password": PASSWORD })),
                Some(token),
            ),
        )
        .await
        .unwrap(),
        handlers::sign_out(&app, request("POST", "/v1/sign-out", None, Some(token)))
            .await
            .unwrap(),
        handlers::session_list(&app, request("GET", "/v1/sessions", None, Some(token)))
            .await
            .unwrap(),
        handlers::session_end(
            &app,
            ward_tests::with_path_parameter(
                request("DELETE", "/v1/sessions/x", None, Some(token)),
                "session_id",
                &account.session.session_id,
            ),
        )
        .await
        .unwrap(),
        handlers::session_end_others(
            &app,
            request(
                "POST",
                "/v1/sessions/end-others",
                Some(json!({ "password": PASSWORD })),
                Some(token),
            ),
        )
        .await
        .unwrap(),
    ];
    // Every route that takes a bearer token but whoami (and the authorizer) needs a session.
    assert_eq!(as_token.len(), 14);
    for response in as_token {
        let (status, body) = parts(response);
        assert_eq!(
            (status, body["error"].as_str().unwrap()),
            (403, "session_required")
        );
    }

    // Another account's token, an unknown id and a malformed id are all 404.
    for (who, token_id) in [
        (other.session_token.as_str(), id),
        (session, "0123456789abcdef0123456789abcdef"),
        (session, "../x"),
    ] {
        let (status, body) = parts(
            handlers::token_revoke(&app, revoke_request(who, token_id))
                .await
                .unwrap(),
        );
        assert_eq!(
            (status, body["error"].as_str().unwrap()),
            (404, "not_found")
        );
    }
    assert_eq!(
        whoami(&app, token).await.0,
        200,
        "still valid after the refused revocations"
    );
}

#[tokio::test]
async fn a_mistyped_token_is_refused_without_a_database_read() {
    let (app, calls) = counted_app().await;
    let token = tokens::new_token().unwrap();
    let typo = format!("{}x", &token[..token.len() - 1]);
    calls.take();
    assert_eq!(
        ward::domain::session::authenticate(&app.store, &typo, Now::current())
            .await
            .unwrap_err(),
        Error::Unauthorized
    );
    assert!(calls.take().is_empty());
    // Well formed but unknown: one read.
    assert_eq!(
        ward::domain::session::authenticate(&app.store, &token, Now::current())
            .await
            .unwrap_err(),
        Error::Unauthorized
    );
    assert_eq!(calls.take(), ["GetItem"]);
}

#[tokio::test]
async fn an_expired_token_is_refused_at_once() {
    let app = app().await;
    let now = Now::current();
    let account = enrolled_account(&app, "pat-expiry", now).await;
    let created = tokens::create(
        &app.store,
        &account.session,
        "short",
        PASSWORD,
        Some(1),
        &client(),
        now,
    )
    .await
    .unwrap();
    let last_second = now.plus_secs(86_399);
    assert!(
        ward::domain::session::authenticate(&app.store, &created.token, last_second)
            .await
            .is_ok()
    );
    let expired = now.plus_secs(86_400);
    assert_eq!(
        ward::domain::session::authenticate(&app.store, &created.token, expired)
            .await
            .unwrap_err(),
        Error::Unauthorized
    );
    assert!(tokens::list(&app.store, &account.account_id, expired)
        .await
        .unwrap()
        .is_empty());
    let decision = decide(
        &app,
        &authorizer_event(&format!("Bearer {}", created.token)),
        expired,
    )
    .await
    .unwrap();
    assert!(!decision.is_authorized);
}

#[tokio::test]
async fn last_used_is_written_at_most_once_a_minute() {
    let (app, calls) = counted_app().await;
    let now = Now::current();
    let account = enrolled_account(&app, "pat-touch", now).await;
    let created = tokens::create(
        &app.store,
        &account.session,
        "busy",
        PASSWORD,
        None,
        &client(),
        now,
    )
    .await
    .unwrap();
    calls.take();
    ward::domain::session::authenticate(&app.store, &created.token, now)
        .await
        .unwrap();
    assert_eq!(
        calls.take_when(2).await,
        ["GetItem", "UpdateItem"],
        "the first use is recorded"
    );
    for seconds in [1, 30, 59] {
        ward::domain::session::authenticate(&app.store, &created.token, now.plus_secs(seconds))
            .await
            .unwrap();
    }
    assert_eq!(
        calls.take_when(3).await,
        ["GetItem", "GetItem", "GetItem"],
        "no write within the minute"
    );
    ward::domain::session::authenticate(&app.store, &created.token, now.plus_secs(60))
        .await
        .unwrap();
    assert_eq!(
        calls.take_when(2).await,
        ["GetItem", "UpdateItem"],
        "a minute later, one write"
    );
}

#[tokio::test]
async fn the_authorizer_allows_live_sessions_and_tokens_and_denies_the_rest() {
    let (app, calls) = counted_app().await;
    let now = Now::current();
    let account = enrolled_account(&app, "authorizer", now).await;
    let created = tokens::create(
        &app.store,
        &account.session,
        "gateway",
        PASSWORD,
        None,
        &client(),
        now,
    )
    .await
    .unwrap();
    calls.take();

    let allowed = decide(
        &app,
        &authorizer_event(&format!("Bearer {}", created.token)),
        now,
    )
    .await
    .unwrap();
    assert!(allowed.is_authorized);
    assert_eq!(allowed.context["account_id"], account.account_id);
    assert_eq!(allowed.context["auth"], "token");
    assert_eq!(allowed.context["token_id"], created.id);
    assert_eq!(
        calls.take_when(2).await,
        ["GetItem", "UpdateItem"],
        "one read, and the first use recorded"
    );

    let session = decide(
        &app,
        &authorizer_event(&format!("Bearer {}", account.session_token)),
        now,
    )
    .await
    .unwrap();
    assert!(session.is_authorized);
    assert_eq!(session.context["auth"], "session");
    assert_eq!(session.context["token_id"], "");
    assert_eq!(calls.take(), ["GetItem"], "one read per decision");

    let principal = account.session.clone();
    tokens::revoke(&app.store, &principal, &created.id, &client(), now)
        .await
        .unwrap();
    for bearer in [
        format!("Bearer {}", created.token),
        "Bearer ward_s_not-a-session".to_string(),
        "Bearer".to_string(),
        format!("Basic {}", account.session_token),
        String::new(),
    ] {
        let decision = decide(&app, &authorizer_event(&bearer), now).await.unwrap();
        assert!(!decision.is_authorized, "{bearer:?}");
        assert!(decision.context.is_empty());
    }
    // A token in the query string is never looked at.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/events/authorizer-no-header.json"
    ))
    .unwrap();
    let event: AuthorizerRequest =
        serde_json::from_str(&text.replace("REPLACE_WITH_A_TOKEN", &account.session_token))
            .unwrap();
    assert!(!decide(&app, &event, now).await.unwrap().is_authorized);
}

#[tokio::test]
async fn each_token_route_makes_its_documented_dynamodb_calls() {
    let (app, calls) = counted_app().await;
    let now = Now::current();
    let account = enrolled_account(&app, "pat-calls", now).await;
    calls.take();
    let created = tokens::create(
        &app.store,
        &account.session,
        "counted",
        PASSWORD,
        None,
        &client(),
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        calls.take(),
        ["UpdateItem", "TransactWriteItems"],
        "token-create (after the session read)"
    );
    tokens::list(&app.store, &account.account_id, now)
        .await
        .unwrap();
    assert_eq!(
        calls.take(),
        ["Query", "BatchGetItem"],
        "token-list (after the session read)"
    );
    tokens::revoke(&app.store, &account.session, &created.id, &client(), now)
        .await
        .unwrap();
    assert_eq!(
        calls.take(),
        ["GetItem", "TransactWriteItems"],
        "token-revoke (after the session read)"
    );
}
