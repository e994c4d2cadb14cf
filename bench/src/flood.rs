//! A flood on one login: what its attempts cost while the login's lock holds, in DynamoDB calls
//! and capacity units (as the emulator books them, the way DynamoDB bills them), and the write
//! rate the flood attracts on the account's partition, before and after locks were copied onto
//! the login's claim; beside them, what a checked attempt and an accepted sign-in cost.
//!
//! "Before" is the schedule the service had: the login read, then the count's conditional write,
//! which a lock refuses (round after round, until it learns of the lock). It runs here through
//! the same store, on an account of its own, so both are measured in the same run.

use crate::Failure;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use ward::domain::account as accounts;
use ward::domain::ports::{AccountStore, Attempt, Counted, ThrottleStore};
use ward::domain::records::{Counter, Precondition, Subject};
use ward::domain::throttle::{next_step, Next};
use ward::{Error, Now};
use ward_tests::{client, counted_app_named, recorded_units, signed_in_account, PASSWORD};

/// Concurrent clients of the flood, and its attempts.
const CLIENTS: usize = 32;
const ATTEMPTS: usize = 2_000;
/// Accepted sign-ins and checked wrong passwords measured.
const SAMPLES: usize = 5;
const WRONG: &str = "not the password";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Schedule {
    Before,
    After,
    /// After, the flood starting on a login that is not locked yet: its first attempts are
    /// checked, and the lock starts under it.
    AfterFromUnlocked,
}

impl Schedule {
    fn name(self) -> &'static str {
        match self {
            Schedule::Before => "before",
            Schedule::After => "after",
            Schedule::AfterFromUnlocked => "after-unlocked",
        }
    }
}

/// One refused attempt as the service made it before: true when the lock refused it.
async fn refused_before(
    store: &ward::store::Store,
    login: &str,
    now: Now,
) -> Result<bool, Failure> {
    let read = store.login(login).await?;
    let account_id = read.owner.ok_or("the flooded login has an account")?;
    let mut seen = None;
    for _ in 0..6 {
        let step = match next_step(seen, Counter::Password.threshold(), now) {
            Next::Locked { .. } => return Ok(true),
            Next::Count { step, .. } => step,
        };
        let attempt = Attempt {
            subject: Subject::Account(&account_id),
            counter: Counter::Password,
            step,
            precondition: Precondition::None,
            now,
        };
        match store.count_attempt(&attempt).await? {
            Counted::Changed(count) => seen = Some(count),
            _ => return Ok(false),
        }
    }
    Ok(true)
}

/// Units booked for `function`: (read, write) on the account's partition, and on every other.
async fn units_of(function: &str, account_id: &str) -> ((f64, u64), (f64, u64)) {
    let account = format!("ACCOUNT#{account_id}");
    let mut on_account = (0.0, 0);
    let mut elsewhere = (0.0, 0);
    for ((booked_by, partition), (read, write)) in recorded_units().await {
        if booked_by != function {
            continue;
        }
        let sum = match partition == account {
            true => &mut on_account,
            false => &mut elsewhere,
        };
        sum.0 += read;
        sum.1 += write;
    }
    (on_account, elsewhere)
}

/// A locked login flooded by `CLIENTS` clients with `ATTEMPTS` wrong passwords.
async fn flood(schedule: Schedule, now: Now) -> Result<Value, Failure> {
    let (setup, _) = counted_app_named("bench-flood-setup").await;
    let account = signed_in_account(&setup, &format!("flood-{}", schedule.name()), now).await;
    if schedule != Schedule::AfterFromUnlocked {
        for _ in 0..Counter::Password.threshold() {
            let _ = accounts::sign_in(&setup.store, &account.login, WRONG, &client(), now).await;
        }
    }
    let function = format!("bench-flood-{}", schedule.name());
    let sent = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (login, sent, function) = (account.login.clone(), sent.clone(), function.clone());
        clients.push(tokio::spawn(async move {
            let (app, calls) = counted_app_named(&function).await;
            let mut seen: Vec<(bool, usize)> = Vec::new();
            while sent.fetch_add(1, Ordering::SeqCst) < ATTEMPTS {
                calls.take();
                let refused = match schedule {
                    Schedule::Before => refused_before(&app.store, &login, now).await?,
                    Schedule::After | Schedule::AfterFromUnlocked => matches!(
                        accounts::sign_in(&app.store, &login, WRONG, &client(), now).await,
                        Err(Error::TooManyAttempts { .. })
                    ),
                };
                seen.push((refused, calls.take().len()));
            }
            Ok::<_, Failure>(seen)
        }));
    }
    let mut seen = Vec::new();
    for client in clients {
        seen.extend(client.await??);
    }
    let seconds = started.elapsed().as_secs_f64();
    let refused = seen.iter().filter(|(refused, _)| *refused).count();
    let calls: usize = seen.iter().map(|(_, calls)| calls).sum();
    let most_calls = seen.iter().map(|(_, calls)| *calls).max().unwrap_or(0);
    let ((account_read, account_write), (other_read, other_write)) =
        units_of(&function, &account.account_id).await;
    let attempts = seen.len() as f64;
    Ok(json!({
        "attempts": seen.len(),
        "refused": refused,
        "seconds": seconds,
        "attempts_per_second": attempts / seconds,
        "calls_per_refused": calls as f64 / attempts,
        "most_calls_of_one": most_calls,
        "read_units_per_refused": (account_read + other_read) / attempts,
        "write_units_per_refused": (account_write + other_write) as f64 / attempts,
        "account_write_units": account_write,
        "other_write_units": other_write,
        "account_write_units_per_second": account_write as f64 / seconds,
    }))
}

/// What `SAMPLES` sign-ins with `password` cost each, on a fresh account whose 2FA is off.
async fn per_attempt(label: &str, password: &str, now: Now) -> Result<Value, Failure> {
    let function = format!("bench-flood-{label}");
    let (app, calls) = counted_app_named(&function).await;
    let account = signed_in_account(&app, &format!("flood-{label}"), now).await;
    // The sign-up and the first sign-in are not part of the measure.
    let before = units_of(&function, &account.account_id).await;
    calls.take();
    let mut listed = Vec::new();
    for _ in 0..SAMPLES {
        let _ = accounts::sign_in(&app.store, &account.login, password, &client(), now).await;
        listed.push(calls.take());
    }
    let after = units_of(&function, &account.account_id).await;
    let read = (after.0 .0 + after.1 .0) - (before.0 .0 + before.1 .0);
    let write = (after.0 .1 + after.1 .1) - (before.0 .1 + before.1 .1);
    Ok(json!({
        "calls": listed.first().cloned().unwrap_or_default(),
        "read_units": read / SAMPLES as f64,
        "write_units": write as f64 / SAMPLES as f64,
    }))
}

pub async fn figures(summary: &mut serde_json::Map<String, Value>) -> Result<(), Failure> {
    let now = Now::current();
    let accepted = per_attempt("accepted", PASSWORD, now).await?;
    let checked = per_attempt("checked", WRONG, now).await?;
    let before = flood(Schedule::Before, now).await?;
    let after = flood(Schedule::After, now).await?;
    let unlocked = flood(Schedule::AfterFromUnlocked, now).await?;

    println!(
        "\nA flood on one login: {CLIENTS} clients, {ATTEMPTS} wrong passwords while its lock holds \
         (last row: from before the lock, which starts under it)"
    );
    println!(
        "{:<28} {:>10} {:>9} {:>9} {:>11} {:>16}",
        "", "calls/att", "RCU/att", "WCU/att", "attempts/s", "account WCU/s"
    );
    for (label, row) in [
        ("before: count first", &before),
        ("after: lock copied", &after),
        ("after, from unlocked", &unlocked),
    ] {
        println!(
            "{label:<28} {:>10.2} {:>9.2} {:>9.3} {:>11.0} {:>16.1}",
            row["calls_per_refused"].as_f64().unwrap_or_default(),
            row["read_units_per_refused"].as_f64().unwrap_or_default(),
            row["write_units_per_refused"].as_f64().unwrap_or_default(),
            row["attempts_per_second"].as_f64().unwrap_or_default(),
            row["account_write_units_per_second"]
                .as_f64()
                .unwrap_or_default(),
        );
    }
    for (label, row) in [
        ("accepted sign-in (2FA off)", &accepted),
        ("wrong password, checked", &checked),
    ] {
        println!(
            "{label:<28} {:>10} {:>9.2} {:>9.2}   {}",
            row["calls"].as_array().map(Vec::len).unwrap_or_default(),
            row["read_units"].as_f64().unwrap_or_default(),
            row["write_units"].as_f64().unwrap_or_default(),
            row["calls"]
                .as_array()
                .map(|calls| calls
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default(),
        );
    }
    summary.insert(
        "flood".into(),
        json!({
            "clients": CLIENTS,
            "before": before,
            "after": after,
            "after_from_unlocked": unlocked,
            "accepted_sign_in": accepted,
            "checked_wrong_password": checked,
        }),
    );
    Ok(())
}
