//! `/groups`: subscription groups of every master (one call per master, cached), filtered
//! and paged, with the lag of the groups on the page; one group's progress per queue, its
//! online members and settings; creating, deleting, and resetting a group's offsets.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use maud::{html, Markup};
use rmq_remoting::body::stats::{ConsumeStats, SubscriptionGroupConfig};
use serde::{Deserialize, Serialize};

use super::list::{cluster_names, created, deleted, unconfirmed, ListQuery};
use super::when::{format_ms, parse_input};
use crate::auth::login::safe_next;
use crate::auth::{Role, Viewer};
use crate::layout::{self, csrf_field, redirect_notice, seg, Notice, PageError};
use crate::state::{AppState, Groups};

/// What the audit log and the notices call a group, and where the groups are listed.
const KIND: (&str, &str) = ("group", "/groups");
/// Groups shown (and asked for their lag) per page.
const PAGE_SIZE: usize = 50;

/// `/groups`, `/groups/{group}`, their POST actions, `/reset-offset` and `/api/groups`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/groups", get(list).post(create))
        .route("/groups/{group}", get(detail))
        .route("/groups/{group}/delete", post(delete))
        .route("/reset-offset", post(reset_offset))
        .route("/api/groups", get(api_list))
}

/// Every master's subscription groups (one call per master, reused for a few seconds).
pub async fn all_groups(state: &AppState) -> Result<Arc<Groups>, PageError> {
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

/// Groups brokers create for themselves; hidden unless asked for.
fn is_system(group: &str) -> bool {
    const NAMES: [&str; 10] = [
        "TOOLS_CONSUMER",
        "FILTERSRV_CONSUMER",
        "__MONITOR_CONSUMER",
        "CLIENT_INNER_PRODUCER",
        "SELF_TEST_P_GROUP",
        "SELF_TEST_C_GROUP",
        "CID_ONS-HTTP-PROXY",
        "CID_ONSAPI_PULL",
        "CID_ONSAPI_PERMISSION",
        "CID_ONSAPI_OWNER",
    ];
    NAMES.contains(&group) || group.starts_with("CID_RMQ_SYS_") || group.starts_with("CID_SYS_")
}

/// One group's line of the list (also the JSON of `/api/groups`).
#[derive(Serialize)]
struct GroupRow {
    group: String,
    brokers: Vec<String>,
    /// Messages stored but not yet consumed, over every queue; `None` when unknown.
    lag: Option<i64>,
    consume_tps: Option<f64>,
    error: Option<String>,
}

/// One page of the filtered list with the lag of its groups.
#[derive(Serialize)]
struct GroupPage {
    total: usize,
    page: usize,
    pages: usize,
    groups: Vec<GroupRow>,
}

/// Messages behind over every queue of `stats`.
fn lag(stats: &ConsumeStats) -> i64 {
    stats
        .offset_table
        .values()
        .map(|o| (o.broker_offset - o.consumer_offset).max(0))
        .sum()
}

async fn select(state: &AppState, q: &ListQuery) -> Result<GroupPage, PageError> {
    let all = all_groups(state).await?;
    let matching: Vec<(&String, _)> = all
        .iter()
        .filter(|(g, _)| (q.system.is_some() || !is_system(g)) && g.contains(q.filter.as_str()))
        .collect();
    let (page, pages) = q.clamp(matching.len(), PAGE_SIZE);
    let shown: Vec<_> = matching
        .iter()
        .skip(page * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    // Only the groups on this page are asked for their progress, all at once.
    let stats = futures::future::join_all(
        shown
            .iter()
            .map(|(g, _)| state.admin.consume_stats(g, None)),
    )
    .await;
    let groups = shown
        .iter()
        .zip(stats)
        .map(|((g, brokers), s)| GroupRow {
            group: (*g).clone(),
            brokers: brokers.keys().cloned().collect(),
            lag: s.as_ref().ok().map(lag),
            consume_tps: s.as_ref().ok().map(|s| s.consume_tps),
            error: s.err().map(|e| e.to_string()),
        })
        .collect();
    Ok(GroupPage {
        total: matching.len(),
        page,
        pages,
        groups,
    })
}

async fn api_list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<GroupPage>, PageError> {
    Ok(Json(select(&state, &q).await?))
}

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
    Query(notice): Query<Notice>,
) -> Result<Html<String>, PageError> {
    let p = select(&state, &q).await?;
    let clusters = cluster_names(&state);
    let body = html! {
        (notice.render())
        (q.controls("/groups", "system groups", "groups", (p.total, p.page, p.pages)))
        table {
            tr { th { "Group" } th { "Brokers" } th.num { "Lag" } th.num { "Consume TPS" } }
            @for g in &p.groups {
                tr {
                    td { a href=(format!("/groups/{}", seg(&g.group))) { (g.group) } }
                    td { (g.brokers.join(", ")) }
                    @if let Some(e) = &g.error {
                        td colspan="2" .muted { (e) }
                    } @else {
                        td.num { @if let Some(l) = g.lag { (l) } }
                        td.num { @if let Some(t) = g.consume_tps { (format!("{t:.1}")) } }
                    }
                }
            }
        }
        @if viewer.role == Role::Admin {
            h2 { "Create a subscription group" }
            form.box method="post" action="/groups" {
                (csrf_field(&viewer))
                label { "Group" input name="group" required; }
                label { "Cluster" select name="cluster" {
                    @for c in &clusters { option value=(c) { (c) } }
                } }
                label { "Max retries" input name="retry_max_times" type="number" min="0" max="64" value="16"; }
                label { input type="checkbox" name="broadcast"; " broadcasting allowed" }
                button type="submit" { "Create" }
            }
        }
    };
    Ok(layout::page(&viewer, "Consumer groups", "/groups", body))
}

#[derive(Deserialize)]
struct CreateForm {
    group: String,
    cluster: String,
    retry_max_times: i32,
    broadcast: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<CreateForm>,
) -> Response {
    let valid = !f.group.is_empty()
        && f.group.len() <= 255
        && f.group
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "%|_-".contains(c));
    if !valid || !(0..=64).contains(&f.retry_max_times) {
        return redirect_notice(
            "/groups",
            Err("a group name is letters, digits, %, |, _ and -; retries 0 to 64".into()),
        );
    }
    let mut config = SubscriptionGroupConfig::new(f.group.clone());
    config.retry_max_times = f.retry_max_times;
    config.consume_broadcast_enable = f.broadcast.is_some();
    let result = state
        .admin
        .create_subscription_group_in_cluster(&f.cluster, &config)
        .await;
    state.groups.invalidate().await;
    created(&viewer, KIND, &f.group, &f.cluster, result)
}

async fn detail(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(group): Path<String>,
    Query(notice): Query<Notice>,
) -> Result<Html<String>, PageError> {
    let stats = state.admin.consume_stats(&group, None).await;
    let conns = state.admin.consumer_connections(&group).await;
    let all = all_groups(&state).await?;
    let settings = all.get(&group);
    let base = format!("/groups/{}", seg(&group));
    let mut topics: BTreeSet<String> = BTreeSet::new();
    if let Ok(s) = &stats {
        topics.extend(s.offset_table.keys().map(|mq| mq.topic.clone()));
    }
    if let Ok(c) = &conns {
        topics.extend(c.subscription_table.keys().cloned());
    }
    let body = html! {
        (notice.render())
        h2 { "Progress" }
        @match &stats {
            Ok(s) => {
                p { "Lag " strong { (lag(s)) } ", consume TPS " (format!("{:.1}", s.consume_tps)) }
                table {
                    tr { th { "Topic" } th { "Broker" } th.num { "Queue" } th.num { "Broker offset" } th.num { "Consumer offset" } th.num { "Lag" } th { "Last consumed (UTC)" } }
                    @for (mq, o) in &s.offset_table {
                        tr {
                            td { (mq.topic) }
                            td { (mq.broker_name) }
                            td.num { (mq.queue_id) }
                            td.num { (o.broker_offset) }
                            td.num { (o.consumer_offset) }
                            td.num { ((o.broker_offset - o.consumer_offset).max(0)) }
                            td { @if o.last_timestamp > 0 { (format_ms(o.last_timestamp)) } }
                        }
                    }
                }
            }
            Err(e) => p.notice.err { (e) },
        }
        h2 { "Members" }
        @match &conns {
            Ok(c) => {
                p.muted {
                    "Consume type " (c.consume_type.map(|t| format!("{t:?}")).unwrap_or_default())
                    ", model " (c.message_model.map(|m| format!("{m:?}")).unwrap_or_default())
                    ", from " (c.consume_from_where.map(|w| format!("{w:?}")).unwrap_or_default())
                }
                table {
                    tr { th { "Client id" } th { "Address" } th { "Language" } th.num { "Version" } }
                    @for m in &c.connection_set {
                        tr { td { a href=(format!("{base}/clients/{}", seg(&m.client_id))) { (m.client_id) } } td { (m.client_addr) } td { (m.language) } td.num { (m.version) } }
                    }
                }
                table {
                    tr { th { "Subscribed topic" } th { "Expression" } th { "Type" } }
                    @for (t, sub) in &c.subscription_table {
                        tr { td { (t) } td { (sub.sub_string) } td { (sub.expression_type) } }
                    }
                }
            }
            Err(e) => p.muted { (e) },
        }
        h2 { "Settings" }
        @match settings {
            Some(by_broker) => table {
                tr { th { "Broker" } th { "Consume enabled" } th { "Broadcast" } th.num { "Retry queues" } th.num { "Max retries" } th { "From min" } }
                @for (b, c) in by_broker {
                    tr {
                        td { (b) } td { (c.consume_enable) } td { (c.consume_broadcast_enable) }
                        td.num { (c.retry_queue_nums) } td.num { (c.retry_max_times) } td { (c.consume_from_min_enable) }
                    }
                }
            },
            None => p.muted { "No broker has a subscription group of this name (it may be created automatically when a member connects)." },
        }
        @if viewer.role == Role::Admin {
            h2 { "Reset offset" }
            (reset_offset_form(&viewer, None, Some(&group), Some(&topics), &base))
            h2 { "Delete" }
            form.box method="post" action=(format!("{base}/delete")) {
                (csrf_field(&viewer))
                label { "Type the group's name to confirm" input name="confirm" required; }
                label { input type="checkbox" name="clean_offset"; " delete its committed offsets too" }
                button.danger type="submit" { "Delete from every broker" }
            }
        }
    };
    Ok(layout::page(
        &viewer,
        &format!("Consumer group {group}"),
        "/groups",
        body,
    ))
}

#[derive(Deserialize)]
struct DeleteForm {
    confirm: String,
    clean_offset: Option<String>,
}

async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(group): Path<String>,
    Form(f): Form<DeleteForm>,
) -> Response {
    if let Some(refused) = unconfirmed(KIND.1, &f.confirm, &group) {
        return refused;
    }
    let result = async {
        let mut done = Vec::new();
        for (_, addr) in state.admin.master_addrs().await? {
            state
                .admin
                .delete_subscription_group(&addr, &group, f.clean_offset.is_some())
                .await?;
            done.push(addr);
        }
        Ok::<_, rmq_client::ClientError>(done)
    }
    .await;
    state.groups.invalidate().await;
    deleted(&viewer, KIND, &group, result)
}

/// The reset form for the topic page (`topic` fixed, group chosen from `choices`) and the
/// group page (`group` fixed, topic chosen); both post to `/reset-offset` and come back to
/// `back`.
pub fn reset_offset_form(
    viewer: &Viewer,
    topic: Option<&str>,
    group: Option<&str>,
    choices: Option<&BTreeSet<String>>,
    back: &str,
) -> Markup {
    let chooser = |name: &'static str, label: &'static str| {
        html! {
            label { (label)
                input name=(name) list=(format!("{name}-choices")) required;
                datalist id=(format!("{name}-choices")) {
                    @for c in choices.into_iter().flatten() { option value=(c) {} }
                }
            }
        }
    };
    html! {
        form.box method="post" action="/reset-offset" {
            (csrf_field(viewer))
            input type="hidden" name="back" value=(back);
            @match topic {
                Some(t) => input type="hidden" name="topic" value=(t);,
                None => (chooser("topic", "Topic")),
            }
            @match group {
                Some(g) => input type="hidden" name="group" value=(g);,
                None => (chooser("group", "Group")),
            }
            label { "To" select name="to" {
                option value="time" { "the first message stored at or after (UTC)" }
                option value="earliest" { "the earliest message" }
                option value="latest" { "the end (skip everything)" }
            } }
            label { "Time (UTC)" input name="time" type="datetime-local" step="1"; }
            label { input type="checkbox" name="force" checked; " also move forwards" }
            button type="submit" { "Reset" }
        }
    }
}

#[derive(Deserialize)]
struct ResetForm {
    topic: String,
    group: String,
    to: String,
    #[serde(default)]
    time: String,
    force: Option<String>,
    back: String,
}

async fn reset_offset(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<ResetForm>,
) -> Response {
    let back = safe_next(Some(&f.back));
    let timestamp = match f.to.as_str() {
        "earliest" => 0,
        "latest" => -1,
        _ => match parse_input(&f.time) {
            Some(ms) => ms,
            None => {
                return redirect_notice(
                    back,
                    Err(format!("`{}` is not a time YYYY-MM-DDTHH:MM[:SS]", f.time)),
                )
            }
        },
    };
    let result = state
        .admin
        .reset_offset_by_time(&f.topic, &f.group, timestamp, f.force.is_some())
        .await;
    let target = format!("group {} on topic {} to {timestamp}", f.group, f.topic);
    match result {
        Ok(offsets) => {
            let what = format!(
                "reset {} queue(s): {}",
                offsets.len(),
                offsets
                    .iter()
                    .map(|(mq, o)| format!("{}/{}→{o}", mq.broker_name, mq.queue_id))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            viewer.audit("reset offset", &target, &what);
            redirect_notice(back, Ok(what))
        }
        Err(e) => {
            viewer.audit("reset offset", &target, &e.to_string());
            redirect_notice(back, Err(e.to_string()))
        }
    }
}
