//! Recovery at open: load the consume queues, scan the commit log from the checkpoint, re-dispatch
//! every valid record, cut the torn tail, and drop consume-queue entries past the cut.

use super::*;

/// Smallest unit a disk writes: a write lost in a power loss zeroes whole sectors.
const SECTOR: u64 = 512;

/// Why a record whose body CRC and sizes check out still cannot be whole, if it cannot.
///
/// The record format has a CRC of the body only (as RocketMQ's). Files are preallocated with
/// zeros and every byte is written once, so a write lost in a power loss reads back as zeros
/// from a sector boundary on: zeros where the topic is (a producer cannot send them), a last
/// property byte of zero (every property ends with a separator), or a whole sector of zeros
/// starting at a sector boundary inside the properties mean a sector of the record never
/// reached the disk. Shorter runs of zeros are data: a property value may hold NUL characters
/// (Java strings can), and cutting there would drop that record and every acknowledged one after
/// it. `pos` is where the record starts in its file (files start at sector multiples).
fn lost_bytes(v: &RecordView<'_>, pos: u64) -> Option<&'static str> {
    if !valid_topic(v.topic) {
        return Some("the topic holds bytes no producer can send (a lost write)");
    }
    let props = v.properties.as_bytes();
    if props.last() == Some(&0) {
        return Some("the properties end in a zero byte (a lost write)");
    }
    let props_at = pos + v.total_size as u64 - props.len() as u64;
    let first = props_at.div_ceil(SECTOR) * SECTOR - props_at;
    let lost = (first..props.len() as u64)
        .step_by(SECTOR as usize)
        .any(|i| {
            let end = (i + SECTOR).min(props.len() as u64);
            props[i as usize..end as usize].iter().all(|b| *b == 0)
        });
    lost.then_some("the properties hold a zeroed sector (a lost write)")
}

/// What one step of the recovery scan found at a position of a commit-log file.
enum Step {
    /// A valid record of this many bytes, re-dispatched.
    Record(u64),
    /// The end-of-file padding: the scan goes on in the next file.
    Padding,
    /// Zeros: the data ends here.
    EndOfData,
    /// Something that is not a record: the log is cut here, for this reason.
    Invalid(String),
}

pub(super) fn load_queues(config: &StoreConfig) -> Result<QueueMap> {
    let root = config.consume_queue_dir();
    std::fs::create_dir_all(&root).map_err(|e| StoreError::io(&root, e))?;
    let mut map: QueueMap = HashMap::new();
    for topic in std::fs::read_dir(&root).map_err(|e| StoreError::io(&root, e))? {
        let topic = topic.map_err(|e| StoreError::io(&root, e))?;
        let Some(name) = topic.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if !valid_topic(&name) || !topic.path().is_dir() {
            continue;
        }
        for q in std::fs::read_dir(topic.path()).map_err(|e| StoreError::io(topic.path(), e))? {
            let q = q.map_err(|e| StoreError::io(topic.path(), e))?;
            let Some(qid) = q.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            let cq = ConsumeQueue::open(
                &root,
                &name,
                qid,
                config.consume_queue_file_size(),
                config.preallocate_files,
            )?;
            cq.recover()?;
            map.entry(name.clone())
                .or_default()
                .insert(qid, Arc::new(cq));
        }
    }
    Ok(map)
}

impl Inner {
    /// Scans the commit log from the checkpoint, re-dispatches every valid record, cuts the torn
    /// tail and drops consume-queue entries past the cut.
    pub(super) fn recover(&self, cp: Option<Checkpoint>) -> Result<RecoveryReport> {
        let mut report = RecoveryReport::default();
        let files = self.commit_log.files();
        if files.is_empty() {
            // Nothing stored: consume queues and index cannot point anywhere.
            self.drop_all_queue_entries_above(0, &mut report)?;
            return Ok(report);
        }
        self.index_from
            .store(self.index.max_indexed_phys().max(0), Ordering::Release);
        let size = self.commit_log.file_size();
        let (mut idx, mut pos) = self.scan_start(&files, cp);
        for f in &files[..idx] {
            f.set_wrote(size);
            f.set_flushed(size);
        }
        files[idx].set_wrote(pos);
        files[idx].set_flushed(pos);
        report.scanned_from = (files[idx].start() + pos) as i64;
        let stop = loop {
            let f = &files[idx];
            match self.recover_step(f, pos)? {
                Step::Record(len) => {
                    report.records_redispatched += 1;
                    pos += len;
                }
                Step::Padding => pos = size,
                Step::EndOfData => break None,
                Step::Invalid(reason) => break Some(reason),
            }
            // Not `flushed`: the scanned bytes may be in the page cache only; `open` syncs them.
            f.set_wrote(pos);
            if pos == size {
                if idx + 1 == files.len() {
                    break None;
                }
                idx += 1;
                pos = 0;
            }
        };
        self.cut_tail(files[idx].start() + pos, stop, &mut report)?;
        Ok(report)
    }

    /// Where the scan starts: the file index and position of the checkpoint's safe offset (the
    /// lower of its two, the index's being synced less often) when a record (or the end of the
    /// data) begins there, else the start of that file, or of the whole log when the checkpoint
    /// is missing, torn, or the queues are gone.
    ///
    /// Everything below `safe` is on disk and dispatched, its queues and index flushed before
    /// the checkpoint was written: after a clean stop and after a crash alike, the scan starts at
    /// `safe` itself, so a restart costs the same whatever the size of the store. A torn tail
    /// always lies above `safe`: nothing there was acknowledged as flushed.
    fn scan_start(&self, files: &[Arc<MappedFile>], cp: Option<Checkpoint>) -> (usize, u64) {
        let no_queues = self
            .queues
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty();
        let safe = match cp {
            // Without an index the checkpoint writer keeps both offsets equal.
            Some(cp) if !no_queues => cp.safe_offset.min(cp.index_safe_offset).max(0) as u64,
            Some(_) => 0,
            None => {
                tracing::warn!("checkpoint missing or torn: scanning the whole commit log");
                0
            }
        };
        let idx = files.iter().rposition(|f| f.start() <= safe).unwrap_or(0);
        let first = &files[idx];
        let pos = safe.saturating_sub(first.start());
        if pos > 0 && self.config.message_index_enable && self.index.max_indexed_phys() < 0 {
            // The index files are gone: index at least that file again.
            return (idx, 0);
        }
        let size = self.commit_log.file_size();
        if pos > 0 && !Self::record_boundary(first, pos, size, self.config.check_crc_on_recover) {
            tracing::warn!(
                "recovery: checkpoint offset {safe} is not a record boundary; scanning {} from its start",
                first.path().display()
            );
            return (idx, 0);
        }
        (idx, pos)
    }

    /// One step of the scan: what starts at `pos` of `f`, re-dispatching it when it is a valid
    /// record.
    fn recover_step(&self, f: &MappedFile, pos: u64) -> Result<Step> {
        let size = f.size();
        if pos + END_FILE_MIN_BLANK_LENGTH > size {
            // Records always leave room for a padding: the file ends here.
            return Ok(Step::Invalid(format!(
                "file {} ends without padding at {pos}",
                f.path().display()
            )));
        }
        let Some((total, magic)) = record_head(f, pos) else {
            return Ok(Step::EndOfData);
        };
        if total == 0 && magic == 0 {
            return Ok(Step::EndOfData);
        }
        if magic == BLANK_MAGIC_CODE {
            return Ok(if total as u64 == size - pos {
                Step::Padding
            } else {
                Step::Invalid(format!(
                    "end-of-file padding of {total} bytes at {pos} does not reach the file end"
                ))
            });
        }
        let rest = f.bytes(pos, size - pos).unwrap_or(&[]);
        let v = match decode_record(rest, self.config.check_crc_on_recover) {
            Ok(v) => v,
            Err(e) => return Ok(Step::Invalid(e.to_string())),
        };
        let phys = f.start() + pos;
        if v.physical_offset != phys as i64 {
            return Ok(Step::Invalid(format!(
                "record claims physical offset {} (stale data)",
                v.physical_offset
            )));
        }
        if let Some(reason) = lost_bytes(&v, pos) {
            return Ok(Step::Invalid(reason.into()));
        }
        let tx = sys_flag::transaction_type(v.sys_flag);
        if tx == sys_flag::TRANSACTION_NOT_TYPE || tx == sys_flag::TRANSACTION_COMMIT {
            let qmax = self
                .queue(v.topic, v.queue_id)
                .map(|q| q.max_offset() as i64)
                .unwrap_or(0);
            // A slave that started from the master's newest file has queues that begin far
            // above 0: the bound applies once a queue has entries.
            if v.queue_offset < 0 || (qmax > 0 && v.queue_offset > qmax + 1_000_000) {
                return Ok(Step::Invalid(format!(
                    "implausible queue offset {} (queue max {qmax})",
                    v.queue_offset
                )));
            }
        }
        if (v.total_size as u64) + END_FILE_MIN_BLANK_LENGTH > size - pos {
            return Ok(Step::Invalid(
                "record leaves no room for the end-of-file padding".into(),
            ));
        }
        self.dispatch(&v, phys as i64, v.total_size, None)?;
        Ok(Step::Record(v.total_size as u64))
    }

    /// Cuts the commit log at `valid_end` (logging why when `stop` says the scan met damage),
    /// then makes the index and consume queues follow.
    fn cut_tail(
        &self,
        valid_end: u64,
        stop: Option<String>,
        report: &mut RecoveryReport,
    ) -> Result<()> {
        report.valid_end = valid_end as i64;
        if let Some(reason) = stop {
            tracing::warn!(
                "recovery: commit log truncated at physical offset {valid_end}: {reason}; the bytes after it (a torn or \
                 corrupt tail, never acknowledged in SYNC_FLUSH) are discarded"
            );
            report.truncated = Some((valid_end as i64, reason));
        }
        self.commit_log.truncate(valid_end)?;
        // Index entries at or past the cut are stale (lookups verify and skip them); everything
        // appended from here on must be indexed.
        self.index_from
            .fetch_min(valid_end as i64, Ordering::AcqRel);
        self.drop_all_queue_entries_above(valid_end as i64, report)?;
        let min = self.commit_log.min_offset() as i64;
        for q in self.all_queues() {
            q.correct_min_offset(min);
        }
        tracing::info!(
            "recovery: scanned commit log from {} to {}, re-dispatched {} records, dropped {} consume-queue entries",
            report.scanned_from,
            report.valid_end,
            report.records_redispatched,
            report.cq_entries_dropped
        );
        Ok(())
    }

    /// Whether the end of the data, an end-of-file padding or a valid record whose stored
    /// physical offset matches starts at `pos` of `f`.
    pub(super) fn record_boundary(f: &MappedFile, pos: u64, size: u64, verify: bool) -> bool {
        let Some((total, magic)) = record_head(f, pos) else {
            return false;
        };
        if total == 0 && magic == 0 || magic == BLANK_MAGIC_CODE && total as u64 == size - pos {
            return true;
        }
        let rest = f.bytes(pos, size - pos).unwrap_or(&[]);
        decode_record(rest, verify).is_ok_and(|v| v.physical_offset == (f.start() + pos) as i64)
    }

    pub(super) fn drop_all_queue_entries_above(
        &self,
        end: i64,
        report: &mut RecoveryReport,
    ) -> Result<()> {
        for q in self.all_queues() {
            let n = q.truncate_dirty(end)?;
            if n > 0 {
                tracing::warn!(
                    "recovery: dropped {n} entries of consume queue {}/{} past the commit log end",
                    q.topic(),
                    q.queue_id()
                );
            }
            report.cq_entries_dropped += n;
        }
        if end == 0 {
            self.index.destroy()?;
            let empty: Vec<Arc<ConsumeQueue>> = self
                .all_queues()
                .into_iter()
                .filter(|q| q.max_offset() == 0)
                .collect();
            for q in empty {
                q.destroy()?;
            }
        }
        Ok(())
    }
}
