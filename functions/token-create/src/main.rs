//! POST /v1/tokens: a personal access token, after the password; shown once
use lambda_http::{run, service_fn, Error};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    ward::telemetry::init();
    let app = ward::App::from_env(env!("CARGO_PKG_NAME")).await?;
    run(service_fn(|request| {
        ward::http::routes::token_create(&app, request)
    }))
    .await
}
