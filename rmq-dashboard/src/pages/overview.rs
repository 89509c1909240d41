//! `/`: brokers, topic and group counts, and the put/get TPS of the whole cluster over the
//! sampler's history.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use maud::html;
use serde::Serialize;

use crate::auth::Viewer;
use crate::layout::{self, PageError};
use crate::sampler::Snapshot;
use crate::state::AppState;
use crate::svg::{line_chart, Series};

/// `/` and `/api/overview`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(page))
        .route("/api/overview", get(api))
}

/// The overview's figures (also the JSON of `/api/overview`).
#[derive(Serialize)]
struct Overview {
    brokers: usize,
    topics: usize,
    groups: usize,
    /// `(seconds since the epoch, put TPS, get TPS)` summed over brokers.
    tps: Vec<(u64, f64, f64)>,
}

/// Put/get TPS summed over every broker per sampling time.
fn cluster_tps(snap: &Snapshot) -> Vec<(u64, f64, f64)> {
    let mut by_time: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    for b in snap.brokers.values() {
        for s in &b.samples {
            let e = by_time.entry(s.at).or_default();
            e.0 += s.put;
            e.1 += s.get;
        }
    }
    by_time.into_iter().map(|(t, (p, g))| (t, p, g)).collect()
}

async fn overview(state: &AppState) -> Result<Overview, PageError> {
    let snap = state.sampler.snapshot();
    let topics = state.topics.get(state.admin.topic_list()).await?;
    let groups = crate::pages::groups::all_groups(state).await?;
    Ok(Overview {
        brokers: snap.brokers.len(),
        topics: topics.len(),
        groups: groups.len(),
        tps: cluster_tps(&snap),
    })
}

async fn api(State(state): State<AppState>) -> Result<Json<Overview>, PageError> {
    Ok(Json(overview(&state).await?))
}

async fn page(State(state): State<AppState>, viewer: Viewer) -> Result<Html<String>, PageError> {
    let o = overview(&state).await?;
    let put = o.tps.iter().map(|(t, p, _)| (*t as f64, *p)).collect();
    let got = o.tps.iter().map(|(t, _, g)| (*t as f64, *g)).collect();
    let body = html! {
        div.cards {
            a.card href="/cluster" { strong { (o.brokers) } " brokers" }
            a.card href="/topics" { strong { (o.topics) } " topics" }
            a.card href="/groups" { strong { (o.groups) } " consumer groups" }
        }
        (line_chart("Messages stored per second (put TPS)", &[Series { label: "put", class: "s-put", points: put }]))
        (line_chart("Messages delivered per second (get TPS)", &[Series { label: "get", class: "s-get", points: got }]))
        p.muted { "Sampled every " (state.settings.sample_interval_secs) " s from each broker's runtime figures." }
    };
    Ok(layout::page(&viewer, "Overview", "/", body))
}
