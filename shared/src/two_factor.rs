//! Two-factor authentication: enrolment (none → pending → enabled), recovery codes, and disabling.
//!
//! Each transition is one conditional write, so no reader ever sees 2FA on without recovery codes,
//! or codes of two generations.

use crate::auth::SessionPrincipal;
use crate::crypto::{Keys, Sealed};
use crate::error::ApiError;
use crate::events::EventKind;
use crate::http::Client;
use crate::store::{b, get_b, get_n, get_ss, keys, n, ConditionalUpdate, Item, Store, Transaction};
use crate::throttle::{self, Counter, Precondition, Subject};
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
    let subject = Subject::Account(account_id);
    let admission = throttle::admit(store, subject, Counter::Password, Precondition::None, now)
        .await?
        .map_err(|_| ApiError::Unauthorized)?;
    let stored = crate::store::get_s(&admission.item, "password_hash");
    if !password::verify(stored, password).await? {
        throttle::record_failure(
            store,
            subject,
            &admission,
            EventKind::SignInFailed,
            client,
            now,
        )
        .await?;
        tracing::info!(account_id, "wrong password on a password-confirmed route");
        return Err(ApiError::InvalidPassword);
    }
    Ok(admission.item)
}

/// The password was right but the state forbids the operation: the count starts again, then the
/// conflict is reported.
pub(crate) async fn refuse_after_password(
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

pub struct PendingSetup {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_png: String,
    pub expires_in: i64,
}

/// Step 1: a fresh secret, kept sealed on the account as its pending setup (replacing any
/// earlier one). The QR code is built before anything is written, so a failure there leaves no
/// pending secret behind.
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
    let otpauth_uri = totp::otpauth_uri(issuer, &principal.login, &secret);
    let qr_png = totp::qr_png_data_uri(&otpauth_uri)?;
    let pending = Counter::Password
        .reset(account_id)
        .set("tf_pending = :pending")
        .set("tf_pending_expires_at = :pending_expires")
        .condition("tf_enabled = :off")
        .value(
            ":pending",
            b(keys.seal(Sealed::TotpSecret, account_id, &secret)?),
        )
        .value(":pending_expires", n(now.secs() + SETUP_LIFETIME_SECS))
        .value(":off", AttributeValue::Bool(false));
    store
        .update(pending)
        .await?
        .map_err(|_| ApiError::TwoFactorAlreadyEnabled)?;
    tracing::info!(account_id, "two-factor setup started");
    Ok(PendingSetup {
        secret: totp::base32(&secret),
        qr_png,
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

/// Step 2: the first code from the app turns 2FA on, with a first set of recovery codes, and
/// ends every other session of the account: a session opened with the password alone does not
/// outlive the second factor's arrival.
///
/// A guess counts against the account's second-factor throttle (while 2FA is off nothing else
/// uses that count). Other sessions end in the transaction that enables, which also requires that
/// no session was opened since they were listed (`session_seq`): a SignIn that commits in between
/// makes the enable list them again. With more sessions than one transaction holds, the surplus is
/// ended first, then the rest with the enable, under the same condition.
pub async fn confirm_setup(
    store: &Store,
    keys: &Keys,
    principal: &SessionPrincipal,
    code: &str,
    client: &Client,
    now: Now,
) -> Result<Vec<String>, ApiError> {
    let account_id = principal.account_id.as_str();
    let subject = Subject::Account(account_id);
    let admission = match throttle::admit(
        store,
        subject,
        Counter::SecondFactor,
        Precondition::TwoFactorOff,
        now,
    )
    .await?
    {
        Ok(admission) => admission,
        Err(Some(_)) => return Err(ApiError::TwoFactorAlreadyEnabled),
        Err(None) => return Err(ApiError::Unauthorized),
    };
    let account = &admission.item;
    let pending_live = get_n(account, "tf_pending_expires_at").is_some_and(|at| at > now.secs());
    // A guess was counted, so it is logged, whatever refuses it.
    let refuse = |error: ApiError| async {
        throttle::record_failure(
            store,
            subject,
            &admission,
            EventKind::TwoFactorFailed,
            client,
            now,
        )
        .await?;
        Err(error)
    };
    let Some(sealed) = get_b(account, "tf_pending").filter(|_| pending_live) else {
        return refuse(ApiError::SetupNotStarted).await;
    };
    let sealed = sealed.to_vec();
    let secret = keys.open(Sealed::TotpSecret, account_id, &sealed)?;
    let Some(step) = totp::accepted_step(&secret, code, now.secs(), None)? else {
        tracing::info!(account_id, "wrong code confirming a setup");
        return refuse(ApiError::InvalidCode).await;
    };
    let set = new_code_set(keys, account_id)?;
    let mut seen_seq = get_n(account, "session_seq");
    // The sessions ended with the enable are logged just after it.
    let ended_at = Now {
        millis: now.millis + 1,
    };
    for round in 0..4 {
        // Three rounds guarded by `session_seq`; should sessions keep opening (someone with the
        // password signing in again and again), the last enables unguarded and then ends every
        // session opened before it: no SignIn opens one after it, so none survives its answer.
        let guarded = round < 3;
        let others = crate::sessions::others(store, principal, now).await?;
        let mut batches =
            crate::sessions::end_all_writes(store, account_id, &others, client, ended_at)?;
        let with_enable = batches.pop().unwrap_or_default();
        for writes in batches {
            store.write_all(writes).await?;
        }
        // The confirming code counts as used: `last_step` starts at its step.
        let mut enable = ConditionalUpdate::new(keys::account(account_id))
            .set("tf_enabled = :on")
            .set("tf_enabled_at = :now")
            .set("tf_secret = :secret")
            .set("last_step = :step")
            .set("rc_hashes = :ids")
            .set("rc_sealed = :codes")
            .set("rc_generation = if_not_exists(rc_generation, :zero) + :one")
            .set("tf_generation = if_not_exists(tf_generation, :zero) + :one")
            .set("mfa_failures = :zero")
            .remove("rc_used")
            .remove("mfa_locked_until")
            .remove("tf_pending")
            .remove("tf_pending_expires_at")
            // The very pending secret that was checked, not one a concurrent step 1 put in its place.
            .condition("attribute_exists(pk) AND tf_enabled = :off AND tf_pending = :pending")
            .value(":on", AttributeValue::Bool(true))
            .value(":off", AttributeValue::Bool(false))
            .value(":now", n(now.secs()))
            .value(":secret", b(sealed.clone()))
            .value(":pending", b(sealed.clone()))
            .value(":step", n(step))
            .value(":ids", AttributeValue::Ss(set.ids.clone()))
            .value(":codes", b(set.sealed.clone()))
            .value(":zero", n(0))
            .value(":one", n(1));
        enable = match (guarded, seen_seq) {
            (false, _) => enable,
            (true, Some(seq)) => enable.condition("session_seq = :seq").value(":seq", n(seq)),
            (true, None) => enable.condition("attribute_not_exists(session_seq)"),
        };
        let mut writes = vec![
            store.table_update(enable)?,
            store.event_put(account_id, EventKind::TwoFactorEnabled, client, now)?,
        ];
        writes.extend(with_enable);
        match store.transact(writes).await? {
            Transaction::Committed => {
                if !guarded {
                    let late = crate::sessions::others(store, principal, now).await?;
                    let writes = crate::sessions::end_all_writes(
                        store, account_id, &late, client, ended_at,
                    )?;
                    for writes in writes {
                        store.write_all(writes).await?;
                    }
                }
                tracing::info!(
                    account_id,
                    ended = others.len(),
                    "two-factor authentication enabled"
                );
                return Ok(displayed(&set.codes));
            }
            Transaction::ConditionFailed(failed) if failed.first() == Some(&true) => {
                let account = store
                    .get(keys::account(account_id))
                    .await?
                    .ok_or(ApiError::Unauthorized)?;
                if is_enabled(&account) {
                    return Err(ApiError::TwoFactorAlreadyEnabled);
                }
                if get_b(&account, "tf_pending") != Some(sealed.as_slice()) {
                    return Err(ApiError::SetupNotStarted);
                }
                // A session was opened since the listing: list again.
                seen_seq = get_n(&account, "session_seq");
            }
            Transaction::ConditionFailed(_) => return Err(ApiError::Internal),
        }
    }
    Err(ApiError::Internal)
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
    let set = get_ss(account, "rc_hashes");
    let like = set.first().ok_or(ApiError::Internal)?;
    let used = get_ss(account, "rc_used");
    text.split(',')
        .map(|code| {
            let id = keys.recovery_code_id_like(like, account_id, code)?;
            Ok((recovery::display(code), used.contains(&id)))
        })
        .collect()
}

/// The update that keys an account's recovery codes with the current key version (the sealed
/// list, the set of digests and the used ones), when they are of an older one.
fn rekeyed_codes(
    keys: &Keys,
    account_id: &str,
    account: &Item,
    codes: &[(String, bool)],
    update: ConditionalUpdate,
) -> Result<ConditionalUpdate, ApiError> {
    let current = get_b(account, "rc_sealed").is_some_and(|sealed| keys.is_current(sealed))
        && get_ss(account, "rc_hashes")
            .iter()
            .all(|id| keys.id_is_current(id));
    if current {
        return Ok(update);
    }
    let plain: Vec<String> = codes
        .iter()
        .filter_map(|(code, _)| recovery::normalise(code))
        .collect();
    let ids: Vec<String> = plain
        .iter()
        .map(|code| keys.recovery_code_id(account_id, code))
        .collect();
    let used: Vec<String> = ids
        .iter()
        .zip(codes)
        .filter(|(_, (_, used))| *used)
        .map(|(id, _)| id.clone())
        .collect();
    let sealed = keys.seal(
        Sealed::RecoveryCodes,
        account_id,
        plain.join(",").as_bytes(),
    )?;
    // Only the set that was read: same generation, and no code used since (the used set only grows).
    let update = match get_ss(account, "rc_used").len() {
        0 => update.condition("attribute_not_exists(rc_used)"),
        count => update
            .condition("size(rc_used) = :seen_used")
            .value(":seen_used", n(count)),
    };
    let mut update = update
        .set("rc_hashes = :rekeyed_ids")
        .set("rc_sealed = :rekeyed_codes")
        .condition("rc_generation = :seen_generation")
        .value(":rekeyed_ids", AttributeValue::Ss(ids))
        .value(":rekeyed_codes", b(sealed))
        .value(
            ":seen_generation",
            n(get_n(account, "rc_generation").unwrap_or(0)),
        );
    update = if used.is_empty() {
        update.remove("rc_used")
    } else {
        update
            .set("rc_used = :rekeyed_used")
            .value(":rekeyed_used", AttributeValue::Ss(used))
    };
    Ok(update)
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
    let reset = Counter::Password.reset(account_id);
    let update = rekeyed_codes(keys, account_id, &account, &codes, reset.clone())?;
    let event = store.event_put(account_id, EventKind::RecoveryCodesViewed, client, now)?;
    let outcome = store
        .transact(vec![store.table_update(update)?, event.clone()])
        .await?;
    if outcome != Transaction::Committed {
        // The set changed since it was read (a code used, or a new set): what was shown still
        // stands for that moment; the codes are keyed again on a later write.
        store
            .commit(
                vec![store.table_update(reset)?, event],
                ApiError::Unauthorized,
            )
            .await?;
    }
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
        .value(":codes", b(set.sealed))
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
        .set("tf_generation = if_not_exists(tf_generation, :zero) + :one")
        .remove("tf_enabled_at")
        .remove("tf_secret")
        .remove("last_step")
        .remove("rc_hashes")
        .remove("rc_used")
        .remove("rc_sealed")
        .remove("mfa_locked_until")
        .remove("tf_pending")
        .remove("tf_pending_expires_at")
        .condition("tf_enabled = :on")
        .value(":on", AttributeValue::Bool(true))
        .value(":off", AttributeValue::Bool(false))
        .value(":zero", n(0))
        .value(":one", n(1));
    store
        .commit(
            vec![
                store.table_update(off)?,
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

/// The account's enrolment: it changes whenever 2FA is enabled or disabled, and an `mfa_token`
/// is good only for the enrolment it was issued under.
pub fn generation(account: &Item) -> i64 {
    get_n(account, "tf_generation").unwrap_or(0)
}

/// The last accepted TOTP step of an account.
pub fn last_step(account: &Item) -> Option<i64> {
    get_n(account, "last_step")
}
