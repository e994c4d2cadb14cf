//! POST /v1/sign-in/verify (Verify2FACode): an mfa_token and a second factor become a session
use lambda_http::{run, service_fn, Error};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    ward::telemetry::init();
    let app = ward::App::from_env(env!("CARGO_PKG_NAME")).await?;
    run(service_fn(|request| {
        ward::http::routes::verify_code(&app, request)
    }))
    .await
}
