//! One handler per route: parse the request, call the domain, shape the reply. Each function
//! binary's `main` serves exactly one of these.

use crate::accounts::{self, SignIn};
use crate::auth::{self, Credential};
use crate::error::ApiError;
use crate::http::{bearer_token, parse_json, query_parameter, Client, Reply};
use crate::verify::{self, SecondFactor};
use crate::{events, sessions, tokens, two_factor, App, Now};
use lambda_http::http::Method;
use lambda_http::{Body, Error, Request, RequestExt, Response};
use serde::Deserialize;
use serde_json::json;

/// Turns the outcome of a route into its response, and logs one line per request with the
/// request id, route and status (never a body).
pub fn respond(
    request: &Request,
    route: &'static str,
    outcome: Result<Reply, ApiError>,
) -> Response<Body> {
    let request_id = request
        .lambda_context_ref()
        .map(|context| context.request_id.as_str())
        .unwrap_or("");
    match outcome {
        Ok(reply) => {
            tracing::info!(request_id, route, status = reply.status, "request handled");
            reply.into_response()
        }
        Err(error) => {
            if error.is_server_error() {
                tracing::error!(
                    request_id,
                    route,
                    status = error.status(),
                    error = error.code(),
                    "request failed"
                );
            } else {
                tracing::info!(
                    request_id,
                    route,
                    status = error.status(),
                    error = error.code(),
                    "request refused"
                );
            }
            error.to_response()
        }
    }
}

fn expect_method(request: &Request, method: Method) -> Result<(), ApiError> {
    if request.method() == method {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    login: String,
    password: String,
}

/// `POST /v1/accounts`
pub async fn sign_up(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let outcome = async {
        expect_method(&request, Method::POST)?;
        let body: Credentials = parse_json(&request)?;
        let account = accounts::sign_up(
            &app.store,
            &body.login,
            &body.password,
            &Client::of(&request),
            Now::current(),
        )
        .await?;
        Ok(Reply::created(
            json!({ "account_id": account.account_id, "login": account.login }),
        ))
    }
    .await;
    Ok(respond(&request, "sign-up", outcome))
}

/// `POST /v1/sign-in`
pub async fn sign_in(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let outcome = async {
        expect_method(&request, Method::POST)?;
        let body: Credentials = parse_json(&request)?;
        let result =
            accounts::sign_in(&app.store, &body.login, &body.password, &Client::of(&request), Now::current()).await?;
        Ok(Reply::ok(match result {
            SignIn::SignedIn { session_token, expires_in } => {
                json!({ "status": "signed_in", "session_token": session_token, "expires_in": expires_in })
            }
            SignIn::TwoFactorRequired { mfa_token, expires_in } => {
                json!({ "status": "two_factor_required", "mfa_token": mfa_token, "expires_in": expires_in })
            }
        }))
    }
    .await;
    Ok(respond(&request, "sign-in", outcome))
}

/// `POST /v1/sign-out`
pub async fn sign_out(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let outcome = async {
        expect_method(&request, Method::POST)?;
        let now = Now::current();
        let principal =
            auth::authenticate_session(&app.store, bearer_token(&request)?, now).await?;
        accounts::sign_out(&app.store, &principal, &Client::of(&request), now).await?;
        Ok(Reply::no_content())
    }
    .await;
    Ok(respond(&request, "sign-out", outcome))
}

/// `GET /v1/account`
pub async fn account(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let outcome = async {
        expect_method(&request, Method::GET)?;
        let now = Now::current();
        let principal =
            auth::authenticate_session(&app.store, bearer_token(&request)?, now).await?;
        Ok(Reply::ok(
            accounts::status(&app.store, &principal.account_id).await?,
        ))
    }
    .await;
    Ok(respond(&request, "account", outcome))
}

/// `GET /v1/whoami`: a session or a personal access token.
pub async fn whoami(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let outcome = async {
        expect_method(&request, Method::GET)?;
        let principal =
            auth::authenticate(&app.store, bearer_token(&request)?, Now::current()).await?;
        let (kind, token_id) = match &principal.credential {
            Credential::Session { .. } => ("session", None),
            Credential::Token { token_id } => ("token", Some(token_id.clone())),
        };
        Ok(Reply::ok(json!({
            "account_id": principal.account_id,
            "login": principal.login,
            "auth": kind,
            "token_id": token_id,
        })))
    }
    .await;
    Ok(respond(&request, "whoami", outcome))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordConfirmation {
    password: String,
}

/// The start of every password-confirmed route: POST, a session (a personal access token is
/// refused) and a body of `{"password"}`.
async fn password_confirmed(
    app: &App,
    request: &Request,
    now: Now,
) -> Result<(auth::SessionPrincipal, String), ApiError> {
    expect_method(request, Method::POST)?;
    let principal = session_of(app, request, now).await?;
    let body: PasswordConfirmation = parse_json(request)?;
    Ok((principal, body.password))
}

/// The session of a route that changes security settings (a personal access token is refused).
async fn session_of(
    app: &App,
    request: &Request,
    now: Now,
) -> Result<auth::SessionPrincipal, ApiError> {
    auth::authenticate_session(&app.store, bearer_token(request)?, now).await
}

/// `POST /v1/two-factor/setup`
pub async fn setup(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let outcome = async {
        let now = Now::current();
        let (principal, password) = password_confirmed(app, &request, now).await?;
        let keys = app.keys().await?;
        let pending = two_factor::start_setup(
            &app.store,
            &keys,
            &app.config.totp_issuer,
            &principal,
            &password,
            &Client::of(&request),
            now,
        )
        .await?;
        Ok(Reply::ok(json!({
            "secret": pending.secret,
            "otpauth_uri": pending.otpauth_uri,
            "qr_png": pending.qr_png,
            "expires_in": pending.expires_in,
        })))
    }
    .await;
    Ok(respond(&request, "setup", outcome))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeConfirmation {
    code: String,
}

/// `POST /v1/two-factor/setup/verify`
pub async fn setup_verify(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let outcome = async {
        expect_method(&request, Method::POST)?;
        let now = Now::current();
        let principal = session_of(app, &request, now).await?;
        let body: CodeConfirmation = parse_json(&request)?;
        let keys = app.keys().await?;
        let codes = two_factor::confirm_setup(
            &app.store,
            &keys,
            &principal,
            &body.code,
            &Client::of(&request),
            now,
        )
        .await?;
        Ok(Reply::ok(
            json!({ "enabled": true, "recovery_codes": codes }),
        ))
    }
    .await;
    Ok(respond(&request, "setup-verify", outcome))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecondFactorBody {
    mfa_token: String,
    code: Option<String>,
    recovery_code: Option<String>,
}

/// `POST /v1/sign-in/verify` (Verify2FACode)
pub async fn verify_code(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let outcome = async {
        expect_method(&request, Method::POST)?;
        let body: SecondFactorBody = parse_json(&request)?;
        let factor = match (body.code, body.recovery_code) {
            (Some(code), None) => SecondFactor::Code(code),
            (None, Some(code)) => SecondFactor::RecoveryCode(code),
            _ => {
                return Err(ApiError::InvalidRequest(
                    "Exactly one of the fields `code` and `recovery_code` is required.".into(),
                ))
            }
        };
        let verified = verify::verify(
            app,
            &body.mfa_token,
            &factor,
            &Client::of(&request),
            Now::current(),
        )
        .await?;
        let mut answer = json!({
            "status": "signed_in",
            "session_token": verified.session_token,
            "expires_in": verified.expires_in,
        });
        if let Some(remaining) = verified.recovery_codes_remaining {
            answer["recovery_codes_remaining"] = json!(remaining);
        }
        Ok(Reply::ok(answer))
    }
    .await;
    Ok(respond(&request, "verify-code", outcome))
}

/// `POST /v1/two-factor/recovery-codes/view`
pub async fn recovery_view(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let outcome = async {
        let now = Now::current();
        let (principal, password) = password_confirmed(app, &request, now).await?;
        let keys = app.keys().await?;
        let view = two_factor::view_codes(
            &app.store,
            &keys,
            &principal,
            &password,
            &Client::of(&request),
            now,
        )
        .await?;
        let codes: Vec<_> = view
            .codes
            .iter()
            .map(|(code, used)| json!({ "code": code, "used": used }))
            .collect();
        Ok(Reply::ok(
            json!({ "recovery_codes": codes, "remaining": view.remaining }),
        ))
    }
    .await;
    Ok(respond(&request, "recovery-view", outcome))
}

/// `POST /v1/two-factor/recovery-codes/regenerate`
pub async fn recovery_regenerate(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let outcome = async {
        let now = Now::current();
        let (principal, password) = password_confirmed(app, &request, now).await?;
        let keys = app.keys().await?;
        let codes = two_factor::regenerate_codes(
            &app.store,
            &keys,
            &principal,
            &password,
            &Client::of(&request),
            now,
        )
        .await?;
        Ok(Reply::ok(json!({ "recovery_codes": codes })))
    }
    .await;
    Ok(respond(&request, "recovery-regenerate", outcome))
}

/// `POST /v1/two-factor/disable`
pub async fn disable(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let outcome = async {
        let now = Now::current();
        let (principal, password) = password_confirmed(app, &request, now).await?;
        two_factor::disable(
            &app.store,
            &principal,
            &password,
            &Client::of(&request),
            now,
        )
        .await?;
        Ok(Reply::ok(json!({ "enabled": false })))
    }
    .await;
    Ok(respond(&request, "disable", outcome))
}

/// `GET /v1/account/events`
pub async fn account_events(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let outcome = async {
        expect_method(&request, Method::GET)?;
        let now = Now::current();
        let principal = session_of(app, &request, now).await?;
        let cursor = query_parameter(&request, "cursor");
        let (events, next_cursor) =
            events::page(&app.store, &principal.account_id, cursor.as_deref(), now).await?;
        Ok(Reply::ok(
            json!({ "events": events, "next_cursor": next_cursor }),
        ))
    }
    .await;
    Ok(respond(&request, "account-events", outcome))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    password: String,
    expires_in_days: Option<i64>,
}

/// `POST /v1/tokens`
pub async fn token_create(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let outcome = async {
        expect_method(&request, Method::POST)?;
        let now = Now::current();
        let principal = session_of(app, &request, now).await?;
        let body: NewToken = parse_json(&request)?;
        let created = tokens::create(
            &app.store,
            &principal,
            &body.name,
            &body.password,
            body.expires_in_days,
            &Client::of(&request),
            now,
        )
        .await?;
        Ok(Reply::created(json!({
            "id": created.id,
            "name": created.name,
            "token": created.token,
            "created_at": crate::rfc3339(created.created_at),
            "expires_at": crate::rfc3339(created.expires_at),
        })))
    }
    .await;
    Ok(respond(&request, "token-create", outcome))
}

/// `GET /v1/tokens`
pub async fn token_list(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let outcome = async {
        expect_method(&request, Method::GET)?;
        let now = Now::current();
        let principal = session_of(app, &request, now).await?;
        Ok(Reply::ok(
            json!({ "tokens": tokens::list(&app.store, &principal.account_id, now).await? }),
        ))
    }
    .await;
    Ok(respond(&request, "token-list", outcome))
}

/// `DELETE /v1/tokens/{token_id}`
pub async fn token_revoke(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let outcome = async {
        expect_method(&request, Method::DELETE)?;
        let now = Now::current();
        let principal = session_of(app, &request, now).await?;
        let token_id = path_parameter(&request, "token_id");
        tokens::revoke(
            &app.store,
            &principal,
            &token_id,
            &Client::of(&request),
            now,
        )
        .await?;
        Ok(Reply::no_content())
    }
    .await;
    Ok(respond(&request, "token-revoke", outcome))
}

/// A path parameter (`{token_id}`, `{session_id}`), or the last path segment where the router
/// passed none.
fn path_parameter(request: &Request, name: &str) -> String {
    request
        .path_parameters_ref()
        .and_then(|parameters| parameters.first(name))
        .map(str::to_string)
        .or_else(|| request.uri().path().rsplit('/').next().map(str::to_string))
        .unwrap_or_default()
}

/// `GET /v1/sessions`
pub async fn session_list(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let outcome = async {
        expect_method(&request, Method::GET)?;
        let now = Now::current();
        let principal = session_of(app, &request, now).await?;
        Ok(Reply::ok(
            json!({ "sessions": sessions::list(&app.store, &principal, now).await? }),
        ))
    }
    .await;
    Ok(respond(&request, "session-list", outcome))
}

/// `DELETE /v1/sessions/{session_id}`
pub async fn session_end(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let outcome = async {
        expect_method(&request, Method::DELETE)?;
        let now = Now::current();
        let principal = session_of(app, &request, now).await?;
        let session_id = path_parameter(&request, "session_id");
        sessions::end(
            &app.store,
            &principal,
            &session_id,
            &Client::of(&request),
            now,
        )
        .await?;
        Ok(Reply::no_content())
    }
    .await;
    Ok(respond(&request, "session-end", outcome))
}

/// `POST /v1/sessions/end-others`
pub async fn session_end_others(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let outcome = async {
        let now = Now::current();
        let (principal, password) = password_confirmed(app, &request, now).await?;
        let ended = sessions::end_others(
            &app.store,
            &principal,
            &password,
            &Client::of(&request),
            now,
        )
        .await?;
        Ok(Reply::ok(json!({ "ended": ended })))
    }
    .await;
    Ok(respond(&request, "session-end-others", outcome))
}
