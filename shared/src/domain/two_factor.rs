//! Two-factor enrolment (none → pending → enabled) and disabling.
//!
//! Each transition is one conditional write, so no reader ever sees 2FA on without recovery codes,
//! or codes of two generations.

use super::error::Error;
use super::password::{confirm_password_while, refuse_after_password};
use super::ports::{
    Enabled, Enabling, SessionGuard, SessionStore, SetupStarted, ThrottleStore, TwoFactorStore,
    WhileEnabled,
};
use super::records::{
    Counter, Entry, EventKind, FirstRead, PendingSecret, Precondition, SessionPrincipal, Subject,
    TwoFactor,
};
use super::{recovery, session, throttle};
use super::{Now, Origin};
use crate::crypto::{totp, Keys, Sealed};

/// A pending secret may be confirmed for 10 minutes.
pub const SETUP_LIFETIME_SECS: i64 = 600;
/// Rounds of the enable guarded by `session_seq` before it enables unguarded and then ends the
/// sessions that opened meanwhile.
const GUARDED_ROUNDS: usize = 3;

pub struct PendingSetup {
    /// The secret in base32, for typing into an app by hand.
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_png: String,
    pub expires_in: i64,
}

/// Step 1: a fresh secret, kept sealed on the account as its pending setup (replacing any
/// earlier one). The QR code is built before anything is written, so a failure there leaves no
/// pending secret behind.
pub async fn start_setup<S>(
    store: &S,
    keys: &Keys,
    issuer: &str,
    principal: &SessionPrincipal,
    password: &str,
    origin: &Origin,
    now: Now,
) -> Result<PendingSetup, Error>
where
    S: ThrottleStore + TwoFactorStore,
{
    confirm_password_while(store, principal, password, origin, now, false).await?;
    let account_id = principal.account_id.as_str();
    let secret = totp::new_secret()?;
    let otpauth_uri = totp::otpauth_uri(issuer, &principal.login, &secret);
    let qr_png = totp::qr_png_data_uri(&otpauth_uri)?;
    let pending = PendingSecret {
        sealed: keys.seal(Sealed::TotpSecret, account_id, &secret)?,
        expires_at: now.secs() + SETUP_LIFETIME_SECS,
    };
    match store.start_setup(account_id, &pending).await? {
        SetupStarted::Started => {}
        SetupStarted::AlreadyEnabled => {
            return Err(
                refuse_after_password(store, account_id, Error::TwoFactorAlreadyEnabled).await?,
            )
        }
    }
    tracing::info!(account_id, "two-factor setup started");
    Ok(PendingSetup {
        secret: totp::base32(&secret),
        qr_png,
        otpauth_uri,
        expires_in: SETUP_LIFETIME_SECS,
    })
}

/// Step 2: the first code from the app turns 2FA on, with a first set of recovery codes, and
/// ends every other session of the account: a session opened with the password alone does not
/// outlive the second factor's arrival.
///
/// A guess counts against the account's second-factor throttle (while 2FA is off nothing else
/// uses that count). Other sessions end in the write that enables, which also requires that no
/// session was opened since they were listed (`session_seq`): a SignIn that commits in between
/// makes the enable list them again.
pub async fn confirm_setup<S>(
    store: &S,
    keys: &Keys,
    principal: &SessionPrincipal,
    code: &str,
    origin: &Origin,
    now: Now,
) -> Result<Vec<String>, Error>
where
    S: ThrottleStore + TwoFactorStore + SessionStore,
{
    let account_id = principal.account_id.as_str();
    let subject = Subject::Account(account_id);
    let mut admission = match throttle::admit(
        store,
        subject,
        Counter::SecondFactor,
        Precondition::TwoFactorOff,
        (
            FirstRead::Session(&principal.session_digest),
            principal.locks,
        ),
        now,
    )
    .await?
    {
        Ok(admission) => admission,
        Err(Some(_)) => return Err(Error::TwoFactorAlreadyEnabled),
        Err(None) => return Err(Error::Unauthorized),
    };
    let account = admission.account.take().ok_or(Error::Unauthorized)?;
    // A guess was counted, so it is logged, whatever refuses it.
    let refuse = |refusal: Error| async {
        throttle::record_failure(
            store,
            subject,
            &admission,
            EventKind::TwoFactorFailed,
            origin,
            now,
        )
        .await?;
        Err(refusal)
    };
    let pending = match account.two_factor {
        TwoFactor::Pending(pending) if pending.expires_at > now.secs() => pending,
        _ => return refuse(Error::SetupNotStarted).await,
    };
    let secret = keys.open(Sealed::TotpSecret, account_id, &pending.sealed)?;
    let Some(step) = totp::accepted_step(&secret, code, now.secs(), None)? else {
        tracing::info!(account_id, "wrong code confirming a setup");
        return refuse(Error::InvalidCode).await;
    };
    throttle::lift_started_lock(store, &admission).await;
    let (codes, stored) = recovery::new_code_set(keys, account_id)?;
    let mut seen_seq = account.session_seq;
    // The sessions ended with the enable are logged just after it.
    let ended_at = now.plus_millis(1);
    for round in 0..=GUARDED_ROUNDS {
        // Should sessions keep opening (someone with the password signing in again and again),
        // the last round enables unguarded and then ends every session opened before it: no
        // SignIn opens one after it, so none survives its answer.
        let guarded = round < GUARDED_ROUNDS;
        let others = session::others(store, principal, now).await?;
        let enabling = Enabling {
            account_id,
            pending: &pending.sealed,
            step,
            codes: &stored,
            guard: match guarded {
                true => SessionGuard::Unchanged(seen_seq),
                false => SessionGuard::Unguarded,
            },
            ending: &others,
            entry: Entry::new(EventKind::TwoFactorEnabled, origin, now),
            ended_at,
        };
        match store.enable(&enabling).await? {
            Enabled::Enabled => {
                if !guarded {
                    let late = session::others(store, principal, now).await?;
                    store
                        .end_sessions(account_id, &late, origin, ended_at, false)
                        .await?;
                }
                tracing::info!(
                    account_id,
                    ended = others.len(),
                    "two-factor authentication enabled"
                );
                return Ok(codes);
            }
            Enabled::AlreadyEnabled => return Err(Error::TwoFactorAlreadyEnabled),
            // Confirmed against a secret another setup replaced: a counted guess like any other
            // (a concurrent enable, by contrast, started the count again).
            Enabled::SetupReplaced => return refuse(Error::SetupNotStarted).await,
            Enabled::AccountGone => return Err(Error::Unauthorized),
            // A session was opened since the listing: list again.
            Enabled::SessionOpened(seq) => seen_seq = seq,
        }
    }
    Err(Error::Internal)
}

/// Turns 2FA off: the secret and every recovery code are gone in one write.
pub async fn disable<S>(
    store: &S,
    principal: &SessionPrincipal,
    password: &str,
    origin: &Origin,
    now: Now,
) -> Result<(), Error>
where
    S: ThrottleStore + TwoFactorStore,
{
    confirm_password_while(store, principal, password, origin, now, true).await?;
    let account_id = principal.account_id.as_str();
    let entry = Entry::new(EventKind::TwoFactorDisabled, origin, now);
    match store.disable(account_id, &entry).await? {
        WhileEnabled::Done => {
            tracing::info!(account_id, "two-factor authentication disabled");
            Ok(())
        }
        WhileEnabled::NotEnabled => {
            Err(refuse_after_password(store, account_id, Error::TwoFactorNotEnabled).await?)
        }
    }
}
