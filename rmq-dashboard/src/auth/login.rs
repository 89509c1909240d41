//! The login page, login and logout. A wrong name and a wrong password get the same answer;
//! failures count against the client's address ([`super::limiter`]).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::header::{HeaderValue, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::html;
use serde::Deserialize;

use super::guard::session_cookie;
use super::sessions::COOKIE;
use super::Viewer;
use crate::layout;
use crate::state::AppState;

/// The one message for every failed login.
pub const INVALID: &str = "invalid user name or password";
const TOO_MANY: &str = "too many failed logins from your address; try again in a minute";

/// `/login` (GET form, POST credentials) and `/logout` (POST).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(form).post(login))
        .route("/logout", post(logout))
}

/// Where to go after logging in.
#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

/// The login form's fields.
#[derive(Deserialize)]
struct Credentials {
    user: String,
    password: String,
    next: Option<String>,
}

/// `next` when it is a path of this site, else `/`: never `//host`, `/\host` or a scheme,
/// so a crafted link cannot send a user elsewhere after an action.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/",
    }
}

fn login_page(status: StatusCode, error: Option<&str>, next: &str) -> Response {
    let body = html! {
        form.login method="post" action="/login" {
            h1 { "rmq dashboard" }
            @if let Some(e) = error { p.notice.err { (e) } }
            label { "User name" input name="user" autocomplete="username" required autofocus; }
            label { "Password" input name="password" type="password" autocomplete="current-password" required; }
            input type="hidden" name="next" value=(next);
            button type="submit" { "Log in" }
        }
    };
    (status, layout::bare("Log in", body)).into_response()
}

async fn form(Query(q): Query<Next>) -> Response {
    login_page(StatusCode::OK, None, safe_next(q.next.as_deref()))
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(c): Form<Credentials>,
) -> Response {
    let next = safe_next(c.next.as_deref()).to_owned();
    if state.limiter.blocked(peer.ip()) {
        tracing::warn!(%peer, user = %c.user, "login refused: too many failures");
        return login_page(StatusCode::TOO_MANY_REQUESTS, Some(TOO_MANY), &next);
    }
    let users = state.users.clone();
    let (name, password) = (c.user.clone(), c.password);
    let role = tokio::task::spawn_blocking(move || users.verify(&name, &password))
        .await
        .ok()
        .flatten();
    let Some(role) = role else {
        state.limiter.fail(peer.ip());
        tracing::warn!(%peer, user = %c.user, "login failed");
        return login_page(StatusCode::UNAUTHORIZED, Some(INVALID), &next);
    };
    let Some(session) = state.sessions.create(&c.user, role) else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "no random source for a session id",
        )
            .into_response();
    };
    tracing::info!(%peer, user = %c.user, role = role.as_str(), "login");
    let secure = if state.settings.secure_cookie {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict{secure}",
        session.id
    );
    redirect_with_cookie(&next, &cookie)
}

async fn logout(State(state): State<AppState>, viewer: Viewer, headers: HeaderMap) -> Response {
    if let Some(id) = session_cookie(&headers) {
        state.sessions.remove(id);
    }
    tracing::info!(peer = %viewer.peer, user = %viewer.user, "logout");
    let secure = if state.settings.secure_cookie {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}");
    redirect_with_cookie("/login", &cookie)
}

fn redirect_with_cookie(to: &str, cookie: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    let headers = resp.headers_mut();
    if let (Ok(loc), Ok(c)) = (HeaderValue::from_str(to), HeaderValue::from_str(cookie)) {
        headers.insert(LOCATION, loc);
        headers.insert(SET_COOKIE, c);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_come_back() {
        assert_eq!(safe_next(Some("/topics?filter=a")), "/topics?filter=a");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "topics",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
