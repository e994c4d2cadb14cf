//! The usual peer: a `lambda_http` function written the way the runtime's DynamoDB example is, a
//! client configured from the environment at start and one GetItem per request.
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{run, service_fn, Body, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_from_env().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = std::env::var("TABLE_NAME")?;
    let client = &client;
    let table = &table;
    run(service_fn(move |_request: Request| async move {
        let item = client
            .get_item()
            .table_name(table)
            .key("pk", AttributeValue::S("bench#peer".into()))
            .key("sk", AttributeValue::S("bench#peer".into()))
            .send()
            .await?;
        let found = item.item().is_some();
        Ok::<_, Error>(Response::new(Body::from(format!("{{\"found\":{found}}}"))))
    }))
    .await
}
