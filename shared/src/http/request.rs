//! What the contract asks of a request: the size limit, JSON bodies whose errors name the field,
//! bearer tokens from the `Authorization` header only, and who sent it and when.

use crate::domain::records::SessionPrincipal;
use crate::domain::{session, Error, Now, Origin};
use crate::App;
use lambda_http::http::header;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Bodies above this size are refused before they are parsed.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

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
    use lambda_http::Body;
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
}
