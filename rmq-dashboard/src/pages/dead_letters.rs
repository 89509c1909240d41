//! Dead letters: a group's `%DLQ%<group>` messages in a time range (newest first, paged), sent
//! back to the group one or several at a time (through `%RETRY%<group>`, so no other group
//! sees them again), and exported as JSON lines with each body in base64 (a body may be
//! binary; base64 keeps one message per line and is what every language can decode).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use maud::{html, Markup};
use rmq_client::{dlq_topic, ReceivedMessage};
// the broker keeps a dead letter's original topic in its RETRY_TOPIC property
use rmq_remoting::message::keys::RETRY_TOPIC as ORIGINAL_TOPIC;
use serde::Deserialize;
use serde_json::json;

use super::messages::{newest_wanted, page_rows, pager, preview, range, view_link, MAX_RESULTS};
use super::when::{format_ms, input_value};
use crate::auth::Viewer;
use crate::layout::{csrf_field, page, redirect_notice, seg, Notice, PageError};
use crate::state::AppState;

/// The page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dead-letters", get(list))
        .route("/dead-letters/export", get(export))
        .route("/dead-letters/resend", post(resend))
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    group: String,
    #[serde(default)]
    begin: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    page: usize,
}

/// The newest `want` dead letters of `group` in the range; a group that never had one (no
/// such topic) has none.
async fn dead_letters(
    state: &AppState,
    group: &str,
    begin: i64,
    end: i64,
    want: usize,
) -> Result<Vec<ReceivedMessage>, PageError> {
    match state
        .admin
        .query_messages_by_time(&dlq_topic(group), begin, end, want)
        .await
    {
        Ok(found) => Ok(found),
        Err(rmq_client::ClientError::NoRoute(_)) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

async fn list(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
    Query(notice): Query<Notice>,
) -> Result<Html<String>, PageError> {
    let (begin, end) = range(&q.begin, &q.end)?;
    let group = q.group.trim();
    let groups = super::groups::all_groups(&state).await.ok();
    let form = html! {
        form method="get" action="/dead-letters" {
            label { "Consumer group " input name="group" value=(group) list="group-names" required; }
            @if let Some(groups) = &groups {
                datalist id="group-names" { @for g in groups.keys() { option value=(g) {} } }
            }
            label { "From (UTC) " input type="datetime-local" step="1" name="begin" value=(input_value(begin)); }
            label { "to " input type="datetime-local" step="1" name="end" value=(input_value(end)); }
            button type="submit" { "List" }
        }
    };
    let listing = if group.is_empty() {
        html! {}
    } else {
        let want = newest_wanted(q.page);
        let newest = dead_letters(&state, group, begin, end, want).await?;
        let (shown, more) = page_rows(newest, q.page, want);
        let query = format!(
            "group={}&begin={}&end={}",
            seg(group),
            seg(&input_value(begin)),
            seg(&input_value(end))
        );
        listing(&viewer, group, &shown, &query, q.page, more)
    };
    let body = html! { (notice.render()) (form) (listing) };
    Ok(page(&viewer, "Dead letters", "/dead-letters", body))
}

fn listing(
    viewer: &Viewer,
    group: &str,
    shown: &[ReceivedMessage],
    query: &str,
    page_no: usize,
    more: bool,
) -> Markup {
    html! {
        h2 { (dlq_topic(group)) " — " (shown.len()) " shown, newest first" }
        p { a.button href=(format!("/dead-letters/export?{query}")) download { "Export (JSON lines, bodies in base64)" } }
        @if shown.is_empty() { p { "No dead letters in this range." } } @else {
            form method="post" action="/dead-letters/resend" {
                (csrf_field(viewer))
                input type="hidden" name="group" value=(group);
                table.messages {
                    thead { tr { th { "Resend" } th { "Message id" } th { "Original topic" } th { "Keys" } th { "Reconsumed" } th { "Stored (UTC)" } th { "Body" } } }
                    tbody {
                        @for m in shown {
                            tr {
                                td { input type="checkbox" name="id" value=(m.msg_id); }
                                td { a href=(view_link(m)) { (m.msg_id) } }
                                td { (m.property(ORIGINAL_TOPIC).unwrap_or("")) }
                                td { (m.keys().join(" ")) }
                                td { (m.reconsume_times) }
                                td { (format_ms(m.store_timestamp)) }
                                td.body { (preview(&m.body)) }
                            }
                        }
                    }
                }
                button type="submit" { "Resend the selected to " (group) }
            }
            (pager(&format!("/dead-letters?{query}"), page_no, more, false))
        }
    }
}

/// The selected ids and the group, from a form whose `id` field repeats.
fn resend_form(body: &[u8]) -> (String, Vec<String>) {
    let mut group = String::new();
    let mut ids = Vec::new();
    for (k, v) in form_urlencoded::parse(body) {
        match k.as_ref() {
            "group" => group = v.into_owned(),
            "id" => ids.push(v.into_owned()),
            _ => {}
        }
    }
    (group, ids)
}

async fn resend(viewer: Viewer, State(state): State<AppState>, body: Bytes) -> Response {
    let (group, ids) = resend_form(&body);
    let back = format!("/dead-letters?group={}", seg(&group));
    if group.is_empty() || ids.is_empty() {
        return redirect_notice(&back, Err("select at least one message".into()));
    }
    let mut failed = Vec::new();
    for id in &ids {
        let outcome = state.admin.resend_dead_letter(&group, id).await;
        let text = match &outcome {
            Ok(()) => "resent".to_owned(),
            Err(e) => format!("failed: {e}"),
        };
        viewer.audit("resend dead letter", &format!("{id} to {group}"), &text);
        if let Err(e) = outcome {
            failed.push(format!("{id}: {e}"));
        }
    }
    let outcome = if failed.is_empty() {
        Ok(format!("{} message(s) resent to {group}", ids.len()))
    } else {
        Err(format!(
            "{} of {} failed: {}",
            failed.len(),
            ids.len(),
            failed.join("; ")
        ))
    };
    redirect_notice(&back, outcome)
}

/// One dead letter as a JSON object on one line.
fn export_line(m: &ReceivedMessage) -> String {
    let line = json!({
        "msgId": m.msg_id,
        "offsetMsgId": m.offset_msg_id,
        "topic": m.topic,
        "originalTopic": m.property(ORIGINAL_TOPIC),
        "queueId": m.queue.queue_id,
        "queueOffset": m.queue_offset,
        "tags": m.tags(),
        "keys": m.keys(),
        "reconsumeTimes": m.reconsume_times,
        "bornTimestamp": m.born_timestamp,
        "bornHost": m.born_host.to_string(),
        "storeTimestamp": m.store_timestamp,
        "storeHost": m.store_host.to_string(),
        "properties": m.properties,
        "bodyBase64": base64::engine::general_purpose::STANDARD.encode(&m.body),
    });
    line.to_string()
}

async fn export(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let (begin, end) = range(&q.begin, &q.end)?;
    let group = q.group.trim();
    if group.is_empty() {
        return Err(PageError::BadRequest("name the group".into()));
    }
    let found = dead_letters(&state, group, begin, end, MAX_RESULTS).await?;
    let mut out = String::new();
    for m in &found {
        out.push_str(&export_line(m));
        out.push('\n');
    }
    let name: String = group
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (CONTENT_TYPE, "application/x-ndjson".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"dlq-{name}.jsonl\""),
            ),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resend_form_keeps_every_selected_id() {
        let (group, ids) = resend_form(b"csrf=t&group=g%251&id=A&id=B&id=A");
        assert_eq!(group, "g%1");
        assert_eq!(ids, ["A", "B", "A"]);
    }
}
