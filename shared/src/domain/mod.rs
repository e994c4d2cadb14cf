//! The rules of the service, in the domain's own words: accounts and their passwords, sessions,
//! two-factor enrolment, the second factor at sign-in, recovery codes, personal access tokens,
//! throttling and the security log.
//!
//! Nothing here knows HTTP or DynamoDB. Every rule reads and writes through the storage ports of
//! [`ports`], which hand back typed records and name the outcome of every conditional write; time
//! comes in as a parameter ([`Now`]) and is never read from a clock.

pub mod access_token;
pub mod account;
pub mod error;
pub mod password;
pub mod ports;
pub mod records;
pub mod recovery;
pub mod second_factor;
pub mod security_log;
pub mod session;
pub mod throttle;
pub mod two_factor;

#[cfg(test)]
mod memory;

pub use error::Error;

/// An instant, as the edge read it. Domain code takes it as a parameter and never reads a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Now {
    pub millis: i64,
}

impl Now {
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
    pub fn plus_millis(self, millis: i64) -> Now {
        Now {
            millis: self.millis + millis,
        }
    }
}

/// Who sent a request, as the security log and the session listing record it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub ip: String,
    pub user_agent: String,
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
mod tests;
