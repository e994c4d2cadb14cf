//! Accounts: sign-up, the password step of SignIn, sign-out and the account's status.

use crate::auth::{SessionPrincipal, SESSION_LIFETIME_SECS};
use crate::error::ApiError;
use crate::events::EventKind;
use crate::http::Client;
use crate::store::{
    event_item, get_n, get_s, key_item, keys, n, required_s, s, ConditionalUpdate, Item, Store,
};
use crate::throttle::{self, Counter, Subject};
use crate::token::{self, MFA_PREFIX, SESSION_PREFIX};
use crate::{password, Now};

/// An `mfa_token` lives 5 minutes.
pub const MFA_TOKEN_LIFETIME_SECS: i64 = 300;

/// A login as stored and compared: trimmed, lower-cased, 3 to 254 characters, no control characters.
pub fn normalise_login(raw: &str) -> Result<String, ApiError> {
    let login = raw.trim().to_lowercase();
    let length = login.chars().count();
    if !(3..=254).contains(&length) {
        return Err(ApiError::InvalidRequest(
            "The field `login` must be 3 to 254 characters.".into(),
        ));
    }
    if login.chars().any(char::is_control) {
        return Err(ApiError::InvalidRequest(
            "The field `login` must not contain control characters.".into(),
        ));
    }
    Ok(login)
}

/// A new password: 8 to 128 characters. Anything else is refused before it is hashed.
pub fn check_new_password(password: &str) -> Result<(), ApiError> {
    check_password_length(password, 8)
}

/// A password presented for checking: at most 128 characters, never empty.
pub fn check_presented_password(password: &str) -> Result<(), ApiError> {
    check_password_length(password, 1)
}

fn check_password_length(password: &str, minimum: usize) -> Result<(), ApiError> {
    let length = password.chars().count();
    if length < minimum || length > 128 {
        return Err(ApiError::InvalidRequest(format!(
            "The field `password` must be {minimum} to 128 characters."
        )));
    }
    Ok(())
}

#[derive(Debug)]
pub struct NewAccount {
    pub account_id: String,
    pub login: String,
}

/// Creates an account and claims its login in one transaction: of two simultaneous sign-ups of
/// one login, exactly one succeeds.
pub async fn sign_up(
    store: &Store,
    login: &str,
    password: &str,
    client: &Client,
    now: Now,
) -> Result<NewAccount, ApiError> {
    let login = normalise_login(login)?;
    check_new_password(password)?;
    let password_hash = password::hash(password).await?;
    let account_id = token::new_account_id()?;

    let mut account = key_item(keys::account(&account_id));
    account.insert("account_id".into(), s(&account_id));
    account.insert("login".into(), s(&login));
    account.insert("password_hash".into(), s(password_hash));
    account.insert("created_at".into(), n(now.secs()));
    account.insert("pw_failures".into(), n(0));
    account.insert("mfa_failures".into(), n(0));
    account.insert(
        "tf_enabled".into(),
        aws_sdk_dynamodb::types::AttributeValue::Bool(false),
    );

    let mut claim = key_item(keys::login(&login));
    claim.insert("account_id".into(), s(&account_id));

    store
        .commit(
            vec![
                store.table_put(account, Some("attribute_not_exists(pk)"))?,
                store.table_put(claim, Some("attribute_not_exists(pk)"))?,
                store.event_put(&account_id, EventKind::AccountCreated, client, now)?,
            ],
            ApiError::LoginTaken,
        )
        .await?;
    tracing::info!(account_id, "account created");
    Ok(NewAccount { account_id, login })
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

/// The password step of SignIn. An unknown login costs one hash and is throttled like a known one.
pub async fn sign_in(
    store: &Store,
    login: &str,
    password: &str,
    client: &Client,
    now: Now,
) -> Result<SignIn, ApiError> {
    let login = normalise_login(login)?;
    check_presented_password(password)?;

    let claim = store.get(keys::login(&login)).await?;
    let account_id = claim
        .as_ref()
        .and_then(|item| get_s(item, "account_id"))
        .map(str::to_string);
    let subject = match &account_id {
        Some(account_id) => Subject::Account(account_id),
        None => Subject::UnknownLogin(&login),
    };
    // An unknown login's own throttle item comes back too: only an account's item is an account.
    let account = throttle::admit(store, subject, Counter::Password, client, now)
        .await?
        .filter(|_| account_id.is_some());

    let stored_hash = account
        .as_ref()
        .and_then(|item| get_s(item, "password_hash"))
        .map(str::to_string);
    let stored_hash = stored_hash.as_deref();
    if !password::verify(stored_hash, password).await? {
        match &account_id {
            Some(account_id) => {
                store
                    .put(event_item(
                        account_id,
                        EventKind::SignInFailed,
                        client,
                        now,
                    )?)
                    .await?;
                tracing::info!(account_id, "wrong password");
            }
            // A write of the same weight as the event above, so an unknown login's answer takes
            // as many round trips as a wrong password's.
            None => {
                let touch = ConditionalUpdate::new(keys::login_throttle(&login))
                    .set("last_failure_at = :now")
                    .value(":now", n(now.secs()));
                store.update(touch).await?.map_err(|_| ApiError::Internal)?;
            }
        }
        return Err(ApiError::InvalidCredentials);
    }
    let (Some(account), Some(account_id)) = (account, account_id) else {
        return Err(ApiError::InvalidCredentials);
    };

    let mut account_update = Counter::Password.reset(&account_id);
    if stored_hash.is_some_and(password::needs_rehash) {
        account_update = account_update
            .set("password_hash = :rehash")
            .value(":rehash", s(password::hash(password).await?));
    }
    let two_factor = crate::two_factor::is_enabled(&account);
    let stored_login = required_s(&account, "login")?;

    if two_factor {
        let issued = token::issue(MFA_PREFIX)?;
        let session = session_item(
            &issued.digest,
            &account_id,
            &stored_login,
            "mfa_pending",
            now,
            MFA_TOKEN_LIFETIME_SECS,
        );
        store
            .commit(
                vec![
                    store.table_put(session, Some("attribute_not_exists(pk)"))?,
                    store.table_update(account_update)?,
                ],
                ApiError::Unauthorized,
            )
            .await?;
        tracing::info!(account_id, "password accepted, second factor required");
        return Ok(SignIn::TwoFactorRequired {
            mfa_token: issued.token,
            expires_in: MFA_TOKEN_LIFETIME_SECS,
        });
    }

    let issued = token::issue(SESSION_PREFIX)?;
    let session = session_item(
        &issued.digest,
        &account_id,
        &stored_login,
        "full",
        now,
        SESSION_LIFETIME_SECS,
    );
    store
        .commit(
            vec![
                store.table_put(session, Some("attribute_not_exists(pk)"))?,
                store.table_update(account_update)?,
                store.event_put(&account_id, EventKind::SignedIn, client, now)?,
            ],
            ApiError::Unauthorized,
        )
        .await?;
    tracing::info!(account_id, "signed in");
    Ok(SignIn::SignedIn {
        session_token: issued.token,
        expires_in: SESSION_LIFETIME_SECS,
    })
}

/// A session item: full sessions and `mfa_token`s share the layout, told apart by `kind`.
pub fn session_item(
    digest: &str,
    account_id: &str,
    login: &str,
    kind: &str,
    now: Now,
    lifetime: i64,
) -> Item {
    let mut item = key_item(keys::session(digest));
    item.insert("account_id".into(), s(account_id));
    item.insert("login".into(), s(login));
    item.insert("kind".into(), s(kind));
    item.insert("created_at".into(), n(now.secs()));
    item.insert("expires_at".into(), n(now.secs() + lifetime));
    item.insert("attempts".into(), n(0));
    item
}

/// Revokes the session presented. Any later use of it is 401.
pub async fn sign_out(
    store: &Store,
    principal: &SessionPrincipal,
    client: &Client,
    now: Now,
) -> Result<(), ApiError> {
    store
        .commit(
            vec![
                store.table_delete(
                    keys::session(&principal.session_digest),
                    Some("attribute_exists(pk)"),
                )?,
                store.event_put(&principal.account_id, EventKind::SignedOut, client, now)?,
            ],
            ApiError::Unauthorized,
        )
        .await?;
    tracing::info!(account_id = principal.account_id, "signed out");
    Ok(())
}

/// The account and its two-factor status.
pub async fn status(store: &Store, account_id: &str) -> Result<serde_json::Value, ApiError> {
    let account = store
        .get(keys::account(account_id))
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Ok(status_json(&account))
}

pub fn status_json(account: &Item) -> serde_json::Value {
    let enabled = crate::two_factor::is_enabled(account);
    let remaining = enabled.then(|| crate::two_factor::remaining_codes(account));
    serde_json::json!({
        "account_id": get_s(account, "account_id"),
        "login": get_s(account, "login"),
        "created_at": crate::rfc3339(get_n(account, "created_at").unwrap_or_default()),
        "two_factor": {
            "enabled": enabled,
            "enabled_at": if enabled { get_n(account, "tf_enabled_at").map(crate::rfc3339) } else { None },
            "recovery_codes_remaining": remaining,
        }
    })
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
        assert!(normalise_login("ali\nce").is_err());
    }

    #[test]
    fn passwords_are_8_to_128_characters() {
        assert!(check_new_password("1234567").is_err());
        assert!(check_new_password("12345678").is_ok());
        assert!(check_new_password(&"é".repeat(128)).is_ok());
        assert!(check_new_password(&"é".repeat(129)).is_err());
        let message = check_new_password("short").unwrap_err().message();
        assert!(message.contains("`password`") && !message.contains("short"));
    }
}
