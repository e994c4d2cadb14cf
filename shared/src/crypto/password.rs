//! Password hashing: argon2id at OWASP's minimum (m=19456 KiB, t=2, p=1), stored as PHC strings.

use super::CryptoError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

/// A hash of a password nobody knows, made with the policy's parameters. Verifying it costs what
/// verifying a real account's hash costs, so an unknown login answers no faster than a wrong
/// password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$gJ4yRQR2kqwXxJ6ZdUjQbA$Nq6oLw4vmHj1t8mO7eU1ZpIzjfSy3v9dP1yYtqk0wJ8";

fn hasher() -> Result<Argon2<'static>, CryptoError> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).map_err(|_| CryptoError)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password with a fresh salt. CPU-heavy: runs on the blocking pool.
pub async fn hash(password: &str) -> Result<String, CryptoError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|_| CryptoError)?
}

fn hash_now(password: &str) -> Result<String, CryptoError> {
    let mut salt_bytes = [0u8; 16];
    super::random::fill_random(&mut salt_bytes)?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|_| CryptoError)?;
    let phc = hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|_| CryptoError)?;
    Ok(phc.to_string())
}

/// Checks a password against a stored PHC string, or against the dummy hash when there is no
/// account, so both cost one argon2 verification.
pub async fn verify(stored: Option<&str>, password: &str) -> Result<bool, CryptoError> {
    let found = stored.is_some();
    let stored = stored.unwrap_or(DUMMY_HASH).to_owned();
    let password = password.to_owned();
    let matches = tokio::task::spawn_blocking(move || verify_now(&stored, &password))
        .await
        .map_err(|_| CryptoError)??;
    Ok(found && matches)
}

fn verify_now(stored: &str, password: &str) -> Result<bool, CryptoError> {
    let parsed = PasswordHash::new(stored).map_err(|_| {
        tracing::error!("a stored password hash is not a valid PHC string");
        CryptoError
    })?;
    // The parameters come from the PHC string, so hashes made under an older policy still verify.
    Ok(Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

/// Whether a stored hash was made with weaker parameters than the current policy, so that a
/// successful sign-in should store a fresh one.
pub fn needs_rehash(stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return true;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return true;
    };
    parsed.algorithm.as_str() != "argon2id"
        || params.m_cost() < MEMORY_KIB
        || params.t_cost() < ITERATIONS
        || params.p_cost() < PARALLELISM
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery").await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(Some(&stored), "correct horse battery")
            .await
            .unwrap());
        assert!(!verify(Some(&stored), "correct horse batterY")
            .await
            .unwrap());
        assert!(!needs_rehash(&stored));
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        assert!(!verify(None, "anything at all").await.unwrap());
    }

    #[test]
    fn the_dummy_hash_uses_the_policy_parameters() {
        assert!(!needs_rehash(DUMMY_HASH));
        assert!(verify_now(DUMMY_HASH, "x").is_ok());
    }

    #[test]
    fn weaker_hashes_are_marked_for_upgrade() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4096, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw", &SaltString::encode_b64(b"0123456789abcdef").unwrap())
        .unwrap()
        .to_string();
        assert!(needs_rehash(&weak));
        assert!(verify_now(&weak, "pw").unwrap());
    }
}
