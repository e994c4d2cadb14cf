#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! What AWS would see of the service, from one journey over HTTP through every route on every path
//! (`ward_tests::journey`): the IAM actions each function needs, and the lines each process logs.
//!
//! `make test` serves a second `cargo lambda watch` (`WARD_TRACE_API_URL`) that only this file
//! uses, whose functions log at `RUST_LOG=trace`, and names its log and the emulator's
//! (`WARD_TRACE_LOGS`). The journey runs once through it, with every function cold, so each
//! function's first request after its cold start is part of it.
//!
//! IAM: the emulator records every DynamoDB and Secrets Manager call it serves, named by the
//! function that made it (the `app/<name>` of the SDK's user agent) and expanded as IAM authorises
//! it (a `TransactWriteItems` is the `PutItem`, `UpdateItem`, `DeleteItem` and `ConditionCheckItem`
//! of its items). The calls made during the journey must be exactly what template.yaml grants each
//! function: an action missing from a policy is an AccessDenied in AWS, an action never called is
//! a grant nobody needs.
//!
//! Logs: every line those processes wrote is searched for every password, code, secret, token and
//! digest the journey used, for the stored password hashes, sealed secrets and code digests of its
//! accounts, for the master key, and for each request body in base64.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use std::time::Duration;

type Grants = BTreeMap<String, BTreeSet<(String, String)>>;

fn template() -> serde_yaml::Value {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

/// A policy's resource as the recorder names it: `!GetAtt Table.Arn` is the table, `!Ref
/// KeySecret` the key secret, `!Sub "${Table.Arn}/index/<name>"` an index. Anything else (a
/// wildcard, another resource) fails the test.
fn resource_name(resource: &serde_yaml::Value) -> String {
    let table = std::env::var("TABLE_NAME").unwrap();
    let secret = std::env::var("KEY_SECRET_ID").unwrap();
    let serde_yaml::Value::Tagged(tagged) = resource else {
        panic!("a policy resource must name the table, an index or the key secret: {resource:?}");
    };
    match (tagged.tag.to_string().as_str(), tagged.value.as_str()) {
        ("!GetAtt", Some("Table.Arn")) => format!("table:{table}"),
        ("!Ref", Some("KeySecret")) => format!("secret:{secret}"),
        ("!Sub", Some(text)) if text.starts_with("${Table.Arn}/index/") => {
            format!(
                "table:{table}/index/{}",
                &text["${Table.Arn}/index/".len()..]
            )
        }
        other => {
            panic!("a policy resource must name the table, an index or the key secret: {other:?}")
        }
    }
}

fn list(value: &serde_yaml::Value) -> Vec<serde_yaml::Value> {
    match value {
        serde_yaml::Value::Sequence(items) => items.clone(),
        // No `Policies` at all: a function granted nothing.
        serde_yaml::Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// Each function's (action, resource) grants, by its binary's name.
fn granted() -> Grants {
    let mut grants = Grants::new();
    for (name, resource) in template()["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap()
            .to_string();
        let entry = grants.entry(binary).or_default();
        for policy in list(&resource["Properties"]["Policies"]) {
            let statements = policy["Statement"]
                .as_sequence()
                .unwrap_or_else(|| panic!("{name:?}: policies are inline statements"));
            for statement in statements {
                assert_eq!(statement["Effect"], "Allow", "{name:?}");
                for action in list(&statement["Action"]) {
                    for target in list(&statement["Resource"]) {
                        entry
                            .insert((action.as_str().unwrap().to_string(), resource_name(&target)));
                    }
                }
            }
        }
    }
    grants
}

/// What each function was seen calling.
/// What one journey through the trace instance did.
struct Outcome {
    /// (action, resource) pairs each function called during the journey.
    calls: Grants,
    /// What must appear in no log line.
    secrets: Vec<String>,
    /// Every line the trace instance and the emulator wrote.
    logs: String,
}

fn trace_stack() -> (String, Vec<String>) {
    let url = std::env::var("WARD_TRACE_API_URL")
        .expect("WARD_TRACE_API_URL is set by `make test`, which serves the functions at trace");
    let logs = std::env::var("WARD_TRACE_LOGS").unwrap();
    (url, logs.split(':').map(str::to_string).collect())
}

fn read_logs(files: &[String]) -> String {
    files
        .iter()
        .map(|file| {
            let bytes = std::fs::read(file).unwrap_or_else(|error| panic!("{file}: {error}"));
            String::from_utf8_lossy(&bytes).into_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Waits until the log files stop growing (a function's last lines reach them a moment after its
/// answer, and `last_used_at` is written beside the request).
async fn settled_logs(files: &[String]) -> String {
    let mut last = read_logs(files).len();
    let mut quiet = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = read_logs(files).len();
        quiet = if now == last { quiet + 1 } else { 0 };
        last = now;
        if quiet >= 4 {
            break;
        }
    }
    read_logs(files)
}

/// What is stored about the journey's accounts that must never be logged either: password hashes,
/// sealed secrets and recovery code lists (as base64, as a dump would show them), code digests;
/// and the master key.
async fn stored_secrets(accounts: &[String]) -> Vec<String> {
    use aws_sdk_dynamodb::types::AttributeValue;
    use base64::Engine;
    let app = ward_tests::app().await;
    let mut found = Vec::new();
    for account_id in accounts {
        let item = app
            .store
            .get(ward::store::keys::account(account_id))
            .await
            .unwrap()
            .unwrap();
        for (name, value) in &item {
            match (name.as_str(), value) {
                ("password_hash", AttributeValue::S(hash)) => found.push(hash.clone()),
                (_, AttributeValue::B(blob)) => {
                    found.push(base64::engine::general_purpose::STANDARD.encode(blob.as_ref()))
                }
                ("rc_hashes" | "rc_used", AttributeValue::Ss(digests)) => {
                    found.extend(digests.iter().cloned())
                }
                _ => {}
            }
        }
    }
    let sdk = ward::app::sdk_config("ward-tests").unwrap();
    let key = aws_sdk_secretsmanager::Client::new(&sdk)
        .get_secret_value()
        .secret_id(std::env::var("KEY_SECRET_ID").unwrap())
        .send()
        .await
        .unwrap();
    found.push(key.secret_string().unwrap().to_string());
    found
}

/// The calls that rose between two readings of the recorder, by function.
fn rose(
    before: &BTreeMap<(String, String, String), u64>,
    after: &BTreeMap<(String, String, String), u64>,
) -> Grants {
    let mut calls = Grants::new();
    for ((function, action, resource), count) in after {
        let earlier = before
            .get(&(function.clone(), action.clone(), resource.clone()))
            .copied()
            .unwrap_or(0);
        if *count > earlier {
            calls
                .entry(function.clone())
                .or_default()
                .insert((action.clone(), resource.clone()));
        }
    }
    calls
}

/// The journey, run once for both tests of this file.
fn journey() -> &'static Outcome {
    static OUTCOME: OnceLock<Outcome> = OnceLock::new();
    OUTCOME.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let (url, files) = trace_stack();
            let before = ward_tests::recorded_calls().await;
            let run = ward_tests::journey::every_path(&url).await;
            let logs = settled_logs(&files).await;
            let calls = rose(&before, &ward_tests::recorded_calls().await);
            let mut secrets = run.secrets;
            secrets.extend(stored_secrets(&run.accounts).await);
            secrets.push(ward_tests::PASSWORD.to_string());
            secrets.sort();
            secrets.dedup();
            Outcome {
                calls,
                secrets,
                logs,
            }
        })
    })
}

/// Compares grants with calls; the differences, as sentences.
fn differences(grants: &Grants, used: &Grants) -> Vec<String> {
    let mut problems = Vec::new();
    for (function, calls) in used {
        let Some(granted) = grants.get(function) else {
            if !matches!(function.as_str(), "ward-tests" | "unknown") {
                problems.push(format!("{function} made calls but is not in template.yaml"));
            }
            continue;
        };
        for call in calls.difference(granted) {
            problems.push(format!(
                "{function} calls {} on {} without a grant",
                call.0, call.1
            ));
        }
    }
    for (function, granted) in grants {
        let calls = used.get(function).cloned().unwrap_or_default();
        for grant in granted.difference(&calls) {
            problems.push(format!(
                "{function} is granted {} on {} and never uses it",
                grant.0, grant.1
            ));
        }
    }
    problems
}

#[test]
fn each_function_is_granted_exactly_the_calls_it_makes() {
    let outcome = journey();
    let grants = granted();
    // A function granted nothing (the pages) must call nothing, which `differences` checks.
    for (function, _) in grants.iter().filter(|(_, granted)| !granted.is_empty()) {
        assert!(
            outcome.calls.contains_key(function),
            "{function} was never reached"
        );
    }
    let problems = differences(&grants, &outcome.calls);
    assert!(
        problems.is_empty(),
        "template.yaml's policies:\n  {}",
        problems.join("\n  ")
    );
    let summary: Vec<String> = grants
        .iter()
        .map(|(function, grants)| {
            let actions: Vec<&str> = grants.iter().map(|(action, _)| action.as_str()).collect();
            format!("{function}: {}", actions.join(", "))
        })
        .collect();
    println!("{}", summary.join("\n"));
}

#[test]
fn no_line_of_any_process_holds_a_secret_with_the_functions_at_trace() {
    let outcome = journey();
    let text = &outcome.logs;
    assert!(
        text.contains("\"rust_log\":\"trace\""),
        "the functions logged at trace"
    );
    for route in [
        "sign-in",
        "verify-code",
        "setup-verify",
        "token-create",
        "disable",
    ] {
        let line = format!("\"route\":\"{route}\"");
        assert!(text.contains(&line), "{route} ran through this instance");
    }
    assert!(text.contains("authorizer decision"), "the authorizer ran");
    assert!(
        outcome.secrets.len() > 100,
        "{} secrets",
        outcome.secrets.len()
    );
    // A six-digit code is looked for as a value (after a quote, as a logged body holds it), so
    // that the digits of a timestamp or request id cannot match it by chance; the journey's
    // deliberately wrong codes are no secret.
    let needles: Vec<String> = outcome
        .secrets
        .iter()
        .filter(|secret| !["000000", "123456"].contains(&secret.as_str()))
        .map(|secret| {
            if secret.len() == 6 && secret.bytes().all(|b| b.is_ascii_digit()) {
                format!("\"{secret}")
            } else {
                secret.clone()
            }
        })
        .collect();
    let mut found = Vec::new();
    for line in text.lines() {
        for secret in &needles {
            if line.contains(secret.as_str()) {
                found.push(format!("{secret:.12}… in: {line:.300}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "{} lines hold a secret:\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn the_comparison_notices_a_missing_and_an_unused_grant() {
    let table = ("dynamodb:GetItem".to_string(), "table:t".to_string());
    let update = ("dynamodb:UpdateItem".to_string(), "table:t".to_string());
    let grants = Grants::from([("whoami".to_string(), BTreeSet::from([table.clone()]))]);
    let used = Grants::from([(
        "whoami".to_string(),
        BTreeSet::from([table.clone(), update.clone()]),
    )]);
    assert_eq!(
        differences(&grants, &used),
        ["whoami calls dynamodb:UpdateItem on table:t without a grant"]
    );
    let grants = Grants::from([(
        "whoami".to_string(),
        BTreeSet::from([table.clone(), update]),
    )]);
    let used = Grants::from([("whoami".to_string(), BTreeSet::from([table]))]);
    assert_eq!(
        differences(&grants, &used),
        ["whoami is granted dynamodb:UpdateItem on table:t and never uses it"]
    );
}
