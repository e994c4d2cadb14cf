#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The rules an outside review asked for, each with the requests that would break it: sessions
//! that can be listed and ended, 2FA's arrival ending password-only sessions (also when SignIn
//! races it), guesses at a pending setup throttled, `mfa_token`s bound to one enrolment, refusals
//! that say nothing about a login, bounded token lists and logins, a security log in the order
//! things happened.

use reqwest::Method;
use serde_json::{json, Value};
use ward::domain::account as accounts;
use ward::domain::ports::ThrottleStore;
use ward::domain::records::{Count, Counter, FirstRead};
use ward::domain::second_factor::SecondFactor;
use ward::domain::two_factor;
use ward::store::keys;
use ward::{Error, Now};
use ward_tests::verify;
use ward_tests::{
    app, call, client, counted_app, enrolled_account, logged_types, mfa_token, session_token,
    signed_in_account, unique_login, PASSWORD,
};

async fn lives(app: &ward::App, token: &str, now: Now) -> bool {
    ward::domain::session::authenticate(&app.store, token, now)
        .await
        .is_ok()
}

// ---- 1. Sessions ------------------------------------------------------------------------

#[tokio::test]
async fn sessions_are_listed_newest_first_and_end_one_by_one_or_all_but_mine() {
    let login = unique_login("sessions");
    let credentials = json!({ "login": login, "password": PASSWORD });
    call(
        Method::POST,
        "/v1/accounts",
        Some(credentials.clone()),
        None,
    )
    .await;
    let mut tokens = Vec::new();
    for _ in 0..3 {
        let (_, _, body) = call(Method::POST, "/v1/sign-in", Some(credentials.clone()), None).await;
        tokens.push(body["session_token"].as_str().unwrap().to_string());
    }
    let mine = tokens[2].as_str();
    let (status, _, listed) = call(Method::GET, "/v1/sessions", None, Some(mine)).await;
    assert_eq!(status, 200);
    let sessions = listed["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3);
    assert_eq!(sessions[0]["current"], true, "newest first: the caller's");
    assert!(sessions
        .iter()
        .all(|s| s["ip"].is_string() && s["user_agent"].is_string()));
    for token in &tokens {
        assert!(!listed.to_string().contains(token.as_str()));
        assert!(!listed
            .to_string()
            .contains(&ward::crypto::random::digest(token)));
    }

    // End the oldest: dead at once; again, or another account's id, is 404.
    let oldest = sessions[2]["id"].as_str().unwrap();
    let path = format!("/v1/sessions/{oldest}");
    assert_eq!(call(Method::DELETE, &path, None, Some(mine)).await.0, 204);
    assert_eq!(
        call(Method::GET, "/v1/whoami", None, Some(&tokens[0]))
            .await
            .0,
        401
    );
    assert_eq!(call(Method::DELETE, &path, None, Some(mine)).await.0, 404);
    let stranger = unique_login("stranger");
    let theirs = json!({ "login": stranger, "password": PASSWORD });
    call(Method::POST, "/v1/accounts", Some(theirs.clone()), None).await;
    let (_, _, body) = call(Method::POST, "/v1/sign-in", Some(theirs), None).await;
    let their_token = body["session_token"].as_str().unwrap().to_string();
    let middle = sessions[1]["id"].as_str().unwrap();
    let theirs_path = format!("/v1/sessions/{middle}");
    assert_eq!(
        call(Method::DELETE, &theirs_path, None, Some(&their_token))
            .await
            .0,
        404
    );
    assert_eq!(
        call(Method::GET, "/v1/whoami", None, Some(&tokens[1]))
            .await
            .0,
        200
    );

    // End every other: after the password only.
    let end_others = "/v1/sessions/end-others";
    let wrong = call(
        Method::POST,
        end_others,
        Some(json!({ "password": "not it at all" })),
        Some(mine),
    )
    .await;
    assert_eq!(
        (wrong.0, wrong.2["error"].as_str()),
        (403, Some("invalid_password"))
    );
    let (status, _, ended) = call(
        Method::POST,
        end_others,
        Some(json!({ "password": PASSWORD })),
        Some(mine),
    )
    .await;
    assert_eq!((status, &ended), (200, &json!({ "ended": 1 })));
    assert_eq!(
        call(Method::GET, "/v1/whoami", None, Some(&tokens[1]))
            .await
            .0,
        401
    );
    assert_eq!(
        call(Method::GET, "/v1/whoami", None, Some(mine)).await.0,
        200
    );
    let (_, _, listed) = call(Method::GET, "/v1/sessions", None, Some(mine)).await;
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 1);
    let (_, _, events) = call(Method::GET, "/v1/account/events", None, Some(mine)).await;
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|kind| **kind == "session_ended")
            .count(),
        2,
        "{kinds:?}"
    );

    // Ending my own is signing out.
    let (_, _, listed) = call(Method::GET, "/v1/sessions", None, Some(mine)).await;
    let own = listed["sessions"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        call(
            Method::DELETE,
            &format!("/v1/sessions/{own}"),
            None,
            Some(mine)
        )
        .await
        .0,
        204
    );
    assert_eq!(
        call(Method::GET, "/v1/whoami", None, Some(mine)).await.0,
        401
    );
}

// ---- 2. 2FA's arrival ends password-only access ------------------------------------------

#[tokio::test]
async fn enabling_two_factor_ends_every_other_session_however_many() {
    let app = app().await;
    let now = Now::current();
    for others in [2, 35] {
        let account = signed_in_account(&app, "enable-ends", now).await;
        let mut tokens = Vec::new();
        for _ in 0..others {
            tokens.push(session_token(&app, &account.login, now).await);
        }
        let (secret, _) = ward_tests::start_setup(&app, &account.session, now).await;
        let code = ward::crypto::totp::code_at_step(&secret, now.secs() / 30).unwrap();
        let keys = app.keys().await.unwrap();
        two_factor::confirm_setup(&app.store, &keys, &account.session, &code, &client(), now)
            .await
            .unwrap();
        for token in &tokens {
            assert!(
                !lives(&app, token, now).await,
                "{others} others: one survived"
            );
        }
        assert!(
            lives(&app, &account.session_token, now).await,
            "the caller's stays"
        );
        let listed = ward::domain::session::live(&app.store, &account.account_id, now)
            .await
            .unwrap();
        assert_eq!(listed.len(), 1, "{others} others");
        if others == 2 {
            let kinds = logged_types(&app, &account.account_id).await;
            let ended = kinds.iter().filter(|kind| *kind == "session_ended").count();
            assert_eq!(ended, 2, "{kinds:?}");
        }
    }
}

/// SignIn and setup/verify fired together, many times: SignIn yields an `mfa_token`, or a
/// session that the enable ended; never a live password-only session once 2FA is on.
#[tokio::test]
async fn a_sign_in_racing_the_enable_never_keeps_a_password_only_session() {
    let app = app().await;
    let mut outcomes = (0, 0);
    for round in 0..12 {
        // The account and its pending setup are made in-process; the two racing requests are
        // fired over HTTP.
        let now = Now::current();
        let account = signed_in_account(&app, "enable-race", now).await;
        let credentials = json!({ "login": account.login, "password": PASSWORD });
        let session = account.session_token.clone();
        let (secret, _) = ward_tests::start_setup(&app, &account.session, now).await;
        let code = ward::crypto::totp::code_at_step(&secret, Now::current().secs() / 30).unwrap();
        // The SignIn starts 0 to 110 ms after the enable (which takes longer: it lists and
        // deletes), so that it lands before, during and after the enable's write.
        let delay = std::time::Duration::from_millis(10 * round);
        let (signed_in, enabled) = tokio::join!(
            async {
                tokio::time::sleep(delay).await;
                call(Method::POST, "/v1/sign-in", Some(credentials.clone()), None).await
            },
            call(
                Method::POST,
                "/v1/two-factor/setup/verify",
                Some(json!({ "code": code })),
                Some(&session),
            ),
        );
        assert_eq!(enabled.0, 200, "{}", enabled.2);
        assert_eq!(signed_in.0, 200, "{}", signed_in.2);
        match signed_in.2["status"].as_str() {
            Some("two_factor_required") => outcomes.0 += 1,
            Some("signed_in") => {
                outcomes.1 += 1;
                let token = signed_in.2["session_token"].as_str().unwrap();
                let after = call(Method::GET, "/v1/whoami", None, Some(token)).await;
                assert_eq!(after.0, 401, "a password-only session outlived the enable");
            }
            other => panic!("{other:?}"),
        }
    }
    println!(
        "12 races: {} mfa_token, {} session ended by the enable",
        outcomes.0, outcomes.1
    );
}

// ---- 3. Setup/verify guesses are limited -------------------------------------------------

#[tokio::test]
async fn the_sixth_wrong_code_at_setup_is_429_and_each_is_logged() {
    let login = unique_login("setup-guess");
    let credentials = json!({ "login": login, "password": PASSWORD });
    call(
        Method::POST,
        "/v1/accounts",
        Some(credentials.clone()),
        None,
    )
    .await;
    let (_, _, body) = call(Method::POST, "/v1/sign-in", Some(credentials), None).await;
    let session = body["session_token"].as_str().unwrap().to_string();
    call(
        Method::POST,
        "/v1/two-factor/setup",
        Some(json!({ "password": PASSWORD })),
        Some(&session),
    )
    .await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for guess in 0..6 {
        let code = format!("{:06}", 100_000 + guess * 7919);
        let (status, headers, _) = call(
            Method::POST,
            "/v1/two-factor/setup/verify",
            Some(json!({ "code": code })),
            Some(&session),
        )
        .await;
        statuses.push(status);
        retry_after = headers
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
    // The first wait is 30 s from the failure that started the lock, a moment earlier.
    let wait: u64 = retry_after.unwrap().parse().unwrap();
    assert!((28..=30).contains(&wait), "Retry-After {wait}");
    let (_, _, events) = call(Method::GET, "/v1/account/events", None, Some(&session)).await;
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|kind| **kind == "two_factor_failed")
            .count(),
        5,
        "{kinds:?}"
    );
    assert_eq!(kinds[0], "throttled", "{kinds:?}");
}

// ---- 4. An mfa_token belongs to one enrolment --------------------------------------------

#[tokio::test]
async fn an_mfa_token_dies_when_two_factor_is_disabled_or_enabled_again() {
    let app = app().await;
    let account = enrolled_account(&app, "enrolment", Now::current()).await;
    let now = account.enrolled_at;
    let old_token = mfa_token(&app, &account.login, now).await;
    two_factor::disable(&app.store, &account.session, PASSWORD, &client(), now)
        .await
        .unwrap();
    let keys = app.keys().await.unwrap();
    let (secret, _) = ward_tests::start_setup(&app, &account.session, now).await;
    let later = now.plus_secs(30);
    let code = ward::crypto::totp::code_at_step(&secret, later.secs() / 30).unwrap();
    two_factor::confirm_setup(&app.store, &keys, &account.session, &code, &client(), later)
        .await
        .unwrap();
    let next = ward::crypto::totp::code_at_step(&secret, later.secs() / 30 + 1).unwrap();
    let refused = verify(
        &app,
        &old_token,
        &SecondFactor::Code(next.clone()),
        &client(),
        later,
    )
    .await;
    assert_eq!(
        refused.unwrap_err(),
        Error::MfaTokenInvalid,
        "a token of the old enrolment"
    );
    let fresh = mfa_token(&app, &account.login, later).await;
    assert!(
        verify(&app, &fresh, &SecondFactor::Code(next), &client(), later)
            .await
            .is_ok()
    );
}

// ---- 5. A 429 tells nothing about a login -------------------------------------------------

#[tokio::test]
async fn a_locked_known_login_and_a_locked_unknown_one_make_the_same_calls() {
    let (app, calls) = counted_app().await;
    let now = Now::current();
    let known = signed_in_account(&app, "locked-known", now).await.login;
    let unknown = unique_login("locked-unknown");
    let mut seen = Vec::new();
    for login in [&known, &unknown] {
        let mut lists = Vec::new();
        for _ in 0..11 {
            calls.take();
            let answer =
                accounts::sign_in(&app.store, login, "not the password", &client(), now).await;
            lists.push((answer.unwrap_err(), calls.take()));
        }
        seen.push(lists);
    }
    for (attempt, (known, unknown)) in seen[0].iter().zip(&seen[1]).enumerate() {
        assert_eq!(known, unknown, "attempt {}", attempt + 1);
    }

    assert_eq!(
        seen[0][9].1,
        [
            "Query",
            "UpdateItem",
            "UpdateItem",
            "UpdateItem",
            "TransactWriteItems"
        ],
        "the failure that locks: the count learnt, the lock set, the failure and the lock logged, \
         the lock copied onto the login's claim (an unknown login's own record already holds it)"
    );
    let refused = &seen[0][10];
    assert!(matches!(refused.0, Error::TooManyAttempts { .. }));
    assert_eq!(
        refused.1,
        ["Query"],
        "a refusal is the login's read alone: no write"
    );
}

#[tokio::test]
async fn a_lock_is_copied_onto_each_first_read_and_then_refuses_from_it() {
    let (app, calls) = counted_app().await;
    let now = Now::current();
    let owner = enrolled_account(&app, "copied", now).await;
    // Two mfa_tokens before the lock; the one that starts it gets the copy with the lock.
    let (first, second) = (
        mfa_token(&app, &owner.login, now).await,
        mfa_token(&app, &owner.login, now).await,
    );
    let wrong = SecondFactor::Code(owner.wrong_code(now));
    for _ in 0..5 {
        let answer = verify(&app, &first, &wrong, &client(), now).await;
        assert!(matches!(
            answer,
            Err(Error::InvalidCode | Error::MfaTokenInvalid)
        ));
    }
    calls.take();
    let refused = verify(&app, &second, &wrong, &client(), now).await;
    assert!(matches!(refused, Err(Error::TooManyAttempts { .. })));
    assert_eq!(
        calls.take(),
        ["GetItem", "UpdateItem", "UpdateItem"],
        "a token made before the lock: the lock learnt from the refused count, then copied"
    );
    for _ in 0..3 {
        let refused = verify(&app, &second, &wrong, &client(), now).await;
        assert!(matches!(refused, Err(Error::TooManyAttempts { .. })));
        assert_eq!(calls.take(), ["GetItem"], "the token's read alone");
    }

    // The password: ten wrong ones lock it; a session learns of it once, then reads it.
    for _ in 0..10 {
        let _ =
            accounts::sign_in(&app.store, &owner.login, "not the password", &client(), now).await;
    }
    calls.take();
    for expected in [
        &["GetItem", "UpdateItem", "UpdateItem"][..],
        &["GetItem"],
        &["GetItem"],
    ] {
        let session =
            ward::domain::session::authenticate_session(&app.store, &owner.session_token, now)
                .await
                .unwrap();
        let refused = ward::domain::access_token::create(
            &app.store,
            &session,
            "locked",
            PASSWORD,
            None,
            &client(),
            now,
        )
        .await;
        assert!(matches!(refused, Err(Error::TooManyAttempts { .. })));
        assert_eq!(calls.take(), expected, "a password-confirmed route");
    }
}

#[tokio::test]
async fn the_right_password_on_the_attempt_that_locks_lifts_the_copy() {
    let app = app().await;
    let now = Now::current();
    let login = signed_in_account(&app, "lifted", now).await.login;
    for _ in 0..9 {
        let _ = accounts::sign_in(&app.store, &login, "not the password", &client(), now).await;
    }
    // The tenth attempt sets the lock (and copies it onto the claim) before its check; the
    // password is right, so the count starts again and the copy goes with it.
    accounts::sign_in(&app.store, &login, PASSWORD, &client(), now)
        .await
        .unwrap();
    // An attempt that learnt of the lock just before the success and copies it just after: the
    // lifted lock is not copied again.
    let lock = Count {
        failures: 10,
        locked_until: now.secs() + ward::domain::throttle::FIRST_WAIT_SECS,
        last_at: now.secs(),
    };
    app.store
        .copy_lock(FirstRead::Claim(&login), Counter::Password, lock)
        .await
        .unwrap();
    for attempt in 1..=9 {
        let answer =
            accounts::sign_in(&app.store, &login, "not the password", &client(), now).await;
        assert_eq!(
            answer.unwrap_err(),
            Error::InvalidCredentials,
            "wrong attempt {attempt} after the success is checked"
        );
    }
}

#[tokio::test]
async fn a_count_lasts_thirty_days_for_known_and_unknown_logins_alike() {
    let app = app().await;
    let start = Now::current();
    let known = signed_in_account(&app, "lifetime", start).await.login;
    let unknown = unique_login("lifetime-unknown");
    for login in [&known, &unknown] {
        for _ in 0..10 {
            accounts::sign_in(&app.store, login, "not the password", &client(), start)
                .await
                .unwrap_err();
        }
        let later = start.plus_secs(ward::domain::throttle::COUNT_LIFETIME_SECS + 60);
        for _ in 0..2 {
            let answer =
                accounts::sign_in(&app.store, login, "not the password", &client(), later).await;
            assert_eq!(
                answer.unwrap_err(),
                Error::InvalidCredentials,
                "{login}: the count started again"
            );
        }
    }
}

#[tokio::test]
async fn a_login_dormant_past_the_count_lifetime_costs_the_calls_of_an_unknown_one() {
    let (app, calls) = counted_app().await;
    let start = Now::current();
    let known = signed_in_account(&app, "dormant", start).await.login;
    // The last attempt (the sign-in) is older than a count's lifetime; its count is zero.
    let later = start.plus_secs(ward::domain::throttle::COUNT_LIFETIME_SECS + 60);
    calls.take();
    let mut seen = Vec::new();
    for login in [known, unique_login("dormant-unknown")] {
        let answer =
            accounts::sign_in(&app.store, &login, "not the password", &client(), later).await;
        assert_eq!(answer.unwrap_err(), Error::InvalidCredentials);
        seen.push(calls.take());
    }
    assert_eq!(seen[0], ["Query", "UpdateItem", "PutItem"], "dormant login");
    assert_eq!(
        seen[0], seen[1],
        "a dormant login and an unknown one cost alike"
    );
}

#[tokio::test]
async fn a_wrong_code_is_logged_even_when_its_mfa_token_went_meanwhile() {
    use ward::domain::ports::{Failure, TwoFactorStore};
    use ward::domain::records::{Entry, EventKind, Subject};
    let app = app().await;
    let now = Now::current();
    let account = signed_in_account(&app, "token-gone", now).await;
    let failure = Failure {
        subject: Subject::Account(&account.account_id),
        entries: vec![Entry::new(EventKind::TwoFactorFailed, &client(), now)],
    };
    // The digest of an mfa_token that no longer exists (used by a concurrent request, expired).
    let gone = ward::crypto::random::digest("ward_m_gone");
    app.store.record_wrong_code(&gone, &failure).await.unwrap();
    let logged = logged_types(&app, &account.account_id).await;
    assert!(
        logged.iter().any(|kind| kind == "two_factor_failed"),
        "{logged:?}"
    );
}

// ---- 7. Limits that keep every route bounded ---------------------------------------------

#[tokio::test]
async fn an_account_holds_at_most_100_live_tokens_even_when_creates_race() {
    let app = app().await;
    let now = Now::current();
    let account = signed_in_account(&app, "token-limit", now).await;
    let create = |name: String| {
        let app = &app;
        let session = &account.session;
        async move {
            ward::domain::access_token::create(
                &app.store,
                session,
                &name,
                PASSWORD,
                None,
                &client(),
                now,
            )
            .await
        }
    };
    let mut ids = Vec::new();
    for index in 0..97 {
        ids.push(create(format!("t{index}")).await.unwrap().id);
    }
    let racing =
        futures::future::join_all((0..6).map(|index| create(format!("race{index}")))).await;
    let created = racing.iter().filter(|result| result.is_ok()).count();
    let refused: Vec<_> = racing
        .iter()
        .filter_map(|result| result.as_ref().err())
        .collect();
    assert_eq!(created, 3, "{refused:?}");
    assert!(
        refused
            .iter()
            .all(|error| **error == Error::TokenLimitReached),
        "{refused:?}"
    );
    let listed = ward::domain::access_token::list(&app.store, &account.account_id, now)
        .await
        .unwrap();
    assert_eq!(listed.len(), 100);
    ward::domain::access_token::revoke(&app.store, &account.session, &ids[0], &client(), now)
        .await
        .unwrap();
    assert!(create("after a revoke".into()).await.is_ok());
    assert_eq!(
        create("one too many".into()).await.unwrap_err(),
        Error::TokenLimitReached
    );
    // Expired tokens do not count.
    let later = now.plus_secs(31 * 86_400);
    let fresh = ward::domain::access_token::create(
        &app.store,
        &account.session,
        "new",
        PASSWORD,
        Some(1),
        &client(),
        later,
    )
    .await;
    assert!(fresh.is_ok(), "{fresh:?}");
}

#[tokio::test]
async fn logins_are_capped_at_254_bytes_and_a_254_byte_login_gets_its_qr_code() {
    let app = app().await;
    let now = Now::current();
    let too_long = "é".repeat(128);
    let refused = accounts::sign_up(&app.store, &too_long, PASSWORD, &client(), now).await;
    assert!(
        matches!(refused, Err(Error::InvalidRequest(_))),
        "256 bytes: {refused:?}"
    );
    let mut bytes = [0u8; 4];
    ward::crypto::random::fill_random(&mut bytes).unwrap();
    let login = format!("{}{}", ward::crypto::random::hex(&bytes), "é".repeat(123));
    assert_eq!(login.len(), 254);
    let account = accounts::sign_up(&app.store, &login, PASSWORD, &client(), now)
        .await
        .unwrap();
    let token = session_token(&app, &login, now).await;
    let principal = ward::domain::session::authenticate_session(&app.store, &token, now)
        .await
        .unwrap();
    let keys = app.keys().await.unwrap();
    let pending = two_factor::start_setup(
        &app.store,
        &keys,
        "Ward",
        &principal,
        PASSWORD,
        &client(),
        now,
    )
    .await
    .unwrap();
    let png = pending
        .qr_png
        .strip_prefix("data:image/png;base64,")
        .unwrap();
    use base64::Engine;
    let image = image::load_from_memory(
        &base64::engine::general_purpose::STANDARD
            .decode(png)
            .unwrap(),
    )
    .unwrap()
    .to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let (_, content) = prepared.detect_grids()[0].decode().unwrap();
    assert_eq!(content, pending.otpauth_uri);
    assert_eq!(account.login, login);
}

#[tokio::test]
async fn a_qr_code_that_cannot_be_built_leaves_no_pending_secret() {
    let app = app().await;
    let now = Now::current();
    let account = signed_in_account(&app, "qr-fails", now).await;
    let keys = app.keys().await.unwrap();
    let issuer = "x".repeat(3000);
    let failed = two_factor::start_setup(
        &app.store,
        &keys,
        &issuer,
        &account.session,
        PASSWORD,
        &client(),
        now,
    )
    .await;
    assert!(failed.is_err());
    let item = app
        .store
        .get(keys::account(&account.account_id))
        .await
        .unwrap()
        .unwrap();
    assert!(
        !item.contains_key("tf_pending"),
        "a pending secret was written"
    );
}

// ---- 8. The security log tells the truth -------------------------------------------------

#[tokio::test]
async fn a_throttled_entry_follows_the_failure_that_caused_it() {
    let app = app().await;
    let now = Now::current();
    let account = signed_in_account(&app, "log-order", now).await;
    // A few milliseconds apart, as requests are: the order is the clock's, not the key's chance.
    for attempt in 1..=11 {
        let at = Now {
            millis: now.millis + attempt * 5,
        };
        let _ = accounts::sign_in(
            &app.store,
            &account.login,
            "not the password",
            &client(),
            at,
        )
        .await;
    }
    let kinds = logged_types(&app, &account.account_id).await;
    assert_eq!(
        &kinds[..2],
        ["throttled", "sign_in_failed"],
        "newest first: {kinds:?}"
    );
    assert_eq!(kinds.iter().filter(|kind| *kind == "throttled").count(), 1);
}

#[tokio::test]
async fn entries_past_their_year_are_never_listed() {
    let app = app().await;
    let long_ago = Now::current().plus_secs(-(ward::domain::security_log::RETENTION_SECS + 86_400));
    let account = signed_in_account(&app, "log-expiry", long_ago).await;
    let kinds = logged_types(&app, &account.account_id).await;
    assert!(
        kinds.is_empty(),
        "entries of more than a year ago are listed: {kinds:?}"
    );
    let recent: Value = json!(logged_types(&app, &account.account_id).await);
    assert_eq!(recent, json!([]));
}
