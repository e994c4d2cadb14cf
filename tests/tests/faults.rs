#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Real DynamoDB's refusals, injected by the emulator's fault switch: a write colliding with a
//! running transaction, a transaction cancelled for a conflict, throttling, a dropped connection.
//! Under each: no 500; a conflict is sent again and succeeds, or, when it keeps failing, the
//! answer is `503 service_unavailable` and a read-back shows the state as it was.
//!
//! Each rule matches only requests that hold this test's own account id or login, so the tests
//! run beside every other test of the suite.

use reqwest::Method;
use serde_json::json;
use ward::domain::account::{self as accounts, SignIn};
use ward::domain::second_factor::SecondFactor;
use ward::domain::two_factor;
use ward::store::{keys, Item};
use ward::{Error, Now};
use ward_tests::verify;
use ward_tests::{
    app, call, clear_faults, client, enrolled_account, inject, logged_types, mfa_token,
    signed_in_account, start_setup, unique_login, Fault, PASSWORD,
};

/// Many more failures than any retry makes: the fault holds until it is cleared.
const HOLDS: u32 = 1000;

async fn account_item(app: &ward::App, account_id: &str) -> Item {
    app.store
        .get(keys::account(account_id))
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_write_colliding_with_a_transaction_is_sent_again() {
    let app = app().await;
    let now = Now::current();
    let account = signed_in_account(&app, "fault-retry", now).await;
    let key = format!("ACCOUNT#{}", account.account_id);
    inject("UpdateItem", &key, Fault::TransactionConflictException, 2).await;
    let signed_in = accounts::sign_in(&app.store, &account.login, PASSWORD, &client(), now).await;
    assert_eq!(
        clear_faults(&key).await,
        [2],
        "the reservation collided twice"
    );
    assert!(
        matches!(signed_in, Ok(SignIn::SignedIn { .. })),
        "{signed_in:?}"
    );
}

#[tokio::test]
async fn a_write_that_keeps_colliding_is_503_and_changes_nothing() {
    let app = app().await;
    let now = Now::current();
    let account = signed_in_account(&app, "fault-collide", now).await;
    let before = account_item(&app, &account.account_id).await;
    let events_before = logged_types(&app, &account.account_id).await;
    let key = format!("ACCOUNT#{}", account.account_id);
    inject(
        "UpdateItem",
        &key,
        Fault::TransactionConflictException,
        HOLDS,
    )
    .await;
    let refused = accounts::sign_in(&app.store, &account.login, PASSWORD, &client(), now).await;
    let fired = clear_faults(&key).await;
    assert_eq!(refused.unwrap_err(), Error::ServiceUnavailable);
    assert_eq!(fired, [4], "sent four times in all, then given up");
    assert_eq!(account_item(&app, &account.account_id).await, before);
    assert_eq!(logged_types(&app, &account.account_id).await, events_before);
}

#[tokio::test]
async fn a_transaction_cancelled_for_a_conflict_is_sent_again() {
    let app = app().await;
    let account = enrolled_account(&app, "fault-tx-retry", Now::current()).await;
    let now = account.enrolled_at.plus_secs(30);
    let token = mfa_token(&app, &account.login, now).await;
    let key = format!("ACCOUNT#{}", account.account_id);
    inject("TransactWriteItems", &key, Fault::TransactionConflict, 1).await;
    let code = SecondFactor::Code(account.code_after(1));
    let verified = verify(&app, &token, &code, &client(), now).await;
    assert_eq!(clear_faults(&key).await, [1]);
    assert!(verified.is_ok(), "{verified:?}");
}

#[tokio::test]
async fn a_second_factor_whose_transaction_keeps_conflicting_is_503_and_the_code_stays_unused() {
    let app = app().await;
    let account = enrolled_account(&app, "fault-tx", Now::current()).await;
    let now = account.enrolled_at.plus_secs(30);
    let token = mfa_token(&app, &account.login, now).await;
    let key = format!("ACCOUNT#{}", account.account_id);
    let step_before =
        ward::store::get_n(&account_item(&app, &account.account_id).await, "last_step");
    inject(
        "TransactWriteItems",
        &key,
        Fault::TransactionConflict,
        HOLDS,
    )
    .await;
    let code = SecondFactor::Code(account.code_after(1));
    let refused = verify(&app, &token, &code, &client(), now).await;
    clear_faults(&key).await;
    assert_eq!(refused.unwrap_err(), Error::ServiceUnavailable);
    let after = account_item(&app, &account.account_id).await;
    assert_eq!(
        ward::store::get_n(&after, "last_step"),
        step_before,
        "the code was not used"
    );
    let events = logged_types(&app, &account.account_id).await;
    assert_eq!(
        events.iter().filter(|kind| *kind == "signed_in").count(),
        1,
        "{events:?}"
    );
    // Nothing changed: the same mfa_token and the same code sign in once the database recovers.
    let verified = verify(&app, &token, &code, &client(), now).await;
    assert!(verified.is_ok(), "{verified:?}");
}

/// Two requests with one code, each past the check against `last_step` before either commits:
/// the loser's transaction is cancelled by its condition, and it answers `invalid_code` and counts
/// as a failed attempt (its event is logged). A loser that merely came second is refused by the
/// check before the transaction; the race is repeated until the commit-time loss has happened.
#[tokio::test]
async fn a_lost_race_on_a_code_is_invalid_code_and_counts_as_an_attempt() {
    let (app, calls) = ward_tests::counted_app().await;
    let mut lost_at_commit = 0;
    for _ in 0..10 {
        let account = enrolled_account(&app, "fault-race", Now::current()).await;
        let now = account.enrolled_at.plus_secs(30);
        let first = mfa_token(&app, &account.login, now).await;
        let second = mfa_token(&app, &account.login, now).await;
        let code = SecondFactor::Code(account.code_after(1));
        let who = client();
        calls.take();
        let (a, b) = futures::join!(
            verify(&app, &first, &code, &who, now),
            verify(&app, &second, &code, &who, now)
        );
        let lost: Vec<_> = [a, b].into_iter().filter_map(Result::err).collect();
        assert_eq!(lost, [Error::InvalidCode]);
        let events = logged_types(&app, &account.account_id).await;
        let failures = events.iter().filter(|kind| *kind == "two_factor_failed");
        assert_eq!(failures.count(), 1, "{events:?}");
        // The winner's commit, the loser's refused attempt, and, when the loser lost at commit
        // rather than at the check, its cancelled commit.
        let transactions = calls
            .take()
            .iter()
            .filter(|call| *call == "TransactWriteItems")
            .count();
        if transactions == 3 {
            lost_at_commit += 1;
            break;
        }
    }
    assert_eq!(
        lost_at_commit, 1,
        "the race was lost at commit at least once"
    );
}

#[tokio::test]
async fn throttling_on_enable_is_503_with_two_factor_still_off_then_the_same_code_enables() {
    let app = app().await;
    let now = Now::current();
    let account = signed_in_account(&app, "fault-throttle", now).await;
    let keys = app.keys().await.unwrap();
    let (secret, _) = ward_tests::start_setup(&app, &account.session, now).await;
    let code = ward::crypto::totp::code_at_step(&secret, now.secs() / 30).unwrap();
    let key = format!("ACCOUNT#{}", account.account_id);
    for fault in [Fault::ProvisionedThroughputExceeded, Fault::Throttling] {
        inject("TransactWriteItems", &key, fault, HOLDS).await;
        let refused =
            two_factor::confirm_setup(&app.store, &keys, &account.session, &code, &client(), now)
                .await;
        assert!(clear_faults(&key).await[0] >= 1);
        assert_eq!(refused.unwrap_err(), Error::ServiceUnavailable, "{fault:?}");
        let status = accounts::status(&app.store, &account.account_id)
            .await
            .unwrap();
        assert!(!status.two_factor_enabled, "{fault:?}");
    }
    let codes =
        two_factor::confirm_setup(&app.store, &keys, &account.session, &code, &client(), now)
            .await
            .unwrap();
    assert_eq!(codes.len(), 10);
}

#[tokio::test]
async fn a_transaction_cancelled_for_throttling_is_503_with_nothing_written() {
    let app = app().await;
    let account = enrolled_account(&app, "fault-tx-throttle", Now::current()).await;
    let now = account.enrolled_at.plus_secs(30);
    let token = mfa_token(&app, &account.login, now).await;
    let key = format!("ACCOUNT#{}", account.account_id);
    let before = account_item(&app, &account.account_id).await;
    inject(
        "TransactWriteItems",
        &key,
        Fault::TransactionThrottled,
        HOLDS,
    )
    .await;
    let code = SecondFactor::Code(account.code_after(1));
    let refused = verify(&app, &token, &code, &client(), now).await;
    assert_eq!(
        clear_faults(&key).await,
        [1],
        "a throttled cancellation is not sent again"
    );
    assert_eq!(refused.unwrap_err(), Error::ServiceUnavailable);
    let after = account_item(&app, &account.account_id).await;
    let step = |item: &Item| ward::store::get_n(item, "last_step");
    assert_eq!(step(&after), step(&before), "the code was not used");
    assert!(verify(&app, &token, &code, &client(), now).await.is_ok());
}

#[tokio::test]
async fn a_throttled_read_is_retried_by_the_sdk_and_a_lasting_one_is_503() {
    let app = app().await;
    let now = Now::current();
    let account = signed_in_account(&app, "fault-read", now).await;
    let digest = ward::crypto::random::digest(&account.session_token);
    inject("GetItem", &digest, Fault::Throttling, 1).await;
    let principal =
        ward::domain::session::authenticate(&app.store, &account.session_token, now).await;
    assert_eq!(clear_faults(&digest).await, [1]);
    assert_eq!(principal.unwrap().account_id, account.account_id);

    inject(
        "GetItem",
        &digest,
        Fault::ProvisionedThroughputExceeded,
        HOLDS,
    )
    .await;
    let refused =
        ward::domain::session::authenticate(&app.store, &account.session_token, now).await;
    clear_faults(&digest).await;
    assert_eq!(refused.unwrap_err(), Error::ServiceUnavailable);
}

#[tokio::test]
async fn a_dropped_connection_is_retried_and_a_lasting_drop_is_503_with_nothing_half_written() {
    let app = app().await;
    let now = Now::current();
    let login = unique_login("fault-drop");
    inject("TransactWriteItems", &login, Fault::Drop, 1).await;
    let created = accounts::sign_up(&app.store, &login, PASSWORD, &client(), now).await;
    assert_eq!(clear_faults(&login).await, [1]);
    assert!(created.is_ok(), "{created:?}");

    let login = unique_login("fault-drop-held");
    inject("TransactWriteItems", &login, Fault::Drop, HOLDS).await;
    let refused = accounts::sign_up(&app.store, &login, PASSWORD, &client(), now).await;
    clear_faults(&login).await;
    assert_eq!(refused.unwrap_err(), Error::ServiceUnavailable);
    let claim = app.store.get(keys::login(&login)).await.unwrap();
    assert!(claim.is_none(), "the login was not claimed");
    assert!(
        accounts::sign_up(&app.store, &login, PASSWORD, &client(), now)
            .await
            .is_ok()
    );
}

/// The same over HTTP, through the function binaries: the contract's 503, never a 500.
#[tokio::test]
async fn over_http_a_lasting_conflict_is_the_contracts_503() {
    let login = unique_login("fault-http");
    let credentials = json!({ "login": login, "password": PASSWORD });
    let (status, _, created) = call(
        Method::POST,
        "/v1/accounts",
        Some(credentials.clone()),
        None,
    )
    .await;
    assert_eq!(status, 201);
    let key = format!("ACCOUNT#{}", created["account_id"].as_str().unwrap());
    for (operation, fault) in [
        ("UpdateItem", Fault::TransactionConflictException),
        ("UpdateItem", Fault::Drop),
        ("UpdateItem", Fault::Throttling),
    ] {
        inject(operation, &key, fault, HOLDS).await;
        let (status, headers, body) =
            call(Method::POST, "/v1/sign-in", Some(credentials.clone()), None).await;
        clear_faults(&key).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (503, Some("service_unavailable")),
            "{fault:?}"
        );
        assert_eq!(body.as_object().unwrap().len(), 2);
        assert_eq!(headers["cache-control"], "no-store");
    }
    let (status, _, _) = call(Method::POST, "/v1/sign-in", Some(credentials), None).await;
    assert_eq!(status, 200, "recovered without restarting anything");
}

// ---- Answers lost to a timeout after the write committed ---------------------------------

#[tokio::test]
async fn an_enable_whose_answer_comes_too_late_answers_its_own_success() {
    let app = app().await;
    let keys = app.keys().await.unwrap();
    let now = Now::current();
    let account = signed_in_account(&app, "late-enable", now).await;
    let (secret, _) = start_setup(&app, &account.session, now).await;
    let code = ward::crypto::totp::code_at_step(&secret, now.secs() / 30).unwrap();
    // The enable's transaction commits, its answer is late, and the SDK sends it again.
    inject("TransactWriteItems", &account.account_id, Fault::Late, 1).await;
    let started = std::time::Instant::now();
    let enabled =
        two_factor::confirm_setup(&app.store, &keys, &account.session, &code, &client(), now).await;
    let waited = started.elapsed();
    assert_eq!(clear_faults(&account.account_id).await, [1]);
    // Given up on after the SDK's read timeout (2 s), then sent again.
    assert!(
        waited >= std::time::Duration::from_millis(1_900),
        "the first answer was waited for and given up on: {waited:?}"
    );
    assert_eq!(
        enabled.unwrap().len(),
        10,
        "the recovery codes of the enable"
    );
    let logged = logged_types(&app, &account.account_id).await;
    assert_eq!(
        logged
            .iter()
            .filter(|kind| *kind == "two_factor_enabled")
            .count(),
        1,
        "enabled once: {logged:?}"
    );
}

#[tokio::test]
async fn a_count_whose_answer_comes_too_late_is_counted_once() {
    let app = app().await;
    let now = Now::current();
    let account = signed_in_account(&app, "late-count", now).await;
    // The count's update commits, its answer is late, and the SDK sends it again.
    inject("UpdateItem", &account.account_id, Fault::Late, 1).await;
    let answer = accounts::sign_in(
        &app.store,
        &account.login,
        "not the password",
        &client(),
        now,
    )
    .await;
    assert_eq!(clear_faults(&account.account_id).await, [1]);
    assert_eq!(answer.unwrap_err(), Error::InvalidCredentials);
    let item = account_item(&app, &account.account_id).await;
    assert_eq!(
        item.get("pw_failures")
            .and_then(|n| n.as_n().ok())
            .map(String::as_str),
        Some("1"),
        "one wrong password, one count"
    );
}

#[tokio::test]
async fn a_sign_in_whose_session_write_finds_2fa_on_but_whose_read_finds_it_off_is_503() {
    let app = app().await;
    let now = Now::current();
    let account = signed_in_account(&app, "race-forced", now).await;
    // The session's transaction refused as if an enable had committed first; the account, read
    // again, says 2FA is off: no session and no mfa_token, but the contract's 503.
    inject(
        "TransactWriteItems",
        &account.account_id,
        Fault::TransactionConditionFailed,
        1,
    )
    .await;
    let answer = accounts::sign_in(&app.store, &account.login, PASSWORD, &client(), now).await;
    assert_eq!(clear_faults(&account.account_id).await, [1]);
    assert!(
        matches!(answer, Err(Error::ServiceUnavailable)),
        "{answer:?}"
    );
    // Once the database agrees with itself again, the password signs in.
    let again = accounts::sign_in(&app.store, &account.login, PASSWORD, &client(), now).await;
    assert!(matches!(again, Ok(SignIn::SignedIn { .. })), "{again:?}");
}
