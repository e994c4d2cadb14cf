//! Personal access tokens: API access for scripts without the SignIn + Verify2FACode dance.
//!
//! A token reads `ward_pat_` + 52 base32 characters (256 random bits) + a 7-character checksum,
//! so secret scanners can recognise a leaked one and a typo is refused without a database read.
//! Only its SHA-256 digest is stored. Two items per token: the token itself, keyed by digest (what
//! authentication reads), and a listing entry under the account (what list and revoke read).

use crate::auth::SessionPrincipal;
use crate::error::ApiError;
use crate::events::EventKind;
use crate::http::Client;
use crate::store::{get_n, get_s, key_item, keys, n, s, Store, Transaction};
use crate::throttle::Counter;
use crate::two_factor::confirm_password;
use crate::Now;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

pub const PREFIX: &str = "ward_pat_";
const RANDOM_CHARS: usize = 52;
const CHECKSUM_CHARS: usize = 7;
pub const DEFAULT_DAYS: i64 = 30;
pub const MAX_DAYS: i64 = 366;
/// Live tokens an account may hold, so that listing them is one Query page.
pub const MAX_LIVE_TOKENS: i64 = 100;
const DAY_SECS: i64 = 86_400;
/// `last_used_at` is written at most this often per token.
pub const LAST_USED_RESOLUTION_SECS: i64 = 60;

fn checksum(random: &str) -> String {
    let digest = Sha256::digest(format!("{PREFIX}{random}").as_bytes());
    data_encoding::BASE32_NOPAD
        .encode(&digest[..4])
        .to_lowercase()
}

/// A new token: prefix, 256 random bits, checksum.
pub fn new_token() -> Result<String, ApiError> {
    let random = data_encoding::BASE32_NOPAD
        .encode(&crate::token::random_bytes::<32>()?)
        .to_lowercase();
    let checksum = checksum(&random);
    Ok(format!("{PREFIX}{random}{checksum}"))
}

/// Whether a presented token is well formed: the right length, alphabet and checksum.
pub fn well_formed(token: &str) -> bool {
    let Some(body) = token.strip_prefix(PREFIX) else {
        return false;
    };
    if body.len() != RANDOM_CHARS + CHECKSUM_CHARS
        || !body
            .bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
    {
        return false;
    }
    let (random, check) = body.split_at(RANDOM_CHARS);
    use subtle::ConstantTimeEq;
    bool::from(checksum(random).as_bytes().ct_eq(check.as_bytes()))
}

pub fn token_key(digest: &str) -> (String, String) {
    (format!("TOKEN#{digest}"), "TOKEN".to_string())
}

pub fn listing_key(account_id: &str, token_id: &str) -> (String, String) {
    (format!("ACCOUNT#{account_id}"), format!("TOKEN#{token_id}"))
}

/// A token's name: 1 to 100 characters after trimming, no control characters.
pub fn check_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    let length = name.chars().count();
    if !(1..=100).contains(&length) || name.chars().any(char::is_control) {
        return Err(ApiError::InvalidRequest(
            "The field `name` must be 1 to 100 characters without control characters.".into(),
        ));
    }
    Ok(name.to_string())
}

pub fn check_days(days: Option<i64>) -> Result<i64, ApiError> {
    let days = days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::InvalidRequest(
            "The field `expires_in_days` must be 1 to 366.".into(),
        ));
    }
    Ok(days)
}

#[derive(Debug)]
pub struct CreatedToken {
    pub id: String,
    pub name: String,
    /// Shown this once.
    pub token: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Creates a token after the password: one transaction writes the token, its listing entry, the
/// reset of the password count and the event.
pub async fn create(
    store: &Store,
    principal: &SessionPrincipal,
    name: &str,
    password: &str,
    days: Option<i64>,
    client: &Client,
    now: Now,
) -> Result<CreatedToken, ApiError> {
    let name = check_name(name)?;
    let days = check_days(days)?;
    let account = confirm_password(store, principal, password, client, now).await?;
    let account_id = principal.account_id.as_str();
    let token = new_token()?;
    let digest = crate::token::digest(&token);
    let id = crate::token::hex(&crate::token::random_bytes::<16>()?);
    let created_at = now.secs();
    let expires_at = created_at + days * DAY_SECS;

    let mut secret_item = key_item(token_key(&digest));
    secret_item.insert("account_id".into(), s(account_id));
    secret_item.insert("login".into(), s(&principal.login));
    secret_item.insert("token_id".into(), s(&id));
    secret_item.insert("expires_at".into(), n(expires_at));
    let mut listing = key_item(listing_key(account_id, &id));
    listing.insert("token_id".into(), s(&id));
    listing.insert("name".into(), s(&name));
    listing.insert("digest".into(), s(&digest));
    listing.insert("created_at".into(), n(created_at));
    listing.insert("expires_at".into(), n(expires_at));

    // The account counts its tokens (`token_count`, kept with each create and revoke), so the
    // limit holds under concurrent creates. Expiry does not count down, so at the limit (or when
    // the count is unknown) the live tokens are counted afresh from the listing.
    let mut seen = get_n(&account, "token_count");
    // Each round loses only to another create or revoke of this account that committed.
    for _ in 0..10 {
        let count = match seen {
            Some(count) if (0..MAX_LIVE_TOKENS).contains(&count) => count,
            _ => live_listings(store, account_id, now).await?.len() as i64,
        };
        if count >= MAX_LIVE_TOKENS {
            return Err(crate::two_factor::refuse_after_password(
                store,
                account_id,
                ApiError::TokenLimitReached,
            )
            .await?);
        }
        let counted = Counter::Password
            .reset(account_id)
            .set("token_count = :count")
            .value(":count", n(count + 1));
        let counted = match seen {
            Some(seen) => counted
                .condition("token_count = :seen")
                .value(":seen", n(seen)),
            None => counted.condition("attribute_not_exists(token_count)"),
        };
        // The token's digest and id are new random values: a collision is a fault, not a conflict.
        let outcome = store
            .transact(vec![
                store.table_update(counted)?,
                store.table_put(secret_item.clone(), Some("attribute_not_exists(pk)"))?,
                store.table_put(listing.clone(), Some("attribute_not_exists(pk)"))?,
                store.event_put(account_id, EventKind::TokenCreated, client, now)?,
            ])
            .await?;
        match outcome {
            Transaction::Committed => {
                tracing::info!(account_id, token_id = id, "personal access token created");
                return Ok(CreatedToken {
                    id,
                    name,
                    token,
                    created_at,
                    expires_at,
                });
            }
            // Another create or revoke changed the count: read it again.
            Transaction::ConditionFailed(failed) if failed.first() == Some(&true) => {
                let account = store
                    .get(keys::account(account_id))
                    .await?
                    .ok_or(ApiError::Unauthorized)?;
                seen = get_n(&account, "token_count");
            }
            Transaction::ConditionFailed(_) => return Err(ApiError::Internal),
        }
    }
    Err(ApiError::ServiceUnavailable)
}

/// The account's listing entries of live tokens.
async fn live_listings(
    store: &Store,
    account_id: &str,
    now: Now,
) -> Result<Vec<crate::store::Item>, ApiError> {
    let (pk, _) = keys::account(account_id);
    Ok(store.query_live(&pk, "TOKEN#", now).await?)
}
/// The account's live tokens, newest first; never a secret or digest.
pub async fn list(
    store: &Store,
    account_id: &str,
    now: Now,
) -> Result<Vec<serde_json::Value>, ApiError> {
    let listings = live_listings(store, account_id, now).await?;
    let digests: Vec<String> = listings
        .iter()
        .filter_map(|item| get_s(item, "digest").map(str::to_string))
        .collect();
    let secrets = store
        .batch_get(digests.iter().map(|digest| token_key(digest)).collect())
        .await?;
    let last_used: HashMap<String, i64> = secrets
        .iter()
        .filter_map(|item| {
            Some((
                get_s(item, "token_id")?.to_string(),
                get_n(item, "last_used_at")?,
            ))
        })
        .collect();
    let mut tokens: Vec<(i64, serde_json::Value)> = listings
        .iter()
        .filter_map(|item| {
            let id = get_s(item, "token_id")?;
            let created_at = get_n(item, "created_at")?;
            Some((
                created_at,
                serde_json::json!({
                    "id": id,
                    "name": get_s(item, "name"),
                    "created_at": crate::rfc3339(created_at),
                    "expires_at": crate::rfc3339(get_n(item, "expires_at").unwrap_or_default()),
                    "last_used_at": last_used.get(id).map(|at| crate::rfc3339(*at)),
                }),
            ))
        })
        .collect();
    tokens.sort_by_key(|token| std::cmp::Reverse(token.0));
    Ok(tokens.into_iter().map(|(_, token)| token).collect())
}

/// Revokes one of the account's tokens: 404 for an unknown id or another account's token.
pub async fn revoke(
    store: &Store,
    principal: &SessionPrincipal,
    token_id: &str,
    client: &Client,
    now: Now,
) -> Result<(), ApiError> {
    let valid_id = token_id.len() == 32 && token_id.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid_id {
        return Err(ApiError::NotFound);
    }
    let account_id = principal.account_id.as_str();
    // An expired token is gone already (it is listed nowhere, and its count went with its expiry).
    let listing = store
        .get_live(listing_key(account_id, token_id), now)
        .await?
        .ok_or(ApiError::NotFound)?;
    let digest = get_s(&listing, "digest").ok_or(ApiError::Internal)?;
    // Revoked by a concurrent request in the meantime: gone all the same.
    store
        .commit(
            vec![
                store.table_delete_if(
                    listing_key(account_id, token_id),
                    "attribute_exists(pk) AND expires_at > :now",
                    ":now",
                    n(now.secs()),
                )?,
                store.table_delete(token_key(digest), None)?,
                store.table_update(
                    crate::store::ConditionalUpdate::new(keys::account(account_id))
                        .add_to("token_count :minus_one")
                        .condition("attribute_exists(pk)")
                        .value(":minus_one", n(-1)),
                )?,
                store.event_put(account_id, EventKind::TokenRevoked, client, now)?,
            ],
            ApiError::NotFound,
        )
        .await?;
    tracing::info!(account_id, token_id, "personal access token revoked");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_the_prefix_256_bits_and_a_checksum() {
        let token = new_token().unwrap();
        assert!(token.starts_with(PREFIX));
        assert_eq!(token.len(), PREFIX.len() + 52 + 7);
        assert!(well_formed(&token));
        assert_ne!(token, new_token().unwrap());
    }

    #[test]
    fn a_typo_fails_the_checksum() {
        let token = new_token().unwrap();
        let position = PREFIX.len() + 10;
        let replacement = if &token[position..=position] == "a" {
            "b"
        } else {
            "a"
        };
        let typo = format!(
            "{}{replacement}{}",
            &token[..position],
            &token[position + 1..]
        );
        assert!(!well_formed(&typo));
        assert!(!well_formed(&token[..token.len() - 1]));
        assert!(!well_formed(&token.to_uppercase()));
        assert!(!well_formed("ward_pat_"));
        assert!(!well_formed(&token.replacen(PREFIX, "ward_s_", 1)));
    }

    #[test]
    fn names_and_lifetimes_are_bounded() {
        assert_eq!(check_name("  deploy bot ").unwrap(), "deploy bot");
        assert!(check_name("").is_err());
        assert!(check_name(&"n".repeat(101)).is_err());
        assert!(check_name("bad\nname").is_err());
        assert_eq!(check_days(None).unwrap(), 30);
        assert_eq!(check_days(Some(1)).unwrap(), 1);
        assert_eq!(check_days(Some(366)).unwrap(), 366);
        assert!(check_days(Some(0)).is_err());
        assert!(check_days(Some(367)).is_err());
    }
}
