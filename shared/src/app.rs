//! The wiring: what a function builds once per cold start (configuration, the store, the key
//! ring's source) and lends to every request.

use crate::config::Config;
use crate::config::MissingVariable;
use crate::crypto::Keys;
use crate::domain::ports::KeySource;
use crate::domain::Error;
use crate::store::Store;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_async::time::SystemTimeSource;
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::app_name::AppName;
use aws_types::region::Region;
use aws_types::sdk_config::SdkConfig;
use std::time::Duration;

pub struct App {
    pub config: Config,
    pub store: Store,
    sdk: SdkConfig,
    /// Built on the first read of the key ring: the functions that never read it never build it.
    secrets: std::sync::OnceLock<aws_sdk_secretsmanager::Client>,
    /// The key ring, when it was read, and when a read last failed.
    keys: tokio::sync::Mutex<HeldKeys>,
}

/// What a function holds of the key ring between requests.
#[derive(Default)]
enum HeldKeys {
    /// Nothing read yet.
    #[default]
    Empty,
    /// No ring, and a read that failed at this instant.
    Failed(std::time::Instant),
    /// The ring, and when it was read (or last tried again).
    Ring(std::time::Instant, std::sync::Arc<Keys>),
}

/// After a failed read with no ring held, how long requests are answered 503 at once instead of
/// each waiting on the key store again (requests that queued behind the failed read among them).
const FAILED_READ_PAUSE: Duration = Duration::from_secs(1);

/// What a request does about the key ring.
#[derive(Debug)]
enum KeyStep<'a> {
    /// Use the ring held.
    Use(&'a std::sync::Arc<Keys>),
    /// Read the ring from Secrets Manager.
    Read,
    /// Answer 503 without asking: a read just failed and there is no ring to fall back on.
    Refuse,
}

fn key_step(held: &HeldKeys, now: std::time::Instant, refresh: Duration) -> KeyStep<'_> {
    match held {
        HeldKeys::Ring(read_at, keys) if now.duration_since(*read_at) < refresh => {
            KeyStep::Use(keys)
        }
        HeldKeys::Failed(at) if now.duration_since(*at) < FAILED_READ_PAUSE => KeyStep::Refuse,
        _ => KeyStep::Read,
    }
}

impl App {
    /// Reads the configuration and builds the clients of the function named `function` (its
    /// package name, which its SDK calls carry in their user agent as `app/<function>`). A missing
    /// variable fails the cold start with a log line naming it.
    pub async fn from_env(function: &'static str) -> Result<App, MissingVariable> {
        let configured = Config::from_env().and_then(|config| Ok((config, sdk_config(function)?)));
        let (config, sdk) = configured.inspect_err(|error| {
            tracing::error!(%error, "cannot start: configuration is incomplete");
        })?;
        Ok(App::new(config, &sdk))
    }

    pub fn new(config: Config, sdk: &SdkConfig) -> App {
        let store = Store::from_sdk(sdk, config.table_name.clone());
        App {
            config,
            store,
            sdk: sdk.clone(),
            secrets: std::sync::OnceLock::new(),
            keys: tokio::sync::Mutex::new(HeldKeys::default()),
        }
    }

    /// The key ring, read from Secrets Manager on first use and again once it is older than
    /// `key_refresh_secs` (so a key added to the ring reaches every instance within that time).
    /// Only the functions that seal or look up secrets ever call this. When a refresh fails, the
    /// ring already held is used, and the next refresh is tried `key_refresh_secs` later: a key
    /// store that does not answer costs one request its wait, not every request. With no ring
    /// held, a failed read is 503, and so is every request in the second after it.
    pub async fn keys(&self) -> Result<std::sync::Arc<Keys>, Error> {
        let mut held = self.keys.lock().await;
        let refresh = Duration::from_secs(self.config.key_refresh_secs);
        match key_step(&held, std::time::Instant::now(), refresh) {
            KeyStep::Use(keys) => return Ok(keys.clone()),
            KeyStep::Refuse => return Err(Error::ServiceUnavailable),
            KeyStep::Read => {}
        }
        let read = self.read_keys().await;
        let now = std::time::Instant::now();
        match (read, &mut *held) {
            (Ok(keys), held) => {
                let keys = std::sync::Arc::new(keys);
                *held = HeldKeys::Ring(now, keys.clone());
                Ok(keys)
            }
            (Err(_), HeldKeys::Ring(read_at, keys)) => {
                tracing::warn!("the key ring could not be read again; using the one held");
                *read_at = now;
                Ok(keys.clone())
            }
            (Err(error), held) => {
                *held = HeldKeys::Failed(now);
                Err(error)
            }
        }
    }

    async fn read_keys(&self) -> Result<Keys, Error> {
        let secrets = self
            .secrets
            .get_or_init(|| aws_sdk_secretsmanager::Client::new(&self.sdk));
        let output = secrets
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

/// The roots that sign the certificates of AWS's service endpoints (Amazon Trust Services: Amazon
/// Root CA 1 to 4 and Starfield Services Root G2), compiled in: a cold start parses these five
/// instead of reading and parsing every certificate of the operating system's trust store.
const AWS_ROOTS: &[u8] = include_bytes!("../certs/amazon-roots.pem");

/// The HTTPS client of every SDK call: rustls with ring (the one crypto backend of the
/// functions), trusting only the compiled-in roots.
fn https_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    let builder = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
    match TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(AWS_ROOTS))
        .build()
    {
        Ok(context) => builder.tls_context(context).build_https(),
        Err(error) => {
            // Not an error this version of the client returns: it checks the PEM only when it
            // makes its first connection (and panics on a bad one), which is why a unit test
            // parses these roots. Should a later version refuse them here, the platform's store
            // is the fallback rather than no client at all.
            tracing::error!(%error, "the compiled-in roots were refused; using the system's");
            builder.build_https()
        }
    }
}

/// The SDK's configuration, read straight from what Lambda puts in the environment: the region
/// (`AWS_REGION`) and the execution role's credentials (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), plus `AWS_ENDPOINT_URL` where one is set (the
/// local emulator). No profile file, no instance metadata, no credential chain is consulted: a
/// Lambda function has none of them, and looking costs every cold start.
///
/// Timeouts are short enough that an unreachable database is a 503 within seconds rather than a
/// function hanging to its limit. Every call names `function` in its user agent
/// (`app/<function>`), so the calls of each function can be told apart: by the local emulator's
/// call recorder, which proves template.yaml's IAM policies, and in AWS by anyone reading request
/// logs.
pub fn sdk_config(function: &str) -> Result<SdkConfig, MissingVariable> {
    sdk_config_from(function, |name| std::env::var(name).ok())
}

/// [`sdk_config`] with the environment given as a lookup.
pub fn sdk_config_from(
    function: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<SdkConfig, MissingVariable> {
    let present = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    let required = |name: &'static str| present(name).ok_or(MissingVariable(name));
    let region = present("AWS_REGION")
        .or_else(|| present("AWS_DEFAULT_REGION"))
        .ok_or(MissingVariable("AWS_REGION"))?;
    let credentials = Credentials::new(
        required("AWS_ACCESS_KEY_ID")?,
        required("AWS_SECRET_ACCESS_KEY")?,
        present("AWS_SESSION_TOKEN"),
        None,
        "lambda-environment",
    );
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(https_client())
        .sleep_impl(TokioSleep::new())
        .time_source(SystemTimeSource::new())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(1_000))
                .read_timeout(Duration::from_millis(2_000))
                .operation_attempt_timeout(Duration::from_millis(2_500))
                .operation_timeout(Duration::from_millis(5_000))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(2));
    if let Some(endpoint) = present("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(endpoint);
    }
    if let Ok(name) = AppName::new(function.to_string()) {
        builder = builder.app_name(name);
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(missing: &'static str) -> impl Fn(&str) -> Option<String> {
        move |name: &str| {
            (name != missing && name != "AWS_DEFAULT_REGION").then(|| format!("v-{name}"))
        }
    }

    #[test]
    fn a_held_ring_serves_until_its_refresh_and_a_failed_read_pauses_a_second() {
        let t0 = std::time::Instant::now();
        let refresh = Duration::from_secs(300);
        let later = |secs: u64| t0 + Duration::from_secs(secs);
        let keys = std::sync::Arc::new(Keys::from_secret(&"k".repeat(64)).unwrap());
        // Nothing held: read.
        assert!(matches!(
            key_step(&HeldKeys::Empty, t0, refresh),
            KeyStep::Read
        ));
        // A ring read (or tried again) less than the refresh time ago serves; at the refresh, read.
        let ring = HeldKeys::Ring(t0, keys.clone());
        assert!(matches!(
            key_step(&ring, later(299), refresh),
            KeyStep::Use(_)
        ));
        assert!(matches!(
            key_step(&ring, later(300), refresh),
            KeyStep::Read
        ));
        // No ring and a read that just failed: 503 at once for a second, then read again.
        let failed = HeldKeys::Failed(t0);
        assert!(matches!(
            key_step(&failed, t0 + Duration::from_millis(999), refresh),
            KeyStep::Refuse
        ));
        assert!(matches!(
            key_step(&failed, later(1), refresh),
            KeyStep::Read
        ));
        // A ring read after a failure serves at once (the failure is forgotten with it).
        assert!(matches!(
            key_step(&HeldKeys::Ring(t0, keys), t0, refresh),
            KeyStep::Use(_)
        ));
    }

    #[test]
    fn the_compiled_in_roots_are_five_trust_anchors() {
        use rustls_pki_types::pem::PemObject;
        let certificates = rustls_pki_types::CertificateDer::pem_slice_iter(AWS_ROOTS)
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for certificate in certificates {
            roots.add(certificate).unwrap();
        }
        assert_eq!(roots.len(), 5);
    }

    #[test]
    fn the_configuration_comes_from_the_lambda_environment() {
        let sdk = sdk_config_from("whoami", lookup("none")).unwrap();
        assert_eq!(sdk.region().unwrap().as_ref(), "v-AWS_REGION");
        assert_eq!(sdk.endpoint_url(), Some("v-AWS_ENDPOINT_URL"));
        assert_eq!(sdk.app_name().unwrap().as_ref(), "whoami");
        assert!(sdk.credentials_provider().is_some());
    }

    #[test]
    fn a_missing_region_or_credential_is_named() {
        for name in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            let error = sdk_config_from("whoami", lookup(name)).unwrap_err();
            assert_eq!(error.0, name);
        }
        let sdk = sdk_config_from("whoami", lookup("AWS_ENDPOINT_URL")).unwrap();
        assert_eq!(sdk.endpoint_url(), None);
        assert!(sdk_config_from("whoami", lookup("AWS_SESSION_TOKEN")).is_ok());
    }
}
