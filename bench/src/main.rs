//! `make bench`: what every function costs, measured from outside its process against the local
//! emulator, beside references measured in the same run. Prints tables and writes
//! `target/bench/summary.json`; figures, not assertions.
//!
//! 1. Cold starts, interleaved, medians of `SPAWNS`: the floor (a hello-world `lambda_http`
//!    function), the usual peer (aws-config's defaults, one GetItem) and every route.
//! 2. DynamoDB requests per route, counted by the emulator's recorder per function.
//! 3. Package sizes: the arm64 zips `cargo lambda build` made (infra/bench.sh builds them).
//! 4. Sign-in's CPU against one argon2id verification's; CPU per warm request.
//! 5. Peak resident memory of every process.
//! 6. Growth: calls and warm latency on a table of tens of accounts and on one of 10,000, the
//!    measured account holding 100 tokens and 1,000 log entries in both.
//! 7. A flood on one login: calls and capacity units per refused attempt before and after locks
//!    were copied onto the login's claim, the write rate it attracts, and what a checked attempt
//!    and an accepted sign-in cost.
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use ward::Now;

mod cases;
mod flood;
mod process;
mod runtime_api;
mod seed;

use process::{Event, Run};

pub type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Spawns of each binary for the cold starts; the medians are reported.
const SPAWNS: usize = 21;
/// Warm requests for CPU per request.
const WARM_VERIFY: usize = 100;
const WARM_AUTHORIZER: usize = 300;
const WARM_SIGN_IN: usize = 30;
/// Warm requests per route for the growth latencies.
const WARM_GROWTH: usize = 15;
const LARGE_ACCOUNTS: usize = 10_000;
const HEAVY_TOKENS: usize = 100;
const HEAVY_ENTRIES: usize = 1_000;

fn target_dir() -> PathBuf {
    PathBuf::from(
        std::env::var("CARGO_TARGET_DIR")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_string()),
    )
}

fn binary(function: &str) -> PathBuf {
    let release = target_dir().join("release");
    match function {
        "floor" | "peer" => release.join("examples").join(function),
        _ => release.join(function),
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied().unwrap_or(f64::NAN)
}

fn percentile(mut samples: Vec<f64>, share: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let rank = ((samples.len() as f64) * share).ceil() as usize;
    samples
        .get(rank.saturating_sub(1))
        .copied()
        .unwrap_or(f64::NAN)
}

/// Warm latencies of a run: from handing each event after the first to its answer.
fn warm_latencies(run: &Run) -> Vec<f64> {
    run.served
        .iter()
        .skip(1)
        .map(|served| ms(served.answered.saturating_sub(served.handed)))
        .collect()
}

#[derive(Default)]
struct Cold {
    inits: Vec<f64>,
    firsts: Vec<f64>,
    calls: Vec<u64>,
    peak_rss: u64,
}

struct Measured {
    summary: serde_json::Map<String, Value>,
    peak_rss: BTreeMap<String, u64>,
}

impl Measured {
    fn note_rss(&mut self, function: &str, run: &Run) {
        let peak = self.peak_rss.entry(function.to_string()).or_default();
        *peak = (*peak).max(run.peak_rss);
    }
}

fn app_for(table: &str) -> Result<ward::App, Failure> {
    let mut config = ward::config::Config::from_env()?;
    config.table_name = table.to_string();
    Ok(ward::App::new(
        config,
        &ward::app::sdk_config("ward-bench")?,
    ))
}

async fn cold_starts(
    measured: &mut Measured,
    app: &ward::App,
) -> Result<BTreeMap<String, u64>, Failure> {
    let table = app.config.table_name.clone();
    let client = aws_sdk_dynamodb::Client::new(&ward::app::sdk_config("ward-bench")?);
    let account = ward_tests::signed_in_account(app, "peer", Now::current()).await;
    let token = cases::access_token(app, &account.session).await?;
    seed::peer_item(&client, &table, &token.token).await?;
    let mut routes: Vec<(&str, &str)> = vec![("floor", "floor"), ("peer", "peer")];
    routes.extend_from_slice(cases::ROUTES);
    let mut cold: BTreeMap<&str, Cold> = BTreeMap::new();
    for spawn in 0..SPAWNS {
        eprint!("\r  cold starts: round {} of {SPAWNS}", spawn + 1);
        for (label, function) in &routes {
            let event = cases::event(app, label, None).await?;
            let run = process::run(&binary(function), function, &table, &[event]).await?;
            measured.note_rss(function, &run);
            let served = run.served.first().ok_or("no answer")?;
            let entry = cold.entry(label).or_default();
            entry.inits.push(ms(served.asked));
            entry
                .firsts
                .push(ms(served.answered.saturating_sub(served.asked)));
            entry.calls.extend(run.calls.first());
            entry.peak_rss = entry.peak_rss.max(run.peak_rss);
        }
    }
    eprintln!();
    let floor = median(cold["floor"].inits.clone());
    let peer = median(cold["peer"].inits.clone()) + median(cold["peer"].firsts.clone());
    println!("\nCold starts (medians of {SPAWNS} spawns, interleaved; init = spawn to the first request for work)");
    println!(
        "{:<22} {:>9} {:>9} {:>11} {:>10} {:>9}",
        "route", "init ms", "first ms", "init/floor", "DynamoDB", "peak MiB"
    );
    let mut functions = serde_json::Map::new();
    let mut calls = BTreeMap::new();
    let mut max_ratio: f64 = 0.0;
    for (label, function) in &routes {
        let entry = &cold[label];
        let init = median(entry.inits.clone());
        let first = median(entry.firsts.clone());
        let most = entry.calls.iter().copied().max().unwrap_or(0);
        let least = entry.calls.iter().copied().min().unwrap_or(0);
        let shown = if most == least {
            most.to_string()
        } else {
            format!("{least}-{most}")
        };
        println!(
            "{label:<22} {init:>9.2} {first:>9.2} {:>11.2} {shown:>10} {:>9.1}",
            init / floor,
            entry.peak_rss as f64 / 1048576.0
        );
        if !matches!(*label, "floor" | "peer") {
            calls.insert(label.to_string(), most);
        }
        if label == function && !matches!(*label, "floor" | "peer") {
            max_ratio = max_ratio.max(init / floor);
            functions.insert(
                label.to_string(),
                json!({"init_ms": init, "first_ms": first, "init_ratio": init / floor}),
            );
        }
    }
    let authorizer = &cold["authorizer"];
    let authorizer_total = median(authorizer.inits.clone()) + median(authorizer.firsts.clone());
    // What the emulator itself takes for the one GetItem both do (a new client and connection
    // each time, as a first request has): the part of both totals that is moto's, not theirs.
    let mut gets = Vec::new();
    for _ in 0..SPAWNS {
        let fresh = aws_sdk_dynamodb::Client::new(&ward::app::sdk_config("ward-bench")?);
        gets.push(seed::time_peer_get(&fresh, &table).await?);
    }
    let get = median(gets);
    println!(
        "the emulator's own GetItem of that item: {get:.2} ms; without it, authorizer / peer = {:.2}",
        (authorizer_total - get) / (peer - get)
    );
    println!(
        "floor {floor:.2} ms; peer (init + first) {peer:.2} ms; max init/floor {max_ratio:.2}; \
         authorizer (init + first) / peer {:.2}",
        authorizer_total / peer
    );
    measured.summary.insert(
        "cold_start".into(),
        json!({
            "baseline_ms": floor,
            "peer_ms": peer,
            "functions": functions,
            "max_init_ratio": max_ratio,
            "authorizer_peer_ratio": authorizer_total / peer,
            "emulator_getitem_ms": get,
            "authorizer_peer_ratio_less_emulator": (authorizer_total - get) / (peer - get),
        }),
    );
    measured
        .summary
        .insert("dynamodb_calls".into(), json!(calls.clone()));
    Ok(calls)
}

fn package_sizes(measured: &mut Measured) -> Result<(), Failure> {
    let lambda = std::env::var("BENCH_LAMBDA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| target_dir().join("lambda"));
    let mut functions: Vec<&str> = cases::ROUTES
        .iter()
        .map(|(_, function)| *function)
        .collect();
    functions.dedup();
    let mut sizes = BTreeMap::new();
    println!(
        "\nPackages (arm64 zips as cargo lambda builds them, {})",
        lambda.display()
    );
    for function in functions {
        let zip = lambda.join(function).join("bootstrap.zip");
        match std::fs::metadata(&zip) {
            Ok(meta) => {
                println!("{function:<22} {:>8.2} MiB", meta.len() as f64 / 1048576.0);
                sizes.insert(function.to_string(), meta.len());
            }
            Err(_) => println!("{function:<22} (no {})", zip.display()),
        }
    }
    let largest = sizes.values().copied().max().unwrap_or(0);
    println!("largest {:.2} MiB", largest as f64 / 1048576.0);
    measured
        .summary
        .insert("package_bytes".into(), json!(sizes));
    measured
        .summary
        .insert("max_package_bytes".into(), json!(largest));
    Ok(())
}

/// CPU time of one argon2id verification with the service's parameters, in this process.
async fn hash_cpu() -> Result<Duration, Failure> {
    let stored = ward::crypto::password::hash(ward_tests::PASSWORD).await?;
    let me = std::process::id();
    let rounds = 30;
    let before = process::cpu_ns(me)?;
    for _ in 0..rounds {
        ward::crypto::password::verify(Some(&stored), ward_tests::PASSWORD).await?;
    }
    let spent = process::cpu_ns(me)?.saturating_sub(before);
    Ok(Duration::from_nanos(spent / rounds))
}

async fn warm_cpu(measured: &mut Measured, app: &ward::App) -> Result<(), Failure> {
    let table = app.config.table_name.clone();
    println!(
        "\nWarm requests (CPU of the function process, every thread, after its first request)"
    );
    let account = ward_tests::signed_in_account(app, "bench", Now::current()).await;
    let created = cases::access_token(app, &account.session).await?;
    let authorizer = cases::authorizer_event(&created.token)?;
    let mut results = serde_json::Map::new();
    let mut sign_in_cpu = Duration::ZERO;
    // The hash alone, in this process, just before and just after the sign-ins: their mean.
    let hash_before = hash_cpu().await?;
    let mut hash_after = hash_before;
    for (label, function, count) in [
        ("sign-in", "sign-in", WARM_SIGN_IN),
        ("verify-code", "verify-code", WARM_VERIFY),
        ("authorizer", "authorizer", WARM_AUTHORIZER),
    ] {
        eprint!("  preparing {count} requests of {label}");
        let mut events: Vec<Event> = Vec::new();
        for _ in 0..=count {
            events.push(if label == "authorizer" {
                (authorizer.clone(), 200)
            } else {
                cases::event(app, label, None).await?
            });
        }
        eprintln!();
        let run = process::run(&binary(function), function, &table, &events).await?;
        measured.note_rss(function, &run);
        let per_request = run.warm_cpu / u32::try_from(count)?;
        let latencies = warm_latencies(&run);
        println!(
            "{label:<22} {count:>4} requests: CPU {:>7.3} ms a request; latency p50 {:.2} ms, \
             p99 {:.2} ms; peak {:.1} MiB",
            ms(per_request),
            median(latencies.clone()),
            percentile(latencies, 0.99),
            run.peak_rss as f64 / 1048576.0,
        );
        if label == "sign-in" {
            sign_in_cpu = per_request;
            hash_after = hash_cpu().await?;
        } else {
            results.insert(label.into(), json!(ms(per_request)));
        }
    }
    let hash = (hash_before + hash_after) / 2;
    let share = hash.as_secs_f64() / sign_in_cpu.as_secs_f64();
    let less_hash = sign_in_cpu.saturating_sub(hash);
    println!(
        "one argon2id verification (m={} KiB, t={}, p={}): CPU {:.2} ms; sign-in {:.2} ms; \
         hash share {share:.3}; sign-in less its hash {:.3} ms",
        ward::crypto::password::MEMORY_KIB,
        ward::crypto::password::ITERATIONS,
        ward::crypto::password::PARALLELISM,
        ms(hash),
        ms(sign_in_cpu),
        ms(less_hash)
    );
    results.insert("sign-in-less-hash".into(), json!(ms(less_hash)));
    measured
        .summary
        .insert("sign_in_hash_share".into(), json!(share));
    measured
        .summary
        .insert("cpu_ms_per_request".into(), Value::Object(results));
    Ok(())
}

/// The measured account of a growth table: 100 tokens, 1,000 log entries.
async fn heavy_account(
    app: &ward::App,
    client: &aws_sdk_dynamodb::Client,
) -> Result<cases::Heavy, Failure> {
    let account = ward_tests::signed_in_account(app, "heavy", Now::current()).await;
    let mut access_token = String::new();
    for _ in 0..HEAVY_TOKENS {
        let created = cases::access_token(app, &account.session).await?;
        if access_token.is_empty() {
            access_token = created.token;
        }
    }
    let table = &app.config.table_name;
    seed::log_entries(client, table, &account.account_id, HEAVY_ENTRIES).await?;
    Ok(cases::Heavy {
        session_token: account.session_token,
        access_token,
    })
}

struct Growth {
    accounts: usize,
    calls: BTreeMap<String, u64>,
    latency: BTreeMap<String, f64>,
}

async fn growth_on(measured: &mut Measured, table: &str, clones: usize) -> Result<Growth, Failure> {
    let app = app_for(table)?;
    let client = aws_sdk_dynamodb::Client::new(&ward::app::sdk_config("ward-bench")?);
    let heavy = heavy_account(&app, &client).await?;
    if clones > 0 {
        eprintln!("  seeding {clones} accounts into {table}");
        let template = ward_tests::signed_in_account(&app, "template", Now::current()).await;
        seed::accounts(
            &client,
            table,
            &template.account_id,
            &template.login,
            clones,
        )
        .await?;
    }
    let mut calls = BTreeMap::new();
    for (label, function) in cases::ROUTES {
        let event = cases::event(&app, label, Some(&heavy)).await?;
        let run = process::run(&binary(function), function, table, &[event]).await?;
        measured.note_rss(function, &run);
        calls.insert(label.to_string(), run.calls.first().copied().unwrap_or(0));
    }
    let mut latency = BTreeMap::new();
    let timed: Vec<(&str, &str)> = cases::ROUTES
        .iter()
        .copied()
        .filter(|(label, _)| {
            cases::READS.contains(label) || matches!(*label, "sign-in" | "verify-code")
        })
        .collect();
    for (label, function) in timed {
        let mut events = Vec::new();
        for _ in 0..=WARM_GROWTH {
            events.push(cases::event(&app, label, Some(&heavy)).await?);
        }
        let run = process::run(&binary(function), function, table, &events).await?;
        measured.note_rss(function, &run);
        latency.insert(label.to_string(), median(warm_latencies(&run)));
    }
    Ok(Growth {
        accounts: seed::account_count(&client, table).await?,
        calls,
        latency,
    })
}

async fn growth(
    measured: &mut Measured,
    cold_calls: &BTreeMap<String, u64>,
) -> Result<(), Failure> {
    let small_table = std::env::var("BENCH_TABLE_SMALL")?;
    let large_table = std::env::var("BENCH_TABLE_LARGE")?;
    let small = growth_on(measured, &small_table, 0).await?;
    let large = growth_on(measured, &large_table, LARGE_ACCOUNTS).await?;
    println!(
        "\nGrowth: {} accounts against {}; the measured account holds {HEAVY_TOKENS} tokens and \
         {HEAVY_ENTRIES}+ log entries in both",
        small.accounts, large.accounts
    );
    println!(
        "{:<22} {:>9} {:>9} {:>9} {:>11} {:>11} {:>7}",
        "route", "calls new", "calls sm", "calls lg", "warm sm ms", "warm lg ms", "ratio"
    );
    let mut equal = true;
    let mut ratios = serde_json::Map::new();
    let mut worst: f64 = 0.0;
    for (label, _) in cases::ROUTES {
        let fresh = cold_calls.get(*label).copied().unwrap_or(0);
        let on_small = small.calls.get(*label).copied().unwrap_or(0);
        let on_large = large.calls.get(*label).copied().unwrap_or(0);
        equal &= on_small == on_large;
        let most = fresh.max(on_small).max(on_large);
        if let Some(Value::Object(calls)) = measured.summary.get_mut("dynamodb_calls") {
            calls.insert(label.to_string(), json!(most));
        }
        let (warm_small, warm_large) = (small.latency.get(*label), large.latency.get(*label));
        let (text_small, text_large, text_ratio) = match (warm_small, warm_large) {
            (Some(a), Some(b)) => {
                worst = worst.max(b / a);
                ratios.insert(label.to_string(), json!(b / a));
                (
                    format!("{a:.2}"),
                    format!("{b:.2}"),
                    format!("{:.2}", b / a),
                )
            }
            _ => (String::new(), String::new(), String::new()),
        };
        println!(
            "{label:<22} {fresh:>9} {on_small:>9} {on_large:>9} {text_small:>11} {text_large:>11} {text_ratio:>7}"
        );
    }
    println!(
        "calls equal with {} and {} accounts: {equal}; worst warm latency ratio {worst:.2} \
         (\"calls new\": a fresh account, no tokens, a few log entries)",
        small.accounts, large.accounts
    );
    measured.summary.insert(
        "growth".into(),
        json!({
            "calls_equal": equal,
            "latency_ratio_10k_over_10": worst,
            "latency_ratios": ratios,
            "accounts_small": small.accounts,
            "accounts_large": large.accounts,
        }),
    );
    Ok(())
}

fn max_of(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (one, other) => one.or(other),
    }
}

/// Each goal of the performance budget beside what this run measured.
fn goals(summary: &serde_json::Map<String, Value>) {
    let number = |path: &[&str]| {
        let mut value = summary.get(path[0]);
        for key in &path[1..] {
            value = value.and_then(|inner| inner.get(key));
        }
        value.and_then(Value::as_f64)
    };
    let calls = |route: &str| number(&["dynamodb_calls", route]);
    let most_calls = summary
        .get("dynamodb_calls")
        .and_then(Value::as_object)
        .and_then(|calls| calls.values().filter_map(Value::as_f64).reduce(f64::max));
    let rows: [(&str, Option<f64>, f64, bool); 12] = [
        (
            "cold start: max init / floor",
            number(&["cold_start", "max_init_ratio"]),
            1.5,
            true,
        ),
        (
            "cold start: authorizer / peer",
            number(&["cold_start", "authorizer_peer_ratio"]),
            0.6,
            true,
        ),
        ("DynamoDB calls: authorizer", calls("authorizer"), 1.0, true),
        (
            "DynamoDB calls: sign-in",
            max_of(calls("sign-in"), calls("sign-in-two-factor")),
            3.0,
            true,
        ),
        (
            "DynamoDB calls: verify-code",
            max_of(calls("verify-code"), calls("verify-code-recovery")),
            3.0,
            true,
        ),
        ("DynamoDB calls: every route", most_calls, 4.0, true),
        (
            "largest arm64 zip, MiB",
            number(&["max_package_bytes"]).map(|bytes| bytes / 1048576.0),
            2.0,
            true,
        ),
        (
            "sign-in: hash share of CPU",
            number(&["sign_in_hash_share"]),
            0.9,
            false,
        ),
        (
            "peak resident memory, MiB",
            number(&["max_rss_bytes"]).map(|bytes| bytes / 1048576.0),
            64.0,
            true,
        ),
        (
            "CPU a request: verify-code, ms",
            number(&["cpu_ms_per_request", "verify-code"]),
            2.0,
            true,
        ),
        (
            "CPU a request: authorizer, ms",
            number(&["cpu_ms_per_request", "authorizer"]),
            2.0,
            true,
        ),
        (
            "growth: warm latency 10k / small",
            number(&["growth", "latency_ratio_10k_over_10"]),
            1.1,
            true,
        ),
    ];
    println!("\nGoals");
    for (goal, measured, bound, at_most) in rows {
        let (shown, verdict) = match measured {
            Some(value) if (at_most && value <= bound) || (!at_most && value >= bound) => {
                (format!("{value:.2}"), "met")
            }
            Some(value) => (format!("{value:.2}"), "NOT MET"),
            None => ("-".to_string(), "not measured"),
        };
        let sign = if at_most { "<=" } else { ">=" };
        println!("{goal:<36} {shown:>8}  {sign} {bound:<5} {verdict}");
    }
    let equal = summary
        .get("growth")
        .and_then(|growth| growth.get("calls_equal"))
        .and_then(Value::as_bool);
    println!("{:<36} {:>8}", "growth: calls equal", format!("{equal:?}"));
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    // The benchmark's own calls into the service's code log their warnings and errors.
    let _ = tracing::subscriber::set_global_default(ward::telemetry::subscriber(
        &std::env::var("BENCH_LOG").unwrap_or_else(|_| "warn".into()),
        std::io::stderr,
    ));
    let mut functions: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../functions"))?
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| entry.file_name().into_string().ok())
            .collect();
    functions.sort();
    for function in &functions {
        if !cases::ROUTES
            .iter()
            .any(|(_, served_by)| served_by == function)
        {
            return Err(format!("function {function} has no route in the benchmark").into());
        }
    }
    let app = ward_tests::app().await;
    let mut measured = Measured {
        summary: serde_json::Map::new(),
        peak_rss: BTreeMap::new(),
    };
    // BENCH_PHASES (e.g. "cold,cpu") runs only some phases; all by default.
    let phases =
        std::env::var("BENCH_PHASES").unwrap_or_else(|_| "cold,packages,cpu,growth,flood".into());
    let phase = |name: &str| phases.split(',').any(|listed| listed.trim() == name);
    let mut cold_calls = BTreeMap::new();
    if phase("cold") {
        cold_calls = cold_starts(&mut measured, &app).await?;
    }
    if phase("packages") {
        package_sizes(&mut measured)?;
    }
    if phase("cpu") {
        warm_cpu(&mut measured, &app).await?;
    }
    if phase("growth") {
        growth(&mut measured, &cold_calls).await?;
    }
    if phase("flood") {
        flood::figures(&mut measured.summary).await?;
    }

    println!("\nPeak resident memory per function (across every process of the run)");
    for (function, bytes) in &measured.peak_rss {
        println!("{function:<22} {:>7.1} MiB", *bytes as f64 / 1048576.0);
    }
    let functions_only = measured
        .peak_rss
        .iter()
        .filter(|(function, _)| !matches!(function.as_str(), "floor" | "peer"));
    let max_rss = functions_only.map(|(_, bytes)| *bytes).max().unwrap_or(0);
    measured
        .summary
        .insert("max_rss_bytes".into(), json!(max_rss));
    measured
        .summary
        .insert("rss_bytes".into(), json!(measured.peak_rss));

    goals(&measured.summary);

    let out = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/bench"));
    std::fs::create_dir_all(&out)?;
    // A run of some phases only leaves the whole run's summary alone.
    let whole = std::env::var("BENCH_PHASES").is_err();
    let path = out.join(if whole {
        "summary.json"
    } else {
        "summary.partial.json"
    });
    std::fs::write(&path, serde_json::to_string_pretty(&measured.summary)?)?;
    println!("\nwrote {}", path.display());
    Ok(())
}
