//! Scratch: where the first GetItem's time goes, ours against aws-config's defaults.
use aws_sdk_dynamodb::types::AttributeValue;
use std::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let t0 = Instant::now();
    let client = if mode == "peer" {
        let config = aws_config::load_from_env().await;
        aws_sdk_dynamodb::Client::new(&config)
    } else {
        aws_sdk_dynamodb::Client::new(&ward::app::sdk_config("x")?)
    };
    let t1 = Instant::now();
    let table = std::env::var("TABLE_NAME")?;
    let mut laps = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        client
            .get_item()
            .table_name(&table)
            .key("pk", AttributeValue::S("bench#peer".into()))
            .key("sk", AttributeValue::S("bench#peer".into()))
            .send()
            .await?;
        laps.push(start.elapsed().as_secs_f64() * 1e3);
    }
    println!("{mode}: config+client {:.2} ms; calls {:.2?}", (t1 - t0).as_secs_f64() * 1e3, laps);
    Ok(())
}
