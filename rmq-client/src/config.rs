//! Settings under the Java client's names and with its defaults (docs/behaviour.md §4.1, §4.2, §5.1),
//! so that a migrating user finds every knob where they expect it.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rmq_remoting::acl::Credentials;
use rmq_remoting::body::client::{ConsumeFromWhere, MessageModel};
use rmq_remoting::transport::tls::{self, env_name};

use crate::error::{ClientError, Result};

/// The instance name Java uses when none is set; replaced by a per-object name for clustering
/// clients so that every client object gets its own client id (Java 4.9+).
pub const DEFAULT_INSTANCE_NAME: &str = "DEFAULT";

/// Settings shared by producers and consumers (Java `ClientConfig`); they belong to the client
/// instance, so objects that share an instance must agree on them.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `namesrvAddr`: name servers, `host:port` separated by `;`. Defaults to the
    /// `NAMESRV_ADDR` environment variable.
    pub namesrv_addr: String,
    /// `clientIP`: the address in the client id; detected from the default route when empty.
    pub client_ip: String,
    /// `instanceName`: second part of the client id; `DEFAULT` (or `rocketmq.client.name` from
    /// the environment) is replaced by `<pid>#<nanos>` for clustering clients, as Java does.
    pub instance_name: String,
    /// `pollNameServerInterval`: how often routes of used topics are refreshed (30 s).
    pub poll_name_server_interval: Duration,
    /// `heartbeatBrokerInterval`: how often every broker gets a heartbeat (30 s); brokers drop
    /// clients silent for 120 s.
    pub heartbeat_broker_interval: Duration,
    /// `persistConsumerOffsetInterval`: how often consumers send their offsets (5 s).
    pub persist_consumer_offset_interval: Duration,
    /// `mqClientApiTimeout`: timeout of route, heartbeat, offset and membership calls (3 s).
    pub mq_client_api_timeout: Duration,
    /// `rocketmq.client.rebalance.waitInterval`: period of the background rebalance (20 s);
    /// membership changes trigger one at once.
    pub rebalance_interval: Duration,
    /// TCP connect timeout (`com.rocketmq.remoting.client.connect.timeout`, 3 s).
    pub connect_timeout: Duration,
    /// ACL keys (Java's `AclClientRPCHook` with `SessionCredentials`): when set, every request
    /// of the instance is signed, so a broker with `aclEnable=true` accepts it (docs/acl.md).
    /// Clients with other keys (or none) never share this instance's connections.
    pub credentials: Option<Credentials>,
    /// `useTLS` (Java's default comes from `-Dtls.enable`, here from `TLS_ENABLE=true` or the
    /// process's installed TLS settings, e.g. rmq-local's `--tls.enable true`): connect to name
    /// servers and brokers with TLS; the other `TLS_*` variables and the file at
    /// `tls.config.file` say which certificates to trust (docs/tls.md).
    pub use_tls: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            namesrv_addr: std::env::var("NAMESRV_ADDR").unwrap_or_default(),
            client_ip: String::new(),
            instance_name: std::env::var("rocketmq.client.name")
                .unwrap_or_else(|_| DEFAULT_INSTANCE_NAME.to_owned()),
            poll_name_server_interval: Duration::from_millis(30_000),
            heartbeat_broker_interval: Duration::from_millis(30_000),
            persist_consumer_offset_interval: Duration::from_millis(5_000),
            mq_client_api_timeout: Duration::from_millis(3_000),
            rebalance_interval: Duration::from_millis(20_000),
            connect_timeout: Duration::from_millis(3_000),
            credentials: None,
            use_tls: std::env::var(env_name("tls.enable")).is_ok_and(|v| v == "true")
                || tls::process_client().is_some(),
        }
    }
}

impl ClientConfig {
    /// These settings replaced by `config`, keeping the name servers and the credentials
    /// already set when `config` has none (what the builders' `client_config` do).
    pub(crate) fn replaced_by(self, mut config: ClientConfig) -> ClientConfig {
        if config.namesrv_addr.is_empty() {
            config.namesrv_addr = self.namesrv_addr;
        }
        if config.credentials.is_none() {
            config.credentials = self.credentials;
        }
        config
    }

    /// The name servers as a list, empty entries dropped.
    pub(crate) fn name_servers(&self) -> Vec<String> {
        self.namesrv_addr
            .split(';')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The configured client IP, or the detected one.
    pub(crate) fn resolved_client_ip(&self) -> String {
        if self.client_ip.is_empty() {
            local_ip().to_string()
        } else {
            self.client_ip.clone()
        }
    }

    /// The client id `clientIP@instanceName`. Clustering clients with the default instance name
    /// get a unique one, broadcasting clients keep `DEFAULT` so their offset file survives
    /// restarts (as Java's `changeInstanceNameToPID`).
    pub(crate) fn client_id(&self, unique_instance: bool) -> String {
        let instance = if unique_instance && self.instance_name == DEFAULT_INSTANCE_NAME {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            format!("{}#{nanos}", std::process::id())
        } else {
            self.instance_name.clone()
        };
        format!("{}@{instance}", self.resolved_client_ip())
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.name_servers().is_empty() {
            return Err(ClientError::Config(
                "No name server address, please set it (namesrvAddr or NAMESRV_ADDR).".into(),
            ));
        }
        for (name, value) in [
            ("pollNameServerInterval", self.poll_name_server_interval),
            ("heartbeatBrokerInterval", self.heartbeat_broker_interval),
            (
                "persistConsumerOffsetInterval",
                self.persist_consumer_offset_interval,
            ),
            ("mqClientApiTimeout", self.mq_client_api_timeout),
            ("rebalanceInterval", self.rebalance_interval),
        ] {
            if value.is_zero() {
                return Err(ClientError::Config(format!("{name} must be positive")));
            }
        }
        if let Some(keys) = &self.credentials {
            // Java's SessionCredentials would sign with an empty key; a blank key is a mistake.
            if keys.access_key.trim().is_empty() || keys.secret_key.trim().is_empty() {
                return Err(ClientError::Config(
                    "credentials need both an access key and a secret key".into(),
                ));
            }
        }
        Ok(())
    }
}

/// The address of the interface that routes to the outside, without sending anything; the
/// loopback address when there is no route (an isolated test machine).
fn local_ip() -> IpAddr {
    UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| {
            s.connect((Ipv4Addr::new(192, 0, 2, 1), 9))?;
            s.local_addr()
        })
        .map(|a| a.ip())
        .ok()
        .filter(|ip| !ip.is_unspecified())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// Producer settings (Java `DefaultMQProducer`).
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// `producerGroup`: required; transaction checks and the console find producers by it.
    pub producer_group: String,
    /// `sendMsgTimeout`: total time budget of one send, all retries included (3 s).
    pub send_msg_timeout: Duration,
    /// `retryTimesWhenSendFailed`: extra attempts of a sync send (2).
    pub retry_times_when_send_failed: usize,
    /// `retryTimesWhenSendAsyncFailed`: extra attempts of an async send (2).
    pub retry_times_when_send_async_failed: usize,
    /// `retryAnotherBrokerWhenNotStoreOK`: also retry when the broker stored the message but
    /// flushing or replication timed out (false).
    pub retry_another_broker_when_not_store_ok: bool,
    /// `compressMsgBodyOverHowmuch`: bodies of at least this many bytes are zlib-compressed (4 KiB).
    pub compress_msg_body_over_howmuch: usize,
    /// zlib level used for compression (Java's `rocketmq.message.compressLevel`, 5).
    pub compress_level: u32,
    /// `maxMessageSize`: largest body (or encoded batch) accepted before sending (4 MiB).
    pub max_message_size: usize,
    /// `defaultTopicQueueNums`: queues per broker for topics created on first send (4).
    pub default_topic_queue_nums: i32,
    /// `createTopicKey`: the template topic for auto-creation (`TBW102`).
    pub create_topic_key: String,
    /// `sendLatencyFaultEnable`: avoid brokers that recently failed or answered slowly (false).
    pub send_latency_fault_enable: bool,
    /// `clientAsyncSemaphoreValue`: asynchronous sends in flight at once (65535).
    pub client_async_semaphore_value: usize,
    /// `enableMsgTrace`: record each send (and each transaction's end) on the trace topic, so
    /// consoles can show the message's path (false).
    pub enable_msg_trace: bool,
    /// `customizedTraceTopic`: the trace topic; empty means `RMQ_SYS_TRACE_TOPIC`.
    pub customized_trace_topic: String,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            producer_group: "DEFAULT_PRODUCER".to_owned(),
            send_msg_timeout: Duration::from_millis(3_000),
            retry_times_when_send_failed: 2,
            retry_times_when_send_async_failed: 2,
            retry_another_broker_when_not_store_ok: false,
            compress_msg_body_over_howmuch: 4 * 1024,
            compress_level: 5,
            max_message_size: 4 * 1024 * 1024,
            default_topic_queue_nums: 4,
            create_topic_key: "TBW102".to_owned(),
            send_latency_fault_enable: false,
            client_async_semaphore_value: 65_535,
            enable_msg_trace: false,
            customized_trace_topic: String::new(),
        }
    }
}

impl ProducerConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        check_group(&self.producer_group)?;
        if self.producer_group == "DEFAULT_PRODUCER" {
            return Err(ClientError::Config(
                "producerGroup can not equal DEFAULT_PRODUCER, please specify another one.".into(),
            ));
        }
        if self.send_msg_timeout.is_zero() || self.client_async_semaphore_value == 0 {
            return Err(ClientError::Config(
                "sendMsgTimeout and clientAsyncSemaphoreValue must be positive".into(),
            ));
        }
        if self.compress_level > 9 {
            return Err(ClientError::Config("compressLevel must be 0..=9".into()));
        }
        Ok(())
    }
}

/// Push-consumer settings (Java `DefaultMQPushConsumer`).
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// `consumerGroup`: required.
    pub consumer_group: String,
    /// `messageModel`: clustering (the group shares queues) or broadcasting (CLUSTERING).
    pub message_model: MessageModel,
    /// `consumeFromWhere`: where a group without a stored offset starts (LAST_OFFSET).
    pub consume_from_where: ConsumeFromWhere,
    /// `consumeTimestamp`, as milliseconds since the epoch (Java takes `yyyyMMddHHmmss` local
    /// time); used by CONSUME_FROM_TIMESTAMP. Defaults to 30 minutes before the config is made.
    pub consume_timestamp: i64,
    /// `consumeThreadMin` (20); must not exceed `consumeThreadMax`.
    pub consume_thread_min: usize,
    /// `consumeThreadMax` (20): listener calls running at once.
    pub consume_thread_max: usize,
    /// `consumeMessageBatchMaxSize`: messages per listener call (1).
    pub consume_message_batch_max_size: usize,
    /// `pullBatchSize`: messages asked for per pull (32).
    pub pull_batch_size: i32,
    /// `pullInterval`: pause between pulls of one queue (0).
    pub pull_interval: Duration,
    /// `pullThresholdForQueue`: cached messages per queue before pulling pauses (1000).
    pub pull_threshold_for_queue: usize,
    /// `pullThresholdSizeForQueue`, MiB of cached bodies per queue before pulling pauses (100).
    pub pull_threshold_size_for_queue: usize,
    /// `consumeConcurrentlyMaxSpan`: largest distance between the oldest and newest cached
    /// offset of a queue before pulling pauses (2000).
    pub consume_concurrently_max_span: i64,
    /// `maxReconsumeTimes`: retries before a message is dead-lettered; -1 means 16.
    pub max_reconsume_times: i32,
    /// `brokerSuspendMaxTimeMillis`: how long the broker may hold an empty pull (15 s).
    pub broker_suspend_max_time: Duration,
    /// `consumerTimeoutMillisWhenSuspend`: RPC timeout of a held pull (30 s).
    pub consumer_timeout_when_suspend: Duration,
    /// `pullTimeDelayMillsWhenException`: pause after a failed pull (1 s).
    pub pull_time_delay_when_exception: Duration,
    /// `suspendCurrentQueueTimeMillis`: how long an orderly queue pauses after its listener
    /// asked to retry a batch (1 s).
    pub suspend_current_queue_time: Duration,
    /// Delay before a message whose retry could not be handed to the broker is consumed again
    /// locally (Java's 5 s `submitConsumeRequestLater`).
    pub local_retry_delay: Duration,
    /// `awaitTerminationMillisWhenShutdown`: how long shutdown waits for running listener calls.
    /// Java waits 0 ms; rmq waits up to 10 s so that shutdown can commit what was consumed.
    pub await_termination_when_shutdown: Duration,
    /// `rocketmq.client.localOffsetStoreDir`: root of broadcasting offset files
    /// (`~/.rocketmq_offsets`).
    pub local_offset_store_dir: PathBuf,
    /// `enableMsgTrace`: record each delivery and listener outcome on the trace topic (false).
    pub enable_msg_trace: bool,
    /// `customizedTraceTopic`: the trace topic; empty means `RMQ_SYS_TRACE_TOPIC`.
    pub customized_trace_topic: String,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        ConsumerConfig {
            consumer_group: String::new(),
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::LastOffset,
            consume_timestamp: now_ms - 30 * 60 * 1000,
            consume_thread_min: 20,
            consume_thread_max: 20,
            consume_message_batch_max_size: 1,
            pull_batch_size: 32,
            pull_interval: Duration::ZERO,
            pull_threshold_for_queue: 1000,
            pull_threshold_size_for_queue: 100,
            consume_concurrently_max_span: 2000,
            max_reconsume_times: -1,
            broker_suspend_max_time: Duration::from_millis(15_000),
            consumer_timeout_when_suspend: Duration::from_millis(30_000),
            pull_time_delay_when_exception: Duration::from_millis(1_000),
            suspend_current_queue_time: Duration::from_millis(1_000),
            local_retry_delay: Duration::from_millis(5_000),
            await_termination_when_shutdown: Duration::from_millis(10_000),
            local_offset_store_dir: home.join(".rocketmq_offsets"),
            enable_msg_trace: false,
            customized_trace_topic: String::new(),
        }
    }
}

impl ConsumerConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        check_group(&self.consumer_group)?;
        if self.consumer_group == "DEFAULT_CONSUMER" {
            return Err(ClientError::Config(
                "consumerGroup can not equal DEFAULT_CONSUMER, please specify another one.".into(),
            ));
        }
        let range = |name: &str, v: usize, lo: usize, hi: usize| {
            if v < lo || v > hi {
                Err(ClientError::Config(format!(
                    "{name} Out of range [{lo}, {hi}]"
                )))
            } else {
                Ok(())
            }
        };
        range("consumeThreadMin", self.consume_thread_min, 1, 1000)?;
        range("consumeThreadMax", self.consume_thread_max, 1, 1000)?;
        if self.consume_thread_min > self.consume_thread_max {
            return Err(ClientError::Config(format!(
                "consumeThreadMin ({}) is larger than consumeThreadMax ({})",
                self.consume_thread_min, self.consume_thread_max
            )));
        }
        range(
            "consumeMessageBatchMaxSize",
            self.consume_message_batch_max_size,
            1,
            1024,
        )?;
        range(
            "pullBatchSize",
            self.pull_batch_size.max(0) as usize,
            1,
            1024,
        )?;
        range(
            "pullThresholdForQueue",
            self.pull_threshold_for_queue,
            1,
            65535,
        )?;
        range(
            "pullThresholdSizeForQueue",
            self.pull_threshold_size_for_queue,
            1,
            1024,
        )?;
        range(
            "consumeConcurrentlyMaxSpan",
            self.consume_concurrently_max_span.max(0) as usize,
            1,
            65535,
        )?;
        Ok(())
    }

    /// The effective retry limit (`-1` means 16, as Java's concurrent consumer).
    pub(crate) fn effective_max_reconsume_times(&self) -> i32 {
        if self.max_reconsume_times < 0 {
            16
        } else {
            self.max_reconsume_times
        }
    }
}

/// Java's group-name rule: `^[%|a-zA-Z0-9_-]+$`, at most 255 characters.
fn check_group(group: &str) -> Result<()> {
    if group.is_empty() || group.len() > 255 || !group.bytes().all(valid_name_byte) {
        return Err(ClientError::Config(format!(
            "the specified group[{group}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$ (at most 255)"
        )));
    }
    Ok(())
}

/// True for the characters RocketMQ allows in topic and group names.
pub(crate) fn valid_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_survive_client_config_and_must_both_be_set() {
        let keyed = ClientConfig {
            namesrv_addr: "127.0.0.1:9876".into(),
            credentials: Some(Credentials::new("ak", "sk")),
            ..ClientConfig::default()
        };
        let replaced = keyed.clone().replaced_by(ClientConfig::default());
        assert_eq!(replaced.credentials, Some(Credentials::new("ak", "sk")));
        let other = Some(Credentials::new("ak2", "sk2"));
        let replaced = keyed.clone().replaced_by(ClientConfig {
            credentials: other.clone(),
            ..ClientConfig::default()
        });
        assert_eq!(replaced.credentials, other);
        assert!(keyed.validate().is_ok());
        let blank = ClientConfig {
            credentials: Some(Credentials::new("ak", " ")),
            ..keyed
        };
        let err = blank.validate().unwrap_err().to_string();
        assert!(err.contains("secret key"), "{err}");
    }
}
