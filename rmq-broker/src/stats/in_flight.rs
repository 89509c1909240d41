//! Requests in flight per family, reported under Apache's thread-pool keys. Apache queues
//! requests for a fixed pool of threads and reports how many wait and how long the oldest has
//! waited; this broker runs every request as soon as it arrives, so the nearest true figures
//! are how many requests of a family are being served and how long the oldest has been.
//! Long-polling pulls count only while they read, not while parked (Apache parks them outside
//! its pull pool too).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

/// The request families Apache gives a pool (and a queue) each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Sends and send-backs.
    Send,
    /// Pulls.
    Pull,
    /// Message queries and views by id.
    Query,
    /// Transaction commits and rollbacks.
    EndTransaction,
}

const FAMILIES: [Family; 4] = [
    Family::Send,
    Family::Pull,
    Family::Query,
    Family::EndTransaction,
];

impl Family {
    /// Apache's keys for the family: (queue size, head wait, capacity); no head wait for end
    /// transaction.
    const fn keys(self) -> (&'static str, Option<&'static str>, &'static str) {
        match self {
            Family::Send => (
                "sendThreadPoolQueueSize",
                Some("sendThreadPoolQueueHeadWaitTimeMills"),
                "sendThreadPoolQueueCapacity",
            ),
            Family::Pull => (
                "pullThreadPoolQueueSize",
                Some("pullThreadPoolQueueHeadWaitTimeMills"),
                "pullThreadPoolQueueCapacity",
            ),
            Family::Query => (
                "queryThreadPoolQueueSize",
                Some("queryThreadPoolQueueHeadWaitTimeMills"),
                "queryThreadPoolQueueCapacity",
            ),
            Family::EndTransaction => (
                "EndTransactionQueueSize",
                None,
                "EndTransactionThreadPoolQueueCapacity",
            ),
        }
    }
}

/// Start times tracked per family: enough for any realistic number of requests served at
/// once; beyond that the count stays exact and the oldest age is taken from the tracked ones.
const SLOTS: usize = 128;

struct Gauge {
    count: AtomicU64,
    /// Start of a request being served, in µs since `epoch` plus 1; 0 marks a free slot.
    started: [AtomicU64; SLOTS],
    next_slot: AtomicUsize,
}

impl Default for Gauge {
    fn default() -> Self {
        Gauge {
            count: AtomicU64::new(0),
            started: std::array::from_fn(|_| AtomicU64::new(0)),
            next_slot: AtomicUsize::new(0),
        }
    }
}

/// Requests being served, per family: a count and start times in lock-free slots, so the
/// request path costs a few atomic operations.
pub struct InFlight {
    epoch: Instant,
    gauges: [Gauge; 4],
}

impl Default for InFlight {
    fn default() -> Self {
        InFlight {
            epoch: Instant::now(),
            gauges: Default::default(),
        }
    }
}

/// One request being served; it stops counting when dropped.
pub struct Serving<'a> {
    gauge: &'a Gauge,
    slot: Option<usize>,
}

impl Drop for Serving<'_> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            self.gauge.started[slot].store(0, Ordering::Release);
        }
        self.gauge.count.fetch_sub(1, Ordering::Relaxed);
    }
}

impl InFlight {
    /// A request of `family` starts being served until the result is dropped.
    pub fn enter(&self, family: Family) -> Serving<'_> {
        let gauge = &self.gauges[family as usize];
        gauge.count.fetch_add(1, Ordering::Relaxed);
        let start = self.micros_since_epoch() + 1;
        let first = gauge.next_slot.fetch_add(1, Ordering::Relaxed);
        let slot = (0..SLOTS).map(|i| (first + i) % SLOTS).find(|&slot| {
            gauge.started[slot]
                .compare_exchange(0, start, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        });
        Serving { gauge, slot }
    }

    /// Requests of `family` being served now, and for how long (ms) the oldest has been.
    pub fn now(&self, family: Family) -> (u64, u64) {
        let gauge = &self.gauges[family as usize];
        let now = self.micros_since_epoch() + 1;
        let oldest = gauge
            .started
            .iter()
            .map(|s| s.load(Ordering::Acquire))
            .filter(|&start| start != 0)
            .min()
            .map_or(0, |start| now.saturating_sub(start) / 1000);
        (gauge.count.load(Ordering::Relaxed), oldest)
    }

    fn micros_since_epoch(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX - 1)
    }

    /// The runtime-info entries: per family the requests in flight, the oldest one's age, and
    /// `capacity` (requests a connection may have in flight, this broker's only such limit).
    pub fn runtime_info(&self, capacity: usize) -> Vec<(String, String)> {
        let mut entries = Vec::with_capacity(FAMILIES.len() * 3);
        for family in FAMILIES {
            let (size_key, wait_key, capacity_key) = family.keys();
            let (size, oldest_ms) = self.now(family);
            entries.push((size_key.to_owned(), size.to_string()));
            if let Some(wait_key) = wait_key {
                entries.push((wait_key.to_owned(), oldest_ms.to_string()));
            }
            entries.push((capacity_key.to_owned(), capacity.to_string()));
        }
        entries
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn requests_count_while_served() {
        let in_flight = InFlight::default();
        assert_eq!(in_flight.now(Family::Send), (0, 0));
        let first = in_flight.enter(Family::Send);
        let second = in_flight.enter(Family::Send);
        let _pull = in_flight.enter(Family::Pull);
        assert_eq!(in_flight.now(Family::Send).0, 2);
        assert_eq!(in_flight.now(Family::Pull).0, 1);
        drop(first);
        assert_eq!(in_flight.now(Family::Send).0, 1);
        drop(second);
        assert_eq!(in_flight.now(Family::Send), (0, 0));
        // More requests than slots: the count stays exact.
        let many: Vec<_> = (0..SLOTS + 5)
            .map(|_| in_flight.enter(Family::Query))
            .collect();
        assert_eq!(in_flight.now(Family::Query).0, SLOTS as u64 + 5);
        drop(many);
        assert_eq!(in_flight.now(Family::Query), (0, 0));
        let table: BTreeMap<_, _> = in_flight.runtime_info(4096).into_iter().collect();
        assert_eq!(table["pullThreadPoolQueueSize"], "1");
        assert_eq!(table["sendThreadPoolQueueSize"], "0");
        assert_eq!(table["EndTransactionThreadPoolQueueCapacity"], "4096");
        assert!(!table.contains_key("EndTransactionThreadPoolQueueHeadWaitTimeMills"));
        assert_eq!(table.len(), 11);
    }
}
