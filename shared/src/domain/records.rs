//! The records the rules work on and the storage ports hand over: accounts with their two-factor
//! state as a type, sessions, personal access tokens, security log entries and the counts of the
//! throttle. Plain data; how each is laid out in the table is the store's business.

use super::{Now, Origin};

// ---- accounts and their second factor ----

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub account_id: String,
    pub login: String,
    /// The argon2id PHC string of the password.
    pub password_hash: String,
    pub created_at: i64,
    pub two_factor: TwoFactor,
    /// Raised by every session opened: an enable that ends the sessions it listed holds only
    /// while no session was opened since.
    pub session_seq: Option<i64>,
    /// The account's live personal access tokens, as counted by create and revoke.
    pub token_count: Option<i64>,
}

impl Account {
    pub fn enrolment(&self) -> Option<&Enrolment> {
        match &self.two_factor {
            TwoFactor::On(enrolment) => Some(enrolment),
            TwoFactor::Off | TwoFactor::Pending(_) => None,
        }
    }
    pub fn two_factor_enabled(&self) -> bool {
        self.enrolment().is_some()
    }
}

/// The account's second factor: none → pending → enabled, each transition one conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwoFactor {
    Off,
    /// A secret shown to the user, waiting for its first code.
    Pending(PendingSecret),
    On(Enrolment),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSecret {
    /// The TOTP secret, sealed to the account.
    pub sealed: Vec<u8>,
    /// Until when it may be confirmed, epoch seconds.
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub enabled_at: Option<i64>,
    /// The TOTP secret, sealed to the account.
    pub secret: Vec<u8>,
    /// The last TOTP step accepted: no code of it or an earlier step is accepted again.
    pub last_step: Option<i64>,
    pub codes: RecoveryCodes,
    /// Changes whenever 2FA is enabled or disabled: an `mfa_token` is good for its own only
    /// (0 for accounts enrolled before enrolments were counted).
    pub generation: i64,
}

/// The current set of recovery codes: keyed hashes to look codes up, the used ones, and the
/// sealed list the owner may view again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryCodes {
    pub ids: Vec<String>,
    pub used: Vec<String>,
    pub sealed: Vec<u8>,
    pub generation: i64,
}

impl RecoveryCodes {
    pub fn remaining(&self) -> usize {
        self.ids.len().saturating_sub(self.used.len())
    }
}

/// A set of recovery codes as it is stored (never the codes themselves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCodeSet {
    pub ids: Vec<String>,
    pub sealed: Vec<u8>,
}

/// An account about to be created.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub account_id: String,
    pub login: String,
    pub password_hash: String,
    pub created: Now,
}

// ---- who is calling ----

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A signed-in session; `digest` is the key of its record, `session_id` its listed id.
    Session {
        digest: String,
        session_id: String,
        locks: Locks,
    },
    /// A personal access token.
    Token { token_id: String },
}

/// The account behind a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub account_id: String,
    pub login: String,
    pub credential: Credential,
}

/// The account behind a request made with a session (never a personal access token).
#[derive(Debug, Clone)]
pub struct SessionPrincipal {
    pub account_id: String,
    pub login: String,
    pub session_digest: String,
    /// The id under which the session is listed (`GET /v1/sessions`).
    pub session_id: String,
    /// The account's locks as copied onto the session's record.
    pub locks: Locks,
}

// ---- sessions ----

/// A full session found by the digest of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub account_id: String,
    pub login: String,
    pub session_id: String,
    pub locks: Locks,
}

/// A session about to be opened: its record and its listing entry.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub digest: String,
    pub session_id: String,
    pub account_id: String,
    pub login: String,
    pub origin: Origin,
    pub opened: Now,
    pub expires_at: i64,
}

/// A session as its owner's listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedSession {
    pub session_id: String,
    pub digest: String,
    /// When it was opened, in epoch milliseconds.
    pub created_ms: i64,
    pub expires_at: i64,
    pub ip: String,
    pub user_agent: String,
}

/// What stands between SignIn and Verify2FACode: the password was right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaPending {
    pub account_id: String,
    pub login: String,
    /// The enrolment it was issued under.
    pub generation: i64,
    /// Wrong codes presented with it so far.
    pub attempts: i64,
    /// The account's locks as copied onto the token's record.
    pub locks: Locks,
}

#[derive(Debug, Clone)]
pub struct NewMfaPending {
    pub digest: String,
    pub account_id: String,
    pub login: String,
    pub generation: i64,
    pub created: Now,
    pub expires_at: i64,
}

// ---- personal access tokens ----

/// A token found by the digest of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub account_id: String,
    pub login: String,
    pub token_id: String,
    pub last_used_at: Option<i64>,
}

/// A token about to be created: its record and its listing entry.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub digest: String,
    pub token_id: String,
    pub account_id: String,
    pub login: String,
    pub name: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A token as its owner's listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenListing {
    pub token_id: String,
    pub name: String,
    pub digest: String,
    pub created_at: i64,
    pub expires_at: i64,
}

// ---- the security log ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    AccountCreated,
    SignedIn,
    SignInFailed,
    TwoFactorFailed,
    TwoFactorEnabled,
    TwoFactorDisabled,
    RecoveryCodeUsed,
    RecoveryCodesViewed,
    RecoveryCodesRegenerated,
    TokenCreated,
    TokenRevoked,
    SignedOut,
    SessionEnded,
    Throttled,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::AccountCreated => "account_created",
            EventKind::SignedIn => "signed_in",
            EventKind::SignInFailed => "sign_in_failed",
            EventKind::TwoFactorFailed => "two_factor_failed",
            EventKind::TwoFactorEnabled => "two_factor_enabled",
            EventKind::TwoFactorDisabled => "two_factor_disabled",
            EventKind::RecoveryCodeUsed => "recovery_code_used",
            EventKind::RecoveryCodesViewed => "recovery_codes_viewed",
            EventKind::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            EventKind::TokenCreated => "token_created",
            EventKind::TokenRevoked => "token_revoked",
            EventKind::SignedOut => "signed_out",
            EventKind::SessionEnded => "session_ended",
            EventKind::Throttled => "throttled",
        }
    }
}

/// A security log entry about to be written.
#[derive(Debug, Clone)]
pub struct Entry {
    pub kind: EventKind,
    pub origin: Origin,
    pub at: Now,
}

impl Entry {
    pub fn new(kind: EventKind, origin: &Origin, at: Now) -> Entry {
        Entry {
            kind,
            origin: origin.clone(),
            at,
        }
    }
}

/// A security log entry as its owner reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEntry {
    /// The event type as written (`signed_in`, ...).
    pub kind: String,
    pub at: i64,
    pub ip: String,
    pub user_agent: String,
}

/// One page of the log, newest first, and the opaque cursor of the next.
#[derive(Debug, Clone, Default)]
pub struct LogPage {
    pub entries: Vec<LoggedEntry>,
    pub next_cursor: Option<String>,
}

impl LogPage {
    pub fn into_parts(self) -> (Vec<LoggedEntry>, Option<String>) {
        (self.entries, self.next_cursor)
    }
}

// ---- the throttle ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counter {
    /// Wrong passwords for a login (SignIn and the password-confirmed routes).
    Password,
    /// Wrong authenticator or recovery codes for an account, across all its `mfa_token`s.
    SecondFactor,
}

/// Whose attempts are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    Account(&'a str),
    /// A login without an account: counted in a record of its own, exactly like an account.
    UnknownLogin(&'a str),
}

/// A state the account must be in for an attempt to be counted at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    None,
    /// Two-factor authentication is off (confirming a setup: guesses against an enabled
    /// account's setup must not count against its sign-ins).
    TwoFactorOff,
}

/// A login's lock as its claim (or, for an unknown login, its own record) shows it, and the
/// login's owner if it has one: SignIn's first read, one Query of the login's partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginRead {
    pub owner: Option<String>,
    pub locks: Locks,
}

/// The locks copied onto the record an attempt reads first (a login's claim or an unknown
/// login's record, a session, an `mfa_token`), as counts: while one holds, the attempt is refused
/// from that read and writes nothing. Copies are hints: the account's own count decides, and a
/// lock missing here is learned from the count's conditional write and then copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Locks {
    pub password: Option<Count>,
    pub second_factor: Option<Count>,
}

impl Locks {
    pub fn of(&self, counter: Counter) -> Option<Count> {
        match counter {
            Counter::Password => self.password,
            Counter::SecondFactor => self.second_factor,
        }
    }

    pub fn of_mut(&mut self, counter: Counter) -> &mut Option<Count> {
        match counter {
            Counter::Password => &mut self.password,
            Counter::SecondFactor => &mut self.second_factor,
        }
    }
}

/// The record an attempt read first, where a lock it learns of is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstRead<'a> {
    /// A known login's claim.
    Claim(&'a str),
    /// An unknown login's own record (which holds its count, so the copy changes nothing; it is
    /// made so that known and unknown logins make the same calls).
    UnknownLogin(&'a str),
    /// A session's or an `mfa_token`'s record, by its digest.
    Session(&'a str),
}

/// A subject's count of consecutive failures, as last seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub failures: i64,
    pub locked_until: i64,
    /// When the last attempt was counted (0: never, or before stamps were kept).
    pub last_at: i64,
}
