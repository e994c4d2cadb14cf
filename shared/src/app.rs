//! What a function builds once per cold start and lends to every request.

use crate::config::Config;
use crate::store::Store;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use std::time::Duration;

pub struct App {
    pub config: Config,
    pub store: Store,
}

impl App {
    /// Reads the configuration and builds the clients. A missing variable fails the cold start
    /// with a log line naming it.
    pub async fn from_env() -> Result<App, lambda_http::Error> {
        let config = Config::from_env().inspect_err(|error| {
            tracing::error!(%error, "cannot start: configuration is incomplete");
        })?;
        Ok(App::new(config, &sdk_config().await))
    }

    pub fn new(config: Config, sdk: &aws_config::SdkConfig) -> App {
        let store = Store::new(
            aws_sdk_dynamodb::Client::new(sdk),
            config.table_name.clone(),
        );
        App { config, store }
    }
}

/// The SDK's configuration from the Lambda environment, with timeouts short enough that an
/// unreachable database is a 503 within seconds rather than a function hanging to its limit.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
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
