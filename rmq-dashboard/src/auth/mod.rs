//! Who may use the console: users and roles ([`users`]), sessions ([`sessions`]), the
//! login rate limit ([`limiter`]), the guard every request passes ([`guard`]) and the
//! login and logout pages ([`login`]).

pub mod guard;
pub mod limiter;
pub mod login;
pub mod sessions;
pub mod users;

use std::net::SocketAddr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;

pub use users::Role;

/// The logged-in user of a request, with the session's CSRF token and the client's
/// address; the guard puts it on every request that passed it, so handlers take it as an
/// extractor.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The user's name.
    pub user: String,
    /// What the user may do.
    pub role: Role,
    /// The session's CSRF token (forms carry it in a hidden `csrf` field).
    pub csrf: String,
    /// The client's address.
    pub peer: SocketAddr,
}

impl Viewer {
    /// Logs an admin action at INFO with who did it, from where, and on what. Call it for
    /// every state-changing action, with its outcome.
    pub fn audit(&self, action: &str, target: &str, outcome: &str) {
        tracing::info!(
            user = %self.user,
            peer = %self.peer,
            action,
            target,
            outcome,
            "admin action"
        );
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Viewer, StatusCode> {
        parts
            .extensions
            .get::<Viewer>()
            .cloned()
            .ok_or(StatusCode::UNAUTHORIZED)
    }
}
