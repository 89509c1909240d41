//! What the topic and group lists share: the filter query, paging a filtered list, the
//! filter form with its pager, the clusters a create form offers, and how a create or delete
//! action ends (audited, with its notice).

use axum::response::Response;
use maud::{html, Markup};
use rmq_client::ClientError;
use serde::Deserialize;

use crate::auth::Viewer;
use crate::layout::{audited, redirect_notice, seg};
use crate::state::AppState;

/// A list page's query: a name filter, the page asked for, and whether system names show.
#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    #[serde(default)]
    pub filter: String,
    #[serde(default)]
    pub page: usize,
    #[serde(default)]
    pub system: Option<String>,
}

impl ListQuery {
    /// The page asked for, kept to the last of `total` rows at `size` a page, and how many
    /// pages there are (at least one, so an empty list still has its page 1).
    pub fn clamp(&self, total: usize, size: usize) -> (usize, usize) {
        let pages = total.div_ceil(size).max(1);
        (self.page.min(pages - 1), pages)
    }

    /// The filter form (posting back to `path`, with `system_label` on the system checkbox)
    /// and the pager: `total` `noun` on `pages` pages, this one `page`.
    pub fn controls(
        &self,
        path: &str,
        system_label: &str,
        noun: &str,
        (total, page, pages): (usize, usize, usize),
    ) -> Markup {
        let link = |page: usize| {
            let f: String = form_urlencoded::byte_serialize(self.filter.as_bytes()).collect();
            let sys = if self.system.is_some() {
                "&system=on"
            } else {
                ""
            };
            format!("{path}?filter={f}&page={page}{sys}")
        };
        html! {
            form.inline method="get" action=(path) {
                input name="filter" value=(self.filter) placeholder="filter by name";
                label { input type="checkbox" name="system" checked[self.system.is_some()]; " " (system_label) }
                button type="submit" { "Filter" }
            }
            p.pager {
                span { (total) " " (noun) }
                @if page > 0 { a href=(link(page - 1)) { "← previous" } }
                span { "page " (page + 1) " of " (pages) }
                @if page + 1 < pages { a href=(link(page + 1)) { "next →" } }
            }
        }
    }
}

/// The clusters the last sample saw, for a create form's choice (none before the first).
pub(super) fn cluster_names(state: &AppState) -> Vec<String> {
    state
        .sampler
        .snapshot()
        .cluster
        .as_ref()
        .map(|c| c.cluster_addr_table.keys().cloned().collect())
        .unwrap_or_default()
}

/// Ends a create form of a `kind` ("topic", "group") listed at `list`: audited, then on to
/// the new `name`'s page, or back to the list with the error.
pub(super) fn created(
    viewer: &Viewer,
    (kind, list): (&str, &str),
    name: &str,
    cluster: &str,
    result: Result<Vec<String>, ClientError>,
) -> Response {
    let result = result.map(|brokers| {
        let message = format!("created {name} on {}", brokers.join(", "));
        (format!("{list}/{}", seg(name)), message)
    });
    let target = format!("{name} in cluster {cluster}");
    audited(viewer, &format!("create {kind}"), &target, result, list)
}

/// Ends a delete form of a `kind` listed at `list`: audited, then to the list, or back to
/// `name`'s page with the error.
pub(super) fn deleted(
    viewer: &Viewer,
    (kind, list): (&str, &str),
    name: &str,
    result: Result<Vec<String>, ClientError>,
) -> Response {
    let result = result.map(|done| {
        let message = format!("deleted {name} from {}", done.join(", "));
        (list.to_owned(), message)
    });
    let back = format!("{list}/{}", seg(name));
    audited(viewer, &format!("delete {kind}"), name, result, &back)
}

/// A delete form whose typed name is not `name`: back to its page, nothing deleted.
pub(super) fn unconfirmed(list: &str, typed: &str, name: &str) -> Option<Response> {
    (typed != name).then(|| {
        redirect_notice(
            &format!("{list}/{}", seg(name)),
            Err("the name typed does not match; nothing deleted".into()),
        )
    })
}
