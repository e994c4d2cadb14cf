//! Personal access tokens: API access for scripts without the SignIn + Verify2FACode dance.
//!
//! A token reads `ward_pat_` + 52 base32 characters (256 random bits) + a 7-character checksum,
//! so secret scanners can recognise a leaked one and a typo is refused without a database read.
//! Only its SHA-256 digest is stored. Two records per token: the token itself, found by digest
//! (what authentication reads), and a listing entry under the account (what list and revoke read).

use super::error::Error;
use super::password::{confirm_password, refuse_after_password};
use super::ports::{ThrottleStore, TokenCreated, TokenCreation, TokenStore, Written};
use super::records::{Entry, EventKind, NewToken, SessionPrincipal, TokenListing};
use super::{Now, Origin};
use crate::crypto::random;
use sha2::{Digest, Sha256};

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
/// Rounds of a create that keeps losing to other creates and revokes before it gives up.
const CREATE_ROUNDS: usize = 10;

fn checksum(random: &str) -> String {
    let digest = Sha256::digest(format!("{PREFIX}{random}").as_bytes());
    data_encoding::BASE32_NOPAD
        .encode(&digest[..4])
        .to_lowercase()
}

/// A new token: prefix, 256 random bits, checksum.
pub fn new_token() -> Result<String, Error> {
    let random = data_encoding::BASE32_NOPAD
        .encode(&random::random_bytes::<32>()?)
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

/// A token's name: 1 to 100 characters after trimming, no control characters.
pub fn check_name(name: &str) -> Result<String, Error> {
    let name = name.trim();
    let length = name.chars().count();
    if !(1..=100).contains(&length) || name.chars().any(char::is_control) {
        return Err(Error::InvalidRequest(
            "The field `name` must be 1 to 100 characters without control characters.".into(),
        ));
    }
    Ok(name.to_string())
}

pub fn check_days(days: Option<i64>) -> Result<i64, Error> {
    let days = days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(Error::InvalidRequest(
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

/// Creates a token after the password: one write holds the token, its listing entry, the new
/// count, the reset of the password count and the entry.
///
/// The account counts its tokens (`token_count`, kept with each create and revoke), so the limit
/// holds under concurrent creates. Expiry does not count down, so at the limit (or when the count
/// is unknown) the live tokens are counted afresh from the listing.
pub async fn create<S>(
    store: &S,
    principal: &SessionPrincipal,
    name: &str,
    password: &str,
    days: Option<i64>,
    origin: &Origin,
    now: Now,
) -> Result<CreatedToken, Error>
where
    S: ThrottleStore + TokenStore,
{
    let name = check_name(name)?;
    let days = check_days(days)?;
    let account = confirm_password(store, principal, password, origin, now).await?;
    let account_id = principal.account_id.as_str();
    let token = new_token()?;
    let created_at = now.secs();
    let record = NewToken {
        digest: random::digest(&token),
        token_id: random::new_id()?,
        account_id: account_id.to_string(),
        login: principal.login.clone(),
        name,
        created_at,
        expires_at: created_at + days * DAY_SECS,
    };
    let mut seen = account.token_count;
    // Each round loses only to another create or revoke of this account that committed.
    for _ in 0..CREATE_ROUNDS {
        let count = match seen {
            Some(count) if (0..MAX_LIVE_TOKENS).contains(&count) => count,
            _ => store.live_tokens(account_id, now).await?.len() as i64,
        };
        if count >= MAX_LIVE_TOKENS {
            return Err(refuse_after_password(store, account_id, Error::TokenLimitReached).await?);
        }
        let creation = TokenCreation {
            token: &record,
            seen_count: seen,
            count: count + 1,
            entry: Entry::new(EventKind::TokenCreated, origin, now),
        };
        match store.create_token(&creation).await? {
            TokenCreated::Created => {
                tracing::info!(
                    account_id,
                    token_id = record.token_id,
                    "personal access token created"
                );
                return Ok(CreatedToken {
                    id: record.token_id,
                    name: record.name,
                    token,
                    created_at,
                    expires_at: record.expires_at,
                });
            }
            TokenCreated::CountChanged(count) => seen = count,
            TokenCreated::AccountGone => return Err(Error::Unauthorized),
        }
    }
    Err(Error::ServiceUnavailable)
}

/// A live token as its owner's listing shows it; never a secret or digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSummary {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
}

/// The account's live tokens, newest first.
pub async fn list(
    store: &impl TokenStore,
    account_id: &str,
    now: Now,
) -> Result<Vec<TokenSummary>, Error> {
    let listings = store.live_tokens(account_id, now).await?;
    let digests: Vec<String> = listings
        .iter()
        .map(|listing| listing.digest.clone())
        .collect();
    let last_used = store.last_used(&digests).await?;
    let mut tokens: Vec<TokenSummary> = listings
        .into_iter()
        .map(|listing: TokenListing| TokenSummary {
            last_used_at: last_used.get(&listing.token_id).copied(),
            id: listing.token_id,
            name: listing.name,
            created_at: listing.created_at,
            expires_at: listing.expires_at,
        })
        .collect();
    tokens.sort_by_key(|token| std::cmp::Reverse(token.created_at));
    Ok(tokens)
}

/// Revokes one of the account's tokens: 404 for an unknown id or another account's token.
pub async fn revoke(
    store: &impl TokenStore,
    principal: &SessionPrincipal,
    token_id: &str,
    origin: &Origin,
    now: Now,
) -> Result<(), Error> {
    let valid_id = token_id.len() == 32 && token_id.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid_id {
        return Err(Error::NotFound);
    }
    let account_id = principal.account_id.as_str();
    // An expired token is gone already (it is listed nowhere, and its count went with its expiry).
    let listing = store
        .token_listing(account_id, token_id, now)
        .await?
        .ok_or(Error::NotFound)?;
    let entry = Entry::new(EventKind::TokenRevoked, origin, now);
    match store
        .revoke_token(account_id, &listing, &entry, now)
        .await?
    {
        Written::Written => {
            tracing::info!(account_id, token_id, "personal access token revoked");
            Ok(())
        }
        // Revoked by a concurrent request in the meantime: gone all the same.
        Written::Gone => Err(Error::NotFound),
    }
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
