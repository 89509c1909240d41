//! `/producers`: the connected producers of a producer group on a topic
//! (GET_PRODUCER_CONNECTION_LIST to the topic's masters).

use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use maud::html;
use serde::Deserialize;

use crate::auth::Viewer;
use crate::layout::{self, PageError};
use crate::state::AppState;

/// `/producers`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/producers", get(page))
}

#[derive(Deserialize)]
struct Lookup {
    #[serde(default)]
    group: String,
    #[serde(default)]
    topic: String,
}

async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<Lookup>,
) -> Result<Html<String>, PageError> {
    let conns = if q.group.is_empty() || q.topic.is_empty() {
        None
    } else {
        Some(state.admin.producer_connections(&q.group, &q.topic).await)
    };
    let body = html! {
        form.box method="get" action="/producers" {
            label { "Producer group" input name="group" value=(q.group) required; }
            label { "Topic" input name="topic" value=(q.topic) required; }
            button type="submit" { "Show connections" }
        }
        @match &conns {
            None => p.muted { "A producer is known to the brokers it sends to; name its group and a topic it sends to." },
            Some(Err(e)) => p.notice.err { (e) },
            Some(Ok(c)) if c.is_empty() => p { "No producer of " (q.group) " is connected to the brokers of " (q.topic) "." },
            Some(Ok(c)) => table {
                tr { th { "Client id" } th { "Address" } th { "Language" } th.num { "Version" } }
                @for m in c {
                    tr { td { (m.client_id) } td { (m.client_addr) } td { (m.language) } td.num { (m.version) } }
                }
            },
        }
    };
    Ok(layout::page(&viewer, "Producers", "/producers", body))
}
