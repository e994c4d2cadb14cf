//! GET /, /docs, /openapi.yaml and /assets/...: the account security pages, the API reference
//! and the contract, served on the API's own origin
use lambda_http::{run, service_fn, Body, Error, IntoResponse, Request, RequestExt, Response};

mod site;

/// A response handed to the Lambda runtime as it stands, as the service's routes hand theirs
/// (`ward::http::response::Complete`): lambda_http's own conversion of a `Response<Body>` reads
/// every body again to decode it by its charset, here the 1.1 MB of the reference's script among
/// them, and links encoding_rs. These bodies are UTF-8 text or gzip bytes already.
struct Complete(Response<Body>);

impl IntoResponse for Complete {
    fn into_response(
        self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response<Body>> + Send>> {
        Box::pin(std::future::ready(self.0))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(service_fn(|request: Request| async move {
        let asset = request.path_parameters().first("asset").map(str::to_owned);
        let target = site::Target::of(request.uri().path(), asset.as_deref());
        let response = site::respond(request.method(), target, request.headers());
        Ok::<_, Error>(Complete(response))
    }))
    .await
}
