//! The password rules: what a new password must be, and how a signed-in account confirms its
//! password before a security change, counted against the login's password throttle.

use super::error::Error;
use super::ports::{ThrottleStore, Written};
use super::records::{
    Account, Counter, EventKind, FirstRead, Precondition, SessionPrincipal, Subject,
};
use super::throttle;
use super::{Now, Origin};
use crate::crypto::password;

/// A new password: 8 to 128 characters. Anything else is refused before it is hashed.
pub fn check_new_password(password: &str) -> Result<(), Error> {
    check_password_length(password, 8)
}

/// A password presented for checking: at most 128 characters, never empty.
pub fn check_presented_password(password: &str) -> Result<(), Error> {
    check_password_length(password, 1)
}

fn check_password_length(password: &str, minimum: usize) -> Result<(), Error> {
    let length = password.chars().count();
    if length < minimum || length > 128 {
        return Err(Error::InvalidRequest(format!(
            "The field `password` must be {minimum} to 128 characters."
        )));
    }
    Ok(())
}

/// Confirms the password of a signed-in account, counting the attempt against the login's
/// password throttle first. Returns the account as it is now.
pub async fn confirm_password(
    store: &impl ThrottleStore,
    principal: &SessionPrincipal,
    presented: &str,
    origin: &Origin,
    now: Now,
) -> Result<Account, Error> {
    check_presented_password(presented)?;
    let account_id = principal.account_id.as_str();
    let subject = Subject::Account(account_id);
    let first = (
        FirstRead::Session(&principal.session_digest),
        principal.locks,
    );
    let mut admission = throttle::admit(
        store,
        subject,
        Counter::Password,
        Precondition::None,
        first,
        now,
    )
    .await?
    .map_err(|_| Error::Unauthorized)?;
    let Some(account) = admission.account.take() else {
        return Err(Error::Unauthorized);
    };
    if !password::verify(Some(&account.password_hash), presented).await? {
        throttle::record_failure(
            store,
            subject,
            &admission,
            EventKind::SignInFailed,
            origin,
            now,
        )
        .await?;
        tracing::info!(account_id, "wrong password on a password-confirmed route");
        return Err(Error::InvalidPassword);
    }
    throttle::lift_started_lock(store, &admission).await;
    Ok(account)
}

/// Confirms the password of an account whose 2FA must be on (`two_factor_on`) or off for the
/// operation: in the other state the password's count starts again and the state is the answer.
pub async fn confirm_password_while(
    store: &impl ThrottleStore,
    principal: &SessionPrincipal,
    presented: &str,
    origin: &Origin,
    now: Now,
    two_factor_on: bool,
) -> Result<Account, Error> {
    let account = confirm_password(store, principal, presented, origin, now).await?;
    if account.two_factor_enabled() == two_factor_on {
        return Ok(account);
    }
    let refusal = match two_factor_on {
        true => Error::TwoFactorNotEnabled,
        false => Error::TwoFactorAlreadyEnabled,
    };
    Err(refuse_after_password(store, &principal.account_id, refusal).await?)
}

/// The password was right but the state forbids the operation: the count starts again, then the
/// refusal is reported.
pub async fn refuse_after_password(
    store: &impl ThrottleStore,
    account_id: &str,
    refusal: Error,
) -> Result<Error, Error> {
    match store.reset_count(account_id, Counter::Password).await? {
        Written::Written => Ok(refusal),
        Written::Gone => Err(Error::Unauthorized),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_8_to_128_characters() {
        assert!(check_new_password("1234567").is_err());
        assert!(check_new_password("12345678").is_ok());
        assert!(check_new_password(&"é".repeat(128)).is_ok());
        assert!(check_new_password(&"é".repeat(129)).is_err());
        let Err(Error::InvalidRequest(message)) = check_new_password("short") else {
            panic!("a short password is an invalid request");
        };
        assert!(message.contains("`password`") && !message.contains("short"));
    }
}
