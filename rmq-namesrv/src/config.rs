//! Name-server settings under RocketMQ's key names (docs/behaviour.md §1.5).

use std::path::PathBuf;
use std::sync::OnceLock;

use rmq_config::{KeyInfo, Settings};
use rmq_controller::ControllerConfig;

rmq_config::settings! {
    /// Everything `namesrv.conf` and command-line flags can set.
    pub struct NamesrvConfig {
        /// Port to listen on; 0 picks a free port, printed at start.
        listen_port: u16 = 9876 => "listenPort",
        /// Address to bind; 0.0.0.0 listens on every interface.
        bind_address: String = "0.0.0.0".to_owned() => "bindAddress",
        /// File holding the KV configuration (e.g. order-topic settings); written atomically.
        kv_config_path: PathBuf = default_kv_config_path() => "kvConfigPath",
        /// Attach `orderTopicConf` from the ORDER_TOPIC_CONFIG KV namespace to routes.
        order_message_enable: bool = false => "orderMessageEnable",
        /// Milliseconds between scans for brokers that stopped registering.
        scan_not_active_broker_interval: u64 = 10_000 => "scanNotActiveBrokerInterval",
        /// Milliseconds of silence after which a broker is dropped, unless its registration sets heartbeatTimeoutMillis.
        broker_channel_expired_time: u64 = 120_000 => "brokerChannelExpiredTime",
        /// Answer GET_ALL_TOPIC_LIST_FROM_NAMESERVER (admin tools and the console use it).
        enable_all_topic_list: bool = true => "enableAllTopicList",
        /// Largest frame accepted from a peer, in bytes, length prefix included.
        frame_max_length: usize = 16 * 1024 * 1024 => "frameMaxLength",
        /// rmq: connections held at once; more are closed when accepted (lowered at start to fit the open-file limit).
        max_connections: usize = 65_536 => "maxConnections",
        /// rmq: requests from one connection handled at once; further ones wait unread (TCP backpressure).
        max_in_flight_per_connection: usize = 256 => "maxInFlightPerConnection",
        /// rmq: milliseconds writing responses to a peer may stall before the connection is closed as not reading.
        write_stall_timeout_millis: u64 = 30_000 => "writeStallTimeoutMillis",
        /// Also run a controller (RocketMQ 5 controller mode) in this process, on its peer port in controllerDLegerPeers.
        enable_controller_in_namesrv: bool = false => "enableControllerInNamesrv",
        /// rmq: PROM serves Prometheus metrics at GET /metrics (docs/metrics.md); DISABLE (default) serves none.
        metrics_exporter_type: rmq_metrics::ExporterType = rmq_metrics::ExporterType::Disable => "metricsExporterType",
        /// rmq: address the metrics endpoint listens on; empty = bindAddress.
        metrics_prom_exporter_host: String = String::new() => "metricsPromExporterHost",
        /// rmq: port of the metrics endpoint (5558: a broker on the same host has 5557).
        metrics_prom_exporter_port: u16 = 5558 => "metricsPromExporterPort",
        /// rmq: extra labels on every metric, `key:value` pairs separated by ','.
        metrics_label: String = String::new() => "metricsLabel",
    }
    ignored {
        "rocketmqHome" => "rmq needs no installation directory",
        "configStorePath" => "rmq does not rewrite its configuration file at run time",
        "productEnvName" => "environment names are not used",
        "clusterTest" => "test clusters are not supported",
        "clientRequestThreadPoolNums" => "requests run on the async runtime, not a thread pool",
        "clientRequestThreadPoolQueueCapacity" => "requests run on the async runtime, not a thread pool",
        "defaultThreadPoolNums" => "requests run on the async runtime, not a thread pool",
        "defaultThreadPoolQueueCapacity" => "requests run on the async runtime, not a thread pool",
        "serverWorkerThreads" => "requests run on the async runtime, not a thread pool",
        "serverCallbackExecutorThreads" => "requests run on the async runtime, not a thread pool",
        "serverSelectorThreads" => "requests run on the async runtime, not a thread pool",
        "serverOnewaySemaphoreValue" => "in-flight work is bounded per connection instead",
        "serverAsyncSemaphoreValue" => "in-flight work is bounded per connection instead",
        "serverChannelMaxIdleTimeSeconds" => "idle connections are kept; brokers expire by brokerChannelExpiredTime",
        "serverSocketSndBufSize" => "the kernel's socket buffer defaults are used",
        "serverSocketRcvBufSize" => "the kernel's socket buffer defaults are used",
        "serverPooledByteBufAllocatorEnable" => "there is no Netty allocator",
        "useEpollNativeSelector" => "the async runtime always uses epoll on Linux",
        "enableTopicList" => "topic lists by cluster are always served",
        "deleteTopicWithBrokerRegistration" => "topics absent from a registration are kept, as in RocketMQ 4.9",
        "supportActingMaster" => "acting-master mode (5.x) is not supported",
        "notifyMinBrokerIdChanged" => "acting-master mode (5.x) is not supported",
        "needWaitForService" => "the name server serves as soon as it listens",
        "waitSecondsForService" => "the name server serves as soon as it listens",
        "unRegisterBrokerQueueCapacity" => "unregistrations are applied at once",
        "returnOrderTopicConfigToBroker" => "registration answers always carry the ORDER_TOPIC_CONFIG namespace (Apache's default)",
        "serverNettyWorkerGroupEnable" => "requests run on the async runtime, not a thread pool",
        "disableNettyWorkerGroup" => "requests run on the async runtime, not a thread pool",
        "serverSocketBacklog" => "the listen backlog is the runtime's default",
        "writeBufferHighWaterMark" => "a peer that stops reading is closed after writeStallTimeoutMillis instead",
        "writeBufferLowWaterMark" => "a peer that stops reading is closed after writeStallTimeoutMillis instead",
        "enableShutdownGracefully" => "the name server holds nothing to drain: it stops at once on SIGTERM",
        "shutdownWaitTimeSeconds" => "the name server holds nothing to drain: it stops at once on SIGTERM",
        "useTLS" => "TLS is set with the tls.* keys (docs/tls.md)",
        "clientWorkerThreads" => "the name server opens no connections of its own, so Netty client settings have no use",
        "clientCallbackExecutorThreads" => "the name server opens no connections of its own, so Netty client settings have no use",
        "clientOnewaySemaphoreValue" => "the name server opens no connections of its own, so Netty client settings have no use",
        "clientAsyncSemaphoreValue" => "the name server opens no connections of its own, so Netty client settings have no use",
        "connectTimeoutMillis" => "the name server opens no connections of its own, so Netty client settings have no use",
        "channelNotActiveInterval" => "the name server opens no connections of its own, so Netty client settings have no use",
        "clientChannelMaxIdleTimeSeconds" => "the name server opens no connections of its own, so Netty client settings have no use",
        "clientSocketSndBufSize" => "the name server opens no connections of its own, so Netty client settings have no use",
        "clientSocketRcvBufSize" => "the name server opens no connections of its own, so Netty client settings have no use",
        "clientPooledByteBufAllocatorEnable" => "the name server opens no connections of its own, so Netty client settings have no use",
        "clientCloseSocketIfTimeout" => "the name server opens no connections of its own, so Netty client settings have no use",
        "isScanAvailableNameSrv" => "the name server opens no connections of its own, so Netty client settings have no use",
        "maxReconnectIntervalTimeSeconds" => "the name server opens no connections of its own, so Netty client settings have no use",
        "enableReconnectForGoAway" => "the name server opens no connections of its own, so Netty client settings have no use",
        "disableCallbackExecutor" => "the name server opens no connections of its own, so Netty client settings have no use",
        "socksProxyConfig" => "the name server opens no connections of its own, so Netty client settings have no use",
    }
}

fn default_kv_config_path() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join("namesrv").join("kvConfig.json")
}

/// Everything `mqnamesrv -c` reads: name-server keys and, as Apache 5's
/// `namesrv-n0.conf` has them, the keys of the embedded controller
/// (`enableControllerInNamesrv=true`). Each key goes to the settings that have it.
#[derive(Debug, Default)]
pub struct NamesrvFile {
    /// The name server's and the controller's settings.
    pub both: (NamesrvConfig, ControllerConfig),
}

impl Settings for NamesrvFile {
    fn keys() -> Vec<KeyInfo> {
        <(NamesrvConfig, ControllerConfig)>::keys()
    }

    fn ignored_keys() -> &'static [(&'static str, &'static str)] {
        // Java keys either side accepts without effect; a key both list keeps the first reason.
        static ALL: OnceLock<Vec<(&'static str, &'static str)>> = OnceLock::new();
        ALL.get_or_init(|| {
            let mut all = NamesrvConfig::ignored_keys().to_vec();
            for entry in ControllerConfig::ignored_keys() {
                if !all.iter().any(|(k, _)| *k == entry.0) {
                    all.push(*entry);
                }
            }
            all
        })
    }

    fn set(&mut self, key: &str, value: &str) -> Option<Result<(), String>> {
        self.both.set(key, value)
    }

    fn values(&self) -> Vec<(&'static str, String)> {
        self.both.values()
    }
}
