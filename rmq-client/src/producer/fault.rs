//! Queue selection with latency-based fault avoidance (Java `MQFaultStrategy` and
//! `LatencyFaultToleranceImpl`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rmq_remoting::body::client::MessageQueue;

/// Latency thresholds (ms) of the 5.x table; the highest one not above a measured latency picks
/// the isolation time at the same index.
const LATENCY_MAX: [u64; 7] = [50, 100, 550, 1800, 3000, 5000, 15_000];
/// How long (ms) a broker is avoided after a send of the corresponding latency.
const NOT_AVAILABLE: [u64; 7] = [0, 0, 2_000, 5_000, 6_000, 10_000, 30_000];
/// Latency recorded for a failed attempt (5.x: 10 s of isolation).
const FAILED_LATENCY: Duration = Duration::from_millis(10_000);

#[derive(Debug, Clone, Copy)]
struct FaultItem {
    latency: Duration,
    available_at: Instant,
}

/// Chooses the queue of each send attempt: round-robin from a random start, away from the
/// broker that failed the previous attempt, and — when `sendLatencyFaultEnable` is on — away
/// from brokers that recently failed or answered slowly.
#[derive(Debug)]
pub(crate) struct FaultStrategy {
    enabled: bool,
    index: AtomicUsize,
    faults: Mutex<HashMap<String, FaultItem>>,
}

impl FaultStrategy {
    /// A strategy; `enabled` is `sendLatencyFaultEnable`.
    pub(crate) fn new(enabled: bool) -> Self {
        FaultStrategy {
            enabled,
            index: AtomicUsize::new(fastrand::usize(..1 << 16)),
            faults: Mutex::default(),
        }
    }

    fn next(&self, queues: &[MessageQueue]) -> MessageQueue {
        let i = self.index.fetch_add(1, Ordering::Relaxed);
        queues[i % queues.len()].clone()
    }

    fn is_available(&self, broker: &str, now: Instant) -> bool {
        let faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        faults.get(broker).is_none_or(|f| f.available_at <= now)
    }

    /// The queue for the next attempt; `last_broker` is the broker of the failed previous
    /// attempt. `queues` must not be empty.
    pub(crate) fn select(
        &self,
        queues: &[MessageQueue],
        last_broker: Option<&str>,
    ) -> MessageQueue {
        let now = Instant::now();
        let usable = |mq: &MessageQueue, avoid_last: bool| {
            (!avoid_last || Some(mq.broker_name.as_str()) != last_broker)
                && (!self.enabled || self.is_available(&mq.broker_name, now))
        };
        for avoid_last in [true, false] {
            if !avoid_last && !self.enabled {
                break;
            }
            for _ in 0..queues.len() {
                let mq = self.next(queues);
                if usable(&mq, avoid_last) {
                    return mq;
                }
            }
        }
        if self.enabled {
            // Everything is isolated: take the broker that recovers first.
            let best = {
                let faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
                queues
                    .iter()
                    .filter_map(|q| {
                        faults
                            .get(&q.broker_name)
                            .map(|f| (f.available_at, f.latency, q))
                    })
                    .min_by_key(|(at, latency, _)| (*at, *latency))
                    .map(|(_, _, q)| q.broker_name.clone())
            };
            if let Some(broker) = best {
                let candidates: Vec<MessageQueue> = queues
                    .iter()
                    .filter(|q| q.broker_name == broker)
                    .cloned()
                    .collect();
                if !candidates.is_empty() {
                    return self.next(&candidates);
                }
            }
        }
        self.next(queues)
    }

    /// Records the outcome of an attempt on `broker`: its latency, or a failure.
    pub(crate) fn record(&self, broker: &str, latency: Duration, failed: bool) {
        if !self.enabled {
            return;
        }
        let latency = if failed { FAILED_LATENCY } else { latency };
        let ms = latency.as_millis() as u64;
        let isolation = LATENCY_MAX
            .iter()
            .rposition(|&max| ms >= max)
            .map_or(0, |i| NOT_AVAILABLE[i]);
        let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        faults.insert(
            broker.to_owned(),
            FaultItem {
                latency,
                available_at: Instant::now() + Duration::from_millis(isolation),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues() -> Vec<MessageQueue> {
        ["a", "a", "b", "b"]
            .iter()
            .enumerate()
            .map(|(i, b)| MessageQueue::new("T", *b, i as i32))
            .collect()
    }

    #[test]
    fn round_robin_covers_every_queue() {
        let s = FaultStrategy::new(false);
        let picked: std::collections::BTreeSet<i32> =
            (0..4).map(|_| s.select(&queues(), None).queue_id).collect();
        assert_eq!(picked.len(), 4);
    }

    #[test]
    fn a_retry_avoids_the_previous_broker() {
        let s = FaultStrategy::new(false);
        for _ in 0..10 {
            assert_eq!(s.select(&queues(), Some("a")).broker_name, "b");
        }
        let only_a = vec![MessageQueue::new("T", "a", 0)];
        assert_eq!(s.select(&only_a, Some("a")).broker_name, "a");
    }

    #[test]
    fn failed_and_slow_brokers_are_isolated() {
        let s = FaultStrategy::new(true);
        s.record("a", Duration::from_millis(5), true);
        for _ in 0..10 {
            assert_eq!(s.select(&queues(), None).broker_name, "b");
        }
        s.record("b", Duration::from_millis(600), false);
        // Both isolated: "b" recovers first (2 s versus 10 s).
        assert_eq!(s.select(&queues(), None).broker_name, "b");
        s.record("a", Duration::from_millis(10), false);
        assert_eq!(s.select(&queues(), None).broker_name, "a");
    }
}
