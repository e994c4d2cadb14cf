//! Ward: a serverless two-factor authentication service.
//!
//! This crate is everything the Lambda functions share, in layers whose dependencies point one
//! way (see docs/ARCHITECTURE.md):
//!
//! ```text
//!   functions/*/main.rs ─▶ http ─▶ domain ◀─ store
//!                            │        │        │
//!                            └────────┴──▶ crypto (depends on nothing of the crate)
//! ```
//!
//! - [`domain`]: the rules, the records they work on and the storage ports; no HTTP or AWS types.
//! - [`store`]: the ports on DynamoDB; the only importer of `aws_sdk_dynamodb`.
//! - [`http`]: the routes on lambda_http; the only importer of `lambda_http`.
//! - [`crypto`]: keys and sealing, password hashing, TOTP, random values.
//! - [`app`], [`config`], [`telemetry`]: what a function's `main` wires together.

pub mod app;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod http;
pub mod store;
pub mod telemetry;

pub use app::App;
pub use domain::{Error, Now};
