//! An optional guard against processing a message twice in one process.
//!
//! RocketMQ delivers at least once: a message can come again after a consumer restart or crash
//! (offsets are committed periodically), a rebalance (the new owner starts from the last
//! committed offset), a reset by time, a producer retry after a lost answer (a new copy with the
//! same id), or a failed send-back. Listeners should therefore be idempotent — ideally keyed on
//! a business key or the message id in the application's own database. [`DedupGuard`] covers the
//! common in-process cases cheaply: it remembers the ids of the last `capacity` messages it
//! let through and skips them if they come again. It does not survive a restart and does not
//! see other consumers of the group, so it reduces duplicates rather than ruling them out.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use crate::consumer::ConsumeStatus;
use crate::message::ReceivedMessage;

/// Remembers recently processed message ids (the client's unique id, which retries and dead
/// letters keep) in a window of bounded size; the oldest id is forgotten first.
pub struct DedupGuard {
    capacity: usize,
    window: Mutex<Window>,
}

#[derive(Default)]
struct Window {
    ids: HashSet<String>,
    order: VecDeque<String>,
}

impl DedupGuard {
    /// A guard remembering at most `capacity` ids (at least 1).
    pub fn new(capacity: usize) -> Self {
        DedupGuard {
            capacity: capacity.max(1),
            window: Mutex::default(),
        }
    }

    fn window(&self) -> std::sync::MutexGuard<'_, Window> {
        self.window.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records `id`; true if it was not in the window (process the message), false if it was
    /// (a duplicate).
    pub fn first_time(&self, id: &str) -> bool {
        let mut w = self.window();
        if w.ids.contains(id) {
            return false;
        }
        if w.order.len() >= self.capacity {
            if let Some(oldest) = w.order.pop_front() {
                w.ids.remove(&oldest);
            }
        }
        w.ids.insert(id.to_owned());
        w.order.push_back(id.to_owned());
        true
    }

    /// Forgets `id`, so its next delivery is processed (e.g. after the processing failed).
    pub fn forget(&self, id: &str) {
        let mut w = self.window();
        if w.ids.remove(id) {
            w.order.retain(|kept| kept != id);
        }
    }

    /// Runs `process` unless `msg` was processed already (then answers success at once); a
    /// [`ConsumeStatus::ReconsumeLater`] answer forgets the id, so that the retry the broker
    /// sends is processed.
    pub fn process(
        &self,
        msg: &ReceivedMessage,
        process: impl FnOnce(&ReceivedMessage) -> ConsumeStatus,
    ) -> ConsumeStatus {
        if !self.first_time(&msg.msg_id) {
            tracing::debug!(msg_id = %msg.msg_id, "duplicate delivery skipped");
            return ConsumeStatus::ConsumeSuccess;
        }
        let status = process(msg);
        if status == ConsumeStatus::ReconsumeLater {
            self.forget(&msg.msg_id);
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_bounded_and_forgets_the_oldest_first() {
        let guard = DedupGuard::new(2);
        assert!(guard.first_time("a"));
        assert!(!guard.first_time("a"));
        assert!(guard.first_time("b"));
        assert!(guard.first_time("c"));
        assert!(guard.first_time("a"), "a was the oldest and is forgotten");
        assert!(!guard.first_time("c"));
        guard.forget("c");
        assert!(guard.first_time("c"));
        assert!(guard.window().order.len() <= 2);
    }
}
