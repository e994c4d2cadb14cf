//! Accounts: sign-up, the password step of SignIn, sign-out and the account's status.

use crate::auth::{SessionPrincipal, SESSION_LIFETIME_SECS};
use crate::error::ApiError;
use crate::events::EventKind;
use crate::http::Client;
use crate::store::{
    get_n, get_s, key_item, keys, n, required_s, s, ConditionalUpdate, Item, Store, Transaction,
};
use crate::throttle::{self, Counter, Precondition, Subject};
use crate::token::{self, MFA_PREFIX};
use crate::{password, Now};
use aws_sdk_dynamodb::types::AttributeValue;

/// An `mfa_token` lives 5 minutes.
pub const MFA_TOKEN_LIFETIME_SECS: i64 = 300;

/// A login as stored and compared: trimmed, lower-cased, 3 to 254 characters and at most 254
/// bytes of UTF-8 (so every key URI that names it fits a QR code), no control characters.
pub fn normalise_login(raw: &str) -> Result<String, ApiError> {
    let login = raw.trim().to_lowercase();
    let length = login.chars().count();
    if !(3..=254).contains(&length) || login.len() > 254 {
        return Err(ApiError::InvalidRequest(
            "The field `login` must be 3 to 254 characters, and at most 254 bytes in UTF-8.".into(),
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
    account.insert("token_count".into(), n(0));
    account.insert("tf_enabled".into(), AttributeValue::Bool(false));

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

/// The password step of SignIn. An unknown login costs one hash and is throttled like a known
/// one, with the same DynamoDB calls.
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
    // None: the account was deleted since its login was read.
    let admission = throttle::admit(store, subject, Counter::Password, Precondition::None, now)
        .await?
        .ok();
    // An unknown login's own throttle item comes back too: only an account's item is an account.
    let account = admission
        .as_ref()
        .filter(|_| account_id.is_some())
        .map(|admission| &admission.item);
    let stored_hash = account
        .and_then(|item| get_s(item, "password_hash"))
        .map(str::to_string);
    let stored_hash = stored_hash.as_deref();
    if !password::verify(stored_hash, password).await? {
        if let Some(admission) = &admission {
            throttle::record_failure(
                store,
                subject,
                admission,
                EventKind::SignInFailed,
                client,
                now,
            )
            .await?;
        }
        tracing::info!(account_id, "wrong password or unknown login");
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
    let stored_login = required_s(account, "login")?;
    if crate::two_factor::is_enabled(account) {
        return second_factor_required(store, account, &stored_login, account_update, now).await;
    }

    // Only while 2FA is off: a SignIn racing the request that enables it either commits first
    // (and its session is one the enable ends) or finds 2FA on and asks for the second factor.
    let opening = crate::sessions::open(store, &account_id, &stored_login, client, now)?;
    let mut writes = vec![store.table_update(
        account_update
            .clone()
            .set("session_seq = if_not_exists(session_seq, :seq_zero) + :seq_one")
            .condition("tf_enabled = :tf_off")
            .value(":seq_zero", n(0))
            .value(":seq_one", n(1))
            .value(":tf_off", AttributeValue::Bool(false)),
    )?];
    writes.extend(opening.writes);
    writes.push(store.event_put(&account_id, EventKind::SignedIn, client, now)?);
    match store.transact(writes).await? {
        Transaction::Committed => {}
        Transaction::ConditionFailed(failed) if failed.first() == Some(&true) => {
            // 2FA was enabled after the account was read: the second factor it is.
            let account = store
                .get(keys::account(&account_id))
                .await?
                .ok_or(ApiError::InvalidCredentials)?;
            if !crate::two_factor::is_enabled(&account) {
                return Err(ApiError::ServiceUnavailable);
            }
            return second_factor_required(store, &account, &stored_login, account_update, now)
                .await;
        }
        Transaction::ConditionFailed(_) => return Err(ApiError::Internal),
    }
    tracing::info!(account_id, "signed in");
    Ok(SignIn::SignedIn {
        session_token: opening.token,
        expires_in: SESSION_LIFETIME_SECS,
    })
}

/// The password was right and 2FA is on: an `mfa_token` of the account's current enrolment.
async fn second_factor_required(
    store: &Store,
    account: &Item,
    login: &str,
    account_update: ConditionalUpdate,
    now: Now,
) -> Result<SignIn, ApiError> {
    let account_id = required_s(account, "account_id")?;
    let account_id = account_id.as_str();
    let generation = crate::two_factor::generation(account);
    let issued = token::issue(MFA_PREFIX)?;
    let mut pending = key_item(keys::session(&issued.digest));
    pending.insert("account_id".into(), s(account_id));
    pending.insert("login".into(), s(login));
    pending.insert("kind".into(), s("mfa_pending"));
    pending.insert("generation".into(), n(generation));
    pending.insert("created_at".into(), n(now.secs()));
    pending.insert("expires_at".into(), n(now.secs() + MFA_TOKEN_LIFETIME_SECS));
    pending.insert("attempts".into(), n(0));
    store
        .commit(
            vec![
                store.table_put(pending, Some("attribute_not_exists(pk)"))?,
                store.table_update(account_update)?,
            ],
            ApiError::Unauthorized,
        )
        .await?;
    tracing::info!(account_id, "password accepted, second factor required");
    Ok(SignIn::TwoFactorRequired {
        mfa_token: issued.token,
        expires_in: MFA_TOKEN_LIFETIME_SECS,
    })
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
                store.table_delete(
                    crate::sessions::listing_key(&principal.account_id, &principal.session_id),
                    None,
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
        assert!(normalise_login(&"é".repeat(127)).is_ok(), "254 bytes");
        assert!(
            normalise_login(&format!("a{}", "é".repeat(127))).is_err(),
            "255 bytes"
        );
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
