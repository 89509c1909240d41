//! Message trace: one message's path from the trace records its producer and consumers wrote
//! (Java's format, on `RMQ_SYS_TRACE_TOPIC` or a custom trace topic; Java and rmq clients
//! write the same): the send (producer group, client host, cost, status), where the broker
//! stored it, and each consumption (group, client host, time, cost, status) — a SubBefore
//! record paired with its SubAfter by request id.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use rmq_client::{TraceType, TraceView, RMQ_SYS_TRACE_TOPIC};
use serde::Deserialize;

use super::messages::view_link;
use super::when::format_ms;
use crate::auth::Viewer;
use crate::layout::{page, PageError};
use crate::state::AppState;

/// The page's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/trace", get(trace))
}

#[derive(Debug, Default, Deserialize)]
struct TraceQuery {
    #[serde(default)]
    topic: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    trace_topic: String,
}

/// One consumption: the record written before the listener ran and the one after.
#[derive(Default)]
struct Consumption<'a> {
    before: Option<&'a TraceView>,
    after: Option<&'a TraceView>,
}

async fn trace(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(q): Query<TraceQuery>,
) -> Result<Html<String>, PageError> {
    let id = q.id.trim();
    let trace_topic = match q.trace_topic.trim() {
        "" => RMQ_SYS_TRACE_TOPIC,
        t => t,
    };
    let form = html! {
        form method="get" action="/trace" {
            label { "Topic " input name="topic" value=(q.topic); }
            label { "Message id " input name="id" value=(id) required; }
            label { "Trace topic " input name="trace_topic" value=(trace_topic); }
            button type="submit" { "Show the path" }
        }
    };
    if id.is_empty() {
        return Ok(page(&viewer, "Message trace", "/trace", form));
    }
    let views = match state.admin.query_trace(trace_topic, id).await {
        Ok(v) => v,
        Err(rmq_client::ClientError::NoRoute(_)) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    // the stored message itself, when its topic is known: broker and store time
    let stored = if q.topic.trim().is_empty() {
        Vec::new()
    } else {
        state
            .admin
            .query_messages_by_unique_key(q.topic.trim(), id)
            .await
            .unwrap_or_default()
    };
    let body = html! {
        (form)
        @if views.is_empty() && stored.is_empty() {
            p { "No trace records for " (id) " on " (trace_topic) ". Was the client's message trace on (Java "
                code { "enableMsgTrace" } ", rmq-client " code { "enable_msg_trace" } ") and the broker's "
                code { "traceTopicEnable" } "?" }
        } @else {
            (path(&views, &stored))
        }
    };
    Ok(page(&viewer, &format!("Trace of {id}"), "/trace", body))
}

/// A text field of a record; Java writes `null` where it had no value.
fn field(s: &str) -> &str {
    if s == "null" {
        ""
    } else {
        s
    }
}

fn status(success: bool) -> &'static str {
    if success {
        "success"
    } else {
        "failed"
    }
}

fn path(views: &[TraceView], stored: &[rmq_client::ReceivedMessage]) -> Markup {
    let sends: Vec<&TraceView> = views
        .iter()
        .filter(|v| v.record.trace_type == TraceType::Pub)
        .collect();
    let ends: Vec<&TraceView> = views
        .iter()
        .filter(|v| v.record.trace_type == TraceType::EndTransaction)
        .collect();
    let mut consumptions: BTreeMap<&str, Consumption<'_>> = BTreeMap::new();
    for v in views {
        let key = v.record.request_id.as_str();
        match v.record.trace_type {
            TraceType::SubBefore => consumptions.entry(key).or_default().before = Some(v),
            TraceType::SubAfter => consumptions.entry(key).or_default().after = Some(v),
            TraceType::Pub | TraceType::EndTransaction => {}
        }
    }
    let mut consumptions: Vec<Consumption<'_>> = consumptions.into_values().collect();
    consumptions.sort_by_key(|c| c.before.map_or(i64::MAX, |b| b.record.timestamp));
    html! {
        h2 { "Send" }
        @if sends.is_empty() { p { "No send record (the producer did not trace)." } } @else {
            table.trace {
                thead { tr { th { "Producer group" } th { "Client host" } th { "Sent (UTC)" } th { "Cost" } th { "Status" } th { "Type" } th { "Broker" } th { "Keys" } th { "Tags" } } }
                tbody { @for v in &sends { tr {
                    td { (v.record.group) } td { (v.client_host) } td { (format_ms(v.record.timestamp)) }
                    td { (v.record.cost_time) " ms" } td { (status(v.record.success)) }
                    td { (v.record.msg_type.map_or("", |t| t.java_name())) } td { (v.record.store_host) }
                    td { (field(&v.record.keys)) } td { (field(&v.record.tags)) }
                } } }
            }
        }
        h2 { "Store" }
        @if stored.is_empty() {
            @for v in &sends { p { "stored on " (v.record.store_host) " (offset message id " (v.record.offset_msg_id) ")" } }
        } @else {
            table.trace {
                thead { tr { th { "Broker" } th { "Store host" } th { "Stored (UTC)" } th { "Queue" } th { "Message" } } }
                tbody { @for m in stored { tr {
                    td { (m.queue.broker_name) } td { (m.store_host) } td { (format_ms(m.store_timestamp)) }
                    td { "#" (m.queue.queue_id) " @" (m.queue_offset) } td { a href=(view_link(m)) { "view" } }
                } } }
            }
        }
        @if !ends.is_empty() {
            h2 { "Transaction" }
            table.trace {
                thead { tr { th { "Producer group" } th { "Client host" } th { "Time (UTC)" } th { "State" } th { "From a check" } } }
                tbody { @for v in &ends { tr {
                    td { (v.record.group) } td { (v.client_host) } td { (format_ms(v.record.timestamp)) }
                    td { (v.record.transaction_state) } td { @if v.record.from_transaction_check { "yes" } @else { "no" } }
                } } }
            }
        }
        h2 { "Consumers" }
        @if consumptions.is_empty() { p { "No consumer has traced it yet." } } @else {
            table.trace {
                thead { tr { th { "Consumer group" } th { "Client host" } th { "Consumed (UTC)" } th { "Cost" } th { "Status" } th { "Redeliveries" } } }
                tbody { @for c in &consumptions {
                    @let first = c.before.or(c.after);
                    tr {
                        td { (first.map_or("", |v| v.record.group.as_str())) }
                        td { (first.map_or("", |v| v.client_host.as_str())) }
                        td { (c.before.map_or(String::new(), |v| format_ms(v.record.timestamp))) }
                        td { @if let Some(a) = c.after { (a.record.cost_time) " ms" } @else { "—" } }
                        td { @if let Some(a) = c.after { (status(a.record.success)) } @else { "no result recorded" } }
                        td { (c.before.map_or(0, |v| v.record.retry_times)) }
                    }
                } }
            }
        }
    }
}
