//! Configuration from the environment, read once per cold start.

/// What every function needs to know about its deployment.
#[derive(Debug, Clone)]
pub struct Config {
    /// The DynamoDB table holding every item of the service.
    pub table_name: String,
    /// The Secrets Manager secret holding the master key (fetched only when a function needs it).
    pub key_secret_id: String,
    /// The issuer shown in authenticator apps, e.g. "Example Cloud".
    pub totp_issuer: String,
    /// How long an instance keeps the key ring before it reads the secret again (`KEY_REFRESH_SECS`,
    /// default 300): the wait between the two steps of a key rotation.
    pub key_refresh_secs: u64,
}

/// The default of `KEY_REFRESH_SECS`.
pub const KEY_REFRESH_SECS: u64 = 300;

#[derive(Debug, thiserror::Error)]
#[error("missing required environment variable {0}: set it in template.yaml or the local env")]
pub struct MissingVariable(pub &'static str);

impl Config {
    pub fn from_env() -> Result<Config, MissingVariable> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, MissingVariable> {
        let required = |name: &'static str| {
            lookup(name)
                .filter(|value| !value.trim().is_empty())
                .ok_or(MissingVariable(name))
        };
        Ok(Config {
            table_name: required("TABLE_NAME")?,
            key_secret_id: required("KEY_SECRET_ID")?,
            totp_issuer: required("TOTP_ISSUER")?,
            key_refresh_secs: lookup("KEY_REFRESH_SECS")
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(KEY_REFRESH_SECS),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_variable_is_named() {
        let error = Config::from_lookup(|name| (name != "KEY_SECRET_ID").then(|| "x".to_string()))
            .unwrap_err();
        assert!(error.to_string().contains("KEY_SECRET_ID"));
    }

    #[test]
    fn a_blank_variable_counts_as_missing() {
        let error = Config::from_lookup(|name| {
            Some(if name == "TABLE_NAME" {
                " ".to_string()
            } else {
                "x".to_string()
            })
        })
        .unwrap_err();
        assert_eq!(error.0, "TABLE_NAME");
    }

    #[test]
    fn all_present_reads_all() {
        let config = Config::from_lookup(|name| Some(format!("v-{name}"))).unwrap();
        assert_eq!(config.table_name, "v-TABLE_NAME");
        assert_eq!(config.totp_issuer, "v-TOTP_ISSUER");
    }
}
