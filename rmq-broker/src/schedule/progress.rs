//! How far delayed delivery has got, in `config/delayOffset.json` (Java's file and shape,
//! `{"offsetTable":{1:118,2:0}}` keyed by delay level) plus `timerOffset`, the timer topic's
//! consume-queue offset up to which messages are filed in the timer wheel (Java ignores the
//! extra field). Written every `flushConsumerOffsetInterval` and at shutdown; after a crash,
//! at most that much is delivered a second time (delivery is at-least-once).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

/// The file's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DelayOffsetTable {
    /// Delay level → next schedule-queue offset to deliver.
    #[serde(default)]
    pub offset_table: BTreeMap<i32, i64>,
    /// Next timer-topic queue offset to file into the wheel.
    #[serde(default)]
    pub timer_offset: i64,
}

/// The progress table with a dirty flag, so the periodic flush writes only after changes.
pub struct ScheduleProgress {
    path: PathBuf,
    table: Mutex<DelayOffsetTable>,
    dirty: AtomicBool,
}

impl ScheduleProgress {
    /// Loads `path`; a missing file means nothing was delivered yet.
    pub fn open(path: PathBuf) -> Result<Self, String> {
        let table = crate::state_file::load(&path)?;
        Ok(ScheduleProgress {
            path,
            table: Mutex::new(table),
            dirty: AtomicBool::new(false),
        })
    }

    fn table(&self) -> MutexGuard<'_, DelayOffsetTable> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Next offset to deliver of `level`'s schedule queue.
    pub fn level_offset(&self, level: i32) -> i64 {
        self.table().offset_table.get(&level).copied().unwrap_or(0)
    }

    /// Records that `level` is delivered up to `offset`.
    pub fn set_level_offset(&self, level: i32, offset: i64) {
        self.table().offset_table.insert(level, offset);
        self.dirty.store(true, Ordering::Release);
    }

    /// Next timer-topic offset to file into the wheel.
    pub fn timer_offset(&self) -> i64 {
        self.table().timer_offset
    }

    /// Records that timer messages up to `offset` are filed.
    pub fn set_timer_offset(&self, offset: i64) {
        self.table().timer_offset = offset;
        self.dirty.store(true, Ordering::Release);
    }

    /// A slave's copy of its master's delay-level progress (Apache's `SlaveSynchronize` writes
    /// the master's file over its own). The timer offset stays ours: it counts what this
    /// broker filed in its own timer wheel. Written at once when it changed anything.
    pub fn replace_levels_with_master(&self, master: BTreeMap<i32, i64>) -> std::io::Result<()> {
        {
            let mut table = self.table();
            if table.offset_table == master {
                return Ok(());
            }
            table.offset_table = master;
        }
        self.dirty.store(true, Ordering::Release);
        self.persist_if_dirty()
    }

    /// The table as it is now (admin views, tests).
    pub fn snapshot(&self) -> DelayOffsetTable {
        self.table().clone()
    }

    /// Writes the file if anything changed since the last write.
    pub fn persist_if_dirty(&self) -> std::io::Result<()> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let snapshot = self.snapshot();
        crate::state_file::save(&self.path, &snapshot).inspect_err(|_| {
            self.dirty.store(true, Ordering::Release);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_a_reopen_in_java_s_shape() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("delayOffset.json");
        let progress = ScheduleProgress::open(path.clone()).unwrap();
        progress.set_level_offset(3, 17);
        progress.set_timer_offset(5);
        progress.persist_if_dirty().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"offsetTable\":{3:17}"), "{text}");
        let again = ScheduleProgress::open(path).unwrap();
        assert_eq!(again.level_offset(3), 17);
        assert_eq!(again.level_offset(1), 0);
        assert_eq!(again.timer_offset(), 5);
    }
}
