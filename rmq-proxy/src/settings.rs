//! The settings the proxy answers a client's Settings with on the telemetry stream (the Java SDK
//! waits for them before it starts), merged as Apache's proxy merges them: a producer gets the
//! proxy's retry policy, body limit and message-type check; a consumer gets the proxy's batch
//! size and long-polling timeout and its group's orderliness and retry policy.

use std::time::Duration;

use rmq_remoting::body::stats::SubscriptionGroupConfig;

use crate::config::ProxyConfig;
use crate::proto::v2::{
    retry_policy::Strategy, settings::PubSub, CustomizedBackoff, ExponentialBackoff, Metric,
    RetryPolicy, Settings,
};

/// Delays between a consumer's attempts without a group policy (Apache's
/// `CustomizedRetryPolicy`: 1s 5s 10s 30s 1m … 2h).
const DEFAULT_CONSUMER_BACKOFF_MS: [u64; 18] = [
    1_000, 5_000, 10_000, 30_000, 60_000, 120_000, 180_000, 240_000, 300_000, 360_000, 420_000,
    480_000, 540_000, 600_000, 1_200_000, 1_800_000, 3_600_000, 7_200_000,
];

/// Retries of a group without settings (Java's `retryMaxTimes` default).
const DEFAULT_RETRY_MAX_TIMES: i32 = 16;

/// A protobuf duration of `ms` milliseconds.
pub fn duration(ms: u64) -> prost_types::Duration {
    let d = Duration::from_millis(ms);
    prost_types::Duration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

fn millis(ms: i64) -> prost_types::Duration {
    duration(ms.max(0).unsigned_abs())
}

/// What the proxy answers `raw` (the client's own settings) with; `group` is the consumer
/// group's configuration when the client is a consumer and the brokers know the group.
pub fn answer(
    config: &ProxyConfig,
    raw: &Settings,
    group: Option<&SubscriptionGroupConfig>,
) -> Settings {
    let mut settings = raw.clone();
    match settings.pub_sub.as_mut() {
        Some(PubSub::Publishing(publishing)) => {
            settings.backoff_policy = Some(RetryPolicy {
                max_attempts: config.grpc_client_producer_max_attempts,
                strategy: Some(Strategy::ExponentialBackoff(ExponentialBackoff {
                    initial: Some(millis(config.grpc_client_producer_backoff_initial_millis)),
                    max: Some(millis(config.grpc_client_producer_backoff_max_millis)),
                    multiplier: config.grpc_client_producer_backoff_multiplier as f32,
                })),
            });
            publishing.validate_message_type = config.enable_topic_message_type_check;
            publishing.max_body_size = i32::try_from(config.max_message_size).unwrap_or(i32::MAX);
        }
        Some(PubSub::Subscription(subscription)) => {
            subscription.receive_batch_size =
                Some(config.grpc_client_consumer_long_polling_batch_size);
            subscription.long_polling_timeout = Some(millis(
                config.grpc_client_consumer_max_long_polling_timeout_millis,
            ));
            subscription.fifo = Some(
                group
                    .and_then(|g| g.consume_message_orderly)
                    .unwrap_or(false),
            );
            let retries = group.map_or(DEFAULT_RETRY_MAX_TIMES, |g| g.retry_max_times);
            settings.backoff_policy = Some(RetryPolicy {
                max_attempts: retries.saturating_add(1),
                strategy: Some(group_strategy(group)),
            });
        }
        None => {}
    }
    settings.metric = Some(Metric {
        on: false,
        endpoints: None,
    });
    settings
}

/// A group's retry policy (`groupRetryPolicy`: EXPONENTIAL with its numbers, else the
/// customized delays).
fn group_strategy(group: Option<&SubscriptionGroupConfig>) -> Strategy {
    let policy = group.and_then(|g| g.group_retry_policy.as_ref());
    let kind = policy.and_then(|p| p.get("type")).and_then(|t| t.as_str());
    if kind == Some("EXPONENTIAL") {
        let exp = policy.and_then(|p| p.get("exponentialRetryPolicy"));
        let number = |key: &str, default: u64| {
            exp.and_then(|e| e.get(key))
                .and_then(|v| v.as_u64())
                .unwrap_or(default)
        };
        return Strategy::ExponentialBackoff(ExponentialBackoff {
            initial: Some(duration(number("initial", 5_000))),
            max: Some(duration(number("max", 7_200_000))),
            multiplier: number("multiplier", 2) as f32,
        });
    }
    let next: Vec<u64> = policy
        .and_then(|p| p.get("customizedRetryPolicy"))
        .and_then(|c| c.get("next"))
        .and_then(|n| n.as_array())
        .map(|n| n.iter().filter_map(|v| v.as_u64()).collect())
        .filter(|n: &Vec<u64>| !n.is_empty())
        .unwrap_or_else(|| DEFAULT_CONSUMER_BACKOFF_MS.to_vec());
    Strategy::CustomizedBackoff(CustomizedBackoff {
        next: next.into_iter().map(duration).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::v2::{Publishing, Subscription};

    #[test]
    fn producers_and_consumers_get_apaches_merged_settings() {
        let config = ProxyConfig::default();
        let producer = Settings {
            pub_sub: Some(PubSub::Publishing(Publishing::default())),
            ..Default::default()
        };
        let answered = answer(&config, &producer, None);
        let policy = answered.backoff_policy.unwrap();
        assert_eq!(policy.max_attempts, 3);
        let Some(PubSub::Publishing(p)) = answered.pub_sub else {
            panic!("publishing kept")
        };
        assert!(p.validate_message_type);
        assert_eq!(p.max_body_size, 4 * 1024 * 1024);

        let consumer = Settings {
            pub_sub: Some(PubSub::Subscription(Subscription::default())),
            ..Default::default()
        };
        let answered = answer(&config, &consumer, None);
        assert_eq!(answered.backoff_policy.as_ref().unwrap().max_attempts, 17);
        let Some(PubSub::Subscription(s)) = answered.pub_sub else {
            panic!("subscription kept")
        };
        assert_eq!(s.receive_batch_size, Some(32));
        assert_eq!(s.long_polling_timeout.unwrap().seconds, 20);
        assert_eq!(s.fifo, Some(false));
    }
}
