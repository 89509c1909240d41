//! The name server's Prometheus metrics (`metricsExporterType=PROM`; rmq's own, Apache's name
//! server exports none): request latency under RocketMQ 5's `rocketmq_rpc_latency`, and the
//! registered brokers and topics, collected on scrape from the route table.

use std::collections::BTreeMap;
use std::sync::Arc;

use rmq_metrics::{Exposition, RpcLatency};
use rmq_remoting::transport::Router;
use tokio::net::TcpListener;

use crate::config::NamesrvConfig;
use crate::route_table::RouteTable;

/// The metrics endpoint's listener when `metricsExporterType=PROM`, bound before the name
/// server announces itself; `metricsPromExporterHost` empty means `bindAddress`.
pub async fn bind(
    config: &NamesrvConfig,
) -> Result<Option<TcpListener>, rmq_metrics::MetricsError> {
    if !config.metrics_exporter_type.prometheus_enabled() {
        return Ok(None);
    }
    let host = match config.metrics_prom_exporter_host.as_str() {
        "" => config.bind_address.as_str(),
        host => host,
    };
    rmq_metrics::bind(host, config.metrics_prom_exporter_port)
        .await
        .map(Some)
}

/// The request-latency recorder when metrics are on.
pub(crate) fn rpc_latency(config: &NamesrvConfig) -> Option<Arc<RpcLatency>> {
    (config.metrics_exporter_type == rmq_metrics::ExporterType::Prom)
        .then(|| Arc::new(RpcLatency::default()))
}

/// `router`, reporting every request's latency to `rpc` when metrics are on.
pub(crate) fn observed(router: Router, rpc: Option<&Arc<RpcLatency>>) -> Router {
    match rpc {
        Some(rpc) => {
            let rpc = rpc.clone();
            router.observe(Arc::new(move |code, response, oneway, took| {
                rpc.record(code, response, oneway, took)
            }))
        }
        None => router,
    }
}

/// One scrape: registered brokers per cluster, topics, request latency.
pub(crate) fn scrape(
    routes: &RouteTable,
    rpc: Option<&RpcLatency>,
    common: &[(String, String)],
) -> String {
    let mut out = Exposition::new(common);
    let mut brokers: BTreeMap<String, usize> = BTreeMap::new();
    for group in routes.cluster_info().broker_addr_table.into_values() {
        *brokers.entry(group.cluster).or_default() += group.broker_addrs.len();
    }
    out.family(
        "rmq_namesrv_brokers",
        rmq_metrics::Kind::Gauge,
        "Brokers registered, per cluster (rmq)",
    );
    for (cluster, n) in &brokers {
        out.sample("rmq_namesrv_brokers", &[("cluster", cluster)], *n as f64);
    }
    out.gauge(
        "rmq_namesrv_topics",
        "Topics with a route (rmq)",
        routes.all_topics().topic_list.len() as f64,
    );
    if let Some(rpc) = rpc {
        rpc.encode(&mut out);
    }
    out.finish()
}
