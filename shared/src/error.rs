//! The one error type of the service and its single mapping to the HTTP contract.
//!
//! Every outcome a client can see is a variant here; `status`, `code` and `message` are the only
//! place where a variant becomes an HTTP status and API.md's error body. Internal details never
//! reach a client: they are logged (without secrets) where the failure is first understood.

use lambda_http::{Body, Response};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
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

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::InvalidRequest(_) => 400,
            ApiError::Unauthorized
            | ApiError::InvalidCredentials
            | ApiError::InvalidCode
            | ApiError::MfaTokenInvalid => 401,
            ApiError::InvalidPassword | ApiError::SessionRequired => 403,
            ApiError::NotFound => 404,
            ApiError::MethodNotAllowed => 405,
            ApiError::LoginTaken
            | ApiError::TwoFactorAlreadyEnabled
            | ApiError::TwoFactorNotEnabled
            | ApiError::SetupNotStarted
            | ApiError::TokenLimitReached => 409,
            ApiError::PayloadTooLarge => 413,
            ApiError::TooManyAttempts { .. } => 429,
            ApiError::Internal => 500,
            ApiError::ServiceUnavailable => 503,
        }
    }

    /// The stable, machine-readable `error` code of API.md.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::InvalidCode => "invalid_code",
            ApiError::MfaTokenInvalid => "mfa_token_invalid",
            ApiError::InvalidPassword => "invalid_password",
            ApiError::SessionRequired => "session_required",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::LoginTaken => "login_taken",
            ApiError::TwoFactorAlreadyEnabled => "two_factor_already_enabled",
            ApiError::TwoFactorNotEnabled => "two_factor_not_enabled",
            ApiError::SetupNotStarted => "setup_not_started",
            ApiError::TokenLimitReached => "token_limit_reached",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::TooManyAttempts { .. } => "too_many_attempts",
            ApiError::ServiceUnavailable => "service_unavailable",
            ApiError::Internal => "internal_error",
        }
    }

    /// The sentence for people. Never holds internals.
    pub fn message(&self) -> String {
        let text = match self {
            ApiError::InvalidRequest(detail) => return detail.clone(),
            ApiError::Unauthorized => "A valid bearer token is required.",
            ApiError::InvalidCredentials => "The login or password is not correct.",
            ApiError::InvalidCode => "The code is not valid or has already been used.",
            ApiError::MfaTokenInvalid => {
                "The sign-in attempt has expired or is no longer valid; sign in again."
            }
            ApiError::InvalidPassword => "The password is not correct.",
            ApiError::SessionRequired => {
                "This operation needs a signed-in session, not a personal access token."
            }
            ApiError::NotFound => "Nothing exists at this address.",
            ApiError::MethodNotAllowed => "This method is not allowed on this route.",
            ApiError::LoginTaken => "An account with this login already exists.",
            ApiError::TwoFactorAlreadyEnabled => "Two-factor authentication is already enabled.",
            ApiError::TwoFactorNotEnabled => "Two-factor authentication is not enabled.",
            ApiError::SetupNotStarted => {
                "There is no two-factor setup in progress; start the setup again."
            }
            ApiError::TokenLimitReached => {
                "The account holds 100 live personal access tokens; revoke one first."
            }
            ApiError::PayloadTooLarge => "The request body is larger than 16 KiB.",
            ApiError::TooManyAttempts { retry_after } => {
                return format!("Too many failed attempts; try again in {retry_after} seconds.")
            }
            ApiError::ServiceUnavailable => {
                "The service is temporarily unavailable; nothing was changed. Try again shortly."
            }
            ApiError::Internal => "An internal error occurred.",
        };
        text.to_string()
    }

    /// The response of API.md's error shape, with its status and headers.
    pub fn to_response(&self) -> Response<Body> {
        let body = json!({ "error": self.code(), "message": self.message() });
        let mut response = crate::http::json_response(self.status(), &body);
        if let ApiError::TooManyAttempts { retry_after } = self {
            if let Ok(value) = lambda_http::http::HeaderValue::from_str(&retry_after.to_string()) {
                response.headers_mut().insert("retry-after", value);
            }
        }
        response
    }

    /// Whether this is a failure of the service rather than an answer to the client.
    pub fn is_server_error(&self) -> bool {
        self.status() >= 500
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(response: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(response.body().as_ref()).unwrap()
    }

    #[test]
    fn every_error_maps_to_the_status_and_code_of_the_contract() {
        let table = [
            (
                ApiError::InvalidRequest("The field `login` is required.".into()),
                400,
                "invalid_request",
            ),
            (ApiError::Unauthorized, 401, "unauthorized"),
            (ApiError::InvalidCredentials, 401, "invalid_credentials"),
            (ApiError::InvalidCode, 401, "invalid_code"),
            (ApiError::MfaTokenInvalid, 401, "mfa_token_invalid"),
            (ApiError::InvalidPassword, 403, "invalid_password"),
            (ApiError::SessionRequired, 403, "session_required"),
            (ApiError::NotFound, 404, "not_found"),
            (ApiError::MethodNotAllowed, 405, "method_not_allowed"),
            (ApiError::LoginTaken, 409, "login_taken"),
            (
                ApiError::TwoFactorAlreadyEnabled,
                409,
                "two_factor_already_enabled",
            ),
            (ApiError::TwoFactorNotEnabled, 409, "two_factor_not_enabled"),
            (ApiError::SetupNotStarted, 409, "setup_not_started"),
            (ApiError::TokenLimitReached, 409, "token_limit_reached"),
            (ApiError::PayloadTooLarge, 413, "payload_too_large"),
            (
                ApiError::TooManyAttempts { retry_after: 30 },
                429,
                "too_many_attempts",
            ),
            (ApiError::ServiceUnavailable, 503, "service_unavailable"),
            (ApiError::Internal, 500, "internal_error"),
        ];
        for (error, status, code) in table {
            let response = error.to_response();
            assert_eq!(response.status().as_u16(), status, "{error:?}");
            let body = body_of(&response);
            assert_eq!(body["error"], code, "{error:?}");
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
            assert_eq!(body.as_object().unwrap().len(), 2, "only error and message");
            assert_eq!(response.headers()["cache-control"], "no-store");
            assert_eq!(response.headers()["content-type"], "application/json");
        }
    }

    #[test]
    fn throttling_says_when_to_come_back() {
        let response = ApiError::TooManyAttempts { retry_after: 60 }.to_response();
        assert_eq!(response.headers()["retry-after"], "60");
        assert!(body_of(&response)["message"]
            .as_str()
            .unwrap()
            .contains("60 seconds"));
    }
}
