//! `/topics`: the topic list (one name-server call, cached, filtered and paged on the
//! server, so 10,000 topics cost what 100 do), creating and updating topics, and one topic's
//! route, queue status, consumer groups, a test message and deleting it.

use std::collections::BTreeSet;

use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use maud::{html, Markup};
use rmq_client::Message;
use rmq_remoting::body::topic::{perm, TopicConfig};
use serde::{Deserialize, Serialize};

use super::groups::reset_offset_form;
use super::list::{cluster_names, created, deleted, unconfirmed, ListQuery};
use super::when::format_ms;
use crate::auth::{Role, Viewer};
use crate::layout::{self, csrf_field, redirect_notice, seg, Notice, PageError};
use crate::state::AppState;

/// What the audit log and the notices call a topic, and where the topics are listed.
const KIND: (&str, &str) = ("topic", "/topics");
/// Topics shown per page.
const PAGE_SIZE: usize = 100;

/// `/topics`, `/topics/{topic}`, their POST actions and `/api/topics`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/topics", get(list).post(create))
        .route("/topics/{topic}", get(detail))
        .route("/topics/{topic}/update", post(update))
        .route("/topics/{topic}/delete", post(delete))
        .route("/topics/{topic}/send", post(send))
        .route("/api/topics", get(api_list))
}

/// Retry, dead-letter and broker-internal topics: hidden unless asked for.
fn is_system(topic: &str) -> bool {
    const PREFIXES: [&str; 5] = ["%RETRY%", "%DLQ%", "rmq_sys_", "RMQ_SYS_", "%SYS%"];
    const NAMES: [&str; 6] = [
        "TBW102",
        "SCHEDULE_TOPIC_XXXX",
        "SELF_TEST_TOPIC",
        "BenchmarkTest",
        "OFFSET_MOVED_EVENT",
        "TRANS_CHECK_MAX_TIME_TOPIC",
    ];
    PREFIXES.iter().any(|p| topic.starts_with(p)) || NAMES.contains(&topic)
}

/// One page of the filtered list (also the JSON of `/api/topics`).
#[derive(Serialize)]
struct TopicPage {
    total: usize,
    page: usize,
    pages: usize,
    topics: Vec<String>,
}

fn select(all: &BTreeSet<String>, q: &ListQuery) -> TopicPage {
    let with_system = q.system.is_some();
    let matching: Vec<&String> = all
        .iter()
        .filter(|t| (with_system || !is_system(t)) && t.contains(q.filter.as_str()))
        .collect();
    let (page, pages) = q.clamp(matching.len(), PAGE_SIZE);
    TopicPage {
        total: matching.len(),
        page,
        pages,
        topics: matching
            .into_iter()
            .skip(page * PAGE_SIZE)
            .take(PAGE_SIZE)
            .cloned()
            .collect(),
    }
}

async fn api_list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<TopicPage>, PageError> {
    let all = state.topics.get(state.admin.topic_list()).await?;
    Ok(Json(select(&all, &q)))
}

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
    Query(notice): Query<Notice>,
) -> Result<Html<String>, PageError> {
    let all = state.topics.get(state.admin.topic_list()).await?;
    let p = select(&all, &q);
    let clusters = cluster_names(&state);
    let body = html! {
        (notice.render())
        (q.controls("/topics", "retry, DLQ and system topics", "topics", (p.total, p.page, p.pages)))
        table {
            tr { th { "Topic" } }
            @for t in &p.topics {
                tr { td { a href=(format!("/topics/{}", seg(t))) { (t) } } }
            }
        }
        @if viewer.role == Role::Admin {
            h2 { "Create a topic" }
            form.box method="post" action="/topics" {
                (csrf_field(&viewer))
                label { "Topic" input name="topic" required pattern="[%|a-zA-Z0-9_-]{1,127}"; }
                label { "Cluster" select name="cluster" {
                    @for c in &clusters { option value=(c) { (c) } }
                } }
                (queue_fields(8, 8, perm::READ | perm::WRITE))
                button type="submit" { "Create" }
            }
        }
    };
    Ok(layout::page(&viewer, "Topics", "/topics", body))
}

/// Inputs for queue counts and permission, shared by the create and update forms.
fn queue_fields(read: i32, write: i32, current_perm: i32) -> Markup {
    html! {
        label { "Write queues" input name="write_queues" type="number" min="1" max="1024" value=(write); }
        label { "Read queues" input name="read_queues" type="number" min="1" max="1024" value=(read); }
        label { "Permission" select name="perm" {
            @for (value, name) in [(6, "read and write"), (4, "read only"), (2, "write only"), (0, "none")] {
                option value=(value) selected[current_perm & 6 == value] { (name) }
            }
        } }
    }
}

#[derive(Deserialize)]
struct CreateForm {
    topic: String,
    cluster: String,
    write_queues: i32,
    read_queues: i32,
    perm: i32,
}

/// Validates what a create or update form asks for.
fn topic_config(topic: &str, write: i32, read: i32, p: i32) -> Result<TopicConfig, String> {
    let valid_name = !topic.is_empty()
        && topic.len() <= 127
        && topic
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "%|_-".contains(c));
    if !valid_name {
        return Err(format!(
            "topic name `{topic}`: use 1 to 127 of letters, digits, %, |, _ and -"
        ));
    }
    if !(1..=1024).contains(&write) || !(1..=1024).contains(&read) {
        return Err("queue counts must be between 1 and 1024".into());
    }
    if ![0, 2, 4, 6].contains(&p) {
        return Err(format!("permission {p}: choose 6, 4, 2 or 0"));
    }
    Ok(TopicConfig {
        order: false,
        perm: p,
        read_queue_nums: read,
        topic_filter_type: "SINGLE_TAG".to_owned(),
        topic_name: topic.to_owned(),
        topic_sys_flag: 0,
        write_queue_nums: write,
        attributes: None,
    })
}

async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<CreateForm>,
) -> Response {
    let config = match topic_config(&f.topic, f.write_queues, f.read_queues, f.perm) {
        Ok(c) => c,
        Err(e) => return redirect_notice("/topics", Err(e)),
    };
    let result = state
        .admin
        .create_topic_in_cluster(&f.cluster, &config)
        .await;
    state.topics.invalidate().await;
    created(&viewer, KIND, &f.topic, &f.cluster, result)
}

async fn detail(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(topic): Path<String>,
    Query(notice): Query<Notice>,
) -> Result<Html<String>, PageError> {
    let route = state.admin.topic_route(&topic).await?;
    let stats = state.admin.topic_stats(&topic).await?;
    let groups = state.admin.topic_consumer_groups(&topic).await;
    let base = format!("/topics/{}", seg(&topic));
    let first = route.queue_datas.first();
    let admin = viewer.role == Role::Admin;
    let body = html! {
        (notice.render())
        h2 { "Route" }
        table {
            tr { th { "Broker" } th { "Cluster" } th { "Addresses" } th.num { "Write queues" } th.num { "Read queues" } th { "Permission" } }
            @for q in &route.queue_datas {
                @let bd = route.broker_datas.iter().find(|b| b.broker_name == q.broker_name);
                tr {
                    td { (q.broker_name) }
                    td { @if let Some(b) = bd { (b.cluster) } }
                    td { @if let Some(b) = bd { @for (id, a) in &b.broker_addrs { (id) ": " (a) " " } } }
                    td.num { (q.write_queue_nums) }
                    td.num { (q.read_queue_nums) }
                    td { (perm_name(q.perm)) }
                }
            }
        }
        h2 { "Queues" }
        table {
            tr { th { "Broker" } th.num { "Queue" } th.num { "Min offset" } th.num { "Max offset" } th.num { "Messages" } th { "Last stored (UTC)" } }
            @for (mq, o) in &stats.offset_table {
                tr {
                    td { (mq.broker_name) }
                    td.num { (mq.queue_id) }
                    td.num { (o.min_offset) }
                    td.num { (o.max_offset) }
                    td.num { (o.max_offset - o.min_offset) }
                    td { @if o.last_update_timestamp > 0 { (format_ms(o.last_update_timestamp)) } }
                }
            }
        }
        h2 { "Consumer groups" }
        @match &groups {
            Ok(g) if g.is_empty() => p.muted { "No group consumes this topic." },
            Ok(g) => ul { @for name in g { li { a href=(format!("/groups/{}", seg(name))) { (name) } } } },
            Err(e) => p.notice.err { (e) },
        }
        @if admin {
            h2 { "Send a test message" }
            form.box method="post" action=(format!("{base}/send")) {
                (csrf_field(&viewer))
                label { "Tag" input name="tag"; }
                label { "Key" input name="key"; }
                label { "Body" input name="body" required size="40"; }
                button type="submit" { "Send" }
            }
            h2 { "Reset a group's offset" }
            (reset_offset_form(&viewer, Some(&topic), None, groups.as_ref().ok(), &base))
            @if let Some(q) = first {
                h2 { "Update" }
                form.box method="post" action=(format!("{base}/update")) {
                    (csrf_field(&viewer))
                    (queue_fields(q.read_queue_nums, q.write_queue_nums, q.perm))
                    button type="submit" { "Update on every broker" }
                }
            }
            h2 { "Delete" }
            form.box method="post" action=(format!("{base}/delete")) {
                (csrf_field(&viewer))
                label { "Type the topic's name to confirm" input name="confirm" required; }
                button.danger type="submit" { "Delete from every broker and name server" }
            }
        }
    };
    Ok(layout::page(
        &viewer,
        &format!("Topic {topic}"),
        "/topics",
        body,
    ))
}

fn perm_name(p: i32) -> &'static str {
    match (p & perm::READ != 0, p & perm::WRITE != 0) {
        (true, true) => "read and write",
        (true, false) => "read only",
        (false, true) => "write only",
        (false, false) => "none",
    }
}

#[derive(Deserialize)]
struct UpdateForm {
    write_queues: i32,
    read_queues: i32,
    perm: i32,
}

async fn update(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(topic): Path<String>,
    Form(f): Form<UpdateForm>,
) -> Response {
    let back = format!("/topics/{}", seg(&topic));
    let config = match topic_config(&topic, f.write_queues, f.read_queues, f.perm) {
        Ok(c) => c,
        Err(e) => return redirect_notice(&back, Err(e)),
    };
    let result = async {
        let route = state.admin.topic_route(&topic).await?;
        let mut done = Vec::new();
        for bd in &route.broker_datas {
            if let Some(addr) = bd.broker_addrs.get(&0) {
                state.admin.create_topic(addr, &config).await?;
                done.push(addr.clone());
            }
        }
        Ok::<_, rmq_client::ClientError>(done)
    }
    .await;
    let outcome = result
        .map(|done| format!("updated on {}", done.join(", ")))
        .map_err(|e| e.to_string());
    viewer.audit(
        "update topic",
        &format!(
            "{topic} (write {}, read {}, perm {})",
            f.write_queues, f.read_queues, f.perm
        ),
        outcome.as_ref().map_or_else(|e| e.as_str(), |_| "ok"),
    );
    redirect_notice(&back, outcome)
}

#[derive(Deserialize)]
struct DeleteForm {
    confirm: String,
}

async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(topic): Path<String>,
    Form(f): Form<DeleteForm>,
) -> Response {
    if let Some(refused) = unconfirmed(KIND.1, &f.confirm, &topic) {
        return refused;
    }
    let result = async {
        let route = state.admin.topic_route(&topic).await?;
        let clusters: BTreeSet<&String> = route.broker_datas.iter().map(|b| &b.cluster).collect();
        let mut done = Vec::new();
        for cluster in clusters {
            done.extend(state.admin.delete_topic(&topic, cluster).await?);
        }
        Ok::<_, rmq_client::ClientError>(done)
    }
    .await;
    state.topics.invalidate().await;
    deleted(&viewer, KIND, &topic, result)
}

#[derive(Deserialize)]
struct SendForm {
    #[serde(default)]
    tag: String,
    #[serde(default)]
    key: String,
    body: String,
}

async fn send(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(topic): Path<String>,
    Form(f): Form<SendForm>,
) -> Response {
    let back = format!("/topics/{}", seg(&topic));
    let mut msg = Message::new(topic.clone(), f.body.into_bytes());
    if !f.tag.is_empty() {
        msg = msg.with_tags(f.tag);
    }
    if !f.key.is_empty() {
        msg = msg.with_keys([f.key]);
    }
    let result = match state.producer().await {
        Ok(p) => p.send(msg).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(r) => {
            let what = format!(
                "sent: msgId {} to {} queue {} offset {} ({:?})",
                r.msg_id,
                r.message_queue.broker_name,
                r.message_queue.queue_id,
                r.queue_offset,
                r.status
            );
            viewer.audit("send test message", &topic, &what);
            redirect_notice(&back, Ok(what))
        }
        Err(e) => {
            viewer.audit("send test message", &topic, &e.to_string());
            redirect_notice(&back, Err(e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_of_ten_thousand() {
        let all: BTreeSet<String> = (0..10_000).map(|i| format!("T{i:05}")).collect();
        let q = ListQuery {
            filter: "T0".into(),
            page: 99,
            system: None,
        };
        let p = select(&all, &q);
        assert_eq!((p.total, p.pages, p.page), (10_000, 100, 99));
        assert_eq!(p.topics.first().map(String::as_str), Some("T09900"));
        let q = ListQuery {
            filter: "T0999".into(),
            page: 5,
            system: None,
        };
        let p = select(&all, &q);
        assert_eq!((p.total, p.page, p.topics.len()), (10, 0, 10));
    }

    #[test]
    fn forms_are_checked() {
        assert!(topic_config("ok-topic_1", 8, 8, 6).is_ok());
        assert!(topic_config("bad topic", 8, 8, 6).is_err());
        assert!(topic_config("t", 0, 8, 6).is_err());
        assert!(topic_config("t", 8, 8, 7).is_err());
    }
}
