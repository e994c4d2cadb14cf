//! Verify2FACode: the second step of SignIn. An `mfa_token` and an authenticator code (or a
//! recovery code) become a session.
//!
//! Rules, each held by the conditions of one write so that they hold under concurrency:
//! - the attempt is counted against the account's second-factor throttle before it is checked;
//! - a TOTP step is accepted only if it is later than the account's `last_step`;
//! - a recovery code is accepted only if it is in the current set and not yet used;
//! - an `mfa_token` yields at most one session (it is deleted with the session's creation) and dies
//!   after 5 wrong codes; it is good only for the enrolment it was issued under.

use super::error::Error;
use super::ports::{
    Acceptance, Accepted, AcceptedOutcome, KeySource, SessionStore, ThrottleStore, TwoFactorStore,
};
use super::records::{Counter, Entry, EventKind, FirstRead, Precondition, Subject};
use super::session::{new_session, SESSION_LIFETIME_SECS};
use super::throttle::{self, Admission};
use super::{recovery, Now, Origin};
use crate::crypto::{random, totp, Sealed};

/// Prefix of the short-lived tokens that stand between SignIn and Verify2FACode.
pub const MFA_PREFIX: &str = "ward_m_";
/// An `mfa_token` lives 5 minutes.
pub const MFA_TOKEN_LIFETIME_SECS: i64 = 300;
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
pub async fn verify<S>(
    store: &S,
    keys: &impl KeySource,
    mfa_token: &str,
    factor: &SecondFactor,
    origin: &Origin,
    now: Now,
) -> Result<Verified, Error>
where
    S: SessionStore + ThrottleStore + TwoFactorStore,
{
    if !mfa_token.starts_with(MFA_PREFIX) {
        return Err(Error::MfaTokenInvalid);
    }
    let mfa_digest = random::digest(mfa_token);
    let pending = store
        .mfa_pending(&mfa_digest, now)
        .await?
        .ok_or(Error::MfaTokenInvalid)?;
    if pending.attempts >= MFA_TOKEN_MAX_ATTEMPTS {
        return Err(Error::MfaTokenInvalid);
    }
    let account_id = pending.account_id.as_str();
    // The key ring before the attempt is counted: when it cannot be read, nothing is counted.
    let keys = keys.keys().await?;
    let subject = Subject::Account(account_id);
    let admission = throttle::admit(
        store,
        subject,
        Counter::SecondFactor,
        Precondition::None,
        (FirstRead::Session(&mfa_digest), pending.locks),
        now,
    )
    .await?
    .map_err(|_| Error::MfaTokenInvalid)?;
    // 2FA turned off, or enabled again, since the password step: this sign-in attempt is void.
    // It was counted, so it is logged (and spends the token) like a wrong code.
    let enrolment = admission
        .account
        .as_ref()
        .and_then(|account| account.enrolment())
        .filter(|enrolment| enrolment.generation == pending.generation);
    let Some(enrolment) = enrolment else {
        refuse(store, account_id, &admission, &mfa_digest, origin, now).await;
        return Err(Error::MfaTokenInvalid);
    };

    // The secret, opened once: to check the code and, when it is sealed with an older key
    // version, to seal it again with the current one.
    let (accepted, secret) = match factor {
        SecondFactor::Code(code) => {
            let secret = keys.open(Sealed::TotpSecret, account_id, &enrolment.secret)?;
            let step = totp::accepted_step(&secret, code, now.secs(), enrolment.last_step)?;
            (step.map(Accepted::Step), Some(secret))
        }
        SecondFactor::RecoveryCode(code) => {
            let id = recovery::unused_code_id(&keys, account_id, &enrolment.codes, code)?;
            (id.map(Accepted::RecoveryCode), None)
        }
    };
    let Some(accepted) = accepted else {
        return Err(refuse(store, account_id, &admission, &mfa_digest, origin, now).await);
    };
    throttle::lift_started_lock(store, &admission).await;
    let reseal = match secret {
        Some(secret) if !keys.is_current(&enrolment.secret) => Some((
            enrolment.secret.clone(),
            keys.seal(Sealed::TotpSecret, account_id, &secret)?,
        )),
        _ => None,
    };

    let (session_token, session) = new_session(account_id, &pending.login, origin, now)?;
    let mut kinds = Vec::new();
    if matches!(accepted, Accepted::RecoveryCode(_)) {
        kinds.push(EventKind::RecoveryCodeUsed);
    }
    kinds.push(EventKind::SignedIn);
    // A millisecond apart, so the log lists them in the order they happened.
    let entries = (0..)
        .zip(kinds)
        .map(|(offset, kind)| Entry::new(kind, origin, now.plus_millis(offset)))
        .collect();
    let acceptance = Acceptance {
        account_id,
        mfa_digest: &mfa_digest,
        generation: pending.generation,
        accepted: &accepted,
        reseal,
        session: &session,
        entries,
    };
    match store.accept_second_factor(&acceptance).await? {
        AcceptedOutcome::SignedIn => {
            tracing::info!(account_id, "signed in with a second factor");
            Ok(Verified {
                session_token,
                expires_in: SESSION_LIFETIME_SECS,
                recovery_codes_remaining: match accepted {
                    Accepted::Step(_) => None,
                    Accepted::RecoveryCode(_) => {
                        Some(enrolment.codes.remaining().saturating_sub(1))
                    }
                },
            })
        }
        // Another request took this code (or step) first: it counts as a failed attempt.
        AcceptedOutcome::CodeAlreadyUsed => {
            Err(refuse(store, account_id, &admission, &mfa_digest, origin, now).await)
        }
        AcceptedOutcome::MfaTokenSpent => Err(Error::MfaTokenInvalid),
    }
}

/// A wrong or already-used code: one more wrong attempt on the `mfa_token`, and its entry (with
/// the lock's `throttled` entry when this failure started one). The account's count was already
/// raised when the attempt was counted.
async fn refuse(
    store: &(impl TwoFactorStore + ThrottleStore),
    account_id: &str,
    admission: &Admission<'_>,
    mfa_digest: &str,
    origin: &Origin,
    now: Now,
) -> Error {
    let failure = throttle::failure(
        Subject::Account(account_id),
        admission,
        EventKind::TwoFactorFailed,
        origin,
        now,
    );
    let written = store.record_wrong_code(mfa_digest, &failure).await;
    tracing::info!(account_id, "wrong second factor");
    // The code was checked and is wrong, and the account's count was raised before the check:
    // that is the answer even when this bookkeeping could not be written (it is all or nothing).
    if let Err(error) = written {
        tracing::error!(account_id, %error, "a wrong code's attempt and event were not recorded");
    }
    Error::InvalidCode
}
