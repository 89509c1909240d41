//! rmq-dashboard: a web console for rmq and Apache RocketMQ clusters, speaking only the
//! admin protocol (through `rmq_client::Admin`), so it works with either.
//!
//! Server-side rendered HTML (`maud`, escaping by default), a small vendored stylesheet, SVG
//! charts drawn on the server, no script framework. Every page and API needs a login
//! ([`auth`]); every state change is a POST with the session's CSRF token.

pub mod auth;
pub mod cache;
pub mod config;
pub mod layout;
pub mod pages;
pub mod sampler;
pub mod state;
pub mod svg;

use std::net::SocketAddr;

use axum::http::header::CONTENT_TYPE;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use axum::Router;

pub use state::AppState;

/// The vendored stylesheet.
const STYLE: &str = include_str!("../static/style.css");

/// The whole application: the pages, login, the stylesheet, all behind the guard.
pub fn router(state: AppState) -> Router {
    pages::routes()
        .merge(auth::login::routes())
        .route(
            "/static/style.css",
            get(|| async { ([(CONTENT_TYPE, "text/css; charset=utf-8")], STYLE) }),
        )
        .layer(from_fn_with_state(state.clone(), auth::guard::guard))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes; client addresses reach the
/// handlers (login limit, audit log).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
