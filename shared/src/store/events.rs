//! The security log's items: one per entry under the account, sorted by instant, kept for a year.

use super::item::*;
use super::{keys, StorageError, Store};
use crate::crypto::random;
use crate::domain::ports::{SecurityLogStore, Stored};
use crate::domain::records::{Entry, LogPage, LoggedEntry};
use crate::domain::security_log::RETENTION_SECS;
use crate::domain::Now;
use aws_sdk_dynamodb::types::TransactWriteItem;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

const SORT_PREFIX: &str = "EVENT#";

/// The sort key of an entry: its instant, then a random suffix that keeps keys apart.
fn sort_key(millis: i64, suffix: &str) -> String {
    format!("{SORT_PREFIX}{millis:013}#{suffix}")
}

/// An entry's item, ready to be written.
pub fn event_item(account_id: &str, entry: &Entry) -> Result<Item, StorageError> {
    let suffix = random::hex(&random::random_bytes::<4>().map_err(|_| StorageError::Internal)?);
    let mut item = key_item(keys::event(account_id, &sort_key(entry.at.millis, &suffix)));
    item.insert("type".into(), s(entry.kind.as_str()));
    item.insert("at".into(), n(entry.at.secs()));
    item.insert("ip".into(), s(entry.origin.ip.clone()));
    item.insert("user_agent".into(), s(entry.origin.user_agent.clone()));
    item.insert("expires_at".into(), n(entry.at.secs() + RETENTION_SECS));
    Ok(item)
}

/// The entry's put in a transaction.
pub(super) fn event_put(
    store: &Store,
    account_id: &str,
    entry: &Entry,
) -> Result<TransactWriteItem, StorageError> {
    store.table_put(event_item(account_id, entry)?, None)
}

fn logged_of(item: &Item) -> LoggedEntry {
    LoggedEntry {
        kind: get_s(item, "type").unwrap_or_default().to_string(),
        at: get_n(item, "at").unwrap_or_default(),
        ip: get_s(item, "ip").unwrap_or_default().to_string(),
        user_agent: get_s(item, "user_agent").unwrap_or_default().to_string(),
    }
}

/// A cursor is the opaque form of an entry's sort key.
fn encode_cursor(sort_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(sort_key)
}

/// The sort key of a cursor this store handed out; None for anything else.
fn decode_cursor(cursor: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let sort = String::from_utf8(bytes).ok()?;
    let valid = sort.strip_prefix(SORT_PREFIX).is_some_and(|rest| {
        rest.len() <= 40 && rest.chars().all(|c| c.is_ascii_hexdigit() || c == '#')
    });
    valid.then_some(sort)
}

impl SecurityLogStore for Store {
    async fn log_page(
        &self,
        account_id: &str,
        cursor: Option<&str>,
        limit: i32,
        now: Now,
    ) -> Stored<Option<LogPage>> {
        let after = match cursor.map(decode_cursor) {
            Some(None) => return Ok(None),
            Some(Some(sort)) => Some(sort),
            None => None,
        };
        let (items, last) = self
            .query_page(
                &keys::account_partition(account_id),
                SORT_PREFIX,
                after.as_deref(),
                limit,
            )
            .await?;
        // Newest first: once one entry is past its year, every later one is too.
        let live: Vec<&Item> = items.iter().take_while(|item| is_live(item, now)).collect();
        let next = if live.len() < items.len() { None } else { last };
        Ok(Some(LogPage {
            entries: live.into_iter().map(logged_of).collect(),
            next_cursor: next.map(|sort| encode_cursor(&sort)),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_nothing_else_is_accepted() {
        let sort = "EVENT#1764457281123#0a1b2c3d";
        assert_eq!(decode_cursor(&encode_cursor(sort)).as_deref(), Some(sort));
        for bad in [
            "",
            "!!",
            &encode_cursor("SESSION#abc"),
            &encode_cursor("EVENT#../x"),
        ] {
            assert!(decode_cursor(bad).is_none(), "{bad}");
        }
    }
}
