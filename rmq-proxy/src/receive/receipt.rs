//! The receipt handle a gRPC client gets with every received message and sends back with its
//! ack, change of invisible duration or dead-letter forward. It is Apache's proxy's format
//! (Java `ReceiptHandle`): the broker's receipt (`ExtraInfo`, queue offset included) followed by
//! the message's commit-log offset, space-separated:
//! `ckQueueOffset popTime invisibleTime reviveQid retry brokerName queueId queueOffset commitLogOffset`.
//! So a handle names everything needed to reach the message again: broker, topic (normal or
//! the group's pop retry topic), queue and offset, and, for the dead-letter send-back, where
//! the message is stored.

use rmq_client::ExtraInfo;

/// A decoded receipt handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptHandle {
    /// The broker's receipt, queue offset included.
    pub info: ExtraInfo,
    /// Where the message is stored on its broker; -1 when the handle does not say (Apache
    /// then refuses a dead-letter forward).
    pub commit_log_offset: i64,
}

impl ReceiptHandle {
    /// A handle for a popped message: its receipt and commit-log offset.
    pub fn new(info: ExtraInfo, commit_log_offset: i64) -> ReceiptHandle {
        ReceiptHandle {
            info,
            commit_log_offset,
        }
    }

    /// Decodes a handle a client sent back. Like Java's `ReceiptHandle.decode`, the first
    /// eight fields are required and the commit-log offset is optional; `None` when the text
    /// does not have that shape.
    pub fn decode(text: &str) -> Option<ReceiptHandle> {
        let fields: Vec<&str> = text.split(' ').collect();
        if fields.len() < 8 {
            return None;
        }
        let info = ExtraInfo::parse(&fields[..8].join(" "))?;
        let commit_log_offset = match fields.get(8) {
            Some(f) => f.parse().ok()?,
            None => -1,
        };
        Some(ReceiptHandle {
            info,
            commit_log_offset,
        })
    }

    /// The text form the client gets.
    pub fn encode(&self) -> String {
        format!("{} {}", self.info, self.commit_log_offset)
    }

    /// When the message becomes visible again, ms since the epoch.
    pub fn next_visible_time(&self) -> i64 {
        self.info.pop_time.saturating_add(self.info.invisible_time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_round_trip_in_apaches_shape() {
        let text = "7 1700000000000 30000 3 1 broker-a 0 9 123456";
        let handle = ReceiptHandle::decode(text).unwrap();
        assert_eq!(handle.info.ck_queue_offset, 7);
        assert_eq!(handle.info.retry, "1");
        assert_eq!(handle.info.broker_name, "broker-a");
        assert_eq!(handle.info.queue_offset, Some(9));
        assert_eq!(handle.commit_log_offset, 123_456);
        assert_eq!(handle.next_visible_time(), 1_700_000_030_000);
        assert_eq!(handle.encode(), text);
        let old = ReceiptHandle::decode("7 1700000000000 30000 3 0 broker-a 0 9").unwrap();
        assert_eq!(old.commit_log_offset, -1);
        assert!(ReceiptHandle::decode("7 1 2 3 0 b 0").is_none());
        assert!(ReceiptHandle::decode("x 1 2 3 0 b 0 9 1").is_none());
    }
}
