#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Hostile input through the routes themselves, against the emulator: any cursor, any path id,
//! any authenticator or recovery code reaches the handler and comes back as the contract's answer
//! in its shape (a page or a 400 for a cursor, a 404 for an id, a 401 for a code), never a 500 and
//! never a panic. Properties (proptest), each case a real request on a live session.

use lambda_http::RequestExt;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};
use std::collections::HashMap;
use ward::http::routes as handlers;
use ward::Now;
use ward_tests::{app, enrolled_account, mfa_token, parts, request, signed_in_account};

/// Runs `future` to completion from inside a proptest case (the tests run on a multi-threaded
/// runtime, whose worker may block).
fn wait<F: std::future::Future>(future: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
}

/// The answer is `status` with exactly `error` (= `code`) and `message`.
fn is_refusal(answer: &(u16, Value), status: u16, code: &str) -> Result<(), TestCaseError> {
    let (got, body) = answer;
    prop_assert_eq!(*got, status, "{}", body);
    prop_assert_eq!(body["error"].as_str(), Some(code), "{}", body);
    prop_assert_eq!(body.as_object().map(|o| o.len()), Some(2), "{}", body);
    prop_assert!(body["message"].is_string(), "{}", body);
    Ok(())
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Any text as `?cursor=`: a page exactly when it has the form of the log's own cursors (so no
/// other text is ever sent to DynamoDB as a key, where an oversized one would be refused), and
/// otherwise a 400 naming the cursor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_cursor_is_a_page_or_a_400() {
    let app = app().await;
    let account = signed_in_account(&app, "cursor", Now::current()).await;
    let session = account.session_token.clone();
    let cursors = prop_oneof![
        "\\PC{0,120}",
        "[A-Za-z0-9_-]{0,80}",
        // Base64url of text that looks like this store's sort keys, and of text that does not.
        "EVENT#[0-9a-f#]{0,50}|EVENT#\\PC{0,20}|[ -~]{0,60}"
            .prop_map(|key| base64_url(key.as_bytes())),
    ];
    let (pages, refused) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    runner(300)
        .run(&cursors, |cursor| {
            let mut request = request("GET", "/v1/account/events", None, Some(&session));
            request = request.with_query_string_parameters(HashMap::from([(
                "cursor".to_string(),
                cursor.clone(),
            )]));
            let answer = parts(wait(handlers::account_events(&app, request)).unwrap());
            prop_assert_eq!(
                answer.0 == 200,
                of_this_store(&cursor),
                "{}: {}",
                cursor,
                answer.1
            );
            if answer.0 == 200 {
                pages.set(pages.get() + 1);
                prop_assert!(answer.1["events"].is_array(), "{}", answer.1);
            } else {
                refused.set(refused.get() + 1);
                is_refusal(&answer, 400, "invalid_request")?;
                prop_assert!(
                    answer.1["message"].as_str().unwrap().contains("cursor"),
                    "{}",
                    answer.1
                );
            }
            Ok(())
        })
        .unwrap();
    let (pages, refused) = (pages.get(), refused.get());
    println!("300 cursors: {pages} pages, {refused} refused");
    assert!(refused > 0 && pages > 0, "{pages} pages, {refused} refused");
}

/// Whether `cursor` is of the form the log hands out: base64url of `EVENT#` and the rest of a
/// sort key (a 13-digit instant, `#`, a hex suffix; at most 40 characters in all). Any other
/// text never reaches the database as a key.
fn of_this_store(cursor: &str) -> bool {
    use base64::Engine;
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor) else {
        return false;
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return false;
    };
    text.strip_prefix("EVENT#").is_some_and(|rest| {
        rest.len() <= 40 && rest.chars().all(|c| c.is_ascii_hexdigit() || c == '#')
    })
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Any path id on the two routes that take one: `404 not_found`, and nothing is ended or revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_path_id_is_a_404_and_ends_nothing() {
    let app = app().await;
    let account = signed_in_account(&app, "path-id", Now::current()).await;
    let session = account.session_token.clone();
    // Another session and a token, which no id below may end or revoke.
    let other = ward_tests::session_token(&app, &account.login, Now::current()).await;
    let token = ward_tests::access_token(&app, &account.session, "path-id", Now::current()).await;
    let ids = prop_oneof!["\\PC{0,80}", "[0-9a-fA-F]{30,34}", "[0-9a-f]{32}"];
    runner(200)
        .run(&ids, |id| {
            for (route, parameter) in [("sessions", "session_id"), ("tokens", "token_id")] {
                let request = ward_tests::with_path_parameter(
                    request("DELETE", &format!("/v1/{route}/x"), None, Some(&session)),
                    parameter,
                    &id,
                );
                let answer = if route == "sessions" {
                    wait(handlers::session_end(&app, request))
                } else {
                    wait(handlers::token_revoke(&app, request))
                };
                is_refusal(&parts(answer.unwrap()), 404, "not_found")?;
            }
            Ok(())
        })
        .unwrap();
    for bearer in [&session, &other, &token.token] {
        let whoami = handlers::whoami(&app, request("GET", "/v1/whoami", None, Some(bearer))).await;
        assert_eq!(
            parts(whoami.unwrap()).0,
            200,
            "every session and the token still work"
        );
    }
}

/// An account with a fresh `mfa_token` for each case, and a new account before the fifth
/// failure would lock the second factor: every case is checked, none is refused by a lock.
struct Accounts {
    account: Option<std::sync::Arc<ward_tests::Enrolled>>,
    failures: u32,
    made: u32,
}

impl Accounts {
    fn next(&mut self, app: &ward::App) -> (String, std::sync::Arc<ward_tests::Enrolled>) {
        if self.account.is_none() || self.failures == 4 {
            self.account = Some(std::sync::Arc::new(wait(enrolled_account(
                app,
                &format!("codes-{}", self.made),
                Now::current(),
            ))));
            self.failures = 0;
            self.made += 1;
        }
        let account = self.account.clone().unwrap();
        self.failures += 1;
        (
            wait(mfa_token(app, &account.login, Now::current())),
            account,
        )
    }
}

/// Any text as an authenticator code or a recovery code: `401 invalid_code` unless it is the
/// code, and the code itself still signs in afterwards (no hostile input spent it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_code_or_recovery_code_is_a_401_unless_it_is_the_code() {
    let app = app().await;
    let accounts = std::cell::RefCell::new(Accounts {
        account: None,
        failures: 0,
        made: 0,
    });
    let inputs = (
        any::<bool>(),
        prop_oneof![
            "\\PC{0,40}",
            "[0-9]{5,7}",
            "[0-9 \\t]{6,12}",
            "[a-z0-9]{4}(-[a-z0-9]{4}){3}",
            "[A-Z0-9 -]{16,24}",
        ],
    );
    runner(48)
        .run(&inputs, |(recovery, text)| {
            let (token, account) = accounts.borrow_mut().next(&app);
            let field = if recovery { "recovery_code" } else { "code" };
            let now = Now::current();
            let genuine = (-1..=1).any(|drift| {
                let step = now.secs() / 30 + drift;
                ward::crypto::totp::code_at_step(&account.secret, step).unwrap()
                    == text.split_whitespace().collect::<String>()
            }) || ward::domain::recovery::normalise(&text).is_some_and(|typed| {
                account
                    .recovery_codes
                    .iter()
                    .any(|code| ward::domain::recovery::normalise(code).as_ref() == Some(&typed))
            });
            prop_assume!(!genuine);
            let body = json!({ "mfa_token": token, field: text });
            let answer = wait(handlers::verify_code(
                &app,
                request("POST", "/v1/sign-in/verify", Some(body), None),
            ));
            is_refusal(&parts(answer.unwrap()), 401, "invalid_code")
        })
        .unwrap();
    // The last account's real code still signs in: nothing above was taken for it.
    let accounts = accounts.into_inner();
    let account = accounts.account.unwrap();
    let token = mfa_token(&app, &account.login, Now::current()).await;
    let body = json!({ "mfa_token": token, "code": account.code_after(1) });
    let answer = handlers::verify_code(
        &app,
        request("POST", "/v1/sign-in/verify", Some(body), None),
    )
    .await;
    assert_eq!(parts(answer.unwrap()).0, 200);
    println!("48 hostile codes on {} accounts", accounts.made);
}

/// Any text as set-up's confirming code: `401 invalid_code`, and the pending secret stays (the
/// right code then enables).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_setup_code_is_a_401_and_the_pending_secret_stays() {
    let app = app().await;
    let texts = prop_oneof!["\\PC{0,40}", "[0-9]{5,7}", "[0-9 ]{6,10}"];
    let account = std::cell::RefCell::new(None);
    let tried = std::cell::Cell::new(0);
    runner(32)
        .run(&texts, |text| {
            if tried.get() % 4 == 0 {
                let signed_in = wait(signed_in_account(&app, "setup-codes", Now::current()));
                let (secret, _) = wait(ward_tests::start_setup(
                    &app,
                    &signed_in.session,
                    Now::current(),
                ));
                *account.borrow_mut() = Some((signed_in, secret));
            }
            tried.set(tried.get() + 1);
            let held = account.borrow();
            let (signed_in, secret) = held.as_ref().unwrap();
            let now = Now::current().secs() / 30;
            let typed: String = text.split_whitespace().collect();
            prop_assume!(
                !(now - 1..=now + 1)
                    .any(|step| ward::crypto::totp::code_at_step(secret, step).unwrap() == typed)
            );
            let answer = wait(handlers::setup_verify(
                &app,
                request(
                    "POST",
                    "/v1/two-factor/setup/verify",
                    Some(json!({ "code": text })),
                    Some(&signed_in.session_token),
                ),
            ));
            is_refusal(&parts(answer.unwrap()), 401, "invalid_code")
        })
        .unwrap();
    let (signed_in, secret) = account.into_inner().unwrap();
    let code = ward::crypto::totp::code_at_step(&secret, Now::current().secs() / 30).unwrap();
    let answer = handlers::setup_verify(
        &app,
        request(
            "POST",
            "/v1/two-factor/setup/verify",
            Some(json!({ "code": code })),
            Some(&signed_in.session_token),
        ),
    )
    .await;
    assert_eq!(parts(answer.unwrap()).0, 200, "the pending secret stayed");
}
