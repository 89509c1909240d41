//! Committed consumer offsets per group, topic and queue (`consumerOffset.json`), persisted
//! every `flushConsumerOffsetInterval` and at shutdown.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

/// Java's file shape: `{"offsetTable":{"topic@group":{0:118,1:97}}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OffsetTable {
    /// `topic@group` → queue id → next offset to consume.
    #[serde(default)]
    pub offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
}

fn key(topic: &str, group: &str) -> String {
    format!("{topic}@{group}")
}

/// The offsets, with a dirty flag so the periodic flush writes only after changes.
pub struct ConsumerOffsets {
    path: PathBuf,
    table: RwLock<OffsetTable>,
    dirty: AtomicBool,
}

impl ConsumerOffsets {
    /// Loads `path`; a missing file is an empty table.
    pub fn open(path: PathBuf) -> Result<Self, String> {
        let table: OffsetTable = crate::state_file::load(&path)?;
        Ok(ConsumerOffsets {
            path,
            table: RwLock::new(table),
            dirty: AtomicBool::new(false),
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, OffsetTable> {
        self.table.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, OffsetTable> {
        self.table.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a group's position in a queue.
    pub fn commit(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        self.write()
            .offset_table
            .entry(key(topic, group))
            .or_default()
            .insert(queue_id, offset);
        self.dirty.store(true, Ordering::Release);
    }

    /// A group's committed position in a queue.
    pub fn query(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.read()
            .offset_table
            .get(&key(topic, group))
            .and_then(|q| q.get(&queue_id))
            .copied()
    }

    /// Every committed position of a group in a topic.
    pub fn queues(&self, group: &str, topic: &str) -> BTreeMap<i32, i64> {
        self.read()
            .offset_table
            .get(&key(topic, group))
            .cloned()
            .unwrap_or_default()
    }

    /// Groups with offsets in `topic`.
    pub fn groups_of_topic(&self, topic: &str) -> Vec<String> {
        let prefix = format!("{topic}@");
        self.read()
            .offset_table
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned))
            .collect()
    }

    /// Topics a group has offsets in.
    pub fn topics_of_group(&self, group: &str) -> Vec<String> {
        let suffix = format!("@{group}");
        self.read()
            .offset_table
            .keys()
            .filter_map(|k| k.strip_suffix(&suffix).map(str::to_owned))
            .collect()
    }

    /// Forgets a group's offsets in every topic.
    pub fn remove_group(&self, group: &str) {
        let suffix = format!("@{group}");
        self.write()
            .offset_table
            .retain(|k, _| !k.ends_with(&suffix));
        self.dirty.store(true, Ordering::Release);
    }

    /// Forgets every group's offsets in `topic`.
    pub fn remove_topic(&self, topic: &str) {
        let prefix = format!("{topic}@");
        self.write()
            .offset_table
            .retain(|k, _| !k.starts_with(&prefix));
        self.dirty.store(true, Ordering::Release);
    }

    /// The whole table (GET_ALL_CONSUMER_OFFSET, slave sync).
    pub fn snapshot(&self) -> OffsetTable {
        self.read().clone()
    }

    /// A slave's copy of its master's offsets (Apache's `SlaveSynchronize`): every `topic@group`
    /// the master has offsets for takes the master's; the others keep ours (commits consumers
    /// made here while the master was away). Written at once when it changed anything.
    pub fn merge_from_master(
        &self,
        master: BTreeMap<String, BTreeMap<i32, i64>>,
    ) -> std::io::Result<()> {
        {
            let mut table = self.write();
            let changed = master
                .iter()
                .any(|(key, queues)| table.offset_table.get(key) != Some(queues));
            if !changed {
                return Ok(());
            }
            table.offset_table.extend(master);
        }
        self.dirty.store(true, Ordering::Release);
        self.persist_if_dirty()
    }

    /// Writes the file if anything changed since the last write.
    pub fn persist_if_dirty(&self) -> std::io::Result<()> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        crate::state_file::save(&self.path, &*self.read())
            .inspect_err(|_| self.dirty.store(true, Ordering::Release))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_persist_in_javas_shape_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("consumerOffset.json");
        let offsets = ConsumerOffsets::open(path.clone()).unwrap();
        offsets.commit("cg", "TopicTest", 0, 118);
        offsets.commit("cg", "TopicTest", 1, 97);
        offsets.persist_if_dirty().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            r#"{"offsetTable":{"TopicTest@cg":{0:118,1:97}}}"#
        );
        let reloaded = ConsumerOffsets::open(path).unwrap();
        assert_eq!(reloaded.query("cg", "TopicTest", 1), Some(97));
        assert_eq!(reloaded.groups_of_topic("TopicTest"), vec!["cg".to_owned()]);
        assert_eq!(reloaded.topics_of_group("cg"), vec!["TopicTest".to_owned()]);
        reloaded.remove_group("cg");
        assert_eq!(reloaded.query("cg", "TopicTest", 1), None);
    }
}
