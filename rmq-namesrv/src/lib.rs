//! The rmq name server: a nearly stateless routing registry, wire-compatible with RocketMQ's.
//!
//! Brokers register with every name server every 30 s; clients ask any one of them for topic
//! routes. Name servers never talk to each other. A broker is dropped when the connection it
//! registered over closes, or when it has been silent for `brokerChannelExpiredTime`
//! (120 s), checked every `scanNotActiveBrokerInterval` (10 s). The only state on disk is the
//! KV table (`kvConfigPath`).

pub mod config;
pub mod kv_store;
pub mod live_config;
pub mod metrics;
mod processor;
pub mod route_table;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmq_remoting::transport::{serve, TransportConfig};
use tokio::net::TcpListener;

pub use config::NamesrvConfig;
use kv_store::{KvStore, KvStoreError};
use processor::State;
use route_table::RouteTable;

/// A configured name server, ready to serve on a listener.
pub struct NameServer {
    state: Arc<State>,
    scan_interval: Duration,
    transport: TransportConfig,
    rpc_latency: Option<Arc<rmq_metrics::RpcLatency>>,
    metrics_labels: Vec<(String, String)>,
}

impl NameServer {
    /// Builds the server from its settings, loading the KV table.
    pub fn new(config: &NamesrvConfig) -> Result<Self, KvStoreError> {
        let state = State {
            routes: RouteTable::new(Duration::from_millis(config.broker_channel_expired_time)),
            kv: KvStore::open(&config.kv_config_path)?,
            live: live_config::LiveConfig::new(config),
        };
        Ok(NameServer {
            state: Arc::new(state),
            scan_interval: Duration::from_millis(config.scan_not_active_broker_interval.max(1)),
            transport: TransportConfig {
                max_frame_len: config.frame_max_length,
                max_in_flight_per_connection: config.max_in_flight_per_connection,
                max_connections: config.max_connections,
                write_stall_timeout: Duration::from_millis(config.write_stall_timeout_millis),
                ..TransportConfig::default()
            },
            rpc_latency: metrics::rpc_latency(config),
            metrics_labels: rmq_metrics::parse_labels(&config.metrics_label),
        })
    }

    /// Serves GET /metrics on `listener` for the name server listening on `node` (its
    /// `node_id` label) until `shutdown` completes.
    pub fn serve_metrics(
        &self,
        listener: TcpListener,
        node: String,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> impl Future<Output = ()> + Send + 'static {
        let mut common = vec![
            ("node_type".to_owned(), "namesrv".to_owned()),
            ("node_id".to_owned(), node),
        ];
        common.extend(self.metrics_labels.iter().cloned());
        let state = self.state.clone();
        let rpc = self.rpc_latency.clone();
        let collect = move || metrics::scrape(&state.routes, rpc.as_deref(), &common);
        rmq_metrics::serve(listener, Arc::new(collect), shutdown)
    }

    /// Serves on `listener` until `shutdown` completes, scanning for silent brokers meanwhile.
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let state = self.state.clone();
        let interval = self.scan_interval;
        let scanner = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                for addr in state.routes.expire(Instant::now()) {
                    tracing::warn!(broker = %addr, "broker removed: no registration within its expiry");
                }
            }
        });
        serve(
            listener,
            metrics::observed(processor::router(self.state), self.rpc_latency.as_ref()),
            self.transport,
            shutdown,
        )
        .await;
        scanner.abort();
    }
}
