//! The one mapping of the domain's refusals and failures to the HTTP contract: `status`, `code`
//! and `message` are the only place where a variant becomes an HTTP status and API.md's error
//! body.

use crate::domain::Error;
use serde_json::json;

pub fn status(error: &Error) -> u16 {
    match error {
        Error::InvalidRequest(_) => 400,
        Error::Unauthorized
        | Error::InvalidCredentials
        | Error::InvalidCode
        | Error::MfaTokenInvalid => 401,
        Error::InvalidPassword | Error::SessionRequired => 403,
        Error::NotFound => 404,
        Error::MethodNotAllowed => 405,
        Error::LoginTaken
        | Error::TwoFactorAlreadyEnabled
        | Error::TwoFactorNotEnabled
        | Error::SetupNotStarted
        | Error::TokenLimitReached => 409,
        Error::PayloadTooLarge => 413,
        Error::TooManyAttempts { .. } => 429,
        Error::Internal => 500,
        Error::ServiceUnavailable => 503,
    }
}

/// The stable, machine-readable `error` code of API.md.
pub fn code(error: &Error) -> &'static str {
    match error {
        Error::InvalidRequest(_) => "invalid_request",
        Error::Unauthorized => "unauthorized",
        Error::InvalidCredentials => "invalid_credentials",
        Error::InvalidCode => "invalid_code",
        Error::MfaTokenInvalid => "mfa_token_invalid",
        Error::InvalidPassword => "invalid_password",
        Error::SessionRequired => "session_required",
        Error::NotFound => "not_found",
        Error::MethodNotAllowed => "method_not_allowed",
        Error::LoginTaken => "login_taken",
        Error::TwoFactorAlreadyEnabled => "two_factor_already_enabled",
        Error::TwoFactorNotEnabled => "two_factor_not_enabled",
        Error::SetupNotStarted => "setup_not_started",
        Error::TokenLimitReached => "token_limit_reached",
        Error::PayloadTooLarge => "payload_too_large",
        Error::TooManyAttempts { .. } => "too_many_attempts",
        Error::ServiceUnavailable => "service_unavailable",
        Error::Internal => "internal_error",
    }
}

/// The sentence for people. Never holds internals.
pub fn message(error: &Error) -> String {
    let text = match error {
        Error::InvalidRequest(detail) => return detail.clone(),
        Error::Unauthorized => "A valid bearer token is required.",
        Error::InvalidCredentials => "The login or password is not correct.",
        Error::InvalidCode => "The code is not valid or has already been used.",
        Error::MfaTokenInvalid => {
            "The sign-in attempt has expired or is no longer valid; sign in again."
        }
        Error::InvalidPassword => "The password is not correct.",
        Error::SessionRequired => {
            "This operation needs a signed-in session, not a personal access token."
        }
        Error::NotFound => "Nothing exists at this address.",
        Error::MethodNotAllowed => "This method is not allowed on this route.",
        Error::LoginTaken => "An account with this login already exists.",
        Error::TwoFactorAlreadyEnabled => "Two-factor authentication is already enabled.",
        Error::TwoFactorNotEnabled => "Two-factor authentication is not enabled.",
        Error::SetupNotStarted => {
            "There is no two-factor setup in progress; start the setup again."
        }
        Error::TokenLimitReached => {
            "The account holds 100 live personal access tokens; revoke one first."
        }
        Error::PayloadTooLarge => "The request body is larger than 16 KiB.",
        Error::TooManyAttempts { retry_after } => {
            return format!("Too many failed attempts; try again in {retry_after} seconds.")
        }
        Error::ServiceUnavailable => {
            "The service is temporarily unavailable; nothing was changed. Try again shortly."
        }
        Error::Internal => "An internal error occurred.",
    };
    text.to_string()
}

/// API.md's error body.
pub fn body(error: &Error) -> serde_json::Value {
    json!({ "error": code(error), "message": message(error) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::response::error_response as response;
    use lambda_http::{Body, Response};

    fn body_of(response: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(response.body().as_ref()).unwrap()
    }

    #[test]
    fn every_error_maps_to_the_status_and_code_of_the_contract() {
        let table = [
            (
                Error::InvalidRequest("The field `login` is required.".into()),
                400,
                "invalid_request",
            ),
            (Error::Unauthorized, 401, "unauthorized"),
            (Error::InvalidCredentials, 401, "invalid_credentials"),
            (Error::InvalidCode, 401, "invalid_code"),
            (Error::MfaTokenInvalid, 401, "mfa_token_invalid"),
            (Error::InvalidPassword, 403, "invalid_password"),
            (Error::SessionRequired, 403, "session_required"),
            (Error::NotFound, 404, "not_found"),
            (Error::MethodNotAllowed, 405, "method_not_allowed"),
            (Error::LoginTaken, 409, "login_taken"),
            (
                Error::TwoFactorAlreadyEnabled,
                409,
                "two_factor_already_enabled",
            ),
            (Error::TwoFactorNotEnabled, 409, "two_factor_not_enabled"),
            (Error::SetupNotStarted, 409, "setup_not_started"),
            (Error::TokenLimitReached, 409, "token_limit_reached"),
            (Error::PayloadTooLarge, 413, "payload_too_large"),
            (
                Error::TooManyAttempts { retry_after: 30 },
                429,
                "too_many_attempts",
            ),
            (Error::ServiceUnavailable, 503, "service_unavailable"),
            (Error::Internal, 500, "internal_error"),
        ];
        for (error, status, code) in table {
            let response = response(&error);
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
        let response = response(&Error::TooManyAttempts { retry_after: 60 });
        assert_eq!(response.headers()["retry-after"], "60");
        assert!(body_of(&response)["message"]
            .as_str()
            .unwrap()
            .contains("60 seconds"));
    }
}
