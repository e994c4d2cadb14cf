//! The session items: a session (or an `mfa_token`) keyed by the digest of its token, and a
//! session's listing entry under its account.

use super::events::event_put;
use super::item::*;
use super::profile::{locks_in, opening_session, password_reset, while_two_factor};
use super::{keys, StorageError, Store, Transaction};
use crate::domain::ports::*;
use crate::domain::records::*;
use crate::domain::second_factor::MFA_TOKEN_MAX_ATTEMPTS;
use crate::domain::{Now, Origin};
use aws_sdk_dynamodb::types::TransactWriteItem;

/// How many sessions one transaction ends (3 writes each: session, listing, entry), well inside
/// DynamoDB's 100 items a transaction.
pub const ENDED_PER_TRANSACTION: usize = 30;

const FULL: &str = "full";
const MFA_PENDING: &str = "mfa_pending";

fn listed_of(item: &Item) -> Option<ListedSession> {
    Some(ListedSession {
        session_id: get_s(item, "session_id")?.to_string(),
        digest: get_s(item, "digest")?.to_string(),
        created_ms: get_n(item, "created_ms")?,
        expires_at: get_n(item, "expires_at")?,
        ip: get_s(item, "ip").unwrap_or_default().to_string(),
        user_agent: get_s(item, "user_agent").unwrap_or_default().to_string(),
    })
}

/// The writes of a new full session: its item and its listing entry.
pub(super) fn open_writes(
    store: &Store,
    session: &NewSession,
) -> Result<Vec<TransactWriteItem>, StorageError> {
    let mut item = key_item(keys::session(&session.digest));
    item.insert("account_id".into(), s(&session.account_id));
    item.insert("login".into(), s(&session.login));
    item.insert("kind".into(), s(FULL));
    item.insert("session_id".into(), s(&session.session_id));
    item.insert("created_at".into(), n(session.opened.secs()));
    item.insert("expires_at".into(), n(session.expires_at));
    let mut listing = key_item(keys::session_listing(
        &session.account_id,
        &session.session_id,
    ));
    listing.insert("session_id".into(), s(&session.session_id));
    listing.insert("digest".into(), s(&session.digest));
    listing.insert("created_ms".into(), n(session.opened.millis));
    listing.insert("expires_at".into(), n(session.expires_at));
    listing.insert("ip".into(), s(&session.origin.ip));
    listing.insert("user_agent".into(), s(&session.origin.user_agent));
    Ok(vec![
        store.table_put(item, Some("attribute_not_exists(pk)"))?,
        store.table_put(listing, Some("attribute_not_exists(pk)"))?,
    ])
}

/// The `mfa_token` goes with the session it opens, if it has attempts left.
pub(super) fn spend_mfa_token(
    store: &Store,
    mfa_digest: &str,
) -> Result<TransactWriteItem, StorageError> {
    store.table_delete_if(
        keys::session(mfa_digest),
        "attempts < :max",
        ":max",
        n(MFA_TOKEN_MAX_ATTEMPTS),
    )
}

/// One more wrong code on an `mfa_token` that still exists.
pub(super) fn count_wrong_code(
    store: &Store,
    mfa_digest: &str,
) -> Result<TransactWriteItem, StorageError> {
    store.table_update(
        ConditionalUpdate::new(keys::session(mfa_digest))
            .add_to("attempts :one")
            .condition("attribute_exists(pk)")
            .value(":one", n(1)),
    )
}

/// The writes that end one session: both its items and its entry; `listing_condition` on the
/// listing entry's delete.
fn end_writes(
    store: &Store,
    account_id: &str,
    session: &ListedSession,
    listing_condition: Option<&str>,
    entry: &Entry,
) -> Result<Vec<TransactWriteItem>, StorageError> {
    Ok(vec![
        store.table_delete(keys::session(&session.digest), None)?,
        store.table_delete(
            keys::session_listing(account_id, &session.session_id),
            listing_condition,
        )?,
        event_put(store, account_id, entry)?,
    ])
}

/// The writes that end every session given, `ENDED_PER_TRANSACTION` to a transaction.
pub(super) fn end_all_writes(
    store: &Store,
    account_id: &str,
    sessions: &[ListedSession],
    origin: &Origin,
    at: Now,
) -> Result<Vec<Vec<TransactWriteItem>>, StorageError> {
    let entry = Entry::new(EventKind::SessionEnded, origin, at);
    sessions
        .chunks(ENDED_PER_TRANSACTION)
        .map(|chunk| {
            let mut writes = Vec::new();
            for session in chunk {
                writes.extend(end_writes(store, account_id, session, None, &entry)?);
            }
            Ok(writes)
        })
        .collect()
}

impl SessionStore for Store {
    async fn session(&self, digest: &str, now: Now) -> Stored<Option<SessionRecord>> {
        let Some(item) = self.get_live(keys::session(digest), now).await? else {
            return Ok(None);
        };
        // A session without a listed id predates the session listing: it could be neither
        // listed nor ended, so it is refused (its owner signs in again).
        let (Some(FULL), Some(session_id)) = (get_s(&item, "kind"), get_s(&item, "session_id"))
        else {
            return Ok(None);
        };
        Ok(Some(SessionRecord {
            account_id: required_s(&item, "account_id")?,
            login: required_s(&item, "login")?,
            session_id: session_id.to_string(),
            locks: locks_in(&item),
        }))
    }

    async fn mfa_pending(&self, digest: &str, now: Now) -> Stored<Option<MfaPending>> {
        let Some(item) = self.get_live(keys::session(digest), now).await? else {
            return Ok(None);
        };
        if get_s(&item, "kind") != Some(MFA_PENDING) {
            return Ok(None);
        }
        Ok(Some(MfaPending {
            account_id: required_s(&item, "account_id")?,
            login: required_s(&item, "login")?,
            generation: get_n(&item, "generation").unwrap_or(0),
            attempts: get_n(&item, "attempts").unwrap_or(0),
            locks: locks_in(&item),
        }))
    }

    async fn live_sessions(&self, account_id: &str, now: Now) -> Stored<Vec<ListedSession>> {
        let items = self
            .query_live(&keys::account_partition(account_id), "SESSION#", now)
            .await?;
        Ok(items.iter().filter_map(listed_of).collect())
    }

    async fn listed_session(
        &self,
        account_id: &str,
        session_id: &str,
        now: Now,
    ) -> Stored<Option<ListedSession>> {
        Ok(self
            .get_live(keys::session_listing(account_id, session_id), now)
            .await?
            .as_ref()
            .and_then(listed_of))
    }

    async fn open_session(
        &self,
        session: &NewSession,
        rehash: Option<&str>,
        entry: &Entry,
    ) -> Stored<SessionOpened> {
        let account_id = &session.account_id;
        let update = while_two_factor(opening_session(password_reset(account_id, rehash)), false);
        let mut writes = vec![self.table_update(update)?];
        writes.extend(open_writes(self, session)?);
        writes.push(event_put(self, account_id, entry)?);
        let outcome = self.transact(writes).await?;
        if outcome == Transaction::Committed {
            Ok(SessionOpened::Opened)
        } else if outcome.first_failed() {
            Ok(SessionOpened::TwoFactorEnabled)
        } else {
            Err(StorageError::Internal)
        }
    }

    async fn issue_mfa_token(
        &self,
        pending: &NewMfaPending,
        rehash: Option<&str>,
    ) -> Stored<Written> {
        let mut item = key_item(keys::session(&pending.digest));
        item.insert("account_id".into(), s(&pending.account_id));
        item.insert("login".into(), s(&pending.login));
        item.insert("kind".into(), s(MFA_PENDING));
        item.insert("generation".into(), n(pending.generation));
        item.insert("created_at".into(), n(pending.created.secs()));
        item.insert("expires_at".into(), n(pending.expires_at));
        item.insert("attempts".into(), n(0));
        let writes = vec![
            self.table_put(item, Some("attribute_not_exists(pk)"))?,
            self.table_update(password_reset(&pending.account_id, rehash))?,
        ];
        Ok(if self.commits(writes).await? {
            Written::Written
        } else {
            Written::Gone
        })
    }

    async fn sign_out(&self, principal: &SessionPrincipal, entry: &Entry) -> Stored<Written> {
        let account_id = &principal.account_id;
        let writes = vec![
            self.table_delete(
                keys::session(&principal.session_digest),
                Some("attribute_exists(pk)"),
            )?,
            self.table_delete(
                keys::session_listing(account_id, &principal.session_id),
                None,
            )?,
            event_put(self, account_id, entry)?,
        ];
        Ok(if self.commits(writes).await? {
            Written::Written
        } else {
            Written::Gone
        })
    }

    async fn end_session(
        &self,
        account_id: &str,
        session: &ListedSession,
        entry: &Entry,
    ) -> Stored<Written> {
        let writes = end_writes(
            self,
            account_id,
            session,
            Some("attribute_exists(pk)"),
            entry,
        )?;
        Ok(if self.commits(writes).await? {
            Written::Written
        } else {
            Written::Gone
        })
    }

    async fn end_sessions(
        &self,
        account_id: &str,
        sessions: &[ListedSession],
        origin: &Origin,
        at: Now,
        reset_password: bool,
    ) -> Stored<()> {
        let mut transactions = end_all_writes(self, account_id, sessions, origin, at)?;
        if reset_password {
            let reset = self.table_update(password_reset(account_id, None))?;
            match transactions.first_mut() {
                Some(first) => first.push(reset),
                None => transactions.push(vec![reset]),
            }
        }
        for writes in transactions {
            self.write_all(writes).await?;
        }
        Ok(())
    }
}
