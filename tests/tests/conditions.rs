#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The store's security conditions, each held to a test that fails without it: what only a read
//! of the stored item shows, and what only a request working from a read that another request
//! has since made stale can try. Against the DynamoDB emulator.

use aws_sdk_dynamodb::types::AttributeValue;
use ward::domain::ports::{
    Acceptance, Accepted, AcceptedOutcome, AccountStore, Enabled, Enabling, SessionGuard,
    TwoFactorStore,
};
use ward::domain::records::{Entry, EventKind, TwoFactor};
use ward::domain::second_factor::SecondFactor;
use ward::domain::{recovery, session, two_factor};
use ward::store::keys;
use ward::Now;
use ward_tests::{
    app, client, enrolled_account, mfa_token, regenerate_codes, signed_in_account, start_setup,
    verify, PASSWORD,
};

/// What 2FA leaves on the account's item: the secret, the codes (their digests, the used ones,
/// the sealed list) and the last accepted step.
const SECOND_FACTOR_MATERIAL: [&str; 5] = [
    "tf_secret",
    "rc_hashes",
    "rc_used",
    "rc_sealed",
    "last_step",
];

#[tokio::test]
async fn disabling_leaves_no_secret_no_code_material_and_no_last_step_on_the_item() {
    let app = app().await;
    let now = Now::current();
    let account = enrolled_account(&app, "disable-clean", now).await;
    // A recovery code used, so that the used set exists too.
    let token = mfa_token(&app, &account.login, now).await;
    let recovery_code = SecondFactor::RecoveryCode(account.recovery_codes[0].clone());
    verify(&app, &token, &recovery_code, &client(), now)
        .await
        .unwrap();
    let key = || keys::account(&account.account_id);
    let before = app.store.get(key()).await.unwrap().unwrap();
    for name in SECOND_FACTOR_MATERIAL {
        assert!(before.contains_key(name), "{name} is there while 2FA is on");
    }

    two_factor::disable(&app.store, &account.session, PASSWORD, &client(), now)
        .await
        .unwrap();
    let after = app.store.get(key()).await.unwrap().unwrap();
    for name in SECOND_FACTOR_MATERIAL.into_iter().chain([
        "tf_pending",
        "tf_pending_expires_at",
        "tf_enabled_at",
    ]) {
        assert!(!after.contains_key(name), "{name} is gone after disable");
    }
    assert_eq!(after.get("tf_enabled"), Some(&AttributeValue::Bool(false)));
}

#[tokio::test]
async fn an_old_recovery_code_checked_against_a_read_from_before_a_regenerate_is_refused() {
    let app = app().await;
    let keys = app.keys().await.unwrap();
    let now = Now::current();
    for round in 0..3 {
        let account = enrolled_account(&app, &format!("stale-codes-{round}"), now).await;
        let account_id = account.account_id.as_str();
        // The read a Verify2FACode checks its code against, then a regenerate that commits
        // before that Verify2FACode writes.
        let stale = app.store.account(account_id).await.unwrap().unwrap();
        let enrolment = stale.enrolment().unwrap().clone();
        regenerate_codes(&app, &account.session, PASSWORD, now)
            .await
            .unwrap();
        let token = mfa_token(&app, &account.login, now).await;
        let mfa_digest = ward::crypto::random::digest(&token);
        for old in &account.recovery_codes {
            let id = recovery::unused_code_id(&keys, account_id, &enrolment.codes, old)
                .unwrap()
                .expect("the code is in the set that was read");
            let (_, opened) =
                session::new_session(account_id, &account.login, &client(), now).unwrap();
            let accepted = Accepted::RecoveryCode(id);
            let acceptance = Acceptance {
                account_id,
                mfa_digest: &mfa_digest,
                generation: enrolment.generation,
                accepted: &accepted,
                reseal: None,
                session: &opened,
                entries: vec![Entry::new(EventKind::SignedIn, &client(), now)],
            };
            assert_eq!(
                app.store.accept_second_factor(&acceptance).await.unwrap(),
                AcceptedOutcome::CodeAlreadyUsed,
                "round {round}: a code of the set regenerate replaced"
            );
        }
        // Nothing of those attempts was written: the token still signs in with a new code.
        let fresh = regenerate_codes(&app, &account.session, PASSWORD, now)
            .await
            .unwrap();
        let new_code = SecondFactor::RecoveryCode(fresh[0].clone());
        verify(&app, &token, &new_code, &client(), now)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_setup_confirmed_after_another_setup_replaced_it_is_refused() {
    let app = app().await;
    let keys = app.keys().await.unwrap();
    let now = Now::current();
    let account = signed_in_account(&app, "replaced-setup", now).await;
    let account_id = account.account_id.as_str();
    let (first_secret, _) = start_setup(&app, &account.session, now).await;
    // The read a confirmation checks its code against, then a second setup in its place.
    let TwoFactor::Pending(first) = app
        .store
        .account(account_id)
        .await
        .unwrap()
        .unwrap()
        .two_factor
    else {
        panic!("a setup is pending");
    };
    let (second_secret, _) = start_setup(&app, &account.session, now).await;
    assert_ne!(first_secret, second_secret);

    let (_, codes) = recovery::new_code_set(&keys, account_id).unwrap();
    let enabling = Enabling {
        account_id,
        pending: &first.sealed,
        step: now.secs() / 30,
        codes: &codes,
        guard: SessionGuard::Unguarded,
        ending: &[],
        entry: Entry::new(EventKind::TwoFactorEnabled, &client(), now),
        ended_at: now.plus_millis(1),
    };
    assert_eq!(
        app.store.enable(&enabling).await.unwrap(),
        Enabled::SetupReplaced
    );
    let after = app.store.account(account_id).await.unwrap().unwrap();
    match after.two_factor {
        TwoFactor::Pending(pending) => assert_ne!(pending.sealed, first.sealed),
        other => panic!("the second setup still waits for its code: {other:?}"),
    }
    // The second setup's code still enables.
    let code = ward::crypto::totp::code_at_step(&second_secret, now.secs() / 30).unwrap();
    two_factor::confirm_setup(&app.store, &keys, &account.session, &code, &client(), now)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_secret_sealed_with_the_current_key_is_not_written_again_by_a_sign_in() {
    let app = app().await;
    let now = Now::current();
    let account = enrolled_account(&app, "no-reseal", now).await;
    let secret = || async {
        app.store
            .get(keys::account(&account.account_id))
            .await
            .unwrap()
            .unwrap()
            .get("tf_secret")
            .cloned()
    };
    let sealed = secret().await;
    assert!(sealed.is_some());
    let later = account.enrolled_at.plus_secs(30);
    let token = mfa_token(&app, &account.login, later).await;
    let code = SecondFactor::Code(account.code_after(1));
    verify(&app, &token, &code, &client(), later).await.unwrap();
    assert_eq!(
        secret().await,
        sealed,
        "sealed once, under the key that is still current"
    );
}
