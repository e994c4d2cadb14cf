//! The Lambda authorizer of API Gateway HTTP APIs (REQUEST type, payload 2.0, simple responses):
//! lets other APIs behind the same gateway accept this service's sessions and personal access
//! tokens. It decides with the very code `whoami` uses: one DynamoDB read.

use crate::domain::records::Credential;
use crate::domain::{session, Error as Refusal, Now};

use crate::App;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The parts of API Gateway's authorizer event that the decision reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerRequest {
    #[serde(default)]
    pub headers: HashMap<String, String>,
    #[serde(default)]
    pub route_arn: Option<String>,
}

/// The simple response: allowed or not, and what the protected integration is told.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerResponse {
    pub is_authorized: bool,
    #[serde(default)]
    pub context: BTreeMap<String, String>,
}

impl AuthorizerResponse {
    fn deny() -> AuthorizerResponse {
        AuthorizerResponse {
            is_authorized: false,
            context: BTreeMap::new(),
        }
    }
}

/// Allows a live session or personal access token from the `Authorization` header (never the
/// query string); denies anything else. A database failure is an error, so the gateway fails
/// closed with a 500 rather than a misleading 403.
pub async fn decide(
    app: &App,
    request: &AuthorizerRequest,
    now: Now,
) -> Result<AuthorizerResponse, Refusal> {
    let header = request
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        .map(|(_, value)| value.trim());
    let Some((scheme, bearer)) = header.and_then(|value| value.split_once(' ')) else {
        return Ok(AuthorizerResponse::deny());
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(AuthorizerResponse::deny());
    }
    let principal = match session::authenticate(&app.store, bearer.trim(), now).await {
        Ok(principal) => principal,
        Err(error) if super::error::status(&error) >= 500 => return Err(error),
        Err(_) => return Ok(AuthorizerResponse::deny()),
    };
    let (kind, token_id) = match principal.credential {
        Credential::Session { .. } => ("session", String::new()),
        Credential::Token { token_id } => ("token", token_id),
    };
    tracing::info!(
        account_id = principal.account_id,
        auth = kind,
        "request authorized"
    );
    Ok(AuthorizerResponse {
        is_authorized: true,
        context: BTreeMap::from([
            ("account_id".to_string(), principal.account_id),
            ("auth".to_string(), kind.to_string()),
            ("token_id".to_string(), token_id),
        ]),
    })
}

/// The function's handler: one event, one decision.
pub async fn handle(
    app: &App,
    event: lambda_http::LambdaEvent<AuthorizerRequest>,
) -> Result<AuthorizerResponse, lambda_http::Error> {
    let request_id = event.context.request_id.clone();
    // Boxed: the decision's future nested in the runtime's is deeper than the compiler's
    // default layout limit.
    match Box::pin(decide(app, &event.payload, Now::current())).await {
        Ok(response) => {
            tracing::info!(
                request_id,
                allowed = response.is_authorized,
                "authorizer decision"
            );
            Ok(response)
        }
        Err(error) => {
            tracing::error!(
                request_id,
                error = super::error::code(&error),
                "authorizer could not decide"
            );
            Err(Box::new(error))
        }
    }
}
