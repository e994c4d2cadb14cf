//! Password hashing: argon2id at OWASP's minimum (m=19456 KiB, t=2, p=1), stored as PHC strings.

use super::CryptoError;
use argon2::password_hash::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use subtle::ConstantTimeEq;

pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;
const OUTPUT_BYTES: usize = 32;
const SALT_BYTES: usize = 16;

/// A hash of a password nobody knows, made with the policy's parameters. Verifying it costs what
/// verifying a real account's hash costs, so an unknown login answers no faster than a wrong
/// password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$gJ4yRQR2kqwXxJ6ZdUjQbA$Nq6oLw4vmHj1t8mO7eU1ZpIzjfSy3v9dP1yYtqk0wJ8";

/// argon2's working memory (19 MiB at the policy's parameters), kept between hashes and reused.
/// Asked of the allocator afresh for every hash, it stayed behind in glibc's per-thread arenas:
/// a warm sign-in function grew to 120 MiB of resident memory, past what a 128 MB Lambda has.
/// One buffer a hash running at once; a Lambda instance runs one at a time.
static MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

fn with_memory<T>(blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    with_memory_of(&MEMORY, blocks, work)
}

fn with_memory_of<T>(
    pool: &Mutex<Vec<Vec<Block>>>,
    blocks: usize,
    work: impl FnOnce(&mut [Block]) -> T,
) -> T {
    let held = pool.lock().unwrap_or_else(PoisonError::into_inner).pop();
    let mut memory = match held {
        Some(memory) if memory.len() >= blocks => memory,
        _ => vec![Block::default(); blocks],
    };
    let result = work(&mut memory[..blocks]);
    pool.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(memory);
    result
}

/// argon2 of `password` and `salt` into `out`, on the held working memory.
fn compute(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &str,
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    with_memory(blocks, |memory| {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt, out, memory)
    })
    .map_err(|_| CryptoError)
}

/// Hashes a password with a fresh salt. CPU-heavy: runs on the blocking pool.
pub async fn hash(password: &str) -> Result<String, CryptoError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|_| CryptoError)?
}

/// The PHC string of a fresh hash: `$argon2id$v=19$m=..,t=..,p=..$<salt>$<hash>`.
fn hash_now(password: &str) -> Result<String, CryptoError> {
    let mut salt = [0u8; SALT_BYTES];
    super::random::fill_random(&mut salt)?;
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, Some(OUTPUT_BYTES))
        .map_err(|_| CryptoError)?;
    let mut out = [0u8; OUTPUT_BYTES];
    compute(
        Algorithm::Argon2id,
        Version::V0x13,
        params,
        password,
        &salt,
        &mut out,
    )?;
    Ok(format!(
        "$argon2id$v=19$m={MEMORY_KIB},t={ITERATIONS},p={PARALLELISM}${}${}",
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(out)
    ))
}

/// Password verifications computed in full by this process, the dummy's among them.
static VERIFICATIONS: AtomicU64 = AtomicU64::new(0);

/// How many password verifications this process has computed in full: a check that an unknown
/// login costs what a known one does, which the timing can only suggest.
pub fn verifications() -> u64 {
    VERIFICATIONS.load(Ordering::Relaxed)
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
    fn invalid<E>(_: E) -> CryptoError {
        tracing::error!("a stored password hash is not a valid argon2 PHC string");
        CryptoError
    }
    let parsed = PasswordHash::new(stored).map_err(invalid)?;
    // The parameters come from the PHC string, so hashes made under an older policy still verify.
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(invalid)?;
    let version = match parsed.version {
        Some(version) => Version::try_from(version).map_err(invalid)?,
        None => Version::V0x13,
    };
    let params = Params::try_from(&parsed).map_err(invalid)?;
    let mut salt = [0u8; 64];
    let salt = parsed
        .salt
        .ok_or_else(|| invalid(()))?
        .decode_b64(&mut salt)
        .map_err(invalid)?;
    let expected = parsed.hash.ok_or_else(|| invalid(()))?;
    let mut out = vec![0u8; expected.len()];
    compute(algorithm, version, params, password, salt, &mut out)?;
    VERIFICATIONS.fetch_add(1, Ordering::Relaxed);
    Ok(bool::from(out.as_slice().ct_eq(expected.as_bytes())))
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
    use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};

    #[tokio::test]
    async fn hashes_are_standard_argon2id_phc_strings_both_ways() {
        // Ours verifies with the argon2 crate's own verifier ...
        let ours = hash("correct horse battery").await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse battery", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"correct horse batterY", &parsed)
            .is_err());
        // ... and one the argon2 crate made verifies with ours.
        let theirs = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).unwrap(),
        )
        .hash_password(b"pw", &SaltString::encode_b64(b"0123456789abcdef").unwrap())
        .unwrap()
        .to_string();
        assert!(verify_now(&theirs, "pw").unwrap());
        assert!(!verify_now(&theirs, "pW").unwrap());
    }

    #[test]
    fn the_working_memory_is_reused() {
        let pool = Mutex::new(Vec::new());
        let blocks = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
            .unwrap()
            .block_count();
        let first = with_memory_of(&pool, blocks, |memory| memory.as_ptr());
        let second = with_memory_of(&pool, blocks, |memory| memory.as_ptr());
        assert_eq!(first, second);
        assert_eq!(pool.lock().unwrap().len(), 1);
        // A smaller policy's hash takes the same buffer; a larger one gets a buffer of its own.
        let third = with_memory_of(&pool, blocks / 2, |memory| memory.as_ptr());
        assert_eq!(first, third);
    }

    #[test]
    fn a_malformed_stored_hash_is_an_error_not_a_match() {
        assert!(verify_now("not a phc string", "x").is_err());
        assert!(verify_now("$argon2id$v=19$m=19456,t=2,p=1$", "x").is_err());
    }

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
