#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Accounts, sessions and password throttling against the DynamoDB emulator.

use std::time::{Duration, Instant};
use ward::domain::account as accounts;
use ward::domain::records::Credential;
use ward::domain::session::{self as auth, SESSION_LIFETIME_SECS};
use ward::{Error, Now};
use ward_tests::{app, client, counted_app, session_token, unique_login, PASSWORD};

#[tokio::test]
async fn racing_sign_ups_of_one_login_create_exactly_one_account() {
    let app = app().await;
    let login = unique_login("race");
    let who = client();
    let attempts =
        (0..8).map(|_| accounts::sign_up(&app.store, &login, PASSWORD, &who, Now::current()));
    let results = futures::future::join_all(attempts).await;
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "exactly one sign-up wins");
    for result in &results {
        if let Err(error) = result {
            assert_eq!(*error, Error::LoginTaken);
        }
    }
    let claim = app
        .store
        .get(ward::store::keys::login(&login))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ward::store::get_s(&claim, "account_id"),
        Some(winners[0].account_id.as_str())
    );
    let account = app
        .store
        .get(ward::store::keys::account(&winners[0].account_id))
        .await
        .unwrap();
    assert!(account.is_some());
}

#[tokio::test]
async fn logins_compare_case_insensitively() {
    let app = app().await;
    let login = unique_login("case");
    accounts::sign_up(
        &app.store,
        &login.to_uppercase(),
        PASSWORD,
        &client(),
        Now::current(),
    )
    .await
    .unwrap();
    let again = accounts::sign_up(
        &app.store,
        &format!("  {login}  "),
        PASSWORD,
        &client(),
        Now::current(),
    )
    .await;
    assert_eq!(again.unwrap_err(), Error::LoginTaken);
    session_token(&app, &login.to_uppercase(), Now::current()).await;
}

#[tokio::test]
async fn a_session_expires_after_twelve_hours_by_the_code_not_by_ttl() {
    let app = app().await;
    let login = unique_login("expiry");
    let issued_at = Now::current();
    accounts::sign_up(&app.store, &login, PASSWORD, &client(), issued_at)
        .await
        .unwrap();
    let token = session_token(&app, &login, issued_at).await;

    let just_before = issued_at.plus_secs(SESSION_LIFETIME_SECS - 1);
    let principal = auth::authenticate(&app.store, &token, just_before)
        .await
        .unwrap();
    assert!(matches!(principal.credential, Credential::Session { .. }));
    assert_eq!(principal.login, login);

    let at_expiry = issued_at.plus_secs(SESSION_LIFETIME_SECS);
    assert_eq!(
        auth::authenticate(&app.store, &token, at_expiry)
            .await
            .unwrap_err(),
        Error::Unauthorized
    );
    // The item is still in the table: expiry is the code's decision.
    let digest = ward::crypto::random::digest(&token);
    assert!(app
        .store
        .get(ward::store::keys::session(&digest))
        .await
        .unwrap()
        .is_some());
}

/// The sessions list holds live sessions only: one past its twelve hours is left out, though
/// its items are still in the table.
#[tokio::test]
async fn an_expired_session_is_not_listed() {
    let app = app().await;
    let login = unique_login("expired-listed");
    let issued_at = Now::current();
    accounts::sign_up(&app.store, &login, PASSWORD, &client(), issued_at)
        .await
        .unwrap();
    let old = session_token(&app, &login, issued_at).await;
    let later = issued_at.plus_secs(SESSION_LIFETIME_SECS);
    let fresh = session_token(&app, &login, later.plus_secs(-1)).await;
    let caller = auth::authenticate(&app.store, &fresh, later)
        .await
        .unwrap()
        .require_session()
        .unwrap();
    let old_id = auth::authenticate(&app.store, &old, issued_at)
        .await
        .unwrap()
        .require_session()
        .unwrap()
        .session_id;
    let before = auth::list(&app.store, &caller, later.plus_secs(-1))
        .await
        .unwrap();
    assert_eq!(
        before.len(),
        2,
        "both live a second before the first expires"
    );
    let listed = auth::list(&app.store, &caller, later).await.unwrap();
    let ids: Vec<_> = listed
        .iter()
        .map(|s| s.session.session_id.clone())
        .collect();
    assert_eq!(ids, std::slice::from_ref(&caller.session_id));
    assert!(!ids.contains(&old_id));
}

/// A password outside 8 to 128 characters is refused before it is hashed: 40 refusals take less
/// time than one hash measured in the same run, and make no DynamoDB call.
#[tokio::test]
async fn a_password_out_of_bounds_is_refused_without_a_hash() {
    let (app, calls) = counted_app().await;
    let too_long = "x".repeat(129);
    // The fastest of three hashes, against the fastest of five batches of 40 refusals: beside the
    // suite's other threads, one batch may be descheduled, but if a refusal hashed, every batch
    // would take at least a hash.
    let mut one_hash = Duration::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        ward::crypto::password::hash(PASSWORD).await.unwrap();
        one_hash = one_hash.min(started.elapsed());
    }
    let mut refusals = Duration::MAX;
    for batch in 0..5 {
        let started = Instant::now();
        for round in 0..40 {
            let password = if round % 2 == 0 { "short" } else { &too_long };
            let login = format!("no-hash-{batch}-{round}@example.com");
            let refused =
                accounts::sign_up(&app.store, &login, password, &client(), Now::current()).await;
            assert!(matches!(refused, Err(Error::InvalidRequest(_))));
        }
        refusals = refusals.min(started.elapsed());
    }
    assert!(
        refusals < one_hash,
        "40 refusals took {refusals:?}, one hash {one_hash:?}"
    );
    assert!(calls.take().is_empty(), "a refused password made a call");
}

#[tokio::test]
async fn sessions_are_stored_by_digest_only() {
    let app = app().await;
    let login = unique_login("digest");
    let now = Now::current();
    accounts::sign_up(&app.store, &login, PASSWORD, &client(), now)
        .await
        .unwrap();
    let token = session_token(&app, &login, now).await;
    let item = app
        .store
        .get(ward::store::keys::session(&ward::crypto::random::digest(
            &token,
        )))
        .await
        .unwrap()
        .unwrap();
    let dump = format!("{item:?}");
    assert!(!dump.contains(&token), "the token itself is never stored");
}

#[tokio::test]
async fn sign_out_revokes_the_session_on_the_server() {
    let app = app().await;
    let login = unique_login("signout");
    let now = Now::current();
    accounts::sign_up(&app.store, &login, PASSWORD, &client(), now)
        .await
        .unwrap();
    let token = session_token(&app, &login, now).await;
    let principal = auth::authenticate(&app.store, &token, now)
        .await
        .unwrap()
        .require_session()
        .unwrap();
    auth::sign_out(&app.store, &principal, &client(), now)
        .await
        .unwrap();
    assert_eq!(
        auth::authenticate(&app.store, &token, now)
            .await
            .unwrap_err(),
        Error::Unauthorized
    );
}

/// Wrong passwords at a pinned clock, returning the error codes (and Retry-After) seen.
async fn wrong_passwords(app: &ward::App, login: &str, count: usize, now: Now) -> Vec<Error> {
    let mut seen = Vec::new();
    for _ in 0..count {
        seen.push(
            accounts::sign_in(&app.store, login, "wrong password!", &client(), now)
                .await
                .unwrap_err(),
        );
    }
    seen
}

async fn throttle_sequence(app: &ward::App, login: &str, start: Now) -> Vec<Error> {
    let mut seen = wrong_passwords(app, login, 11, start).await;
    // 29 s later: still locked; 30 s later: one more attempt, which fails and doubles the wait.
    seen.extend(wrong_passwords(app, login, 1, start.plus_secs(29)).await);
    seen.extend(wrong_passwords(app, login, 2, start.plus_secs(30)).await);
    seen
}

#[tokio::test]
async fn ten_wrong_passwords_lock_a_login_for_30_seconds_then_doubling() {
    let app = app().await;
    let login = unique_login("throttle");
    let start = Now::current();
    accounts::sign_up(&app.store, &login, PASSWORD, &client(), start)
        .await
        .unwrap();
    let seen = throttle_sequence(&app, &login, start).await;
    let mut expected = vec![Error::InvalidCredentials; 10];
    expected.push(Error::TooManyAttempts { retry_after: 30 });
    expected.push(Error::TooManyAttempts { retry_after: 1 });
    expected.push(Error::InvalidCredentials);
    expected.push(Error::TooManyAttempts { retry_after: 60 });
    assert_eq!(seen, expected);

    // Even the right password waits out the lock; after it, success resets the count.
    let locked =
        accounts::sign_in(&app.store, &login, PASSWORD, &client(), start.plus_secs(31)).await;
    assert_eq!(
        locked.unwrap_err(),
        Error::TooManyAttempts { retry_after: 59 }
    );
    session_token(&app, &login, start.plus_secs(91)).await;
    let after_reset = wrong_passwords(&app, &login, 9, start.plus_secs(92)).await;
    assert!(after_reset.iter().all(|e| *e == Error::InvalidCredentials));
}

#[tokio::test]
async fn unknown_logins_are_throttled_exactly_like_known_ones() {
    let app = app().await;
    let known = unique_login("known");
    let unknown = unique_login("unknown");
    let start = Now::current();
    accounts::sign_up(&app.store, &known, PASSWORD, &client(), start)
        .await
        .unwrap();
    let for_known = throttle_sequence(&app, &known, start).await;
    let for_unknown = throttle_sequence(&app, &unknown, start).await;
    assert_eq!(for_known, for_unknown);
}

#[tokio::test]
async fn a_burst_of_concurrent_guesses_is_cut_off_at_the_threshold() {
    let app = app().await;
    let login = unique_login("burst");
    let now = Now::current();
    accounts::sign_up(&app.store, &login, PASSWORD, &client(), now)
        .await
        .unwrap();
    let who = client();
    let guesses =
        (0..30).map(|_| accounts::sign_in(&app.store, &login, "wrong password!", &who, now));
    let results = futures::future::join_all(guesses).await;
    let checked = results
        .iter()
        .filter(|r| matches!(r, Err(Error::InvalidCredentials)))
        .count();
    let throttled = results
        .iter()
        .filter(|r| matches!(r, Err(Error::TooManyAttempts { .. })))
        .count();
    assert_eq!(
        checked, 10,
        "exactly the threshold's worth of guesses is checked"
    );
    assert_eq!(throttled, 20);
}

#[tokio::test]
async fn each_route_makes_its_documented_dynamodb_calls() {
    let (app, calls) = counted_app().await;
    let login = unique_login("calls");
    let now = Now::current();

    accounts::sign_up(&app.store, &login, PASSWORD, &client(), now)
        .await
        .unwrap();
    assert_eq!(calls.take(), ["TransactWriteItems"], "sign-up");

    let token = session_token(&app, &login, now).await;
    assert_eq!(
        calls.take(),
        ["Query", "UpdateItem", "TransactWriteItems"],
        "sign-in"
    );

    accounts::sign_in(&app.store, &login, "wrong password!", &client(), now)
        .await
        .unwrap_err();
    assert_eq!(
        calls.take(),
        ["Query", "UpdateItem", "PutItem"],
        "sign-in, wrong password"
    );

    accounts::sign_in(
        &app.store,
        &unique_login("none"),
        "wrong password!",
        &client(),
        now,
    )
    .await
    .unwrap_err();
    assert_eq!(
        calls.take(),
        ["Query", "UpdateItem", "PutItem"],
        "sign-in, unknown login: the same calls as a wrong password"
    );

    let principal = auth::authenticate(&app.store, &token, now).await.unwrap();
    assert_eq!(calls.take(), ["GetItem"], "whoami");

    accounts::status(&app.store, &principal.account_id)
        .await
        .unwrap();
    assert_eq!(
        calls.take(),
        ["GetItem"],
        "account (after the session read)"
    );

    let principal = principal.require_session().unwrap();
    auth::sign_out(&app.store, &principal, &client(), now)
        .await
        .unwrap();
    assert_eq!(
        calls.take(),
        ["TransactWriteItems"],
        "sign-out (after the session read)"
    );
}

#[tokio::test]
async fn an_unreachable_database_is_503_within_seconds() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let app = ward_tests::app_at(&format!("http://127.0.0.1:{port}")).await;
    let started = Instant::now();
    let result = accounts::sign_in(
        &app.store,
        &unique_login("down"),
        PASSWORD,
        &client(),
        Now::current(),
    )
    .await;
    assert_eq!(result.unwrap_err(), Error::ServiceUnavailable);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}
