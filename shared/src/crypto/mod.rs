//! Cryptography, depending on nothing else of the crate: the key ring and sealing (`keys`),
//! password hashing (`password`), authenticator codes (`totp`) and random values and digests
//! (`random`). Failures carry no detail a client could see; each is logged where it happens.

pub mod keys;
pub mod password;
pub mod random;
pub mod totp;

pub use keys::{Keys, Sealed};

/// A cryptographic operation failed: a broken key ring, a value that does not open, the
/// operating system's generator. Always a fault of the service, never of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a cryptographic operation failed")]
pub struct CryptoError;
