//! A message read from a broker as the gRPC protocol shows it (Apache's proxy's
//! `GrpcConverter.buildMessage`): system properties from the RocketMQ properties, the others as
//! user properties, a CRC32 body digest the SDKs verify, delivery attempt = reconsume times + 1.

use rmq_client::ReceivedMessage;
use rmq_remoting::message::keys;

use crate::message_type::TopicMessageType;
use crate::props;
use crate::proto::v2::{self, DigestType, Encoding};

/// A timestamp from milliseconds since the epoch.
pub fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    }
}

/// Milliseconds since the epoch of a timestamp.
pub fn millis(ts: &prost_types::Timestamp) -> i64 {
    ts.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(ts.nanos) / 1_000_000)
}

/// The body checksum the SDKs check: CRC32, upper-case hex without leading zeros (Java's
/// `Long.toHexString(crc).toUpperCase()`).
pub fn crc32_digest(body: &[u8]) -> v2::Digest {
    v2::Digest {
        r#type: DigestType::Crc32 as i32,
        checksum: format!("{:X}", crc32fast::hash(body)),
    }
}

/// `msg` as a gRPC message of `topic`'s resource (the namespace left empty: rmq has none).
pub fn to_proto(msg: &ReceivedMessage) -> v2::Message {
    let property = |name: &str| msg.properties.get(name).cloned();
    let kind = TopicMessageType::of_message(|name| msg.properties.contains_key(name));
    let message_type = match kind {
        TopicMessageType::Transaction => v2::MessageType::Transaction,
        TopicMessageType::Delay => v2::MessageType::Delay,
        TopicMessageType::Fifo => v2::MessageType::Fifo,
        _ => v2::MessageType::Normal,
    };
    let delivery = match property(keys::TIMER_DELAY_SEC).and_then(|s| s.parse::<i64>().ok()) {
        Some(secs) => Some(now_ms().saturating_add(secs.saturating_mul(1000))),
        None => property(keys::TIMER_DELIVER_MS).and_then(|s| s.parse().ok()),
    };
    let born_host = property(props::BORN_HOST).unwrap_or_else(|| msg.born_host.to_string());
    let dead_letter_queue = match (
        property(props::DLQ_ORIGIN_TOPIC),
        property(props::DLQ_ORIGIN_MESSAGE_ID),
    ) {
        (Some(topic), Some(message_id)) => Some(v2::DeadLetterQueue { topic, message_id }),
        _ => None,
    };
    let system = v2::SystemProperties {
        tag: property(keys::TAGS),
        keys: msg.keys().into_iter().map(str::to_owned).collect(),
        message_id: msg.msg_id.clone(),
        body_digest: Some(crc32_digest(&msg.body)),
        // Always IDENTITY, as from Apache's proxy: compressed bodies (a 4.x producer's zlib, a
        // gRPC client's GZIP) arrive inflated, rmq-client's decoder clearing the flag as Java's
        // does, and the digest is of the inflated body.
        body_encoding: Encoding::Identity as i32,
        message_type: message_type as i32,
        born_timestamp: Some(timestamp(msg.born_timestamp)),
        born_host,
        store_timestamp: Some(timestamp(msg.store_timestamp)),
        store_host: msg.store_host.to_string(),
        delivery_timestamp: delivery.map(timestamp),
        receipt_handle: property(props::POP_CK),
        queue_id: msg.queue.queue_id,
        queue_offset: Some(msg.queue_offset),
        invisible_duration: None,
        delivery_attempt: Some(msg.reconsume_times.saturating_add(1)),
        message_group: property(props::SHARDING_KEY),
        trace_context: property(props::TRACE_CONTEXT),
        orphaned_transaction_recovery_duration: None,
        dead_letter_queue,
        lite_topic: None,
        priority: None,
    };
    v2::Message {
        topic: Some(v2::Resource {
            resource_namespace: String::new(),
            name: msg.topic.clone(),
        }),
        user_properties: msg
            .properties
            .iter()
            .filter(|(k, _)| !props::is_system(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        system_properties: Some(system),
        body: msg.body.to_vec(),
    }
}

/// The wall clock in ms since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_timestamps_are_as_the_sdks_read_them() {
        // Java: Long.toHexString(new CRC32().update("hello")) = "3610a686".
        assert_eq!(crc32_digest(b"hello").checksum, "3610A686");
        let ts = timestamp(1_700_000_000_123);
        assert_eq!((ts.seconds, ts.nanos), (1_700_000_000, 123_000_000));
        assert_eq!(millis(&ts), 1_700_000_000_123);
    }
}
