//! Accounts: sign-up, the password step of SignIn, and the account's status.

use super::error::Error;
use super::password::{check_new_password, check_presented_password};
use super::ports::{
    AccountCreated, AccountStore, SessionOpened, SessionStore, ThrottleStore, Written,
};
use super::records::{
    Account, Counter, Entry, EventKind, FirstRead, LoginRead, NewAccount, NewMfaPending,
    Precondition, Subject,
};
use super::second_factor::{MFA_PREFIX, MFA_TOKEN_LIFETIME_SECS};
use super::session::{new_session, SESSION_LIFETIME_SECS};
use super::throttle;
use super::{Now, Origin};
use crate::crypto::{password, random};

/// A login as stored and compared: trimmed, lower-cased, 3 to 254 characters and at most 254
/// bytes of UTF-8 (so every key URI that names it fits a QR code), no control characters.
pub fn normalise_login(raw: &str) -> Result<String, Error> {
    let login = raw.trim().to_lowercase();
    let length = login.chars().count();
    if !(3..=254).contains(&length) || login.len() > 254 {
        return Err(Error::InvalidRequest(
            "The field `login` must be 3 to 254 characters, and at most 254 bytes in UTF-8.".into(),
        ));
    }
    if login.chars().any(char::is_control) {
        return Err(Error::InvalidRequest(
            "The field `login` must not contain control characters.".into(),
        ));
    }
    Ok(login)
}

/// A new account's id and login.
#[derive(Debug)]
pub struct SignedUp {
    pub account_id: String,
    pub login: String,
}

/// Creates an account and claims its login in one write: of two simultaneous sign-ups of one
/// login, exactly one succeeds.
pub async fn sign_up(
    store: &impl AccountStore,
    login: &str,
    password: &str,
    origin: &Origin,
    now: Now,
) -> Result<SignedUp, Error> {
    let login = normalise_login(login)?;
    check_new_password(password)?;
    let account = NewAccount {
        account_id: random::new_id()?,
        login,
        password_hash: password::hash(password).await?,
        created: now,
    };
    let entry = Entry::new(EventKind::AccountCreated, origin, now);
    match store.create_account(&account, &entry).await? {
        AccountCreated::Created => {
            tracing::info!(account_id = account.account_id, "account created");
            Ok(SignedUp {
                account_id: account.account_id,
                login: account.login,
            })
        }
        AccountCreated::LoginTaken => Err(Error::LoginTaken),
    }
}

#[derive(Debug)]
pub enum SignIn {
    SignedIn {
        session_token: String,
        expires_in: i64,
    },
    TwoFactorRequired {
        mfa_token: String,
        expires_in: i64,
    },
}

/// The password step of SignIn. An unknown login costs one hash and is throttled like a known
/// one, with the same storage calls.
pub async fn sign_in<S>(
    store: &S,
    login: &str,
    presented: &str,
    origin: &Origin,
    now: Now,
) -> Result<SignIn, Error>
where
    S: AccountStore + ThrottleStore + SessionStore,
{
    let login = normalise_login(login)?;
    check_presented_password(presented)?;

    let LoginRead { owner, locks } = store.login(&login).await?;
    let (subject, first_read) = match &owner {
        Some(account_id) => (Subject::Account(account_id), FirstRead::Claim(&login)),
        None => (
            Subject::UnknownLogin(&login),
            FirstRead::UnknownLogin(&login),
        ),
    };
    // None: the account was deleted since its login was read.
    let admission = throttle::admit(
        store,
        subject,
        Counter::Password,
        Precondition::None,
        (first_read, locks),
        now,
    )
    .await?
    .ok();
    let account = admission
        .as_ref()
        .and_then(|admission| admission.account.as_ref());
    let stored_hash = account.map(|account| account.password_hash.as_str());
    if !password::verify(stored_hash, presented).await? {
        if let Some(admission) = &admission {
            throttle::record_failure(
                store,
                subject,
                admission,
                EventKind::SignInFailed,
                origin,
                now,
            )
            .await?;
        }
        tracing::info!(account_id = owner, "wrong password or unknown login");
        return Err(Error::InvalidCredentials);
    }
    let Some(account) = account else {
        return Err(Error::InvalidCredentials);
    };
    if let Some(admission) = &admission {
        throttle::lift_started_lock(store, admission).await;
    }

    // A hash made under an older policy is replaced, in the same write as the count's reset.
    let rehash = match password::needs_rehash(&account.password_hash) {
        true => Some(password::hash(presented).await?),
        false => None,
    };
    if account.two_factor_enabled() {
        return second_factor_required(store, account, rehash.as_deref(), now).await;
    }

    // Only while 2FA is off: a SignIn racing the request that enables it either commits first
    // (and its session is one the enable ends) or finds 2FA on and asks for the second factor.
    let (session_token, session) = new_session(&account.account_id, &account.login, origin, now)?;
    let entry = Entry::new(EventKind::SignedIn, origin, now);
    match store
        .open_session(&session, rehash.as_deref(), &entry)
        .await?
    {
        SessionOpened::Opened => {}
        SessionOpened::TwoFactorEnabled => {
            let account = store
                .account(&account.account_id)
                .await?
                .ok_or(Error::InvalidCredentials)?;
            if !account.two_factor_enabled() {
                return Err(Error::ServiceUnavailable);
            }
            return second_factor_required(store, &account, rehash.as_deref(), now).await;
        }
    }
    tracing::info!(account_id = account.account_id, "signed in");
    Ok(SignIn::SignedIn {
        session_token,
        expires_in: SESSION_LIFETIME_SECS,
    })
}

/// The password was right and 2FA is on: an `mfa_token` of the account's current enrolment.
async fn second_factor_required(
    store: &impl SessionStore,
    account: &Account,
    rehash: Option<&str>,
    now: Now,
) -> Result<SignIn, Error> {
    let generation = account
        .enrolment()
        .map(|enrolment| enrolment.generation)
        .unwrap_or_default();
    let issued = random::issue(MFA_PREFIX)?;
    let pending = NewMfaPending {
        digest: issued.digest,
        account_id: account.account_id.clone(),
        login: account.login.clone(),
        generation,
        created: now,
        expires_at: now.secs() + MFA_TOKEN_LIFETIME_SECS,
    };
    match store.issue_mfa_token(&pending, rehash).await? {
        Written::Written => {}
        // The account went away since it was read: SignIn's only refusal, as for an unknown login.
        Written::Gone => return Err(Error::InvalidCredentials),
    }
    tracing::info!(
        account_id = account.account_id,
        "password accepted, second factor required"
    );
    Ok(SignIn::TwoFactorRequired {
        mfa_token: issued.token,
        expires_in: MFA_TOKEN_LIFETIME_SECS,
    })
}

/// The account and its two-factor status, as `GET /v1/account` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub account_id: String,
    pub login: String,
    pub created_at: i64,
    pub two_factor_enabled: bool,
    pub enabled_at: Option<i64>,
    pub recovery_codes_remaining: Option<usize>,
}

impl Status {
    pub fn of(account: &Account) -> Status {
        let enrolment = account.enrolment();
        Status {
            account_id: account.account_id.clone(),
            login: account.login.clone(),
            created_at: account.created_at,
            two_factor_enabled: enrolment.is_some(),
            enabled_at: enrolment.and_then(|enrolment| enrolment.enabled_at),
            recovery_codes_remaining: enrolment.map(|enrolment| enrolment.codes.remaining()),
        }
    }
}

/// The account and its two-factor status.
pub async fn status(store: &impl AccountStore, account_id: &str) -> Result<Status, Error> {
    let account = store
        .account(account_id)
        .await?
        .ok_or(Error::Unauthorized)?;
    Ok(Status::of(&account))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_trimmed_lower_cased_and_bounded() {
        assert_eq!(
            normalise_login("  Alice@Example.COM ").unwrap(),
            "alice@example.com"
        );
        assert!(normalise_login("ab").is_err());
        assert!(normalise_login("   abc   ").is_ok());
        assert!(normalise_login(&"a".repeat(254)).is_ok());
        assert!(normalise_login(&"a".repeat(255)).is_err());
        assert!(normalise_login(&"é".repeat(127)).is_ok(), "254 bytes");
        assert!(
            normalise_login(&format!("a{}", "é".repeat(127))).is_err(),
            "255 bytes"
        );
        assert!(normalise_login("ali\nce").is_err());
    }
}
