//! Verify2FACode: the second step of SignIn. An `mfa_token` and an authenticator code (or a
//! recovery code) become a session.
//!
//! Rules, each enforced by DynamoDB conditions so that they hold under concurrency:
//! - the attempt is counted against the account's second-factor throttle before it is checked;
//! - a TOTP step is accepted only if it is later than the account's `last_step`;
//! - a recovery code is accepted only if it is in the current set and not yet used;
//! - an `mfa_token` yields at most one session (it is deleted with the session's creation) and dies
//!   after 5 wrong codes.

use crate::auth::SESSION_LIFETIME_SECS;
use crate::crypto::Sealed;
use crate::error::ApiError;
use crate::events::EventKind;
use crate::http::Client;
use crate::store::{
    get_b, get_n, get_s, keys, n, required_s, s, ConditionalUpdate, Store, Transaction,
};
use crate::throttle::{self, Counter, Precondition, Subject};
use crate::token::{self, MFA_PREFIX};
use crate::two_factor::{generation, is_enabled, last_step, remaining_codes};
use crate::{recovery, totp, App, Now};
use aws_sdk_dynamodb::types::AttributeValue;

/// Wrong codes after which an `mfa_token` is dead.
pub const MFA_TOKEN_MAX_ATTEMPTS: i64 = 5;

#[derive(Debug, Clone)]
pub enum SecondFactor {
    Code(String),
    RecoveryCode(String),
}

#[derive(Debug)]
pub struct Verified {
    pub session_token: String,
    pub expires_in: i64,
    /// Present when a recovery code was used.
    pub recovery_codes_remaining: Option<usize>,
}

/// Checks the second factor presented with an `mfa_token`.
pub async fn verify(
    app: &App,
    mfa_token: &str,
    factor: &SecondFactor,
    client: &Client,
    now: Now,
) -> Result<Verified, ApiError> {
    let store = &app.store;
    if !mfa_token.starts_with(MFA_PREFIX) {
        return Err(ApiError::MfaTokenInvalid);
    }
    let mfa_digest = token::digest(mfa_token);
    let pending = store
        .get_live(keys::session(&mfa_digest), now)
        .await?
        .ok_or(ApiError::MfaTokenInvalid)?;
    if get_s(&pending, "kind") != Some("mfa_pending")
        || get_n(&pending, "attempts").unwrap_or(0) >= MFA_TOKEN_MAX_ATTEMPTS
    {
        return Err(ApiError::MfaTokenInvalid);
    }
    let account_id = required_s(&pending, "account_id")?;
    let login = required_s(&pending, "login")?;
    let token_generation = get_n(&pending, "generation").unwrap_or(0);

    let subject = Subject::Account(&account_id);
    let admission = throttle::admit(
        store,
        subject,
        Counter::SecondFactor,
        Precondition::None,
        now,
    )
    .await?
    .map_err(|_| ApiError::MfaTokenInvalid)?;
    let account = &admission.item;
    // 2FA turned off, or enabled again, since the password step: this sign-in attempt is void.
    // It was counted, so it is logged (and spends the token) like a wrong code.
    if !is_enabled(account) || generation(account) != token_generation {
        refuse(store, &account_id, &admission, &mfa_digest, client, now).await;
        return Err(ApiError::MfaTokenInvalid);
    }
    let keys = app.keys().await?;

    let accepted = match factor {
        SecondFactor::Code(code) => {
            let sealed = get_b(account, "tf_secret").ok_or(ApiError::Internal)?;
            let secret = keys.open(Sealed::TotpSecret, &account_id, sealed)?;
            totp::accepted_step(&secret, code, now.secs(), last_step(account))?.map(Accepted::Step)
        }
        SecondFactor::RecoveryCode(code) => {
            let set = crate::store::get_ss(account, "rc_hashes");
            // The code's id under the key version the set was made with.
            let id = match (recovery::normalise(code), set.first()) {
                (Some(normalised), Some(like)) => {
                    Some(keys.recovery_code_id_like(like, &account_id, &normalised)?)
                }
                _ => None,
            };
            id.filter(|id| set.contains(id))
                .filter(|id| !crate::store::get_ss(account, "rc_used").contains(id))
                .map(Accepted::RecoveryCode)
        }
    };
    let Some(accepted) = accepted else {
        return Err(refuse(store, &account_id, &admission, &mfa_digest, client, now).await);
    };

    let opening = crate::sessions::open(store, &account_id, &login, client, now)?;
    let mut account_update = Counter::SecondFactor
        .reset(&account_id)
        .set("session_seq = if_not_exists(session_seq, :seq_zero) + :seq_one")
        .condition("tf_enabled = :on")
        .value(":on", AttributeValue::Bool(true))
        .value(":seq_zero", n(0))
        .value(":seq_one", n(1));
    // Still the enrolment the mfa_token was issued under (accounts enrolled before enrolments
    // were counted have none).
    account_update = if token_generation == 0 {
        account_update.condition("attribute_not_exists(tf_generation)")
    } else {
        account_update
            .condition("tf_generation = :generation")
            .value(":generation", n(token_generation))
    };
    let mut events = Vec::new();
    account_update = match &accepted {
        Accepted::Step(step) => {
            let update = account_update
                .set("last_step = :step")
                .condition("attribute_not_exists(last_step) OR last_step < :step")
                .value(":step", n(*step));
            // A secret sealed with an older key version is sealed again with the current one.
            match get_b(account, "tf_secret").filter(|sealed| !keys.is_current(sealed)) {
                Some(old) => {
                    let secret = keys.open(Sealed::TotpSecret, &account_id, old)?;
                    let resealed = keys.seal(Sealed::TotpSecret, &account_id, &secret)?;
                    update
                        .set("tf_secret = :resealed")
                        .condition("tf_secret = :old_secret")
                        .value(":resealed", crate::store::b(resealed))
                        .value(":old_secret", crate::store::b(old.to_vec()))
                }
                None => update,
            }
        }
        Accepted::RecoveryCode(id) => {
            events.push(EventKind::RecoveryCodeUsed);
            account_update
                .add_to("rc_used :used")
                .condition("contains(rc_hashes, :code) AND NOT contains(rc_used, :code)")
                .value(":used", AttributeValue::Ss(vec![id.clone()]))
                .value(":code", s(id.clone()))
        }
    };
    let mut items = vec![
        store.table_update(account_update)?,
        store.table_delete_if(
            keys::session(&mfa_digest),
            "attempts < :max",
            ":max",
            n(MFA_TOKEN_MAX_ATTEMPTS),
        )?,
    ];
    items.extend(opening.writes);
    events.push(EventKind::SignedIn);
    // A millisecond apart, so the log lists them in the order they happened.
    for (offset, event) in (0..).zip(events) {
        let at = Now {
            millis: now.millis + offset,
        };
        items.push(store.event_put(&account_id, event, client, at)?);
    }
    match store.transact(items).await? {
        Transaction::Committed => {
            tracing::info!(account_id, "signed in with a second factor");
            Ok(Verified {
                session_token: opening.token,
                expires_in: SESSION_LIFETIME_SECS,
                recovery_codes_remaining: match accepted {
                    Accepted::Step(_) => None,
                    Accepted::RecoveryCode(_) => Some(remaining_codes(account).saturating_sub(1)),
                },
            })
        }
        // Another request took this code (or step) first: it counts as a failed attempt.
        Transaction::ConditionFailed(failed) if failed.first() == Some(&true) => {
            Err(refuse(store, &account_id, &admission, &mfa_digest, client, now).await)
        }
        // The mfa_token was used (or exhausted) by a concurrent request.
        Transaction::ConditionFailed(_) => Err(ApiError::MfaTokenInvalid),
    }
}

enum Accepted {
    Step(i64),
    RecoveryCode(String),
}

/// A wrong or already-used code: one more wrong attempt on the `mfa_token`, and its event (with
/// the lock's `throttled` entry when this failure started one). The account's count was already
/// raised when the attempt was reserved.
async fn refuse(
    store: &Store,
    account_id: &str,
    admission: &throttle::Admission,
    mfa_digest: &str,
    client: &Client,
    now: Now,
) -> ApiError {
    let attempt = ConditionalUpdate::new(keys::session(mfa_digest))
        .add_to("attempts :one")
        .condition("attribute_exists(pk)")
        .value(":one", n(1));
    let written = async {
        let mut items = vec![store.table_update(attempt)?];
        items.extend(throttle::failure_writes(
            store,
            Subject::Account(account_id),
            admission,
            EventKind::TwoFactorFailed,
            client,
            now,
        )?);
        store.transact(items).await
    }
    .await;
    tracing::info!(account_id, "wrong second factor");
    // The code was checked and is wrong, and the account's count was raised before the check:
    // that is the answer even when this bookkeeping could not be written (it is all or nothing).
    if let Err(error) = written {
        tracing::error!(account_id, %error, "a wrong code's attempt and event were not recorded");
    }
    ApiError::InvalidCode
}
