//! Every refusal and failure a client can see, as the domain names it. `http::error` is the one
//! place where a variant becomes a status and the contract's error body. Internal details never
//! reach a client: they are logged (without secrets) where the failure is first understood.

use crate::crypto::CryptoError;

/// Why a storage call failed. Details are logged where the failure is classified, never returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The database could not be reached or asked us to slow down: nothing was changed.
    #[error("database unavailable")]
    Unavailable,
    /// Anything else: a bug, or an item that does not parse.
    #[error("database error")]
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Malformed JSON, a missing or wrongly typed field, a value out of range. The message names
    /// the field and is shown to the client, so it never echoes a value.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("unauthorized")]
    Unauthorized,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("invalid code")]
    InvalidCode,
    #[error("mfa token invalid")]
    MfaTokenInvalid,
    #[error("invalid password")]
    InvalidPassword,
    #[error("session required")]
    SessionRequired,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("login taken")]
    LoginTaken,
    #[error("two-factor already enabled")]
    TwoFactorAlreadyEnabled,
    #[error("two-factor not enabled")]
    TwoFactorNotEnabled,
    #[error("setup not started")]
    SetupNotStarted,
    #[error("token limit reached")]
    TokenLimitReached,
    #[error("payload too large")]
    PayloadTooLarge,
    /// Throttled; the client may try again after this many seconds.
    #[error("too many attempts, retry after {retry_after} s")]
    TooManyAttempts { retry_after: u64 },
    /// The database or the key store cannot be reached; nothing was changed.
    #[error("service unavailable")]
    ServiceUnavailable,
    #[error("internal error")]
    Internal,
}

impl From<StorageError> for Error {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::Unavailable => Error::ServiceUnavailable,
            StorageError::Internal => Error::Internal,
        }
    }
}

impl From<CryptoError> for Error {
    fn from(_: CryptoError) -> Self {
        Error::Internal
    }
}
