//! Requests in flight per family, reported under Apache's thread-pool keys. Apache queues
//! requests for a fixed pool of threads and reports how many wait and how long the oldest has
//! waited; this broker runs every request as soon as it arrives, so the nearest true figures
//! are how many requests of a family are being served and how long the oldest has been.
//! Long-polling pulls count only while they read, not while parked (Apache parks them outside
//! its pull pool too).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
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

#[derive(Default)]
struct Gauge {
    next_id: AtomicU64,
    started: Mutex<BTreeMap<u64, Instant>>,
}

/// Requests being served, per family.
#[derive(Default)]
pub struct InFlight {
    gauges: [Gauge; 4],
}

/// One request being served; it stops counting when dropped.
pub struct Serving<'a> {
    gauge: &'a Gauge,
    id: u64,
}

impl Drop for Serving<'_> {
    fn drop(&mut self) {
        let mut started = self.gauge.started.lock().unwrap_or_else(|e| e.into_inner());
        started.remove(&self.id);
    }
}

impl InFlight {
    /// A request of `family` starts being served until the result is dropped.
    pub fn enter(&self, family: Family) -> Serving<'_> {
        let gauge = &self.gauges[family as usize];
        let id = gauge.next_id.fetch_add(1, Ordering::Relaxed);
        let mut started = gauge.started.lock().unwrap_or_else(|e| e.into_inner());
        started.insert(id, Instant::now());
        Serving { gauge, id }
    }

    /// Requests of `family` being served now, and for how long (ms) the oldest has been.
    pub fn now(&self, family: Family) -> (usize, u64) {
        let started = self.gauges[family as usize]
            .started
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let oldest = started.values().next().map_or(0, |at| {
            u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX)
        });
        (started.len(), oldest)
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
        let table: BTreeMap<_, _> = in_flight.runtime_info(4096).into_iter().collect();
        assert_eq!(table["pullThreadPoolQueueSize"], "1");
        assert_eq!(table["sendThreadPoolQueueSize"], "0");
        assert_eq!(table["EndTransactionThreadPoolQueueCapacity"], "4096");
        assert!(!table.contains_key("EndTransactionThreadPoolQueueHeadWaitTimeMills"));
        assert_eq!(table.len(), 11);
    }
}
