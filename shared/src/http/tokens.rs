//! Personal access tokens: `POST /v1/tokens`, `GET /v1/tokens`, `DELETE /v1/tokens/{token_id}`.

use super::request::{origin_of, parse_json, path_parameter, session_of};
use super::response::{serve, Complete, Reply, Route};
use crate::domain::access_token::{self, TokenSummary};
use crate::domain::{rfc3339, Now};
use crate::App;
use lambda_http::{Error, Request};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    password: String,
    expires_in_days: Option<i64>,
}

#[derive(Serialize)]
struct CreatedToken {
    id: String,
    name: String,
    token: String,
    created_at: String,
    expires_at: String,
}

#[derive(Serialize)]
struct ListedToken {
    id: String,
    name: String,
    created_at: String,
    expires_at: String,
    last_used_at: Option<String>,
}

impl From<TokenSummary> for ListedToken {
    fn from(token: TokenSummary) -> ListedToken {
        ListedToken {
            id: token.id,
            name: token.name,
            created_at: rfc3339(token.created_at),
            expires_at: rfc3339(token.expires_at),
            last_used_at: token.last_used_at.map(rfc3339),
        }
    }
}

#[derive(Serialize)]
struct TokenList {
    tokens: Vec<ListedToken>,
}

/// `POST /v1/tokens`
pub async fn token_create(app: &App, request: Request) -> Result<Complete, Error> {
    serve(&request, Route::post("token-create"), async {
        let now = Now::current();
        let principal = session_of(app, &request, now).await?;
        let body: NewToken = parse_json(&request)?;
        let created = access_token::create(
            &app.store,
            &principal,
            &body.name,
            &body.password,
            body.expires_in_days,
            &origin_of(&request),
            now,
        )
        .await?;
        Reply::created(&CreatedToken {
            id: created.id,
            name: created.name,
            token: created.token,
            created_at: rfc3339(created.created_at),
            expires_at: rfc3339(created.expires_at),
        })
    })
    .await
}

/// `GET /v1/tokens`
pub async fn token_list(app: &App, request: Request) -> Result<Complete, Error> {
    serve(&request, Route::get("token-list"), async {
        let now = Now::current();
        let principal = session_of(app, &request, now).await?;
        let tokens = access_token::list(&app.store, &principal.account_id, now).await?;
        Reply::ok(&TokenList {
            tokens: tokens.into_iter().map(ListedToken::from).collect(),
        })
    })
    .await
}

/// `DELETE /v1/tokens/{token_id}`
pub async fn token_revoke(app: &App, request: Request) -> Result<Complete, Error> {
    serve(&request, Route::delete("token-revoke"), async {
        let now = Now::current();
        let principal = session_of(app, &request, now).await?;
        let token_id = path_parameter(&request, "token_id");
        access_token::revoke(&app.store, &principal, &token_id, &origin_of(&request), now).await?;
        Ok(Reply::no_content())
    })
    .await
}
