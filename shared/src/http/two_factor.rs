//! Two-factor authentication: `POST /v1/two-factor/setup`, `.../setup/verify`,
//! `POST /v1/sign-in/verify` (Verify2FACode), `.../recovery-codes/view`,
//! `.../recovery-codes/regenerate`, `POST /v1/two-factor/disable`.

use super::request::{origin_of, parse_json, password_confirmed, session_of};
use super::response::{serve, Complete, Reply, Route};
use crate::domain::second_factor::{self, SecondFactor};
use crate::domain::{recovery, two_factor, Error as Refusal, Now};
use crate::App;
use lambda_http::{Error, Request};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct SetupAnswer {
    secret: String,
    otpauth_uri: String,
    qr_png: String,
    expires_in: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeConfirmation {
    code: String,
}

#[derive(Serialize)]
struct EnabledAnswer {
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    recovery_codes: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecondFactorBody {
    mfa_token: String,
    code: Option<String>,
    recovery_code: Option<String>,
}

#[derive(Serialize)]
struct VerifiedAnswer {
    status: &'static str,
    session_token: String,
    expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    recovery_codes_remaining: Option<usize>,
}

#[derive(Serialize)]
struct RecoveryCodeView {
    code: String,
    used: bool,
}

#[derive(Serialize)]
struct CodesView {
    recovery_codes: Vec<RecoveryCodeView>,
    remaining: usize,
}

#[derive(Serialize)]
struct NewCodes {
    recovery_codes: Vec<String>,
}

/// `POST /v1/two-factor/setup`
pub async fn setup(app: &App, request: Request) -> Result<Complete, Error> {
    serve(&request, Route::post("setup"), async {
        let now = Now::current();
        let (principal, password) = password_confirmed(app, &request, now).await?;
        let keys = app.keys().await?;
        let pending = two_factor::start_setup(
            &app.store,
            &keys,
            &app.config.totp_issuer,
            &principal,
            &password,
            &origin_of(&request),
            now,
        )
        .await?;
        Reply::ok(&SetupAnswer {
            secret: pending.secret,
            otpauth_uri: pending.otpauth_uri,
            qr_png: pending.qr_png,
            expires_in: pending.expires_in,
        })
    })
    .await
}

/// `POST /v1/two-factor/setup/verify`
pub async fn setup_verify(app: &App, request: Request) -> Result<Complete, Error> {
    serve(&request, Route::post("setup-verify"), async {
        let now = Now::current();
        let principal = session_of(app, &request, now).await?;
        let body: CodeConfirmation = parse_json(&request)?;
        let keys = app.keys().await?;
        let codes = two_factor::confirm_setup(
            &app.store,
            &keys,
            &principal,
            &body.code,
            &origin_of(&request),
            now,
        )
        .await?;
        Reply::ok(&EnabledAnswer {
            enabled: true,
            recovery_codes: Some(codes),
        })
    })
    .await
}

/// `POST /v1/sign-in/verify` (Verify2FACode)
pub async fn verify_code(app: &App, request: Request) -> Result<Complete, Error> {
    serve(&request, Route::post("verify-code"), async {
        let body: SecondFactorBody = parse_json(&request)?;
        let factor = match (body.code, body.recovery_code) {
            (Some(code), None) => SecondFactor::Code(code),
            (None, Some(code)) => SecondFactor::RecoveryCode(code),
            _ => {
                return Err(Refusal::InvalidRequest(
                    "Exactly one of the fields `code` and `recovery_code` is required.".into(),
                ))
            }
        };
        let verified = second_factor::verify(
            &app.store,
            app,
            &body.mfa_token,
            &factor,
            &origin_of(&request),
            Now::current(),
        )
        .await?;
        Reply::ok(&VerifiedAnswer {
            status: "signed_in",
            session_token: verified.session_token,
            expires_in: verified.expires_in,
            recovery_codes_remaining: verified.recovery_codes_remaining,
        })
    })
    .await
}

/// `POST /v1/two-factor/recovery-codes/view`
pub async fn recovery_view(app: &App, request: Request) -> Result<Complete, Error> {
    serve(&request, Route::post("recovery-view"), async {
        let now = Now::current();
        let (principal, password) = password_confirmed(app, &request, now).await?;
        let keys = app.keys().await?;
        let view = recovery::view_codes(
            &app.store,
            &keys,
            &principal,
            &password,
            &origin_of(&request),
            now,
        )
        .await?;
        Reply::ok(&CodesView {
            recovery_codes: view
                .codes
                .into_iter()
                .map(|(code, used)| RecoveryCodeView { code, used })
                .collect(),
            remaining: view.remaining,
        })
    })
    .await
}

/// `POST /v1/two-factor/recovery-codes/regenerate`
pub async fn recovery_regenerate(app: &App, request: Request) -> Result<Complete, Error> {
    serve(&request, Route::post("recovery-regenerate"), async {
        let now = Now::current();
        let (principal, password) = password_confirmed(app, &request, now).await?;
        let keys = app.keys().await?;
        let recovery_codes = recovery::regenerate_codes(
            &app.store,
            &keys,
            &principal,
            &password,
            &origin_of(&request),
            now,
        )
        .await?;
        Reply::ok(&NewCodes { recovery_codes })
    })
    .await
}

/// `POST /v1/two-factor/disable`
pub async fn disable(app: &App, request: Request) -> Result<Complete, Error> {
    serve(&request, Route::post("disable"), async {
        let now = Now::current();
        let (principal, password) = password_confirmed(app, &request, now).await?;
        two_factor::disable(&app.store, &principal, &password, &origin_of(&request), now).await?;
        Reply::ok(&EnabledAnswer {
            enabled: false,
            recovery_codes: None,
        })
    })
    .await
}
