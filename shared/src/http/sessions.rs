//! Sessions: `GET /v1/sessions`, `DELETE /v1/sessions/{session_id}`,
//! `POST /v1/sessions/end-others`.

use super::request::{origin_of, password_confirmed, path_parameter, session_of};
use super::response::{serve, Complete, Reply, Route};
use crate::domain::session::{self, SessionSummary};
use crate::domain::{rfc3339, Now};
use crate::App;
use lambda_http::{Error, Request};
use serde::Serialize;

#[derive(Serialize)]
struct ListedSession {
    id: String,
    created_at: String,
    expires_at: String,
    ip: String,
    user_agent: String,
    current: bool,
}

impl From<SessionSummary> for ListedSession {
    fn from(summary: SessionSummary) -> ListedSession {
        let session = summary.session;
        ListedSession {
            id: session.session_id,
            created_at: rfc3339(session.created_ms.div_euclid(1000)),
            expires_at: rfc3339(session.expires_at),
            ip: session.ip,
            user_agent: session.user_agent,
            current: summary.current,
        }
    }
}

#[derive(Serialize)]
struct SessionList {
    sessions: Vec<ListedSession>,
}

#[derive(Serialize)]
struct Ended {
    ended: usize,
}

/// `GET /v1/sessions`
pub async fn session_list(app: &App, request: Request) -> Result<Complete, Error> {
    serve(&request, Route::get("session-list"), async {
        let now = Now::current();
        let principal = session_of(app, &request, now).await?;
        let sessions = session::list(&app.store, &principal, now).await?;
        Reply::ok(&SessionList {
            sessions: sessions.into_iter().map(ListedSession::from).collect(),
        })
    })
    .await
}

/// `DELETE /v1/sessions/{session_id}`
pub async fn session_end(app: &App, request: Request) -> Result<Complete, Error> {
    serve(&request, Route::delete("session-end"), async {
        let now = Now::current();
        let principal = session_of(app, &request, now).await?;
        let session_id = path_parameter(&request, "session_id");
        session::end(
            &app.store,
            &principal,
            &session_id,
            &origin_of(&request),
            now,
        )
        .await?;
        Ok(Reply::no_content())
    })
    .await
}

/// `POST /v1/sessions/end-others`
pub async fn session_end_others(app: &App, request: Request) -> Result<Complete, Error> {
    serve(&request, Route::post("session-end-others"), async {
        let now = Now::current();
        let (principal, password) = password_confirmed(app, &request, now).await?;
        let ended =
            session::end_others(&app.store, &principal, &password, &origin_of(&request), now)
                .await?;
        Reply::ok(&Ended { ended })
    })
    .await
}
