#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! An unknown login costs a real password verification, the dummy hash's, counted rather than
//! timed. One test alone in this binary, so that nothing else hashes while it counts.

use ward::crypto::password::{verifications, verify};
use ward::domain::account as accounts;
use ward::{Error, Now};
use ward_tests::{app, client, unique_login, PASSWORD};

#[tokio::test]
async fn an_unknown_login_costs_one_full_verification_as_a_known_one_does() {
    let before = verifications();
    assert!(!verify(None, "anything at all").await.unwrap());
    assert_eq!(
        verifications(),
        before + 1,
        "no account: the dummy is verified"
    );

    let app = app().await;
    let known = unique_login("dummy-known");
    accounts::sign_up(&app.store, &known, PASSWORD, &client(), Now::current())
        .await
        .unwrap();
    for login in [known, unique_login("dummy-unknown")] {
        let before = verifications();
        let answer = accounts::sign_in(
            &app.store,
            &login,
            "not the password",
            &client(),
            Now::current(),
        )
        .await;
        assert_eq!(answer.unwrap_err(), Error::InvalidCredentials);
        assert_eq!(verifications(), before + 1, "{login}: one verification");
    }
}
