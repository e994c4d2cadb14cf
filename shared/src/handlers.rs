//! One handler per route: parse the request, call the domain, shape the reply. Each function
//! binary's `main` serves exactly one of these.

use crate::accounts::{self, SignIn};
use crate::auth::{self, Credential};
use crate::error::ApiError;
use crate::http::{bearer_token, parse_json, Client, Reply};
use crate::{App, Now};
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
        let principal = auth::authenticate(&app.store, bearer_token(&request)?, now)
            .await?
            .require_session()?;
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
        let principal = auth::authenticate(&app.store, bearer_token(&request)?, now)
            .await?
            .require_session()?;
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
