#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! One journey over HTTP through every route on every path: success, wrong password, wrong code,
//! state conflicts, a recovery code, personal access tokens on whoami and the authorizer, locks on
//! both throttles. The IAM test proves template.yaml's policies from the calls it makes; the
//! trace-log test searches every log line for the secrets it used, which it collects as it goes.

use crate::{call_at, unique_login, PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};

/// Request and response fields that hold a secret.
const SECRET_FIELDS: [&str; 9] = [
    "password",
    "code",
    "recovery_code",
    "session_token",
    "mfa_token",
    "token",
    "secret",
    "otpauth_uri",
    "qr_png",
];

pub struct Journey {
    base: String,
    /// Every password, code, secret and token sent or received, with the digests of the tokens
    /// and every request body as base64 (as a gateway may carry it).
    pub secrets: Vec<String>,
    /// The accounts it created.
    pub accounts: Vec<String>,
}

impl Journey {
    pub fn new(base: &str) -> Journey {
        Journey {
            base: base.to_string(),
            secrets: Vec::new(),
            accounts: Vec::new(),
        }
    }

    fn collect(&mut self, value: &Value) {
        let Some(object) = value.as_object() else {
            return;
        };
        for (name, field) in object {
            if let (true, Some(text)) = (SECRET_FIELDS.contains(&name.as_str()), field.as_str()) {
                self.secrets.push(text.to_string());
                if name.ends_with("token") {
                    self.secrets.push(ward::crypto::random::digest(text));
                }
                if name == "secret" {
                    self.secrets.push(text.to_lowercase());
                }
            }
            if name == "recovery_codes" {
                for code in field.as_array().into_iter().flatten() {
                    let code = code
                        .as_str()
                        .or_else(|| code["code"].as_str())
                        .unwrap_or_default();
                    self.secrets.push(code.to_string());
                    self.secrets.push(code.replace('-', ""));
                }
            }
        }
    }

    pub async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
        bearer: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        if let Some(body) = &body {
            use base64::Engine;
            self.collect(body);
            let sent = serde_json::to_vec(body).unwrap();
            self.secrets
                .push(base64::engine::general_purpose::STANDARD.encode(sent));
        }
        if let Some(bearer) = bearer {
            self.secrets.push(bearer.to_string());
        }
        let answer = call_at(&self.base, method, path, body, bearer).await;
        self.collect(&answer.2);
        if let (201, Some(account_id)) = (answer.0, answer.2["account_id"].as_str()) {
            self.accounts.push(account_id.to_string());
        }
        answer
    }

    async fn post(&mut self, path: &str, body: Value, bearer: Option<&str>) -> (u16, Value) {
        let (status, _, body) = self.call(Method::POST, path, Some(body), bearer).await;
        (status, body)
    }

    async fn get(&mut self, path: &str, bearer: &str) -> (u16, Value) {
        let (status, _, body) = self.call(Method::GET, path, None, Some(bearer)).await;
        (status, body)
    }

    async fn invoke(&mut self, function: &str, event: &Value) -> Value {
        crate::invoke_at(&self.base, function, event).await
    }

    /// A new account, signed in: its credentials and session.
    async fn new_account(&mut self, tag: &str) -> (Value, String) {
        let credentials = json!({ "login": unique_login(tag), "password": PASSWORD });
        let (status, _) = self.post("/v1/accounts", credentials.clone(), None).await;
        assert_eq!(status, 201);
        let (_, signed_in) = self.post("/v1/sign-in", credentials.clone(), None).await;
        let session = signed_in["session_token"].as_str().unwrap().to_string();
        (credentials, session)
    }

    /// A code of the authenticator app at `step`, remembered as a secret.
    fn code(&mut self, secret: &[u8], step: i64) -> String {
        let code = ward::crypto::totp::code_at_step(secret, step).unwrap();
        self.secrets.push(code.clone());
        code
    }
}

fn step() -> i64 {
    ward::Now::current().secs() / 30
}

/// Every route on every path, over HTTP.
pub async fn every_path(base: &str) -> Journey {
    let mut run = Journey::new(base);
    let run = &mut run;
    let login = unique_login("iam");
    let credentials = json!({ "login": login, "password": PASSWORD });
    let wrong = json!({ "login": login, "password": "not the password" });
    let password = json!({ "password": PASSWORD });
    let wrong_password = json!({ "password": "not the password" });

    let (status, account) = run.post("/v1/accounts", credentials.clone(), None).await;
    assert_eq!(status, 201);
    let account_id = account["account_id"].as_str().unwrap().to_string();
    assert_eq!(
        run.post("/v1/accounts", credentials.clone(), None).await.0,
        409
    );
    assert_eq!(run.post("/v1/sign-in", wrong.clone(), None).await.0, 401);
    let unknown = json!({ "login": unique_login("iam-nobody"), "password": "not the password" });
    assert_eq!(run.post("/v1/sign-in", unknown, None).await.0, 401);
    // A sign-in whose session's write finds 2FA on, while the account read again finds it off:
    // the race with an enable, forced by the emulator, answers 503.
    crate::inject(
        "TransactWriteItems",
        &account_id,
        crate::Fault::TransactionConditionFailed,
        1,
    )
    .await;
    assert_eq!(
        run.post("/v1/sign-in", credentials.clone(), None).await.0,
        503
    );
    let (status, signed_in) = run.post("/v1/sign-in", credentials.clone(), None).await;
    assert_eq!(status, 200);
    let session = signed_in["session_token"].as_str().unwrap().to_string();
    let bearer = Some(session.as_str());
    assert_eq!(run.get("/v1/account", &session).await.0, 200);
    assert_eq!(run.get("/v1/whoami", &session).await.0, 200);
    assert_eq!(run.get("/v1/account/events", &session).await.0, 200);

    // Enrolment: a wrong password, a wrong code, the right one; then the conflicts.
    assert_eq!(
        run.post("/v1/two-factor/setup", wrong_password.clone(), bearer)
            .await
            .0,
        403
    );
    let (status, setup) = run
        .post("/v1/two-factor/setup", password.clone(), bearer)
        .await;
    assert_eq!(status, 200);
    let secret = data_encoding::BASE32_NOPAD
        .decode(setup["secret"].as_str().unwrap().as_bytes())
        .unwrap();
    let enrolled_at = step();
    // A session opened with the password alone, which the enable ends.
    let (_, before_enable) = run.post("/v1/sign-in", credentials.clone(), None).await;
    let before_enable = before_enable["session_token"].as_str().unwrap().to_string();
    let wrong_code = json!({ "code": "000000" });
    let verify_wrong = run
        .post("/v1/two-factor/setup/verify", wrong_code, bearer)
        .await;
    assert!(matches!(verify_wrong.0, 401 | 429), "{verify_wrong:?}");
    let code = run.code(&secret, enrolled_at);
    let (status, enabled) = run
        .post(
            "/v1/two-factor/setup/verify",
            json!({ "code": code }),
            bearer,
        )
        .await;
    assert_eq!(status, 200, "{enabled}");
    let codes: Vec<String> = enabled["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        run.get("/v1/whoami", &before_enable).await.0,
        401,
        "ended by the enable"
    );
    assert_eq!(
        run.post("/v1/two-factor/setup", password.clone(), bearer)
            .await
            .0,
        409
    );
    assert_eq!(
        run.post(
            "/v1/two-factor/setup/verify",
            json!({ "code": code }),
            bearer
        )
        .await
        .0,
        409
    );

    // The second factor: a wrong code, the app's next code, a recovery code.
    let (_, challenge) = run.post("/v1/sign-in", credentials.clone(), None).await;
    let mfa = challenge["mfa_token"].as_str().unwrap().to_string();
    let wrong_factor = json!({ "mfa_token": mfa, "code": "000000" });
    assert_eq!(
        run.post("/v1/sign-in/verify", wrong_factor, None).await.0,
        401
    );
    let next = run.code(&secret, enrolled_at + 1);
    let by_code = run
        .post(
            "/v1/sign-in/verify",
            json!({ "mfa_token": mfa, "code": next }),
            None,
        )
        .await;
    assert_eq!(by_code.0, 200, "{by_code:?}");
    let (_, challenge) = run.post("/v1/sign-in", credentials.clone(), None).await;
    let mfa = challenge["mfa_token"].as_str().unwrap().to_string();
    let by_recovery = json!({ "mfa_token": mfa, "recovery_code": codes[0] });
    assert_eq!(
        run.post("/v1/sign-in/verify", by_recovery, None).await.0,
        200
    );
    let spent = json!({ "mfa_token": mfa, "code": "123456" });
    assert_eq!(run.post("/v1/sign-in/verify", spent, None).await.0, 401);

    // Recovery codes, after a wrong password and the right one.
    for route in ["view", "regenerate"] {
        let path = format!("/v1/two-factor/recovery-codes/{route}");
        assert_eq!(run.post(&path, wrong_password.clone(), bearer).await.0, 403);
        assert_eq!(run.post(&path, password.clone(), bearer).await.0, 200);
    }

    // Personal access tokens: create, list, use on whoami and the authorizer, revoke.
    let token_body = json!({ "name": "iam", "password": PASSWORD });
    assert_eq!(
        run.post(
            "/v1/tokens",
            json!({ "name": "iam", "password": "nope nope" }),
            bearer
        )
        .await
        .0,
        403
    );
    let (status, created) = run.post("/v1/tokens", token_body.clone(), bearer).await;
    assert_eq!(status, 201);
    // An account whose count says it is full (its tokens may have expired since): the next create
    // counts the live ones afresh, from the listing.
    let full = ward::store::ConditionalUpdate::new(ward::store::keys::account(&run.accounts[0]))
        .set("token_count = :full")
        .value(
            ":full",
            ward::store::n(ward::domain::access_token::MAX_LIVE_TOKENS),
        );
    crate::app()
        .await
        .store
        .update(full)
        .await
        .unwrap()
        .unwrap();
    let (_, for_authorizer) = run.post("/v1/tokens", token_body, bearer).await;
    let token = created["token"].as_str().unwrap().to_string();
    assert_eq!(run.get("/v1/tokens", &session).await.0, 200);
    assert_eq!(run.get("/v1/whoami", &token).await.0, 200);
    assert_eq!(run.get("/v1/account", &token).await.0, 403);
    let saved = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/events/authorizer-request.json"
    ))
    .unwrap();
    for bearer in [for_authorizer["token"].as_str().unwrap(), session.as_str()] {
        let event: Value =
            serde_json::from_str(&saved.replace("REPLACE_WITH_A_TOKEN", bearer)).unwrap();
        assert_eq!(run.invoke("authorizer", &event).await["isAuthorized"], true);
    }
    let id = created["id"].as_str().unwrap();
    let path = format!("/v1/tokens/{id}");
    for expected in [204, 404] {
        let (status, _, _) = run.call(Method::DELETE, &path, None, bearer).await;
        assert_eq!(status, expected);
    }

    // Disable, then every route that needs 2FA on.
    assert_eq!(
        run.post("/v1/two-factor/disable", wrong_password.clone(), bearer)
            .await
            .0,
        403
    );
    assert_eq!(
        run.post("/v1/two-factor/disable", password.clone(), bearer)
            .await
            .0,
        200
    );
    for route in [
        "/v1/two-factor/disable",
        "/v1/two-factor/recovery-codes/view",
        "/v1/two-factor/recovery-codes/regenerate",
    ] {
        assert_eq!(
            run.post(route, password.clone(), bearer).await.0,
            409,
            "{route}"
        );
    }
    assert_eq!(
        run.post(
            "/v1/two-factor/setup/verify",
            json!({ "code": "123456" }),
            bearer
        )
        .await
        .0,
        409
    );

    // Sessions: list, end another, end every other after a wrong password and the right one.
    let (_, second) = run.post("/v1/sign-in", credentials.clone(), None).await;
    let second = second["session_token"].as_str().unwrap().to_string();
    run.post("/v1/sign-in", credentials.clone(), None).await;
    let (status, listed) = run.get("/v1/sessions", &session).await;
    assert_eq!(status, 200, "{listed}");
    let other = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|listed| listed["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    for expected in [204, 404] {
        let path = format!("/v1/sessions/{other}");
        let (status, _, _) = run.call(Method::DELETE, &path, None, bearer).await;
        assert_eq!(status, expected);
    }
    let end_others = "/v1/sessions/end-others";
    assert_eq!(
        run.post(end_others, wrong_password.clone(), bearer).await.0,
        403
    );
    let (status, ended) = run.post(end_others, password.clone(), bearer).await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(run.get("/v1/whoami", &second).await.0, 401);

    throttled_paths(run).await;

    let (status, _, _) = run.call(Method::POST, "/v1/sign-out", None, bearer).await;
    assert_eq!(status, 204);
    let (status, _, _) = run.call(Method::POST, "/v1/sign-out", None, bearer).await;
    assert_eq!(status, 401);
    std::mem::replace(run, Journey::new(base))
}

/// Locks: the password throttle on sign-in (a known and an unknown login) and on a
/// password-confirmed route, the second-factor throttle on Verify2FACode.
async fn throttled_paths(run: &mut Journey) {
    let (credentials, session) = run.new_account("iam-lock").await;
    let wrong = json!({ "login": credentials["login"], "password": "not the password" });
    let unknown = json!({ "login": unique_login("iam-nobody"), "password": "not the password" });
    for body in [wrong, unknown] {
        let mut statuses = Vec::new();
        for _ in 0..11 {
            statuses.push(run.post("/v1/sign-in", body.clone(), None).await.0);
        }
        assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    }
    let password = json!({ "password": PASSWORD });
    let locked = run
        .post("/v1/two-factor/setup", password.clone(), Some(&session))
        .await;
    assert_eq!(locked.0, 429, "{locked:?}");

    let (credentials, session) = run.new_account("iam-lock-2fa").await;
    let (_, setup) = run
        .post("/v1/two-factor/setup", password, Some(&session))
        .await;
    let secret = data_encoding::BASE32_NOPAD
        .decode(setup["secret"].as_str().unwrap().as_bytes())
        .unwrap();
    let code = run.code(&secret, step());
    let enabled = run
        .post(
            "/v1/two-factor/setup/verify",
            json!({ "code": code }),
            Some(&session),
        )
        .await;
    assert_eq!(enabled.0, 200, "{enabled:?}");
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let (_, challenge) = run.post("/v1/sign-in", credentials.clone(), None).await;
        let mfa = challenge["mfa_token"].as_str().unwrap().to_string();
        for _ in 0..3 {
            let guess = json!({ "mfa_token": mfa, "code": "000000" });
            statuses.push(run.post("/v1/sign-in/verify", guess, None).await.0);
        }
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}
