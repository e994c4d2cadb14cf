//! The account's profile item: its layout (password, two-factor state, the throttle's counts,
//! the session and token counters) and every condition and update on it, in one place.

use super::item::*;
use super::keys;
use crate::domain::error::StorageError;
use crate::domain::records::*;
use aws_sdk_dynamodb::types::AttributeValue;

/// The profile item as an account.
pub(super) fn account_of(item: &Item) -> Result<Account, StorageError> {
    let two_factor = if get_bool(item, "tf_enabled") == Some(true) {
        TwoFactor::On(Enrolment {
            enabled_at: get_n(item, "tf_enabled_at"),
            secret: required_b(item, "tf_secret")?,
            last_step: get_n(item, "last_step"),
            codes: RecoveryCodes {
                ids: get_ss(item, "rc_hashes"),
                used: get_ss(item, "rc_used"),
                sealed: required_b(item, "rc_sealed")?,
                generation: get_n(item, "rc_generation").unwrap_or(0),
            },
            generation: get_n(item, "tf_generation").unwrap_or(0),
        })
    } else {
        match get_b(item, "tf_pending") {
            Some(sealed) => TwoFactor::Pending(PendingSecret {
                sealed: sealed.to_vec(),
                expires_at: get_n(item, "tf_pending_expires_at").unwrap_or(0),
            }),
            None => TwoFactor::Off,
        }
    };
    Ok(Account {
        account_id: required_s(item, "account_id")?,
        login: required_s(item, "login")?,
        password_hash: required_s(item, "password_hash")?,
        created_at: get_n(item, "created_at").unwrap_or_default(),
        two_factor,
        session_seq: get_n(item, "session_seq"),
        token_count: get_n(item, "token_count"),
    })
}

// ---- the counts of the throttle ----

pub(super) fn failures(counter: Counter) -> &'static str {
    match counter {
        Counter::Password => "pw_failures",
        Counter::SecondFactor => "mfa_failures",
    }
}

pub(super) fn locked_until(counter: Counter) -> &'static str {
    match counter {
        Counter::Password => "pw_locked_until",
        Counter::SecondFactor => "mfa_locked_until",
    }
}

/// On a record a lock is copied onto: the end of the last lock lifted by a success.
pub(super) fn lifted(counter: Counter) -> &'static str {
    match counter {
        Counter::Password => "pw_lifted",
        Counter::SecondFactor => "mfa_lifted",
    }
}

pub(super) fn last_failure(counter: Counter) -> &'static str {
    match counter {
        Counter::Password => "pw_last_at",
        Counter::SecondFactor => "mfa_last_at",
    }
}

/// A count as an item holds it, each part 0 when absent.
pub(super) fn count_of(item: &Item, counter: Counter) -> Count {
    Count {
        failures: get_n(item, failures(counter)).unwrap_or(0),
        locked_until: get_n(item, locked_until(counter)).unwrap_or(0),
        last_at: get_n(item, last_failure(counter)).unwrap_or(0),
    }
}

/// A count with a lock: an unknown login's own, or a lock copied onto a claim or a session (None:
/// the item holds no lock of this counter).
pub(super) fn count_in(item: &Item, counter: Counter) -> Option<Count> {
    item.contains_key(locked_until(counter))
        .then(|| count_of(item, counter))
}

/// The locks copied onto a claim, a session or an `mfa_token`.
pub(super) fn locks_in(item: &Item) -> Locks {
    Locks {
        password: count_in(item, Counter::Password),
        second_factor: count_in(item, Counter::SecondFactor),
    }
}

/// The update a success merges into its write: the count starts again (on an account that
/// exists; a reset never creates an item).
pub(super) fn reset(account_id: &str, counter: Counter) -> ConditionalUpdate {
    ConditionalUpdate::new(keys::account(account_id))
        .set(format!("{} = :throttle_zero", failures(counter)))
        .remove(locked_until(counter))
        .condition("attribute_exists(pk)")
        .value(":throttle_zero", n(0))
}

/// The password's reset, with the hash made under the current policy when there is one.
pub(super) fn password_reset(account_id: &str, rehash: Option<&str>) -> ConditionalUpdate {
    let update = reset(account_id, Counter::Password);
    match rehash {
        Some(hash) => update
            .set("password_hash = :rehash")
            .value(":rehash", s(hash)),
        None => update,
    }
}

/// A session opens: `session_seq` goes up, so an enable that listed the sessions before knows.
pub(super) fn opening_session(update: ConditionalUpdate) -> ConditionalUpdate {
    update
        .set("session_seq = if_not_exists(session_seq, :seq_zero) + :seq_one")
        .value(":seq_zero", n(0))
        .value(":seq_one", n(1))
}

/// The update holds only while 2FA is `on` (or off).
pub(super) fn while_two_factor(update: ConditionalUpdate, on: bool) -> ConditionalUpdate {
    let placeholder = if on { ":tf_on" } else { ":tf_off" };
    update
        .condition(format!("tf_enabled = {placeholder}"))
        .value(placeholder, AttributeValue::Bool(on))
}

/// The account's token count becomes `count`, if it is still the one seen.
pub(super) fn counting_tokens(
    update: ConditionalUpdate,
    seen: Option<i64>,
    count: i64,
) -> ConditionalUpdate {
    let update = update.set("token_count = :count").value(":count", n(count));
    match seen {
        Some(seen) => update
            .condition("token_count = :seen")
            .value(":seen", n(seen)),
        None => update.condition("attribute_not_exists(token_count)"),
    }
}

/// One token fewer.
pub(super) fn uncounting_token(account_id: &str) -> ConditionalUpdate {
    ConditionalUpdate::new(keys::account(account_id))
        .add_to("token_count :minus_one")
        .condition("attribute_exists(pk)")
        .value(":minus_one", n(-1))
}
