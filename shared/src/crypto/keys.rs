//! Secrets at rest. A master key lives in Secrets Manager; a key for each purpose is derived from
//! it with HKDF-SHA256. TOTP secrets and viewable recovery codes are sealed with AES-256-GCM, bound
//! to their account (and purpose) as associated data; recovery codes are found by HMAC-SHA256.

use super::CryptoError;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::BTreeMap;

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
struct VersionKeys {
    seal: Aes256Gcm,
    recovery_lookup: [u8; 32],
}

impl VersionKeys {
    fn derive(master: &[u8]) -> Result<VersionKeys, CryptoError> {
        if master.len() < 32 {
            tracing::error!("a master key is shorter than 256 bits");
            return Err(CryptoError);
        }
        let hkdf = Hkdf::<Sha256>::new(Some(b"ward/v1"), master);
        let mut seal_key = [0u8; 32];
        let mut recovery_lookup = [0u8; 32];
        hkdf.expand(b"seal", &mut seal_key)
            .map_err(|_| CryptoError)?;
        hkdf.expand(b"recovery-lookup", &mut recovery_lookup)
            .map_err(|_| CryptoError)?;
        let seal = Aes256Gcm::new_from_slice(&seal_key).map_err(|_| CryptoError)?;
        Ok(VersionKeys {
            seal,
            recovery_lookup,
        })
    }
}

/// The key ring: master key versions (1 to 255), one of them current. New values are sealed, and
/// new recovery codes keyed, with the current version; a value of an older version opens with its
/// own, and is sealed again with the current one when it is next written.
///
/// The key secret holds either one key (a plain string, as the template generates it: version 1)
/// or a ring as JSON: `{"current": 2, "keys": {"1": "<old>", "2": "<new>"}}`.
pub struct Keys {
    current: u8,
    versions: BTreeMap<u8, VersionKeys>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "Keys(current {}, {} versions)",
            self.current,
            self.versions.len()
        )
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Ring {
    current: u8,
    keys: BTreeMap<u8, String>,
}

impl Keys {
    /// A ring of one key, version 1.
    pub fn derive(master: &[u8]) -> Result<Keys, CryptoError> {
        Ok(Keys {
            current: 1,
            versions: BTreeMap::from([(1, VersionKeys::derive(master)?)]),
        })
    }

    /// The ring the key secret holds (see the type's documentation).
    pub fn from_secret(text: &str) -> Result<Keys, CryptoError> {
        if !text.trim_start().starts_with('{') {
            return Keys::derive(text.as_bytes());
        }
        let ring: Ring = serde_json::from_str(text).map_err(|_| {
            tracing::error!("the key secret is not a key ring ({{\"current\", \"keys\"}})");
            CryptoError
        })?;
        let mut versions = BTreeMap::new();
        for (version, material) in &ring.keys {
            if *version == 0 {
                tracing::error!("key versions start at 1");
                return Err(CryptoError);
            }
            versions.insert(*version, VersionKeys::derive(material.as_bytes())?);
        }
        if !versions.contains_key(&ring.current) {
            tracing::error!(
                current = ring.current,
                "the current key version is not in the ring"
            );
            return Err(CryptoError);
        }
        Ok(Keys {
            current: ring.current,
            versions,
        })
    }

    fn version(&self, version: u8) -> Result<&VersionKeys, CryptoError> {
        self.versions.get(&version).ok_or_else(|| {
            tracing::error!(
                version,
                "a value is sealed with a key version the ring lacks"
            );
            CryptoError
        })
    }

    fn associated_data(kind: Sealed, account_id: &str) -> Vec<u8> {
        format!("{}|{account_id}", kind.label()).into_bytes()
    }

    /// `version || nonce || ciphertext+tag`, with the current version, bound to the account and
    /// purpose.
    pub fn seal(
        &self,
        kind: Sealed,
        account_id: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let nonce = super::random::random_bytes::<NONCE_BYTES>()?;
        let aad = Keys::associated_data(kind, account_id);
        let ciphertext = self
            .version(self.current)?
            .seal
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError)?;
        let mut sealed = Vec::with_capacity(1 + NONCE_BYTES + ciphertext.len());
        sealed.push(self.current);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Opens a value sealed with any version of the ring.
    pub fn open(
        &self,
        kind: Sealed,
        account_id: &str,
        sealed: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let fail = || {
            tracing::error!(
                account_id,
                purpose = kind.label(),
                "a sealed value does not open"
            );
            CryptoError
        };
        if sealed.len() < 1 + NONCE_BYTES + 16 {
            return Err(fail());
        }
        let aad = Keys::associated_data(kind, account_id);
        self.version(sealed[0])?
            .seal
            .decrypt(
                Nonce::from_slice(&sealed[1..1 + NONCE_BYTES]),
                Payload {
                    msg: &sealed[1 + NONCE_BYTES..],
                    aad: &aad,
                },
            )
            .map_err(|_| fail())
    }

    /// Whether a sealed value is of the current version (else it is sealed again when written).
    pub fn is_current(&self, sealed: &[u8]) -> bool {
        sealed.first() == Some(&self.current)
    }

    /// The keyed hash that identifies a normalised recovery code of an account, with the current
    /// version: `<version>:<hex>`.
    pub fn recovery_code_id(&self, account_id: &str, normalised_code: &str) -> String {
        self.recovery_code_id_with(self.current, account_id, normalised_code)
            .unwrap_or_default()
    }

    /// The keyed hash of a code under the version of `like`, an id of the same set (an id without
    /// a version, from before the ring, is of version 1).
    pub fn recovery_code_id_like(
        &self,
        like: &str,
        account_id: &str,
        normalised_code: &str,
    ) -> Result<String, CryptoError> {
        self.recovery_code_id_with(id_version(like), account_id, normalised_code)
    }

    /// Whether an id is of the current version.
    pub fn id_is_current(&self, id: &str) -> bool {
        id_version(id) == self.current
    }

    fn recovery_code_id_with(
        &self,
        version: u8,
        account_id: &str,
        normalised_code: &str,
    ) -> Result<String, CryptoError> {
        let keys = self.version(version)?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&keys.recovery_lookup)
            .map_err(|_| CryptoError)?;
        mac.update(account_id.as_bytes());
        mac.update(b"|");
        mac.update(normalised_code.as_bytes());
        let hex = super::random::hex(&mac.finalize().into_bytes());
        // Ids from before the ring carry no version; version 1 keeps that form, so they still match.
        Ok(if version == 1 {
            hex
        } else {
            format!("{version}:{hex}")
        })
    }
}

/// The key version of a recovery code id.
fn id_version(id: &str) -> u8 {
    id.split_once(':')
        .and_then(|(version, _)| version.parse().ok())
        .unwrap_or(1)
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
        assert_eq!(sealed[0], 1);
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
        assert_eq!(
            id.len(),
            64,
            "version 1 keeps the form of ids from before the ring"
        );
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

    #[test]
    fn a_ring_seals_with_its_current_version_and_opens_every_version() {
        let old = Keys::from_secret("0123456789abcdef0123456789abcdef-old-master").unwrap();
        let sealed_old = old.seal(Sealed::TotpSecret, "a", b"secret").unwrap();
        let old_id = old.recovery_code_id("a", "abcdabcdabcdabcd");
        let ring = Keys::from_secret(
            r#"{"current": 2, "keys": {"1": "0123456789abcdef0123456789abcdef-old-master",
                                       "2": "fedcba9876543210fedcba9876543210-new-master"}}"#,
        )
        .unwrap();
        assert_eq!(
            ring.open(Sealed::TotpSecret, "a", &sealed_old).unwrap(),
            b"secret"
        );
        assert!(!ring.is_current(&sealed_old));
        let sealed_new = ring.seal(Sealed::TotpSecret, "a", b"secret").unwrap();
        assert_eq!(sealed_new[0], 2);
        assert!(ring.is_current(&sealed_new));
        assert!(
            old.open(Sealed::TotpSecret, "a", &sealed_new).is_err(),
            "v2 is unknown to the old ring"
        );
        assert_eq!(
            ring.recovery_code_id_like(&old_id, "a", "abcdabcdabcdabcd")
                .unwrap(),
            old_id
        );
        let new_id = ring.recovery_code_id("a", "abcdabcdabcdabcd");
        assert!(new_id.starts_with("2:") && new_id != old_id && ring.id_is_current(&new_id));
        assert!(!ring.id_is_current(&old_id));
    }

    #[test]
    fn a_ring_without_its_current_version_or_with_short_keys_is_refused() {
        assert!(Keys::from_secret(
            r#"{"current": 3, "keys": {"1": "0123456789abcdef0123456789abcdef"}}"#
        )
        .is_err());
        assert!(Keys::from_secret(r#"{"current": 1, "keys": {"1": "short"}}"#).is_err());
        assert!(Keys::from_secret(r#"{"current": 1}"#).is_err());
    }
}
