//! The rules end to end on the in-memory ports, with pinned time: each test reads as a user's
//! story and runs in milliseconds (plus the argon2 hashes it cannot avoid).

#![allow(clippy::unwrap_used, clippy::panic)]

use super::account::{self, SignIn};
use super::memory::{keys, Memory};
use super::ports::{Failure, ThrottleStore};
use super::records::{Count, Counter, Entry, EventKind, SessionPrincipal, Subject, TwoFactor};
use super::second_factor::{self, SecondFactor};
use super::{access_token, recovery, security_log, session, two_factor, Error, Now, Origin};
use crate::crypto::totp;

const PASSWORD: &str = "correct horse battery staple";
/// A pinned instant at the start of a TOTP step.
const T0: i64 = 1_800_000_000;

fn at(secs: i64) -> Now {
    Now::from_secs(secs)
}

fn origin() -> &'static Origin {
    static ORIGIN: std::sync::LazyLock<Origin> = std::sync::LazyLock::new(|| Origin {
        ip: "192.0.2.1".into(),
        user_agent: "domain-tests".into(),
    });
    &ORIGIN
}

async fn signed_up(store: &Memory, login: &str, now: Now) -> String {
    account::sign_up(store, login, PASSWORD, origin(), now)
        .await
        .unwrap()
        .account_id
}

async fn session_of(store: &Memory, login: &str, now: Now) -> (String, SessionPrincipal) {
    let SignIn::SignedIn { session_token, .. } =
        account::sign_in(store, login, PASSWORD, origin(), now)
            .await
            .unwrap()
    else {
        panic!("2FA is off: the password signs in");
    };
    let principal = session::authenticate_session(store, &session_token, now)
        .await
        .unwrap();
    (session_token, principal)
}

/// Enables 2FA at `now`: the secret and the recovery codes.
async fn enrolled(
    store: &Memory,
    principal: &SessionPrincipal,
    now: Now,
) -> (Vec<u8>, Vec<String>) {
    let keys = keys();
    let pending = two_factor::start_setup(store, &keys, "Ward", principal, PASSWORD, origin(), now)
        .await
        .unwrap();
    let secret = data_encoding::BASE32_NOPAD
        .decode(pending.secret.as_bytes())
        .unwrap();
    let code = totp::code_at_step(&secret, now.secs() / 30).unwrap();
    let codes = two_factor::confirm_setup(store, &keys, principal, &code, origin(), now)
        .await
        .unwrap();
    (secret, codes)
}

async fn mfa_token(store: &Memory, login: &str, now: Now) -> String {
    match account::sign_in(store, login, PASSWORD, origin(), now)
        .await
        .unwrap()
    {
        SignIn::TwoFactorRequired { mfa_token, .. } => mfa_token,
        other => panic!("2FA is on: expected an mfa_token, got {other:?}"),
    }
}

async fn verify(
    store: &Memory,
    mfa_token: &str,
    factor: SecondFactor,
    now: Now,
) -> Result<second_factor::Verified, Error> {
    second_factor::verify(store, &keys(), mfa_token, &factor, origin(), now).await
}

#[tokio::test]
async fn a_new_account_signs_in_with_its_password_and_its_session_authenticates() {
    let store = Memory::default();
    let account_id = signed_up(&store, " Alice@Example.com ", at(T0)).await;
    let (token, principal) = session_of(&store, "alice@example.com", at(T0)).await;
    assert_eq!(principal.account_id, account_id);
    assert_eq!(principal.login, "alice@example.com");
    let status = account::status(&store, &account_id).await.unwrap();
    assert!(!status.two_factor_enabled);
    assert_eq!(status.recovery_codes_remaining, None);

    let taken = account::sign_up(&store, "ALICE@example.com", PASSWORD, origin(), at(T0)).await;
    assert_eq!(taken.unwrap_err(), Error::LoginTaken);

    // A session lives 12 hours, and not a second more.
    let last = at(T0 + session::SESSION_LIFETIME_SECS - 1);
    assert!(session::authenticate(&store, &token, last).await.is_ok());
    let expired = session::authenticate(&store, &token, at(T0 + session::SESSION_LIFETIME_SECS));
    assert_eq!(expired.await.unwrap_err(), Error::Unauthorized);
    assert_eq!(
        store.log_kinds(&account_id),
        ["signed_in", "account_created"]
    );
}

#[tokio::test]
async fn ten_wrong_passwords_lock_the_login_then_each_failure_doubles_the_wait() {
    let store = Memory::default();
    let account_id = signed_up(&store, "bob@example.com", at(T0)).await;
    let wrong =
        |now: Now| account::sign_in(&store, "bob@example.com", "wrong password", origin(), now);
    for _ in 0..10 {
        assert_eq!(wrong(at(T0)).await.unwrap_err(), Error::InvalidCredentials);
    }
    // Locked for 30 s: even the right password is refused, and nothing is counted.
    let refused = account::sign_in(&store, "bob@example.com", PASSWORD, origin(), at(T0 + 1));
    assert_eq!(
        refused.await.unwrap_err(),
        Error::TooManyAttempts { retry_after: 29 }
    );
    assert_eq!(
        store.count(&account_id, Counter::Password),
        Count {
            failures: 10,
            locked_until: T0 + 30,
            last_at: T0
        }
    );
    let kinds = store.log_kinds(&account_id);
    assert_eq!(kinds.iter().filter(|kind| **kind == "throttled").count(), 1);
    assert_eq!(
        kinds[0], "throttled",
        "the lock's entry follows its failure"
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|kind| **kind == "sign_in_failed")
            .count(),
        10
    );

    // The lock over, one more failure locks for 60 s.
    assert_eq!(
        wrong(at(T0 + 30)).await.unwrap_err(),
        Error::InvalidCredentials
    );
    assert_eq!(
        wrong(at(T0 + 31)).await.unwrap_err(),
        Error::TooManyAttempts { retry_after: 59 }
    );
    // After it, the right password signs in and the count starts again.
    session_of(&store, "bob@example.com", at(T0 + 90)).await;
    assert_eq!(store.count(&account_id, Counter::Password).failures, 0);
}

#[tokio::test]
async fn an_unknown_login_is_throttled_like_a_known_one() {
    let store = Memory::default();
    for _ in 0..10 {
        let refused = account::sign_in(&store, "nobody@example.com", PASSWORD, origin(), at(T0));
        assert_eq!(refused.await.unwrap_err(), Error::InvalidCredentials);
    }
    let refused = account::sign_in(
        &store,
        "nobody@example.com",
        PASSWORD,
        origin(),
        at(T0 + 10),
    );
    assert_eq!(
        refused.await.unwrap_err(),
        Error::TooManyAttempts { retry_after: 20 }
    );
    // Ten failures and the lock's entry, as an account's log would hold them.
    assert_eq!(store.unknown_login_entries(), 11);
}

#[tokio::test]
async fn enabling_ends_other_sessions_and_sign_in_then_takes_each_code_once() {
    let store = Memory::default();
    let account_id = signed_up(&store, "carol@example.com", at(T0)).await;
    let (other_token, _) = session_of(&store, "carol@example.com", at(T0)).await;
    let (own_token, principal) = session_of(&store, "carol@example.com", at(T0 + 1)).await;
    let (secret, codes) = enrolled(&store, &principal, at(T0 + 30)).await;
    assert_eq!(codes.len(), 10);
    assert!(session::authenticate(&store, &own_token, at(T0 + 31))
        .await
        .is_ok());
    assert_eq!(
        session::authenticate(&store, &other_token, at(T0 + 31))
            .await
            .unwrap_err(),
        Error::Unauthorized,
        "a session opened with the password alone ends when 2FA arrives"
    );
    let status = account::status(&store, &account_id).await.unwrap();
    assert!(status.two_factor_enabled);
    assert_eq!(status.enabled_at, Some(T0 + 30));
    assert_eq!(status.recovery_codes_remaining, Some(10));

    // The confirming code's step is spent; the next step's code signs in once.
    let now = at(T0 + 60);
    let confirming = totp::code_at_step(&secret, (T0 + 30) / 30).unwrap();
    let token = mfa_token(&store, "carol@example.com", now).await;
    let replay = verify(&store, &token, SecondFactor::Code(confirming), now).await;
    assert_eq!(replay.unwrap_err(), Error::InvalidCode);
    let code = totp::code_at_step(&secret, (T0 + 60) / 30).unwrap();
    let verified = verify(&store, &token, SecondFactor::Code(code.clone()), now)
        .await
        .unwrap();
    assert_eq!(verified.recovery_codes_remaining, None);
    assert!(session::authenticate(&store, &verified.session_token, now)
        .await
        .is_ok());
    // The mfa_token yielded its session; a new one cannot reuse the code.
    let spent = verify(&store, &token, SecondFactor::Code(code.clone()), now).await;
    assert_eq!(spent.unwrap_err(), Error::MfaTokenInvalid);
    let again = mfa_token(&store, "carol@example.com", now).await;
    let reused = verify(&store, &again, SecondFactor::Code(code), now).await;
    assert_eq!(reused.unwrap_err(), Error::InvalidCode);
}

#[tokio::test]
async fn a_recovery_code_works_once_and_regenerating_kills_every_old_one() {
    let store = Memory::default();
    let keys = keys();
    let account_id = signed_up(&store, "dave@example.com", at(T0)).await;
    let (_, principal) = session_of(&store, "dave@example.com", at(T0)).await;
    let (_, codes) = enrolled(&store, &principal, at(T0)).await;
    let now = at(T0 + 5);

    let token = mfa_token(&store, "dave@example.com", now).await;
    let typed = codes[3].to_uppercase().replace('-', " ");
    let verified = verify(&store, &token, SecondFactor::RecoveryCode(typed), now)
        .await
        .unwrap();
    assert_eq!(verified.recovery_codes_remaining, Some(9));
    let token = mfa_token(&store, "dave@example.com", now).await;
    let twice = verify(
        &store,
        &token,
        SecondFactor::RecoveryCode(codes[3].clone()),
        now,
    )
    .await;
    assert_eq!(twice.unwrap_err(), Error::InvalidCode);

    let view = recovery::view_codes(&store, &keys, &principal, PASSWORD, origin(), now)
        .await
        .unwrap();
    assert_eq!(view.remaining, 9);
    assert_eq!(
        view.codes
            .iter()
            .map(|(code, _)| code.clone())
            .collect::<Vec<_>>(),
        codes
    );
    assert!(view
        .codes
        .iter()
        .enumerate()
        .all(|(i, (_, used))| *used == (i == 3)));

    let fresh = recovery::regenerate_codes(&store, &keys, &principal, PASSWORD, origin(), now)
        .await
        .unwrap();
    assert!(fresh.iter().all(|code| !codes.contains(code)));
    let token = mfa_token(&store, "dave@example.com", now).await;
    let old = verify(
        &store,
        &token,
        SecondFactor::RecoveryCode(codes[0].clone()),
        now,
    )
    .await;
    assert_eq!(old.unwrap_err(), Error::InvalidCode);
    let new = verify(
        &store,
        &token,
        SecondFactor::RecoveryCode(fresh[0].clone()),
        now,
    )
    .await;
    assert_eq!(new.unwrap().recovery_codes_remaining, Some(9));
    let kinds = store.log_kinds(&account_id);
    assert_eq!(
        kinds
            .iter()
            .filter(|kind| **kind == "recovery_code_used")
            .count(),
        2
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|kind| **kind == "recovery_codes_regenerated")
            .count(),
        1
    );
}

#[tokio::test]
async fn five_wrong_codes_spend_the_mfa_token_and_lock_the_second_factor() {
    let store = Memory::default();
    let account_id = signed_up(&store, "erin@example.com", at(T0)).await;
    let (_, principal) = session_of(&store, "erin@example.com", at(T0)).await;
    let (secret, _) = enrolled(&store, &principal, at(T0)).await;
    let now = at(T0 + 40);
    let token = mfa_token(&store, "erin@example.com", now).await;
    for _ in 0..5 {
        let wrong = verify(&store, &token, SecondFactor::Code("000000".into()), now).await;
        assert_eq!(wrong.unwrap_err(), Error::InvalidCode);
    }
    let right = totp::code_at_step(&secret, now.secs() / 30).unwrap();
    // The token is dead, and the account's second factor is locked for 30 s across tokens.
    let dead = verify(&store, &token, SecondFactor::Code(right.clone()), now).await;
    assert_eq!(dead.unwrap_err(), Error::MfaTokenInvalid);
    let fresh = mfa_token(&store, "erin@example.com", now).await;
    let locked = verify(
        &store,
        &fresh,
        SecondFactor::Code(right.clone()),
        at(T0 + 50),
    )
    .await;
    assert_eq!(
        locked.unwrap_err(),
        Error::TooManyAttempts { retry_after: 20 }
    );
    assert_eq!(store.count(&account_id, Counter::SecondFactor).failures, 5);
    let after = verify(&store, &fresh, SecondFactor::Code(right), at(T0 + 70)).await;
    assert!(after.is_ok());
    assert_eq!(store.count(&account_id, Counter::SecondFactor).failures, 0);
}

#[tokio::test]
async fn disabling_clears_the_second_factor_and_voids_outstanding_mfa_tokens() {
    let store = Memory::default();
    let account_id = signed_up(&store, "frank@example.com", at(T0)).await;
    let (_, principal) = session_of(&store, "frank@example.com", at(T0)).await;
    let (secret, codes) = enrolled(&store, &principal, at(T0)).await;
    let now = at(T0 + 40);
    let outstanding = mfa_token(&store, "frank@example.com", now).await;
    let wrong = two_factor::disable(&store, &principal, "not the password", origin(), now).await;
    assert_eq!(wrong.unwrap_err(), Error::InvalidPassword);
    two_factor::disable(&store, &principal, PASSWORD, origin(), now)
        .await
        .unwrap();
    assert_eq!(
        store.stored_account(&account_id).unwrap().two_factor,
        TwoFactor::Off
    );
    let again = two_factor::disable(&store, &principal, PASSWORD, origin(), now).await;
    assert_eq!(again.unwrap_err(), Error::TwoFactorNotEnabled);
    // Enabled again, the old enrolment's mfa_token is void even with a code of the new secret.
    let (secret_again, _) = enrolled(&store, &principal, at(T0 + 60)).await;
    assert_ne!(secret, secret_again);
    let code = totp::code_at_step(&secret_again, (T0 + 90) / 30).unwrap();
    let void = verify(&store, &outstanding, SecondFactor::Code(code), at(T0 + 90)).await;
    assert_eq!(void.unwrap_err(), Error::MfaTokenInvalid);
    let fresh = mfa_token(&store, "frank@example.com", at(T0 + 90)).await;
    let old_code = verify(
        &store,
        &fresh,
        SecondFactor::RecoveryCode(codes[0].clone()),
        at(T0 + 90),
    );
    assert_eq!(old_code.await.unwrap_err(), Error::InvalidCode);
}

#[tokio::test]
async fn a_setup_may_be_confirmed_for_ten_minutes_and_only_with_its_own_secret() {
    let store = Memory::default();
    let keys = keys();
    signed_up(&store, "grace@example.com", at(T0)).await;
    let (_, principal) = session_of(&store, "grace@example.com", at(T0)).await;
    let never = two_factor::confirm_setup(&store, &keys, &principal, "123456", origin(), at(T0));
    assert_eq!(never.await.unwrap_err(), Error::SetupNotStarted);
    let pending = two_factor::start_setup(
        &store,
        &keys,
        "Ward",
        &principal,
        PASSWORD,
        origin(),
        at(T0),
    )
    .await
    .unwrap();
    assert_eq!(pending.expires_in, 600);
    let secret = data_encoding::BASE32_NOPAD
        .decode(pending.secret.as_bytes())
        .unwrap();
    let late = at(T0 + 600);
    let code = totp::code_at_step(&secret, late.secs() / 30).unwrap();
    let expired = two_factor::confirm_setup(&store, &keys, &principal, &code, origin(), late);
    assert_eq!(expired.await.unwrap_err(), Error::SetupNotStarted);
    let in_time = at(T0 + 599);
    let code = totp::code_at_step(&secret, in_time.secs() / 30).unwrap();
    let codes = two_factor::confirm_setup(&store, &keys, &principal, &code, origin(), in_time)
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
}

#[tokio::test]
async fn a_personal_access_token_authenticates_until_revoked_but_never_as_a_session() {
    let store = Memory::default();
    let account_id = signed_up(&store, "heidi@example.com", at(T0)).await;
    let (_, principal) = session_of(&store, "heidi@example.com", at(T0)).await;
    let created = access_token::create(
        &store,
        &principal,
        " deploy ",
        PASSWORD,
        Some(1),
        origin(),
        at(T0),
    )
    .await
    .unwrap();
    assert_eq!(created.name, "deploy");
    assert_eq!(created.expires_at, T0 + 86_400);
    let who = session::authenticate(&store, &created.token, at(T0 + 1))
        .await
        .unwrap();
    assert_eq!(who.account_id, account_id);
    let as_session = session::authenticate_session(&store, &created.token, at(T0 + 1)).await;
    assert_eq!(as_session.unwrap_err(), Error::SessionRequired);
    let listed = access_token::list(&store, &account_id, at(T0 + 1))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, created.id);
    access_token::revoke(&store, &principal, &created.id, origin(), at(T0 + 2))
        .await
        .unwrap();
    let revoked = session::authenticate(&store, &created.token, at(T0 + 3)).await;
    assert_eq!(revoked.unwrap_err(), Error::Unauthorized);
    let twice = access_token::revoke(&store, &principal, &created.id, origin(), at(T0 + 3)).await;
    assert_eq!(twice.unwrap_err(), Error::NotFound);
    assert_eq!(
        store.stored_account(&account_id).unwrap().token_count,
        Some(0)
    );
}

#[tokio::test]
async fn ending_other_sessions_keeps_the_callers_and_logs_each() {
    let store = Memory::default();
    let account_id = signed_up(&store, "ivan@example.com", at(T0)).await;
    for offset in 0..3 {
        session_of(&store, "ivan@example.com", at(T0 + offset)).await;
    }
    let (own, principal) = session_of(&store, "ivan@example.com", at(T0 + 5)).await;
    let listed = session::list(&store, &principal, at(T0 + 6)).await.unwrap();
    assert_eq!(listed.len(), 4);
    assert!(listed[0].current, "newest first, the caller's on top");
    let ended = session::end_others(&store, &principal, PASSWORD, origin(), at(T0 + 6))
        .await
        .unwrap();
    assert_eq!(ended, 3);
    assert!(session::authenticate(&store, &own, at(T0 + 7))
        .await
        .is_ok());
    assert_eq!(
        session::list(&store, &principal, at(T0 + 7))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.log_kinds(&account_id)[..3], ["session_ended"; 3]);
}

#[tokio::test]
async fn the_security_log_pages_newest_first_and_refuses_a_foreign_cursor() {
    let store = Memory::default();
    let account_id = signed_up(&store, "judy@example.com", at(T0)).await;
    // 118 entries more, written as the port writes a failure's.
    let entries = (1..=118)
        .map(|offset| Entry::new(EventKind::SignInFailed, origin(), at(T0 + offset)))
        .collect();
    let failure = Failure {
        subject: Subject::Account(&account_id),
        entries,
    };
    ThrottleStore::record_failure(&store, &failure)
        .await
        .unwrap();
    let now = at(T0 + 100_000);
    let first = security_log::page(&store, &account_id, None, now)
        .await
        .unwrap();
    assert_eq!(first.entries.len(), 50);
    assert!(first
        .entries
        .windows(2)
        .all(|pair| pair[0].at >= pair[1].at));
    let mut seen = first.entries.len();
    let mut cursor = first.next_cursor;
    let mut last = None;
    while let Some(after) = cursor {
        let page = security_log::page(&store, &account_id, Some(&after), now)
            .await
            .unwrap();
        assert!(page.entries.len() <= 50);
        seen += page.entries.len();
        last = page.entries.last().cloned();
        cursor = page.next_cursor;
    }
    assert_eq!(seen, 1 + 118, "every entry once, across three pages");
    assert_eq!(last.unwrap().kind, "account_created");
    let foreign = security_log::page(&store, &account_id, Some("not-a-cursor"), now).await;
    assert!(matches!(foreign.unwrap_err(), Error::InvalidRequest(_)));
}

#[test]
fn instants_are_rfc3339_utc() {
    assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(super::rfc3339(2_000_000_000), "2033-05-18T03:33:20Z");
}
