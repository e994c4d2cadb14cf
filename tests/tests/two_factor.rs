#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Two-factor authentication against the DynamoDB emulator, with a pinned clock.

use ward::domain::account::{self as accounts, SignIn};
use ward::domain::second_factor::SecondFactor;
use ward::domain::two_factor;
use ward::{Error, Now};
use ward_tests::verify;
use ward_tests::{app, client, enrolled_account, mfa_token, signed_in_account, PASSWORD};

fn code(text: &str) -> SecondFactor {
    SecondFactor::Code(text.to_string())
}

fn recovery(text: &str) -> SecondFactor {
    SecondFactor::RecoveryCode(text.to_string())
}

#[tokio::test]
async fn enrolment_goes_none_pending_enabled_and_the_confirming_code_is_used() {
    let app = app().await;
    let now = Now::current();
    let ward_tests::SignedIn { login, session, .. } = signed_in_account(&app, "enrol", now).await;
    let keys = app.keys().await.unwrap();

    // Never started: nothing to confirm.
    let never =
        two_factor::confirm_setup(&app.store, &keys, &session, "123456", &client(), now).await;
    assert_eq!(never.unwrap_err(), Error::SetupNotStarted);

    // Wrong password: refused before anything is made.
    let wrong = ward_tests::try_start_setup(&app, &session, "not my password", now).await;
    assert_eq!(wrong.err().unwrap(), Error::InvalidPassword);

    // Step 1 twice: the second secret replaces the first.
    let first = ward_tests::try_start_setup(&app, &session, PASSWORD, now)
        .await
        .unwrap();
    let second = ward_tests::try_start_setup(&app, &session, PASSWORD, now)
        .await
        .unwrap();
    assert_ne!(first.secret, second.secret);
    assert_eq!(second.expires_in, 600);
    assert!(second
        .otpauth_uri
        .contains(&format!("secret={}", second.secret)));
    let step = now.secs() / 30;
    let secret_of = |base32: &str| {
        data_encoding::BASE32_NOPAD
            .decode(base32.as_bytes())
            .unwrap()
    };
    let old_code = ward::crypto::totp::code_at_step(&secret_of(&first.secret), step).unwrap();
    let refused =
        two_factor::confirm_setup(&app.store, &keys, &session, &old_code, &client(), now).await;
    assert_eq!(refused.unwrap_err(), Error::InvalidCode);

    // A wrong code leaves the pending secret in place.
    let typo =
        two_factor::confirm_setup(&app.store, &keys, &session, "000000", &client(), now).await;
    assert_eq!(typo.unwrap_err(), Error::InvalidCode);
    let secret = secret_of(&second.secret);
    let confirming = ward::crypto::totp::code_at_step(&secret, step).unwrap();
    let codes = two_factor::confirm_setup(&app.store, &keys, &session, &confirming, &client(), now)
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);

    let status = accounts::status(&app.store, &session.account_id)
        .await
        .unwrap();
    assert!(status.two_factor_enabled);
    assert_eq!(status.recovery_codes_remaining, Some(10));
    assert!(status.enabled_at.is_some());

    let again = ward_tests::try_start_setup(&app, &session, PASSWORD, now).await;
    assert_eq!(again.err().unwrap(), Error::TwoFactorAlreadyEnabled);

    // SignIn now asks for the second factor; the confirming code cannot be used again.
    let token = mfa_token(&app, &login, now).await;
    assert_eq!(
        verify(&app, &token, &code(&confirming), &client(), now)
            .await
            .unwrap_err(),
        Error::InvalidCode
    );
    let next = ward::crypto::totp::code_at_step(&secret, step + 1).unwrap();
    let signed_in = verify(&app, &token, &code(&next), &client(), now)
        .await
        .unwrap();
    assert!(signed_in.session_token.starts_with("ward_s_"));
    assert_eq!(signed_in.recovery_codes_remaining, None);
}

#[tokio::test]
async fn a_pending_setup_expires_after_ten_minutes() {
    let app = app().await;
    let now = Now::current();
    let ward_tests::SignedIn { session, .. } = signed_in_account(&app, "pending", now).await;
    let keys = app.keys().await.unwrap();
    let pending = ward_tests::try_start_setup(&app, &session, PASSWORD, now)
        .await
        .unwrap();
    let secret = data_encoding::BASE32_NOPAD
        .decode(pending.secret.as_bytes())
        .unwrap();
    let later = now.plus_secs(600);
    let code = ward::crypto::totp::code_at_step(&secret, later.secs() / 30).unwrap();
    let expired =
        two_factor::confirm_setup(&app.store, &keys, &session, &code, &client(), later).await;
    assert_eq!(expired.unwrap_err(), Error::SetupNotStarted);
}

#[tokio::test]
async fn a_code_is_accepted_once_and_never_an_earlier_one() {
    let app = app().await;
    let account = enrolled_account(&app, "replay", Now::current()).await;
    let at = |steps: i64| account.enrolled_at.plus_secs(30 * steps);

    let token = mfa_token(&app, &account.login, at(2)).await;
    verify(
        &app,
        &token,
        &code(&account.code_after(2)),
        &client(),
        at(2),
    )
    .await
    .unwrap();

    // The same code again, with a fresh mfa_token: refused. So is the step before it.
    let token = mfa_token(&app, &account.login, at(2)).await;
    for replay in [account.code_after(2), account.code_after(1)] {
        assert_eq!(
            verify(&app, &token, &code(&replay), &client(), at(2))
                .await
                .unwrap_err(),
            Error::InvalidCode
        );
    }
    // The next step is fine (one step of clock drift either side is accepted).
    verify(
        &app,
        &token,
        &code(&account.code_after(3)),
        &client(),
        at(2),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn recovery_codes_work_once_and_show_as_used() {
    let app = app().await;
    let account = enrolled_account(&app, "recovery", Now::current()).await;
    let now = account.enrolled_at;

    // Typed in capitals with spaces instead of dashes: still the code.
    let typed = account.recovery_codes[3].to_uppercase().replace('-', " ");
    let token = mfa_token(&app, &account.login, now).await;
    let signed_in = verify(&app, &token, &recovery(&typed), &client(), now)
        .await
        .unwrap();
    assert_eq!(signed_in.recovery_codes_remaining, Some(9));

    let token = mfa_token(&app, &account.login, now).await;
    let again = verify(
        &app,
        &token,
        &recovery(&account.recovery_codes[3]),
        &client(),
        now,
    )
    .await;
    assert_eq!(again.unwrap_err(), Error::InvalidCode);
    let malformed = verify(&app, &token, &recovery("not-a-code"), &client(), now).await;
    assert_eq!(malformed.unwrap_err(), Error::InvalidCode);

    let view = ward_tests::view_codes(&app, &account.session, PASSWORD, now)
        .await
        .unwrap();
    assert_eq!(view.remaining, 9);
    let shown: Vec<_> = view.codes.iter().map(|(code, _)| code.clone()).collect();
    assert_eq!(shown, account.recovery_codes);
    for (index, (_, used)) in view.codes.iter().enumerate() {
        assert_eq!(*used, index == 3);
    }
    let status = accounts::status(&app.store, &account.account_id)
        .await
        .unwrap();
    assert_eq!(status.recovery_codes_remaining, Some(9));

    let wrong = ward_tests::view_codes(&app, &account.session, "wrong password", now).await;
    assert_eq!(wrong.err().unwrap(), Error::InvalidPassword);
}

#[tokio::test]
async fn codes_of_an_enrolment_whose_generation_was_never_counted_regenerate() {
    let app = app().await;
    let account = enrolled_account(&app, "regen-uncounted", Now::current()).await;
    let uncounted =
        ward::store::ConditionalUpdate::new(ward::store::keys::account(&account.account_id))
            .remove("rc_generation");
    app.store.update(uncounted).await.unwrap().unwrap();
    let fresh = ward_tests::regenerate_codes(&app, &account.session, PASSWORD, account.enrolled_at)
        .await
        .unwrap();
    assert_eq!(fresh.len(), 10);
}

#[tokio::test]
async fn regenerating_makes_every_old_code_useless() {
    let app = app().await;
    let account = enrolled_account(&app, "regen", Now::current()).await;
    let now = account.enrolled_at;
    let fresh = ward_tests::regenerate_codes(&app, &account.session, PASSWORD, now)
        .await
        .unwrap();
    assert_eq!(fresh.len(), 10);
    assert!(fresh
        .iter()
        .all(|code| !account.recovery_codes.contains(code)));

    let token = mfa_token(&app, &account.login, now).await;
    let old = verify(
        &app,
        &token,
        &recovery(&account.recovery_codes[0]),
        &client(),
        now,
    )
    .await;
    assert_eq!(old.unwrap_err(), Error::InvalidCode);
    let new = verify(&app, &token, &recovery(&fresh[0]), &client(), now)
        .await
        .unwrap();
    assert_eq!(new.recovery_codes_remaining, Some(9));
}

#[tokio::test]
async fn disabling_removes_the_second_factor() {
    let app = app().await;
    let account = enrolled_account(&app, "disable", Now::current()).await;
    let now = account.enrolled_at;
    let pending = mfa_token(&app, &account.login, now).await;

    let wrong = two_factor::disable(
        &app.store,
        &account.session,
        "wrong password",
        &client(),
        now,
    )
    .await;
    assert_eq!(wrong.unwrap_err(), Error::InvalidPassword);
    two_factor::disable(&app.store, &account.session, PASSWORD, &client(), now)
        .await
        .unwrap();

    let again = two_factor::disable(&app.store, &account.session, PASSWORD, &client(), now).await;
    assert_eq!(again.unwrap_err(), Error::TwoFactorNotEnabled);
    let view = ward_tests::view_codes(&app, &account.session, PASSWORD, now).await;
    assert_eq!(view.err().unwrap(), Error::TwoFactorNotEnabled);
    let regenerate = ward_tests::regenerate_codes(&app, &account.session, PASSWORD, now).await;
    assert_eq!(regenerate.err().unwrap(), Error::TwoFactorNotEnabled);

    // The session that disabled it is still valid; SignIn needs only the password.
    let still = ward::domain::session::authenticate(&app.store, &account.session_token, now)
        .await
        .unwrap();
    assert_eq!(still.account_id, account.account_id);
    let signed_in = accounts::sign_in(&app.store, &account.login, PASSWORD, &client(), now)
        .await
        .unwrap();
    assert!(matches!(signed_in, SignIn::SignedIn { .. }));
    // An mfa_token from before is void, whatever code it brings.
    let late = verify(
        &app,
        &pending,
        &code(&account.code_after(1)),
        &client(),
        now.plus_secs(30),
    )
    .await;
    assert_eq!(late.unwrap_err(), Error::MfaTokenInvalid);
    let status = accounts::status(&app.store, &account.account_id)
        .await
        .unwrap();
    assert_eq!(
        (
            status.two_factor_enabled,
            status.enabled_at,
            status.recovery_codes_remaining
        ),
        (false, None, None)
    );
}

#[tokio::test]
async fn an_mfa_token_lives_300_seconds_and_yields_one_session() {
    let app = app().await;
    let account = enrolled_account(&app, "mfa-life", Now::current()).await;
    let now = account.enrolled_at;
    let token = mfa_token(&app, &account.login, now).await;
    let expired = verify(
        &app,
        &token,
        &code(&account.code_after(10)),
        &client(),
        now.plus_secs(300),
    )
    .await;
    assert_eq!(expired.unwrap_err(), Error::MfaTokenInvalid);

    let token = mfa_token(&app, &account.login, now).await;
    verify(
        &app,
        &token,
        &code(&account.code_after(1)),
        &client(),
        now.plus_secs(30),
    )
    .await
    .unwrap();
    let reused = verify(
        &app,
        &token,
        &code(&account.code_after(2)),
        &client(),
        now.plus_secs(60),
    )
    .await;
    assert_eq!(reused.unwrap_err(), Error::MfaTokenInvalid);

    let forged = verify(&app, "ward_m_forged", &code("123456"), &client(), now).await;
    assert_eq!(forged.unwrap_err(), Error::MfaTokenInvalid);
    let session_as_mfa = verify(&app, "ward_s_whatever", &code("123456"), &client(), now).await;
    assert_eq!(session_as_mfa.unwrap_err(), Error::MfaTokenInvalid);
}

#[tokio::test]
async fn an_mfa_token_dies_after_five_wrong_codes() {
    let app = app().await;
    let account = enrolled_account(&app, "mfa-dies", Now::current()).await;
    let now = account.enrolled_at;
    let token = mfa_token(&app, &account.login, now).await;
    for _ in 0..5 {
        assert_eq!(
            verify(&app, &token, &code("000000"), &client(), now)
                .await
                .unwrap_err(),
            Error::InvalidCode
        );
    }
    // After the account's wait has passed, this token is still dead; a new one works.
    let later = now.plus_secs(31);
    let dead = verify(
        &app,
        &token,
        &code(&account.code_after(1)),
        &client(),
        later,
    )
    .await;
    assert_eq!(dead.unwrap_err(), Error::MfaTokenInvalid);
    let fresh = mfa_token(&app, &account.login, later).await;
    verify(
        &app,
        &fresh,
        &code(&account.code_after(1)),
        &client(),
        later,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn five_wrong_second_factors_lock_the_account_across_tokens() {
    let app = app().await;
    let account = enrolled_account(&app, "mfa-throttle", Now::current()).await;
    let start = account.enrolled_at;
    let tokens = [
        mfa_token(&app, &account.login, start).await,
        mfa_token(&app, &account.login, start).await,
    ];
    let mut seen = Vec::new();
    for attempt in 0..6 {
        let factor = if attempt % 2 == 0 {
            code("000000")
        } else {
            recovery("aaaa-aaaa-aaaa-aaaa")
        };
        seen.push(
            verify(&app, &tokens[attempt % 2], &factor, &client(), start)
                .await
                .unwrap_err(),
        );
    }
    let mut expected = vec![Error::InvalidCode; 5];
    expected.push(Error::TooManyAttempts { retry_after: 30 });
    assert_eq!(seen, expected);

    // Even the right code waits; after 30 s one attempt, which fails: 60 s.
    let right = code(&account.code_after(1));
    let fresh = mfa_token(&app, &account.login, start).await;
    assert_eq!(
        verify(&app, &fresh, &right, &client(), start.plus_secs(29))
            .await
            .unwrap_err(),
        Error::TooManyAttempts { retry_after: 1 }
    );
    let at_30 = start.plus_secs(30);
    assert_eq!(
        verify(&app, &fresh, &code("000000"), &client(), at_30)
            .await
            .unwrap_err(),
        Error::InvalidCode
    );
    assert_eq!(
        verify(&app, &fresh, &right, &client(), at_30)
            .await
            .unwrap_err(),
        Error::TooManyAttempts { retry_after: 60 }
    );
    // After the wait, the right code signs in and the count starts again.
    let at_90 = start.plus_secs(90);
    let token = mfa_token(&app, &account.login, at_90).await;
    verify(
        &app,
        &token,
        &code(&account.code_after(3)),
        &client(),
        at_90,
    )
    .await
    .unwrap();
    let token = mfa_token(&app, &account.login, at_90).await;
    for _ in 0..4 {
        assert_eq!(
            verify(&app, &token, &code("000000"), &client(), at_90)
                .await
                .unwrap_err(),
            Error::InvalidCode
        );
    }
}

#[tokio::test]
async fn concurrent_uses_of_one_totp_code_give_exactly_one_session() {
    let app = app().await;
    let account = enrolled_account(&app, "race-totp", Now::current()).await;
    let now = account.enrolled_at.plus_secs(30);
    let mut tokens = Vec::new();
    for _ in 0..4 {
        tokens.push(mfa_token(&app, &account.login, now).await);
    }
    let the_code = code(&account.code_after(1));
    let who = client();
    let results = futures::future::join_all(
        tokens
            .iter()
            .map(|token| verify(&app, token, &the_code, &who, now)),
    )
    .await;
    let sessions = results.iter().filter(|r| r.is_ok()).count();
    let refused: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    println!("4 concurrent, one TOTP code: {sessions} session(s), refusals {refused:?}");
    assert_eq!(sessions, 1);
    assert!(refused.iter().all(|e| **e == Error::InvalidCode));
}

#[tokio::test]
async fn concurrent_uses_of_one_recovery_code_give_exactly_one_session() {
    let app = app().await;
    let account = enrolled_account(&app, "race-recovery", Now::current()).await;
    let now = account.enrolled_at;
    let mut tokens = Vec::new();
    for _ in 0..4 {
        tokens.push(mfa_token(&app, &account.login, now).await);
    }
    let the_code = recovery(&account.recovery_codes[0]);
    let who = client();
    let results = futures::future::join_all(
        tokens
            .iter()
            .map(|token| verify(&app, token, &the_code, &who, now)),
    )
    .await;
    let sessions = results.iter().filter(|r| r.is_ok()).count();
    println!("4 concurrent, one recovery code: {sessions} session(s)");
    assert_eq!(sessions, 1);
}

#[tokio::test]
async fn a_burst_with_one_code_gives_exactly_one_session() {
    let app = app().await;
    let account = enrolled_account(&app, "burst", Now::current()).await;
    let now = account.enrolled_at.plus_secs(30);
    let token = mfa_token(&app, &account.login, now).await;
    let the_code = code(&account.code_after(1));
    let who = client();
    let results =
        futures::future::join_all((0..40).map(|_| verify(&app, &token, &the_code, &who, now)))
            .await;
    let sessions = results.iter().filter(|r| r.is_ok()).count();
    let throttled = results
        .iter()
        .filter(|r| matches!(r, Err(Error::TooManyAttempts { .. })))
        .count();
    let count = |error: Error| {
        results
            .iter()
            .filter(|r| r.as_ref().err() == Some(&error))
            .count()
    };
    // Checked and lost the race for the code; and found the token spent by the winner.
    let (lost, spent) = (count(Error::InvalidCode), count(Error::MfaTokenInvalid));
    println!(
        "burst of 40, one code, one mfa_token: {sessions} session(s), {throttled} throttled, \
         {lost} checked and lost, {spent} with the token already spent"
    );
    assert_eq!(sessions, 1, "the right code signs in exactly once");
    assert_eq!(sessions + throttled + lost + spent, 40, "{results:?}");
    // Counted before checked: at most the threshold's attempts are checked before the lock, and
    // as many again after the one success starts the count over; the lock holds off the rest.
    assert!(sessions + lost <= 2 * 5, "{} checked", sessions + lost);
    assert!(throttled > 0, "the lock held part of the burst off");
}

#[tokio::test]
async fn a_regenerate_racing_old_codes_never_lets_one_in_after_it_answered() {
    let app = app().await;
    let account = enrolled_account(&app, "regen-race", Now::current()).await;
    let now = account.enrolled_at;
    let mut tokens = Vec::new();
    for _ in 0..5 {
        tokens.push(mfa_token(&app, &account.login, now).await);
    }
    let who = client();
    let racing = tokens[..3]
        .iter()
        .zip(&account.recovery_codes)
        .map(|(token, old)| async { verify(&app, token, &recovery(old), &who, now).await.is_ok() });
    let regenerate = ward_tests::regenerate_codes(&app, &account.session, PASSWORD, now);
    let (raced, fresh) = tokio::join!(futures::future::join_all(racing), regenerate);
    let fresh = fresh.unwrap();
    println!(
        "old codes that won the race before regenerate committed: {}",
        raced.iter().filter(|ok| **ok).count()
    );
    // An old code may win only by committing before regenerate, which then replaced the used set
    // with an empty one: after it, no code of the old set is marked used in the item.
    let item = app
        .store
        .get(ward::store::keys::account(&account.account_id))
        .await
        .unwrap()
        .unwrap();
    let set = |name: &str| -> Vec<String> {
        item.get(name)
            .and_then(|value| value.as_ss().ok())
            .cloned()
            .unwrap_or_default()
    };
    let (current, used) = (set("rc_hashes"), set("rc_used"));
    assert_eq!(current.len(), 10);
    assert!(
        used.iter().all(|id| current.contains(id)),
        "an old code was taken after regenerate committed: {used:?}"
    );

    // Regenerate has answered: no old code works any more, used or not. (Two attempts: with
    // three racing failures that is five, still below the lock.)
    for (token, old) in tokens[3..5].iter().zip(&account.recovery_codes[3..5]) {
        let refused = verify(&app, token, &recovery(old), &who, now)
            .await
            .unwrap_err();
        assert_eq!(refused, Error::InvalidCode);
    }
    // And what a reader sees is one generation: the new ten, none used.
    let view = ward_tests::view_codes(&app, &account.session, PASSWORD, now)
        .await
        .unwrap();
    assert_eq!(view.remaining, 10);
    assert_eq!(
        view.codes
            .iter()
            .map(|(c, _)| c.clone())
            .collect::<Vec<_>>(),
        fresh
    );
}

#[tokio::test]
async fn password_confirmed_routes_share_the_sign_in_throttle() {
    let app = app().await;
    let account = enrolled_account(&app, "confirm-throttle", Now::current()).await;
    let now = account.enrolled_at;
    for _ in 0..5 {
        let view = ward_tests::view_codes(&app, &account.session, "wrong password", now).await;
        assert_eq!(view.err().unwrap(), Error::InvalidPassword);
    }
    for _ in 0..5 {
        let wrong =
            accounts::sign_in(&app.store, &account.login, "wrong password", &client(), now).await;
        assert_eq!(wrong.unwrap_err(), Error::InvalidCredentials);
    }
    // Ten in all, across routes: every password-confirmed route and SignIn now wait 30 s.
    let disable = two_factor::disable(&app.store, &account.session, PASSWORD, &client(), now).await;
    assert_eq!(
        disable.unwrap_err(),
        Error::TooManyAttempts { retry_after: 30 }
    );
    let sign_in = accounts::sign_in(
        &app.store,
        &account.login,
        PASSWORD,
        &client(),
        now.plus_secs(10),
    )
    .await;
    assert_eq!(
        sign_in.unwrap_err(),
        Error::TooManyAttempts { retry_after: 20 }
    );
    let view = ward_tests::view_codes(&app, &account.session, PASSWORD, now.plus_secs(30)).await;
    assert_eq!(view.unwrap().remaining, 10);
}
