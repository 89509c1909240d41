//! `/groups`: subscription groups of every master, filtered and paged.

use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use maud::html;
use serde::Deserialize;

use crate::auth::Viewer;
use crate::layout::{self, PageError};
use crate::state::{AppState, Groups};

/// `/groups`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/groups", get(list))
}

/// Every master's subscription groups (one call per master, reused for a few seconds).
pub async fn all_groups(state: &AppState) -> Result<std::sync::Arc<Groups>, PageError> {
    let admin = state.admin.clone();
    let groups = state
        .groups
        .get(async move {
            let mut all = Groups::new();
            for (name, addr) in admin.master_addrs().await? {
                let wrapper = admin.subscription_groups(&addr).await?;
                for (group, cfg) in wrapper.subscription_group_table {
                    all.entry(group).or_default().insert(name.clone(), cfg);
                }
            }
            Ok::<_, rmq_client::ClientError>(all)
        })
        .await?;
    Ok(groups)
}

#[derive(Deserialize)]
struct ListQuery {
    filter: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, PageError> {
    let groups = all_groups(&state).await?;
    let filter = q.filter.unwrap_or_default();
    let body = html! {
        ul {
            @for g in groups.keys().filter(|g| g.contains(filter.as_str())) {
                li { (g) }
            }
        }
    };
    Ok(layout::page(&viewer, "Consumer groups", "/groups", body))
}
