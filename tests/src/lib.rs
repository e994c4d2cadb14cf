#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Helpers of Ward's integration and end-to-end tests.
//!
//! `make test` starts the DynamoDB emulator and `cargo lambda watch` on free ports and passes them
//! in `AWS_ENDPOINT_URL` and `WARD_API_URL`; these helpers read them.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use lambda_http::{Body, Request};
use std::sync::{Arc, Mutex};
use ward::config::Config;
use ward::store::Store;
use ward::App;

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the suite with `make test`, which starts the local stack")
    })
}

pub fn config() -> Config {
    Config::from_env().expect("TABLE_NAME, KEY_SECRET_ID and TOTP_ISSUER are set by `make test`")
}

/// The API served by `cargo lambda watch`.
pub fn api_url() -> String {
    required("WARD_API_URL")
}

/// An app wired to the emulator, as a function's `main` builds it.
pub async fn app() -> App {
    App::new(config(), &ward::app::sdk_config().await)
}

/// The DynamoDB operations an app has sent, in order.
#[derive(Clone, Debug, Default)]
pub struct CallLog(Arc<Mutex<Vec<String>>>);

impl CallLog {
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }
    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // DynamoDB names the operation in its target header, e.g. DynamoDB_20120810.GetItem.
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or_default();
        let operation = target.rsplit('.').next().unwrap_or_default().to_string();
        self.0.lock().unwrap().push(operation);
        Ok(())
    }
}

/// An app whose DynamoDB client talks to `endpoint` instead of the emulator.
pub async fn app_at(endpoint: &str) -> App {
    let config = config();
    let sdk = ward::app::sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .endpoint_url(endpoint)
        .build();
    let mut app = App::new(config.clone(), &sdk);
    app.store = Store::new(
        aws_sdk_dynamodb::Client::from_conf(dynamodb),
        config.table_name,
    );
    app
}

/// An app whose every DynamoDB call is recorded, to check the calls each route makes.
pub async fn counted_app() -> (App, CallLog) {
    let config = config();
    let sdk = ward::app::sdk_config().await;
    let log = CallLog::default();
    let dynamodb = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .interceptor(log.clone())
        .build();
    let mut app = App::new(config.clone(), &sdk);
    app.store = Store::new(
        aws_sdk_dynamodb::Client::from_conf(dynamodb),
        config.table_name,
    );
    (app, log)
}

/// A login no other test uses.
pub fn unique_login(tag: &str) -> String {
    let mut bytes = [0u8; 6];
    ward::token::fill_random(&mut bytes).unwrap();
    format!("{tag}-{}@example.com", ward::token::hex(&bytes))
}

/// A request as API Gateway would hand it to a handler.
pub fn request(
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
    bearer: Option<&str>,
) -> Request {
    let mut builder = lambda_http::http::Request::builder()
        .method(method)
        .uri(format!("https://api.example.com{path}"))
        .header("content-type", "application/json")
        .header("user-agent", "ward-tests/1.0");
    if let Some(bearer) = bearer {
        builder = builder.header("authorization", format!("Bearer {bearer}"));
    }
    let body = match body {
        Some(value) => Body::Text(value.to_string()),
        None => Body::Empty,
    };
    builder.body(body).unwrap()
}

/// Status and JSON body of a handler's response.
pub fn parts(response: lambda_http::Response<Body>) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let bytes: &[u8] = response.body().as_ref();
    let body = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(bytes).unwrap()
    };
    (status, body)
}

/// An HTTP client for the end-to-end tests.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap()
}

pub const PASSWORD: &str = "correct horse battery staple";

/// Everything the service logs while `run` runs, as the JSON lines a function writes, with the
/// functions' own filter at its most verbose setting (`RUST_LOG=trace`).
pub async fn capture_logs<F: std::future::Future<Output = ()>>(run: F) -> String {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_env_filter(ward::telemetry::filter("trace"))
        .flatten_event(true)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    run.await;
    drop(guard);
    let bytes = buffer.0.lock().unwrap().clone();
    String::from_utf8(bytes).unwrap()
}
