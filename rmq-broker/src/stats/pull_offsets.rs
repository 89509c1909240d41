//! Where each group's last pull of each queue left off (the next offset it was answered with),
//! as Apache 5's `pullOffsetTable` keeps it for the `pullOffset` of consume stats. In memory
//! only, like Apache's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use super::item::with_pair_key;

/// Queue id → next offset, for one `topic@group`.
type Queues = Arc<Mutex<HashMap<i32, i64>>>;

/// `topic@group` → queue id → next offset.
#[derive(Default)]
pub struct PullOffsets {
    table: RwLock<HashMap<Box<str>, Queues>>,
}

impl PullOffsets {
    /// A pull of `group` on `topic`/`queue_id` was answered with `next_offset`.
    pub fn record(&self, group: &str, topic: &str, queue_id: i32, next_offset: i64) {
        let queues = with_pair_key(topic, group, |key| {
            if let Some(queues) = self.read().get(key) {
                return queues.clone();
            }
            let mut table = self.table.write().unwrap_or_else(|e| e.into_inner());
            table.entry(key.into()).or_default().clone()
        });
        let mut queues = queues.lock().unwrap_or_else(|e| e.into_inner());
        queues.insert(queue_id, next_offset);
    }

    /// The offset `group`'s last pull of `topic`/`queue_id` was answered with, if it pulled.
    pub fn get(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        let queues = with_pair_key(topic, group, |key| self.read().get(key).cloned())?;
        let queues = queues.lock().unwrap_or_else(|e| e.into_inner());
        queues.get(&queue_id).copied()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Box<str>, Queues>> {
        self.table.read().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_answer_per_queue_is_kept() {
        let offsets = PullOffsets::default();
        assert_eq!(offsets.get("G", "T", 0), None);
        offsets.record("G", "T", 0, 5);
        offsets.record("G", "T", 0, 9);
        offsets.record("G", "T", 1, 2);
        offsets.record("H", "T", 0, 1);
        assert_eq!(offsets.get("G", "T", 0), Some(9));
        assert_eq!(offsets.get("G", "T", 1), Some(2));
        assert_eq!(offsets.get("H", "T", 0), Some(1));
        assert_eq!(offsets.get("G", "U", 0), None);
    }
}
