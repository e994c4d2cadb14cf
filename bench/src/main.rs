//! `make bench`: every function's cold start against a Runtime API of the benchmark's own, beside
//! two references built with the same release profile and measured in the same run, interleaved:
//! the floor (a hello-world `lambda_http` function) and the usual peer (a client configured from
//! the environment at start, one GetItem per request). Prints a table; figures, not assertions.
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::Command;
use ward::Now;

mod runtime_api;
use runtime_api::{RuntimeApi, Served};

type Failure = Box<dyn std::error::Error>;

/// Spawns of each binary; the medians are reported.
const SPAWNS: usize = 11;

struct Case {
    name: String,
    binary: PathBuf,
    event: Vec<u8>,
}

fn release_dir() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_string());
    PathBuf::from(target).join("release")
}

/// An API Gateway (HTTP API, payload 2.0) event.
fn http_event(method: &str, path: &str, bearer: Option<&str>, body: Option<Value>) -> Vec<u8> {
    let mut headers = json!({
        "content-type": "application/json",
        "host": "bench.execute-api.us-east-1.amazonaws.com",
        "user-agent": "ward-bench",
        "x-forwarded-for": "192.0.2.10",
    });
    if let Some(token) = bearer {
        headers["authorization"] = json!(format!("Bearer {token}"));
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000", "apiId": "bench", "domainName": "bench.execute-api.us-east-1.amazonaws.com",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.10", "userAgent": "ward-bench"},
            "requestId": "bench", "routeKey": format!("{method} {path}"), "stage": "$default",
            "time": "01/Dec/2026:00:00:00 +0000", "timeEpoch": 1796083200000u64
        },
        "isBase64Encoded": false
    });
    if let Some(body) = body {
        event["body"] = json!(body.to_string());
    }
    event.to_string().into_bytes()
}

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples
        .get(samples.len() / 2)
        .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
}

async fn spawn_once(api: &RuntimeApi, case: &Case) -> Result<Served, Failure> {
    let started = Instant::now();
    let mut child = Command::new(&case.binary)
        .env("AWS_LAMBDA_RUNTIME_API", api.address()?)
        .env("AWS_LAMBDA_FUNCTION_NAME", &case.name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let served = api
        .serve(started, case.event.clone(), Duration::from_secs(30))
        .await;
    let _ = child.kill().await;
    Ok(served?)
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let app = ward_tests::app().await;
    let now = Now::current();
    let account = ward_tests::signed_in_account(&app, "bench", now).await;
    let token = ward::domain::access_token::create(
        &app.store,
        &account.session,
        "bench",
        ward_tests::PASSWORD,
        None,
        &ward_tests::client(),
        now,
    )
    .await?
    .token;
    let authorizer_event = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/events/authorizer-request.json"
    ))?
    .replace("REPLACE_WITH_A_TOKEN", &token);

    let release = release_dir();
    let credentials = json!({"login": account.login, "password": ward_tests::PASSWORD});
    let cases = [
        Case {
            name: "floor".into(),
            binary: release.join("examples/floor"),
            event: http_event("GET", "/", None, None),
        },
        Case {
            name: "peer".into(),
            binary: release.join("examples/peer"),
            event: http_event("GET", "/", None, None),
        },
        Case {
            name: "web".into(),
            binary: release.join("web"),
            event: http_event("GET", "/", None, None),
        },
        Case {
            name: "whoami".into(),
            binary: release.join("whoami"),
            event: http_event("GET", "/v1/whoami", Some(&account.session_token), None),
        },
        Case {
            name: "account".into(),
            binary: release.join("account"),
            event: http_event("GET", "/v1/account", Some(&account.session_token), None),
        },
        Case {
            name: "authorizer".into(),
            binary: release.join("authorizer"),
            event: authorizer_event.into_bytes(),
        },
        Case {
            name: "sign-in".into(),
            binary: release.join("sign-in"),
            event: http_event("POST", "/v1/sign-in", None, Some(credentials)),
        },
    ];

    let api = RuntimeApi::bind().await?;
    let mut inits = vec![Vec::new(); cases.len()];
    let mut firsts = vec![Vec::new(); cases.len()];
    for _ in 0..SPAWNS {
        for (index, case) in cases.iter().enumerate() {
            let served = spawn_once(&api, case).await?;
            if served.failed {
                return Err(
                    format!("{}: {}", case.name, String::from_utf8_lossy(&served.body)).into(),
                );
            }
            inits[index].push(served.asked);
            firsts[index].push(served.answered - served.asked);
        }
    }
    let floor = median(inits[0].clone());
    println!(
        "{:<14} {:>9} {:>9} {:>7}",
        "function", "init ms", "first ms", "init/floor"
    );
    for (index, case) in cases.iter().enumerate() {
        let init = median(inits[index].clone());
        println!(
            "{:<14} {:>9.2} {:>9.2} {:>7.2}",
            case.name,
            init,
            median(firsts[index].clone()),
            init / floor
        );
    }
    Ok(())
}
