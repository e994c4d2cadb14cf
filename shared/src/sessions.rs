//! Sessions: what a signed-in client holds, listed and ended by their owner.
//!
//! Two items per session: the session itself, keyed by the digest of its token (what every
//! authenticated request reads, in one GetItem), and a listing entry under the account, keyed by
//! an opaque session id (what list, end and end-others read, with a Query, never a Scan). Both are
//! written and deleted together, in one transaction. An `mfa_token` has the first item only: it
//! is no session until the second factor makes it one.

use crate::auth::{SessionPrincipal, SESSION_LIFETIME_SECS};
use crate::error::ApiError;
use crate::events::EventKind;
use crate::http::Client;
use crate::store::{get_n, get_s, key_item, keys, n, s, Item, Store, StoreError};
use crate::token;
use crate::Now;
use aws_sdk_dynamodb::types::TransactWriteItem;

/// How many sessions one transaction ends (3 writes each: session, listing, event).
pub const ENDED_PER_TRANSACTION: usize = 30;

pub fn listing_key(account_id: &str, session_id: &str) -> (String, String) {
    (
        format!("ACCOUNT#{account_id}"),
        format!("SESSION#{session_id}"),
    )
}

/// A session about to be opened: its token (for the client), its id, and the writes that open it.
pub struct Opening {
    pub token: String,
    pub session_id: String,
    pub writes: Vec<TransactWriteItem>,
}

/// The writes of a new full session for an account: the session item and its listing entry.
pub fn open(
    store: &Store,
    account_id: &str,
    login: &str,
    client: &Client,
    now: Now,
) -> Result<Opening, ApiError> {
    let issued = token::issue(token::SESSION_PREFIX)?;
    let session_id = token::hex(&token::random_bytes::<16>()?);
    let expires_at = now.secs() + SESSION_LIFETIME_SECS;
    let mut session = key_item(keys::session(&issued.digest));
    session.insert("account_id".into(), s(account_id));
    session.insert("login".into(), s(login));
    session.insert("kind".into(), s("full"));
    session.insert("session_id".into(), s(&session_id));
    session.insert("created_at".into(), n(now.secs()));
    session.insert("expires_at".into(), n(expires_at));
    let mut listing = key_item(listing_key(account_id, &session_id));
    listing.insert("session_id".into(), s(&session_id));
    listing.insert("digest".into(), s(&issued.digest));
    listing.insert("created_ms".into(), n(now.millis));
    listing.insert("expires_at".into(), n(expires_at));
    listing.insert("ip".into(), s(&client.ip));
    listing.insert("user_agent".into(), s(&client.user_agent));
    Ok(Opening {
        token: issued.token,
        session_id,
        writes: vec![
            store.table_put(session, Some("attribute_not_exists(pk)"))?,
            store.table_put(listing, Some("attribute_not_exists(pk)"))?,
        ],
    })
}

/// A listed session.
#[derive(Debug, Clone)]
pub struct Listed {
    pub session_id: String,
    digest: String,
    /// When it was opened, in epoch milliseconds.
    pub created_ms: i64,
    pub expires_at: i64,
    pub ip: String,
    pub user_agent: String,
}

impl Listed {
    fn from_item(item: &Item) -> Option<Listed> {
        Some(Listed {
            session_id: get_s(item, "session_id")?.to_string(),
            digest: get_s(item, "digest")?.to_string(),
            created_ms: get_n(item, "created_ms")?,
            expires_at: get_n(item, "expires_at")?,
            ip: get_s(item, "ip").unwrap_or_default().to_string(),
            user_agent: get_s(item, "user_agent").unwrap_or_default().to_string(),
        })
    }
}

/// The account's live sessions, newest first.
pub async fn live(store: &Store, account_id: &str, now: Now) -> Result<Vec<Listed>, StoreError> {
    let (pk, _) = keys::account(account_id);
    let items = store.query_live(&pk, "SESSION#", now).await?;
    let mut sessions: Vec<Listed> = items.iter().filter_map(Listed::from_item).collect();
    sessions.sort_by_key(|session| std::cmp::Reverse(session.created_ms));
    Ok(sessions)
}

/// The account's live sessions but the caller's.
pub async fn others(
    store: &Store,
    principal: &SessionPrincipal,
    now: Now,
) -> Result<Vec<Listed>, StoreError> {
    let mut sessions = live(store, &principal.account_id, now).await?;
    sessions.retain(|session| session.session_id != principal.session_id);
    Ok(sessions)
}

/// The writes that end one session: both its items, and a `session_ended` entry (or, for the
/// caller's own session at sign-out, `signed_out`).
pub fn end_writes(
    store: &Store,
    account_id: &str,
    session: &Listed,
    kind: EventKind,
    client: &Client,
    now: Now,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    end_writes_if(store, account_id, session, None, kind, client, now)
}

/// `end_writes`, with a condition on the listing entry's delete.
fn end_writes_if(
    store: &Store,
    account_id: &str,
    session: &Listed,
    listing_condition: Option<&str>,
    kind: EventKind,
    client: &Client,
    now: Now,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    Ok(vec![
        store.table_delete(keys::session(&session.digest), None)?,
        store.table_delete(
            listing_key(account_id, &session.session_id),
            listing_condition,
        )?,
        store.event_put(account_id, kind, client, now)?,
    ])
}

/// `GET /v1/sessions`
pub async fn list(
    store: &Store,
    principal: &SessionPrincipal,
    now: Now,
) -> Result<Vec<serde_json::Value>, ApiError> {
    Ok(live(store, &principal.account_id, now)
        .await?
        .iter()
        .map(|session| {
            serde_json::json!({
                "id": session.session_id,
                "created_at": crate::rfc3339(session.created_ms.div_euclid(1000)),
                "expires_at": crate::rfc3339(session.expires_at),
                "ip": session.ip,
                "user_agent": session.user_agent,
                "current": session.session_id == principal.session_id,
            })
        })
        .collect())
}

/// `DELETE /v1/sessions/{session_id}`: ends one of the account's sessions at once; another
/// account's or an unknown id is `404 not_found`.
pub async fn end(
    store: &Store,
    principal: &SessionPrincipal,
    session_id: &str,
    client: &Client,
    now: Now,
) -> Result<(), ApiError> {
    let valid_id = session_id.len() == 32 && session_id.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid_id {
        return Err(ApiError::NotFound);
    }
    let account_id = principal.account_id.as_str();
    let session = store
        .get_live(listing_key(account_id, session_id), now)
        .await?
        .as_ref()
        .and_then(Listed::from_item)
        .ok_or(ApiError::NotFound)?;
    let kind = if session.session_id == principal.session_id {
        EventKind::SignedOut
    } else {
        EventKind::SessionEnded
    };
    // Ended (or signed out) by a concurrent request meanwhile: that one answered for it.
    let writes = end_writes_if(
        store,
        account_id,
        &session,
        Some("attribute_exists(pk)"),
        kind,
        client,
        now,
    )?;
    store.commit(writes, ApiError::NotFound).await?;
    tracing::info!(account_id, "session ended");
    Ok(())
}

/// The writes that end every session in `sessions`, `ENDED_PER_TRANSACTION` to a transaction.
pub fn end_all_writes(
    store: &Store,
    account_id: &str,
    sessions: &[Listed],
    client: &Client,
    now: Now,
) -> Result<Vec<Vec<TransactWriteItem>>, StoreError> {
    let mut transactions = Vec::new();
    for chunk in sessions.chunks(ENDED_PER_TRANSACTION) {
        let mut writes = Vec::new();
        for session in chunk {
            writes.extend(end_writes(
                store,
                account_id,
                session,
                EventKind::SessionEnded,
                client,
                now,
            )?);
        }
        transactions.push(writes);
    }
    Ok(transactions)
}

/// `POST /v1/sessions/end-others`: after the password, every session of the account but the
/// caller's ends. Returns how many did.
pub async fn end_others(
    store: &Store,
    principal: &SessionPrincipal,
    password: &str,
    client: &Client,
    now: Now,
) -> Result<usize, ApiError> {
    crate::two_factor::confirm_password(store, principal, password, client, now).await?;
    let account_id = principal.account_id.as_str();
    let others = others(store, principal, now).await?;
    let mut transactions = end_all_writes(store, account_id, &others, client, now)?;
    // The password was right: its count starts again, with the first transaction.
    let reset = store.table_update(crate::throttle::Counter::Password.reset(account_id))?;
    match transactions.first_mut() {
        Some(first) => first.push(reset),
        None => transactions.push(vec![reset]),
    }
    for writes in transactions {
        store.write_all(writes).await?;
    }
    tracing::info!(account_id, ended = others.len(), "other sessions ended");
    Ok(others.len())
}
