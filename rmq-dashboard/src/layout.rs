//! The HTML frame every page shares: title, navigation, the logged-in user with a logout
//! button, and a notice line. Pages build their body with `maud::html!`, which escapes every
//! interpolated value, so names from the cluster cannot inject markup.

use axum::http::header::{HeaderValue, LOCATION};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

use crate::auth::guard::CSRF_FIELD;
use crate::auth::{Role, Viewer};
use crate::pages::NAV;

/// A full page for `viewer`: navigation (with `active` marked, a path from
/// [`crate::pages::NAV`]), user, logout, then `body`.
pub fn page(viewer: &Viewer, title: &str, active: &str, body: Markup) -> Html<String> {
    let doc = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · rmq dashboard" }
                link rel="stylesheet" href="/static/style.css";
            }
            body {
                header {
                    a.brand href="/" { "rmq dashboard" }
                    nav {
                        @for (path, label) in NAV {
                            a href=(path) class=[(*path == active).then_some("active")] { (label) }
                        }
                    }
                    form.user method="post" action="/logout" {
                        span { (viewer.user) @if viewer.role == Role::ReadOnly { " (read-only)" } }
                        (csrf_field(viewer))
                        button type="submit" { "Log out" }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    Html(doc.into_string())
}

/// A page without navigation (login, errors before a session exists).
pub fn bare(title: &str, body: Markup) -> Html<String> {
    let doc = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) " · rmq dashboard" }
                link rel="stylesheet" href="/static/style.css";
            }
            body { main { (body) } }
        }
    };
    Html(doc.into_string())
}

/// The hidden field every POST form must contain.
pub fn csrf_field(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf); }
}

/// The outcome of the last action, carried in the query (`?ok=…` or `?err=…`) after a POST
/// redirected back to a page. Take it as `Query<Notice>` and put `(notice.render())` in the
/// body.
#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    ok: Option<String>,
    err: Option<String>,
}

impl Notice {
    /// The notice line, or nothing.
    pub fn render(&self) -> Markup {
        html! {
            @if let Some(m) = &self.ok { p.notice.ok { (m) } }
            @if let Some(m) = &self.err { p.notice.err { (m) } }
        }
    }
}

/// 303 to `path` with the outcome as a [`Notice`]: POST handlers end with this, so a reload
/// never repeats the action.
pub fn redirect_notice(path: &str, outcome: Result<String, String>) -> Response {
    let (key, text) = match outcome {
        Ok(m) => ("ok", m),
        Err(m) => ("err", m),
    };
    let sep = if path.contains('?') { '&' } else { '?' };
    let enc: String = form_urlencoded::byte_serialize(text.as_bytes()).collect();
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{path}{sep}{key}={enc}")) {
        resp.headers_mut().insert(LOCATION, v);
    }
    resp
}

/// Ends a POST action on the cluster: audits `action` on `target` ("ok" or the error), then
/// redirects to the path `result` names with its message, or back to `back` with the error.
pub fn audited(
    viewer: &Viewer,
    action: &str,
    target: &str,
    result: Result<(String, String), rmq_client::ClientError>,
    back: &str,
) -> Response {
    match result {
        Ok((path, message)) => {
            viewer.audit(action, target, "ok");
            redirect_notice(&path, Ok(message))
        }
        Err(e) => {
            viewer.audit(action, target, &e.to_string());
            redirect_notice(back, Err(e.to_string()))
        }
    }
}

/// A path segment with everything but unreserved characters percent-encoded, for links to
/// pages named after topics and groups (which may hold `%` and other characters).
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The error page of a failed request: the admin call's error, shown with a status.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The cluster refused or could not be reached.
    #[error(transparent)]
    Cluster(#[from] rmq_client::ClientError),
    /// The request itself was wrong.
    #[error("{0}")]
    BadRequest(String),
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = match self {
            PageError::Cluster(_) => StatusCode::BAD_GATEWAY,
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
        };
        let body = html! {
            h1 { "Error" }
            p.notice.err { (self.to_string()) }
            p { a href="/" { "Overview" } }
        };
        (status, bare("Error", body)).into_response()
    }
}
