//! Random values from the operating system's generator, and the digests bearer tokens are stored under.

use super::CryptoError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::TryRngCore;
use sha2::{Digest, Sha256};

/// Fills `buffer` from the operating system's generator.
pub fn fill_random(buffer: &mut [u8]) -> Result<(), CryptoError> {
    OsRng.try_fill_bytes(buffer).map_err(|_| {
        tracing::error!("the operating system's random generator failed");
        CryptoError
    })
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
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
pub fn issue(prefix: &str) -> Result<IssuedToken, CryptoError> {
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

/// A new identifier (an account's, a session's, a token's): 128 random bits, hex.
pub fn new_id() -> Result<String, CryptoError> {
    Ok(hex(&random_bytes::<16>()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_256_random_bits_and_are_stored_by_digest() {
        let first = issue("ward_s_").unwrap();
        let second = issue("ward_s_").unwrap();
        assert!(first.token.starts_with("ward_s_"));
        assert_eq!(first.token.len(), "ward_s_".len() + 43);
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
