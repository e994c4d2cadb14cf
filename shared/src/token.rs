//! Bearer tokens and other random values: bytes from the OS generator, stored only as digests.

use crate::error::ApiError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::TryRngCore;
use sha2::{Digest, Sha256};

/// Prefix of session tokens (256 random bits follow).
pub const SESSION_PREFIX: &str = "ward_s_";
/// Prefix of the short-lived tokens that stand between SignIn and Verify2FACode.
pub const MFA_PREFIX: &str = "ward_m_";

/// Fills `buffer` from the operating system's generator.
pub fn fill_random(buffer: &mut [u8]) -> Result<(), ApiError> {
    OsRng.try_fill_bytes(buffer).map_err(|_| {
        tracing::error!("the operating system's random generator failed");
        ApiError::Internal
    })
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut bytes = [0u8; N];
    fill_random(&mut bytes)?;
    Ok(bytes)
}

/// A freshly issued bearer token and the digest under which it is stored.
pub struct IssuedToken {
    pub token: String,
    pub digest: String,
}

/// Issues `prefix` followed by 256 random bits, base64url.
pub fn issue(prefix: &str) -> Result<IssuedToken, ApiError> {
    let token = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()?));
    let digest = digest(&token);
    Ok(IssuedToken { token, digest })
}

/// The SHA-256 digest (hex) under which a token is stored and looked up.
pub fn digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A new account id: 128 random bits, hex.
pub fn new_account_id() -> Result<String, ApiError> {
    Ok(hex(&random_bytes::<16>()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_256_random_bits_and_are_stored_by_digest() {
        let first = issue(SESSION_PREFIX).unwrap();
        let second = issue(SESSION_PREFIX).unwrap();
        assert!(first.token.starts_with(SESSION_PREFIX));
        assert_eq!(first.token.len(), SESSION_PREFIX.len() + 43);
        assert_ne!(first.token, second.token);
        assert_eq!(first.digest, digest(&first.token));
        assert_eq!(first.digest.len(), 64);
        assert!(!first.digest.contains(&first.token));
    }

    #[test]
    fn the_digest_is_sha256() {
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
