//! Who is calling: bearer tokens resolved to an account.

use crate::error::ApiError;
use crate::store::{get_s, keys, required_s, Store};
use crate::token::{self, SESSION_PREFIX};
use crate::Now;

/// Sessions live 12 hours.
pub const SESSION_LIFETIME_SECS: i64 = 43_200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A signed-in session; `digest` is the key of its item.
    Session { digest: String },
    /// A personal access token.
    Token { token_id: String },
}

/// The account behind a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub account_id: String,
    pub login: String,
    pub credential: Credential,
}

impl Principal {
    /// Routes that change security settings take a session, never a personal access token.
    pub fn require_session(self) -> Result<SessionPrincipal, ApiError> {
        match self.credential {
            Credential::Session { digest } => Ok(SessionPrincipal {
                account_id: self.account_id,
                login: self.login,
                session_digest: digest,
            }),
            Credential::Token { .. } => Err(ApiError::SessionRequired),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SessionPrincipal {
    pub account_id: String,
    pub login: String,
    pub session_digest: String,
}

/// Resolves a bearer token with one read. Unknown, expired, revoked or malformed: 401.
pub async fn authenticate(store: &Store, bearer: &str, now: Now) -> Result<Principal, ApiError> {
    if bearer.starts_with(SESSION_PREFIX) {
        let digest = token::digest(bearer);
        let item = store
            .get_live(keys::session(&digest), now)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        if get_s(&item, "kind") != Some("full") {
            return Err(ApiError::Unauthorized);
        }
        return Ok(Principal {
            account_id: required_s(&item, "account_id")?,
            login: required_s(&item, "login")?,
            credential: Credential::Session { digest },
        });
    }
    Err(ApiError::Unauthorized)
}
