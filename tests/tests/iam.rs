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

use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use ward_tests::{call, invoke, recorded_calls, unique_login, PASSWORD};

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

async fn post(path: &str, body: Value, bearer: Option<&str>) -> (u16, Value) {
    let (status, _, body) = call(Method::POST, path, Some(body), bearer).await;
    (status, body)
}

async fn get(path: &str, bearer: &str) -> (u16, Value) {
    let (status, _, body) = call(Method::GET, path, None, Some(bearer)).await;
    (status, body)
}

fn step() -> i64 {
    ward::Now::current().secs() / 30
}

/// Every route on every path, over HTTP.
async fn every_path() {
    let login = unique_login("iam");
    let credentials = json!({ "login": login, "password": PASSWORD });
    let wrong = json!({ "login": login, "password": "not the password" });
    let password = json!({ "password": PASSWORD });
    let wrong_password = json!({ "password": "not the password" });

    assert_eq!(post("/v1/accounts", credentials.clone(), None).await.0, 201);
    assert_eq!(post("/v1/accounts", credentials.clone(), None).await.0, 409);
    assert_eq!(post("/v1/sign-in", wrong.clone(), None).await.0, 401);
    let unknown = json!({ "login": unique_login("iam-nobody"), "password": "not the password" });
    assert_eq!(post("/v1/sign-in", unknown, None).await.0, 401);
    let (status, signed_in) = post("/v1/sign-in", credentials.clone(), None).await;
    assert_eq!(status, 200);
    let session = signed_in["session_token"].as_str().unwrap().to_string();
    let bearer = Some(session.as_str());
    assert_eq!(get("/v1/account", &session).await.0, 200);
    assert_eq!(get("/v1/whoami", &session).await.0, 200);
    assert_eq!(get("/v1/account/events", &session).await.0, 200);

    // Enrolment: a wrong password, a wrong code, the right one; then the conflicts.
    assert_eq!(
        post("/v1/two-factor/setup", wrong_password.clone(), bearer)
            .await
            .0,
        403
    );
    let (status, setup) = post("/v1/two-factor/setup", password.clone(), bearer).await;
    assert_eq!(status, 200);
    let secret = data_encoding::BASE32_NOPAD
        .decode(setup["secret"].as_str().unwrap().as_bytes())
        .unwrap();
    let enrolled_at = step();
    let wrong_code = json!({ "code": "000000" });
    let verify_wrong = post("/v1/two-factor/setup/verify", wrong_code, bearer).await;
    assert!(matches!(verify_wrong.0, 401 | 429), "{verify_wrong:?}");
    let code = ward::totp::code_at_step(&secret, enrolled_at).unwrap();
    let (status, enabled) = post(
        "/v1/two-factor/setup/verify",
        json!({ "code": code }),
        bearer,
    )
    .await;
    assert_eq!(status, 200, "{enabled}");
    let codes: Vec<String> = enabled["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        post("/v1/two-factor/setup", password.clone(), bearer)
            .await
            .0,
        409
    );
    assert_eq!(
        post(
            "/v1/two-factor/setup/verify",
            json!({ "code": code }),
            bearer
        )
        .await
        .0,
        409
    );

    // The second factor: a wrong code, the app's next code, a recovery code.
    let (_, challenge) = post("/v1/sign-in", credentials.clone(), None).await;
    let mfa = challenge["mfa_token"].as_str().unwrap().to_string();
    let wrong_factor = json!({ "mfa_token": mfa, "code": "000000" });
    assert_eq!(post("/v1/sign-in/verify", wrong_factor, None).await.0, 401);
    let next = ward::totp::code_at_step(&secret, enrolled_at + 1).unwrap();
    let by_code = post(
        "/v1/sign-in/verify",
        json!({ "mfa_token": mfa, "code": next }),
        None,
    )
    .await;
    assert_eq!(by_code.0, 200, "{by_code:?}");
    let (_, challenge) = post("/v1/sign-in", credentials.clone(), None).await;
    let mfa = challenge["mfa_token"].as_str().unwrap().to_string();
    let by_recovery = json!({ "mfa_token": mfa, "recovery_code": codes[0] });
    assert_eq!(post("/v1/sign-in/verify", by_recovery, None).await.0, 200);
    let spent = json!({ "mfa_token": mfa, "code": "123456" });
    assert_eq!(post("/v1/sign-in/verify", spent, None).await.0, 401);

    // Recovery codes, after a wrong password and the right one.
    for route in ["view", "regenerate"] {
        let path = format!("/v1/two-factor/recovery-codes/{route}");
        assert_eq!(post(&path, wrong_password.clone(), bearer).await.0, 403);
        assert_eq!(post(&path, password.clone(), bearer).await.0, 200);
    }

    // Personal access tokens: create, list, use on whoami and the authorizer, revoke.
    let token_body = json!({ "name": "iam", "password": PASSWORD });
    assert_eq!(
        post(
            "/v1/tokens",
            json!({ "name": "iam", "password": "nope nope" }),
            bearer
        )
        .await
        .0,
        403
    );
    let (status, created) = post("/v1/tokens", token_body.clone(), bearer).await;
    assert_eq!(status, 201);
    let (_, for_authorizer) = post("/v1/tokens", token_body, bearer).await;
    let token = created["token"].as_str().unwrap().to_string();
    assert_eq!(get("/v1/tokens", &session).await.0, 200);
    assert_eq!(get("/v1/whoami", &token).await.0, 200);
    assert_eq!(get("/v1/account", &token).await.0, 403);
    let saved = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/events/authorizer-request.json"
    ))
    .unwrap();
    for bearer in [for_authorizer["token"].as_str().unwrap(), session.as_str()] {
        let event: Value =
            serde_json::from_str(&saved.replace("REPLACE_WITH_A_TOKEN", bearer)).unwrap();
        assert_eq!(invoke("authorizer", &event).await["isAuthorized"], true);
    }
    let id = created["id"].as_str().unwrap();
    let revoke = |id: String| {
        let session = session.clone();
        async move {
            call(
                Method::DELETE,
                &format!("/v1/tokens/{id}"),
                None,
                Some(&session),
            )
            .await
            .0
        }
    };
    assert_eq!(revoke(id.to_string()).await, 204);
    assert_eq!(revoke(id.to_string()).await, 404);

    // Disable, then every route that needs 2FA on.
    assert_eq!(
        post("/v1/two-factor/disable", wrong_password.clone(), bearer)
            .await
            .0,
        403
    );
    assert_eq!(
        post("/v1/two-factor/disable", password.clone(), bearer)
            .await
            .0,
        200
    );
    for route in [
        "/v1/two-factor/disable",
        "/v1/two-factor/recovery-codes/view",
        "/v1/two-factor/recovery-codes/regenerate",
    ] {
        assert_eq!(
            post(route, password.clone(), bearer).await.0,
            409,
            "{route}"
        );
    }
    assert_eq!(
        post(
            "/v1/two-factor/setup/verify",
            json!({ "code": "123456" }),
            bearer
        )
        .await
        .0,
        409
    );

    throttled_paths().await;

    let (status, _, _) = call(Method::POST, "/v1/sign-out", None, bearer).await;
    assert_eq!(status, 204);
    let (status, _, _) = call(Method::POST, "/v1/sign-out", None, bearer).await;
    assert_eq!(status, 401);
}

/// Locks: the password throttle on sign-in (a known and an unknown login) and on a
/// password-confirmed route, the second-factor throttle on Verify2FACode.
async fn throttled_paths() {
    let login = unique_login("iam-lock");
    let credentials = json!({ "login": login, "password": PASSWORD });
    assert_eq!(post("/v1/accounts", credentials.clone(), None).await.0, 201);
    let (_, signed_in) = post("/v1/sign-in", credentials.clone(), None).await;
    let session = signed_in["session_token"].as_str().unwrap().to_string();
    let wrong = json!({ "login": login, "password": "not the password" });
    let unknown = json!({ "login": unique_login("iam-nobody"), "password": "not the password" });
    for body in [wrong, unknown] {
        let mut statuses = Vec::new();
        for _ in 0..11 {
            statuses.push(post("/v1/sign-in", body.clone(), None).await.0);
        }
        assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    }
    let locked = post(
        "/v1/two-factor/setup",
        json!({ "password": PASSWORD }),
        Some(&session),
    )
    .await;
    assert_eq!(locked.0, 429, "{locked:?}");

    let login = unique_login("iam-lock-2fa");
    let credentials = json!({ "login": login, "password": PASSWORD });
    assert_eq!(post("/v1/accounts", credentials.clone(), None).await.0, 201);
    let (_, signed_in) = post("/v1/sign-in", credentials.clone(), None).await;
    let session = signed_in["session_token"].as_str().unwrap().to_string();
    let (_, setup) = post(
        "/v1/two-factor/setup",
        json!({ "password": PASSWORD }),
        Some(&session),
    )
    .await;
    let secret = data_encoding::BASE32_NOPAD
        .decode(setup["secret"].as_str().unwrap().as_bytes())
        .unwrap();
    let code = ward::totp::code_at_step(&secret, step()).unwrap();
    let enabled = post(
        "/v1/two-factor/setup/verify",
        json!({ "code": code }),
        Some(&session),
    )
    .await;
    assert_eq!(enabled.0, 200, "{enabled:?}");
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let (_, challenge) = post("/v1/sign-in", credentials.clone(), None).await;
        let mfa = challenge["mfa_token"].as_str().unwrap().to_string();
        for _ in 0..3 {
            let guess = json!({ "mfa_token": mfa, "code": "000000" });
            statuses.push(post("/v1/sign-in/verify", guess, None).await.0);
        }
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}

#[tokio::test]
async fn each_function_is_granted_exactly_the_calls_it_makes() {
    every_path().await;
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
