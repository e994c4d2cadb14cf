//! GET /, /docs, /openapi.yaml and /assets/...: the account security pages, the API reference
//! and the contract, served on the API's own origin
use lambda_http::{run, service_fn, Error, Request, RequestExt};

mod site;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(service_fn(|request: Request| async move {
        let asset = request.path_parameters().first("asset").map(str::to_owned);
        let target = site::Target::of(request.uri().path(), asset.as_deref());
        Ok::<_, Error>(site::respond(request.method(), target, request.headers()))
    }))
    .await
}
