#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The master key rotates under the running stack, as an operator rotates it (README, "Rotating
//! the master key"): first the new key joins the ring, then, once every instance has read the ring
//! again (`KEY_REFRESH_SECS`), it becomes current. Accounts enrolled before keep signing in,
//! viewing their codes and using them; what they hold is sealed again with the new key when next
//! written; accounts enrolled after are sealed with it from the start.

use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use ward::store::{get_b, get_ss, keys};
use ward_tests::{app, call, unique_login, PASSWORD};

type Enrolled = ward_tests::EnrolledOverHttp;

async fn enrolled() -> Enrolled {
    ward_tests::enrolled_over_http(&unique_login("rotation")).await
}

/// Signs in with the password and then `factor` (`code` or `recovery_code`).
async fn sign_in_with(account: &Enrolled, factor: Value) -> (u16, Value) {
    let (_, _, challenge) = call(
        Method::POST,
        "/v1/sign-in",
        Some(account.credentials.clone()),
        None,
    )
    .await;
    let mut body = factor;
    body["mfa_token"] = challenge["mfa_token"].clone();
    let (status, _, answer) = call(Method::POST, "/v1/sign-in/verify", Some(body), None).await;
    (status, answer)
}

async fn secrets_manager() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&ward::app::sdk_config("ward-tests").unwrap())
}

/// The ring the key secret holds now, as (current, versions).
async fn ring() -> (u8, BTreeMap<u8, String>) {
    let value = secrets_manager()
        .await
        .get_secret_value()
        .secret_id(std::env::var("KEY_SECRET_ID").unwrap())
        .send()
        .await
        .unwrap();
    let text = value.secret_string().unwrap();
    if !text.starts_with('{') {
        return (1, BTreeMap::from([(1, text.to_string())]));
    }
    let ring: Value = serde_json::from_str(text).unwrap();
    let keys = ring["keys"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(version, key)| (version.parse().unwrap(), key.as_str().unwrap().to_string()))
        .collect();
    (ring["current"].as_u64().unwrap() as u8, keys)
}

async fn put_ring(current: u8, keys: &BTreeMap<u8, String>) {
    let ring = json!({ "current": current, "keys": keys });
    secrets_manager()
        .await
        .put_secret_value()
        .secret_id(std::env::var("KEY_SECRET_ID").unwrap())
        .secret_string(ring.to_string())
        .send()
        .await
        .unwrap();
    // Every instance reads the ring again within KEY_REFRESH_SECS.
    let refresh: u64 = std::env::var("KEY_REFRESH_SECS")
        .unwrap_or_default()
        .parse()
        .unwrap_or(300);
    assert!(
        refresh <= 10,
        "the suite runs with KEY_REFRESH_SECS of a few seconds"
    );
    tokio::time::sleep(Duration::from_secs(refresh + 1)).await;
}

#[tokio::test]
async fn the_key_rotates_under_a_running_stack_and_every_account_keeps_working() {
    let app = app().await;
    let before = enrolled().await;
    let (old_version, mut ring_keys) = ring().await;
    let new_version = old_version + 1;
    let mut material = [0u8; 32];
    ward::crypto::random::fill_random(&mut material).unwrap();
    ring_keys.insert(new_version, ward::crypto::random::hex(&material));
    put_ring(old_version, &ring_keys).await; // step 1: the new key joins the ring
    put_ring(new_version, &ring_keys).await; // step 2: it becomes current

    let stored = |account_id: String| {
        let app = &app;
        async move {
            app.store
                .get(keys::account(&account_id))
                .await
                .unwrap()
                .unwrap()
        }
    };
    let item = stored(before.account_id.clone()).await;
    assert_eq!(
        get_b(&item, "tf_secret").unwrap()[0],
        old_version,
        "sealed before the rotation"
    );

    // The account of before: the app's code, then its codes, then one of them.
    let code = ward::crypto::totp::code_at_step(&before.secret, before.step + 1).unwrap();
    let (status, answer) = sign_in_with(&before, json!({ "code": code })).await;
    assert_eq!(status, 200, "{answer}");
    let item = stored(before.account_id.clone()).await;
    assert_eq!(
        get_b(&item, "tf_secret").unwrap()[0],
        new_version,
        "sealed again when written"
    );

    let password = json!({ "password": PASSWORD });
    let (status, _, view) = call(
        Method::POST,
        "/v1/two-factor/recovery-codes/view",
        Some(password),
        Some(&before.session),
    )
    .await;
    assert_eq!(status, 200, "{view}");
    let shown: Vec<&str> = view["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(shown, before.codes, "the same codes");
    let item = stored(before.account_id.clone()).await;
    assert_eq!(get_b(&item, "rc_sealed").unwrap()[0], new_version);
    let prefix = format!("{new_version}:");
    assert!(get_ss(&item, "rc_hashes")
        .iter()
        .all(|id| id.starts_with(&prefix)));

    let (status, answer) = sign_in_with(&before, json!({ "recovery_code": before.codes[3] })).await;
    assert_eq!(
        (status, &answer["recovery_codes_remaining"]),
        (200, &json!(9)),
        "{answer}"
    );
    let (status, _) = sign_in_with(&before, json!({ "recovery_code": before.codes[3] })).await;
    assert_eq!(status, 401, "still single use");

    // An account enrolled after: sealed with the new key from the start.
    let after = enrolled().await;
    let item = stored(after.account_id.clone()).await;
    assert_eq!(get_b(&item, "tf_secret").unwrap()[0], new_version);
    let code = ward::crypto::totp::code_at_step(&after.secret, after.step + 1).unwrap();
    assert_eq!(sign_in_with(&after, json!({ "code": code })).await.0, 200);
    let (status, _) = sign_in_with(&after, json!({ "recovery_code": after.codes[0] })).await;
    assert_eq!(status, 200);
}
