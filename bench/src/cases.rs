//! The requests the benchmark sends: one real request of each route of API.md (and the
//! authorizer), on state made for it through the service's own domain functions, as API Gateway
//! would hand it to the function.
use crate::process::Event;
use crate::Failure;
use serde_json::{json, Value};
use ward::Now;

/// Every route measured: its label and the function (package) that serves it. The two-factor path
/// of sign-in and a recovery code at verify-code are routes of their own.
pub const ROUTES: &[(&str, &str)] = &[
    ("web", "web"),
    ("sign-up", "sign-up"),
    ("sign-in", "sign-in"),
    ("sign-in-two-factor", "sign-in"),
    ("verify-code", "verify-code"),
    ("verify-code-recovery", "verify-code"),
    ("sign-out", "sign-out"),
    ("whoami", "whoami"),
    ("account", "account"),
    ("account-events", "account-events"),
    ("setup", "setup"),
    ("setup-verify", "setup-verify"),
    ("recovery-view", "recovery-view"),
    ("recovery-regenerate", "recovery-regenerate"),
    ("disable", "disable"),
    ("token-create", "token-create"),
    ("token-list", "token-list"),
    ("token-revoke", "token-revoke"),
    ("session-list", "session-list"),
    ("session-end", "session-end"),
    ("session-end-others", "session-end-others"),
    ("authorizer", "authorizer"),
];

/// Routes that only read: measured on the heavy account when one is given.
pub const READS: &[&str] = &[
    "whoami",
    "account",
    "account-events",
    "token-list",
    "session-list",
    "authorizer",
];

const P: &str = ward_tests::PASSWORD;

/// An account with history, for the read routes: a session and a personal access token.
pub struct Heavy {
    pub session_token: String,
    pub access_token: String,
}

/// An API Gateway (HTTP API, payload 2.0) event.
pub fn http_event(
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
    path_parameters: Value,
) -> Vec<u8> {
    let mut headers = json!({
        "content-type": "application/json",
        "host": "bench.execute-api.us-east-1.amazonaws.com",
        "user-agent": "ward-bench",
        "x-forwarded-for": "192.0.2.10",
    });
    if let Some(token) = bearer {
        headers["authorization"] = json!(format!("Bearer {token}"));
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000", "apiId": "bench",
            "domainName": "bench.execute-api.us-east-1.amazonaws.com",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.10", "userAgent": "ward-bench"},
            "requestId": "bench", "routeKey": format!("{method} {path}"), "stage": "$default",
            "time": "01/Dec/2026:00:00:00 +0000", "timeEpoch": 1796083200000u64
        },
        "pathParameters": path_parameters,
        "isBase64Encoded": false
    });
    if let Some(body) = body {
        event["body"] = json!(body.to_string());
    }
    event.to_string().into_bytes()
}

fn get(path: &str, bearer: &str) -> Vec<u8> {
    http_event("GET", path, Some(bearer), None, json!({}))
}

fn post(path: &str, bearer: Option<&str>, body: Value) -> Vec<u8> {
    http_event("POST", path, bearer, Some(body), json!({}))
}

/// The authorizer's event (REQUEST type, payload 2.0) carrying `token`.
pub fn authorizer_event(token: &str) -> Result<Vec<u8>, Failure> {
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/events/authorizer-request.json"
    ))?;
    Ok(template.replace("REPLACE_WITH_A_TOKEN", token).into_bytes())
}

pub async fn access_token(
    app: &ward::App,
    session: &ward::domain::records::SessionPrincipal,
) -> Result<ward::domain::access_token::CreatedToken, Failure> {
    Ok(ward_tests::access_token(app, session, "bench", Now::current()).await)
}

/// Records a use of `token` now, as its last request would have.
pub async fn in_use(app: &ward::App, token: &str) -> Result<(), Failure> {
    let digest = ward::crypto::random::digest(token);
    let at = Now::current().secs();
    let stale_before = at - ward::domain::access_token::LAST_USED_RESOLUTION_SECS;
    ward::domain::ports::TokenStore::record_token_use(&app.store, &digest, at, stale_before)
        .await?;
    Ok(())
}

/// A request of a route that only reads: on `heavy`, or on a fresh signed-in account (and, for
/// the authorizer, a fresh token).
async fn read_event(app: &ward::App, label: &str, heavy: Option<&Heavy>) -> Result<Event, Failure> {
    let (session_token, access_token) = match heavy {
        Some(heavy) => (heavy.session_token.clone(), heavy.access_token.clone()),
        None => {
            let account = ward_tests::signed_in_account(app, "bench", Now::current()).await;
            let token = if label == "authorizer" {
                access_token(app, &account.session).await?.token
            } else {
                String::new()
            };
            (account.session_token, token)
        }
    };
    let path = match label {
        "authorizer" => {
            // A token in use, its last use recorded within the minute, as for nearly every
            // request of a token in use: the authorizer's one GetItem. (The once-a-minute write
            // of `last_used_at` is counted in the warm figures.)
            in_use(app, &access_token).await?;
            return Ok((authorizer_event(&access_token)?, 200));
        }
        "whoami" => "/v1/whoami",
        "account" => "/v1/account",
        "account-events" => "/v1/account/events",
        "token-list" => "/v1/tokens",
        "session-list" => "/v1/sessions",
        other => return Err(format!("{other} is not a read route").into()),
    };
    Ok((get(path, &session_token), 200))
}

/// A real request of route `label`, on state of its own where the route changes state (or on
/// `heavy` for the routes that only read), and the status its answer must have.
pub async fn event(app: &ward::App, label: &str, heavy: Option<&Heavy>) -> Result<Event, Failure> {
    let now = Now::current();
    let password = json!({ "password": P });
    if READS.contains(&label) {
        return read_event(app, label, heavy).await;
    }
    Ok(match label {
        "floor" | "peer" | "web" => (http_event("GET", "/", None, None, json!({})), 200),
        "sign-up" => {
            let login = ward_tests::unique_login("bench");
            (
                post("/v1/accounts", None, json!({"login": login, "password": P})),
                201,
            )
        }
        "sign-in" => {
            let account = ward_tests::signed_in_account(app, "bench", now).await;
            let body = json!({"login": account.login, "password": P});
            (post("/v1/sign-in", None, body), 200)
        }
        "sign-in-two-factor" => {
            let account = ward_tests::enrolled_account(app, "bench", now).await;
            let body = json!({"login": account.login, "password": P});
            (post("/v1/sign-in", None, body), 200)
        }
        "verify-code" | "verify-code-recovery" => {
            let account = ward_tests::enrolled_account(app, "bench", now).await;
            let mfa = ward_tests::mfa_token(app, &account.login, now).await;
            let body = if label == "verify-code" {
                json!({"mfa_token": mfa, "code": account.code_after(1)})
            } else {
                let code = account.recovery_codes.first().cloned().unwrap_or_default();
                json!({"mfa_token": mfa, "recovery_code": code})
            };
            (post("/v1/sign-in/verify", None, body), 200)
        }
        "setup-verify" => {
            let account = ward_tests::signed_in_account(app, "bench", now).await;
            let (secret, _) = ward_tests::start_setup(app, &account.session, now).await;
            let code = ward::crypto::totp::code_at_step(&secret, now.secs() / 30)?;
            let path = "/v1/two-factor/setup/verify";
            (
                post(path, Some(&account.session_token), json!({"code": code})),
                200,
            )
        }
        "recovery-view" | "recovery-regenerate" | "disable" => {
            let account = ward_tests::enrolled_account(app, "bench", now).await;
            let path = match label {
                "recovery-view" => "/v1/two-factor/recovery-codes/view",
                "recovery-regenerate" => "/v1/two-factor/recovery-codes/regenerate",
                _ => "/v1/two-factor/disable",
            };
            (post(path, Some(&account.session_token), password), 200)
        }
        "token-revoke" => {
            let account = ward_tests::signed_in_account(app, "bench", now).await;
            let created = access_token(app, &account.session).await?;
            let path = format!("/v1/tokens/{}", created.id);
            let parameters = json!({"token_id": created.id});
            let event = http_event(
                "DELETE",
                &path,
                Some(&account.session_token),
                None,
                parameters,
            );
            (event, 204)
        }
        "session-end" => {
            let account = ward_tests::signed_in_account(app, "bench", now).await;
            let other = ward_tests::session_token(app, &account.login, now).await;
            let listed = ward::domain::session::list(&app.store, &account.session, now).await?;
            let id = listed
                .iter()
                .find(|summary| !summary.current)
                .map(|summary| summary.session.session_id.clone())
                .ok_or("no other session")?;
            let path = format!("/v1/sessions/{id}");
            let parameters = json!({"session_id": id});
            (
                http_event("DELETE", &path, Some(&other), None, parameters),
                204,
            )
        }
        _ => {
            let account = ward_tests::signed_in_account(app, "bench", now).await;
            let token = account.session_token.as_str();
            match label {
                "sign-out" => {
                    let event = http_event("POST", "/v1/sign-out", Some(token), None, json!({}));
                    (event, 204)
                }
                "setup" => (post("/v1/two-factor/setup", Some(token), password), 200),
                "token-create" => {
                    let body = json!({"name": "bench", "password": P});
                    (post("/v1/tokens", Some(token), body), 201)
                }
                "session-end-others" => {
                    (post("/v1/sessions/end-others", Some(token), password), 200)
                }
                other => return Err(format!("no request for route {other}").into()),
            }
        }
    })
}
