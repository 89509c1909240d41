//! Long polling for POP_MESSAGE and NOTIFICATION: a request that found nothing parks until a
//! message arrives on a queue it reads, its poll time passes, the consumer disconnects or the
//! broker stops. Parked requests are counted per topic, group and queue (POLLING_INFO answers
//! the count) and in total; past Apache's limits a request is not parked but answered
//! POLLING_FULL (docs/pop.md).

use std::collections::HashMap;
use std::sync::Mutex;

use futures::future::select_all;
use rmq_remoting::transport::Connection;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::state::BrokerContext;

type Key = (String, String, i32);

/// The parked POP and NOTIFICATION requests.
#[derive(Default)]
pub struct Parked {
    counts: Mutex<(usize, HashMap<Key, usize>)>,
}

/// A parked request; dropping it un-parks it.
pub struct ParkedGuard<'a> {
    parked: &'a Parked,
    key: Key,
}

impl Parked {
    fn counts(&self) -> std::sync::MutexGuard<'_, (usize, HashMap<Key, usize>)> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Parks a request of `group` on `topic`/`queue_id` (-1: every queue); None when the
    /// broker holds `max_total` or the queue more than `max_per_queue` (Apache's
    /// `maxPopPollingSize` and `popPollingSize`): the request is answered POLLING_FULL.
    pub fn park(
        &self,
        topic: &str,
        group: &str,
        queue_id: i32,
        max_total: u64,
        max_per_queue: u64,
    ) -> Option<ParkedGuard<'_>> {
        let key = (topic.to_owned(), group.to_owned(), queue_id);
        let mut counts = self.counts();
        let (total, per_queue) = &mut *counts;
        let here = per_queue.entry(key.clone()).or_default();
        if *total as u64 >= max_total || *here as u64 > max_per_queue {
            return None;
        }
        *here += 1;
        *total += 1;
        Some(ParkedGuard { parked: self, key })
    }

    /// Requests of `group` parked on `topic`/`queue_id` now.
    pub fn count(&self, topic: &str, group: &str, queue_id: i32) -> usize {
        let key = (topic.to_owned(), group.to_owned(), queue_id);
        self.counts().1.get(&key).copied().unwrap_or(0)
    }
}

impl Drop for ParkedGuard<'_> {
    fn drop(&mut self) {
        let mut counts = self.parked.counts();
        let (total, per_queue) = &mut *counts;
        *total = total.saturating_sub(1);
        if let Some(n) = per_queue.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                per_queue.remove(&self.key);
            }
        }
    }
}

/// Parks a request under the broker's limits (`maxPopPollingSize`, `popPollingSize`); None
/// means it is answered POLLING_FULL.
pub(super) fn park<'a>(
    ctx: &'a BrokerContext,
    topic: &str,
    group: &str,
    queue_id: i32,
) -> Option<ParkedGuard<'a>> {
    ctx.pop.parked.park(
        topic,
        group,
        queue_id,
        ctx.config.max_pop_polling_size,
        ctx.config.pop_polling_size,
    )
}

/// Arrival signals of `queues` of `topic` and of queue 0 of `retry`; subscribe before reading,
/// so a message stored in between still wakes the request.
pub(super) fn subscribe(
    ctx: &BrokerContext,
    topic: &str,
    queues: &[i32],
    retry: &str,
) -> Vec<watch::Receiver<i64>> {
    queues
        .iter()
        .map(|&q| ctx.arrivals.subscribe(topic, q))
        .chain(std::iter::once(ctx.arrivals.subscribe(retry, 0)))
        .collect()
}

/// Waits for an arrival until `deadline`; false when the deadline passed, the consumer went
/// away or the broker is stopping.
pub(super) async fn wait(
    ctx: &BrokerContext,
    conn: &Connection,
    arrivals: &mut [watch::Receiver<i64>],
    deadline: Instant,
) -> bool {
    let waits = arrivals.iter_mut().map(|rx| Box::pin(rx.changed()));
    tokio::select! {
        arrival = tokio::time::timeout_at(deadline, select_all(waits)) => arrival.is_ok(),
        () = conn.closed() => false,
        () = ctx.stopping.cancelled() => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parked_requests_are_counted_until_dropped() {
        let parked = Parked::default();
        let a = parked.park("t", "g", -1, 10, 3).unwrap();
        let b = parked.park("t", "g", -1, 10, 3).unwrap();
        let c = parked.park("t", "g", 2, 10, 3).unwrap();
        assert_eq!(parked.count("t", "g", -1), 2);
        assert_eq!(parked.count("t", "other", -1), 0);
        drop(a);
        assert_eq!(parked.count("t", "g", -1), 1);
        drop((b, c));
        assert_eq!(parked.counts().0, 0);
        let many: Vec<_> = (0..=3)
            .map(|_| parked.park("t", "g", 0, 10, 3).unwrap())
            .collect();
        assert!(
            parked.park("t", "g", 0, 10, 3).is_none(),
            "POLLING_FULL past the queue's limit"
        );
        assert!(
            parked.park("t", "g", 1, 4, 3).is_none(),
            "and past the broker's"
        );
        drop(many);
    }
}
