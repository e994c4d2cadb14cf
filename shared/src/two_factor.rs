//! Two-factor authentication: enrolment (none → pending → enabled), recovery codes, and disabling.
//!
//! Each transition is one conditional write, so no reader ever sees 2FA on without recovery codes,
//! or codes of two generations.

use crate::auth::SessionPrincipal;
use crate::crypto::{Keys, Sealed};
use crate::error::ApiError;
use crate::events::EventKind;
use crate::http::Client;
use crate::store::{
    event_item, get_b, get_n, get_ss, key_item, keys, n, ConditionalUpdate, Item, Store,
    Transaction,
};
use crate::throttle::{self, Counter, Subject};
use crate::{password, recovery, totp, Now};
use aws_sdk_dynamodb::types::AttributeValue;

/// A pending secret may be confirmed for 10 minutes.
pub const SETUP_LIFETIME_SECS: i64 = 600;

pub fn is_enabled(account: &Item) -> bool {
    account
        .get("tf_enabled")
        .and_then(|v| v.as_bool().ok())
        .copied()
        .unwrap_or(false)
}

/// Confirms the password of a signed-in account, counting the attempt against the login's
/// password throttle first. Returns the account as it is now.
pub async fn confirm_password(
    store: &Store,
    principal: &SessionPrincipal,
    password: &str,
    client: &Client,
    now: Now,
) -> Result<Item, ApiError> {
    crate::accounts::check_presented_password(password)?;
    let account_id = principal.account_id.as_str();
    let account = throttle::admit(
        store,
        Subject::Account(account_id),
        Counter::Password,
        client,
        now,
    )
    .await?
    .ok_or(ApiError::Unauthorized)?;
    let stored = crate::store::get_s(&account, "password_hash");
    if !password::verify(stored, password).await? {
        store
            .put(event_item(
                account_id,
                EventKind::SignInFailed,
                client,
                now,
            )?)
            .await?;
        tracing::info!(account_id, "wrong password on a password-confirmed route");
        return Err(ApiError::InvalidPassword);
    }
    Ok(account)
}

/// The password was right but the state forbids the operation: the count starts again, then the
/// conflict is reported.
async fn refuse_after_password(
    store: &Store,
    account_id: &str,
    error: ApiError,
) -> Result<ApiError, ApiError> {
    store
        .update(Counter::Password.reset(account_id))
        .await?
        .map_err(|_| ApiError::Unauthorized)?;
    Ok(error)
}

fn blob(bytes: Vec<u8>) -> AttributeValue {
    AttributeValue::B(aws_smithy_types::Blob::new(bytes))
}

pub struct PendingSetup {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_png: String,
    pub expires_in: i64,
}

/// Step 1: a fresh secret, kept sealed as the account's pending setup (replacing any earlier one).
pub async fn start_setup(
    store: &Store,
    keys: &Keys,
    issuer: &str,
    principal: &SessionPrincipal,
    password: &str,
    client: &Client,
    now: Now,
) -> Result<PendingSetup, ApiError> {
    let account = confirm_password(store, principal, password, client, now).await?;
    let account_id = principal.account_id.as_str();
    if is_enabled(&account) {
        return Err(
            refuse_after_password(store, account_id, ApiError::TwoFactorAlreadyEnabled).await?,
        );
    }
    let secret = totp::new_secret()?;
    let mut pending = key_item(keys::setup(account_id));
    pending.insert(
        "tf_pending".into(),
        blob(keys.seal(Sealed::TotpSecret, account_id, &secret)?),
    );
    pending.insert("expires_at".into(), n(now.secs() + SETUP_LIFETIME_SECS));
    let account_update = Counter::Password
        .reset(account_id)
        .condition("tf_enabled = :off")
        .value(":off", AttributeValue::Bool(false));
    store
        .commit(
            vec![
                store.table_put(pending, None)?,
                store.table_update(account_update)?,
            ],
            ApiError::TwoFactorAlreadyEnabled,
        )
        .await?;
    let otpauth_uri = totp::otpauth_uri(issuer, &principal.login, &secret);
    tracing::info!(account_id, "two-factor setup started");
    Ok(PendingSetup {
        secret: totp::base32(&secret),
        qr_png: totp::qr_png_data_uri(&otpauth_uri)?,
        otpauth_uri,
        expires_in: SETUP_LIFETIME_SECS,
    })
}

/// A new set of recovery codes: shown once as returned, stored as keyed hashes plus a sealed
/// list for "view".
struct CodeSet {
    codes: Vec<String>,
    ids: Vec<String>,
    sealed: Vec<u8>,
}

fn new_code_set(keys: &Keys, account_id: &str) -> Result<CodeSet, ApiError> {
    let codes = recovery::new_set()?;
    let ids = codes
        .iter()
        .map(|code| keys.recovery_code_id(account_id, code))
        .collect();
    let sealed = keys.seal(
        Sealed::RecoveryCodes,
        account_id,
        codes.join(",").as_bytes(),
    )?;
    Ok(CodeSet { codes, ids, sealed })
}

fn displayed(codes: &[String]) -> Vec<String> {
    codes.iter().map(|code| recovery::display(code)).collect()
}

/// Step 2: the first code from the app turns 2FA on, with a first set of recovery codes.
pub async fn confirm_setup(
    store: &Store,
    keys: &Keys,
    principal: &SessionPrincipal,
    code: &str,
    client: &Client,
    now: Now,
) -> Result<Vec<String>, ApiError> {
    let account_id = principal.account_id.as_str();
    let pending = store
        .get_live(keys::setup(account_id), now)
        .await?
        .ok_or(ApiError::SetupNotStarted)?;
    let sealed = get_b(&pending, "tf_pending")
        .ok_or(ApiError::SetupNotStarted)?
        .to_vec();
    let secret = keys.open(Sealed::TotpSecret, account_id, &sealed)?;
    let Some(step) = totp::accepted_step(&secret, code, now.secs(), None)? else {
        return Err(ApiError::InvalidCode);
    };
    let set = new_code_set(keys, account_id)?;
    // The confirming code counts as used: `last_step` starts at its step.
    let enable = ConditionalUpdate::new(keys::account(account_id))
        .set("tf_enabled = :on")
        .set("tf_enabled_at = :now")
        .set("tf_secret = :secret")
        .set("last_step = :step")
        .set("rc_hashes = :ids")
        .set("rc_sealed = :codes")
        .set("rc_generation = if_not_exists(rc_generation, :zero) + :one")
        .set("mfa_failures = :zero")
        .remove("rc_used")
        .remove("mfa_locked_until")
        .condition("attribute_exists(pk) AND tf_enabled = :off")
        .value(":on", AttributeValue::Bool(true))
        .value(":off", AttributeValue::Bool(false))
        .value(":now", n(now.secs()))
        .value(":secret", blob(sealed.clone()))
        .value(":step", n(step))
        .value(":ids", AttributeValue::Ss(set.ids.clone()))
        .value(":codes", blob(set.sealed.clone()))
        .value(":zero", n(0))
        .value(":one", n(1));
    let outcome = store
        .transact(vec![
            store.table_update(enable)?,
            // The very pending secret that was checked, not one a concurrent step 1 put in its place.
            store.table_delete_if(
                keys::setup(account_id),
                "tf_pending = :pending",
                ":pending",
                blob(sealed),
            )?,
            store.event_put(account_id, EventKind::TwoFactorEnabled, client, now)?,
        ])
        .await?;
    match outcome {
        Transaction::Committed => {
            tracing::info!(account_id, "two-factor authentication enabled");
            Ok(displayed(&set.codes))
        }
        Transaction::ConditionFailed(failed) if failed.first() == Some(&true) => {
            Err(ApiError::TwoFactorAlreadyEnabled)
        }
        Transaction::ConditionFailed(_) => Err(ApiError::SetupNotStarted),
    }
}

/// Opens the sealed list of an enabled account: each code with whether it was used.
fn open_codes(
    keys: &Keys,
    account_id: &str,
    account: &Item,
) -> Result<Vec<(String, bool)>, ApiError> {
    let sealed = get_b(account, "rc_sealed").ok_or(ApiError::Internal)?;
    let plain = keys.open(Sealed::RecoveryCodes, account_id, sealed)?;
    let text = String::from_utf8(plain).map_err(|_| ApiError::Internal)?;
    let used = get_ss(account, "rc_used");
    Ok(text
        .split(',')
        .map(|code| {
            let id = keys.recovery_code_id(account_id, code);
            (recovery::display(code), used.contains(&id))
        })
        .collect())
}

pub struct CodeView {
    pub codes: Vec<(String, bool)>,
    pub remaining: usize,
}

/// The current codes again, after the password; all from one read, so of one generation.
pub async fn view_codes(
    store: &Store,
    keys: &Keys,
    principal: &SessionPrincipal,
    password: &str,
    client: &Client,
    now: Now,
) -> Result<CodeView, ApiError> {
    let account = confirm_password(store, principal, password, client, now).await?;
    let account_id = principal.account_id.as_str();
    if !is_enabled(&account) {
        return Err(refuse_after_password(store, account_id, ApiError::TwoFactorNotEnabled).await?);
    }
    let codes = open_codes(keys, account_id, &account)?;
    let remaining = codes.iter().filter(|(_, used)| !used).count();
    store
        .commit(
            vec![
                store.table_update(Counter::Password.reset(account_id))?,
                store.event_put(account_id, EventKind::RecoveryCodesViewed, client, now)?,
            ],
            ApiError::Unauthorized,
        )
        .await?;
    Ok(CodeView { codes, remaining })
}

/// A new set replaces the old in one write: every earlier code stops working at that instant.
pub async fn regenerate_codes(
    store: &Store,
    keys: &Keys,
    principal: &SessionPrincipal,
    password: &str,
    client: &Client,
    now: Now,
) -> Result<Vec<String>, ApiError> {
    let account = confirm_password(store, principal, password, client, now).await?;
    let account_id = principal.account_id.as_str();
    if !is_enabled(&account) {
        return Err(refuse_after_password(store, account_id, ApiError::TwoFactorNotEnabled).await?);
    }
    let set = new_code_set(keys, account_id)?;
    let replace = Counter::Password
        .reset(account_id)
        .set("rc_hashes = :ids")
        .set("rc_sealed = :codes")
        .set("rc_generation = rc_generation + :one")
        .remove("rc_used")
        .condition("tf_enabled = :on")
        .value(":on", AttributeValue::Bool(true))
        .value(":ids", AttributeValue::Ss(set.ids.clone()))
        .value(":codes", blob(set.sealed))
        .value(":one", n(1));
    store
        .commit(
            vec![
                store.table_update(replace)?,
                store.event_put(account_id, EventKind::RecoveryCodesRegenerated, client, now)?,
            ],
            ApiError::TwoFactorNotEnabled,
        )
        .await?;
    tracing::info!(account_id, "recovery codes regenerated");
    Ok(displayed(&set.codes))
}

/// Turns 2FA off: the secret and every recovery code are gone in one write.
pub async fn disable(
    store: &Store,
    principal: &SessionPrincipal,
    password: &str,
    client: &Client,
    now: Now,
) -> Result<(), ApiError> {
    let account = confirm_password(store, principal, password, client, now).await?;
    let account_id = principal.account_id.as_str();
    if !is_enabled(&account) {
        return Err(refuse_after_password(store, account_id, ApiError::TwoFactorNotEnabled).await?);
    }
    let off = Counter::Password
        .reset(account_id)
        .set("tf_enabled = :off")
        .set("mfa_failures = :zero")
        .remove("tf_enabled_at")
        .remove("tf_secret")
        .remove("last_step")
        .remove("rc_hashes")
        .remove("rc_used")
        .remove("rc_sealed")
        .remove("mfa_locked_until")
        .condition("tf_enabled = :on")
        .value(":on", AttributeValue::Bool(true))
        .value(":off", AttributeValue::Bool(false))
        .value(":zero", n(0));
    store
        .commit(
            vec![
                store.table_update(off)?,
                store.table_delete(keys::setup(account_id), None)?,
                store.event_put(account_id, EventKind::TwoFactorDisabled, client, now)?,
            ],
            ApiError::TwoFactorNotEnabled,
        )
        .await?;
    tracing::info!(account_id, "two-factor authentication disabled");
    Ok(())
}

/// Recovery codes left, for the account status and after each use.
pub fn remaining_codes(account: &Item) -> usize {
    get_ss(account, "rc_hashes")
        .len()
        .saturating_sub(get_ss(account, "rc_used").len())
}

/// The last accepted TOTP step of an account.
pub fn last_step(account: &Item) -> Option<i64> {
    get_n(account, "last_step")
}
