//! The gate every request passes: without a live session, pages redirect to the login page
//! and `/api/` answers 401; a POST must carry the session's CSRF token (form field `csrf` or
//! header `X-CSRF-Token`, compared in constant time) and come from an admin (read-only
//! users get 403). Every answer gets headers that keep it out of frames and other origins.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{HeaderValue, COOKIE, LOCATION};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::sessions::{Session, COOKIE as SESSION_COOKIE};
use super::{Role, Viewer};
use crate::state::AppState;

/// The form field and header that carry the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
const CSRF_HEADER: &str = "x-csrf-token";
/// Largest POST body the guard reads to find the token.
const MAX_FORM: usize = 1 << 20;

/// Paths open without a session.
fn is_public(path: &str) -> bool {
    path == "/login" || path.starts_with("/static/")
}

/// The session cookie's value in `headers`.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v)
}

/// The middleware: see the module documentation.
pub async fn guard(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let mut resp = check(&state, peer, req, next).await;
    let headers = resp.headers_mut();
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    resp
}

async fn check(state: &AppState, peer: SocketAddr, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if is_public(&path) {
        return next.run(req).await;
    }
    let session = session_cookie(req.headers()).and_then(|id| state.sessions.touch(id));
    let Some(session) = session else {
        return refuse_anonymous(&req);
    };
    let req = if req.method() == Method::GET || req.method() == Method::HEAD {
        req
    } else {
        match check_post(&session, peer, req).await {
            Ok(req) => req,
            Err(resp) => return resp,
        }
    };
    let mut req = req;
    req.extensions_mut().insert(Viewer {
        user: session.user,
        role: session.role,
        csrf: session.csrf,
        peer,
    });
    next.run(req).await
}

/// Pages send the browser to the login page (coming back afterwards); the API says 401.
fn refuse_anonymous(req: &Request) -> Response {
    let path = req.uri().path();
    if path.starts_with("/api/") {
        return (StatusCode::UNAUTHORIZED, "log in first: POST /login").into_response();
    }
    let back = if req.method() == Method::GET {
        req.uri()
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .to_owned()
    } else {
        "/".to_owned()
    };
    let next: String = form_urlencoded::byte_serialize(back.as_bytes()).collect();
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/login?next={next}")) {
        resp.headers_mut().insert(LOCATION, v);
    }
    resp
}

/// CSRF token first (whoever sends a POST must show the session's token), then the role.
async fn check_post(
    session: &Session,
    peer: SocketAddr,
    req: Request,
) -> Result<Request, Response> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM)
        .await
        .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response())?;
    let from_header = parts
        .headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let token = from_header.or_else(|| {
        form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v.into_owned())
    });
    let valid = token.is_some_and(|t| bool::from(t.as_bytes().ct_eq(session.csrf.as_bytes())));
    if !valid {
        tracing::warn!(user = %session.user, %peer, path = %parts.uri.path(), "POST refused: CSRF token missing or wrong");
        return Err((
            StatusCode::FORBIDDEN,
            "CSRF token missing or wrong; reload the page",
        )
            .into_response());
    }
    if session.role == Role::ReadOnly && parts.uri.path() != "/logout" {
        tracing::warn!(user = %session.user, %peer, path = %parts.uri.path(), "POST refused: read-only user");
        return Err((
            StatusCode::FORBIDDEN,
            "read-only users cannot change anything",
        )
            .into_response());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
