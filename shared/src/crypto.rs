//! Secrets at rest. A master key lives in Secrets Manager; a key for each purpose is derived from
//! it with HKDF-SHA256. TOTP secrets and viewable recovery codes are sealed with AES-256-GCM, bound
//! to their account (and purpose) as associated data; recovery codes are found by HMAC-SHA256.

use crate::error::ApiError;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The version byte leading every sealed value, so keys can be rotated without ambiguity.
const KEY_VERSION: u8 = 1;
const NONCE_BYTES: usize = 12;

/// What a sealed value is, so a value sealed for one purpose never opens as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealed {
    TotpSecret,
    RecoveryCodes,
}

impl Sealed {
    fn label(self) -> &'static str {
        match self {
            Sealed::TotpSecret => "totp-secret",
            Sealed::RecoveryCodes => "recovery-codes",
        }
    }
}

/// The purpose keys of one master key version.
pub struct Keys {
    seal: Aes256Gcm,
    recovery_lookup: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Keys(..)")
    }
}

impl Keys {
    /// Derives the purpose keys from the master key material.
    pub fn derive(master: &[u8]) -> Result<Keys, ApiError> {
        if master.len() < 32 {
            tracing::error!("the master key is shorter than 256 bits");
            return Err(ApiError::Internal);
        }
        let hkdf = Hkdf::<Sha256>::new(Some(b"ward/v1"), master);
        let mut seal_key = [0u8; 32];
        let mut recovery_lookup = [0u8; 32];
        hkdf.expand(b"seal", &mut seal_key)
            .map_err(|_| ApiError::Internal)?;
        hkdf.expand(b"recovery-lookup", &mut recovery_lookup)
            .map_err(|_| ApiError::Internal)?;
        let seal = Aes256Gcm::new_from_slice(&seal_key).map_err(|_| ApiError::Internal)?;
        Ok(Keys {
            seal,
            recovery_lookup,
        })
    }

    fn associated_data(kind: Sealed, account_id: &str) -> Vec<u8> {
        format!("{}|{account_id}", kind.label()).into_bytes()
    }

    /// `version || nonce || ciphertext+tag`, bound to the account and purpose.
    pub fn seal(
        &self,
        kind: Sealed,
        account_id: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, ApiError> {
        let nonce = crate::token::random_bytes::<NONCE_BYTES>()?;
        let aad = Keys::associated_data(kind, account_id);
        let ciphertext = self
            .seal
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| ApiError::Internal)?;
        let mut sealed = Vec::with_capacity(1 + NONCE_BYTES + ciphertext.len());
        sealed.push(KEY_VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    pub fn open(&self, kind: Sealed, account_id: &str, sealed: &[u8]) -> Result<Vec<u8>, ApiError> {
        let fail = || {
            tracing::error!(
                account_id,
                purpose = kind.label(),
                "a sealed value does not open"
            );
            ApiError::Internal
        };
        if sealed.len() < 1 + NONCE_BYTES + 16 || sealed[0] != KEY_VERSION {
            return Err(fail());
        }
        let aad = Keys::associated_data(kind, account_id);
        self.seal
            .decrypt(
                Nonce::from_slice(&sealed[1..1 + NONCE_BYTES]),
                Payload {
                    msg: &sealed[1 + NONCE_BYTES..],
                    aad: &aad,
                },
            )
            .map_err(|_| fail())
    }

    /// The keyed hash that identifies a normalised recovery code of an account.
    pub fn recovery_code_id(&self, account_id: &str, normalised_code: &str) -> String {
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(&self.recovery_lookup) {
            Ok(mac) => mac,
            // HMAC takes keys of any length; this arm is unreachable.
            Err(_) => return String::new(),
        };
        mac.update(account_id.as_bytes());
        mac.update(b"|");
        mac.update(normalised_code.as_bytes());
        crate::token::hex(&mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::derive(b"0123456789abcdef0123456789abcdef-test-master").unwrap()
    }

    #[test]
    fn sealed_values_open_only_for_their_account_and_purpose() {
        let keys = keys();
        let sealed = keys
            .seal(Sealed::TotpSecret, "account-a", b"JBSWY3DPEHPK3PXP")
            .unwrap();
        assert_eq!(sealed[0], KEY_VERSION);
        assert!(!sealed.windows(16).any(|w| w == b"JBSWY3DPEHPK3PXP"));
        assert_eq!(
            keys.open(Sealed::TotpSecret, "account-a", &sealed).unwrap(),
            b"JBSWY3DPEHPK3PXP"
        );
        assert!(keys.open(Sealed::TotpSecret, "account-b", &sealed).is_err());
        assert!(keys
            .open(Sealed::RecoveryCodes, "account-a", &sealed)
            .is_err());
        let mut tampered = sealed.clone();
        tampered[20] ^= 1;
        assert!(keys
            .open(Sealed::TotpSecret, "account-a", &tampered)
            .is_err());
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let keys = keys();
        let first = keys.seal(Sealed::TotpSecret, "a", b"same").unwrap();
        let second = keys.seal(Sealed::TotpSecret, "a", b"same").unwrap();
        assert_ne!(first, second);
    }

    #[test]
    fn recovery_code_ids_depend_on_key_account_and_code() {
        let keys = keys();
        let id = keys.recovery_code_id("a", "abcdabcdabcdabcd");
        assert_eq!(id.len(), 64);
        assert_eq!(id, keys.recovery_code_id("a", "abcdabcdabcdabcd"));
        assert_ne!(id, keys.recovery_code_id("b", "abcdabcdabcdabcd"));
        assert_ne!(id, keys.recovery_code_id("a", "abcdabcdabcdabce"));
        let other = Keys::derive(b"another master key of enough length!!").unwrap();
        assert_ne!(id, other.recovery_code_id("a", "abcdabcdabcdabcd"));
    }

    #[test]
    fn a_short_master_key_is_refused() {
        assert!(Keys::derive(b"short").is_err());
    }
}
