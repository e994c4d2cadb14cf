//! POST /v1/two-factor/recovery-codes/regenerate: a new set of recovery codes replaces the old
use lambda_http::{run, service_fn, Error};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    ward::telemetry::init();
    let app = ward::App::from_env(env!("CARGO_PKG_NAME")).await?;
    run(service_fn(|request| {
        ward::http::routes::recovery_regenerate(&app, request)
    }))
    .await
}
