//! Throttling of guesses, counted in DynamoDB so that every request and Lambda instance shares
//! the count.
//!
//! An attempt is *reserved* before the guess is checked: the count goes up first, with a
//! condition that the subject is not locked, and a success resets it. So a burst of concurrent
//! guesses cannot all be checked against a count that none of them has raised yet: of any number
//! of simultaneous attempts, at most `threshold` are checked before the lock holds.

use crate::events::EventKind;
use crate::http::Client;
use crate::store::{get_n, n, ConditionalUpdate, Item, Store, StoreError};
use crate::Now;
use aws_sdk_dynamodb::types::TransactWriteItem;

/// The longest wait, 15 minutes.
pub const MAX_WAIT_SECS: i64 = 15 * 60;
/// The first wait, after the threshold-th consecutive failure.
pub const FIRST_WAIT_SECS: i64 = 30;
/// How long a count of consecutive failures lasts after its last failure, for an account and for
/// an unknown login alike: after that it starts again (an unknown login's item also expires then).
pub const COUNT_LIFETIME_SECS: i64 = 30 * 24 * 3600;

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
    fn last_failure(self) -> &'static str {
        match self {
            Counter::Password => "pw_last_at",
            Counter::SecondFactor => "mfa_last_at",
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

impl Subject<'_> {
    fn key(self) -> (String, String) {
        match self {
            Subject::Account(account_id) => crate::store::keys::account(account_id),
            Subject::UnknownLogin(login) => crate::store::keys::login_throttle(login),
        }
    }
}

/// An attempt that may be checked.
#[derive(Debug)]
pub struct Admission {
    /// The subject's item as it is now (for an account: the account).
    pub item: Item,
    /// This attempt, if it fails, is the one that starts a lock: its failure writes the lock's
    /// single `throttled` entry, right after its own.
    pub starts_lock: bool,
}

#[derive(Debug)]
enum Reservation {
    Granted(Admission),
    /// Locked: come back after this many seconds.
    Throttled {
        retry_after: u64,
    },
    /// The account does not exist (any more), or its `precondition` does not hold.
    Refused(Option<Item>),
}

/// What the count of a subject looked like when a reservation lost its condition.
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    failures: i64,
    locked_until: i64,
    /// When the last attempt was counted (0: never, or before stamps were kept).
    last_at: i64,
}

/// A state the subject's item must be in for the attempt to be counted at all: when it is not,
/// nothing is counted and the caller gets the item as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    None,
    /// Two-factor authentication is off (confirming a setup: guesses against an enabled
    /// account's setup must not count against its sign-ins).
    TwoFactorOff,
}

impl Precondition {
    fn apply(self, update: ConditionalUpdate) -> ConditionalUpdate {
        match self {
            Precondition::None => update,
            Precondition::TwoFactorOff => update.condition("tf_enabled = :precondition_off").value(
                ":precondition_off",
                aws_sdk_dynamodb::types::AttributeValue::Bool(false),
            ),
        }
    }
    fn holds(self, item: &Item) -> bool {
        match self {
            Precondition::None => true,
            Precondition::TwoFactorOff => !crate::two_factor::is_enabled(item),
        }
    }
}

/// Counts one attempt before it is checked, unless the subject is locked.
async fn reserve(
    store: &Store,
    subject: Subject<'_>,
    counter: Counter,
    precondition: Precondition,
    now: Now,
) -> Result<Reservation, StoreError> {
    let threshold = counter.threshold();
    let stale_before = now.secs() - COUNT_LIFETIME_SECS;
    let mut seen: Option<Seen> = None;
    // Each round either succeeds or learns the current count; contention ends within a few rounds.
    for _ in 0..6 {
        let mut base = ConditionalUpdate::new(subject.key())
            .name("#failures", counter.failures())
            .name("#last", counter.last_failure())
            .set("#last = :now_s")
            .value(":now_s", n(now.secs()));
        base = match subject {
            Subject::Account(_) => base.condition("attribute_exists(pk)"),
            // The same lifetime as an account's count (see COUNT_LIFETIME_SECS); TTL cleans up.
            Subject::UnknownLogin(_) => base
                .set("expires_at = :retain")
                .value(":retain", n(now.secs() + COUNT_LIFETIME_SECS)),
        };
        base = precondition.apply(base);
        let stale = seen.is_some_and(|seen| seen.last_at > 0 && seen.last_at <= stale_before);
        let below_threshold = seen.is_none_or(|seen| seen.failures + 1 < threshold);
        let mut starts_lock = false;
        let update = if stale {
            // The last failure is older than a count's lifetime: the count starts again.
            let seen = seen.unwrap_or_default();
            base.name("#locked", counter.locked_until())
                .set("#failures = :one")
                .remove("#locked")
                .condition("#last = :seen_last")
                .value(":one", n(1))
                .value(":seen_last", n(seen.last_at))
        } else if below_threshold {
            // Below the threshold after this attempt: a plain atomic increment.
            base.set("#failures = if_not_exists(#failures, :zero) + :one")
                .condition("attribute_not_exists(#failures) OR #failures < :below")
                .condition("attribute_not_exists(#last) OR #last > :stale")
                .value(":zero", n(0))
                .value(":one", n(1))
                .value(":below", n(threshold - 1))
                .value(":stale", n(stale_before))
        } else {
            // At or past the threshold: this attempt, if it fails, starts the next wait. The lock
            // is set now, with the count, so that concurrent attempts find it at once.
            let seen = seen.unwrap_or_default();
            if seen.locked_until > now.secs() {
                return Ok(Reservation::Throttled {
                    retry_after: (seen.locked_until - now.secs()) as u64,
                });
            }
            starts_lock = true;
            let wait = wait_after(seen.failures + 1, threshold).unwrap_or(FIRST_WAIT_SECS);
            base.name("#locked", counter.locked_until())
                .set("#failures = :next")
                .set("#locked = :lock")
                .condition(
                    "#failures = :seen AND (attribute_not_exists(#locked) OR #locked <= :now)",
                )
                .value(":next", n(seen.failures + 1))
                .value(":seen", n(seen.failures))
                .value(":lock", n(now.secs() + wait))
                .value(":now", n(now.secs()))
        };
        match store.update(update).await? {
            Ok(item) => return Ok(Reservation::Granted(Admission { item, starts_lock })),
            Err(None) => {
                if matches!(subject, Subject::Account(_)) {
                    return Ok(Reservation::Refused(None));
                }
                seen = Some(Seen::default());
            }
            Err(Some(old)) => {
                if !precondition.holds(&old) {
                    return Ok(Reservation::Refused(Some(old)));
                }
                seen = Some(Seen {
                    failures: get_n(&old, counter.failures()).unwrap_or(0),
                    locked_until: get_n(&old, counter.locked_until()).unwrap_or(0),
                    last_at: get_n(&old, counter.last_failure()).unwrap_or(0),
                });
            }
        }
    }
    Ok(Reservation::Throttled { retry_after: 1 })
}

/// Reserves an attempt, or refuses it with 429 while the subject is locked. A refusal writes
/// nothing: the lock's `throttled` entry was written by the failure that started it.
/// `Err(item)`: the account does not exist (None), or `precondition` does not hold for it.
pub async fn admit(
    store: &Store,
    subject: Subject<'_>,
    counter: Counter,
    precondition: Precondition,
    now: Now,
) -> Result<Result<Admission, Option<Item>>, crate::ApiError> {
    match reserve(store, subject, counter, precondition, now).await? {
        Reservation::Granted(admission) => Ok(Ok(admission)),
        Reservation::Refused(item) => Ok(Err(item)),
        Reservation::Throttled { retry_after } => {
            Err(crate::ApiError::TooManyAttempts { retry_after })
        }
    }
}

/// The writes that record a failed attempt: its security log entry and, when it started a lock,
/// the lock's `throttled` entry one millisecond after it, so the log lists them in the order they
/// happened. An unknown login gets writes of the same number, kind and lifetime, on its own items,
/// so that its failures and locks cost what a known login's cost.
pub fn failure_writes(
    store: &Store,
    subject: Subject<'_>,
    admission: &Admission,
    kind: EventKind,
    client: &Client,
    now: Now,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let mut writes = Vec::new();
    let mut entries = vec![(kind, now)];
    if admission.starts_lock {
        entries.push((
            EventKind::Throttled,
            Now {
                millis: now.millis + 1,
            },
        ));
    }
    for (kind, at) in entries {
        let item = match subject {
            Subject::Account(account_id) => crate::store::event_item(account_id, kind, client, at)?,
            Subject::UnknownLogin(login) => {
                let (pk, _) = crate::store::keys::login_throttle(login);
                let mut item = crate::store::key_item((pk, format!("LAST#{}", kind.as_str())));
                item.insert("at".into(), n(at.secs()));
                item.insert(
                    "expires_at".into(),
                    n(at.secs() + crate::events::RETENTION_SECS),
                );
                item
            }
        };
        writes.push(store.table_put(item, None)?);
    }
    Ok(writes)
}

/// Records a failed attempt: one PutItem, or one transaction when it started a lock.
pub async fn record_failure(
    store: &Store,
    subject: Subject<'_>,
    admission: &Admission,
    kind: EventKind,
    client: &Client,
    now: Now,
) -> Result<(), crate::ApiError> {
    let writes = failure_writes(store, subject, admission, kind, client, now)?;
    store.write_all(writes).await?;
    Ok(())
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
