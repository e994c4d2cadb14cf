//! API Gateway HTTP API authorizer (REQUEST type, payload 2.0, simple responses): allows this
//! service's sessions and personal access tokens and tells the integration who is calling.
use lambda_http::{lambda_runtime, service_fn, Error};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    ward::telemetry::init();
    let app = ward::App::from_env(env!("CARGO_PKG_NAME")).await?;
    lambda_runtime::run(service_fn(|event| {
        ward::http::authorizer::handle(&app, event)
    }))
    .await
}
