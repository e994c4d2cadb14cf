//! Who is calling: bearer tokens resolved to an account.

use crate::error::ApiError;
use crate::store::{get_s, keys, required_s, Store};
use crate::token::{self, SESSION_PREFIX};
use crate::Now;

/// Sessions live 12 hours.
pub const SESSION_LIFETIME_SECS: i64 = 43_200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A signed-in session; `digest` is the key of its item, `session_id` its listed id.
    Session { digest: String, session_id: String },
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
            Credential::Session { digest, session_id } => Ok(SessionPrincipal {
                account_id: self.account_id,
                login: self.login,
                session_digest: digest,
                session_id,
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
    /// The id under which the session is listed (`GET /v1/sessions`).
    pub session_id: String,
}

/// Resolves a bearer token with one read. Unknown, expired, revoked or malformed: 401. A personal
/// access token's use is recorded (`last_used_at`, at most once a minute, beside the request).
pub async fn authenticate(store: &Store, bearer: &str, now: Now) -> Result<Principal, ApiError> {
    resolve(store, bearer, now, RecordUse::Yes).await
}

/// The session of a route that takes only sessions: a live personal access token is
/// `403 session_required`, and since it was refused its use is not recorded.
pub async fn authenticate_session(
    store: &Store,
    bearer: &str,
    now: Now,
) -> Result<SessionPrincipal, ApiError> {
    resolve(store, bearer, now, RecordUse::No)
        .await?
        .require_session()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RecordUse {
    Yes,
    No,
}

async fn resolve(
    store: &Store,
    bearer: &str,
    now: Now,
    record_use: RecordUse,
) -> Result<Principal, ApiError> {
    if bearer.starts_with(SESSION_PREFIX) {
        let digest = token::digest(bearer);
        let item = store
            .get_live(keys::session(&digest), now)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        // A session without a listed id predates the session listing: it could be neither
        // listed nor ended, so it is refused (its owner signs in again).
        let session_id = get_s(&item, "session_id").map(str::to_string);
        let (Some("full"), Some(session_id)) = (get_s(&item, "kind"), session_id) else {
            return Err(ApiError::Unauthorized);
        };
        return Ok(Principal {
            account_id: required_s(&item, "account_id")?,
            login: required_s(&item, "login")?,
            credential: Credential::Session { digest, session_id },
        });
    }
    if bearer.starts_with(crate::tokens::PREFIX) {
        // A typo or a forgery fails the checksum here, without a database read.
        if !crate::tokens::well_formed(bearer) {
            return Err(ApiError::Unauthorized);
        }
        let digest = token::digest(bearer);
        let item = store
            .get_live(crate::tokens::token_key(&digest), now)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let token_id = required_s(&item, "token_id")?;
        let last_used = crate::store::get_n(&item, "last_used_at");
        let stale =
            last_used.is_none_or(|at| at <= now.secs() - crate::tokens::LAST_USED_RESOLUTION_SECS);
        if stale && record_use == RecordUse::Yes {
            touch_last_used(store.clone(), digest, now);
        }
        return Ok(Principal {
            account_id: required_s(&item, "account_id")?,
            login: required_s(&item, "login")?,
            credential: Credential::Token { token_id },
        });
    }
    Err(ApiError::Unauthorized)
}

/// Records when a token was last used, at most once a minute, off the request's path: the write
/// runs as its own task and the request does not wait for it. On Lambda a task left running when
/// the response goes out finishes when the instance next runs, so the time is a best effort, never
/// later than the truth by more than the resolution.
fn touch_last_used(store: Store, digest: String, now: Now) {
    tokio::spawn(async move {
        let update = crate::store::ConditionalUpdate::new(crate::tokens::token_key(&digest))
            .set("last_used_at = :now")
            .condition("attribute_exists(pk) AND (attribute_not_exists(last_used_at) OR last_used_at <= :stale)")
            .value(":now", crate::store::n(now.secs()))
            .value(":stale", crate::store::n(now.secs() - crate::tokens::LAST_USED_RESOLUTION_SECS));
        if let Err(error) = store.update(update).await {
            tracing::warn!(%error, "could not record when a token was last used");
        }
    });
}
