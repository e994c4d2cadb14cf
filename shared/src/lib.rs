//! Ward: a serverless two-factor authentication service.
//!
//! This crate is everything the Lambda functions share. The layers, from the outside in:
//! `handlers` (one function per route: parse the request, call the domain, shape the reply),
//! `http` and `error` (the contract's request rules and its one error mapping), the domain
//! modules (`accounts`, `auth`, `throttle`, ...: rules, no HTTP types) and `store` (DynamoDB,
//! the only module that knows item layouts).

pub mod accounts;
pub mod app;
pub mod auth;
pub mod authorizer;
pub mod config;
pub mod crypto;
pub mod error;
pub mod events;
pub mod handlers;
pub mod http;
pub mod password;
pub mod recovery;
pub mod sessions;
pub mod store;
pub mod telemetry;
pub mod throttle;
pub mod token;
pub mod tokens;
pub mod totp;
pub mod two_factor;
pub mod verify;

pub use app::App;
pub use error::ApiError;

/// An instant, as the edge read it. Domain code takes it as a parameter and never reads a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Now {
    pub millis: i64,
}

impl Now {
    /// Reads the system clock: only the edge (handlers, tests) calls this.
    pub fn current() -> Now {
        Now {
            millis: http::now_millis(),
        }
    }
    pub fn from_secs(secs: i64) -> Now {
        Now {
            millis: secs * 1000,
        }
    }
    pub fn secs(self) -> i64 {
        self.millis.div_euclid(1000)
    }
    pub fn plus_secs(self, secs: i64) -> Now {
        Now {
            millis: self.millis + secs * 1000,
        }
    }
}

/// RFC 3339 UTC, whole seconds, as the contract writes instants.
pub fn rfc3339(epoch_secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(epoch_secs)
        .ok()
        .and_then(|instant| {
            instant
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn instants_are_rfc3339_utc() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(2_000_000_000), "2033-05-18T03:33:20Z");
    }
}
