#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A flood on one login must not lock its owner out. DynamoDB serves an item about 1,000 writes a
//! second and throttles it beyond; here the emulator throttles the account's item beyond a few
//! dozen writes a second, and a flood of wrong passwords from many clients hits it. While the
//! lock holds, every attempt is refused from a read and writes nothing, so the throttle never
//! fires for the flood, nothing answers 503, and after the lock's wait the owner signs in with the
//! password and the second factor.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use ward::domain::account::{self as accounts, SignIn};
use ward::domain::second_factor::SecondFactor;
use ward::{Error, Now};
use ward_tests::{
    app, clear_faults, client, counted_app, enrolled_account, inject_above_rate, verify, Fault,
    PASSWORD,
};

const CLIENTS: usize = 32;
const ATTEMPTS: usize = 400;
/// Writes a second the emulator serves on the account's item before it throttles: well below
/// the flood's rate (about 250 attempts a second here), so that a write per attempt is throttled,
/// as DynamoDB's 1,000 a second would be under a flood of a few thousand; above the burst that
/// starting the lock costs (about two writes per client in flight, once).
const WRITES_PER_SECOND: u32 = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_on_one_login_writes_nothing_while_locked_and_its_owner_gets_in_after() {
    let app = app().await;
    let now = Now::current();
    let owner = enrolled_account(&app, "flood", now).await;
    let item = owner.account_id.clone();
    inject_above_rate(
        &["UpdateItem", "PutItem", "DeleteItem"],
        &item,
        Fault::ProvisionedThroughputExceeded,
        WRITES_PER_SECOND,
    )
    .await;
    inject_above_rate(
        &["TransactWriteItems"],
        &item,
        Fault::TransactionThrottled,
        WRITES_PER_SECOND,
    )
    .await;

    // The flood: wrong passwords from many clients at once, each attempt's calls recorded apart.
    let sent = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (login, sent) = (owner.login.clone(), sent.clone());
        clients.push(tokio::spawn(async move {
            let (app, calls) = counted_app().await;
            let mut seen = Vec::new();
            while sent.fetch_add(1, Ordering::SeqCst) < ATTEMPTS {
                calls.take();
                let answer =
                    accounts::sign_in(&app.store, &login, "not the password", &client(), now).await;
                seen.push((answer.err(), calls.take()));
            }
            seen
        }));
    }
    let mut answers = Vec::new();
    for client in clients {
        answers.extend(client.await.unwrap());
    }
    // After the lock's wait, the owner, with the throttle's rules still on: the password, then
    // the second factor.
    let later = now.plus_secs(31);
    let SignIn::TwoFactorRequired { mfa_token, .. } =
        accounts::sign_in(&app.store, &owner.login, PASSWORD, &client(), later)
            .await
            .unwrap()
    else {
        panic!("2FA is on");
    };
    let code = SecondFactor::Code(owner.code_after(2));
    let signed_in = verify(&app, &mfa_token, &code, &client(), later.plus_secs(30)).await;
    assert!(signed_in.is_ok(), "{signed_in:?}");
    let fired = clear_faults(&item).await;

    let writes = |calls: &[String]| {
        calls
            .iter()
            .filter(|call| !matches!(call.as_str(), "GetItem" | "Query"))
            .count()
    };
    let checked = answers
        .iter()
        .filter(|(error, _)| *error == Some(Error::InvalidCredentials))
        .count();
    let refused: Vec<_> = answers
        .iter()
        .filter(|(error, _)| matches!(error, Some(Error::TooManyAttempts { .. })))
        .collect();
    let from_the_read = refused
        .iter()
        .filter(|(_, calls)| *calls == ["Query"])
        .count();
    let unavailable = answers
        .iter()
        .filter(|(error, _)| *error == Some(Error::ServiceUnavailable))
        .count();
    let written: usize = answers.iter().map(|(_, calls)| writes(calls)).sum();
    println!(
        "{} attempts from {CLIENTS} clients: {checked} checked, {} refused ({from_the_read} from the \
         read alone), {unavailable} unavailable; {written} writes in all; throttle fired {fired:?}",
        answers.len(),
        refused.len()
    );
    assert_eq!(answers.len(), ATTEMPTS);
    assert_eq!(unavailable, 0, "the flood was throttled: {fired:?}");
    assert_eq!(checked, 10, "exactly the threshold's attempts are checked");
    assert_eq!(checked + refused.len(), ATTEMPTS);
    // An attempt that raced the lock's start learns of it from its conditional write's refusal
    // and copies it onto the claim (each client at most once); every other refusal is the login's
    // read and nothing else.
    assert!(
        from_the_read >= ATTEMPTS - 10 - CLIENTS,
        "{from_the_read} refusals from the read alone"
    );
    for (_, calls) in &refused {
        assert!(writes(calls) <= 3, "a refusal wrote: {calls:?}");
    }
    // The writes do not grow with the flood: a count and an entry per checked attempt (and the
    // copy and the lock's entry for the one that locks), and for each client in flight as the
    // lock started, at most two refused counts and the copy.
    assert!(
        written <= 10 * 2 + 3 * CLIENTS,
        "{written} writes for {ATTEMPTS} attempts"
    );
}
