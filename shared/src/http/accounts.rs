//! Accounts and sign-in: `POST /v1/accounts`, `POST /v1/sign-in`, `POST /v1/sign-out`,
//! `GET /v1/account`, `GET /v1/whoami`.

use super::request::{bearer_token, origin_of, parse_json};
use super::response::{serve, Complete, Reply, Route};
use crate::domain::account::{self, SignIn, Status};
use crate::domain::records::Credential;
use crate::domain::{rfc3339, session, Now};
use crate::App;
use lambda_http::{Error, Request};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    login: String,
    password: String,
}

#[derive(Serialize)]
struct SignedUp {
    account_id: String,
    login: String,
}

#[derive(Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum SignInAnswer {
    SignedIn {
        session_token: String,
        expires_in: i64,
    },
    TwoFactorRequired {
        mfa_token: String,
        expires_in: i64,
    },
}

#[derive(Serialize)]
struct AccountAnswer {
    account_id: String,
    login: String,
    created_at: String,
    two_factor: TwoFactorStatus,
}

#[derive(Serialize)]
struct TwoFactorStatus {
    enabled: bool,
    enabled_at: Option<String>,
    recovery_codes_remaining: Option<usize>,
}

impl From<Status> for AccountAnswer {
    fn from(status: Status) -> AccountAnswer {
        AccountAnswer {
            account_id: status.account_id,
            login: status.login,
            created_at: rfc3339(status.created_at),
            two_factor: TwoFactorStatus {
                enabled: status.two_factor_enabled,
                enabled_at: status.enabled_at.map(rfc3339),
                recovery_codes_remaining: status.recovery_codes_remaining,
            },
        }
    }
}

#[derive(Serialize)]
struct WhoAmI {
    account_id: String,
    login: String,
    auth: &'static str,
    token_id: Option<String>,
}

/// `POST /v1/accounts`
pub async fn sign_up(app: &App, request: Request) -> Result<Complete, Error> {
    serve(&request, Route::post("sign-up"), async {
        let body: Credentials = parse_json(&request)?;
        let origin = origin_of(&request);
        let account = account::sign_up(
            &app.store,
            &body.login,
            &body.password,
            &origin,
            Now::current(),
        )
        .await?;
        Reply::created(&SignedUp {
            account_id: account.account_id,
            login: account.login,
        })
    })
    .await
}

/// `POST /v1/sign-in`
pub async fn sign_in(app: &App, request: Request) -> Result<Complete, Error> {
    serve(&request, Route::post("sign-in"), async {
        let body: Credentials = parse_json(&request)?;
        let origin = origin_of(&request);
        let answer = match account::sign_in(
            &app.store,
            &body.login,
            &body.password,
            &origin,
            Now::current(),
        )
        .await?
        {
            SignIn::SignedIn {
                session_token,
                expires_in,
            } => SignInAnswer::SignedIn {
                session_token,
                expires_in,
            },
            SignIn::TwoFactorRequired {
                mfa_token,
                expires_in,
            } => SignInAnswer::TwoFactorRequired {
                mfa_token,
                expires_in,
            },
        };
        Reply::ok(&answer)
    })
    .await
}

/// `POST /v1/sign-out`
pub async fn sign_out(app: &App, request: Request) -> Result<Complete, Error> {
    serve(&request, Route::post("sign-out"), async {
        let now = Now::current();
        let principal =
            session::authenticate_session(&app.store, bearer_token(&request)?, now).await?;
        session::sign_out(&app.store, &principal, &origin_of(&request), now).await?;
        Ok(Reply::no_content())
    })
    .await
}

/// `GET /v1/account`
pub async fn account(app: &App, request: Request) -> Result<Complete, Error> {
    serve(&request, Route::get("account"), async {
        let now = Now::current();
        let principal =
            session::authenticate_session(&app.store, bearer_token(&request)?, now).await?;
        let status = account::status(&app.store, &principal.account_id).await?;
        Reply::ok(&AccountAnswer::from(status))
    })
    .await
}

/// `GET /v1/whoami`: a session or a personal access token.
pub async fn whoami(app: &App, request: Request) -> Result<Complete, Error> {
    serve(&request, Route::get("whoami"), async {
        let principal =
            session::authenticate(&app.store, bearer_token(&request)?, Now::current()).await?;
        let (auth, token_id) = match principal.credential {
            Credential::Session { .. } => ("session", None),
            Credential::Token { token_id } => ("token", Some(token_id)),
        };
        Reply::ok(&WhoAmI {
            account_id: principal.account_id,
            login: principal.login,
            auth,
            token_id,
        })
    })
    .await
}
