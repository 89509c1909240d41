//! Name-server settings under RocketMQ's key names (behaviour.md §1.5).

use std::path::PathBuf;

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
        "enableControllerInNamesrv" => "the 5.x controller is not embedded",
        "notifyMinBrokerIdChanged" => "acting-master mode (5.x) is not supported",
        "needWaitForService" => "the name server serves as soon as it listens",
        "waitSecondsForService" => "the name server serves as soon as it listens",
        "unRegisterBrokerQueueCapacity" => "unregistrations are applied at once",
    }
}

fn default_kv_config_path() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join("namesrv").join("kvConfig.json")
}
