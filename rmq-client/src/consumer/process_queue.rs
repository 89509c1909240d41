//! The per-queue bookkeeping of a push consumer (Java `ProcessQueue`): which pulled offsets
//! are still in flight, for flow control and for the offset that may be committed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::orderly::OrderlyState;
use crate::message::ReceivedMessage;

#[derive(Debug, Default)]
struct InFlight {
    /// Body size by queue offset of every pulled message not yet consumed.
    msgs: BTreeMap<i64, usize>,
    /// Sum of those sizes.
    bytes: usize,
    /// Largest offset ever added; -1 before the first.
    max_offset: i64,
}

/// The in-flight messages of one assigned queue, and whether the queue is still assigned.
#[derive(Debug)]
pub(crate) struct ProcessQueue {
    state: Mutex<InFlight>,
    dropped: AtomicBool,
    /// Lock and waiting messages, used by orderly consumers only.
    pub(crate) orderly: OrderlyState,
}

impl ProcessQueue {
    /// An empty, live queue.
    pub(crate) fn new() -> Self {
        ProcessQueue {
            state: Mutex::new(InFlight {
                max_offset: -1,
                ..InFlight::default()
            }),
            dropped: AtomicBool::new(false),
            orderly: OrderlyState::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, InFlight> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records pulled messages as in flight.
    pub(crate) fn put(&self, msgs: &[ReceivedMessage]) {
        let mut s = self.state();
        for m in msgs {
            if s.msgs.insert(m.queue_offset, m.body.len()).is_none() {
                s.bytes += m.body.len();
            }
            s.max_offset = s.max_offset.max(m.queue_offset);
        }
    }

    /// Marks `offsets` consumed and returns the offset that may now be committed: the smallest
    /// offset still in flight, or one past the largest ever pulled; -1 if nothing was pulled.
    pub(crate) fn remove(&self, offsets: impl IntoIterator<Item = i64>) -> i64 {
        let mut s = self.state();
        if s.max_offset < 0 {
            return -1;
        }
        for o in offsets {
            if let Some(size) = s.msgs.remove(&o) {
                s.bytes -= size;
            }
        }
        s.msgs.keys().next().copied().unwrap_or(s.max_offset + 1)
    }

    /// Messages in flight.
    pub(crate) fn count(&self) -> usize {
        self.state().msgs.len()
    }

    /// Bytes of bodies in flight.
    pub(crate) fn bytes(&self) -> usize {
        self.state().bytes
    }

    /// The lowest and highest in-flight offsets, if any (for running info).
    pub(crate) fn cached_bounds(&self) -> Option<(i64, i64)> {
        let s = self.state();
        Some((*s.msgs.keys().next()?, *s.msgs.keys().next_back()?))
    }

    /// Distance between the oldest and newest in-flight offsets.
    pub(crate) fn span(&self) -> i64 {
        let s = self.state();
        match (s.msgs.keys().next(), s.msgs.keys().next_back()) {
            (Some(first), Some(last)) => last - first,
            _ => 0,
        }
    }

    /// True once the queue was taken away (rebalance, offset reset or shutdown).
    pub(crate) fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::SeqCst)
    }

    /// Stops pulling and committing for this queue.
    pub(crate) fn set_dropped(&self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use bytes::Bytes;
    use rmq_remoting::body::client::MessageQueue;

    /// A 3-byte message at `offset` of queue 0 of topic T.
    pub(crate) fn msg(offset: i64) -> ReceivedMessage {
        let addr = "127.0.0.1:1".parse().unwrap();
        ReceivedMessage {
            topic: "T".into(),
            queue: MessageQueue::new("T", "b", 0),
            queue_offset: offset,
            msg_id: String::new(),
            offset_msg_id: String::new(),
            commit_log_offset: 0,
            body: Bytes::from_static(b"abc"),
            properties: Default::default(),
            flag: 0,
            sys_flag: 0,
            reconsume_times: 0,
            born_timestamp: 0,
            born_host: addr,
            store_timestamp: 0,
            store_host: addr,
        }
    }

    #[test]
    fn commit_offset_is_the_smallest_in_flight() {
        let pq = ProcessQueue::new();
        assert_eq!(pq.remove([]), -1);
        pq.put(&[msg(5), msg(6), msg(7)]);
        assert_eq!((pq.count(), pq.bytes(), pq.span()), (3, 9, 2));
        assert_eq!(pq.remove([6]), 5);
        assert_eq!(pq.remove([5]), 7);
        assert_eq!(pq.remove([7]), 8);
        assert_eq!((pq.count(), pq.bytes(), pq.span()), (0, 0, 0));
    }
}
