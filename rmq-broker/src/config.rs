//! Broker settings under RocketMQ's `broker.conf` key names (docs/behaviour.md §1.4).
//!
//! Store keys (`storePathRootDir`, `flushDiskType`, `deleteWhen`, …) belong to `rmq-store`'s
//! settings; as in RocketMQ, every key of the file is offered to both.

use rmq_config::ConfigValue;

/// A broker's role in its master/slave group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::upper_case_acronyms)]
pub enum BrokerRole {
    /// Master that answers sends once stored locally; slaves replicate in the background.
    AsyncMaster,
    /// Master that answers sends once a slave has the message too.
    SyncMaster,
    /// Read-only replica of a master.
    Slave,
}

impl ConfigValue for BrokerRole {
    fn parse_value(text: &str) -> Result<Self, String> {
        match text.trim() {
            "ASYNC_MASTER" => Ok(BrokerRole::AsyncMaster),
            "SYNC_MASTER" => Ok(BrokerRole::SyncMaster),
            "SLAVE" => Ok(BrokerRole::Slave),
            _ => Err(
                "ASYNC_MASTER, SYNC_MASTER or SLAVE (upper case, as RocketMQ spells them)"
                    .to_owned(),
            ),
        }
    }

    fn render(&self) -> String {
        match self {
            BrokerRole::AsyncMaster => "ASYNC_MASTER",
            BrokerRole::SyncMaster => "SYNC_MASTER",
            BrokerRole::Slave => "SLAVE",
        }
        .to_owned()
    }
}

rmq_config::settings! {
    /// Everything `broker.conf` and `mqbroker` flags set that is not a store setting.
    pub struct BrokerConfig {
        /// Cluster the broker registers under.
        broker_cluster_name: String = "DefaultCluster".to_owned() => "brokerClusterName",
        /// Name of the master/slave group; master and slaves share it.
        broker_name: String = default_broker_name() => "brokerName",
        /// 0 = master, >0 = slave.
        broker_id: i64 = 0 => "brokerId",
        /// Address registered with name servers; clients connect to brokerIP1:listenPort. Set it in containers.
        broker_ip1: String = String::new() => "brokerIP1",
        /// Address the master advertises to slaves for replication.
        broker_ip2: String = String::new() => "brokerIP2",
        /// Port clients connect to.
        listen_port: u16 = 10911 => "listenPort",
        /// Port slaves connect to for replication; 0 = listenPort + 1, as RocketMQ's start script sets it (ephemeral when listenPort is 0).
        ha_listen_port: u16 = 0 => "haListenPort",
        /// A slave's fixed master HA address (host:port); empty = the address the name servers report for the group's master.
        ha_master_address: String = String::new() => "haMasterAddress",
        /// Milliseconds between replication heartbeats when there is nothing to send.
        ha_send_heartbeat_interval: u64 = 5_000 => "haSendHeartbeatInterval",
        /// Milliseconds of silence after which a replication connection is closed and re-opened.
        ha_housekeeping_interval: u64 = 20_000 => "haHousekeepingInterval",
        /// Most commit-log bytes a master sends a slave in one frame (4 KiB to 4 MiB). 256 KiB, where RocketMQ sends 32 KiB: an empty slave then catches up at the disk's rate instead of half of it, and Apache slaves read frames up to 4 MiB.
        ha_transfer_batch_size: usize = 256 * 1024 => "haTransferBatchSize",
        /// Bytes a slave may lag and still count as in sync: further behind, SYNC_MASTER sends answer SLAVE_NOT_AVAILABLE (RocketMQ 4.9's name).
        ha_slave_fallbehind_max: i64 = 256 * 1024 * 1024 => "haSlaveFallbehindMax",
        /// The same limit under RocketMQ 5's name; when both are changed the smaller counts.
        ha_max_gap_not_in_sync: i64 = 256 * 1024 * 1024 => "haMaxGapNotInSync",
        /// Name servers, host:port separated by ';' (NAMESRV_ADDR in the environment is used when unset).
        namesrv_addr: String = std::env::var("NAMESRV_ADDR").unwrap_or_default() => "namesrvAddr",
        /// Role in the group: ASYNC_MASTER, SYNC_MASTER or SLAVE.
        broker_role: BrokerRole = BrokerRole::AsyncMaster => "brokerRole",
        /// Permission bits of the broker (2 write, 4 read); topics register with topicPerm & brokerPermission.
        broker_permission: i32 = 6 => "brokerPermission",
        /// Create TBW102 so producers can create topics on first send. Turn off in production.
        auto_create_topic_enable: bool = true => "autoCreateTopicEnable",
        /// Queue count of TBW102, hence of auto-created topics.
        default_topic_queue_nums: i32 = 8 => "defaultTopicQueueNums",
        /// Create consumer groups on first contact.
        auto_create_subscription_group: bool = true => "autoCreateSubscriptionGroup",
        /// Register a topic named after the cluster.
        cluster_topic_enable: bool = true => "clusterTopicEnable",
        /// Register a topic named after the broker.
        broker_topic_enable: bool = true => "brokerTopicEnable",
        /// Create the message trace topic (`msgTraceTopicName`, one queue) at start, so clients with `enableMsgTrace` can write traces even with `autoCreateTopicEnable` off.
        trace_topic_enable: bool = false => "traceTopicEnable",
        /// The trace topic `traceTopicEnable` creates.
        msg_trace_topic_name: String = "RMQ_SYS_TRACE_TOPIC".to_owned() => "msgTraceTopicName",
        /// Also store the replies of request-reply (SEND_REPLY_MESSAGE) in `<cluster>_REPLY_TOPIC`, besides pushing them to the requester (docs/request-reply.md).
        store_reply_message_enable: bool = true => "storeReplyMessageEnable",
        /// Milliseconds between registrations with every name server (clamped to 10 000–60 000).
        register_name_server_period: u64 = 30_000 => "registerNameServerPeriod",
        /// Milliseconds between writes of consumerOffset.json.
        flush_consumer_offset_interval: u64 = 5_000 => "flushConsumerOffsetInterval",
        /// Hold pulls that find nothing until a message arrives or the consumer's suspend timeout ends.
        long_polling_enable: bool = true => "longPollingEnable",
        /// Milliseconds a pull is held when long polling is off.
        short_polling_time_mills: u64 = 1_000 => "shortPollingTimeMills",
        /// Tell a group's consumers when its membership changes.
        notify_consumer_ids_changed_enable: bool = true => "notifyConsumerIdsChangedEnable",
        /// Furthest ahead, in seconds, a message may ask to be delivered (TIMER_DELIVER_MS and friends); default 3 days.
        timer_max_delay_sec: u64 = 259_200 => "timerMaxDelaySec",
        /// rmq: also serve RocketMQ 5's gRPC protocol in this process (rmq-proxy on grpcServerPort, reaching this broker over loopback remoting; docs/grpc-proxy.md).
        enable_proxy: bool = false => "enableProxy",
        /// Largest frame accepted from a client, in bytes, length prefix included.
        frame_max_length: usize = 16 * 1024 * 1024 => "frameMaxLength",
        /// rmq: connections held at once; more are closed when accepted (lowered at start to fit the open-file limit).
        max_connections: usize = 65_536 => "maxConnections",
        /// rmq: requests from one connection handled at once; further ones wait unread (TCP backpressure).
        max_in_flight_per_connection: usize = 4_096 => "maxInFlightPerConnection",
        /// rmq: milliseconds writing responses to a client may stall before the connection is closed as not reading.
        write_stall_timeout_millis: u64 = 30_000 => "writeStallTimeoutMillis",
        /// Refuse transactional (half) messages with NO_PERMISSION.
        reject_transaction_message: bool = false => "rejectTransactionMessage",
        /// Milliseconds a half message waits for its producer's verdict before it is checked back.
        transaction_time_out: u64 = 6_000 => "transactionTimeOut",
        /// Check-backs per half message before it is logged and discarded.
        transaction_check_max: i32 = 15 => "transactionCheckMax",
        /// Milliseconds between two rounds of transaction check-backs.
        transaction_check_interval: u64 = 60_000 => "transactionCheckInterval",
        /// Accept SQL92 subscriptions (filtering by message properties).
        enable_property_filter: bool = false => "enablePropertyFilter",
        /// Let consumers read from a slave: pull answers then suggest the group's `brokerId`, or its `whichBrokerWhenConsumeSlowly` for a consumer that lags.
        slave_read_enable: bool = false => "slaveReadEnable",
        /// A consumer whose next message is further behind the commit log's end than this percentage of the machine's memory lags (it reads from disk).
        access_message_in_memory_max_ratio: i32 = 40 => "accessMessageInMemoryMaxRatio",
        /// On a slave, correct a consumer's out-of-range offset as a master does (off: the slave may only be behind, so the consumer retries where it was).
        offset_check_in_slave: bool = false => "offsetCheckInSlave",
        /// RocketMQ 5's controller mode: the group's controller picks the master and this broker's id (`brokerId=-1` asks it for one); `brokerRole` is then ignored (docs/replication.md, "Failover").
        enable_controller_mode: bool = false => "enableControllerMode",
        /// Controllers, host:port separated by ';' (the peer addresses of `controllerDLegerPeers`).
        controller_addr: String = String::new() => "controllerAddr",
        /// Controller mode: a send is acknowledged only once every replica of the in-sync set has it, so no acknowledged message is lost when the controller elects any of them.
        all_ack_in_sync_state_set: bool = false => "allAckInSyncStateSet",
        /// Controller mode: milliseconds between heartbeats to every controller.
        broker_heartbeat_interval: u64 = 1_000 => "brokerHeartbeatInterval",
        /// Controller mode: milliseconds of silence after which the controller counts this broker dead (sent with every heartbeat).
        controller_heart_beat_timeout_mills: u64 = 10_000 => "controllerHeartBeatTimeoutMills",
        /// Controller mode: milliseconds between checks of the group's master with the controller (role changes are also pushed).
        sync_broker_metadata_period: u64 = 5_000 => "syncBrokerMetadataPeriod",
        /// Controller mode: milliseconds between a master's checks of its in-sync set.
        check_sync_state_set_period: u64 = 5_000 => "checkSyncStateSetPeriod",
        /// Controller mode: milliseconds a slave may stay behind before the master drops it from the in-sync set.
        ha_max_time_slave_not_catchup: u64 = 15_000 => "haMaxTimeSlaveNotCatchup",
        /// Controller mode: lower is preferred when the controller elects a master among equally up-to-date replicas.
        broker_election_priority: i32 = i32::MAX => "brokerElectionPriority",
        /// PROM serves Prometheus metrics at GET /metrics (docs/metrics.md); DISABLE (default) serves none. OTLP_GRPC and LOG are not supported (metrics stay off).
        metrics_exporter_type: rmq_metrics::ExporterType = rmq_metrics::ExporterType::Disable => "metricsExporterType",
        /// Address the metrics endpoint listens on; empty = brokerIP1 (or the detected address), as in RocketMQ 5. 0.0.0.0 = every interface.
        metrics_prom_exporter_host: String = String::new() => "metricsPromExporterHost",
        /// Port of the metrics endpoint.
        metrics_prom_exporter_port: u16 = 5557 => "metricsPromExporterPort",
        /// Extra labels on every metric, `key:value` pairs separated by ','.
        metrics_label: String = String::new() => "metricsLabel",
        /// Refuse requests that plain_acl.yml does not allow (ACL 1.0, docs/acl.md).
        acl_enable: bool = false => "aclEnable",
        /// Installation directory; rmq reads only the ACL files from it (`conf/plain_acl.yml`, `conf/acl/`). Defaults to ROCKETMQ_HOME.
        rocketmq_home: String = std::env::var("ROCKETMQ_HOME").unwrap_or_default() => "rocketmqHome",
        /// rmq: warn (once per producer host) when a producer's born timestamps differ from this broker's clock by more than this many milliseconds; 0 = no check.
        clock_skew_warn_threshold_millis: u64 = 5_000 => "clockSkewWarnThresholdMillis",
        /// How often (ms) popped messages past their invisible time are revived into the pop retry topic (docs/pop.md).
        revive_interval: u64 = 1_000 => "reviveInterval",
        /// Stop popping a queue for a group while more than `popInflightMessageThreshold` of its popped messages are unacked (docs/pop.md).
        enable_pop_message_threshold: bool = false => "enablePopMessageThreshold",
        /// The in-flight limit per queue and group when `enablePopMessageThreshold` is on.
        pop_inflight_message_threshold: u64 = 10_000 => "popInflightMessageThreshold",
        /// Pops and notifications parked per topic, group and queue id before another is answered POLLING_FULL.
        pop_polling_size: u64 = 1_024 => "popPollingSize",
        /// Pops and notifications parked on the broker before another is answered POLLING_FULL.
        max_pop_polling_size: u64 = 100_000 => "maxPopPollingSize",
    }
    ignored {
        "sendMessageThreadPoolNums" => "requests run on the async runtime, not a thread pool",
        "pullMessageThreadPoolNums" => "requests run on the async runtime, not a thread pool",
        "queryMessageThreadPoolNums" => "requests run on the async runtime, not a thread pool",
        "adminBrokerThreadPoolNums" => "requests run on the async runtime, not a thread pool",
        "clientManageThreadPoolNums" => "requests run on the async runtime, not a thread pool",
        "consumerManageThreadPoolNums" => "requests run on the async runtime, not a thread pool",
        "heartbeatThreadPoolNums" => "requests run on the async runtime, not a thread pool",
        "endTransactionThreadPoolNums" => "requests run on the async runtime, not a thread pool",
        "serverWorkerThreads" => "requests run on the async runtime, not a thread pool",
        "serverCallbackExecutorThreads" => "requests run on the async runtime, not a thread pool",
        "serverSelectorThreads" => "requests run on the async runtime, not a thread pool",
        "useEpollNativeSelector" => "the async runtime always uses epoll on Linux",
        "serverPooledByteBufAllocatorEnable" => "there is no Netty allocator",
        "useReentrantLockWhenPutMessage" => "appends are ordered by a single writer, not a lock",
        "brokerFastFailureEnable" => "in-flight work is bounded per connection instead",
        "waitTimeMillsInSendQueue" => "in-flight work is bounded per connection instead",
        "osPageCacheBusyTimeOutMills" => "in-flight work is bounded per connection instead",
        "syncControllerMetadataPeriod" => "the controller leader is looked up again whenever a request fails",
        "fetchControllerAddrByDnsLookup" => "controllerAddr lists the controllers' addresses",
    }
}

fn default_broker_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "DEFAULT_BROKER".to_owned())
}

impl BrokerConfig {
    /// Refuses the role and id combinations a group cannot run with: the master of a group is
    /// `brokerId=0` and its slaves have ids above 0, so a slave with id 0 would claim the
    /// master's place in the route and a master with another id would never be found by
    /// producers. The error names both keys and the change to make.
    pub fn validate(&self) -> Result<(), String> {
        if self.enable_controller_mode {
            if self.controller_addrs().is_empty() {
                return Err(
                    "enableControllerMode=true needs controllerAddr: set it to the controllers' \
                     host:port list separated by ';' (their controllerDLegerPeers addresses)"
                        .to_owned(),
                );
            }
            return Ok(());
        }
        let (role, id, group) = (self.broker_role.render(), self.broker_id, &self.broker_name);
        match self.broker_role {
            BrokerRole::Slave if id <= 0 => Err(format!(
                "brokerRole={role} with brokerId={id}: a slave needs brokerId > 0 (0 is the master's id). \
                 Set brokerId=1 (or another id no other slave of group {group} uses), \
                 or set brokerRole=ASYNC_MASTER or SYNC_MASTER to run this broker as the group's master"
            )),
            BrokerRole::AsyncMaster | BrokerRole::SyncMaster if id != 0 => Err(format!(
                "brokerRole={role} with brokerId={id}: a master has brokerId=0 (ids above 0 are slaves). \
                 Set brokerId=0, or set brokerRole=SLAVE to run this broker as a slave of group {group}"
            )),
            _ => Ok(()),
        }
    }

    /// The name servers to register with, from `namesrvAddr`.
    pub fn name_servers(&self) -> Vec<String> {
        split_addrs(&self.namesrv_addr)
    }

    /// The controllers of controller mode, from `controllerAddr`.
    pub fn controller_addrs(&self) -> Vec<String> {
        split_addrs(&self.controller_addr)
    }
}

fn split_addrs(list: &str) -> Vec<String> {
    list.split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use rmq_config::{apply_all, properties, Settings};

    use super::*;

    /// The broker.conf from RocketMQ's quick-start, with a trailing comment as users write it.
    const QUICK_START: &str = "brokerClusterName = DefaultCluster\nbrokerName = broker-a\nbrokerId = 0\n\
        deleteWhen = 04\nfileReservedTime = 48\nbrokerRole = ASYNC_MASTER\nflushDiskType = ASYNC_FLUSH\n\
        brokerIP1 = 10.0.0.5   # public address\nnamesrvAddr = 127.0.0.1:9876;127.0.0.2:9876\n";

    #[test]
    fn quick_start_file_loads_with_a_warning_for_the_inline_comment() {
        let mut config = BrokerConfig::default();
        let applied = apply_all(
            &mut config,
            &properties::parse(QUICK_START),
            "broker.conf",
            false,
        )
        .unwrap();
        assert_eq!(config.broker_name, "broker-a");
        assert_eq!(config.broker_ip1, "10.0.0.5");
        assert_eq!(config.broker_role, BrokerRole::AsyncMaster);
        assert_eq!(
            config.name_servers(),
            vec!["127.0.0.1:9876", "127.0.0.2:9876"]
        );
        assert!(
            applied
                .warnings
                .iter()
                .any(|w| w.contains("broker.conf:8: `brokerIP1`")),
            "{:?}",
            applied.warnings
        );
    }

    #[test]
    fn role_and_id_must_agree() {
        let with = |role, id| BrokerConfig {
            broker_role: role,
            broker_id: id,
            broker_name: "broker-a".into(),
            ..BrokerConfig::default()
        };
        assert!(with(BrokerRole::AsyncMaster, 0).validate().is_ok());
        assert!(with(BrokerRole::Slave, 1).validate().is_ok());
        let slave = with(BrokerRole::Slave, 0).validate().unwrap_err();
        assert!(
            slave.contains("brokerRole=SLAVE with brokerId=0"),
            "{slave}"
        );
        assert!(slave.contains("Set brokerId=1"), "{slave}");
        let master = with(BrokerRole::SyncMaster, 2).validate().unwrap_err();
        assert!(
            master.contains("brokerRole=SYNC_MASTER with brokerId=2"),
            "{master}"
        );
        assert!(
            master.contains("Set brokerId=0, or set brokerRole=SLAVE"),
            "{master}"
        );
    }

    #[test]
    fn bad_role_names_the_accepted_values() {
        let mut config = BrokerConfig::default();
        let err = apply_all(
            &mut config,
            &properties::parse("brokerRole=sync_master\n"),
            "broker.conf",
            false,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("ASYNC_MASTER, SYNC_MASTER or SLAVE"),
            "{err}"
        );
        assert!(BrokerConfig::help().contains("autoCreateTopicEnable"));
    }
}
