//! The message index: lookups by `topic#key` (KEYS and UNIQ_KEY) within a time range.
//!
//! Same file format as RocketMQ's `IndexFile`: a 40-byte header (begin/end store timestamp,
//! begin/end physical offset, used slot count, entry count), `maxHashSlotNum` 4-byte slots holding
//! the newest entry number for a hash, then `maxIndexNum` 20-byte entries (key hash, physical
//! offset, seconds since the file's begin timestamp, previous entry number). Files are named by
//! creation time `yyyyMMddHHmmssSSS` (UTC here). Entries can be stale after a crash or collide on
//! hash, so the store verifies every hit against the commit log.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

use rmq_remoting::message::java_string_hash_of;

use crate::error::{Result, StoreError};
use crate::mapped_file::{MappedFile, Readahead};

const HEADER: u64 = 40;
const SLOT: u64 = 4;
const ENTRY: u64 = 20;

/// The slot hash of `topic#key`: Java's `String.hashCode()` of the joined string, computed over
/// the parts so that indexing a record builds no string.
fn key_hash(topic: &str, key: &str) -> i32 {
    java_string_hash_of(&[topic, "#", key])
        .checked_abs()
        .unwrap_or(0)
}

/// `yyyyMMddHHmmssSSS` in UTC for epoch milliseconds.
pub(crate) fn timestamp_name(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = rmq_remoting::time::civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}{milli:03}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

struct IndexFile {
    file: Arc<MappedFile>,
    slot_num: u64,
    index_num: u64,
}

impl IndexFile {
    fn size(slot_num: u64, index_num: u64) -> u64 {
        HEADER + slot_num * SLOT + index_num * ENTRY
    }

    fn read_i64(&self, pos: u64) -> i64 {
        self.file
            .bytes(pos, 8)
            .and_then(|b| b.try_into().ok())
            .map(i64::from_be_bytes)
            .unwrap_or(0)
    }

    fn read_i32(&self, pos: u64) -> i32 {
        self.file
            .bytes(pos, 4)
            .and_then(|b| b.try_into().ok())
            .map(i32::from_be_bytes)
            .unwrap_or(0)
    }

    fn write(&self, pos: u64, data: &[u8]) {
        // SAFETY: only the store's writer writes; readers reach entries only through slots
        // published afterwards with Release, and header fields are plain reads of past values.
        if let Some(dst) = unsafe { self.file.bytes_mut(pos, data.len() as u64) } {
            dst.copy_from_slice(data);
        }
    }

    fn slot(&self, slot: u64) -> &AtomicU32 {
        let pos = HEADER + slot * SLOT;
        debug_assert!(pos + 4 <= self.file.size());
        // SAFETY: the mapping is page aligned and `pos` is a multiple of 4, inside the mapping, and
        // lives as long as `self`. All accesses to slots go through this atomic view.
        unsafe { &*(self.file.base_ptr().add(pos as usize) as *const AtomicU32) }
    }

    fn begin_timestamp(&self) -> i64 {
        self.read_i64(0)
    }
    fn end_timestamp(&self) -> i64 {
        self.read_i64(8)
    }
    fn end_phy(&self) -> i64 {
        self.read_i64(24)
    }
    fn index_count(&self) -> u64 {
        (self.read_i32(36).max(1)) as u64
    }
    fn is_full(&self) -> bool {
        self.index_count() >= self.index_num
    }

    /// Adds `key` → `phys`; false when full.
    ///
    /// Write order makes a crash at any point repairable: entry, begin fields (first entry),
    /// slot, entry count (publishes the entry), end fields. See [`IndexFile::repair`].
    fn put(&self, hash: i32, phys: i64, store_ts: i64) -> bool {
        let count = self.index_count();
        if count >= self.index_num {
            return false;
        }
        let slot_no = (hash as u64) % self.slot_num;
        let slot = self.slot(slot_no);
        let prev = slot.load(Ordering::Acquire);
        let prev = if u64::from(prev) >= count { 0 } else { prev };
        let begin = if count == 1 {
            store_ts
        } else {
            self.begin_timestamp()
        };
        let diff = ((store_ts - begin) / 1000).clamp(0, i64::from(i32::MAX)) as i32;
        let mut e = [0u8; 20];
        e[0..4].copy_from_slice(&hash.to_be_bytes());
        e[4..12].copy_from_slice(&phys.to_be_bytes());
        e[12..16].copy_from_slice(&diff.to_be_bytes());
        e[16..20].copy_from_slice(&(prev as i32).to_be_bytes());
        self.write(self.entry_pos(count), &e);
        if count == 1 {
            self.write(0, &store_ts.to_be_bytes());
            self.write(16, &phys.to_be_bytes());
        }
        slot.store(count as u32, Ordering::Release);
        if prev == 0 {
            let used = self.read_i32(32) + 1;
            self.write(32, &used.to_be_bytes());
        }
        self.write(36, &((count + 1) as i32).to_be_bytes());
        self.write(8, &store_ts.max(self.end_timestamp()).to_be_bytes());
        self.write(24, &phys.to_be_bytes());
        true
    }

    fn entry_pos(&self, n: u64) -> u64 {
        HEADER + self.slot_num * SLOT + n * ENTRY
    }

    /// Physical offset of the newest published entry, or -1.
    fn last_entry_phys(&self) -> i64 {
        let count = self.index_count();
        if count <= 1 {
            return -1;
        }
        self.read_i64(self.entry_pos(count - 1) + 4)
    }

    /// After a crash in the middle of [`IndexFile::put`]: unhook slots that point at an
    /// unpublished entry (restoring that entry's predecessor) and bring the end fields up to the
    /// last published entry. The record itself is indexed again by recovery.
    fn repair(&self) {
        let count = self.index_count();
        let mut fixed = 0u64;
        for s in 0..self.slot_num {
            let slot = self.slot(s);
            let v = u64::from(slot.load(Ordering::Acquire));
            if v >= count {
                let prev = if v < self.index_num {
                    self.read_i32(self.entry_pos(v) + 16)
                } else {
                    0
                };
                let prev = if prev > 0 && (prev as u64) < count {
                    prev as u32
                } else {
                    0
                };
                slot.store(prev, Ordering::Release);
                fixed += 1;
            }
        }
        if fixed > 0 {
            tracing::warn!(
                "index {}: repaired {fixed} hash slots left by an interrupted write",
                self.file.path().display()
            );
        }
        if count > 1 {
            let pos = self.entry_pos(count - 1);
            let phys = self.read_i64(pos + 4);
            let diff = i64::from(self.read_i32(pos + 12));
            let ts = self.begin_timestamp() + diff * 1000 + 999;
            self.write(24, &phys.to_be_bytes());
            self.write(8, &ts.max(self.end_timestamp()).to_be_bytes());
        }
    }

    /// After an abnormal stop (a killed process, or a power loss that kept some pages written
    /// since the last sync and lost others): keeps the entries of records below `safe`, the
    /// checkpoint's index offset (they were synced before it was written, and an entry is never
    /// rewritten), drops the later ones, and rebuilds the hash slots and the header from the kept
    /// entries, so that no slot points at a lost entry and every kept key stays reachable.
    /// Recovery indexes the records from there on again.
    fn keep_below(&self, safe: i64) {
        let is_zero = |i: u64| {
            let pos = self.entry_pos(i);
            self.read_i64(pos) == 0 && self.read_i64(pos + 8) == 0 && self.read_i32(pos + 16) == 0
        };
        let mut n = 1;
        let mut last_phys = i64::MIN;
        while n < self.index_num && !is_zero(n) {
            let phys = self.read_i64(self.entry_pos(n) + 4);
            if phys >= safe || phys < last_phys {
                break;
            }
            last_phys = phys;
            n += 1;
        }
        // Zero what is dropped, so that a later recovery cannot take it for a live entry.
        let old_count = self.index_count();
        let mut i = n;
        while i < self.index_num && (i < old_count || !is_zero(i)) {
            self.write(self.entry_pos(i), &[0u8; ENTRY as usize]);
            i += 1;
        }
        for s in 0..self.slot_num {
            self.slot(s).store(0, Ordering::Release);
        }
        let mut used = 0i32;
        for i in 1..n {
            let hash = self.read_i32(self.entry_pos(i));
            let slot = self.slot((hash as u64) % self.slot_num);
            if slot.swap(i as u32, Ordering::AcqRel) == 0 {
                used += 1;
            }
        }
        self.write(32, &used.to_be_bytes());
        self.write(36, &(n as i32).to_be_bytes());
        if n < old_count {
            tracing::warn!(
                "index {}: dropped the entries of records at or after the checkpoint (offset {safe}); they are indexed again",
                self.file.path().display()
            );
        }
        self.repair();
    }

    /// Syncs the whole file. Slots are random access, so the flushed position means nothing
    /// here: msync the whole mapping every time (the kernel writes only dirty pages).
    fn sync(&self) -> Result<()> {
        self.file.set_flushed(0);
        self.file.flush_to(self.file.size())
    }

    fn lookup(&self, hash: i32, begin_ms: i64, end_ms: i64, max: usize, out: &mut Vec<i64>) {
        let count = self.index_count();
        let mut cur = u64::from(
            self.slot((hash as u64) % self.slot_num)
                .load(Ordering::Acquire),
        );
        let file_begin = self.begin_timestamp();
        let mut steps = 0u64;
        while cur > 0 && cur < count && out.len() < max && steps < self.index_num {
            steps += 1;
            let pos = self.entry_pos(cur);
            let h = self.read_i32(pos);
            let phys = self.read_i64(pos + 4);
            let diff = self.read_i32(pos + 12);
            let prev = self.read_i32(pos + 16);
            let ts = file_begin + i64::from(diff) * 1000;
            // Entry times are truncated to seconds: widen the window by one second below.
            if h == hash && ts >= begin_ms - 1000 && ts <= end_ms {
                out.push(phys);
            }
            if prev <= 0 || (prev as u64) >= cur {
                break;
            }
            cur = prev as u64;
        }
    }
}

/// All index files, newest last.
pub(crate) struct IndexService {
    dir: PathBuf,
    slot_num: u64,
    index_num: u64,
    preallocate: bool,
    files: RwLock<Vec<IndexFile>>,
}

impl IndexService {
    /// Loads the index files of `dir`. After an abnormal stop `abnormal_safe` is the checkpoint's
    /// index offset (0 without a checkpoint): the newest file keeps only the entries below it.
    pub(crate) fn load(
        dir: &Path,
        slot_num: u32,
        index_num: u32,
        preallocate: bool,
        abnormal_safe: Option<i64>,
    ) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let slot_num = u64::from(slot_num.max(1));
        let index_num = u64::from(index_num.max(2));
        let size = IndexFile::size(slot_num, index_num);
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))? {
            let entry = entry.map_err(|e| StoreError::io(dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.len() == 17 && name.bytes().all(|b| b.is_ascii_digit()) {
                names.push(name);
            }
        }
        names.sort();
        let mut files = Vec::new();
        for name in names {
            let path = dir.join(&name);
            let len = std::fs::metadata(&path)
                .map_err(|e| StoreError::io(&path, e))?
                .len();
            if len != size {
                tracing::warn!("index file {} has size {len}, expected {size}; removing it (keys written to it can no longer be found by key)", path.display());
                std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
                continue;
            }
            let file = MappedFile::open(&path, 0, size, Readahead::OnlyWritten)?;
            files.push(IndexFile {
                file,
                slot_num,
                index_num,
            });
        }
        if let Some(last) = files.last() {
            match abnormal_safe {
                Some(safe) => last.keep_below(safe),
                None => last.repair(),
            }
        }
        Ok(IndexService {
            dir: dir.to_path_buf(),
            slot_num,
            index_num,
            preallocate,
            files: RwLock::new(files),
        })
    }

    /// Physical offset of the newest indexed record (possibly only some of its keys), or -1.
    pub(crate) fn max_indexed_phys(&self) -> i64 {
        let files = self.files.read().unwrap_or_else(|p| p.into_inner());
        files.last().map(|f| f.last_entry_phys()).unwrap_or(-1)
    }

    /// Indexes one record under `topic#key` for each key. Only the store's writer calls this.
    pub(crate) fn put<'k>(
        &self,
        topic: &str,
        keys: impl IntoIterator<Item = &'k str>,
        phys: i64,
        store_ts: i64,
    ) -> Result<()> {
        for key in keys {
            if key.is_empty() {
                continue;
            }
            let hash = key_hash(topic, key);
            loop {
                {
                    let files = self.files.read().unwrap_or_else(|p| p.into_inner());
                    if let Some(f) = files.last() {
                        if f.put(hash, phys, store_ts) {
                            break;
                        }
                    }
                }
                self.roll(store_ts)?;
            }
        }
        Ok(())
    }

    fn roll(&self, store_ts: i64) -> Result<()> {
        let mut files = self.files.write().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = files.last() {
            if !f.is_full() {
                return Ok(());
            }
            // Its last entries are synced by nobody else once it is no longer the newest file. A
            // failed sync fails the append that needed the new file (and the store).
            f.sync()?;
        }
        let mut ts = store_ts.max(files.last().map(|f| f.end_timestamp()).unwrap_or(0));
        let mut path = self.dir.join(timestamp_name(ts));
        while path.exists() {
            ts += 1;
            path = self.dir.join(timestamp_name(ts));
        }
        let size = IndexFile::size(self.slot_num, self.index_num);
        let file = MappedFile::create_at(&path, 0, size, self.preallocate, Readahead::OnlyWritten)?;
        let f = IndexFile {
            file,
            slot_num: self.slot_num,
            index_num: self.index_num,
        };
        f.write(36, &1i32.to_be_bytes());
        files.push(f);
        Ok(())
    }

    /// Physical offsets indexed under `topic#key` in `[begin_ms, end_ms]`, newest first, at most
    /// `max` (may contain stale or colliding hits: callers verify).
    pub(crate) fn query(
        &self,
        topic: &str,
        key: &str,
        max: usize,
        begin_ms: i64,
        end_ms: i64,
    ) -> Vec<i64> {
        let hash = key_hash(topic, key);
        let files = self.files.read().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for f in files.iter().rev() {
            if out.len() >= max {
                break;
            }
            if f.index_count() <= 1 {
                continue;
            }
            let (fb, fe) = (f.begin_timestamp(), f.end_timestamp());
            if fe < begin_ms - 1000 || fb > end_ms {
                continue;
            }
            f.lookup(hash, begin_ms, end_ms, max, &mut out);
        }
        out
    }

    pub(crate) fn flush(&self) -> Result<()> {
        let files = self.files.read().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = files.last() {
            f.sync()?;
        }
        Ok(())
    }

    /// Deletes index files whose newest entry points below `min_phys` (never the last file).
    pub(crate) fn delete_expired(&self, min_phys: i64) -> Result<usize> {
        let mut files = self.files.write().unwrap_or_else(|p| p.into_inner());
        let mut n = 0;
        while files.len() > 1 && files[0].end_phy() < min_phys {
            let f = files.remove(0);
            std::fs::remove_file(f.file.path()).map_err(|e| StoreError::io(f.file.path(), e))?;
            n += 1;
        }
        Ok(n)
    }

    /// Deletes every index file (rebuild from the commit log follows).
    pub(crate) fn destroy(&self) -> Result<()> {
        let mut files = self.files.write().unwrap_or_else(|p| p.into_inner());
        for f in files.drain(..) {
            std::fs::remove_file(f.file.path()).map_err(|e| StoreError::io(f.file.path(), e))?;
        }
        Ok(())
    }

    pub(crate) fn disk_bytes(&self) -> u64 {
        let files = self.files.read().unwrap_or_else(|p| p.into_inner());
        files.len() as u64 * IndexFile::size(self.slot_num, self.index_num)
    }
}

#[cfg(test)]
mod tests {
    use rmq_remoting::message::java_string_hash;

    use super::*;

    #[test]
    fn key_hash_is_java_hash_of_the_joined_key() {
        for (topic, key) in [
            ("T", "k"),
            ("BenchTopic", "C0A80105"),
            ("主题", "键\u{1F600}"),
            ("", ""),
        ] {
            let joined = java_string_hash(&format!("{topic}#{key}"));
            assert_eq!(key_hash(topic, key), joined.checked_abs().unwrap_or(0));
        }
    }

    #[test]
    fn names() {
        assert_eq!(timestamp_name(0), "19700101000000000");
        assert_eq!(timestamp_name(1_700_000_000_123), "20231114221320123");
    }

    #[test]
    fn put_query_roll() {
        let dir = tempfile::tempdir().unwrap();
        let idx = IndexService::load(dir.path(), 7, 5, true, None).unwrap();
        let base = 1_700_000_000_000;
        for i in 0..10i64 {
            idx.put(
                "T",
                ["k", format!("u{i}").as_str()],
                i * 100,
                base + i * 1000,
            )
            .unwrap();
        }
        let hits = idx.query("T", "k", 64, base, base + 20_000);
        assert_eq!(hits.len(), 10, "{hits:?}");
        assert_eq!(idx.query("T", "u3", 64, base, base + 20_000), vec![300]);
        assert!(idx
            .query("T", "u3", 64, base + 10_000, base + 20_000)
            .is_empty());
        assert!(idx.query("X", "k", 64, base, base + 20_000).is_empty());
        drop(idx);
        let idx = IndexService::load(dir.path(), 7, 5, true, None).unwrap();
        assert_eq!(idx.query("T", "k", 3, base, base + 20_000).len(), 3);
        assert_eq!(idx.max_indexed_phys(), 900);
        assert!(idx.delete_expired(850).unwrap() > 0);
        assert!(idx.query("T", "u0", 64, base, base + 20_000).is_empty());
    }
}
