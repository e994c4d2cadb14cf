#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The security log, the calls each two-factor route makes, and the Verify2FACode body rules.

use serde_json::json;
use ward::domain::records::{Entry, EventKind};
use ward::domain::second_factor::SecondFactor;
use ward::domain::security_log as events;
use ward::domain::two_factor;
use ward::http::routes as handlers;
use ward::Now;
use ward_tests::verify;
use ward_tests::{app, client, counted_app, enrolled_account, mfa_token, parts, request, PASSWORD};

use ward_tests::event_types as types;

#[tokio::test]
async fn every_change_and_failure_is_logged_newest_first() {
    let app = app().await;
    let account = enrolled_account(&app, "log", Now::current()).await;
    // Each step a second apart: entries written at the same instant have no order among them.
    let now = account.enrolled_at;
    let token = mfa_token(&app, &account.login, now.plus_secs(1)).await;
    let wrong = verify(
        &app,
        &token,
        &SecondFactor::Code(account.wrong_code(now.plus_secs(2))),
        &client(),
        now.plus_secs(2),
    )
    .await;
    assert_eq!(wrong.unwrap_err(), ward::Error::InvalidCode);
    let recovery = SecondFactor::RecoveryCode(account.recovery_codes[0].clone());
    verify(&app, &token, &recovery, &client(), now.plus_secs(3))
        .await
        .unwrap();
    two_factor::disable(
        &app.store,
        &account.session,
        PASSWORD,
        &client(),
        now.plus_secs(4),
    )
    .await
    .unwrap();

    let (page, next) = events::page(&app.store, &account.account_id, None, Now::current())
        .await
        .unwrap()
        .into_parts();
    assert_eq!(next, None);
    let seen = types(&page);
    // Newest first: disable, the recovery sign-in (two entries), the failure, then enrolment's own.
    assert_eq!(seen[0], "two_factor_disabled");
    // One request's entries are a millisecond apart: the code was used, then the session opened.
    assert_eq!(seen[1..3], ["signed_in", "recovery_code_used"]);
    assert_eq!(seen[3], "two_factor_failed");
    let mut enrolment = seen[4..].to_vec();
    enrolment.sort();
    assert_eq!(
        enrolment,
        ["account_created", "signed_in", "two_factor_enabled"]
    );
    for entry in &page {
        // The public form of the entry, as the route serialises it.
        let event =
            serde_json::to_value(ward::http::security_log::Event::from(entry.clone())).unwrap();
        let keys: Vec<_> = event.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["at", "ip", "type", "user_agent"]);
        assert_eq!(event["ip"], "192.0.2.10");
        assert!(event["at"].as_str().unwrap().ends_with('Z'));
    }
}

/// The entries of the remaining routes, on the emulator, each listed where it happened: viewing
/// and regenerating recovery codes, creating and revoking a token, ending a session, signing out.
#[tokio::test]
async fn views_regenerations_tokens_and_ended_sessions_are_logged_in_order() {
    let app = app().await;
    let account = enrolled_account(&app, "log-rest", Now::current()).await;
    let now = account.enrolled_at;
    ward_tests::view_codes(&app, &account.session, PASSWORD, now.plus_secs(1))
        .await
        .unwrap();
    ward_tests::regenerate_codes(&app, &account.session, PASSWORD, now.plus_secs(2))
        .await
        .unwrap();
    let token = ward_tests::access_token(&app, &account.session, "log", now.plus_secs(3)).await;
    ward::domain::access_token::revoke(
        &app.store,
        &account.session,
        &token.id,
        &client(),
        now.plus_secs(4),
    )
    .await
    .unwrap();
    let mfa = mfa_token(&app, &account.login, now.plus_secs(5)).await;
    let code = SecondFactor::Code(account.code_after(1));
    let other = verify(&app, &mfa, &code, &client(), now.plus_secs(6))
        .await
        .unwrap();
    let other = ward::domain::session::authenticate(&app.store, &other.session_token, now)
        .await
        .unwrap()
        .require_session()
        .unwrap();
    ward::domain::session::end(
        &app.store,
        &account.session,
        &other.session_id,
        &client(),
        now.plus_secs(7),
    )
    .await
    .unwrap();
    ward::domain::session::sign_out(&app.store, &account.session, &client(), now.plus_secs(8))
        .await
        .unwrap();

    let seen = ward_tests::logged_types(&app, &account.account_id).await;
    assert_eq!(
        seen[..7],
        [
            "signed_out",
            "session_ended",
            "signed_in",
            "token_revoked",
            "token_created",
            "recovery_codes_regenerated",
            "recovery_codes_viewed",
        ],
        "{seen:?}"
    );
    // Enrolment's own three, all written at one instant by the test (so in no order among them).
    let mut enrolment = seen[7..].to_vec();
    enrolment.sort();
    assert_eq!(
        enrolment,
        ["account_created", "signed_in", "two_factor_enabled"]
    );
}

#[tokio::test]
async fn the_log_pages_by_50_with_a_cursor() {
    let app = app().await;
    let account = enrolled_account(&app, "pages", Now::current()).await;
    let own = events::page(&app.store, &account.account_id, None, Now::current())
        .await
        .unwrap()
        .entries
        .len();
    assert!(own < 50, "the enrolment's own entries fit one page: {own}");
    let base = Now::current().plus_secs(10);
    for index in 0..60 {
        let at = Now {
            millis: base.millis + index,
        };
        let item = ward::store::events::event_item(
            &account.account_id,
            &Entry::new(EventKind::SignedIn, &client(), at),
        )
        .unwrap();
        app.store.put(item).await.unwrap();
    }
    let (first, cursor) = events::page(&app.store, &account.account_id, None, Now::current())
        .await
        .unwrap()
        .into_parts();
    assert_eq!(first.len(), 50);
    let cursor = cursor.expect("a second page");
    let (second, end) = events::page(
        &app.store,
        &account.account_id,
        Some(&cursor),
        Now::current(),
    )
    .await
    .unwrap()
    .into_parts();
    assert_eq!(
        second.len(),
        60 + own - 50,
        "the rest of the 60 and the enrolment's own entries"
    );
    assert!(
        types(&first).iter().all(|t| t == "signed_in"),
        "the 60, newest first, fill the first page"
    );
    assert!(
        types(&second).iter().any(|t| t == "account_created"),
        "the oldest entry is on the last page"
    );
    assert_eq!(end, None, "the last page says so");

    let session = &account.session_token;
    let bad = lambda_http::RequestExt::with_query_string_parameters(
        request(
            "GET",
            "/v1/account/events?cursor=bm90LWEtY3Vyc29y",
            None,
            Some(session),
        ),
        std::collections::HashMap::from([("cursor".to_string(), "bm90LWEtY3Vyc29y".to_string())]),
    );
    let (status, body) = parts(handlers::account_events(&app, bad).await.unwrap());
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (400, "invalid_request")
    );
    assert!(body["message"].as_str().unwrap().contains("`cursor`"));
}

#[tokio::test]
async fn verify_code_takes_exactly_one_of_code_and_recovery_code() {
    let app = app().await;
    for body in [
        json!({ "mfa_token": "ward_m_x" }),
        json!({ "mfa_token": "ward_m_x", "code": "123456", "recovery_code": "aaaa-aaaa-aaaa-aaaa" }),
        json!({ "code": "123456" }),
        json!({ "mfa_token": "ward_m_x", "code": 123456 }),
    ] {
        let (status, answer) = parts(
            handlers::verify_code(
                &app,
                request("POST", "/v1/sign-in/verify", Some(body.clone()), None),
            )
            .await
            .unwrap(),
        );
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["error"], "invalid_request");
    }
}

#[tokio::test]
async fn each_two_factor_route_makes_its_documented_dynamodb_calls() {
    let (app, calls) = counted_app().await;
    let now = Now::current();
    let account = enrolled_account(&app, "calls-2fa", now).await;
    let keys = app.keys().await.unwrap();
    calls.take();

    ward::domain::session::authenticate(&app.store, &account.session_token, now)
        .await
        .unwrap();
    assert_eq!(
        calls.take(),
        ["GetItem"],
        "the session read every session route starts with"
    );

    let token = mfa_token(&app, &account.login, now).await;
    assert_eq!(
        calls.take(),
        ["Query", "UpdateItem", "TransactWriteItems"],
        "sign-in, 2FA required"
    );

    let code = SecondFactor::Code(account.code_after(1));
    verify(&app, &token, &code, &client(), now.plus_secs(30))
        .await
        .unwrap();
    assert_eq!(
        calls.take(),
        ["GetItem", "UpdateItem", "TransactWriteItems"],
        "verify-code"
    );

    let token = mfa_token(&app, &account.login, now).await;
    calls.take();
    verify(
        &app,
        &token,
        &SecondFactor::Code("000000".into()),
        &client(),
        now,
    )
    .await
    .unwrap_err();
    assert_eq!(
        calls.take(),
        ["GetItem", "UpdateItem", "TransactWriteItems"],
        "verify-code, wrong code"
    );

    ward_tests::view_codes(&app, &account.session, PASSWORD, now)
        .await
        .unwrap();
    assert_eq!(
        calls.take(),
        ["UpdateItem", "TransactWriteItems"],
        "recovery-view (after the session read)"
    );

    ward_tests::regenerate_codes(&app, &account.session, PASSWORD, now)
        .await
        .unwrap();
    assert_eq!(
        calls.take(),
        ["UpdateItem", "TransactWriteItems"],
        "recovery-regenerate (after the session read)"
    );

    two_factor::disable(&app.store, &account.session, PASSWORD, &client(), now)
        .await
        .unwrap();
    assert_eq!(
        calls.take(),
        ["UpdateItem", "TransactWriteItems"],
        "disable (after the session read)"
    );

    let pending = ward_tests::try_start_setup(&app, &account.session, PASSWORD, now)
        .await
        .unwrap();
    assert_eq!(
        calls.take(),
        ["UpdateItem", "UpdateItem"],
        "setup (after the session read): the attempt, then the pending secret with the reset"
    );

    let secret = data_encoding::BASE32_NOPAD
        .decode(pending.secret.as_bytes())
        .unwrap();
    let code = ward::crypto::totp::code_at_step(&secret, now.secs() / 30 + 1).unwrap();
    two_factor::confirm_setup(
        &app.store,
        &keys,
        &account.session,
        &code,
        &client(),
        now.plus_secs(30),
    )
    .await
    .unwrap();
    assert_eq!(
        calls.take(),
        ["UpdateItem", "Query", "TransactWriteItems"],
        "setup-verify (after the session read): the attempt, the other sessions, the enable"
    );

    events::page(&app.store, &account.account_id, None, Now::current())
        .await
        .unwrap();
    assert_eq!(
        calls.take(),
        ["Query"],
        "account-events (after the session read)"
    );
}

#[tokio::test]
async fn a_lock_is_logged_once_however_many_attempts_it_refuses() {
    let app = app().await;
    let account = enrolled_account(&app, "throttle-log", Now::current()).await;
    let start = account.enrolled_at;
    let token = mfa_token(&app, &account.login, start).await;
    let wrong = SecondFactor::Code(account.wrong_code(start));
    let second_token = mfa_token(&app, &account.login, start).await;
    for attempt in 0..5 {
        let token = if attempt < 4 { &token } else { &second_token };
        let refused = verify(&app, token, &wrong, &client(), start).await;
        assert_eq!(refused.unwrap_err(), ward::Error::InvalidCode);
    }
    let fresh = mfa_token(&app, &account.login, start).await;
    for seconds in [0, 1, 5, 29] {
        let refused = verify(&app, &fresh, &wrong, &client(), start.plus_secs(seconds)).await;
        assert!(matches!(refused, Err(ward::Error::TooManyAttempts { .. })));
    }
    let count = |page: &[ward::domain::records::LoggedEntry]| {
        types(page).iter().filter(|t| *t == "throttled").count()
    };
    let (page, _) = events::page(&app.store, &account.account_id, None, Now::current())
        .await
        .unwrap()
        .into_parts();
    assert_eq!(count(&page), 1, "one entry for the first lock");

    // After the wait, one more failure starts a second lock: one more entry.
    let wrong = SecondFactor::Code(account.wrong_code(start.plus_secs(30)));
    let refused = verify(&app, &fresh, &wrong, &client(), start.plus_secs(30)).await;
    assert_eq!(refused.unwrap_err(), ward::Error::InvalidCode);
    for seconds in [31, 40] {
        let refused = verify(&app, &fresh, &wrong, &client(), start.plus_secs(seconds)).await;
        assert!(matches!(refused, Err(ward::Error::TooManyAttempts { .. })));
    }
    let (page, _) = events::page(&app.store, &account.account_id, None, Now::current())
        .await
        .unwrap()
        .into_parts();
    assert_eq!(count(&page), 2);
}
