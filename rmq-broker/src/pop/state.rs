//! What POP consumption remembers per group and queue: the next offset to pop and the popped
//! messages not yet acked or revived (their checkpoints), kept in `config/popState.json`
//! (docs/pop.md explains why rmq keeps a file where Apache keeps a revive topic).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use super::order::{OrderAck, OrderInfo};

/// Revive queues a checkpoint is spread over (Apache's `reviveQueueNum` default); rmq keeps the
/// number only so receipts carry the same values Apache's do.
const REVIVE_QUEUE_NUM: u32 = 8;

/// One popped message waiting for its ack: when it reappears and where it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    /// Its queue offset.
    pub queue_offset: i64,
    /// Its commit-log offset, to copy it to the retry topic when it revives.
    pub commit_log_offset: i64,
    /// When it was popped (or its invisible time last changed), ms.
    pub pop_time: i64,
    /// How long it stays hidden from `pop_time`, ms.
    pub invisible_time: i64,
    /// The revive queue its receipt names.
    pub revive_qid: i32,
}

impl Checkpoint {
    /// When the message comes back unless acked, ms.
    pub fn revive_time(&self) -> i64 {
        self.pop_time.saturating_add(self.invisible_time)
    }
}

/// A group's pop position in one queue.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueKey {
    /// Consumer group.
    pub group: String,
    /// The topic popped from (a normal topic or the group's pop retry topic).
    pub topic: String,
    /// Queue.
    pub queue_id: i32,
}

impl QueueKey {
    /// The key of `group`'s position in `queue_id` of `topic`.
    pub fn new(group: impl Into<String>, topic: impl Into<String>, queue_id: i32) -> Self {
        QueueKey {
            group: group.into(),
            topic: topic.into(),
            queue_id,
        }
    }
}

#[derive(Debug, Default)]
struct QueueState {
    next: i64,
    in_flight: BTreeMap<i64, Checkpoint>,
}

impl QueueState {
    /// The offset a consumer group has consumed up to: everything before the first message
    /// still in flight.
    fn committed(&self) -> i64 {
        self.in_flight.keys().next().copied().unwrap_or(self.next)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueueRecord {
    group: String,
    topic: String,
    queue_id: i32,
    next_offset: i64,
    #[serde(default)]
    in_flight: Vec<Checkpoint>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderRecord {
    group: String,
    topic: String,
    queue_id: i32,
    #[serde(flatten)]
    info: OrderInfo,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct PopFile {
    #[serde(default)]
    queues: Vec<QueueRecord>,
    /// FIFO pops in flight, per group and queue.
    #[serde(default)]
    order: Vec<OrderRecord>,
}

#[derive(Debug, Default)]
struct Tables {
    queues: HashMap<QueueKey, QueueState>,
    order: HashMap<QueueKey, OrderInfo>,
}

/// Every group's pop positions and checkpoints, persisted with the consumer offsets.
pub struct PopState {
    path: PathBuf,
    table: Mutex<Tables>,
    dirty: AtomicBool,
    checkpoints: AtomicU32,
    /// POP and NOTIFICATION requests waiting for a message (not persisted).
    pub parked: super::polling::Parked,
}

/// The pop state locked for one queue's read-and-advance, so two pops never hand out the same
/// message.
pub struct Locked<'a> {
    table: MutexGuard<'a, Tables>,
    dirty: &'a AtomicBool,
}

impl Locked<'_> {
    /// Where the next pop of `key` starts, if the group popped this queue before.
    pub fn next_offset(&self, key: &QueueKey) -> Option<i64> {
        self.table.queues.get(key).map(|q| q.next)
    }

    /// The group's popped messages of `key` neither acked nor revived.
    pub fn in_flight(&self, key: &QueueKey) -> u64 {
        self.table
            .queues
            .get(key)
            .map_or(0, |q| q.in_flight.len() as u64)
    }

    /// Whether the group's last orderly pop of `key` still blocks it at `now`.
    pub fn order_blocked(&self, key: &QueueKey, attempt_id: Option<&str>, now: i64) -> bool {
        self.table
            .order
            .get(key)
            .is_some_and(|info| info.blocks(attempt_id, now))
    }

    /// Records an orderly pop of `offsets` from `key`; returns what it knows of them.
    pub fn order_popped(
        &mut self,
        key: &QueueKey,
        attempt_id: Option<String>,
        pop_time: i64,
        invisible_time: i64,
        offsets: Vec<i64>,
    ) -> OrderInfo {
        let info = OrderInfo::popped(
            self.table.order.get(key),
            attempt_id,
            pop_time,
            invisible_time,
            offsets,
        );
        self.table.order.insert(key.clone(), info.clone());
        self.dirty.store(true, Ordering::Release);
        info
    }

    /// Records a pop: `key` continues at `next`; `popped` are in flight. Returns the offset the
    /// group has now consumed up to.
    pub fn popped(&mut self, key: &QueueKey, next: i64, popped: &[Checkpoint]) -> i64 {
        let queue = self.table.queues.entry(key.clone()).or_default();
        queue.next = queue.next.max(next);
        for ck in popped {
            queue.in_flight.insert(ck.queue_offset, *ck);
        }
        self.dirty.store(true, Ordering::Release);
        queue.committed()
    }
}

impl PopState {
    /// Reads `popState.json` (missing: nothing popped yet).
    pub fn open(path: PathBuf) -> Result<Self, String> {
        let file: PopFile = crate::state_file::load(&path)?;
        let order = file
            .order
            .into_iter()
            .map(|r| {
                let key = QueueKey::new(r.group, r.topic, r.queue_id);
                (key, r.info)
            })
            .collect();
        let queues = file
            .queues
            .into_iter()
            .map(|r| {
                let key = QueueKey::new(r.group, r.topic, r.queue_id);
                let in_flight = r.in_flight.into_iter().map(|c| (c.queue_offset, c));
                let state = QueueState {
                    next: r.next_offset,
                    in_flight: in_flight.collect(),
                };
                (key, state)
            })
            .collect();
        Ok(PopState {
            path,
            table: Mutex::new(Tables { queues, order }),
            dirty: AtomicBool::new(false),
            checkpoints: AtomicU32::new(0),
            parked: super::polling::Parked::default(),
        })
    }

    fn table(&self) -> MutexGuard<'_, Tables> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Locks the state for a pop.
    pub fn lock(&self) -> Locked<'_> {
        Locked {
            table: self.table(),
            dirty: &self.dirty,
        }
    }

    /// The revive queue the next pop's checkpoints name (round robin, as Apache's).
    pub fn next_revive_qid(&self) -> i32 {
        let n = self.checkpoints.fetch_add(1, Ordering::Relaxed) % REVIVE_QUEUE_NUM;
        i32::try_from(n).unwrap_or(0)
    }

    /// Ends a checkpoint (acked or revived) if it is still the one popped at `pop_time`. Returns
    /// the offset the group has consumed up to when it ended one, None for a stale receipt.
    pub fn finish(&self, key: &QueueKey, offset: i64, pop_time: i64) -> Option<i64> {
        let mut table = self.table();
        let queue = table.queues.get_mut(key)?;
        if queue.in_flight.get(&offset)?.pop_time != pop_time {
            return None;
        }
        queue.in_flight.remove(&offset);
        self.dirty.store(true, Ordering::Release);
        Some(queue.committed())
    }

    /// Hides an in-flight message for `invisible_time` from `now`; None for a stale receipt.
    pub fn change(
        &self,
        key: &QueueKey,
        offset: i64,
        pop_time: i64,
        now: i64,
        invisible_time: i64,
    ) -> Option<Checkpoint> {
        let mut table = self.table();
        let ck = table.queues.get_mut(key)?.in_flight.get_mut(&offset)?;
        if ck.pop_time != pop_time {
            return None;
        }
        ck.pop_time = now;
        ck.invisible_time = invisible_time;
        self.dirty.store(true, Ordering::Release);
        Some(*ck)
    }

    /// Acks `offset` of the orderly pop at `pop_time` (Apache's `commitAndNext`: a queue the
    /// group has no orderly pop of moves past the offset).
    /// `commit` stores the group's new consumer offset while the state is locked, so a pop
    /// never reads from an offset older than an ack's.
    pub fn ack_orderly(
        &self,
        key: &QueueKey,
        offset: i64,
        pop_time: i64,
        commit: impl FnOnce(i64),
    ) -> OrderAck {
        let mut table = self.table();
        let acked = match table.order.get_mut(key) {
            Some(info) => info.ack(offset, pop_time),
            None => OrderAck::Next(offset + 1),
        };
        if let OrderAck::Next(next) = acked {
            commit(next);
            self.dirty.store(true, Ordering::Release);
        }
        acked
    }

    /// Hides `offset` of the orderly pop at `pop_time` until `visible_at`; false for a stale
    /// receipt.
    pub fn change_orderly(
        &self,
        key: &QueueKey,
        offset: i64,
        pop_time: i64,
        visible_at: i64,
    ) -> bool {
        let mut table = self.table();
        let changed = table
            .order
            .get_mut(key)
            .is_some_and(|info| info.change(offset, pop_time, visible_at));
        if changed {
            self.dirty.store(true, Ordering::Release);
        }
        changed
    }

    /// Drops the state of every queue `keep` refuses (its topic or group was deleted), as
    /// Apache's `ConsumerOrderInfoManager.autoClean` drops order info. Returns how many.
    pub fn retain(&self, keep: impl Fn(&QueueKey) -> bool) -> usize {
        let mut table = self.table();
        let before = table.queues.len() + table.order.len();
        table.queues.retain(|key, _| keep(key));
        table.order.retain(|key, _| keep(key));
        let dropped = before - table.queues.len() - table.order.len();
        if dropped > 0 {
            self.dirty.store(true, Ordering::Release);
        }
        dropped
    }

    /// Checkpoints whose invisible time has passed at `now`, oldest first, at most `max`.
    pub fn due(&self, now: i64, max: usize) -> Vec<(QueueKey, Checkpoint)> {
        let table = self.table();
        let mut due: Vec<(QueueKey, Checkpoint)> = table
            .queues
            .iter()
            .flat_map(|(key, q)| {
                q.in_flight
                    .values()
                    .filter(|ck| ck.revive_time() <= now)
                    .map(|ck| (key.clone(), *ck))
            })
            .collect();
        due.sort_by_key(|(_, ck)| ck.revive_time());
        due.truncate(max);
        due
    }

    /// Writes `popState.json` if anything changed since the last write.
    pub fn persist_if_dirty(&self) -> std::io::Result<()> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let file = {
            let table = self.table();
            let mut queues: Vec<QueueRecord> = table
                .queues
                .iter()
                .map(|(key, q)| QueueRecord {
                    group: key.group.clone(),
                    topic: key.topic.clone(),
                    queue_id: key.queue_id,
                    next_offset: q.next,
                    in_flight: q.in_flight.values().copied().collect(),
                })
                .collect();
            queues.sort_by(|a, b| {
                (&a.group, &a.topic, a.queue_id).cmp(&(&b.group, &b.topic, b.queue_id))
            });
            let mut order: Vec<OrderRecord> = table
                .order
                .iter()
                .map(|(key, info)| OrderRecord {
                    group: key.group.clone(),
                    topic: key.topic.clone(),
                    queue_id: key.queue_id,
                    info: info.clone(),
                })
                .collect();
            order.sort_by(|a, b| {
                (&a.group, &a.topic, a.queue_id).cmp(&(&b.group, &b.topic, b.queue_id))
            });
            PopFile { queues, order }
        };
        let written = crate::state_file::save(&self.path, &file);
        if written.is_err() {
            self.dirty.store(true, Ordering::Release);
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ck(offset: i64, pop_time: i64) -> Checkpoint {
        Checkpoint {
            queue_offset: offset,
            commit_log_offset: offset * 100,
            pop_time,
            invisible_time: 1000,
            revive_qid: 0,
        }
    }

    #[test]
    fn committed_offset_waits_for_the_oldest_in_flight_and_state_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("popState.json");
        let state = PopState::open(path.clone()).unwrap();
        let key = QueueKey::new("g", "t", 1);
        assert_eq!(
            state
                .lock()
                .popped(&key, 3, &[ck(0, 5), ck(1, 5), ck(2, 5)]),
            0
        );
        assert_eq!(state.finish(&key, 1, 5), Some(0));
        assert_eq!(
            state.finish(&key, 0, 4),
            None,
            "a stale receipt ends nothing"
        );
        assert_eq!(state.finish(&key, 0, 5), Some(2));
        assert!(state.change(&key, 2, 5, 50, 10).is_some());
        assert_eq!(state.due(59, 10).len(), 0);
        assert_eq!(state.due(60, 10).len(), 1);
        state.persist_if_dirty().unwrap();
        let reloaded = PopState::open(path).unwrap();
        assert_eq!(reloaded.lock().next_offset(&key), Some(3));
        let due = reloaded.due(60, 10);
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].1.queue_offset, due[0].1.pop_time), (2, 50));
        assert_eq!(reloaded.retain(|k| k.topic != "t"), 1);
        assert!(
            reloaded.due(60, 10).is_empty(),
            "a deleted topic's checkpoints are gone"
        );
    }
}
