//! One function process under the benchmark's Runtime API: spawned, handed events one at a time,
//! read from the outside (CPU time and peak resident memory from /proc, DynamoDB requests from the
//! emulator's recorder), then stopped.
use crate::runtime_api::{RuntimeApi, Served};
use crate::Failure;
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// What one process did with the events it was handed.
pub struct Run {
    pub served: Vec<Served>,
    /// DynamoDB requests each invocation made, as the emulator counted them.
    pub calls: Vec<u64>,
    /// CPU time (user + system, every thread) spent on the invocations after the first.
    pub warm_cpu: Duration,
    /// The process's peak resident set (VmHWM).
    pub peak_rss: u64,
}

/// An event and the status its answer must have.
pub type Event = (Vec<u8>, u16);

/// Spawns `binary` as function `function` against `table`, hands it `events` in order, checks
/// each answer's status and stops it.
pub async fn run(
    binary: &Path,
    function: &str,
    table: &str,
    events: &[Event],
) -> Result<Run, Failure> {
    let started = Instant::now();
    let mut api = RuntimeApi::start(started).await?;
    let log =
        std::fs::File::create(std::env::temp_dir().join(format!("ward-bench-{function}.log")))?;
    let mut child = Command::new(binary)
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{function}"),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("TABLE_NAME", table)
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()?;
    let outcome = drive(&mut api, &child, function, events).await;
    let _ = child.kill().await;
    outcome
}

async fn drive(
    api: &mut RuntimeApi,
    child: &Child,
    function: &str,
    events: &[Event],
) -> Result<Run, Failure> {
    let pid = child.id().ok_or("the process is gone")?;
    let mut served = Vec::new();
    let mut calls = Vec::new();
    let mut cpu_after_first = 0;
    for (index, (event, status)) in events.iter().enumerate() {
        ward_tests::forget_calls().await;
        let answer = api.invoke(event.clone(), Duration::from_secs(15)).await;
        let answer = answer.map_err(|error| format!("{function}: {error}"))?;
        let got = status_of(&answer.body);
        if answer.failed || got != *status {
            return Err(format!(
                "{function}: answered {got}, not {status}: {}",
                String::from_utf8_lossy(&answer.body)
            )
            .into());
        }
        calls.push(dynamodb_requests(function).await);
        if index == 0 {
            cpu_after_first = cpu_ns(pid)?;
        }
        served.push(answer);
    }
    let warm_cpu = Duration::from_nanos(cpu_ns(pid)?.saturating_sub(cpu_after_first));
    Ok(Run {
        served,
        calls,
        warm_cpu,
        peak_rss: peak_rss(pid)?,
    })
}

/// The status of an answer: API Gateway's `statusCode`, or 200 / 403 for an authorizer's
/// allow / deny.
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
        .map_or(0, |code| u16::try_from(code).unwrap_or(0))
}

/// CPU time of every thread of `pid` so far, in nanoseconds (/proc/<pid>/task/*/schedstat).
pub fn cpu_ns(pid: u32) -> Result<u64, Failure> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let stat = std::fs::read_to_string(task?.path().join("schedstat")).unwrap_or_default();
        total += stat
            .split_whitespace()
            .next()
            .and_then(|ns| ns.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(total)
}

/// The peak resident set of `pid` so far, in bytes.
fn peak_rss(pid: u32) -> Result<u64, Failure> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .ok_or("no VmHWM")?;
    Ok(kib * 1024)
}

/// The DynamoDB requests `function` has made since the recorder was last cleared.
async fn dynamodb_requests(function: &str) -> u64 {
    ward_tests::recorded_requests()
        .await
        .into_iter()
        .filter(|((caller, operation), _)| caller == function && operation.starts_with("DynamoDB"))
        .map(|(_, count)| count)
        .sum()
}
