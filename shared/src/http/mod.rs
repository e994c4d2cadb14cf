//! The HTTP edge, and the only importer of lambda_http: the contract's request rules (size limit,
//! JSON with field-naming errors, bearer tokens from the header only), the one wrapper every route
//! runs in, the responses and their DTOs, one module per route group, and the authorizer.
//!
//! A route's handler reads the request, calls one domain operation with the store, the origin and
//! the time read here, and shapes its outcome; [`serve`] does the rest for all of them.

pub mod accounts;
pub mod authorizer;
pub mod error;
pub mod security_log;
pub mod sessions;
pub mod tokens;
pub mod two_factor;

use crate::domain::records::SessionPrincipal;
use crate::domain::{session, Error, Now, Origin};
use crate::App;
use lambda_http::http::{header, HeaderValue, Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::future::Future;

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

/// Bodies above this size are refused before they are parsed.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A successful answer: a status and an optional JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Option<serde_json::Value>,
}

impl Reply {
    pub fn ok(body: &impl Serialize) -> Reply {
        Reply::with_status(200, body)
    }
    pub fn created(body: &impl Serialize) -> Reply {
        Reply::with_status(201, body)
    }
    pub fn no_content() -> Reply {
        Reply {
            status: 204,
            body: None,
        }
    }
    fn with_status(status: u16, body: &impl Serialize) -> Reply {
        match serde_json::to_value(body) {
            Ok(body) => Reply {
                status,
                body: Some(body),
            },
            Err(_) => Reply {
                status: 500,
                body: Some(error::body(&Error::Internal)),
            },
        }
    }

    pub fn into_response(self) -> Response<Body> {
        match self.body {
            Some(body) => json_response(self.status, &body),
            None => {
                let mut response = Response::new(Body::Empty);
                *response.status_mut() =
                    StatusCode::from_u16(self.status).unwrap_or(StatusCode::NO_CONTENT);
                set_common_headers(&mut response);
                response
            }
        }
    }
}

/// A route: its name in logs and packages, and the one method it answers.
#[derive(Debug, Clone)]
pub struct Route {
    pub name: &'static str,
    pub method: Method,
}

impl Route {
    pub const fn get(name: &'static str) -> Route {
        Route {
            name,
            method: Method::GET,
        }
    }
    pub const fn post(name: &'static str) -> Route {
        Route {
            name,
            method: Method::POST,
        }
    }
    pub const fn delete(name: &'static str) -> Route {
        Route {
            name,
            method: Method::DELETE,
        }
    }
}

/// Runs a route: any other method is `405` before `work` starts; the outcome becomes the
/// response, and one log line per request records the request id, route and status (never a
/// body).
pub async fn serve(
    request: &Request,
    route: Route,
    work: impl Future<Output = Result<Reply, Error>>,
) -> Result<Response<Body>, lambda_http::Error> {
    let outcome = if request.method() == route.method {
        work.await
    } else {
        Err(Error::MethodNotAllowed)
    };
    Ok(respond(request, route.name, outcome))
}

fn respond(
    request: &Request,
    route: &'static str,
    outcome: Result<Reply, Error>,
) -> Response<Body> {
    let request_id = request
        .lambda_context_ref()
        .map(|context| context.request_id.as_str())
        .unwrap_or("");
    match outcome {
        Ok(reply) => {
            tracing::info!(request_id, route, status = reply.status, "request handled");
            reply.into_response()
        }
        Err(refusal) => {
            let status = error::status(&refusal);
            let code = error::code(&refusal);
            if status >= 500 {
                tracing::error!(request_id, route, status, error = code, "request failed");
            } else {
                tracing::info!(request_id, route, status, error = code, "request refused");
            }
            error::response(&refusal)
        }
    }
}

/// Who sent a request, as recorded in the security log.
pub fn origin_of(request: &Request) -> Origin {
    let ip = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => {
            context.http.source_ip.clone().unwrap_or_default()
        }
        _ => String::new(),
    };
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .chars()
        .take(256)
        .collect();
    Origin { ip, user_agent }
}

impl Now {
    /// Reads the system clock: only the edge (handlers, tests) calls this.
    #[allow(clippy::disallowed_methods)]
    pub fn current() -> Now {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_millis() as i64)
            .unwrap_or_default();
        Now { millis }
    }
}

/// A JSON response with the headers every response carries.
pub fn json_response(status: u16, body: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    set_common_headers(&mut response);
    response
}

fn set_common_headers(response: &mut Response<Body>) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The request body as bytes, refused with 413 above the limit.
fn body_bytes(request: &Request) -> Result<&[u8], Error> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Error::PayloadTooLarge);
    }
    Ok(bytes)
}

/// Parses the JSON body into `T`. Errors name the field at fault and never echo a value.
pub fn parse_json<T: DeserializeOwned>(request: &Request) -> Result<T, Error> {
    let bytes = body_bytes(request)?;
    parse_json_bytes(bytes)
}

pub fn parse_json_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::InvalidRequest(
            "The request body must be a JSON object.".into(),
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        describe_json_error(&path, error.inner())
    })?;
    deserializer
        .end()
        .map_err(|_| Error::InvalidRequest("The request body is not valid JSON.".into()))?;
    Ok(value)
}

fn describe_json_error(path: &str, error: &serde_json::Error) -> Error {
    use serde_json::error::Category;
    let message = match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            "The request body is not valid JSON.".to_string()
        }
        Category::Data => {
            let text = error.to_string();
            if let Some(field) = quoted_name_after(&text, "missing field `") {
                format!("The field `{}` is required.", join_path(path, &field))
            } else if let Some(field) = quoted_name_after(&text, "unknown field `") {
                // serde's path already ends at the unknown field.
                let named = if path.ends_with(&field) {
                    clip(path)
                } else {
                    join_path(path, &field)
                };
                format!("The field `{named}` is not allowed.")
            } else if path == "." || path.is_empty() {
                "The request body must be a JSON object.".to_string()
            } else {
                format!(
                    "The field `{}` has the wrong type or an invalid value.",
                    clip(path)
                )
            }
        }
    };
    Error::InvalidRequest(message)
}

/// The name serde quotes after `prefix` in its message, e.g. "missing field `login`".
fn quoted_name_after(text: &str, prefix: &str) -> Option<String> {
    let rest = text.split_once(prefix)?.1;
    let name = rest.split_once('`')?.0;
    Some(clip(name))
}

fn join_path(path: &str, field: &str) -> String {
    if path == "." || path.is_empty() {
        field.to_string()
    } else {
        clip(&format!("{path}.{field}"))
    }
}

/// Field names come from the client; keep what is echoed short.
fn clip(name: &str) -> String {
    name.chars().take(64).collect()
}

/// The bearer token of the `Authorization` header. Query strings are never looked at.
pub fn bearer_token(request: &Request) -> Result<&str, Error> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(Error::Unauthorized)?
        .to_str()
        .map_err(|_| Error::Unauthorized)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(Error::Unauthorized)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.len() > 512 {
        return Err(Error::Unauthorized);
    }
    Ok(token)
}

/// The session of a route that changes security settings (a personal access token is refused).
pub async fn session_of(app: &App, request: &Request, now: Now) -> Result<SessionPrincipal, Error> {
    session::authenticate_session(&app.store, bearer_token(request)?, now).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordConfirmation {
    password: String,
}

/// The start of every password-confirmed route: a session (a personal access token is refused)
/// and a body of `{"password"}`.
pub async fn password_confirmed(
    app: &App,
    request: &Request,
    now: Now,
) -> Result<(SessionPrincipal, String), Error> {
    let principal = session_of(app, request, now).await?;
    let body: PasswordConfirmation = parse_json(request)?;
    Ok((principal, body.password))
}

/// A query-string parameter (only used for pagination cursors, never for credentials).
pub fn query_parameter(request: &Request, name: &str) -> Option<String> {
    request
        .query_string_parameters_ref()
        .and_then(|params| params.first(name).map(str::to_string))
}

/// A path parameter (`{token_id}`, `{session_id}`), or the last path segment where the router
/// passed none.
pub fn path_parameter(request: &Request, name: &str) -> String {
    request
        .path_parameters_ref()
        .and_then(|parameters| parameters.first(name))
        .map(str::to_string)
        .or_else(|| request.uri().path().rsplit('/').next().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Credentials {
        #[allow(dead_code)]
        login: String,
        #[allow(dead_code)]
        password: String,
    }

    fn message_of(result: Result<Credentials, Error>) -> String {
        match result {
            Err(Error::InvalidRequest(message)) => message,
            other => panic!("expected invalid_request, got {other:?}"),
        }
    }

    #[test]
    fn a_missing_field_is_named() {
        let message = message_of(parse_json_bytes(br#"{"login":"alice"}"#));
        assert_eq!(message, "The field `password` is required.");
    }

    #[test]
    fn a_wrongly_typed_field_is_named_and_its_value_not_echoed() {
        let message = message_of(parse_json_bytes(
            br#"{"login":"alice","password":123456789}"#,
        ));
        assert!(message.contains("`password`"), "{message}");
        assert!(!message.contains("123456789"), "{message}");
    }

    #[test]
    fn an_unknown_field_is_refused_by_name() {
        let message = message_of(parse_json_bytes(
            br#"{"login":"a","password":"b","pasword":"c"}"#,
        ));
        assert_eq!(message, "The field `pasword` is not allowed.");
    }

    #[test]
    fn malformed_json_empty_bodies_and_non_objects_are_invalid_requests() {
        for body in [
            &b"{"[..],
            b"",
            b"  ",
            b"[1,2]",
            b"\"text\"",
            b"{\"login\":\"a\",\"password\":\"b\"} trailing",
        ] {
            let message = message_of(parse_json_bytes(body));
            assert!(!message.is_empty());
        }
    }

    #[test]
    fn a_body_over_16_kib_is_refused_before_parsing() {
        let mut body = String::from("{\"login\":\"");
        body.push_str(&"a".repeat(MAX_BODY_BYTES));
        body.push_str("\",\"password\":\"x\"}");
        let request = lambda_http::http::Request::builder()
            .method("POST")
            .body(Body::Text(body))
            .unwrap();
        assert_eq!(
            parse_json::<Credentials>(&request).unwrap_err(),
            Error::PayloadTooLarge
        );
    }

    #[test]
    fn bearer_tokens_come_from_the_authorization_header_only() {
        let with_header = lambda_http::http::Request::builder()
            .header("authorization", "Bearer abc.def")
            .body(Body::Empty)
            .unwrap();
        assert_eq!(bearer_token(&with_header).unwrap(), "abc.def");

        let lower_scheme = lambda_http::http::Request::builder()
            .header("authorization", "bearer abc")
            .body(Body::Empty)
            .unwrap();
        assert_eq!(bearer_token(&lower_scheme).unwrap(), "abc");

        for bad in ["Basic abc", "Bearer", "Bearer ", "abc"] {
            let request = lambda_http::http::Request::builder()
                .header("authorization", bad)
                .body(Body::Empty)
                .unwrap();
            assert_eq!(
                bearer_token(&request).unwrap_err(),
                Error::Unauthorized,
                "{bad}"
            );
        }

        let in_query = lambda_http::http::Request::builder()
            .uri("/v1/whoami?access_token=abc")
            .body(Body::Empty)
            .unwrap();
        assert_eq!(bearer_token(&in_query).unwrap_err(), Error::Unauthorized);
    }

    #[test]
    fn every_reply_carries_no_store_and_json() {
        for reply in [Reply::ok(&serde_json::json!({})), Reply::no_content()] {
            let response = reply.into_response();
            assert_eq!(response.headers()["cache-control"], "no-store");
            assert_eq!(response.headers()["content-type"], "application/json");
        }
    }
}
