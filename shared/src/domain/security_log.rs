//! The security log: what happened to an account, for its owner to review. Every change and
//! every failed attempt writes its entry in the same write as the change itself.

use super::error::Error;
use super::ports::SecurityLogStore;
use super::records::LogPage;
use super::Now;

/// Entries are kept for a year.
pub const RETENTION_SECS: i64 = 365 * 24 * 3600;
/// Entries per page of the security log.
pub const PAGE_SIZE: i32 = 50;

/// One page of an account's security log, newest first, and the cursor of the next page. Entries
/// past their year are never listed, whether or not the store has deleted them yet.
pub async fn page(
    store: &impl SecurityLogStore,
    account_id: &str,
    cursor: Option<&str>,
    now: Now,
) -> Result<LogPage, Error> {
    store
        .log_page(account_id, cursor, PAGE_SIZE, now)
        .await?
        .ok_or_else(|| Error::InvalidRequest("The query parameter `cursor` is not valid.".into()))
}
