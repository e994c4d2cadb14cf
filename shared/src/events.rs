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

/// The public form of a stored entry: `type`, `at`, `ip`, `user_agent`, nothing else.
pub fn to_json(item: &Item) -> serde_json::Value {
    serde_json::json!({
        "type": get_s(item, "type").unwrap_or_default(),
        "at": crate::rfc3339(get_n(item, "at").unwrap_or_default()),
        "ip": get_s(item, "ip").unwrap_or_default(),
        "user_agent": get_s(item, "user_agent").unwrap_or_default(),
    })
}

/// One page of an account's security log, newest first, and the cursor of the next page. Entries
/// past their year are never listed, whether or not DynamoDB's TTL has deleted them yet.
pub async fn page(
    store: &crate::store::Store,
    account_id: &str,
    cursor: Option<&str>,
    now: crate::Now,
) -> Result<(Vec<serde_json::Value>, Option<String>), crate::ApiError> {
    let after = cursor.map(decode_cursor).transpose()?;
    let (pk, _) = crate::store::keys::account(account_id);
    let (items, last) = store
        .query_page(&pk, "EVENT#", after.as_deref(), PAGE_SIZE)
        .await?;
    // Newest first: once one entry is past its year, every later one is too.
    let live: Vec<_> = items
        .iter()
        .take_while(|item| crate::store::is_live(item, now))
        .collect();
    let next = if live.len() < items.len() { None } else { last };
    Ok((
        live.into_iter().map(to_json).collect(),
        next.map(|sort| encode_cursor(&sort)),
    ))
}

fn encode_cursor(sort_key: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sort_key)
}

/// A cursor is the opaque form of an entry's sort key; anything else is refused.
fn decode_cursor(cursor: &str) -> Result<String, crate::ApiError> {
    use base64::Engine;
    let invalid =
        || crate::ApiError::InvalidRequest("The query parameter `cursor` is not valid.".into());
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| invalid())?;
    let sort = String::from_utf8(bytes).map_err(|_| invalid())?;
    let valid = sort.strip_prefix("EVENT#").is_some_and(|rest| {
        rest.len() <= 40 && rest.chars().all(|c| c.is_ascii_hexdigit() || c == '#')
    });
    valid.then_some(sort).ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_nothing_else_is_accepted() {
        let sort = "EVENT#1764457281123#0a1b2c3d";
        assert_eq!(decode_cursor(&encode_cursor(sort)).unwrap(), sort);
        for bad in [
            "",
            "!!",
            &encode_cursor("SESSION#abc"),
            &encode_cursor("EVENT#../x"),
        ] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }
}
