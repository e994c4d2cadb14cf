//! Sessions: who is calling (a session token or a personal access token resolved to an account),
//! and the sessions an owner lists and ends.
//!
//! A session has two records: the session itself, found by the digest of its token (what every
//! authenticated request reads, in one lookup), and a listing entry under the account, found by an
//! opaque session id (what list, end and end-others read). Both are written and deleted together.
//! An `mfa_token` has the first only: it is no session until the second factor makes it one.

use super::access_token;
use super::error::Error;
use super::password::confirm_password;
use super::ports::{SessionStore, ThrottleStore, TokenStore, Written};
use super::records::{
    Credential, Entry, EventKind, ListedSession, NewSession, Principal, SessionPrincipal,
};
use super::{Now, Origin};
use crate::crypto::random;

/// Sessions live 12 hours.
pub const SESSION_LIFETIME_SECS: i64 = 43_200;
/// Prefix of session tokens (256 random bits follow).
pub const SESSION_PREFIX: &str = "ward_s_";

impl Principal {
    /// Routes that change security settings take a session, never a personal access token.
    pub fn require_session(self) -> Result<SessionPrincipal, Error> {
        match self.credential {
            Credential::Session {
                digest,
                session_id,
                locks,
            } => Ok(SessionPrincipal {
                account_id: self.account_id,
                login: self.login,
                session_digest: digest,
                session_id,
                locks,
            }),
            Credential::Token { .. } => Err(Error::SessionRequired),
        }
    }
}

/// A new full session of an account: the token for the client and the records to write.
pub fn new_session(
    account_id: &str,
    login: &str,
    origin: &Origin,
    now: Now,
) -> Result<(String, NewSession), Error> {
    let issued = random::issue(SESSION_PREFIX)?;
    let session = NewSession {
        digest: issued.digest,
        session_id: random::new_id()?,
        account_id: account_id.to_string(),
        login: login.to_string(),
        origin: origin.clone(),
        opened: now,
        expires_at: now.secs() + SESSION_LIFETIME_SECS,
    };
    Ok((issued.token, session))
}

/// Resolves a bearer token with one read. Unknown, expired, revoked or malformed: 401. A personal
/// access token's use is recorded (`last_used_at`, at most once a minute, beside the request).
pub async fn authenticate<S>(store: &S, bearer: &str, now: Now) -> Result<Principal, Error>
where
    S: SessionStore + TokenStore + Clone + 'static,
{
    resolve(store, bearer, now, RecordUse::Yes).await
}

/// The session of a route that takes only sessions: a live personal access token is
/// `403 session_required`, and since it was refused its use is not recorded.
pub async fn authenticate_session<S>(
    store: &S,
    bearer: &str,
    now: Now,
) -> Result<SessionPrincipal, Error>
where
    S: SessionStore + TokenStore + Clone + 'static,
{
    resolve(store, bearer, now, RecordUse::No)
        .await?
        .require_session()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RecordUse {
    Yes,
    No,
}

async fn resolve<S>(
    store: &S,
    bearer: &str,
    now: Now,
    record_use: RecordUse,
) -> Result<Principal, Error>
where
    S: SessionStore + TokenStore + Clone + 'static,
{
    if bearer.starts_with(SESSION_PREFIX) {
        let digest = random::digest(bearer);
        let session = store
            .session(&digest, now)
            .await?
            .ok_or(Error::Unauthorized)?;
        return Ok(Principal {
            account_id: session.account_id,
            login: session.login,
            credential: Credential::Session {
                digest,
                session_id: session.session_id,
                locks: session.locks,
            },
        });
    }
    if bearer.starts_with(access_token::PREFIX) {
        // A typo or a forgery fails the checksum here, without a database read.
        if !access_token::well_formed(bearer) {
            return Err(Error::Unauthorized);
        }
        let digest = random::digest(bearer);
        let token = store
            .token(&digest, now)
            .await?
            .ok_or(Error::Unauthorized)?;
        let stale_before = now.secs() - access_token::LAST_USED_RESOLUTION_SECS;
        let stale = token.last_used_at.is_none_or(|at| at <= stale_before);
        if stale && record_use == RecordUse::Yes {
            record_token_use(store.clone(), digest, now);
        }
        return Ok(Principal {
            account_id: token.account_id,
            login: token.login,
            credential: Credential::Token {
                token_id: token.token_id,
            },
        });
    }
    Err(Error::Unauthorized)
}

/// Records when a token was last used, at most once a minute, off the request's path: the write
/// runs as its own task and the request does not wait for it. On Lambda a task left running when
/// the response goes out finishes when the instance next runs, so the time is a best effort, never
/// later than the truth by more than the resolution.
fn record_token_use<S: TokenStore + 'static>(store: S, digest: String, now: Now) {
    tokio::spawn(async move {
        let stale_before = now.secs() - access_token::LAST_USED_RESOLUTION_SECS;
        if let Err(error) = store
            .record_token_use(&digest, now.secs(), stale_before)
            .await
        {
            tracing::warn!(%error, "could not record when a token was last used");
        }
    });
}

/// Revokes the session presented. Any later use of it is 401.
pub async fn sign_out(
    store: &impl SessionStore,
    principal: &SessionPrincipal,
    origin: &Origin,
    now: Now,
) -> Result<(), Error> {
    let entry = Entry::new(EventKind::SignedOut, origin, now);
    match store.sign_out(principal, &entry).await? {
        Written::Written => {
            tracing::info!(account_id = principal.account_id, "signed out");
            Ok(())
        }
        Written::Gone => Err(Error::Unauthorized),
    }
}

/// The account's live sessions, newest first.
pub async fn live(
    store: &impl SessionStore,
    account_id: &str,
    now: Now,
) -> Result<Vec<ListedSession>, Error> {
    let mut sessions = store.live_sessions(account_id, now).await?;
    sessions.sort_by_key(|session| std::cmp::Reverse(session.created_ms));
    Ok(sessions)
}

/// The account's live sessions but the caller's.
pub async fn others(
    store: &impl SessionStore,
    principal: &SessionPrincipal,
    now: Now,
) -> Result<Vec<ListedSession>, Error> {
    let mut sessions = live(store, &principal.account_id, now).await?;
    sessions.retain(|session| session.session_id != principal.session_id);
    Ok(sessions)
}

/// A listed session, and whether it is the caller's.
#[derive(Debug, Clone)]
pub struct SessionSummary {
    pub session: ListedSession,
    pub current: bool,
}

/// `GET /v1/sessions`: the account's live sessions, newest first.
pub async fn list(
    store: &impl SessionStore,
    principal: &SessionPrincipal,
    now: Now,
) -> Result<Vec<SessionSummary>, Error> {
    Ok(live(store, &principal.account_id, now)
        .await?
        .into_iter()
        .map(|session| SessionSummary {
            current: session.session_id == principal.session_id,
            session,
        })
        .collect())
}

/// Whether a path id can be a session id: 32 hex digits.
fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `DELETE /v1/sessions/{session_id}`: ends one of the account's sessions at once; another
/// account's or an unknown id is `404 not_found`.
pub async fn end(
    store: &impl SessionStore,
    principal: &SessionPrincipal,
    session_id: &str,
    origin: &Origin,
    now: Now,
) -> Result<(), Error> {
    if !valid_id(session_id) {
        return Err(Error::NotFound);
    }
    let account_id = principal.account_id.as_str();
    let session = store
        .listed_session(account_id, session_id, now)
        .await?
        .ok_or(Error::NotFound)?;
    let kind = if session.session_id == principal.session_id {
        EventKind::SignedOut
    } else {
        EventKind::SessionEnded
    };
    match store
        .end_session(account_id, &session, &Entry::new(kind, origin, now))
        .await?
    {
        Written::Written => {
            tracing::info!(account_id, "session ended");
            Ok(())
        }
        // Ended (or signed out) by a concurrent request meanwhile: that one answered for it.
        Written::Gone => Err(Error::NotFound),
    }
}

/// `POST /v1/sessions/end-others`: after the password, every session of the account but the
/// caller's ends. Returns how many did.
pub async fn end_others<S>(
    store: &S,
    principal: &SessionPrincipal,
    password: &str,
    origin: &Origin,
    now: Now,
) -> Result<usize, Error>
where
    S: SessionStore + ThrottleStore,
{
    confirm_password(store, principal, password, origin, now).await?;
    let account_id = principal.account_id.as_str();
    let others = others(store, principal, now).await?;
    // The password was right: its count starts again, with the first write.
    store
        .end_sessions(account_id, &others, origin, now, true)
        .await?;
    tracing::info!(account_id, ended = others.len(), "other sessions ended");
    Ok(others.len())
}
