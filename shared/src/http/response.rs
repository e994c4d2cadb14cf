//! Responses: the JSON every answer is, the headers every response carries, and `serve`, the one
//! wrapper every route runs in.

use super::error;
use crate::domain::Error;
use lambda_http::http::{header, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use std::future::Future;
use std::time::Duration;

/// A successful answer: a status and an optional JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Option<String>,
}

impl Reply {
    pub fn ok(body: &impl Serialize) -> Result<Reply, Error> {
        Reply::with_status(200, body)
    }
    pub fn created(body: &impl Serialize) -> Result<Reply, Error> {
        Reply::with_status(201, body)
    }
    pub fn no_content() -> Reply {
        Reply {
            status: 204,
            body: None,
        }
    }
    fn with_status(status: u16, body: &impl Serialize) -> Result<Reply, Error> {
        // Through a JSON value, whose keys are sorted: every answer keeps the one key order the
        // contract and the README show, whatever the order of a DTO's fields.
        let text = serde_json::to_value(body)
            .map(|value| value.to_string())
            .map_err(|_| {
                tracing::error!("an answer could not be serialised");
                Error::Internal
            })?;
        Ok(Reply {
            status,
            body: Some(text),
        })
    }

    pub fn into_response(self) -> Response<Body> {
        let body = match self.body {
            Some(text) => Body::Text(text),
            None => Body::Empty,
        };
        with_common_headers(self.status, body)
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

/// Runs a route: any other method is `405` and a body over 16 KiB `413` before `work` starts
/// (a route that takes no body refuses an oversized one too); the outcome becomes the
/// response, and one log line per request records the request id, route and status (never a
/// body).
pub async fn serve(
    request: &Request,
    route: Route,
    work: impl Future<Output = Result<Reply, Error>>,
) -> Result<Complete, lambda_http::Error> {
    let outcome = if request.method() != route.method {
        Err(Error::MethodNotAllowed)
    } else if request.body().as_ref().len() > super::request::MAX_BODY_BYTES {
        // Every route, whether it reads a body or not, and before any bearer token is looked up.
        Err(Error::PayloadTooLarge)
    } else if let Some(budget) = budget(request) {
        // However many calls a route makes and however slowly each is answered, it answers
        // before Lambda's own timeout would end it with a response that is not the contract's.
        match tokio::time::timeout(budget, work).await {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::warn!(route = route.name, "the request ran out of time");
                Err(Error::ServiceUnavailable)
            }
        }
    } else {
        work.await
    };
    Ok(Complete(respond(request, route.name, outcome)))
}

/// What a request keeps back from its invocation's deadline to answer in.
pub const ANSWER_RESERVE: Duration = Duration::from_millis(1_000);

/// The time a route may work: until its invocation's deadline, less the reserve to answer. None
/// when the request came with no deadline that lies ahead (a handler called directly, or
/// cargo lambda watch, which sends a constant `lambda-runtime-deadline-ms` of 600000: 1970, not a
/// time ahead; Lambda sends the invocation's deadline in milliseconds since the epoch).
fn budget(request: &Request) -> Option<Duration> {
    let deadline = request.lambda_context_ref()?.deadline;
    let now = u64::try_from(crate::domain::Now::current().millis).ok()?;
    if deadline <= now {
        return None;
    }
    let left = Duration::from_millis(deadline - now);
    Some(left.saturating_sub(ANSWER_RESERVE))
}

/// A response handed to the Lambda runtime as it stands. lambda_http's own conversion of a
/// `Response<Body>` reads every body again to decode it by the charset of its Content-Type, which
/// links encoding_rs (150 KB) into every package; the service's bodies are already UTF-8 text or
/// empty, so there is nothing to convert.
#[derive(Debug)]
pub struct Complete(pub Response<Body>);

impl lambda_http::IntoResponse for Complete {
    fn into_response(
        self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response<Body>> + Send>> {
        Box::pin(std::future::ready(self.0))
    }
}

impl std::ops::Deref for Complete {
    type Target = Response<Body>;
    fn deref(&self) -> &Response<Body> {
        &self.0
    }
}

impl From<Complete> for Response<Body> {
    fn from(complete: Complete) -> Response<Body> {
        complete.0
    }
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
            error_response(&refusal)
        }
    }
}

/// A response with the headers every response carries.
fn with_common_headers(status: u16, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The response of API.md's error shape, with its status and headers.
pub fn error_response(refusal: &Error) -> Response<Body> {
    let body = Body::Text(error::body(refusal).to_string());
    let mut response = with_common_headers(error::status(refusal), body);
    if let Error::TooManyAttempts { retry_after } = refusal {
        if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
            response.headers_mut().insert("retry-after", value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_deadline(deadline: Option<u64>) -> Request {
        let request = lambda_http::http::Request::builder()
            .uri("https://api.example.com/v1/whoami")
            .body(lambda_http::Body::Empty)
            .unwrap_or_default();
        match deadline {
            Some(deadline) => {
                let mut context = lambda_http::Context::default();
                context.deadline = deadline;
                lambda_http::RequestExt::with_lambda_context(request, context)
            }
            None => request,
        }
    }

    #[test]
    fn a_route_works_until_its_deadline_less_the_reserve_and_without_one_unbounded() {
        let now = u64::try_from(crate::domain::Now::current().millis).unwrap_or_default();
        let left = budget(&with_deadline(Some(now + 10_000))).unwrap_or_default();
        assert!(left <= Duration::from_millis(9_000) && left > Duration::from_millis(8_000));
        // Less than the reserve left: no time at all, not a wrapped-around one.
        assert_eq!(
            budget(&with_deadline(Some(now + 500))),
            Some(Duration::ZERO)
        );
        // No context (a handler called directly), cargo lambda watch's constant 600000, a
        // deadline past: no budget.
        assert_eq!(budget(&with_deadline(None)), None);
        assert_eq!(budget(&with_deadline(Some(600_000))), None);
        assert_eq!(budget(&with_deadline(Some(now - 1_000))), None);
    }

    #[test]
    fn every_reply_carries_no_store_and_json() {
        for reply in [
            Reply::ok(&serde_json::json!({})).unwrap(),
            Reply::no_content(),
        ] {
            let response = reply.into_response();
            assert_eq!(response.headers()["cache-control"], "no-store");
            assert_eq!(response.headers()["content-type"], "application/json");
        }
    }
}
