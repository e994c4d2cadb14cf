//! GET / and /assets/...: the account security pages, served on the API's own origin
use lambda_http::{run, service_fn, Error, Request, RequestExt};

mod site;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(service_fn(|request: Request| async move {
        let asset = request.path_parameters().first("asset").map(str::to_owned);
        Ok::<_, Error>(site::respond(
            request.method(),
            asset.as_deref(),
            request.headers(),
        ))
    }))
    .await
}
