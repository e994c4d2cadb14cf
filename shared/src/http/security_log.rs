//! The security log: `GET /v1/account/events`.

use super::request::{query_parameter, session_of};
use super::response::{serve, Complete, Reply, Route};
use crate::domain::records::LoggedEntry;
use crate::domain::{rfc3339, security_log, Now};
use crate::App;
use lambda_http::{Error, Request};
use serde::Serialize;

/// The public form of an entry: `type`, `at`, `ip`, `user_agent`, nothing else.
#[derive(Serialize)]
pub struct Event {
    #[serde(rename = "type")]
    kind: String,
    at: String,
    ip: String,
    user_agent: String,
}

impl From<LoggedEntry> for Event {
    fn from(entry: LoggedEntry) -> Event {
        Event {
            kind: entry.kind,
            at: rfc3339(entry.at),
            ip: entry.ip,
            user_agent: entry.user_agent,
        }
    }
}

#[derive(Serialize)]
struct EventPage {
    events: Vec<Event>,
    next_cursor: Option<String>,
}

/// `GET /v1/account/events`
pub async fn account_events(app: &App, request: Request) -> Result<Complete, Error> {
    serve(&request, Route::get("account-events"), async {
        let now = Now::current();
        let principal = session_of(app, &request, now).await?;
        let cursor = query_parameter(&request, "cursor");
        let page =
            security_log::page(&app.store, &principal.account_id, cursor.as_deref(), now).await?;
        Reply::ok(&EventPage {
            events: page.entries.into_iter().map(Event::from).collect(),
            next_cursor: page.next_cursor,
        })
    })
    .await
}
