//! Messages: found by topic and time range (newest first, paged, at most [`MAX_RESULTS`]), by
//! key, or by id; one message's properties, body, hosts and times and, per consuming group,
//! whether it was consumed (Apache's "message track"), with a form that has one online
//! consumer of a group consume it again (CONSUME_MESSAGE_DIRECTLY through its broker).

use axum::extract::{Query, State};
use axum::response::{Html, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};
use rmq_client::{ReceivedMessage, TrackType};
use serde::Deserialize;

use super::when::{format_ms, input_value, now_ms, parse_input};
use crate::auth::Viewer;
use crate::layout::{csrf_field, page, redirect_notice, seg, Notice, PageError};
use crate::state::AppState;

/// Rows per page of a time-range search.
const PAGE_SIZE: usize = 20;
/// Most messages a time-range search reads (newest first); older ones need a narrower range.
pub(super) const MAX_RESULTS: usize = 2000;
/// Messages a key query asks each broker for.
const KEY_QUERY_MAX: i32 = 64;
/// Body bytes shown on a message's page; the rest is counted, not shown.
const BODY_SHOWN: usize = 64 * 1024;
/// The default time range: the last hour.
const DEFAULT_RANGE_MS: i64 = 3_600_000;

/// The page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/messages", get(search))
        .route("/messages/view", get(view))
        .route("/messages/consume", post(consume_directly))
}

/// The search form's fields: an id wins over a key, a key over a time range.
#[derive(Debug, Default, Deserialize)]
struct Search {
    #[serde(default)]
    topic: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    begin: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    page: usize,
}

/// A time range from two form fields (UTC), the last hour by default.
pub(super) fn range(begin: &str, end: &str) -> Result<(i64, i64), PageError> {
    let field = |s: &str, default: i64| {
        if s.trim().is_empty() {
            Ok(default)
        } else {
            parse_input(s).ok_or_else(|| {
                PageError::BadRequest(format!("time {s:?}: expected YYYY-MM-DDTHH:MM[:SS] (UTC)"))
            })
        }
    };
    let now = now_ms();
    // a minute's slack: a message stored this second is in "the last hour" too
    let end = field(end, now + 60_000)?;
    let begin = field(begin, now - DEFAULT_RANGE_MS)?;
    if begin > end {
        return Err(PageError::BadRequest(
            "the range ends before it begins".into(),
        ));
    }
    Ok((begin, end))
}

async fn search(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(q): Query<Search>,
) -> Result<Html<String>, PageError> {
    let (topic, key, id) = (q.topic.trim(), q.key.trim(), q.id.trim());
    let (begin, end) = range(&q.begin, &q.end)?;
    let (title, found, pager): (String, Vec<ReceivedMessage>, Markup) = if !id.is_empty() {
        let topic = (!topic.is_empty()).then_some(topic);
        let found = state.admin.query_messages_by_id(topic, id).await?;
        (format!("Message id {id}"), found, html! {})
    } else if !key.is_empty() {
        if topic.is_empty() {
            return Err(PageError::BadRequest("a key search needs the topic".into()));
        }
        let found = state
            .admin
            .query_messages_by_key(topic, key, KEY_QUERY_MAX, 0, i64::MAX)
            .await?;
        (format!("Key {key} in {topic}"), found, html! {})
    } else if !topic.is_empty() {
        let want = newest_wanted(q.page);
        let newest = state
            .admin
            .query_messages_by_time(topic, begin, end, want)
            .await?;
        let (shown, more) = page_rows(newest, q.page, want);
        let query = format!(
            "/messages?topic={}&begin={}&end={}",
            seg(topic),
            seg(&input_value(begin)),
            seg(&input_value(end))
        );
        let pager = pager(&query, q.page, more, want == MAX_RESULTS);
        (format!("{topic}, newest first"), shown, pager)
    } else {
        (String::new(), Vec::new(), html! {})
    };
    let body = html! {
        (search_forms(&q, begin, end))
        @if !title.is_empty() {
            h2 { (title) " — " (found.len()) " shown" }
            (message_table(&found))
            (pager)
        }
    };
    Ok(page(&viewer, "Messages", "/messages", body))
}

/// How many of the newest messages a time-range search reads to show page `page`.
pub(super) fn newest_wanted(page: usize) -> usize {
    (page + 1).saturating_mul(PAGE_SIZE).min(MAX_RESULTS)
}

/// Page `page`'s rows out of the newest `want` a search found, and whether older ones are left.
pub(super) fn page_rows(
    newest: Vec<ReceivedMessage>,
    page: usize,
    want: usize,
) -> (Vec<ReceivedMessage>, bool) {
    let more = newest.len() == want && want < MAX_RESULTS;
    (newest.into_iter().skip(page * PAGE_SIZE).collect(), more)
}

/// The newer/older links of a newest-first list at `link` (a path with its query, to which
/// `&page=` is added); `capped` says the search stopped at [`MAX_RESULTS`].
pub(super) fn pager(link: &str, page: usize, more: bool, capped: bool) -> Markup {
    html! {
        p.pager {
            @if page > 0 { a href=(format!("{link}&page={}", page - 1)) { "« newer" } " " }
            "page " (page + 1)
            @if more { " " a href=(format!("{link}&page={}", page + 1)) { "older »" } }
            @if capped { " (the newest " (MAX_RESULTS) " only: narrow the range for older ones)" }
        }
    }
}

fn search_forms(q: &Search, begin: i64, end: i64) -> Markup {
    html! {
        div.forms {
            form method="get" action="/messages" {
                h3 { "By topic and time (UTC)" }
                label { "Topic " input name="topic" value=(q.topic) required; }
                label { "From " input type="datetime-local" step="1" name="begin" value=(input_value(begin)); }
                label { "to " input type="datetime-local" step="1" name="end" value=(input_value(end)); }
                button type="submit" { "Search" }
            }
            form method="get" action="/messages" {
                h3 { "By key" }
                label { "Topic " input name="topic" value=(q.topic) required; }
                label { "Key " input name="key" value=(q.key) required; }
                button type="submit" { "Search" }
            }
            form method="get" action="/messages" {
                h3 { "By message id" }
                label { "Topic (for a producer's id) " input name="topic" value=(q.topic); }
                label { "Id " input name="id" value=(q.id) required; }
                button type="submit" { "Search" }
            }
        }
    }
}

/// A table of messages, each linked to its page.
pub(super) fn message_table(msgs: &[ReceivedMessage]) -> Markup {
    if msgs.is_empty() {
        return html! { p { "No messages found." } };
    }
    html! {
        table.messages {
            thead { tr { th { "Message id" } th { "Tags" } th { "Keys" } th { "Queue" } th { "Stored (UTC)" } th { "Body" } } }
            tbody {
                @for m in msgs {
                    tr {
                        td { a href=(view_link(m)) { (m.msg_id) } }
                        td { (m.tags().unwrap_or("")) }
                        td { (m.keys().join(" ")) }
                        td { (m.queue.broker_name) " #" (m.queue.queue_id) " @" (m.queue_offset) }
                        td { (format_ms(m.store_timestamp)) }
                        td.body { (preview(&m.body)) }
                    }
                }
            }
        }
    }
}

/// The link to a message's page (by its offset message id, which names broker and offset).
pub(super) fn view_link(m: &ReceivedMessage) -> String {
    format!(
        "/messages/view?id={}&topic={}",
        seg(&m.offset_msg_id),
        seg(&m.topic)
    )
}

/// The first characters of a body: its text when it is UTF-8, else a note with its size.
pub(super) fn preview(body: &[u8]) -> String {
    match std::str::from_utf8(body) {
        Ok(text) if text.chars().count() > 60 => {
            format!("{}…", text.chars().take(60).collect::<String>())
        }
        Ok(text) => text.to_owned(),
        Err(_) => format!("({} bytes, binary)", body.len()),
    }
}

/// A body in full: text when it is UTF-8, else hex, 16 bytes a line; at most [`BODY_SHOWN`].
fn body_block(body: &[u8]) -> Markup {
    let shown = &body[..body.len().min(BODY_SHOWN)];
    let cut = body.len() - shown.len();
    html! {
        @match std::str::from_utf8(shown) {
            Ok(text) => { p { "UTF-8 text, " (body.len()) " bytes" } pre.body { (text) } }
            Err(_) => {
                p { "binary, " (body.len()) " bytes, in hex" }
                pre.body {
                    @for line in shown.chunks(16) {
                        (line.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")) "\n"
                    }
                }
            }
        }
        @if cut > 0 { p { (cut) " more bytes not shown" } }
    }
}

#[derive(Debug, Deserialize)]
struct ViewQuery {
    id: String,
    #[serde(default)]
    topic: String,
}

async fn view(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(q): Query<ViewQuery>,
    Query(notice): Query<Notice>,
) -> Result<Html<String>, PageError> {
    let topic = (!q.topic.is_empty()).then_some(q.topic.as_str());
    let found = state.admin.query_messages_by_id(topic, q.id.trim()).await?;
    let Some(msg) = found.into_iter().next() else {
        return Err(PageError::BadRequest(format!(
            "no message with id {}",
            q.id
        )));
    };
    let tracks = state.admin.message_track(&msg).await;
    let mut props: Vec<(&String, &String)> = msg.properties.iter().collect();
    props.sort();
    let body = html! {
        (notice.render())
        table.kv {
            tr { th { "Topic" } td { (msg.topic) } }
            tr { th { "Message id" } td { (msg.msg_id) } }
            tr { th { "Offset message id" } td { (msg.offset_msg_id) } }
            tr { th { "Tags" } td { (msg.tags().unwrap_or("")) } }
            tr { th { "Keys" } td { (msg.keys().join(" ")) } }
            tr { th { "Queue" } td { (msg.queue.broker_name) " #" (msg.queue.queue_id) ", offset " (msg.queue_offset) } }
            tr { th { "Stored" } td { (format_ms(msg.store_timestamp)) " UTC on " (msg.store_host) } }
            tr { th { "Born" } td { (format_ms(msg.born_timestamp)) " UTC on " (msg.born_host) } }
            tr { th { "Reconsumed" } td { (msg.reconsume_times) " times" } }
            tr { th { "Trace" } td { a href=(format!("/trace?topic={}&id={}", seg(&msg.topic), seg(&msg.msg_id))) { "this message's path" } } }
        }
        h2 { "Properties" }
        table.kv { @for (k, v) in &props { tr { th { (k) } td { (v) } } } }
        h2 { "Body" }
        (body_block(&msg.body))
        h2 { "Consumer groups" }
        @match &tracks {
            Err(e) => p.notice.err { "the groups could not be read: " (e) }
            Ok(tracks) if tracks.is_empty() => p { "No group consumes " (msg.topic) "." }
            Ok(tracks) => {
                table.tracks {
                    thead { tr { th { "Group" } th { "Track" } th { "Online" } th { "Consume it again" } } }
                    tbody {
                        @for t in tracks {
                            tr {
                                td { a href=(format!("/groups/{}", seg(&t.group))) { (t.group) } }
                                td { (track_label(t.track)) }
                                td { @if t.online { "yes" } @else { "no" } }
                                td {
                                    @if t.clients.is_empty() { "no client online" } @else {
                                        form.inline method="post" action="/messages/consume" {
                                            (csrf_field(&viewer))
                                            input type="hidden" name="id" value=(msg.offset_msg_id);
                                            input type="hidden" name="topic" value=(msg.topic);
                                            input type="hidden" name="group" value=(t.group);
                                            select name="client" { @for c in &t.clients { option value=(c) { (c) } } }
                                            button type="submit" { "Resend to this consumer" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        &viewer,
        &format!("Message {}", msg.msg_id),
        "/messages",
        body,
    ))
}

/// Apache's names for a track, as its console shows them.
fn track_label(track: TrackType) -> &'static str {
    match track {
        TrackType::Consumed => "CONSUMED",
        TrackType::NotConsumedYet => "NOT_CONSUMED_YET",
        TrackType::Broadcasting => "CONSUME_BROADCASTING",
    }
}

#[derive(Debug, Deserialize)]
struct ConsumeForm {
    id: String,
    topic: String,
    group: String,
    client: String,
}

async fn consume_directly(
    viewer: Viewer,
    State(state): State<AppState>,
    Form(f): Form<ConsumeForm>,
) -> Response {
    let back = format!("/messages/view?id={}&topic={}", seg(&f.id), seg(&f.topic));
    let target = format!("{} to {} of {}", f.id, f.client, f.group);
    let outcome = state
        .admin
        .consume_message_directly(&f.group, &f.client, &f.id)
        .await;
    let outcome = match outcome {
        Ok(result) => Ok(format!("{} answered {result}", f.client)),
        Err(e) => Err(format!("resend failed: {e}")),
    };
    viewer.audit(
        "consume message directly",
        &target,
        match &outcome {
            Ok(m) | Err(m) => m,
        },
    );
    redirect_notice(&back, outcome)
}
