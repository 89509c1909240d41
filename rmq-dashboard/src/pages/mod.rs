//! The console's pages, one file each. Every file exposes `routes() -> Router<AppState>`;
//! [`routes`] merges them, and [`NAV`] lists what the navigation shows.

mod clients;
mod cluster;
mod dead_letters;
pub mod groups;
mod list;
mod messages;
mod overview;
mod producers;
mod topics;
mod trace;
pub mod when;

use axum::Router;

use crate::state::AppState;

/// Navigation entries: path and label, in display order.
pub const NAV: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/cluster", "Cluster"),
    ("/topics", "Topics"),
    ("/groups", "Consumers"),
    ("/producers", "Producers"),
    ("/messages", "Messages"),
    ("/dead-letters", "Dead letters"),
    ("/trace", "Trace"),
];

/// Every page's routes (the guard and state are added by [`crate::router`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(overview::routes())
        .merge(cluster::routes())
        .merge(topics::routes())
        .merge(groups::routes())
        .merge(clients::routes())
        .merge(producers::routes())
        .merge(messages::routes())
        .merge(dead_letters::routes())
        .merge(trace::routes())
}
