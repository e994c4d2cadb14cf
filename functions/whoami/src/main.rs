//! GET /v1/whoami: who a session or personal access token belongs to
use lambda_http::{run, service_fn, Error};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    ward::telemetry::init();
    let app = ward::App::from_env(env!("CARGO_PKG_NAME")).await?;
    run(service_fn(|request| {
        ward::http::routes::whoami(&app, request)
    }))
    .await
}
