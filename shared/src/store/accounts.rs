//! The ports on the account's items: the profile (see `profile`), the claim of its login, the
//! throttle record of a login that has no account, and the two-factor transitions.

use super::events::{event_item, event_put};
use super::item::*;
use super::profile::*;
use super::{keys, sessions, StorageError, Store, Transaction};
use crate::domain::ports::*;
use crate::domain::records::*;
use crate::domain::security_log::RETENTION_SECS;
use crate::domain::throttle::COUNT_LIFETIME_SECS;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

fn subject_key(subject: Subject<'_>) -> (String, String) {
    match subject {
        Subject::Account(account_id) => keys::account(account_id),
        Subject::UnknownLogin(login) => keys::login_throttle(login),
    }
}

fn first_read_key(first_read: FirstRead<'_>) -> (String, String) {
    match first_read {
        FirstRead::Claim(login) => keys::login(login),
        FirstRead::UnknownLogin(login) => keys::login_throttle(login),
        FirstRead::Session(digest) => keys::session(digest),
    }
}

/// The writes of a failed attempt's entries. An unknown login gets writes of the same number,
/// kind and lifetime, on its own items, so that its failures and locks cost what a known login's
/// cost.
fn failure_writes(
    store: &Store,
    failure: &Failure<'_>,
) -> Result<Vec<TransactWriteItem>, StorageError> {
    failure
        .entries
        .iter()
        .map(|entry| {
            let item = match failure.subject {
                Subject::Account(account_id) => event_item(account_id, entry)?,
                Subject::UnknownLogin(login) => {
                    let (pk, _) = keys::login_throttle(login);
                    let mut item = key_item((pk, format!("LAST#{}", entry.kind.as_str())));
                    item.insert("at".into(), n(entry.at.secs()));
                    item.insert("expires_at".into(), n(entry.at.secs() + RETENTION_SECS));
                    item
                }
            };
            store.table_put(item, None)
        })
        .collect()
}

impl AccountStore for Store {
    async fn login(&self, login: &str) -> Stored<LoginRead> {
        // One read of the login's partition: its claim and, when it has no account, its own
        // record (whatever else the partition holds sorts outside the range).
        let (claim_key, throttle_key) = (keys::login(login), keys::login_throttle(login));
        let items = self
            .query_range(&claim_key.0, &claim_key.1, &throttle_key.1)
            .await?;
        let with_sort = |sort: &str| items.iter().find(|item| get_s(item, "sk") == Some(sort));
        if let Some(claim) = with_sort(&claim_key.1) {
            return Ok(LoginRead {
                owner: Some(required_s(claim, "account_id")?),
                locks: locks_in(claim),
            });
        }
        Ok(LoginRead {
            owner: None,
            locks: Locks {
                password: with_sort(&throttle_key.1)
                    .and_then(|own| count_in(own, Counter::Password)),
                second_factor: None,
            },
        })
    }

    async fn account(&self, account_id: &str) -> Stored<Option<Account>> {
        self.get(keys::account(account_id))
            .await?
            .as_ref()
            .map(account_of)
            .transpose()
    }

    async fn create_account(&self, account: &NewAccount, entry: &Entry) -> Stored<AccountCreated> {
        let mut profile = key_item(keys::account(&account.account_id));
        profile.insert("account_id".into(), s(&account.account_id));
        profile.insert("login".into(), s(&account.login));
        profile.insert("password_hash".into(), s(&account.password_hash));
        profile.insert("created_at".into(), n(account.created.secs()));
        profile.insert("pw_failures".into(), n(0));
        profile.insert("mfa_failures".into(), n(0));
        profile.insert("token_count".into(), n(0));
        profile.insert("tf_enabled".into(), AttributeValue::Bool(false));
        let mut claim = key_item(keys::login(&account.login));
        claim.insert("account_id".into(), s(&account.account_id));
        let writes = vec![
            self.table_put(profile, Some("attribute_not_exists(pk)"))?,
            self.table_put(claim, Some("attribute_not_exists(pk)"))?,
            event_put(self, &account.account_id, entry)?,
        ];
        Ok(if self.commits(writes).await? {
            AccountCreated::Created
        } else {
            AccountCreated::LoginTaken
        })
    }
}

impl ThrottleStore for Store {
    async fn count_attempt(&self, attempt: &Attempt<'_>) -> Stored<Counted> {
        let Attempt {
            subject,
            counter,
            step,
            precondition,
            now,
        } = *attempt;
        let mut update = ConditionalUpdate::new(subject_key(subject))
            .name("#failures", failures(counter))
            .name("#last", last_failure(counter))
            .set("#last = :now_s")
            .value(":now_s", n(now.secs()));
        update = match subject {
            Subject::Account(_) => update.condition("attribute_exists(pk)"),
            // The same lifetime as an account's count; TTL cleans up.
            Subject::UnknownLogin(_) => update
                .set("expires_at = :retain")
                .value(":retain", n(now.secs() + COUNT_LIFETIME_SECS)),
        };
        update = match precondition {
            Precondition::None => update,
            Precondition::TwoFactorOff => update
                .condition("tf_enabled = :precondition_off")
                .value(":precondition_off", AttributeValue::Bool(false)),
        };
        update = match step {
            CountStep::Restart { seen_last_at } => update
                .name("#locked", locked_until(counter))
                .set("#failures = :one")
                .remove("#locked")
                .condition("#last = :seen_last")
                .value(":one", n(1))
                .value(":seen_last", n(seen_last_at)),
            CountStep::Increment {
                below,
                stale_before,
            } => update
                .set("#failures = if_not_exists(#failures, :zero) + :one")
                .condition("attribute_not_exists(#failures) OR #failures < :below")
                // A count of zero starts again as one either way: however old its last attempt,
                // it is incremented in one write (a dormant login costs what an unknown one does).
                .condition("attribute_not_exists(#last) OR #last > :stale OR #failures = :zero")
                .value(":zero", n(0))
                .value(":one", n(1))
                .value(":below", n(below))
                .value(":stale", n(stale_before)),
            // The lock is set with the count, so that concurrent attempts find it at once.
            CountStep::Lock {
                seen_failures,
                until,
            } => update
                .name("#locked", locked_until(counter))
                .set("#failures = :next")
                .set("#locked = :lock")
                .condition(
                    "#failures = :seen AND (attribute_not_exists(#locked) OR #locked <= :now)",
                )
                .value(":next", n(seen_failures + 1))
                .value(":seen", n(seen_failures))
                .value(":lock", n(until))
                .value(":now", n(now.secs())),
        };
        let is_account = matches!(subject, Subject::Account(_));
        Ok(match self.update(update).await? {
            Ok(item) if is_account => Counted::Counted(Some(account_of(&item)?)),
            Ok(_) => Counted::Counted(None),
            Err(None) if is_account => Counted::AccountMissing,
            Err(None) => Counted::Changed(Count::default()),
            Err(Some(old)) => {
                let enabled = get_bool(&old, "tf_enabled") == Some(true);
                if precondition == Precondition::TwoFactorOff && enabled {
                    Counted::PreconditionFailed(account_of(&old)?)
                } else {
                    Counted::Changed(count_of(&old, counter))
                }
            }
        })
    }

    async fn reset_count(&self, account_id: &str, counter: Counter) -> Stored<Written> {
        Ok(match self.update(reset(account_id, counter)).await? {
            Ok(_) => Written::Written,
            Err(_) => Written::Gone,
        })
    }

    async fn record_failure(&self, failure: &Failure<'_>) -> Stored<()> {
        self.write_all(failure_writes(self, failure)?).await
    }

    async fn copy_lock(&self, to: FirstRead<'_>, counter: Counter, count: Count) -> Stored<()> {
        let mut update = ConditionalUpdate::new(first_read_key(to))
            .name("#failures", failures(counter))
            .name("#locked", locked_until(counter))
            .name("#last", last_failure(counter))
            .name("#lifted", lifted(counter))
            .set("#failures = :failures")
            .set("#locked = :locked")
            .set("#last = :last")
            .condition("attribute_exists(pk)")
            .condition("attribute_not_exists(#locked) OR #locked < :locked")
            // A lock lifted by the success of the attempt that started it is not copied again
            // by an attempt that learnt of it just before.
            .condition("attribute_not_exists(#lifted) OR #lifted <> :locked")
            .value(":failures", n(count.failures))
            .value(":locked", n(count.locked_until))
            .value(":last", n(count.last_at));
        if let FirstRead::UnknownLogin(_) = to {
            // The record is the count itself, which already holds the lock: the same call as a
            // known login's copy, refused by a condition that never holds.
            update = update.condition("attribute_not_exists(pk)");
        }
        // Refused: the record is gone, or already shows this lock; nothing to copy either way.
        let _ = self.update(update).await?;
        Ok(())
    }

    async fn lift_lock(&self, from: FirstRead<'_>, counter: Counter, until: i64) -> Stored<()> {
        // The copy goes, and the lock is marked lifted so that no attempt copies it again; a later
        // lock's copy stays.
        let update = ConditionalUpdate::new(first_read_key(from))
            .name("#locked", locked_until(counter))
            .name("#lifted", lifted(counter))
            .set("#lifted = :locked")
            .remove("#locked")
            .condition("attribute_exists(pk)")
            .condition("attribute_not_exists(#locked) OR #locked <= :locked")
            .value(":locked", n(until));
        // Refused: a later lock was copied since, or the record is gone.
        let _ = self.update(update).await?;
        Ok(())
    }
}

impl TwoFactorStore for Store {
    async fn start_setup(&self, account_id: &str, pending: &PendingSecret) -> Stored<SetupStarted> {
        let update = while_two_factor(
            reset(account_id, Counter::Password)
                .set("tf_pending = :pending")
                .set("tf_pending_expires_at = :pending_expires")
                .value(":pending", b(pending.sealed.clone()))
                .value(":pending_expires", n(pending.expires_at)),
            false,
        );
        Ok(match self.update(update).await? {
            Ok(_) => SetupStarted::Started,
            Err(_) => SetupStarted::AlreadyEnabled,
        })
    }

    async fn enable(&self, enabling: &Enabling<'_>) -> Stored<Enabled> {
        let account_id = enabling.account_id;
        let mut batches = sessions::end_all_writes(
            self,
            account_id,
            enabling.ending,
            &enabling.entry.origin,
            enabling.ended_at,
        )?;
        // The last batch ends with the enable; any before it are ended first.
        let with_enable = batches.pop().unwrap_or_default();
        for writes in batches {
            self.write_all(writes).await?;
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
            .condition("attribute_exists(pk) AND tf_enabled = :off AND tf_pending = :pending")
            .value(":on", AttributeValue::Bool(true))
            .value(":off", AttributeValue::Bool(false))
            .value(":now", n(enabling.entry.at.secs()))
            .value(":secret", b(enabling.pending.to_vec()))
            .value(":pending", b(enabling.pending.to_vec()))
            .value(":step", n(enabling.step))
            .value(":ids", AttributeValue::Ss(enabling.codes.ids.clone()))
            .value(":codes", b(enabling.codes.sealed.clone()))
            .value(":zero", n(0))
            .value(":one", n(1));
        enable = match enabling.guard {
            SessionGuard::Unguarded => enable,
            SessionGuard::Unchanged(Some(seq)) => {
                enable.condition("session_seq = :seq").value(":seq", n(seq))
            }
            SessionGuard::Unchanged(None) => enable.condition("attribute_not_exists(session_seq)"),
        };
        let mut writes = vec![
            self.table_update(enable)?,
            event_put(self, account_id, &enabling.entry)?,
        ];
        writes.extend(with_enable);
        let outcome = self.transact(writes).await?;
        if outcome == Transaction::Committed {
            return Ok(Enabled::Enabled);
        }
        if !outcome.first_failed() {
            return Err(StorageError::Internal);
        }
        let Some(account) = AccountStore::account(self, account_id).await? else {
            return Ok(Enabled::AccountGone);
        };
        Ok(match account.two_factor {
            TwoFactor::On(_) => Enabled::AlreadyEnabled,
            TwoFactor::Pending(pending) if pending.sealed == enabling.pending => {
                Enabled::SessionOpened(account.session_seq)
            }
            TwoFactor::Pending(_) | TwoFactor::Off => Enabled::SetupReplaced,
        })
    }

    async fn accept_second_factor(&self, acceptance: &Acceptance<'_>) -> Stored<AcceptedOutcome> {
        let account_id = acceptance.account_id;
        let mut update = opening_session(while_two_factor(
            reset(account_id, Counter::SecondFactor),
            true,
        ));
        // Still the enrolment the mfa_token was issued under (accounts enrolled before enrolments
        // were counted have none).
        update = match acceptance.generation {
            0 => update.condition("attribute_not_exists(tf_generation)"),
            generation => update
                .condition("tf_generation = :generation")
                .value(":generation", n(generation)),
        };
        update = match acceptance.accepted {
            Accepted::Step(step) => {
                let update = update
                    .set("last_step = :step")
                    .condition("attribute_not_exists(last_step) OR last_step < :step")
                    .value(":step", n(*step));
                match &acceptance.reseal {
                    Some((old, resealed)) => update
                        .set("tf_secret = :resealed")
                        .condition("tf_secret = :old_secret")
                        .value(":resealed", b(resealed.clone()))
                        .value(":old_secret", b(old.clone())),
                    None => update,
                }
            }
            Accepted::RecoveryCode(id) => update
                .add_to("rc_used :used")
                .condition("contains(rc_hashes, :code) AND NOT contains(rc_used, :code)")
                .value(":used", AttributeValue::Ss(vec![id.clone()]))
                .value(":code", s(id.clone())),
        };
        let mut writes = vec![
            self.table_update(update)?,
            sessions::spend_mfa_token(self, acceptance.mfa_digest)?,
        ];
        writes.extend(sessions::open_writes(self, acceptance.session)?);
        for entry in &acceptance.entries {
            writes.push(event_put(self, account_id, entry)?);
        }
        let outcome = self.transact(writes).await?;
        Ok(if outcome == Transaction::Committed {
            AcceptedOutcome::SignedIn
        } else if outcome.first_failed() {
            AcceptedOutcome::CodeAlreadyUsed
        } else {
            AcceptedOutcome::MfaTokenSpent
        })
    }

    async fn record_wrong_code(&self, mfa_digest: &str, failure: &Failure<'_>) -> Stored<()> {
        let mut writes = vec![sessions::count_wrong_code(self, mfa_digest)?];
        writes.extend(failure_writes(self, failure)?);
        if self.commits(writes).await? {
            return Ok(());
        }
        // The mfa_token went meanwhile (used by a concurrent request, or expired): the attempt
        // was counted all the same, so its entries are written without it.
        self.record_failure(failure).await
    }

    async fn record_codes_viewed(
        &self,
        account_id: &str,
        rekey: Option<&Rekey>,
        entry: &Entry,
    ) -> Stored<Changed> {
        let mut update = reset(account_id, Counter::Password);
        if let Some(rekey) = rekey {
            // Only the set that was read: same generation, and no code used since (the used set
            // only grows).
            update = match rekey.seen_used {
                0 => update.condition("attribute_not_exists(rc_used)"),
                count => update
                    .condition("size(rc_used) = :seen_used")
                    .value(":seen_used", n(count)),
            };
            update = update
                .set("rc_hashes = :rekeyed_ids")
                .set("rc_sealed = :rekeyed_codes")
                .condition("rc_generation = :seen_generation")
                .value(":rekeyed_ids", AttributeValue::Ss(rekey.codes.ids.clone()))
                .value(":rekeyed_codes", b(rekey.codes.sealed.clone()))
                .value(":seen_generation", n(rekey.seen_generation));
            update = if rekey.used.is_empty() {
                update.remove("rc_used")
            } else {
                update
                    .set("rc_used = :rekeyed_used")
                    .value(":rekeyed_used", AttributeValue::Ss(rekey.used.clone()))
            };
        }
        let writes = vec![
            self.table_update(update)?,
            event_put(self, account_id, entry)?,
        ];
        Ok(if self.commits(writes).await? {
            Changed::Changed
        } else {
            Changed::Refused
        })
    }

    async fn replace_codes(
        &self,
        account_id: &str,
        codes: &StoredCodeSet,
        entry: &Entry,
    ) -> Stored<WhileEnabled> {
        let replace = while_two_factor(
            reset(account_id, Counter::Password)
                .set("rc_hashes = :ids")
                .set("rc_sealed = :codes")
                .set("rc_generation = if_not_exists(rc_generation, :zero) + :one")
                .remove("rc_used")
                .value(":ids", AttributeValue::Ss(codes.ids.clone()))
                .value(":codes", b(codes.sealed.clone()))
                .value(":zero", n(0))
                .value(":one", n(1)),
            true,
        );
        let writes = vec![
            self.table_update(replace)?,
            event_put(self, account_id, entry)?,
        ];
        Ok(if self.commits(writes).await? {
            WhileEnabled::Done
        } else {
            WhileEnabled::NotEnabled
        })
    }

    async fn disable(&self, account_id: &str, entry: &Entry) -> Stored<WhileEnabled> {
        let off = while_two_factor(
            reset(account_id, Counter::Password)
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
                .value(":off", AttributeValue::Bool(false))
                .value(":zero", n(0))
                .value(":one", n(1)),
            true,
        );
        let writes = vec![self.table_update(off)?, event_put(self, account_id, entry)?];
        Ok(if self.commits(writes).await? {
            WhileEnabled::Done
        } else {
            WhileEnabled::NotEnabled
        })
    }
}
