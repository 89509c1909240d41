//! FIFO (orderly) pop: what a group has in flight from one queue (Apache's
//! `ConsumerOrderInfoManager.OrderInfo`). While any message of the last orderly pop is neither
//! acked nor past its invisible time, the queue is blocked for the group, so one message group
//! is consumed in order. A message not acked in time is not revived into a retry topic: the
//! queue unblocks and the next pop reads it again from the group's consumer offset, with its
//! delivery count plus one (docs/pop.md).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The revive queue an orderly receipt names (Apache's `KeyBuilder.POP_ORDER_REVIVE_QUEUE`):
/// acks and changes of such receipts take the orderly path.
pub const ORDER_REVIVE_QID: i32 = 999;

/// The last orderly pop of one queue for one group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderInfo {
    /// When it was popped, ms (the receipts' `popTime`).
    pub pop_time: i64,
    /// Its invisible time, ms.
    pub invisible_time: i64,
    /// The queue offsets popped, ascending.
    pub offsets: Vec<i64>,
    /// Offsets acked since.
    #[serde(default)]
    pub acked: Vec<i64>,
    /// Offsets whose invisible time was changed: when each becomes visible, ms.
    #[serde(default)]
    pub next_visible: BTreeMap<i64, i64>,
    /// Offsets delivered before this pop too: how many times before (Apache's
    /// `offsetConsumedCount`); absent means first delivery.
    #[serde(default)]
    pub consumed: BTreeMap<i64, i32>,
    /// The FIFO attempt id of the pop: a retry of the same attempt is not blocked and does not
    /// count as a redelivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt_id: Option<String>,
}

/// What an orderly ack did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderAck {
    /// Acked: the group's consumer offset is now this.
    Next(i64),
    /// The receipt belongs to an older pop: nothing changed.
    Stale,
    /// The offset is not one the pop handed out (Apache answers MESSAGE_ILLEGAL).
    Unknown,
}

impl OrderInfo {
    /// A new pop of `offsets`; counts redeliveries against the previous pop `before`.
    pub fn popped(
        before: Option<&OrderInfo>,
        attempt_id: Option<String>,
        pop_time: i64,
        invisible_time: i64,
        offsets: Vec<i64>,
    ) -> Self {
        let consumed = match before {
            Some(prev) if prev.attempt_id.is_some() && prev.attempt_id == attempt_id => {
                prev.consumed.clone()
            }
            Some(prev) => offsets
                .iter()
                .filter(|o| prev.offsets.contains(o))
                .map(|o| (*o, prev.consumed.get(o).copied().unwrap_or(0) + 1))
                .collect(),
            None => BTreeMap::new(),
        };
        OrderInfo {
            pop_time,
            invisible_time,
            offsets,
            acked: Vec::new(),
            next_visible: BTreeMap::new(),
            consumed,
            attempt_id,
        }
    }

    /// Whether a pop (with `attempt_id`) must skip the queue at `now`: a message of this pop
    /// is neither acked nor visible again (Apache's `OrderInfo.needBlock`).
    pub fn blocks(&self, attempt_id: Option<&str>, now: i64) -> bool {
        if self.attempt_id.is_some() && self.attempt_id.as_deref() == attempt_id {
            return false;
        }
        self.offsets
            .iter()
            .filter(|o| !self.acked.contains(o))
            .any(|o| now < self.visible_at(*o))
    }

    /// When `offset` becomes visible again unless acked, ms.
    pub fn visible_at(&self, offset: i64) -> i64 {
        self.next_visible
            .get(&offset)
            .copied()
            .unwrap_or_else(|| self.pop_time.saturating_add(self.invisible_time))
    }

    /// How many times `offset` was delivered before this pop.
    pub fn count(&self, offset: i64) -> i32 {
        self.consumed.get(&offset).copied().unwrap_or(0)
    }

    /// Acks `offset` of the pop at `pop_time` (Apache's `commitAndNext`).
    pub fn ack(&mut self, offset: i64, pop_time: i64) -> OrderAck {
        if pop_time != self.pop_time {
            return OrderAck::Stale;
        }
        if !self.offsets.contains(&offset) {
            return OrderAck::Unknown;
        }
        if !self.acked.contains(&offset) {
            self.acked.push(offset);
        }
        let next = self
            .offsets
            .iter()
            .find(|o| !self.acked.contains(o))
            .copied()
            .unwrap_or_else(|| self.offsets.last().map_or(offset + 1, |last| last + 1));
        OrderAck::Next(next)
    }

    /// Hides `offset` of the pop at `pop_time` until `visible_at`; false for a stale receipt.
    pub fn change(&mut self, offset: i64, pop_time: i64, visible_at: i64) -> bool {
        if pop_time != self.pop_time || !self.offsets.contains(&offset) {
            return false;
        }
        self.next_visible.insert(offset, visible_at);
        true
    }

    /// The pop response's `orderCountInfo` part for this queue (Java's
    /// `ExtraInfoUtil.buildQueueOffsetOrderCountInfo` per redelivered offset, then
    /// `buildQueueIdOrderCountInfo` with the smallest count for older clients).
    pub fn count_info(&self, retry_mark: &str, queue_id: i32) -> Vec<String> {
        let mut parts: Vec<String> = self
            .consumed
            .iter()
            .map(|(offset, n)| format!("{retry_mark} qo{queue_id}%{offset} {n}"))
            .collect();
        let min = if self.consumed.len() == self.offsets.len() {
            self.consumed.values().copied().min().unwrap_or(0)
        } else {
            0
        };
        parts.push(format!("{retry_mark} {queue_id} {min}"));
        parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_blocks_until_every_message_is_acked_or_visible_and_counts_redeliveries() {
        let first = OrderInfo::popped(None, None, 1000, 100, vec![5, 6, 7]);
        assert!(first.blocks(None, 1050));
        assert!(!first.blocks(None, 1100), "invisible time passed");
        let mut again = OrderInfo::popped(Some(&first), None, 1100, 100, vec![5, 6, 7, 8]);
        assert_eq!(
            (again.count(5), again.count(8)),
            (1, 0),
            "redelivered once; new"
        );
        assert_eq!(
            again.count_info("0", 2),
            ["0 qo2%5 1", "0 qo2%6 1", "0 qo2%7 1", "0 2 0"]
        );
        assert_eq!(again.ack(6, 1100), OrderAck::Next(5), "5 still in flight");
        assert_eq!(again.ack(5, 1000), OrderAck::Stale);
        assert_eq!(again.ack(9, 1100), OrderAck::Unknown);
        assert!(again.change(7, 1100, 5000));
        assert_eq!(again.ack(5, 1100), OrderAck::Next(7));
        assert_eq!(again.ack(8, 1100), OrderAck::Next(7));
        assert!(again.blocks(None, 4000), "7's new invisible time");
        assert!(!again.blocks(None, 5000));
        assert_eq!(again.ack(7, 1100), OrderAck::Next(9));
        assert!(!again.blocks(None, 1101), "all acked");
        let same_attempt = OrderInfo::popped(Some(&first), None, 1000, 100, vec![5]);
        assert_eq!(same_attempt.count(5), 1);
        let tried = OrderInfo::popped(None, Some("a".into()), 1, 100, vec![5]);
        assert!(!tried.blocks(Some("a"), 2), "the same attempt retries");
        let retried = OrderInfo::popped(Some(&tried), Some("a".into()), 3, 100, vec![5]);
        assert_eq!(retried.count(5), 0, "a retried attempt is not a redelivery");
    }
}
