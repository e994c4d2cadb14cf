//! The storage ports in memory, for the domain's tests: the same conditions as the DynamoDB
//! store, one lock for the whole state (so every transition is atomic), time from the caller.
//! What only real storage can show (races between instances, conditions under contention, call
//! counts, TTL) stays with the emulator tests.

#![allow(clippy::unwrap_used)]

use super::ports::*;
use super::records::*;
use super::second_factor::MFA_TOKEN_MAX_ATTEMPTS;
use super::security_log::RETENTION_SECS;
use super::{Now, Origin};
use crate::crypto::Keys;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct Memory {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    accounts: HashMap<String, Account>,
    counts: HashMap<(String, Counter), Count>,
    logins: HashMap<String, String>,
    /// Locks copied onto logins' claims.
    claim_locks: HashMap<String, Locks>,
    /// Locks lifted from the records they were copied onto: (record, counter, end).
    lifted: std::collections::HashSet<(String, Counter, i64)>,
    unknown_logins: HashMap<String, Count>,
    sessions: HashMap<String, (SessionRecord, i64)>,
    mfa: HashMap<String, (MfaPending, i64)>,
    listings: HashMap<(String, String), ListedSession>,
    tokens: HashMap<String, (TokenRecord, i64)>,
    token_listings: HashMap<(String, String), TokenListing>,
    /// Per account: (sequence, entry), in the order written.
    log: HashMap<String, Vec<(u64, Entry)>>,
    sequence: u64,
    /// Enrolments per account, counted across enables and disables (the store's `tf_generation`).
    generations: HashMap<String, i64>,
    /// Entries written for logins without an account.
    unknown_login_entries: usize,
}

impl State {
    fn log(&mut self, account_id: &str, entry: &Entry) {
        self.sequence += 1;
        let sequence = self.sequence;
        self.log
            .entry(account_id.to_string())
            .or_default()
            .push((sequence, entry.clone()));
    }

    fn reset(&mut self, account_id: &str, counter: Counter) -> bool {
        if !self.accounts.contains_key(account_id) {
            return false;
        }
        let count = self
            .counts
            .entry((account_id.to_string(), counter))
            .or_default();
        count.failures = 0;
        count.locked_until = 0;
        true
    }

    fn end(&mut self, account_id: &str, session: &ListedSession) {
        self.sessions.remove(&session.digest);
        self.listings
            .remove(&(account_id.to_string(), session.session_id.clone()));
    }

    fn open(&mut self, session: &NewSession) {
        self.sessions.insert(
            session.digest.clone(),
            (
                SessionRecord {
                    account_id: session.account_id.clone(),
                    login: session.login.clone(),
                    session_id: session.session_id.clone(),
                    locks: Locks::default(),
                },
                session.expires_at,
            ),
        );
        self.listings.insert(
            (session.account_id.clone(), session.session_id.clone()),
            ListedSession {
                session_id: session.session_id.clone(),
                digest: session.digest.clone(),
                created_ms: session.opened.millis,
                expires_at: session.expires_at,
                ip: session.origin.ip.clone(),
                user_agent: session.origin.user_agent.clone(),
            },
        );
        if let Some(account) = self.accounts.get_mut(&session.account_id) {
            account.session_seq = Some(account.session_seq.unwrap_or(0) + 1);
        }
    }
}

impl Memory {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// The account as stored, for assertions.
    pub fn stored_account(&self, account_id: &str) -> Option<Account> {
        self.state().accounts.get(account_id).cloned()
    }

    /// The account's count of one counter, for assertions.
    pub fn count(&self, account_id: &str, counter: Counter) -> Count {
        self.state()
            .counts
            .get(&(account_id.to_string(), counter))
            .copied()
            .unwrap_or_default()
    }

    /// The types of the account's entries, newest first.
    pub fn log_kinds(&self, account_id: &str) -> Vec<&'static str> {
        let state = self.state();
        let mut entries: Vec<&(u64, Entry)> =
            state.log.get(account_id).into_iter().flatten().collect();
        entries.sort_by_key(|(sequence, entry)| std::cmp::Reverse((entry.at, *sequence)));
        entries
            .iter()
            .map(|(_, entry)| entry.kind.as_str())
            .collect()
    }

    pub fn unknown_login_entries(&self) -> usize {
        self.state().unknown_login_entries
    }
}

impl AccountStore for Memory {
    async fn login(&self, login: &str) -> Stored<LoginRead> {
        let state = self.state();
        let owner = state.logins.get(login).cloned();
        let locks = match owner {
            Some(_) => state.claim_locks.get(login).copied().unwrap_or_default(),
            None => Locks {
                password: state.unknown_logins.get(login).copied(),
                second_factor: None,
            },
        };
        Ok(LoginRead { owner, locks })
    }

    async fn account(&self, account_id: &str) -> Stored<Option<Account>> {
        Ok(self.stored_account(account_id))
    }

    async fn create_account(&self, account: &NewAccount, entry: &Entry) -> Stored<AccountCreated> {
        let mut state = self.state();
        if state.logins.contains_key(&account.login)
            || state.accounts.contains_key(&account.account_id)
        {
            return Ok(AccountCreated::LoginTaken);
        }
        state
            .logins
            .insert(account.login.clone(), account.account_id.clone());
        state.accounts.insert(
            account.account_id.clone(),
            Account {
                account_id: account.account_id.clone(),
                login: account.login.clone(),
                password_hash: account.password_hash.clone(),
                created_at: account.created.secs(),
                two_factor: TwoFactor::Off,
                session_seq: None,
                token_count: Some(0),
            },
        );
        state.log(&account.account_id, entry);
        Ok(AccountCreated::Created)
    }
}

impl ThrottleStore for Memory {
    async fn count_attempt(&self, attempt: &Attempt<'_>) -> Stored<Counted> {
        let mut state = self.state();
        let now = attempt.now.secs();
        let account = match attempt.subject {
            Subject::Account(account_id) => match state.accounts.get(account_id) {
                Some(account) => Some(account.clone()),
                None => return Ok(Counted::AccountMissing),
            },
            Subject::UnknownLogin(_) => None,
        };
        if attempt.precondition == Precondition::TwoFactorOff {
            if let Some(account) = account.as_ref().filter(|a| a.two_factor_enabled()) {
                return Ok(Counted::PreconditionFailed(account.clone()));
            }
        }
        let count = match attempt.subject {
            Subject::Account(account_id) => state
                .counts
                .entry((account_id.to_string(), attempt.counter))
                .or_default(),
            Subject::UnknownLogin(login) => {
                state.unknown_logins.entry(login.to_string()).or_default()
            }
        };
        let holds = match attempt.step {
            CountStep::Increment {
                below,
                stale_before,
            } => {
                count.failures < below
                    && (count.last_at == 0 || count.last_at > stale_before || count.failures == 0)
            }
            CountStep::Restart { seen_last_at } => count.last_at == seen_last_at,
            CountStep::Lock { seen_failures, .. } => {
                count.failures == seen_failures && count.locked_until <= now
            }
        };
        if !holds {
            return Ok(Counted::Changed(*count));
        }
        match attempt.step {
            CountStep::Increment { .. } => count.failures += 1,
            CountStep::Restart { .. } => {
                count.failures = 1;
                count.locked_until = 0;
            }
            CountStep::Lock {
                seen_failures,
                until,
            } => {
                count.failures = seen_failures + 1;
                count.locked_until = until;
            }
        }
        count.last_at = now;
        Ok(Counted::Counted(account))
    }

    async fn reset_count(&self, account_id: &str, counter: Counter) -> Stored<Written> {
        Ok(match self.state().reset(account_id, counter) {
            true => Written::Written,
            false => Written::Gone,
        })
    }

    async fn record_failure(&self, failure: &Failure<'_>) -> Stored<()> {
        let mut state = self.state();
        for entry in &failure.entries {
            match failure.subject {
                Subject::Account(account_id) => state.log(account_id, entry),
                Subject::UnknownLogin(_) => state.unknown_login_entries += 1,
            }
        }
        Ok(())
    }

    async fn copy_lock(&self, to: FirstRead<'_>, counter: Counter, count: Count) -> Stored<()> {
        let mut state = self.state();
        if state
            .lifted
            .contains(&(first_read_id(to), counter, count.locked_until))
        {
            return Ok(());
        }
        if let Some(copy) = copied(&mut state, to, counter) {
            if copy.is_none_or(|held| held.locked_until < count.locked_until) {
                *copy = Some(count);
            }
        }
        Ok(())
    }

    async fn lift_lock(
        &self,
        from: FirstRead<'_>,
        counter: Counter,
        locked_until: i64,
    ) -> Stored<()> {
        let mut state = self.state();
        let Some(copy) = copied(&mut state, from, counter) else {
            return Ok(());
        };
        if copy.is_some_and(|held| held.locked_until > locked_until) {
            return Ok(());
        }
        *copy = None;
        state
            .lifted
            .insert((first_read_id(from), counter, locked_until));
        Ok(())
    }
}

fn first_read_id(first_read: FirstRead<'_>) -> String {
    match first_read {
        FirstRead::Claim(login) => format!("claim {login}"),
        FirstRead::UnknownLogin(login) => format!("unknown {login}"),
        FirstRead::Session(digest) => format!("session {digest}"),
    }
}

/// The copy of a counter's lock on a record that exists (an unknown login's record is its count:
/// it holds no copy).
fn copied<'a>(
    state: &'a mut State,
    first_read: FirstRead<'_>,
    counter: Counter,
) -> Option<&'a mut Option<Count>> {
    let locks = match first_read {
        FirstRead::Claim(login) if state.logins.contains_key(login) => {
            state.claim_locks.entry(login.to_string()).or_default()
        }
        FirstRead::Claim(_) | FirstRead::UnknownLogin(_) => return None,
        FirstRead::Session(digest) => match state.sessions.get_mut(digest) {
            Some((record, _)) => &mut record.locks,
            None => &mut state.mfa.get_mut(digest)?.0.locks,
        },
    };
    Some(locks.of_mut(counter))
}

impl SessionStore for Memory {
    async fn session(&self, digest: &str, now: Now) -> Stored<Option<SessionRecord>> {
        Ok(self
            .state()
            .sessions
            .get(digest)
            .filter(|(_, expires_at)| *expires_at > now.secs())
            .map(|(record, _)| record.clone()))
    }

    async fn mfa_pending(&self, digest: &str, now: Now) -> Stored<Option<MfaPending>> {
        Ok(self
            .state()
            .mfa
            .get(digest)
            .filter(|(_, expires_at)| *expires_at > now.secs())
            .map(|(pending, _)| pending.clone()))
    }

    async fn live_sessions(&self, account_id: &str, now: Now) -> Stored<Vec<ListedSession>> {
        Ok(self
            .state()
            .listings
            .iter()
            .filter(|((owner, _), listed)| owner == account_id && listed.expires_at > now.secs())
            .map(|(_, listed)| listed.clone())
            .collect())
    }

    async fn listed_session(
        &self,
        account_id: &str,
        session_id: &str,
        now: Now,
    ) -> Stored<Option<ListedSession>> {
        Ok(self
            .state()
            .listings
            .get(&(account_id.to_string(), session_id.to_string()))
            .filter(|listed| listed.expires_at > now.secs())
            .cloned())
    }

    async fn open_session(
        &self,
        session: &NewSession,
        rehash: Option<&str>,
        entry: &Entry,
    ) -> Stored<SessionOpened> {
        let mut state = self.state();
        let Some(account) = state.accounts.get_mut(&session.account_id) else {
            return Ok(SessionOpened::TwoFactorEnabled);
        };
        if account.two_factor_enabled() {
            return Ok(SessionOpened::TwoFactorEnabled);
        }
        if let Some(hash) = rehash {
            account.password_hash = hash.to_string();
        }
        state.reset(&session.account_id, Counter::Password);
        state.open(session);
        state.log(&session.account_id, entry);
        Ok(SessionOpened::Opened)
    }

    async fn issue_mfa_token(
        &self,
        pending: &NewMfaPending,
        rehash: Option<&str>,
    ) -> Stored<Written> {
        let mut state = self.state();
        let Some(account) = state.accounts.get_mut(&pending.account_id) else {
            return Ok(Written::Gone);
        };
        if let Some(hash) = rehash {
            account.password_hash = hash.to_string();
        }
        state.reset(&pending.account_id, Counter::Password);
        state.mfa.insert(
            pending.digest.clone(),
            (
                MfaPending {
                    account_id: pending.account_id.clone(),
                    login: pending.login.clone(),
                    generation: pending.generation,
                    attempts: 0,
                    locks: Locks::default(),
                },
                pending.expires_at,
            ),
        );
        Ok(Written::Written)
    }

    async fn sign_out(&self, principal: &SessionPrincipal, entry: &Entry) -> Stored<Written> {
        let mut state = self.state();
        if state.sessions.remove(&principal.session_digest).is_none() {
            return Ok(Written::Gone);
        }
        state
            .listings
            .remove(&(principal.account_id.clone(), principal.session_id.clone()));
        state.log(&principal.account_id, entry);
        Ok(Written::Written)
    }

    async fn end_session(
        &self,
        account_id: &str,
        session: &ListedSession,
        entry: &Entry,
    ) -> Stored<Written> {
        let mut state = self.state();
        let key = (account_id.to_string(), session.session_id.clone());
        if !state.listings.contains_key(&key) {
            return Ok(Written::Gone);
        }
        state.end(account_id, session);
        state.log(account_id, entry);
        Ok(Written::Written)
    }

    async fn end_sessions(
        &self,
        account_id: &str,
        sessions: &[ListedSession],
        origin: &Origin,
        at: Now,
        reset_password: bool,
    ) -> Stored<()> {
        let mut state = self.state();
        for session in sessions {
            state.end(account_id, session);
            state.log(account_id, &Entry::new(EventKind::SessionEnded, origin, at));
        }
        if reset_password {
            state.reset(account_id, Counter::Password);
        }
        Ok(())
    }
}

impl TwoFactorStore for Memory {
    async fn start_setup(&self, account_id: &str, pending: &PendingSecret) -> Stored<SetupStarted> {
        let mut state = self.state();
        match state.accounts.get_mut(account_id) {
            Some(account) if !account.two_factor_enabled() => {
                account.two_factor = TwoFactor::Pending(pending.clone());
            }
            _ => return Ok(SetupStarted::AlreadyEnabled),
        }
        state.reset(account_id, Counter::Password);
        Ok(SetupStarted::Started)
    }

    async fn enable(&self, enabling: &Enabling<'_>) -> Stored<Enabled> {
        let mut state = self.state();
        let account_id = enabling.account_id;
        let Some(account) = state.accounts.get_mut(account_id) else {
            return Ok(Enabled::AccountGone);
        };
        match &account.two_factor {
            TwoFactor::On(_) => return Ok(Enabled::AlreadyEnabled),
            TwoFactor::Pending(pending) if pending.sealed == enabling.pending => {}
            TwoFactor::Pending(_) | TwoFactor::Off => return Ok(Enabled::SetupReplaced),
        }
        if let SessionGuard::Unchanged(seen) = enabling.guard {
            if account.session_seq != seen {
                return Ok(Enabled::SessionOpened(account.session_seq));
            }
        }
        let generation = state.generations.entry(account_id.to_string()).or_default();
        *generation += 1;
        let generation = *generation;
        let account = state.accounts.get_mut(account_id).unwrap();
        account.two_factor = TwoFactor::On(Enrolment {
            enabled_at: Some(enabling.entry.at.secs()),
            secret: enabling.pending.to_vec(),
            last_step: Some(enabling.step),
            codes: RecoveryCodes {
                ids: enabling.codes.ids.clone(),
                used: Vec::new(),
                sealed: enabling.codes.sealed.clone(),
                generation: 1,
            },
            generation,
        });
        state.reset(account_id, Counter::SecondFactor);
        state.log(account_id, &enabling.entry);
        for session in enabling.ending {
            state.end(account_id, session);
            state.log(
                account_id,
                &Entry::new(
                    EventKind::SessionEnded,
                    &enabling.entry.origin,
                    enabling.ended_at,
                ),
            );
        }
        Ok(Enabled::Enabled)
    }

    async fn accept_second_factor(&self, acceptance: &Acceptance<'_>) -> Stored<AcceptedOutcome> {
        let mut state = self.state();
        let account_id = acceptance.account_id;
        let Some(account) = state.accounts.get_mut(account_id) else {
            return Ok(AcceptedOutcome::CodeAlreadyUsed);
        };
        let TwoFactor::On(enrolment) = &mut account.two_factor else {
            return Ok(AcceptedOutcome::CodeAlreadyUsed);
        };
        if enrolment.generation != acceptance.generation {
            return Ok(AcceptedOutcome::CodeAlreadyUsed);
        }
        match acceptance.accepted {
            Accepted::Step(step) => {
                if enrolment.last_step.is_some_and(|last| last >= *step) {
                    return Ok(AcceptedOutcome::CodeAlreadyUsed);
                }
            }
            Accepted::RecoveryCode(id) => {
                if !enrolment.codes.ids.contains(id) || enrolment.codes.used.contains(id) {
                    return Ok(AcceptedOutcome::CodeAlreadyUsed);
                }
            }
        }
        if let Some((old, _)) = &acceptance.reseal {
            if *old != enrolment.secret {
                return Ok(AcceptedOutcome::CodeAlreadyUsed);
            }
        }
        let spendable = state
            .mfa
            .get(acceptance.mfa_digest)
            .is_some_and(|(pending, _)| pending.attempts < MFA_TOKEN_MAX_ATTEMPTS);
        if !spendable {
            return Ok(AcceptedOutcome::MfaTokenSpent);
        }
        state.mfa.remove(acceptance.mfa_digest);
        let account = state.accounts.get_mut(account_id).unwrap();
        if let TwoFactor::On(enrolment) = &mut account.two_factor {
            match acceptance.accepted {
                Accepted::Step(step) => enrolment.last_step = Some(*step),
                Accepted::RecoveryCode(id) => enrolment.codes.used.push(id.clone()),
            }
            if let Some((_, resealed)) = &acceptance.reseal {
                enrolment.secret = resealed.clone();
            }
        }
        state.reset(account_id, Counter::SecondFactor);
        state.open(acceptance.session);
        for entry in &acceptance.entries {
            state.log(account_id, entry);
        }
        Ok(AcceptedOutcome::SignedIn)
    }

    async fn record_wrong_code(&self, mfa_digest: &str, failure: &Failure<'_>) -> Stored<()> {
        if let Some((pending, _)) = self.state().mfa.get_mut(mfa_digest) {
            pending.attempts += 1;
        }
        self.record_failure(failure).await
    }

    async fn record_codes_viewed(
        &self,
        account_id: &str,
        rekey: Option<&Rekey>,
        entry: &Entry,
    ) -> Stored<Changed> {
        let mut state = self.state();
        let Some(account) = state.accounts.get_mut(account_id) else {
            return Ok(Changed::Refused);
        };
        if let Some(rekey) = rekey {
            let TwoFactor::On(enrolment) = &mut account.two_factor else {
                return Ok(Changed::Refused);
            };
            let codes = &mut enrolment.codes;
            if codes.used.len() != rekey.seen_used || codes.generation != rekey.seen_generation {
                return Ok(Changed::Refused);
            }
            codes.ids = rekey.codes.ids.clone();
            codes.sealed = rekey.codes.sealed.clone();
            codes.used = rekey.used.clone();
        }
        state.reset(account_id, Counter::Password);
        state.log(account_id, entry);
        Ok(Changed::Changed)
    }

    async fn replace_codes(
        &self,
        account_id: &str,
        codes: &StoredCodeSet,
        entry: &Entry,
    ) -> Stored<WhileEnabled> {
        let mut state = self.state();
        let Some(TwoFactor::On(enrolment)) = state
            .accounts
            .get_mut(account_id)
            .map(|account| &mut account.two_factor)
        else {
            return Ok(WhileEnabled::NotEnabled);
        };
        enrolment.codes = RecoveryCodes {
            ids: codes.ids.clone(),
            used: Vec::new(),
            sealed: codes.sealed.clone(),
            generation: enrolment.codes.generation + 1,
        };
        state.reset(account_id, Counter::Password);
        state.log(account_id, entry);
        Ok(WhileEnabled::Done)
    }

    async fn disable(&self, account_id: &str, entry: &Entry) -> Stored<WhileEnabled> {
        let mut state = self.state();
        match state.accounts.get_mut(account_id) {
            Some(account) if account.two_factor_enabled() => account.two_factor = TwoFactor::Off,
            _ => return Ok(WhileEnabled::NotEnabled),
        }
        *state.generations.entry(account_id.to_string()).or_default() += 1;
        state.reset(account_id, Counter::Password);
        state.reset(account_id, Counter::SecondFactor);
        state.log(account_id, entry);
        Ok(WhileEnabled::Done)
    }
}

impl TokenStore for Memory {
    async fn token(&self, digest: &str, now: Now) -> Stored<Option<TokenRecord>> {
        Ok(self
            .state()
            .tokens
            .get(digest)
            .filter(|(_, expires_at)| *expires_at > now.secs())
            .map(|(record, _)| record.clone()))
    }

    async fn live_tokens(&self, account_id: &str, now: Now) -> Stored<Vec<TokenListing>> {
        Ok(self
            .state()
            .token_listings
            .iter()
            .filter(|((owner, _), listing)| owner == account_id && listing.expires_at > now.secs())
            .map(|(_, listing)| listing.clone())
            .collect())
    }

    async fn token_listing(
        &self,
        account_id: &str,
        token_id: &str,
        now: Now,
    ) -> Stored<Option<TokenListing>> {
        Ok(self
            .state()
            .token_listings
            .get(&(account_id.to_string(), token_id.to_string()))
            .filter(|listing| listing.expires_at > now.secs())
            .cloned())
    }

    async fn last_used(&self, digests: &[String]) -> Stored<HashMap<String, i64>> {
        let state = self.state();
        Ok(digests
            .iter()
            .filter_map(|digest| state.tokens.get(digest))
            .filter_map(|(record, _)| Some((record.token_id.clone(), record.last_used_at?)))
            .collect())
    }

    async fn create_token(&self, creation: &TokenCreation<'_>) -> Stored<TokenCreated> {
        let mut state = self.state();
        let token = creation.token;
        let Some(account) = state.accounts.get_mut(&token.account_id) else {
            return Ok(TokenCreated::AccountGone);
        };
        if account.token_count != creation.seen_count {
            return Ok(TokenCreated::CountChanged(account.token_count));
        }
        account.token_count = Some(creation.count);
        state.reset(&token.account_id, Counter::Password);
        state.tokens.insert(
            token.digest.clone(),
            (
                TokenRecord {
                    account_id: token.account_id.clone(),
                    login: token.login.clone(),
                    token_id: token.token_id.clone(),
                    last_used_at: None,
                },
                token.expires_at,
            ),
        );
        state.token_listings.insert(
            (token.account_id.clone(), token.token_id.clone()),
            TokenListing {
                token_id: token.token_id.clone(),
                name: token.name.clone(),
                digest: token.digest.clone(),
                created_at: token.created_at,
                expires_at: token.expires_at,
            },
        );
        state.log(&token.account_id, &creation.entry);
        Ok(TokenCreated::Created)
    }

    async fn revoke_token(
        &self,
        account_id: &str,
        listing: &TokenListing,
        entry: &Entry,
        now: Now,
    ) -> Stored<Written> {
        let mut state = self.state();
        let key = (account_id.to_string(), listing.token_id.clone());
        let live = state
            .token_listings
            .get(&key)
            .is_some_and(|listing| listing.expires_at > now.secs());
        if !live {
            return Ok(Written::Gone);
        }
        state.token_listings.remove(&key);
        state.tokens.remove(&listing.digest);
        if let Some(account) = state.accounts.get_mut(account_id) {
            account.token_count = Some(account.token_count.unwrap_or(0) - 1);
        }
        state.log(account_id, entry);
        Ok(Written::Written)
    }

    async fn record_token_use(&self, digest: &str, at: i64, stale_before: i64) -> Stored<()> {
        if let Some((record, _)) = self.state().tokens.get_mut(digest) {
            if record.last_used_at.is_none_or(|last| last <= stale_before) {
                record.last_used_at = Some(at);
            }
        }
        Ok(())
    }
}

impl SecurityLogStore for Memory {
    async fn log_page(
        &self,
        account_id: &str,
        cursor: Option<&str>,
        limit: i32,
        now: Now,
    ) -> Stored<Option<LogPage>> {
        let after = match cursor.map(str::parse::<u64>) {
            Some(Err(_)) => return Ok(None),
            Some(Ok(sequence)) => Some(sequence),
            None => None,
        };
        let state = self.state();
        let mut entries: Vec<&(u64, Entry)> =
            state.log.get(account_id).into_iter().flatten().collect();
        entries.sort_by_key(|(sequence, entry)| std::cmp::Reverse((entry.at, *sequence)));
        let start = match after {
            Some(sequence) => match entries.iter().position(|(seen, _)| *seen == sequence) {
                Some(position) => position + 1,
                None => return Ok(None),
            },
            None => 0,
        };
        let page: Vec<&(u64, Entry)> = entries
            .iter()
            .skip(start)
            .take(limit as usize)
            .copied()
            .collect();
        let live: Vec<&(u64, Entry)> = page
            .iter()
            .take_while(|(_, entry)| entry.at.secs() + RETENTION_SECS > now.secs())
            .copied()
            .collect();
        let more = start + page.len() < entries.len();
        let next_cursor = (live.len() == page.len() && more)
            .then(|| page.last().map(|(sequence, _)| sequence.to_string()))
            .flatten();
        Ok(Some(LogPage {
            entries: live
                .iter()
                .map(|(_, entry)| LoggedEntry {
                    kind: entry.kind.as_str().to_string(),
                    at: entry.at.secs(),
                    ip: entry.origin.ip.clone(),
                    user_agent: entry.origin.user_agent.clone(),
                })
                .collect(),
            next_cursor,
        }))
    }
}

/// A fixed key ring, as the key secret would hold it.
pub fn keys() -> Arc<Keys> {
    Arc::new(Keys::derive(b"0123456789abcdef0123456789abcdef-test-master").unwrap())
}
