//! The storage ports: every read the rules make and every state transition they commit, each a
//! method with typed records in and a named outcome out. A transition is one conditional write
//! (a single update or one transaction): it either happens whole or, when its condition does not
//! hold, reports which state it found instead. `store::Store` implements them on DynamoDB;
//! `memory::Memory` in the domain's tests.
//!
//! A success after a password or a code starts that count again in the same write; each method
//! says which.

use super::error::{Error, StorageError};
use super::records::*;
use super::Now;
use crate::crypto::Keys;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

pub type Stored<T> = Result<T, StorageError>;

// ---- outcomes ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountCreated {
    Created,
    LoginTaken,
}

/// How one attempt on a subject is counted (decided by `throttle::next_step`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountStep {
    /// Below the threshold after this attempt: one more, if the count is still below `below`
    /// and either zero or younger than `stale_before`.
    Increment { below: i64, stale_before: i64 },
    /// The last failure is older than a count's lifetime: the count starts again at one, if the
    /// last attempt is still the one seen.
    Restart { seen_last_at: i64 },
    /// At or past the threshold: this attempt is counted and the lock set with it, if the count
    /// is still the one seen and no lock holds.
    Lock { seen_failures: i64, until: i64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt<'a> {
    pub subject: Subject<'a>,
    pub counter: Counter,
    pub step: CountStep,
    pub precondition: Precondition,
    pub now: Now,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counted {
    /// Counted; for an account, the account as it is now.
    Counted(Option<Account>),
    /// The account does not exist (any more).
    AccountMissing,
    /// The precondition does not hold: nothing was counted; the account as it is.
    PreconditionFailed(Account),
    /// The count had moved on: nothing was counted; the count as it is.
    Changed(Count),
}

/// The record of a failed attempt: its security log entries (for an unknown login, records of the
/// same number, kind and lifetime under the login).
#[derive(Debug, Clone)]
pub struct Failure<'a> {
    pub subject: Subject<'a>,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionOpened {
    Opened,
    /// 2FA was enabled after the account was read: nothing was written.
    TwoFactorEnabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Written,
    /// The record it changes is gone (the account deleted, the session ended meanwhile).
    Gone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupStarted {
    Started,
    AlreadyEnabled,
}

/// Which sessions an enable may rely on having listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionGuard {
    /// No session was opened since the account showed this `session_seq` (None: never one).
    Unchanged(Option<i64>),
    /// No condition on new sessions.
    Unguarded,
}

/// Turning 2FA on: the pending secret becomes the account's, with its first recovery codes; the
/// confirming code's step counts as used; the listed sessions end with it.
#[derive(Debug, Clone)]
pub struct Enabling<'a> {
    pub account_id: &'a str,
    /// The very pending secret that was checked, not one a concurrent setup put in its place.
    pub pending: &'a [u8],
    pub step: i64,
    pub codes: &'a StoredCodeSet,
    pub guard: SessionGuard,
    /// Sessions to end; beyond what one write holds, the surplus is ended first, unconditionally.
    pub ending: &'a [ListedSession],
    pub entry: Entry,
    /// The `session_ended` entries' instant.
    pub ended_at: Now,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enabled {
    Enabled,
    AlreadyEnabled,
    /// The pending secret checked is no longer the account's pending one.
    SetupReplaced,
    /// A session was opened since the listing: the account's `session_seq` now.
    SessionOpened(Option<i64>),
    AccountGone,
}

/// What the presented second factor matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    Step(i64),
    /// The id of a recovery code of the current set.
    RecoveryCode(String),
}

/// Completing a sign-in: the factor is spent, the `mfa_token` with it, and a session opens;
/// the second factor's count starts again.
#[derive(Debug, Clone)]
pub struct Acceptance<'a> {
    pub account_id: &'a str,
    pub mfa_digest: &'a str,
    /// The enrolment the `mfa_token` was issued under (0: before enrolments were counted).
    pub generation: i64,
    pub accepted: &'a Accepted,
    /// The secret sealed again with the current key version: (as read, resealed).
    pub reseal: Option<(Vec<u8>, Vec<u8>)>,
    pub session: &'a NewSession,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptedOutcome {
    SignedIn,
    /// Another request took this code (or a later step), or the enrolment changed, first.
    CodeAlreadyUsed,
    /// The `mfa_token` was used or exhausted by a concurrent request.
    MfaTokenSpent,
}

/// Recovery codes keyed again with the current key version, for the set that was read only.
#[derive(Debug, Clone)]
pub struct Rekey {
    pub codes: StoredCodeSet,
    pub used: Vec<String>,
    pub seen_used: usize,
    pub seen_generation: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    Changed,
    /// The condition failed: the set (or the account) is not as it was read.
    Refused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhileEnabled {
    Done,
    NotEnabled,
}

/// Creating a token under the account's count of live tokens.
#[derive(Debug, Clone)]
pub struct TokenCreation<'a> {
    pub token: &'a NewToken,
    /// The count as read (None: never kept).
    pub seen_count: Option<i64>,
    pub count: i64,
    pub entry: Entry,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCreated {
    Created,
    /// Another create or revoke changed the count: as it is now.
    CountChanged(Option<i64>),
    AccountGone,
}

// ---- ports ----

pub trait AccountStore: Send + Sync {
    /// The account that owns a login, and the login's locks: one read of the login's claim and,
    /// for a login without an account, its own record.
    fn login(&self, login: &str) -> impl Future<Output = Stored<LoginRead>> + Send;
    /// A strongly consistent read of an account.
    fn account(&self, account_id: &str) -> impl Future<Output = Stored<Option<Account>>> + Send;
    /// The account and the claim of its login, together: of two sign-ups of one login, one wins.
    fn create_account(
        &self,
        account: &NewAccount,
        entry: &Entry,
    ) -> impl Future<Output = Stored<AccountCreated>> + Send;
}

pub trait ThrottleStore: Send + Sync {
    /// Counts one attempt, as `attempt.step` says, with its conditions.
    fn count_attempt(&self, attempt: &Attempt<'_>) -> impl Future<Output = Stored<Counted>> + Send;
    /// The count starts again, on an account that exists.
    fn reset_count(
        &self,
        account_id: &str,
        counter: Counter,
    ) -> impl Future<Output = Stored<Written>> + Send;
    /// Writes what a failed attempt leaves: all of it or nothing.
    fn record_failure(&self, failure: &Failure<'_>) -> impl Future<Output = Stored<()>> + Send;
    /// Copies a lock onto the record an attempt read first, unless that record already shows a
    /// lock at least as long (or is gone).
    fn copy_lock(
        &self,
        to: FirstRead<'_>,
        counter: Counter,
        count: Count,
    ) -> impl Future<Output = Stored<()>> + Send;
    /// Removes a copied lock from that record, if it is still the one ending at `locked_until`.
    fn lift_lock(
        &self,
        from: FirstRead<'_>,
        counter: Counter,
        locked_until: i64,
    ) -> impl Future<Output = Stored<()>> + Send;
}

pub trait SessionStore: Send + Sync {
    /// A live full session by the digest of its token.
    fn session(
        &self,
        digest: &str,
        now: Now,
    ) -> impl Future<Output = Stored<Option<SessionRecord>>> + Send;
    /// A live `mfa_token`'s record by its digest.
    fn mfa_pending(
        &self,
        digest: &str,
        now: Now,
    ) -> impl Future<Output = Stored<Option<MfaPending>>> + Send;
    /// The account's live sessions, in no particular order.
    fn live_sessions(
        &self,
        account_id: &str,
        now: Now,
    ) -> impl Future<Output = Stored<Vec<ListedSession>>> + Send;
    fn listed_session(
        &self,
        account_id: &str,
        session_id: &str,
        now: Now,
    ) -> impl Future<Output = Stored<Option<ListedSession>>> + Send;
    /// SignIn with 2FA off: a session opens, the password's count starts again (with the new
    /// hash, when there is one), `session_seq` goes up, if 2FA is still off.
    fn open_session(
        &self,
        session: &NewSession,
        rehash: Option<&str>,
        entry: &Entry,
    ) -> impl Future<Output = Stored<SessionOpened>> + Send;
    /// SignIn with 2FA on: an `mfa_token`'s record, and the password's count starts again.
    fn issue_mfa_token(
        &self,
        pending: &NewMfaPending,
        rehash: Option<&str>,
    ) -> impl Future<Output = Stored<Written>> + Send;
    /// Sign-out: the caller's session and its listing entry go, if the session is still there.
    fn sign_out(
        &self,
        principal: &SessionPrincipal,
        entry: &Entry,
    ) -> impl Future<Output = Stored<Written>> + Send;
    /// One listed session ends, if it is still listed.
    fn end_session(
        &self,
        account_id: &str,
        session: &ListedSession,
        entry: &Entry,
    ) -> impl Future<Output = Stored<Written>> + Send;
    /// Every session given ends, with a `session_ended` entry each at `at`, in as many writes as
    /// it takes; `reset_password` starts the password's count again with the first.
    fn end_sessions(
        &self,
        account_id: &str,
        sessions: &[ListedSession],
        origin: &super::Origin,
        at: Now,
        reset_password: bool,
    ) -> impl Future<Output = Stored<()>> + Send;
}

pub trait TwoFactorStore: Send + Sync {
    /// Setup step 1: the pending secret replaces any earlier one, if 2FA is off; the password's
    /// count starts again.
    fn start_setup(
        &self,
        account_id: &str,
        pending: &PendingSecret,
    ) -> impl Future<Output = Stored<SetupStarted>> + Send;
    fn enable(&self, enabling: &Enabling<'_>) -> impl Future<Output = Stored<Enabled>> + Send;
    fn accept_second_factor(
        &self,
        acceptance: &Acceptance<'_>,
    ) -> impl Future<Output = Stored<AcceptedOutcome>> + Send;
    /// A wrong code: one more wrong attempt on the `mfa_token`, and the failure's entries.
    fn record_wrong_code(
        &self,
        mfa_digest: &str,
        failure: &Failure<'_>,
    ) -> impl Future<Output = Stored<()>> + Send;
    /// The codes were viewed: the entry, the password's count starts again, and the codes are
    /// keyed again when `rekey` says so (if the set is still the one read).
    fn record_codes_viewed(
        &self,
        account_id: &str,
        rekey: Option<&Rekey>,
        entry: &Entry,
    ) -> impl Future<Output = Stored<Changed>> + Send;
    /// A new set replaces the old, if 2FA is on; the password's count starts again.
    fn replace_codes(
        &self,
        account_id: &str,
        codes: &StoredCodeSet,
        entry: &Entry,
    ) -> impl Future<Output = Stored<WhileEnabled>> + Send;
    /// 2FA off: the secret, the codes, the last step and any pending setup go, if it is on; the
    /// password's count starts again.
    fn disable(
        &self,
        account_id: &str,
        entry: &Entry,
    ) -> impl Future<Output = Stored<WhileEnabled>> + Send;
}

pub trait TokenStore: Send + Sync {
    /// A live token by the digest of its secret.
    fn token(
        &self,
        digest: &str,
        now: Now,
    ) -> impl Future<Output = Stored<Option<TokenRecord>>> + Send;
    /// The account's live tokens, in no particular order.
    fn live_tokens(
        &self,
        account_id: &str,
        now: Now,
    ) -> impl Future<Output = Stored<Vec<TokenListing>>> + Send;
    fn token_listing(
        &self,
        account_id: &str,
        token_id: &str,
        now: Now,
    ) -> impl Future<Output = Stored<Option<TokenListing>>> + Send;
    /// When each token was last used, by token id, for the digests given.
    fn last_used(
        &self,
        digests: &[String],
    ) -> impl Future<Output = Stored<HashMap<String, i64>>> + Send;
    /// The token, its listing entry and the new count, if the count is still the one seen; the
    /// password's count starts again.
    fn create_token(
        &self,
        creation: &TokenCreation<'_>,
    ) -> impl Future<Output = Stored<TokenCreated>> + Send;
    /// The token and its listing entry go and the count goes down, if it is still live.
    fn revoke_token(
        &self,
        account_id: &str,
        listing: &TokenListing,
        entry: &Entry,
        now: Now,
    ) -> impl Future<Output = Stored<Written>> + Send;
    /// Records a use at `at`, unless one later than `stale_before` is recorded already.
    fn record_token_use(
        &self,
        digest: &str,
        at: i64,
        stale_before: i64,
    ) -> impl Future<Output = Stored<()>> + Send;
}

pub trait SecurityLogStore: Send + Sync {
    /// A page of the account's live entries, newest first, after `cursor`; None when the cursor
    /// is not one this store handed out.
    fn log_page(
        &self,
        account_id: &str,
        cursor: Option<&str>,
        limit: i32,
        now: Now,
    ) -> impl Future<Output = Stored<Option<LogPage>>> + Send;
}

/// Everything the service stores, for the rules that need more than one port.
pub trait Storage:
    AccountStore
    + ThrottleStore
    + SessionStore
    + TwoFactorStore
    + TokenStore
    + SecurityLogStore
    + Clone
    + 'static
{
}

impl<T> Storage for T where
    T: AccountStore
        + ThrottleStore
        + SessionStore
        + TwoFactorStore
        + TokenStore
        + SecurityLogStore
        + Clone
        + 'static
{
}

/// Where the key ring comes from, asked only by the rules that seal or look up secrets.
pub trait KeySource: Send + Sync {
    fn keys(&self) -> impl Future<Output = Result<Arc<Keys>, Error>> + Send;
}

impl KeySource for Arc<Keys> {
    async fn keys(&self) -> Result<Arc<Keys>, Error> {
        Ok(self.clone())
    }
}
