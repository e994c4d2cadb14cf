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
    /// One event a spawn: what a real request of the route is, on state made for it.
    events: Vec<Vec<u8>>,
    /// The status its answer must have (the authorizer's: 200 for "authorized").
    status: u16,
}

fn release_dir() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_string());
    PathBuf::from(target).join("release")
}

/// An API Gateway (HTTP API, payload 2.0) event.
fn http_event(method: &str, path: &str, bearer: Option<&str>, body: Option<Value>) -> Vec<u8> {
    http_event_with(method, path, bearer, body, json!({}))
}

fn http_event_with(
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
    path_parameters: Value,
) -> Vec<u8> {
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
        "pathParameters": path_parameters,
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

async fn spawn_once(api: &RuntimeApi, case: &Case, event: Vec<u8>) -> Result<Served, Failure> {
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
        .stderr(std::fs::File::create(
            std::env::temp_dir().join(format!("ward-bench-{}.log", case.name)),
        )?)
        .kill_on_drop(true)
        .spawn()?;
    let served = api.serve(started, event, Duration::from_secs(10)).await;
    let _ = child.kill().await;
    served.map_err(|error| format!("{}: {error}", case.name).into())
}

const P: &str = ward_tests::PASSWORD;

/// `SPAWNS` events of `function`'s route, each on state of its own where the route changes it.
async fn events(app: &ward::App, function: &str, now: Now) -> Result<(Vec<Vec<u8>>, u16), Failure> {
    let mut events = Vec::new();
    let mut status = 200;
    let password = json!({ "password": P });
    for _ in 0..SPAWNS {
        let event = match function {
            "floor" | "peer" | "web" => http_event("GET", "/", None, None),
            "sign-up" => {
                status = 201;
                let login = ward_tests::unique_login("bench");
                http_event(
                    "POST",
                    "/v1/accounts",
                    None,
                    Some(json!({"login": login, "password": P})),
                )
            }
            "sign-in" => {
                let account = ward_tests::signed_in_account(app, "bench", now).await;
                http_event(
                    "POST",
                    "/v1/sign-in",
                    None,
                    Some(json!({"login": account.login, "password": P})),
                )
            }
            "verify-code" => {
                let account = ward_tests::enrolled_account(app, "bench", now).await;
                let mfa = ward_tests::mfa_token(app, &account.login, now).await;
                let code = account.recovery_codes.first().cloned().unwrap_or_default();
                http_event(
                    "POST",
                    "/v1/sign-in/verify",
                    None,
                    Some(json!({"mfa_token": mfa, "recovery_code": code})),
                )
            }
            "authorizer" | "whoami" | "account" | "account-events" | "session-list"
            | "token-list" | "sign-out" | "setup" | "token-create" | "session-end-others" => {
                let account = ward_tests::signed_in_account(app, "bench", now).await;
                let token = Some(account.session_token.as_str());
                match function {
                    "authorizer" => {
                        let created = ward::domain::access_token::create(
                            &app.store,
                            &account.session,
                            "bench",
                            P,
                            None,
                            &ward_tests::client(),
                            now,
                        )
                        .await?;
                        std::fs::read_to_string(concat!(
                            env!("CARGO_MANIFEST_DIR"),
                            "/../infra/events/authorizer-request.json"
                        ))?
                        .replace("REPLACE_WITH_A_TOKEN", &created.token)
                        .into_bytes()
                    }
                    "whoami" => http_event("GET", "/v1/whoami", token, None),
                    "account" => http_event("GET", "/v1/account", token, None),
                    "account-events" => http_event("GET", "/v1/account/events", token, None),
                    "session-list" => http_event("GET", "/v1/sessions", token, None),
                    "token-list" => http_event("GET", "/v1/tokens", token, None),
                    "sign-out" => {
                        status = 204;
                        http_event("POST", "/v1/sign-out", token, None)
                    }
                    "setup" => http_event(
                        "POST",
                        "/v1/two-factor/setup",
                        token,
                        Some(password.clone()),
                    ),
                    "token-create" => {
                        status = 201;
                        http_event(
                            "POST",
                            "/v1/tokens",
                            token,
                            Some(json!({"name": "bench", "password": P})),
                        )
                    }
                    _ => http_event(
                        "POST",
                        "/v1/sessions/end-others",
                        token,
                        Some(password.clone()),
                    ),
                }
            }
            "setup-verify" => {
                let account = ward_tests::signed_in_account(app, "bench", now).await;
                let (secret, _) = ward_tests::start_setup(app, &account.session, now).await;
                let code = ward::crypto::totp::code_at_step(&secret, now.secs() / 30)?;
                http_event(
                    "POST",
                    "/v1/two-factor/setup/verify",
                    Some(&account.session_token),
                    Some(json!({"code": code})),
                )
            }
            "recovery-view" | "recovery-regenerate" | "disable" => {
                let account = ward_tests::enrolled_account(app, "bench", now).await;
                let path = match function {
                    "recovery-view" => "/v1/two-factor/recovery-codes/view",
                    "recovery-regenerate" => "/v1/two-factor/recovery-codes/regenerate",
                    _ => "/v1/two-factor/disable",
                };
                http_event(
                    "POST",
                    path,
                    Some(&account.session_token),
                    Some(password.clone()),
                )
            }
            "token-revoke" => {
                status = 204;
                let account = ward_tests::signed_in_account(app, "bench", now).await;
                let created = ward::domain::access_token::create(
                    &app.store,
                    &account.session,
                    "bench",
                    P,
                    None,
                    &ward_tests::client(),
                    now,
                )
                .await?;
                let path = format!("/v1/tokens/{}", created.id);
                http_event_with(
                    "DELETE",
                    &path,
                    Some(&account.session_token),
                    None,
                    json!({"token_id": created.id}),
                )
            }
            "session-end" => {
                status = 204;
                let account = ward_tests::signed_in_account(app, "bench", now).await;
                let other = ward_tests::session_token(app, &account.login, now).await;
                let listed = ward::domain::session::list(&app.store, &account.session, now).await?;
                let id = listed
                    .iter()
                    .find(|summary| !summary.current)
                    .map(|summary| summary.session.session_id.clone())
                    .ok_or("no other session")?;
                let path = format!("/v1/sessions/{id}");
                http_event_with(
                    "DELETE",
                    &path,
                    Some(&other),
                    None,
                    json!({"session_id": id}),
                )
            }
            other => return Err(format!("no event for {other}").into()),
        };
        events.push(event);
    }
    Ok((events, status))
}

/// The status of an answer: API Gateway's `statusCode`, or 200 for an authorizer that allowed.
fn status_of(body: &[u8]) -> u16 {
    let Ok(answer) = serde_json::from_slice::<Value>(body) else {
        return 0;
    };
    if let Some(allowed) = answer.get("isAuthorized") {
        return if allowed == true { 200 } else { 403 };
    }
    answer
        .get("statusCode")
        .and_then(Value::as_u64)
        .unwrap_or(0) as u16
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let app = ward_tests::app().await;
    let now = Now::current();
    let release = release_dir();
    let mut names: Vec<String> = vec!["floor".into(), "peer".into()];
    let functions = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../functions"))?;
    let mut packages: Vec<String> = functions
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    packages.sort();
    names.extend(packages);
    let mut cases = Vec::new();
    for name in names {
        let (events, status) = events(&app, &name, now).await?;
        let binary = match name.as_str() {
            "floor" | "peer" => release.join("examples").join(&name),
            _ => release.join(&name),
        };
        cases.push(Case {
            name,
            binary,
            events,
            status,
        });
    }
    eprintln!("prepared {} cases of {SPAWNS} spawns", cases.len());

    let api = RuntimeApi::bind().await?;
    let mut inits = vec![Vec::new(); cases.len()];
    let mut firsts = vec![Vec::new(); cases.len()];
    for spawn in 0..SPAWNS {
        for (index, case) in cases.iter().enumerate() {
            let event = case.events.get(spawn).cloned().unwrap_or_default();
            let served = spawn_once(&api, case, event).await?;
            let status = status_of(&served.body);
            if case.name != "floor" && case.name != "peer" && status != case.status {
                return Err(format!(
                    "{}: answered {status}, not {}: {}",
                    case.name,
                    case.status,
                    String::from_utf8_lossy(&served.body)
                )
                .into());
            }
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
    let peer = median(inits[1].clone()) + median(firsts[1].clone());
    println!(
        "{:<20} {:>9} {:>9} {:>10}",
        "function", "init ms", "first ms", "init/floor"
    );
    let mut functions = serde_json::Map::new();
    let mut max_ratio: f64 = 0.0;
    let mut authorizer_total = f64::NAN;
    for (index, case) in cases.iter().enumerate() {
        let init = median(inits[index].clone());
        let first = median(firsts[index].clone());
        println!(
            "{:<20} {:>9.2} {:>9.2} {:>10.2}",
            case.name,
            init,
            first,
            init / floor
        );
        if index >= 2 {
            max_ratio = max_ratio.max(init / floor);
            functions.insert(
                case.name.clone(),
                json!({"init_ms": init, "first_ms": first, "init_ratio": init / floor}),
            );
        }
        if case.name == "authorizer" {
            authorizer_total = init + first;
        }
    }
    println!(
        "floor {floor:.2} ms; peer (init + first) {peer:.2} ms; max init/floor {max_ratio:.2}; \
         authorizer (init + first) / peer {:.2}",
        authorizer_total / peer
    );
    let summary = json!({
        "cold_start": {
            "baseline_ms": floor,
            "peer_ms": peer,
            "functions": functions,
            "max_init_ratio": max_ratio,
            "authorizer_peer_ratio": authorizer_total / peer,
        }
    });
    let out = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/bench"));
    std::fs::create_dir_all(&out)?;
    std::fs::write(
        out.join("summary.json"),
        serde_json::to_string_pretty(&summary)?,
    )?;
    println!("wrote {}", out.join("summary.json").display());
    Ok(())
}
