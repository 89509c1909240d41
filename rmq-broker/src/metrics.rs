//! The broker's Prometheus metrics (`metricsExporterType=PROM`), under Apache RocketMQ 5's names
//! and labels (docs/metrics.md). Everything is collected when `/metrics` is scraped, from the
//! tables the broker keeps anyway: message counts from [`crate::stats`], lag from the offset
//! table and the store, connections from the client registry. The only figure recorded as it
//! happens are request latency, by the transport's dispatch, and message sizes, by the send
//! path; only while metrics are on.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rmq_metrics::{Exposition, HistogramMap, Kind, RpcLatency};
use rmq_remoting::body::client::ConsumeType;
use rmq_remoting::transport::Router;
use tokio::net::TcpListener;

use crate::state::BrokerContext;
use crate::stats::in_flight::Family;
use crate::topics::{is_java_system_topic, RETRY_GROUP_TOPIC_PREFIX};

/// The metrics endpoint's listener, bound at start when `metricsExporterType=PROM`, so a taken
/// port stops the broker before it announces itself. `metricsPromExporterHost` empty means
/// `advertised` (brokerIP1, or the detected address), as in Apache.
pub async fn bind(
    ctx: &BrokerContext,
    advertised: std::net::IpAddr,
) -> Result<Option<TcpListener>, rmq_metrics::MetricsError> {
    if !ctx.config.metrics_exporter_type.prometheus_enabled() {
        return Ok(None);
    }
    let host = match ctx.config.metrics_prom_exporter_host.as_str() {
        "" => advertised.to_string(),
        host => host.to_owned(),
    };
    rmq_metrics::bind(&host, ctx.config.metrics_prom_exporter_port)
        .await
        .map(Some)
}

/// Serves `GET /metrics` on `listener` until the broker stops.
pub async fn serve(ctx: Arc<BrokerContext>, listener: TcpListener) {
    let stopping = ctx.stopping.clone();
    let scraped = ctx.clone();
    rmq_metrics::serve(listener, Arc::new(move || scrape(&scraped)), async move {
        stopping.cancelled().await
    })
    .await;
}

/// Apache's bucket bounds for `rocketmq_message_size`, in bytes.
const MESSAGE_SIZE_BOUNDS: [u64; 6] = [
    1024,
    4096,
    512 * 1024,
    1024 * 1024,
    2048 * 1024,
    4096 * 1024,
];

/// A put's 5.x message type, the `message_type` label (Apache's
/// `BrokerMetricsManager.getMessageType`, read from the send request's properties).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum MessageType {
    Normal = 0,
    Fifo = 1,
    Delay = 2,
    Transaction = 3,
}

impl MessageType {
    const ALL: [MessageType; 4] = [
        MessageType::Normal,
        MessageType::Fifo,
        MessageType::Delay,
        MessageType::Transaction,
    ];

    /// Classifies a send by its properties, in Apache's order: a prepared transaction, then a
    /// sharding key (FIFO), then any delay or timer property.
    pub(crate) fn of(properties: &crate::processor::SendProperties<'_>) -> Self {
        if properties
            .tran_msg
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            MessageType::Transaction
        } else if properties.sharding_key.is_some() {
            MessageType::Fifo
        } else if properties.delivery.delay.is_some()
            || properties
                .delivery
                .timer_requests
                .iter()
                .any(Option::is_some)
        {
            MessageType::Delay
        } else {
            MessageType::Normal
        }
    }

    fn label(self) -> &'static str {
        match self {
            MessageType::Normal => "normal",
            MessageType::Fifo => "fifo",
            MessageType::Delay => "delay",
            MessageType::Transaction => "transaction",
        }
    }
}

/// The figures metrics record as they happen (kept on the context while metrics are on).
pub struct Recorders {
    rpc: Arc<RpcLatency>,
    /// Stored size of every message put, per message type and topic.
    message_sizes: [HistogramMap<String>; 4],
    /// Messages and bytes put per topic of every type but normal; a topic's normal puts are
    /// its stats total minus these.
    typed_in: std::sync::Mutex<BTreeMap<(String, MessageType), (u64, u64)>>,
}

/// The recorders when `metricsExporterType=PROM`, else None (nothing is recorded).
pub(crate) fn recorders(config: &crate::BrokerConfig) -> Option<Recorders> {
    (config.metrics_exporter_type == rmq_metrics::ExporterType::Prom).then(|| Recorders {
        rpc: Arc::new(RpcLatency::default()),
        message_sizes: MessageType::ALL.map(|_| HistogramMap::new(&MESSAGE_SIZE_BOUNDS)),
        typed_in: std::sync::Mutex::new(BTreeMap::new()),
    })
}

/// The send path's hook: `msgs` messages of type `kind` and `bytes` stored bytes in all were
/// put to `topic` (a batch counts each message at the batch's average size).
pub(crate) fn on_put(ctx: &BrokerContext, topic: &str, kind: MessageType, msgs: usize, bytes: i64) {
    let Some(recorders) = &ctx.metrics else {
        return;
    };
    let (msgs, bytes) = (msgs.max(1) as u64, bytes.max(0).unsigned_abs());
    recorders.message_sizes[kind as usize]
        .get(topic, str::to_owned)
        .observe_many(bytes / msgs, msgs);
    if kind != MessageType::Normal {
        let mut typed = recorders.typed_in.lock().unwrap_or_else(|e| e.into_inner());
        let counts = typed.entry((topic.to_owned(), kind)).or_default();
        counts.0 += msgs;
        counts.1 += bytes;
    }
}

/// `router`, reporting every request's latency when metrics are on.
pub(crate) fn observed(router: Router, ctx: &BrokerContext) -> Router {
    match &ctx.metrics {
        Some(recorders) => {
            let rpc = recorders.rpc.clone();
            router.observe(Arc::new(move |code, response, oneway, took| {
                rpc.record(code, response, oneway, took)
            }))
        }
        None => router,
    }
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn bool_label(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}

/// Apache's `isSystem(topic, group)`: a system topic (including the cluster's and the broker's
/// own), or a group starting with `CID_RMQ_SYS_` in any case.
fn is_system(ctx: &BrokerContext, topic: &str, group: &str) -> bool {
    is_java_system_topic(topic)
        || topic == ctx.config.broker_cluster_name
        || topic == ctx.config.broker_name
        || group.to_ascii_lowercase().starts_with("cid_rmq_sys_")
}

/// One scrape of every family.
pub fn scrape(ctx: &BrokerContext) -> String {
    let mut common = vec![
        ("cluster".to_owned(), ctx.config.broker_cluster_name.clone()),
        ("node_type".to_owned(), "broker".to_owned()),
        ("node_id".to_owned(), ctx.config.broker_name.clone()),
    ];
    common.extend(rmq_metrics::parse_labels(&ctx.config.metrics_label));
    let mut out = Exposition::new(&common);
    broker_gauges(ctx, &mut out);
    traffic(ctx, &mut out);
    consumer_lag(ctx, &mut out);
    connections(ctx, &mut out);
    storage(ctx, &mut out);
    clock_skew(ctx, &mut out);
    if let Some(recorders) = &ctx.metrics {
        message_sizes(ctx, recorders, &mut out);
        recorders.rpc.encode(&mut out);
    }
    out.finish()
}

fn broker_gauges(ctx: &BrokerContext, out: &mut Exposition) {
    out.gauge(
        "rocketmq_broker_permission",
        "Broker permission",
        f64::from(ctx.live.broker_permission()),
    );
    out.gauge(
        "rocketmq_topic_number",
        "Active topic number",
        ctx.topics.len() as f64,
    );
    // Apache's queue lengths of its request pools; rmq has no pools, so the requests being
    // served now, for the processors the broker tracks (the runtime info's figures too).
    out.family(
        "rocketmq_processor_watermark",
        Kind::Gauge,
        "Request processor watermark",
    );
    for (processor, family) in [
        ("send", Family::Send),
        ("pull", Family::Pull),
        ("query_message", Family::Query),
        ("transaction", Family::EndTransaction),
    ] {
        let (serving, _) = ctx.stats.in_flight.now(family);
        out.sample(
            "rocketmq_processor_watermark",
            &[("processor", processor)],
            serving as f64,
        );
    }
    out.gauge(
        "rocketmq_consumer_group_number",
        "Active subscription group number",
        ctx.groups.snapshot().subscription_group_table.len() as f64,
    );
}

/// Messages and bytes in (per topic) and out (per group and topic), from the broker's stats.
fn traffic(ctx: &BrokerContext, out: &mut Exposition) {
    let totals = ctx.stats.totals();
    let families = [
        (
            "rocketmq_messages_in_total",
            "Total number of incoming messages",
        ),
        (
            "rocketmq_throughput_in_total",
            "Total traffic of incoming messages",
        ),
    ];
    let typed = match &ctx.metrics {
        Some(recorders) => recorders
            .typed_in
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone(),
        None => BTreeMap::new(),
    };
    for (i, (name, help)) in families.into_iter().enumerate() {
        out.family(name, Kind::Counter, help);
        for put in &totals.topic_put {
            let pick = |counts: &(u64, u64)| if i == 0 { counts.0 } else { counts.1 };
            let total = if i == 0 { put.msgs } else { put.bytes };
            let mut normal = total;
            let mut samples = Vec::new();
            for kind in &MessageType::ALL[1..] {
                if let Some(counts) = typed.get(&(put.topic.clone(), *kind)) {
                    normal = normal.saturating_sub(pick(counts));
                    samples.push((kind.label(), pick(counts)));
                }
            }
            if normal > 0 || samples.is_empty() {
                samples.insert(0, ("normal", normal));
            }
            for (label, value) in samples {
                out.sample(
                    name,
                    &[
                        ("is_system", bool_label(is_system(ctx, &put.topic, ""))),
                        ("message_type", label),
                        ("topic", &put.topic),
                    ],
                    value as f64,
                );
            }
        }
    }
    let families = [
        (
            "rocketmq_messages_out_total",
            "Total number of outgoing messages",
        ),
        (
            "rocketmq_throughput_out_total",
            "Total traffic of outgoing messages",
        ),
    ];
    for (i, (name, help)) in families.into_iter().enumerate() {
        out.family(name, Kind::Counter, help);
        for get in &totals.group_get {
            let value = if i == 0 { get.msgs } else { get.bytes };
            out.sample(
                name,
                &[
                    ("consumer_group", &get.group),
                    (
                        "is_system",
                        bool_label(is_system(ctx, &get.topic, &get.group)),
                    ),
                    ("topic", &get.topic),
                ],
                value as f64,
            );
        }
    }
}

/// A group's position on one topic, summed over the topic's queues on this broker.
#[derive(Default)]
struct Position {
    /// Messages after the committed offset.
    lag: i64,
    /// Store time of the oldest of them.
    oldest_unconsumed: Option<i64>,
    /// Pulled but not committed.
    inflight: i64,
    /// Not pulled yet.
    ready: i64,
    /// Store time of the oldest message not pulled yet.
    oldest_unpulled: Option<i64>,
    /// Milliseconds the oldest unconsumed message has waited (0 without lag).
    lag_latency: i64,
    /// Milliseconds the oldest unpulled message has waited (0 when nothing is ready).
    queueing_latency: i64,
}

/// How one gauge reads a [`Position`].
type Figure = fn(&Position) -> i64;

fn earliest(known: Option<i64>, at: Option<i64>) -> Option<i64> {
    match (known, at) {
        (Some(k), Some(a)) => Some(k.min(a)),
        (k, a) => k.or(a),
    }
}

/// Per group and topic with committed offsets, as Apache's ConsumerLagCalculator: lag (after
/// the committed offset), in flight (pulled, not committed) and ready (not pulled), and how long
/// the oldest unconsumed and the oldest unpulled message have waited. A queue the group has not
/// pulled since the broker started counts as pulled up to its committed offset.
fn consumer_lag(ctx: &BrokerContext, out: &mut Exposition) {
    let now = now_millis();
    let mut rows = Vec::new();
    for (key, queues) in ctx.offsets.snapshot().offset_table {
        let Some((topic, group)) = key.split_once('@') else {
            continue;
        };
        if ctx.topics.get(topic).is_none() {
            continue;
        }
        let mut at = Position::default();
        for (queue_id, committed) in queues {
            let committed = committed.max(0);
            let max = ctx.store.max_offset_in_queue(topic, queue_id);
            let pulled = ctx
                .stats
                .pull_offsets
                .get(group, topic, queue_id)
                .unwrap_or(committed)
                .clamp(committed, max.max(committed));
            let stored_at = |offset| ctx.store.message_store_timestamp(topic, queue_id, offset);
            if max > committed {
                at.lag += max - committed;
                at.oldest_unconsumed = earliest(at.oldest_unconsumed, stored_at(committed));
            }
            at.inflight += pulled - committed;
            if max > pulled {
                at.ready += max - pulled;
                at.oldest_unpulled = earliest(at.oldest_unpulled, stored_at(pulled));
            }
        }
        let age = |stored: Option<i64>| stored.map_or(0, |t| (now - t).max(0));
        at.lag_latency = age(at.oldest_unconsumed);
        at.queueing_latency = age(at.oldest_unpulled);
        rows.push((group.to_owned(), topic.to_owned(), at));
    }
    let families: [(&str, &str, &str, Figure); 5] = [
        (
            "rocketmq_consumer_lag_messages",
            "rocketmq_consumer_lag_messages",
            "Consumer lag messages",
            |p| p.lag,
        ),
        (
            "rocketmq_consumer_lag_latency",
            "rocketmq_consumer_lag_latency_milliseconds",
            "Consumer lag time",
            |p| p.lag_latency,
        ),
        (
            "rocketmq_consumer_inflight_messages",
            "rocketmq_consumer_inflight_messages",
            "Consumer inflight messages",
            |p| p.inflight,
        ),
        (
            "rocketmq_consumer_queueing_latency",
            "rocketmq_consumer_queueing_latency_milliseconds",
            "Consumer queueing time",
            |p| p.queueing_latency,
        ),
        (
            "rocketmq_consumer_ready_messages",
            "rocketmq_consumer_ready_messages",
            "Consumer ready messages",
            |p| p.ready,
        ),
    ];
    for (family, sample, help, figure) in families {
        out.family(family, Kind::Gauge, help);
        for (group, topic, at) in &rows {
            lag_sample(ctx, out, sample, group, topic, figure(at));
        }
    }
}

fn lag_sample(
    ctx: &BrokerContext,
    out: &mut Exposition,
    name: &str,
    group: &str,
    topic: &str,
    value: i64,
) {
    out.sample(
        name,
        &[
            ("consumer_group", group),
            (
                "is_retry",
                bool_label(topic.starts_with(RETRY_GROUP_TOPIC_PREFIX)),
            ),
            ("is_system", bool_label(is_system(ctx, topic, group))),
            ("topic", topic),
        ],
        value as f64,
    );
}

/// Connected producers per (language, version) and consumers per group, as Apache counts them.
fn connections(ctx: &BrokerContext, out: &mut Exposition) {
    let mut producers: BTreeMap<(String, String), u64> = BTreeMap::new();
    for group in ctx.clients.producer_group_names() {
        for channel in ctx.clients.producers(&group) {
            let key = (channel.language.to_lowercase(), channel.version.to_string());
            *producers.entry(key).or_default() += 1;
        }
    }
    out.family(
        "rocketmq_producer_connections",
        Kind::Gauge,
        "Producer connections",
    );
    for ((language, version), n) in &producers {
        out.sample(
            "rocketmq_producer_connections",
            &[
                ("language", language),
                ("protocol_type", "remoting"),
                ("version", version),
            ],
            *n as f64,
        );
    }
    let mut consumers: BTreeMap<(String, String, String, &'static str), u64> = BTreeMap::new();
    for name in ctx.clients.consumer_group_names() {
        let Some(group) = ctx.clients.consumer_group(&name) else {
            continue;
        };
        let mode = match group.consume_type {
            ConsumeType::Actively => "pull",
            ConsumeType::Passively => "push",
            ConsumeType::Pop => "pop",
        };
        for channel in group.channels.values() {
            let key = (
                name.clone(),
                channel.language.to_lowercase(),
                channel.version.to_string(),
                mode,
            );
            *consumers.entry(key).or_default() += 1;
        }
    }
    out.family(
        "rocketmq_consumer_connections",
        Kind::Gauge,
        "Consumer connections",
    );
    for ((group, language, version, mode), n) in &consumers {
        out.sample(
            "rocketmq_consumer_connections",
            &[
                ("consume_mode", mode),
                ("consumer_group", group),
                ("is_system", bool_label(is_system(ctx, "", group))),
                ("language", language),
                ("protocol_type", "remoting"),
                ("version", version),
            ],
            *n as f64,
        );
    }
}

/// The store's size on disk, how far flushing and dispatching trail the written end, and how
/// old the oldest kept message is.
fn storage(ctx: &BrokerContext, out: &mut Exposition) {
    let stats = ctx.store.stats();
    let labels = [("storage_medium", "disk"), ("storage_type", "local")];
    let written = ctx.store.max_phy_offset();
    let size =
        stats.commit_log_disk_bytes + stats.consume_queue_disk_bytes + stats.index_disk_bytes;
    out.family("rocketmq_storage_size", Kind::Gauge, "Broker storage size");
    out.sample("rocketmq_storage_size_bytes", &labels, size as f64);
    out.family(
        "rocketmq_storage_flush_behind_bytes",
        Kind::Gauge,
        "Broker flush behind bytes",
    );
    out.sample(
        "rocketmq_storage_flush_behind_bytes",
        &labels,
        (written - ctx.store.flushed_phy_offset()).max(0) as f64,
    );
    out.family(
        "rocketmq_storage_dispatch_behind_bytes",
        Kind::Gauge,
        "Broker dispatch behind bytes",
    );
    out.sample(
        "rocketmq_storage_dispatch_behind_bytes",
        &labels,
        (written - ctx.store.dispatched_phy_offset()).max(0) as f64,
    );
    let earliest = ctx
        .store
        .look_message_by_offset(stats.commit_log_min_offset)
        .and_then(|record| rmq_remoting::message::store_timestamp_at(record.as_slice()));
    if let Some(earliest) = earliest {
        out.family(
            "rocketmq_storage_message_reserve_time",
            Kind::Gauge,
            "Broker message reserve time",
        );
        out.sample(
            "rocketmq_storage_message_reserve_time_milliseconds",
            &labels,
            (now_millis() - earliest).max(0) as f64,
        );
    }
}

fn message_sizes(ctx: &BrokerContext, recorders: &Recorders, out: &mut Exposition) {
    let mut sizes: Vec<(String, MessageType, Arc<rmq_metrics::Histogram>)> = MessageType::ALL
        .iter()
        .flat_map(|kind| {
            recorders.message_sizes[*kind as usize]
                .sorted()
                .into_iter()
                .map(|(topic, h)| (topic, *kind, h))
        })
        .collect();
    if sizes.is_empty() {
        return;
    }
    sizes.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    out.family(
        "rocketmq_message_size",
        Kind::Histogram,
        "Incoming messages size",
    );
    for (topic, kind, histogram) in sizes {
        histogram.encode(
            out,
            "rocketmq_message_size",
            &[
                ("is_system", bool_label(is_system(ctx, &topic, ""))),
                ("message_type", kind.label()),
                ("topic", &topic),
            ],
        );
    }
}

/// rmq's own: the latest clock skew of every producer host that went beyond the threshold.
fn clock_skew(ctx: &BrokerContext, out: &mut Exposition) {
    let hosts = ctx.clock_skew.hosts();
    out.family(
        "rmq_producer_clock_skew_milliseconds",
        Kind::Gauge,
        "Producer clock minus broker clock at the host's latest send, for hosts once beyond clockSkewWarnThresholdMillis (rmq)",
    );
    for (host, skew) in hosts {
        out.sample(
            "rmq_producer_clock_skew_milliseconds",
            &[("client_host", &host.to_string())],
            skew.skew_millis as f64,
        );
    }
}
