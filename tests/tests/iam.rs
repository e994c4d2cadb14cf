#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! template.yaml's IAM policies, proven from the calls the functions really make.
//!
//! The emulator records every DynamoDB and Secrets Manager call it serves, named by the function
//! that made it (the `app/<name>` of the SDK's user agent) and expanded as IAM authorises it (a
//! `TransactWriteItems` is the `PutItem`, `UpdateItem`, `DeleteItem` and `ConditionCheckItem` of its
//! items). This test drives every route over HTTP through `cargo lambda watch` on every path
//! (success, wrong password, wrong code, throttled, recovery code, state conflicts, the
//! `last_used_at` write beside a request; the first request of each function is its cold start)
//! and then holds each function's policy to exactly what was called: an action missing from a
//! policy is an AccessDenied in AWS, an action never called is a grant nobody needs.

use std::collections::{BTreeMap, BTreeSet};
use ward_tests::recorded_calls;

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
async fn calls_seen() -> Grants {
    let mut used = Grants::new();
    for (function, action, resource) in recorded_calls().await {
        used.entry(function).or_default().insert((action, resource));
    }
    used
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

#[tokio::test]
async fn each_function_is_granted_exactly_the_calls_it_makes() {
    ward_tests::journey::every_path(&ward_tests::api_url()).await;
    let grants = granted();
    // The `last_used_at` writes run beside their requests: wait until they have arrived.
    let mut used = calls_seen().await;
    for _ in 0..50 {
        let seen = |function: &str| {
            used.get(function).is_some_and(|calls| {
                calls
                    .iter()
                    .any(|(action, _)| action == "dynamodb:UpdateItem")
            })
        };
        if seen("whoami") && seen("authorizer") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        used = calls_seen().await;
    }
    for function in grants.keys() {
        assert!(used.contains_key(function), "{function} was never reached");
    }
    let problems = differences(&grants, &used);
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
