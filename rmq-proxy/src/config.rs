//! The proxy's settings under the keys of Apache's `rmq-proxy.json` (Apache's `ProxyConfig`
//! names and defaults where rmq serves the feature), read from that JSON file and from
//! `--key value` command-line overrides. Errors name the key and the file.

use rmq_config::properties::Property;
use rmq_config::{apply_all, ConfigError};

rmq_config::settings! {
    /// Everything `rmq-proxy.json` and the command line can set.
    pub struct ProxyConfig {
        /// Name servers (`host:port;host:port`); the brokers are found through them.
        namesrv_addr: String = std::env::var("NAMESRV_ADDR").unwrap_or_default() => "namesrvAddr",
        /// The cluster of brokers the proxy serves (the system topics' and routes' cluster).
        rocket_mq_cluster_name: String = "DefaultCluster".to_owned() => "rocketMQClusterName",
        /// Only `cluster` is served: the proxy talks remoting to brokers in other processes.
        proxy_mode: ProxyMode = ProxyMode::Cluster => "proxyMode",
        /// Port of the gRPC endpoint; 0 picks a free port, printed at start.
        grpc_server_port: u16 = 8081 => "grpcServerPort",
        /// Without tlsCertPath/tlsKeyPath, serve TLS clients with a self-signed certificate (the SDKs trust any).
        tls_test_mode_enable: bool = true => "tlsTestModeEnable",
        /// PEM certificate chain for TLS clients (rmq's rules, docs/tls.md); empty = test mode's.
        tls_cert_path: String = String::new() => "tlsCertPath",
        /// PKCS#8 PEM key of tlsCertPath.
        tls_key_path: String = String::new() => "tlsKeyPath",
        /// Largest message body accepted, in bytes (<= 0: no limit).
        max_message_size: i64 = 4 * 1024 * 1024 => "maxMessageSize",
        /// Refuse messages with an empty body.
        enable_message_body_empty_check: bool = true => "enableMessageBodyEmptyCheck",
        /// Largest total size of user properties, tag and keys, in bytes.
        max_user_property_size: i64 = 16 * 1024 => "maxUserPropertySize",
        /// Most user properties on one message.
        user_property_max_num: i64 = 128 => "userPropertyMaxNum",
        /// Message groups must be shorter than this many bytes (<= 0: no limit).
        max_message_group_size: i64 = 64 => "maxMessageGroupSize",
        /// Furthest a delivery timestamp may lie in the future, in ms (<= 0: no limit).
        max_delay_time_mills: i64 = 24 * 3600 * 1000 => "maxDelayTimeMills",
        /// Longest orphaned-transaction recovery a producer may ask for, in seconds.
        max_transaction_recovery_second: i64 = 3600 => "maxTransactionRecoverySecond",
        /// Refuse a send whose message type differs from its topic's `message.type`.
        enable_topic_message_type_check: bool = true => "enableTopicMessageTypeCheck",
        /// Send attempts a producer makes (its settings' retry policy).
        grpc_client_producer_max_attempts: i32 = 3 => "grpcClientProducerMaxAttempts",
        /// First back-off of a producer's retries, in ms.
        grpc_client_producer_backoff_initial_millis: i64 = 10 => "grpcClientProducerBackoffInitialMillis",
        /// Longest back-off of a producer's retries, in ms.
        grpc_client_producer_backoff_max_millis: i64 = 1000 => "grpcClientProducerBackoffMaxMillis",
        /// Growth factor of a producer's back-off.
        grpc_client_producer_backoff_multiplier: i32 = 2 => "grpcClientProducerBackoffMultiplier",
        /// Shortest long-polling wait of a receive, in ms.
        grpc_client_consumer_min_long_polling_timeout_millis: i64 = 5_000 => "grpcClientConsumerMinLongPollingTimeoutMillis",
        /// Longest long-polling wait of a receive, in ms.
        grpc_client_consumer_max_long_polling_timeout_millis: i64 = 20_000 => "grpcClientConsumerMaxLongPollingTimeoutMillis",
        /// Messages a push consumer receives per call.
        grpc_client_consumer_long_polling_batch_size: i32 = 32 => "grpcClientConsumerLongPollingBatchSize",
        /// Invisible time of a receive that names none, in ms.
        default_invisible_time_mills: i64 = 60_000 => "defaultInvisibleTimeMills",
        /// Shortest invisible time a receive may ask for, in ms.
        min_invisible_time_mills_for_recv: i64 = 10_000 => "minInvisibleTimeMillsForRecv",
        /// Longest invisible time, in ms.
        max_invisible_time_mills: i64 = 12 * 3600 * 1000 => "maxInvisibleTimeMills",
        /// Renew the messages of receives that ask for it (push consumers' `auto_renew`) before their invisible time runs out.
        enable_proxy_auto_renew: bool = true => "enableProxyAutoRenew",
        /// A remembered message is renewed once it is this close to becoming visible, in ms.
        renew_ahead_time_millis: i64 = 10_000 => "renewAheadTimeMillis",
        /// How often remembered messages are looked at for renewal, in ms.
        renew_schedule_period_millis: u64 = 5_000 => "renewSchedulePeriodMillis",
        /// A message is renewed for at most this long after its receive, in ms; then it goes back with the group's retry delay.
        renew_max_time_millis: i64 = 3 * 3600 * 1000 => "renewMaxTimeMillis",
        /// Failed renewals in a row after which a message is no longer renewed.
        max_renew_retry_times: i32 = 3 => "maxRenewRetryTimes",
        /// Invisible time given to the remembered messages of a client that went away, in ms.
        invisible_time_millis_when_clear: i64 = 1_000 => "invisibleTimeMillisWhenClear",
        /// Time kept back from a receive's deadline for the answer to travel, in ms.
        long_polling_reserve_time_in_millis: i64 = 100 => "longPollingReserveTimeInMillis",
        /// Seconds a topic's configuration (its message type) is cached.
        topic_config_cache_refresh_seconds: u64 = 20 => "topicConfigCacheRefreshSeconds",
        /// Seconds a gRPC client may stay silent (no heartbeat, no stream) before it is forgotten.
        channel_expired_in_seconds: u64 = 60 => "channelExpiredInSeconds",
        /// Check the 5.x clients' credentials under ACL 1.0 (plain_acl.yml, docs/grpc-proxy.md "ACL").
        enable_acl: bool = false => "enableACL",
        /// Installation directory holding conf/plain_acl.yml, conf/acl/ and conf/tools.yml. Defaults to ROCKETMQ_HOME.
        rocketmq_home: String = std::env::var("ROCKETMQ_HOME").unwrap_or_default() => "rocketmqHome",
        /// Sign the proxy's requests to brokers with its own account (brokers with aclEnable=true).
        enable_acl_rpc_hook_for_cluster_mode: bool = false => "enableAclRpcHookForClusterMode",
        /// That account as JSON {"accessKey":"..","secretKey":".."}; empty: conf/tools.yml's keys.
        inner_client_authentication_credentials: String = String::new() => "innerClientAuthenticationCredentials",
    }
    ignored {
        "proxyClusterName" => "rmq's proxy registers nowhere",
        "proxyName" => "rmq's proxy registers nowhere",
        "remotingListenPort" => "rmq's proxy serves gRPC only",
        "remotingAccessAddr" => "rmq's proxy serves gRPC only",
        "enableRemotingLocalProxyGrpc" => "rmq's proxy serves gRPC only",
        "grpcBossLoopNum" => "gRPC runs on the async runtime, not thread pools",
        "grpcWorkerLoopNum" => "gRPC runs on the async runtime, not thread pools",
        "grpcThreadPoolNums" => "gRPC runs on the async runtime, not thread pools",
        "grpcThreadPoolQueueCapacity" => "gRPC runs on the async runtime, not thread pools",
        "enableGrpcEpoll" => "gRPC runs on the async runtime, not thread pools",
        "rocketmqMQClientNum" => "one remoting client serves every request",
        "metricCollectorMode" => "no metrics collector",
        "brokerConfigPath" => "local mode is not served by mqproxy",
    }
}

/// How the proxy reaches its brokers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMode {
    /// Brokers in other processes, over remoting.
    Cluster,
}

impl rmq_config::ConfigValue for ProxyMode {
    fn parse_value(text: &str) -> Result<Self, String> {
        if text.eq_ignore_ascii_case("cluster") {
            Ok(ProxyMode::Cluster)
        } else {
            Err("`cluster` (mqproxy runs in cluster mode only; local mode is the broker's enableProxy)".into())
        }
    }

    fn render(&self) -> String {
        "CLUSTER".to_owned()
    }
}

impl ProxyConfig {
    /// Applies the JSON object in `text` (an `rmq-proxy.json`, named `file` in errors). Keys
    /// rmq does not know are warnings, as Apache ignores them; the warnings are returned.
    pub fn apply_json(&mut self, text: &str, file: &str) -> Result<Vec<String>, ConfigError> {
        let invalid = |reason: String| ConfigError::InvalidValue {
            origin: file.to_owned(),
            key: "(file)".to_owned(),
            value: String::new(),
            accepted: reason,
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| invalid(format!("a JSON object: {e}")))?;
        let object = value
            .as_object()
            .ok_or_else(|| invalid("a JSON object of settings".to_owned()))?;
        let properties: Vec<Property> = object
            .iter()
            .map(|(key, value)| Property {
                key: key.clone(),
                value: match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
                line: 0,
                warning: None,
            })
            .collect();
        Ok(apply_all(self, &properties, file, false)?.warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keys_bind_and_bad_values_name_key_and_file() {
        let mut config = ProxyConfig::default();
        let warnings = config
            .apply_json(
                r#"{"namesrvAddr":"127.0.0.1:9876","grpcServerPort":9081,"proxyMode":"cluster","remotingListenPort":8080,"somethingElse":1}"#,
                "rmq-proxy.json",
            )
            .unwrap();
        assert_eq!(config.namesrv_addr, "127.0.0.1:9876");
        assert_eq!(config.grpc_server_port, 9081);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        let err = config
            .apply_json(r#"{"grpcServerPort":"eighty"}"#, "p.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("p.json") && err.contains("grpcServerPort"),
            "{err}"
        );
        let err = config
            .apply_json(r#"{"proxyMode":"local"}"#, "p.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("proxyMode"), "{err}");
        assert!(config.apply_json("[1]", "p.json").is_err());
    }
}
