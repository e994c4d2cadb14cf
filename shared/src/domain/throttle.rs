//! Throttling of guesses, counted in storage so that every request and Lambda instance shares
//! the count.
//!
//! An attempt is *reserved* before the guess is checked: the count goes up first, with a
//! condition that the subject is not locked, and a success resets it. So a burst of concurrent
//! guesses cannot all be checked against a count that none of them has raised yet: of any number
//! of simultaneous attempts, at most `threshold` are checked before the lock holds.
//!
//! The schedule is a pure function of the count seen and the time ([`next_step`]):
//!
//! ```text
//!  failures: 0 .. threshold-1      threshold         threshold+1       ...
//!            count, check          count, lock 30 s  count, lock 60 s  ... at most 15 min
//!  while a lock holds: refused with its remaining wait, nothing counted or written
//!  30 days after the last failure: the count starts again at 1
//! ```
//!
//! A lock is copied onto the records attempts read first (a login's claim, a session, an
//! `mfa_token`), so that while it holds an attempt is refused from the read it makes anyway: a
//! flood on one login spends none of its account item's write capacity ([`admit`]).

use super::error::Error;
use super::ports::{Attempt, CountStep, Counted, Failure, ThrottleStore};
use super::records::{
    Account, Count, Counter, Entry, EventKind, FirstRead, Locks, Precondition, Subject,
};
use super::{Now, Origin};

/// The longest wait, 15 minutes.
pub const MAX_WAIT_SECS: i64 = 15 * 60;
/// The first wait, after the threshold-th consecutive failure.
pub const FIRST_WAIT_SECS: i64 = 30;
/// How long a count of consecutive failures lasts after its last failure, for an account and for
/// an unknown login alike: after that it starts again (an unknown login's record also expires then).
pub const COUNT_LIFETIME_SECS: i64 = 30 * 24 * 3600;
/// Rounds of counting before a subject under heavy contention is told to come back in a second.
const COUNT_ROUNDS: usize = 6;

impl Counter {
    /// Consecutive failures after which the subject is locked.
    pub fn threshold(self) -> i64 {
        match self {
            Counter::Password => 10,
            Counter::SecondFactor => 5,
        }
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

/// What to do with the next attempt, given the count last seen (None: not seen yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Count it as `step` says; `starts_lock`: if it fails, it is the failure that starts a lock.
    Count { step: CountStep, starts_lock: bool },
    /// Locked: refused, nothing counted.
    Locked { retry_after: u64 },
}

/// The schedule: a pure function of the count seen, the threshold and now.
pub fn next_step(seen: Option<Count>, threshold: i64, now: Now) -> Next {
    let stale_before = now.secs() - COUNT_LIFETIME_SECS;
    let increment = Next::Count {
        step: CountStep::Increment {
            below: threshold - 1,
            stale_before,
        },
        starts_lock: false,
    };
    let Some(seen) = seen else {
        return increment;
    };
    if seen.last_at > 0 && seen.last_at <= stale_before {
        return Next::Count {
            step: CountStep::Restart {
                seen_last_at: seen.last_at,
            },
            starts_lock: false,
        };
    }
    if seen.failures + 1 < threshold {
        return increment;
    }
    if seen.locked_until > now.secs() {
        return Next::Locked {
            retry_after: (seen.locked_until - now.secs()) as u64,
        };
    }
    let wait = wait_after(seen.failures + 1, threshold).unwrap_or(FIRST_WAIT_SECS);
    Next::Count {
        step: CountStep::Lock {
            seen_failures: seen.failures,
            until: now.secs() + wait,
        },
        starts_lock: true,
    }
}

/// An attempt that may be checked.
#[derive(Debug, Clone)]
pub struct Admission<'a> {
    /// For an account, the account as it is now.
    pub account: Option<Account>,
    /// Set when this attempt, if it fails, is the one that starts a lock (the lock is already
    /// set, and copied onto the record the attempt read first): its failure writes the lock's
    /// single `throttled` entry, right after its own; its success lifts the copy.
    pub starts_lock: Option<StartedLock<'a>>,
}

/// A lock as the attempt that started it set it, and where it is copied.
#[derive(Debug, Clone, Copy)]
pub struct StartedLock<'a> {
    pub first_read: FirstRead<'a>,
    pub counter: Counter,
    pub count: Count,
}

/// Counts an attempt before it is checked, or refuses it with 429 while the subject is locked. A
/// refusal writes nothing on the account: the lock's `throttled` entry was written by the failure
/// that started it.
///
/// `first` is the record the attempt read first, with the locks copied onto it. While one of
/// them holds, the attempt is refused from that read, with no further call: a flood on one login
/// costs its account's item no write and cannot get its owner's own requests throttled. A lock
/// not copied yet is learned from the count's conditional write, and then copied, so that the
/// next attempts through that record are refused from their read.
///
/// `Err(account)`: the account does not exist (None), or `precondition` does not hold for it.
pub async fn admit<'a>(
    store: &impl ThrottleStore,
    subject: Subject<'_>,
    counter: Counter,
    precondition: Precondition,
    first: (FirstRead<'a>, Locks),
    now: Now,
) -> Result<Result<Admission<'a>, Option<Account>>, Error> {
    let (first_read, locks) = first;
    // A copy counts only while its lock holds: an old one says nothing of the count since.
    let mut seen = locks
        .of(counter)
        .filter(|copy| copy.locked_until > now.secs());
    // Each round either counts or learns the current count; contention ends within a few rounds.
    for round in 0..COUNT_ROUNDS {
        let (step, starts_lock) = match next_step(seen, counter.threshold(), now) {
            Next::Count { step, starts_lock } => (step, starts_lock),
            Next::Locked { retry_after } => {
                // After round 0 the lock was learned from a conditional write: it is copied for
                // the next attempts, and the refusal stands whether or not the copy is kept.
                if let (1.., Some(count)) = (round, seen) {
                    if let Err(error) = store.copy_lock(first_read, counter, count).await {
                        tracing::warn!(%error, "a lock was not copied onto the first read");
                    }
                }
                return Err(Error::TooManyAttempts { retry_after });
            }
        };
        let attempt = Attempt {
            subject,
            counter,
            step,
            precondition,
            now,
        };
        match store.count_attempt(&attempt).await? {
            Counted::Counted(account) => {
                let starts_lock = match (starts_lock, step) {
                    (
                        true,
                        CountStep::Lock {
                            seen_failures,
                            until,
                        },
                    ) => Some(StartedLock {
                        first_read,
                        counter,
                        count: Count {
                            failures: seen_failures + 1,
                            locked_until: until,
                            last_at: now.secs(),
                        },
                    }),
                    _ => None,
                };
                // The lock holds from this write on: copied at once, so that concurrent attempts
                // are refused from their read rather than from a write on the account's item.
                if let Some(lock) = starts_lock {
                    if let Err(error) = store
                        .copy_lock(lock.first_read, lock.counter, lock.count)
                        .await
                    {
                        tracing::warn!(%error, "a new lock was not copied onto the first read");
                    }
                }
                return Ok(Ok(Admission {
                    account,
                    starts_lock,
                }));
            }
            Counted::AccountMissing => return Ok(Err(None)),
            Counted::PreconditionFailed(account) => return Ok(Err(Some(account))),
            Counted::Changed(count) => seen = Some(count),
        }
    }
    Err(Error::TooManyAttempts { retry_after: 1 })
}

/// What a failed attempt leaves: its entry and, when it started a lock, the lock's `throttled`
/// entry one millisecond after it, so the log lists them in the order they happened.
pub fn failure<'a>(
    subject: Subject<'a>,
    admission: &Admission<'_>,
    kind: EventKind,
    origin: &Origin,
    now: Now,
) -> Failure<'a> {
    let mut entries = vec![Entry::new(kind, origin, now)];
    if admission.starts_lock.is_some() {
        entries.push(Entry::new(EventKind::Throttled, origin, now.plus_millis(1)));
    }
    Failure { subject, entries }
}

/// Records a failed attempt.
pub async fn record_failure(
    store: &impl ThrottleStore,
    subject: Subject<'_>,
    admission: &Admission<'_>,
    kind: EventKind,
    origin: &Origin,
    now: Now,
) -> Result<(), Error> {
    store
        .record_failure(&failure(subject, admission, kind, origin, now))
        .await?;
    Ok(())
}

/// The attempt that started a lock succeeded (its success resets the count): the lock's copy on
/// the record it read first goes too. When that write is lost, the copy refuses attempts through
/// that record until the lock's end, as the lock would have had the attempt failed.
pub async fn lift_started_lock(store: &impl ThrottleStore, admission: &Admission<'_>) {
    let Some(lock) = admission.starts_lock else {
        return;
    };
    if let Err(error) = store
        .lift_lock(lock.first_read, lock.counter, lock.count.locked_until)
        .await
    {
        tracing::warn!(%error, "a lifted lock's copy was not removed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000;

    fn at(secs: i64) -> Now {
        Now::from_secs(secs)
    }

    fn seen(failures: i64, locked_until: i64, last_at: i64) -> Option<Count> {
        Some(Count {
            failures,
            locked_until,
            last_at,
        })
    }

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

    #[test]
    fn a_first_attempt_is_a_plain_increment_below_the_threshold() {
        let next = next_step(None, 5, at(T0));
        assert_eq!(
            next,
            Next::Count {
                step: CountStep::Increment {
                    below: 4,
                    stale_before: T0 - COUNT_LIFETIME_SECS
                },
                starts_lock: false
            }
        );
        assert_eq!(next_step(seen(3, 0, T0 - 5), 5, at(T0)), next);
    }

    #[test]
    fn the_threshold_th_attempt_sets_a_30_second_lock_with_its_count() {
        let next = next_step(seen(4, 0, T0 - 1), 5, at(T0));
        assert_eq!(
            next,
            Next::Count {
                step: CountStep::Lock {
                    seen_failures: 4,
                    until: T0 + 30
                },
                starts_lock: true
            }
        );
    }

    #[test]
    fn while_the_lock_holds_attempts_are_refused_with_the_remaining_wait() {
        let locked = seen(5, T0 + 30, T0);
        assert_eq!(
            next_step(locked, 5, at(T0 + 1)),
            Next::Locked { retry_after: 29 }
        );
        assert_eq!(
            next_step(locked, 5, at(T0 + 29)),
            Next::Locked { retry_after: 1 }
        );
    }

    #[test]
    fn after_the_lock_the_next_failure_doubles_the_wait() {
        let expired = seen(5, T0 + 30, T0);
        assert_eq!(
            next_step(expired, 5, at(T0 + 30)),
            Next::Count {
                step: CountStep::Lock {
                    seen_failures: 5,
                    until: T0 + 30 + 60
                },
                starts_lock: true
            }
        );
        let long = seen(40, T0, T0 - 900);
        assert!(matches!(
            next_step(long, 5, at(T0)),
            Next::Count { step: CountStep::Lock { until, .. }, .. } if until == T0 + MAX_WAIT_SECS
        ));
    }

    #[test]
    fn a_count_older_than_its_lifetime_starts_again_even_when_locked() {
        let last = T0 - COUNT_LIFETIME_SECS;
        assert_eq!(
            next_step(seen(9, T0 + 600, last), 10, at(T0)),
            Next::Count {
                step: CountStep::Restart { seen_last_at: last },
                starts_lock: false
            }
        );
        // One second younger, it still counts.
        assert!(matches!(
            next_step(seen(9, T0 + 600, last + 1), 10, at(T0)),
            Next::Locked { .. }
        ));
        // Counts from before stamps were kept never go stale.
        assert!(matches!(
            next_step(seen(9, T0 + 600, 0), 10, at(T0)),
            Next::Locked { .. }
        ));
    }
}
