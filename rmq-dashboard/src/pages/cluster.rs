//! `/cluster`: every broker of every cluster with its version, role and runtime figures
//! (GET_BROKER_RUNTIME_INFO, from the sampler's last reading), slaves' distance behind
//! their master, and one broker's full runtime table on demand.

use axum::extract::{Path, State};
use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use maud::html;
use serde::Serialize;

use crate::auth::Viewer;
use crate::layout::{self, seg, PageError};
use crate::sampler::{now_secs, BrokerView, Snapshot};
use crate::state::AppState;

/// `/cluster`, `/cluster/{addr}` and `/api/cluster`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cluster", get(page))
        .route("/cluster/{addr}", get(broker))
        .route("/api/cluster", get(api))
}

/// One broker row (also the JSON of `/api/cluster`).
#[derive(Serialize)]
struct Row {
    cluster: String,
    broker_name: String,
    broker_id: i64,
    addr: String,
    version: String,
    put_tps: String,
    get_tps: String,
    put_today: String,
    get_today: String,
    disk_ratio: String,
    /// Commit-log bytes a slave is behind its master; `None` for masters or when unknown.
    behind_bytes: Option<i64>,
    error: Option<String>,
}

fn figure(b: &BrokerView, key: &str) -> String {
    b.runtime.get(key).cloned().unwrap_or_default()
}

fn max_offset(b: &BrokerView) -> Option<i64> {
    b.runtime.get("commitLogMaxOffset")?.parse().ok()
}

fn rows(snap: &Snapshot) -> Vec<Row> {
    let mut rows: Vec<Row> = snap
        .brokers
        .values()
        .map(|b| {
            let master = snap
                .brokers
                .values()
                .find(|m| m.name == b.name && m.id == 0);
            let behind_bytes = match (b.id, master) {
                (0, _) | (_, None) => None,
                (_, Some(m)) => max_offset(m).zip(max_offset(b)).map(|(m, s)| m - s),
            };
            Row {
                cluster: b.cluster.clone(),
                broker_name: b.name.clone(),
                broker_id: b.id,
                addr: b.addr.clone(),
                version: figure(b, "brokerVersionDesc"),
                put_tps: figure(b, "putTps"),
                get_tps: figure(b, "getTransferedTps"),
                put_today: figure(b, "msgPutTotalTodayNow"),
                get_today: figure(b, "msgGetTotalTodayNow"),
                disk_ratio: figure(b, "commitLogDiskRatio"),
                behind_bytes,
                error: b.error.clone(),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        (&a.cluster, &a.broker_name, a.broker_id).cmp(&(&b.cluster, &b.broker_name, b.broker_id))
    });
    rows
}

/// The snapshot, sampling first when none has been taken yet or the last one found no
/// broker (a stack just starting: its brokers register a moment after the console starts).
async fn fresh(state: &AppState) -> std::sync::Arc<Snapshot> {
    let snap = state.sampler.snapshot();
    if snap.at != 0 && !snap.brokers.is_empty() {
        return snap;
    }
    state.sampler.sample(&state.admin).await;
    state.sampler.snapshot()
}

async fn api(State(state): State<AppState>) -> Json<Vec<Row>> {
    Json(rows(&*fresh(&state).await))
}

async fn page(State(state): State<AppState>, viewer: Viewer) -> Html<String> {
    let snap = fresh(&state).await;
    let rows = rows(&snap);
    let body = html! {
        @if let Some(e) = &snap.error { p.notice.err { "Name server: " (e) } }
        p.muted { "Read " (now_secs().saturating_sub(snap.at)) " s ago; TPS figures are the brokers' 10 s / 60 s / 600 s averages." }
        table {
            tr {
                th { "Cluster" } th { "Broker" } th { "Role" } th { "Address" } th { "Version" }
                th { "Put TPS" } th { "Get TPS" } th.num { "Put today" } th.num { "Get today" }
                th { "Disk used" } th.num { "Behind master (bytes)" }
            }
            @for r in &rows {
                tr {
                    td { (r.cluster) }
                    td { (r.broker_name) }
                    td { @if r.broker_id == 0 { "master" } @else { "slave " (r.broker_id) } }
                    td { a href=(format!("/cluster/{}", seg(&r.addr))) { (r.addr) } }
                    @if let Some(e) = &r.error {
                        td colspan="7" .notice.err { (e) }
                    } @else {
                        td { (r.version) }
                        td { (r.put_tps) }
                        td { (r.get_tps) }
                        td.num { (r.put_today) }
                        td.num { (r.get_today) }
                        td { (r.disk_ratio) }
                        td.num { @if let Some(b) = r.behind_bytes { (b) } }
                    }
                }
            }
        }
    };
    layout::page(&viewer, "Cluster", "/cluster", body)
}

async fn broker(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(addr): Path<String>,
) -> Result<Html<String>, PageError> {
    let known = fresh(&state).await.brokers.contains_key(&addr);
    if !known {
        return Err(PageError::BadRequest(format!(
            "{addr} is not a broker of this cluster"
        )));
    }
    let table = state.admin.broker_runtime_stats(&addr).await?;
    let body = html! {
        table {
            tr { th { "Key" } th { "Value" } }
            @for (k, v) in &table { tr { td { (k) } td { (v) } } }
        }
    };
    Ok(layout::page(
        &viewer,
        &format!("Broker {addr}"),
        "/cluster",
        body,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(name: &str, id: i64, addr: &str, max_offset: Option<i64>) -> BrokerView {
        BrokerView {
            cluster: "c".into(),
            name: name.into(),
            id,
            addr: addr.into(),
            runtime: max_offset
                .map(|o| ("commitLogMaxOffset".to_owned(), o.to_string()))
                .into_iter()
                .collect(),
            ..BrokerView::default()
        }
    }

    #[test]
    fn a_slave_is_measured_against_its_own_master() {
        let mut snap = Snapshot::default();
        for b in [
            broker("a", 0, "10.0.0.1:10911", Some(5000)),
            broker("a", 1, "10.0.0.2:10911", Some(4200)),
            broker("b", 0, "10.0.0.3:10911", Some(100)),
            broker("b", 1, "10.0.0.4:10911", None),
        ] {
            snap.brokers.insert(b.addr.clone(), b);
        }
        let behind: Vec<(String, i64, Option<i64>)> = rows(&snap)
            .into_iter()
            .map(|r| (r.broker_name, r.broker_id, r.behind_bytes))
            .collect();
        assert_eq!(
            behind,
            [
                ("a".into(), 0, None),
                ("a".into(), 1, Some(800)),
                ("b".into(), 0, None),
                ("b".into(), 1, None),
            ]
        );
    }
}
