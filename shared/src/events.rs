//! The security log: what happened to an account, for its owner to review.

use crate::store::{get_n, get_s, Item};

/// Entries are kept for a year.
pub const RETENTION_SECS: i64 = 365 * 24 * 3600;
/// Entries per page of the security log.
pub const PAGE_SIZE: i32 = 50;

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
            EventKind::Throttled => "throttled",
        }
    }
}

/// The public form of a stored entry: `type`, `at`, `ip`, `user_agent`, nothing else.
pub fn to_json(item: &Item) -> serde_json::Value {
    serde_json::json!({
        "type": get_s(item, "type").unwrap_or_default(),
        "at": crate::rfc3339(get_n(item, "at").unwrap_or_default()),
        "ip": get_s(item, "ip").unwrap_or_default(),
        "user_agent": get_s(item, "user_agent").unwrap_or_default(),
    })
}
