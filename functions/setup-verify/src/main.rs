//! POST /v1/two-factor/setup/verify: confirm the secret with a code; 2FA on, recovery codes out
use lambda_http::{run, service_fn, Error};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    ward::telemetry::init();
    let app = ward::App::from_env(env!("CARGO_PKG_NAME")).await?;
    run(service_fn(|request| {
        ward::http::routes::setup_verify(&app, request)
    }))
    .await
}
