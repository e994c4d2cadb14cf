//! Throttling of guesses, counted in DynamoDB so that every request and Lambda instance shares
//! the count.
//!
//! An attempt is *reserved* before the guess is checked: the count goes up first, with a
//! condition that the subject is not locked, and a success resets it. So a burst of concurrent
//! guesses cannot all be checked against a count that none of them has raised yet: of any number
//! of simultaneous attempts, at most `threshold` are checked before the lock holds.

use crate::store::{get_n, n, ConditionalUpdate, Item, Store, StoreError};
use crate::Now;

/// The longest wait, 15 minutes.
pub const MAX_WAIT_SECS: i64 = 15 * 60;
/// The first wait, after the threshold-th consecutive failure.
pub const FIRST_WAIT_SECS: i64 = 30;
/// How long an unknown login's count is kept after its last attempt (cleanup only).
pub const UNKNOWN_LOGIN_RETENTION_SECS: i64 = 30 * 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// Wrong passwords for a login (SignIn and the password-confirmed routes).
    Password,
    /// Wrong authenticator or recovery codes for an account, across all its `mfa_token`s.
    SecondFactor,
}

impl Counter {
    pub fn threshold(self) -> i64 {
        match self {
            Counter::Password => 10,
            Counter::SecondFactor => 5,
        }
    }
    fn failures(self) -> &'static str {
        match self {
            Counter::Password => "pw_failures",
            Counter::SecondFactor => "mfa_failures",
        }
    }
    fn locked_until(self) -> &'static str {
        match self {
            Counter::Password => "pw_locked_until",
            Counter::SecondFactor => "mfa_locked_until",
        }
    }

    /// The fixed suffix of the `throttled` entry of a lock on this counter.
    fn event_suffix(self) -> &'static str {
        match self {
            Counter::Password => "00000001",
            Counter::SecondFactor => "00000002",
        }
    }

    /// The update that a success merges into its write: the count starts again (on an account
    /// that exists; a reset never creates an item).
    pub fn reset(self, account_id: &str) -> ConditionalUpdate {
        ConditionalUpdate::new(crate::store::keys::account(account_id))
            .set(format!("{} = :throttle_zero", self.failures()))
            .remove(self.locked_until())
            .condition("attribute_exists(pk)")
            .value(":throttle_zero", n(0))
    }
}

/// The wait after `failures` consecutive failures: none below the threshold, then 30 s doubling
/// with each further failure, at most 15 minutes.
pub fn wait_after(failures: i64, threshold: i64) -> Option<i64> {
    if failures < threshold {
        return None;
    }
    let doublings = (failures - threshold).min(16) as u32;
    Some((FIRST_WAIT_SECS << doublings).min(MAX_WAIT_SECS))
}

/// Whose attempts are counted.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    Account(&'a str),
    /// A login without an account: counted in an item of its own, exactly like an account.
    UnknownLogin(&'a str),
}

#[derive(Debug)]
enum Reservation {
    /// The attempt may be checked; for an account, the item as it is now.
    Granted(Item),
    /// Locked: come back after this many seconds. `lock_started_at` identifies the lock (None when
    /// the attempt lost to too many concurrent ones rather than to a lock).
    Throttled {
        retry_after: u64,
        lock_started_at: Option<i64>,
    },
    /// The account does not exist (any more).
    Missing,
}

/// Counts one attempt before it is checked, unless the subject is locked.
async fn reserve(
    store: &Store,
    subject: Subject<'_>,
    counter: Counter,
    now: Now,
) -> Result<Reservation, StoreError> {
    let threshold = counter.threshold();
    let mut seen: Option<(i64, i64)> = None;
    // Each round either succeeds or learns the current count; contention ends within a few rounds.
    for _ in 0..6 {
        let base = match subject {
            Subject::Account(account_id) => {
                ConditionalUpdate::new(crate::store::keys::account(account_id))
                    .condition("attribute_exists(pk)")
            }
            Subject::UnknownLogin(login) => {
                ConditionalUpdate::new(crate::store::keys::login_throttle(login))
                    .set("expires_at = :retain")
                    .value(":retain", n(now.secs() + UNKNOWN_LOGIN_RETENTION_SECS))
            }
        }
        .name("#failures", counter.failures());
        let below_threshold = seen.is_none_or(|(failures, _)| failures + 1 < threshold);
        let update = if below_threshold {
            // Below the threshold after this attempt: a plain atomic increment.
            base.set("#failures = if_not_exists(#failures, :zero) + :one")
                .condition("attribute_not_exists(#failures) OR #failures < :below")
                .value(":zero", n(0))
                .value(":one", n(1))
                .value(":below", n(threshold - 1))
        } else {
            // At or past the threshold: this attempt, if it fails, starts the next wait. The lock
            // is set now, with the count, so that concurrent attempts find it at once.
            let (failures, locked_until) = seen.unwrap_or_default();
            if locked_until > now.secs() {
                let wait = wait_after(failures, threshold).unwrap_or(FIRST_WAIT_SECS);
                return Ok(Reservation::Throttled {
                    retry_after: (locked_until - now.secs()) as u64,
                    lock_started_at: Some(locked_until - wait),
                });
            }
            let wait = wait_after(failures + 1, threshold).unwrap_or(FIRST_WAIT_SECS);
            base.name("#locked", counter.locked_until())
                .set("#failures = :next")
                .set("#locked = :lock")
                .condition(
                    "#failures = :seen AND (attribute_not_exists(#locked) OR #locked <= :now)",
                )
                .value(":next", n(failures + 1))
                .value(":seen", n(failures))
                .value(":lock", n(now.secs() + wait))
                .value(":now", n(now.secs()))
        };
        match store.update(update).await? {
            Ok(item) => return Ok(Reservation::Granted(item)),
            Err(None) => {
                if matches!(subject, Subject::Account(_)) {
                    return Ok(Reservation::Missing);
                }
                seen = Some((0, 0));
            }
            Err(Some(old)) => {
                seen = Some((
                    get_n(&old, counter.failures()).unwrap_or(0),
                    get_n(&old, counter.locked_until()).unwrap_or(0),
                ));
            }
        }
    }
    Ok(Reservation::Throttled {
        retry_after: 1,
        lock_started_at: None,
    })
}

/// Reserves an attempt, or refuses it with 429 while the subject is locked; a refusal on an
/// account goes into its security log. `None`: the account does not exist (any more).
pub async fn admit(
    store: &Store,
    subject: Subject<'_>,
    counter: Counter,
    client: &crate::http::Client,
    now: Now,
) -> Result<Option<Item>, crate::ApiError> {
    match reserve(store, subject, counter, now).await? {
        Reservation::Granted(item) => Ok(Some(item)),
        Reservation::Missing => Ok(None),
        Reservation::Throttled {
            retry_after,
            lock_started_at,
        } => {
            // One `throttled` entry per lock and counter, however many attempts it refuses: the
            // entry's key is derived from the lock, and a second put of it does nothing.
            if let (Subject::Account(account_id), Some(started)) = (subject, lock_started_at) {
                let sort = crate::store::event_sort_key(started * 1000, counter.event_suffix());
                let event = crate::store::event_item_with_key(
                    account_id,
                    &sort,
                    crate::events::EventKind::Throttled,
                    client,
                    now,
                );
                store.put_if_absent(event).await?;
            }
            Err(crate::ApiError::TooManyAttempts { retry_after })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_wait_below_the_threshold() {
        for failures in 0..5 {
            assert_eq!(wait_after(failures, 5), None);
        }
    }

    #[test]
    fn thirty_seconds_after_the_threshold_then_doubling_up_to_fifteen_minutes() {
        let waits: Vec<i64> = (5..12)
            .map(|failures| wait_after(failures, 5).unwrap())
            .collect();
        assert_eq!(waits, vec![30, 60, 120, 240, 480, 900, 900]);
        assert_eq!(wait_after(10, 10), Some(30));
        assert_eq!(wait_after(1_000, 10), Some(900));
    }
}
