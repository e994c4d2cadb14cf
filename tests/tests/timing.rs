#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! An unknown login answers no faster than a wrong password, and a locked unknown login no faster
//! than a locked known one. Alone in its test binary (one test, measuring one thing after the
//! other): other tests racing dozens of requests at the same emulator would skew what it measures.

use std::time::{Duration, Instant};
use ward::domain::account as accounts;
use ward::Now;
use ward_tests::{app, client, session_token, unique_login, PASSWORD};

#[tokio::test]
async fn unknown_login_and_wrong_password_take_the_same_time() {
    let app = app().await;
    let known = unique_login("timing");
    accounts::sign_up(&app.store, &known, PASSWORD, &client(), Now::current())
        .await
        .unwrap();
    let mut known_times = Vec::new();
    let mut unknown_times = Vec::new();
    for round in 0..9 {
        // Fresh logins each round keep both below the throttle.
        let unknown = unique_login("nobody");
        let started = Instant::now();
        let _ = accounts::sign_in(
            &app.store,
            &unknown,
            "wrong password!",
            &client(),
            Now::current(),
        )
        .await;
        unknown_times.push(started.elapsed());
        let started = Instant::now();
        let _ = accounts::sign_in(
            &app.store,
            &known,
            "wrong password!",
            &client(),
            Now::current(),
        )
        .await;
        known_times.push(started.elapsed());
        if round == 4 {
            session_token(&app, &known, Now::current()).await; // resets the count
        }
    }
    let (known_median, unknown_median) = (median(&mut known_times), median(&mut unknown_times));
    let ratio = known_median.max(unknown_median) / known_median.min(unknown_median);
    println!("median wrong password {known_median:.4}s, unknown login {unknown_median:.4}s, ratio {ratio:.2}");
    assert!(ratio < 1.5, "medians differ by {ratio:.2}x");

    // A 429: both locked, then refused 25 times each, alternately.
    let locked_unknown = unique_login("nobody-locked");
    for login in [&known, &locked_unknown] {
        for _ in 0..10 {
            let _ = accounts::sign_in(
                &app.store,
                login,
                "wrong password!",
                &client(),
                Now::current(),
            )
            .await;
        }
    }
    let (mut known_times, mut unknown_times) = (Vec::new(), Vec::new());
    for _ in 0..25 {
        for (login, times) in [
            (&known, &mut known_times),
            (&locked_unknown, &mut unknown_times),
        ] {
            let started = Instant::now();
            let refused = accounts::sign_in(
                &app.store,
                login,
                "wrong password!",
                &client(),
                Now::current(),
            )
            .await;
            times.push(started.elapsed());
            assert!(
                matches!(refused, Err(ward::Error::TooManyAttempts { .. })),
                "{refused:?}"
            );
        }
    }
    let (known_median, unknown_median) = (median(&mut known_times), median(&mut unknown_times));
    let ratio = known_median.max(unknown_median) / known_median.min(unknown_median);
    println!("median 429 of a known login {known_median:.4}s, of an unknown one {unknown_median:.4}s, ratio {ratio:.2}");
    assert!(ratio < 1.5, "refusal medians differ by {ratio:.2}x");
}

fn median(times: &mut [Duration]) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64()
}
