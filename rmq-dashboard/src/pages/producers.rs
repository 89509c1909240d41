//! `/producers`: the connected producers of a producer group on a topic
//! (GET_PRODUCER_CONNECTION_LIST to the topic's masters), and the producer hosts whose clocks
//! disagree with a broker's (rmq brokers list them in their runtime figures under
//! `producerClockSkewMillis`; Apache's brokers do not check).

use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use maud::html;
use serde::Deserialize;

use crate::auth::Viewer;
use crate::layout::{self, PageError};
use crate::sampler::Snapshot;
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
    let body = html! { (body) (clock_skew(&state.sampler.snapshot())) };
    Ok(layout::page(&viewer, "Producers", "/producers", body))
}

/// The runtime-info key under which rmq brokers list skewed producer hosts.
const SKEW_KEY: &str = "producerClockSkewMillis";

/// Every (broker, producer host, skew in ms) from the last sample, in broker address order.
fn skewed_hosts(snapshot: &Snapshot) -> Vec<(&str, &str, &str)> {
    snapshot
        .brokers
        .values()
        .filter_map(|b| Some((b.addr.as_str(), b.runtime.get(SKEW_KEY)?)))
        .flat_map(|(broker, listed)| {
            listed
                .split(';')
                .filter_map(move |pair| pair.split_once('='))
                .map(move |(host, millis)| (broker, host, millis))
        })
        .collect()
}

/// "Producer clocks": hosts beyond the brokers' clockSkewWarnThresholdMillis, or a line saying
/// none is.
fn clock_skew(snapshot: &Snapshot) -> maud::Markup {
    let skewed = skewed_hosts(snapshot);
    html! {
        h2 { "Producer clocks" }
        @if skewed.is_empty() {
            p.muted { "No broker reports a producer host whose clock is off by more than its clockSkewWarnThresholdMillis (rmq brokers only)." }
        } @else {
            p { "Message times, lag latency, time-based offset resets and traces from these hosts are off by the skew: synchronise their clocks (NTP or chrony on the host; a container uses its host's clock)." }
            table {
                tr { th { "Broker" } th { "Producer host" } th.num { "Skew (ms, + ahead)" } }
                @for (broker, host, millis) in &skewed {
                    tr { td { (broker) } td { (host) } td.num { (millis) } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampler::BrokerView;

    #[test]
    fn skewed_hosts_come_from_each_brokers_runtime_figures() {
        let mut snapshot = Snapshot::default();
        for (addr, listed) in [
            ("10.0.0.1:10911", Some("10.0.0.9=-180000;10.0.0.8=7000")),
            ("10.0.0.2:10911", None),
        ] {
            let mut b = BrokerView {
                addr: addr.to_owned(),
                ..BrokerView::default()
            };
            if let Some(listed) = listed {
                b.runtime.insert(SKEW_KEY.to_owned(), listed.to_owned());
            }
            snapshot.brokers.insert(addr.to_owned(), b);
        }
        assert_eq!(
            skewed_hosts(&snapshot),
            vec![
                ("10.0.0.1:10911", "10.0.0.9", "-180000"),
                ("10.0.0.1:10911", "10.0.0.8", "7000")
            ]
        );
        let page = clock_skew(&snapshot).into_string();
        assert!(
            page.contains("10.0.0.9") && page.contains("-180000"),
            "{page}"
        );
    }
}
