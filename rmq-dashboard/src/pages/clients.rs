//! `/groups/{group}/clients/{client}`: what one online member of a consumer group reports
//! about itself (GET_CONSUMER_RUNNING_INFO, relayed by the broker to the client): rates per
//! topic, the queues it holds with their local cache, and its settings.

use axum::extract::{Path, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use maud::html;

use super::when::format_ms;
use crate::auth::Viewer;
use crate::layout::{self, PageError};
use crate::state::AppState;

/// `/groups/{group}/clients/{client}`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/groups/{group}/clients/{client}", get(page))
}

fn when(ms: i64) -> String {
    if ms > 0 {
        format_ms(ms)
    } else {
        String::new()
    }
}

async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((group, client)): Path<(String, String)>,
) -> Result<Html<String>, PageError> {
    let info = state
        .admin
        .consumer_running_info(&group, &client, false)
        .await?;
    let body = html! {
        h2 { "Rates over the last minute" }
        table {
            tr { th { "Topic" } th.num { "Pull TPS" } th.num { "Pull RT (ms)" } th.num { "Consume OK TPS" } th.num { "Failed TPS" } th.num { "Consume RT (ms)" } th.num { "Failed in the hour" } }
            @for (topic, s) in &info.status_table {
                tr {
                    td { (topic) }
                    td.num { (format!("{:.1}", s.pull_tps)) }
                    td.num { (format!("{:.1}", s.pull_rt)) }
                    td.num { (format!("{:.1}", s.consume_ok_tps)) }
                    td.num { (format!("{:.1}", s.consume_failed_tps)) }
                    td.num { (format!("{:.1}", s.consume_rt)) }
                    td.num { (s.consume_failed_msgs) }
                }
            }
        }
        h2 { "Queues held" }
        table {
            tr { th { "Topic" } th { "Broker" } th.num { "Queue" } th.num { "Cached" } th.num { "Cached MiB" } th.num { "Commit offset" } th { "Last pull (UTC)" } th { "Last consume (UTC)" } th { "Locked" } }
            @for (mq, q) in &info.mq_table {
                tr {
                    td { (mq.topic) } td { (mq.broker_name) } td.num { (mq.queue_id) }
                    td.num { (q.cached_msg_count) } td.num { (q.cached_msg_size_in_mi_b) }
                    td.num { (q.commit_offset) }
                    td { (when(q.last_pull_timestamp)) } td { (when(q.last_consume_timestamp)) }
                    td { (q.locked) }
                }
            }
        }
        h2 { "Subscriptions" }
        table {
            tr { th { "Topic" } th { "Expression" } }
            @for s in &info.subscription_set { tr { td { (s.topic) } td { (s.sub_string) } } }
        }
        h2 { "Settings" }
        table {
            tr { th { "Key" } th { "Value" } }
            @for (k, v) in &info.properties { tr { td { (k) } td { (v) } } }
        }
    };
    Ok(layout::page(
        &viewer,
        &format!("Consumer {client} of {group}"),
        "/groups",
        body,
    ))
}
