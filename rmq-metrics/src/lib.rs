//! Prometheus metrics for the rmq servers, under Apache RocketMQ 5's metric names.
//!
//! Apache exports through OpenTelemetry's Prometheus exporter; the names, label sets and units
//! here are what that exporter prints for a 5.3.3 broker (docs/metrics.md lists them), so a
//! Grafana dashboard built for Apache reads rmq unchanged. Collection is scrape-time: a server
//! hands [`serve`] a closure that walks its own tables when `/metrics` is requested, so the
//! message path pays nothing. The one per-request figure, [`RpcLatency`], is recorded by the
//! transport's dispatch only when metrics are switched on.

mod exporter;
mod exposition;
mod histogram;
mod parse;
mod rpc;

pub use exporter::{bind, parse_labels, serve, ExporterType, MetricsError};
pub use exposition::{Exposition, Kind};
pub use histogram::{Histogram, HistogramMap};
pub use parse::{parse_text, ParseError, Series};
pub use rpc::RpcLatency;
