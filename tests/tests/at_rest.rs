#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Nothing secret is stored in clear: a scan of the whole table, searched for every secret of an
//! account. Alone in its binary: the scan holds the emulator (one request at a time) for as long
//! as the table the suite has filled takes, which would hold up tests running beside it.

use ward::Now;
use ward_tests::{app, enrolled_account, mfa_token, PASSWORD};

#[tokio::test]
async fn no_secret_recovery_code_or_token_is_stored_in_clear() {
    let app = app().await;
    let account = enrolled_account(&app, "at-rest", Now::current()).await;
    ward_tests::view_codes(&app, &account.session, PASSWORD, account.enrolled_at)
        .await
        .unwrap();
    let token =
        ward_tests::access_token(&app, &account.session, "at-rest", account.enrolled_at).await;
    let mfa = mfa_token(&app, &account.login, account.enrolled_at).await;
    let dump = ward_tests::scan_table_as_text(&app).await;
    assert!(
        dump.contains(&account.account_id),
        "the scan saw the account"
    );
    assert!(dump.contains(&token.id), "the scan saw the token's listing");
    // Tokens of every kind are stored as digests only (their keys and listings hold the digest).
    assert!(dump.contains(&ward::crypto::random::digest(&token.token)));
    let mut needles = vec![
        account.secret_base32.clone(),
        account.secret_base32.to_lowercase(),
        token.token.clone(),
        account.session_token.clone(),
        mfa.clone(),
    ];
    for (bearer, prefix) in [
        (&token.token, "ward_pat_"),
        (&account.session_token, "ward_s_"),
        (&mfa, "ward_m_"),
    ] {
        // The random part alone, too (a store that dropped the prefix would still hold it).
        needles.push(bearer.strip_prefix(prefix).unwrap().to_string());
    }
    for code in &account.recovery_codes {
        needles.push(code.clone());
        needles.push(code.replace('-', ""));
    }
    for needle in needles {
        assert!(
            !dump.contains(&needle),
            "found a secret in clear in the table"
        );
    }
}
