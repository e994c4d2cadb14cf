//! Item keys, in one place: one table, string keys `pk`/`sk`.

pub fn account(account_id: &str) -> (String, String) {
    (format!("ACCOUNT#{account_id}"), "PROFILE".to_string())
}
pub fn login(login: &str) -> (String, String) {
    (format!("LOGIN#{login}"), "LOGIN".to_string())
}
/// Password failures of a login that has no account, so unknown logins throttle alike.
pub fn login_throttle(login: &str) -> (String, String) {
    (format!("LOGIN#{login}"), "THROTTLE".to_string())
}
pub fn session(digest: &str) -> (String, String) {
    (format!("SESSION#{digest}"), "SESSION".to_string())
}
pub fn event(account_id: &str, sort: &str) -> (String, String) {
    (format!("ACCOUNT#{account_id}"), sort.to_string())
}

pub fn session_listing(account_id: &str, session_id: &str) -> (String, String) {
    (
        format!("ACCOUNT#{account_id}"),
        format!("SESSION#{session_id}"),
    )
}

pub fn token(digest: &str) -> (String, String) {
    (format!("TOKEN#{digest}"), "TOKEN".to_string())
}

pub fn token_listing(account_id: &str, token_id: &str) -> (String, String) {
    (format!("ACCOUNT#{account_id}"), format!("TOKEN#{token_id}"))
}

/// The partition of an account's own items (profile, listings, security log).
pub fn account_partition(account_id: &str) -> String {
    format!("ACCOUNT#{account_id}")
}
