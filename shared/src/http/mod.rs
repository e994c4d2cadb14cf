//! The HTTP edge, and the only importer of lambda_http: the contract's request rules
//! (`request`: size limit, JSON with field-naming errors, bearer tokens from the header only), the
//! responses and the one wrapper every route runs in (`response`), the one mapping of refusals to
//! statuses (`error`), one module per route group, and the authorizer.
//!
//! A route's handler reads the request, calls one domain operation with the store, the origin and
//! the time read here, and shapes its outcome as a typed answer; `response::serve` does the rest.

pub mod accounts;
pub mod authorizer;
pub mod error;
pub mod request;
pub mod response;
pub mod security_log;
pub mod sessions;
pub mod tokens;
pub mod two_factor;

/// Every route's handler, re-exported for the functions' `main`s.
pub mod routes {
    pub use super::accounts::{account, sign_in, sign_out, sign_up, whoami};
    pub use super::security_log::account_events;
    pub use super::sessions::{session_end, session_end_others, session_list};
    pub use super::tokens::{token_create, token_list, token_revoke};
    pub use super::two_factor::{
        disable, recovery_regenerate, recovery_view, setup, setup_verify, verify_code,
    };
}
