//! Which client of a consumer group holds which queue, for orderly consumption
//! (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ, docs/remoting-protocol.md §6.8).
//!
//! An orderly consumer may only consume a queue while it holds that queue's lock on the broker,
//! so two members of a group never process the same queue at once during a rebalance. Locks
//! are not tied to connections: a holder that vanishes simply stops renewing (Java clients
//! renew every 20 s) and its lock expires after [`LOCK_MAX_LIVE_TIME`], as on a Java broker.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rmq_remoting::body::client::MessageQueue;

/// How long a lock lasts without renewal (Java's `rocketmq.broker.rebalance.lockMaxLiveTime`).
pub const LOCK_MAX_LIVE_TIME: Duration = Duration::from_secs(60);

/// One queue's current holder.
#[derive(Debug, Clone)]
struct LockEntry {
    client_id: String,
    last_update: Instant,
}

impl LockEntry {
    fn expired(&self, now: Instant, max_live: Duration) -> bool {
        now.saturating_duration_since(self.last_update) > max_live
    }
}

/// Queue locks per consumer group.
pub struct RebalanceLocks {
    max_live: Duration,
    groups: Mutex<HashMap<String, HashMap<MessageQueue, LockEntry>>>,
}

impl Default for RebalanceLocks {
    fn default() -> Self {
        RebalanceLocks::new(LOCK_MAX_LIVE_TIME)
    }
}

impl RebalanceLocks {
    /// A table whose locks last `max_live` without renewal (tests shorten it).
    pub fn new(max_live: Duration) -> Self {
        RebalanceLocks {
            max_live,
            groups: Mutex::new(HashMap::new()),
        }
    }

    /// Grants `client_id` every queue of `mqs` that is free, already its own, or whose lock
    /// expired, renewing the ones it holds; returns the queues of `mqs` it now holds.
    pub fn try_lock_batch<'a>(
        &self,
        group: &str,
        mqs: impl IntoIterator<Item = &'a MessageQueue>,
        client_id: &str,
        now: Instant,
    ) -> BTreeSet<MessageQueue> {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        let table = groups.entry(group.to_owned()).or_default();
        let mut granted = BTreeSet::new();
        for mq in mqs {
            match table.get_mut(mq) {
                Some(entry) if entry.client_id == client_id => {
                    entry.last_update = now;
                    granted.insert(mq.clone());
                }
                Some(entry) if !entry.expired(now, self.max_live) => {
                    tracing::debug!(
                        group,
                        queue = ?mq,
                        holder = %entry.client_id,
                        asker = client_id,
                        "queue is locked by another client"
                    );
                }
                _ => {
                    table.insert(
                        mq.clone(),
                        LockEntry {
                            client_id: client_id.to_owned(),
                            last_update: now,
                        },
                    );
                    granted.insert(mq.clone());
                }
            }
        }
        if table.is_empty() {
            groups.remove(group);
        }
        granted
    }

    /// Releases the queues of `mqs` that `client_id` holds; locks held by others stay.
    pub fn unlock_batch<'a>(
        &self,
        group: &str,
        mqs: impl IntoIterator<Item = &'a MessageQueue>,
        client_id: &str,
    ) {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        let Some(table) = groups.get_mut(group) else {
            return;
        };
        for mq in mqs {
            if table.get(mq).is_some_and(|e| e.client_id == client_id) {
                table.remove(mq);
            }
        }
        if table.is_empty() {
            groups.remove(group);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mq(q: i32) -> MessageQueue {
        MessageQueue::new("T", "broker-a", q)
    }

    #[test]
    fn a_queue_has_one_holder_until_it_is_released() {
        let locks = RebalanceLocks::default();
        let now = Instant::now();
        let both = [mq(0), mq(1)];
        assert_eq!(
            locks.try_lock_batch("cg", &both, "c1", now),
            BTreeSet::from(both.clone())
        );
        // Another client gets nothing; the holder keeps (and renews) both.
        assert!(locks.try_lock_batch("cg", &both, "c2", now).is_empty());
        assert_eq!(locks.try_lock_batch("cg", &both, "c1", now).len(), 2);
        // Another group is independent.
        assert_eq!(locks.try_lock_batch("other", &both, "c2", now).len(), 2);
        // Unlocking by a non-holder changes nothing.
        locks.unlock_batch("cg", &both, "c2");
        assert!(locks.try_lock_batch("cg", &both, "c2", now).is_empty());
        locks.unlock_batch("cg", &[mq(0)], "c1");
        assert_eq!(
            locks.try_lock_batch("cg", &both, "c2", now),
            BTreeSet::from([mq(0)])
        );
    }

    #[test]
    fn an_expired_lock_goes_to_the_next_asker_and_renewal_keeps_it() {
        let locks = RebalanceLocks::new(Duration::from_secs(60));
        let t0 = Instant::now();
        locks.try_lock_batch("cg", &[mq(0), mq(1)], "c1", t0);
        // c1 renews queue 1 only, at 50 s.
        locks.try_lock_batch("cg", &[mq(1)], "c1", t0 + Duration::from_secs(50));
        let later = t0 + Duration::from_secs(61);
        assert_eq!(
            locks.try_lock_batch("cg", &[mq(0), mq(1)], "c2", later),
            BTreeSet::from([mq(0)])
        );
        assert_eq!(
            locks.try_lock_batch("cg", &[mq(0), mq(1)], "c1", later),
            BTreeSet::from([mq(1)])
        );
    }
}
