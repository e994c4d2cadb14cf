//! How long the authorizer takes to decide, warm, against the local DynamoDB: run by
//! `make bench`, which starts the emulator. Prints the medians of the authorizer's decision and,
//! measured in the same run as the baseline, of one bare GetItem of the same item, and their ratio.

use std::time::{Duration, Instant};
use ward::http::authorizer::{decide, AuthorizerRequest};
use ward::Now;

const ROUNDS: usize = 300;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn percentile(mut samples: Vec<Duration>, p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p) as usize]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = ward_tests::app().await;
    let now = Now::current();
    let account = ward_tests::enrolled_account(&app, "bench", now).await;
    let created = ward::domain::access_token::create(
        &app.store,
        &account.session,
        "bench",
        ward_tests::PASSWORD,
        None,
        &ward_tests::client(),
        now,
    )
    .await?;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/events/authorizer-request.json"
    ))?;
    let event: AuthorizerRequest =
        serde_json::from_str(&text.replace("REPLACE_WITH_A_TOKEN", &created.token))?;
    let digest = ward::crypto::random::digest(&created.token);

    // Warm the connection pool and the emulator's code paths.
    for _ in 0..20 {
        decide(&app, &event, now).await?;
        app.store.get(ward::store::keys::token(&digest)).await?;
    }
    let mut decisions = Vec::with_capacity(ROUNDS);
    let mut reads = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let decision = decide(&app, &event, now).await?;
        decisions.push(started.elapsed());
        assert!(decision.is_authorized);
        let started = Instant::now();
        app.store.get(ward::store::keys::token(&digest)).await?;
        reads.push(started.elapsed());
    }
    let (decision, read) = (median(decisions.clone()), median(reads));
    println!(
        "authorizer decision, warm: median {:.2} ms, p99 {:.2} ms over {ROUNDS} rounds",
        decision.as_secs_f64() * 1e3,
        percentile(decisions, 0.99).as_secs_f64() * 1e3
    );
    println!(
        "baseline, one GetItem of the token item: median {:.2} ms",
        read.as_secs_f64() * 1e3
    );
    println!(
        "ratio decision / GetItem: {:.2}",
        decision.as_secs_f64() / read.as_secs_f64()
    );
    Ok(())
}
