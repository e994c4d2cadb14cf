//! The wiring: what a function builds once per cold start (configuration, the store, the key
//! ring's source) and lends to every request.

use crate::config::Config;
use crate::crypto::Keys;
use crate::domain::ports::KeySource;
use crate::domain::Error;
use crate::store::Store;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use std::time::Duration;

pub struct App {
    pub config: Config,
    pub store: Store,
    secrets: aws_sdk_secretsmanager::Client,
    /// The key ring and when it was read.
    keys: tokio::sync::Mutex<Option<(std::time::Instant, std::sync::Arc<Keys>)>>,
}

impl App {
    /// Reads the configuration and builds the clients of the function named `function` (its
    /// package name, which its SDK calls carry in their user agent as `app/<function>`). A missing
    /// variable fails the cold start with a log line naming it.
    pub async fn from_env(function: &'static str) -> Result<App, crate::config::MissingVariable> {
        let config = Config::from_env().inspect_err(|error| {
            tracing::error!(%error, "cannot start: configuration is incomplete");
        })?;
        Ok(App::new(config, &sdk_config(function).await))
    }

    pub fn new(config: Config, sdk: &aws_config::SdkConfig) -> App {
        let store = Store::from_sdk(sdk, config.table_name.clone());
        let secrets = aws_sdk_secretsmanager::Client::new(sdk);
        App {
            config,
            store,
            secrets,
            keys: tokio::sync::Mutex::new(None),
        }
    }

    /// The key ring, read from Secrets Manager on first use and again once it is older than
    /// `key_refresh_secs` (so a key added to the ring reaches every instance within that time).
    /// Only the functions that seal or look up secrets ever call this. When a refresh fails, the
    /// ring already held is used.
    pub async fn keys(&self) -> Result<std::sync::Arc<Keys>, Error> {
        let mut held = self.keys.lock().await;
        let refresh = Duration::from_secs(self.config.key_refresh_secs);
        if let Some((read_at, keys)) = held.as_ref() {
            if read_at.elapsed() < refresh {
                return Ok(keys.clone());
            }
        }
        match self.read_keys().await {
            Ok(keys) => {
                let keys = std::sync::Arc::new(keys);
                *held = Some((std::time::Instant::now(), keys.clone()));
                Ok(keys)
            }
            Err(error) => match held.as_ref() {
                Some((_, keys)) => {
                    tracing::warn!("the key ring could not be read again; using the one held");
                    Ok(keys.clone())
                }
                None => Err(error),
            },
        }
    }

    async fn read_keys(&self) -> Result<Keys, Error> {
        let output = self
            .secrets
            .get_secret_value()
            .secret_id(&self.config.key_secret_id)
            .send()
            .await
            .map_err(|error| {
                let unreachable = matches!(
                    error,
                    aws_sdk_secretsmanager::error::SdkError::DispatchFailure(_)
                        | aws_sdk_secretsmanager::error::SdkError::TimeoutError(_)
                        | aws_sdk_secretsmanager::error::SdkError::ResponseError(_)
                );
                tracing::error!(unreachable, "the key ring could not be fetched");
                if unreachable {
                    Error::ServiceUnavailable
                } else {
                    Error::Internal
                }
            })?;
        let text = output.secret_string().ok_or_else(|| {
            tracing::error!("the key secret holds no string");
            Error::Internal
        })?;
        Ok(Keys::from_secret(text)?)
    }
}

impl KeySource for App {
    async fn keys(&self) -> Result<std::sync::Arc<Keys>, Error> {
        App::keys(self).await
    }
}

/// The SDK's configuration from the Lambda environment, with timeouts short enough that an
/// unreachable database is a 503 within seconds rather than a function hanging to its limit.
/// Every call names `function` in its user agent (`app/<function>`), so the calls of each function
/// can be told apart: by the local emulator's call recorder, which proves template.yaml's IAM
/// policies, and in AWS by anyone reading request logs.
/// The roots that sign the certificates of AWS's service endpoints (Amazon Trust Services), compiled
/// in: a cold start parses these five instead of reading the operating system's whole store.
const AWS_ROOTS: &[u8] = include_bytes!("../certs/amazon-roots.pem");

fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    let context = TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(AWS_ROOTS))
        .build();
    let builder = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
    match context {
        Ok(context) => builder.tls_context(context).build_https(),
        Err(_) => builder.build_https(),
    }
}

pub async fn sdk_config(function: &str) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Ok(name) = aws_config::AppName::new(function.to_string()) {
        loader = loader.app_name(name);
    }
    loader
        .http_client(https_client())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(1_000))
                .read_timeout(Duration::from_millis(2_000))
                .operation_attempt_timeout(Duration::from_millis(2_500))
                .operation_timeout(Duration::from_millis(5_000))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .load()
        .await
}
