//! Delivery at an arbitrary time (RocketMQ 5's timer messages) through a time wheel on disk.
//!
//! Messages wait in the timer topic; their consume-queue entries carry the delivery time as tag
//! code. One task files each new entry — 16 bytes, delivery time and commit-log offset — into
//! `timerwheel/<bucket start ms>`, one append-only file per second of delivery time, and records
//! how far it filed (`timerOffset` in `delayOffset.json`). When a bucket's second arrives, its
//! file is read into a small heap and its messages are re-stored under their real topic at their
//! exact time; the file is removed once every message of it is delivered. Memory therefore holds
//! only the current second's entries (plus overdue ones after downtime, loaded a bounded number
//! at a time), however many millions are pending; a restart re-reads the files that are left.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rmq_store::TIMER_TOPIC;

use super::{now_ms, release, ReleaseError};
use crate::state::BrokerContext;

/// Width of a bucket (one file) in milliseconds.
const BUCKET_MS: i64 = 1_000;
/// Bytes per filed message: delivery time and commit-log offset, big-endian.
const ENTRY_LEN: usize = 16;
/// Most entries held in memory; overdue buckets beyond it wait for the next round.
const MAX_LOADED: usize = 200_000;
/// Most consume-queue entries filed per round, so delivery stays timely under a send burst.
const FILE_BATCH: usize = 20_000;
/// Pause after an error before trying again.
const RETRY_AFTER_ERROR: Duration = Duration::from_secs(1);
/// Longest sleep with nothing pending; new timer messages wake the task earlier.
const IDLE_WAIT: Duration = Duration::from_secs(60);

/// Why a timer round stopped early.
#[derive(Debug, thiserror::Error)]
enum TimerError {
    #[error("timer wheel file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Release(#[from] ReleaseError),
}

/// A message waiting in the wheel: (delivery time ms, commit-log offset).
type Entry = (i64, i64);

/// The buckets on disk and the heap of the loaded ones.
struct Wheel {
    dir: PathBuf,
    /// Buckets with a file that is not loaded yet.
    pending: BTreeSet<i64>,
    /// Buckets whose file is loaded; new entries for them go to the heap as well.
    loaded: BTreeSet<i64>,
    due: BinaryHeap<Reverse<Entry>>,
}

fn bucket_of(deliver_at: i64) -> i64 {
    deliver_at.div_euclid(BUCKET_MS) * BUCKET_MS
}

impl Wheel {
    fn open(dir: PathBuf) -> Result<Self, TimerError> {
        let io = |source| TimerError::Io {
            path: dir.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let mut pending = BTreeSet::new();
        for file in std::fs::read_dir(&dir).map_err(io)? {
            let name = file.map_err(io)?.file_name();
            match name.to_str().and_then(|n| n.parse::<i64>().ok()) {
                Some(bucket) => {
                    pending.insert(bucket);
                }
                None => {
                    tracing::warn!(?name, dir = %dir.display(), "ignoring a stray file in the timer wheel")
                }
            }
        }
        Ok(Wheel {
            dir,
            pending,
            loaded: BTreeSet::new(),
            due: BinaryHeap::new(),
        })
    }

    fn path(&self, bucket: i64) -> PathBuf {
        self.dir.join(bucket.to_string())
    }

    /// Files `entries` in their buckets' files (and in the heap for loaded buckets).
    fn add(&mut self, entries: &[Entry]) -> Result<(), TimerError> {
        let mut by_bucket: BTreeMap<i64, Vec<u8>> = BTreeMap::new();
        for &(at, phys) in entries {
            let bytes = by_bucket.entry(bucket_of(at)).or_default();
            bytes.extend_from_slice(&at.to_be_bytes());
            bytes.extend_from_slice(&phys.to_be_bytes());
        }
        for (bucket, bytes) in by_bucket {
            let path = self.path(bucket);
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .and_then(|mut f| f.write_all(&bytes))
                .map_err(|source| TimerError::Io { path, source })?;
            if !self.loaded.contains(&bucket) {
                self.pending.insert(bucket);
            }
        }
        for &(at, phys) in entries {
            if self.loaded.contains(&bucket_of(at)) {
                self.due.push(Reverse((at, phys)));
            }
        }
        Ok(())
    }

    /// Loads the buckets whose second has begun, oldest first, while the heap has room.
    fn load_started(&mut self, now: i64) -> Result<(), TimerError> {
        while let Some(&bucket) = self.pending.first() {
            if bucket > now || self.due.len() >= MAX_LOADED {
                break;
            }
            let path = self.path(bucket);
            let bytes = match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(source) => return Err(TimerError::Io { path, source }),
            };
            let mut entries: Vec<Entry> = bytes
                .chunks_exact(ENTRY_LEN)
                .filter_map(|c| {
                    let at = i64::from_be_bytes(c.get(..8)?.try_into().ok()?);
                    let phys = i64::from_be_bytes(c.get(8..)?.try_into().ok()?);
                    Some((at, phys))
                })
                .collect();
            // An entry filed twice (a crash between filing and recording progress) is delivered once.
            entries.sort_unstable_by_key(|&(_, phys)| phys);
            entries.dedup_by_key(|&mut (_, phys)| phys);
            self.due.extend(entries.into_iter().map(Reverse));
            self.pending.remove(&bucket);
            self.loaded.insert(bucket);
        }
        Ok(())
    }

    /// The earliest loaded entry if it is due.
    fn pop_due(&mut self, now: i64) -> Option<Entry> {
        match self.due.peek() {
            Some(Reverse((at, _))) if *at <= now => self.due.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }

    /// Removes the files of loaded buckets that have nothing left to deliver.
    fn retire_delivered(&mut self) -> Result<(), TimerError> {
        while let Some(&bucket) = self.loaded.first() {
            if self
                .due
                .peek()
                .is_some_and(|Reverse((at, _))| *at < bucket + BUCKET_MS)
            {
                break;
            }
            let path = self.path(bucket);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(TimerError::Io { path, source }),
            }
            self.loaded.remove(&bucket);
        }
        Ok(())
    }

    /// When something next needs doing: the earliest loaded entry or the next bucket's start.
    fn next_wake(&self) -> Option<i64> {
        let heap = self.due.peek().map(|Reverse((at, _))| *at);
        let bucket = self.pending.first().copied();
        match (heap, bucket) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Files and delivers timer messages until the broker stops.
pub(crate) async fn run(ctx: Arc<BrokerContext>) {
    let dir = ctx.store.config().store_path_root_dir.join("timerwheel");
    let mut wheel = match Wheel::open(dir) {
        Ok(wheel) => wheel,
        Err(e) => {
            tracing::error!(error = %e, "the timer wheel cannot be opened; messages with a delivery time stay undelivered");
            return;
        }
    };
    let mut arrivals = ctx.arrivals.subscribe(TIMER_TOPIC, 0);
    loop {
        arrivals.borrow_and_update();
        let wait = match round(&ctx, &mut wheel).await {
            Ok(true) => Duration::ZERO,
            Ok(false) => wheel.next_wake().map_or(IDLE_WAIT, |at| {
                Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0))
            }),
            Err(e) => {
                tracing::warn!(error = %e, "timer delivery stalled; retrying");
                RETRY_AFTER_ERROR
            }
        };
        if wait.is_zero() {
            tokio::task::yield_now().await;
            if ctx.stopping.is_cancelled() {
                return;
            }
            continue;
        }
        tokio::select! {
            () = ctx.stopping.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
            _ = arrivals.changed() => {}
        }
    }
}

/// Files new timer messages, loads started buckets, delivers what is due and removes finished
/// buckets. Returns true when more messages are waiting to be filed.
async fn round(ctx: &Arc<BrokerContext>, wheel: &mut Wheel) -> Result<bool, TimerError> {
    let progress = &ctx.schedule_progress;
    let mut offset = progress
        .timer_offset()
        .max(ctx.store.min_offset_in_queue(TIMER_TOPIC, 0));
    let max = ctx.store.max_offset_in_queue(TIMER_TOPIC, 0);
    let mut batch = Vec::new();
    while offset < max && batch.len() < FILE_BATCH {
        if let Some(entry) = ctx.store.consume_queue_entry(TIMER_TOPIC, 0, offset) {
            batch.push((entry.tag_code, entry.phys_offset));
        }
        offset += 1;
    }
    wheel.add(&batch)?;
    if offset != progress.timer_offset() {
        progress.set_timer_offset(offset);
    }
    wheel.load_started(now_ms())?;
    while let Some(entry) = wheel.pop_due(now_ms()) {
        if let Err(e) = release(ctx, entry.1).await {
            wheel.due.push(Reverse(entry));
            return Err(e.into());
        }
    }
    wheel.retire_delivered()?;
    Ok(offset < max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_wait_in_their_second_and_files_go_once_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let mut wheel = Wheel::open(dir.path().join("w")).unwrap();
        wheel.add(&[(2_500, 7), (1_200, 5), (1_100, 6)]).unwrap();
        assert_eq!(wheel.next_wake(), Some(1_000));
        wheel.load_started(1_050).unwrap();
        assert_eq!(wheel.pop_due(1_050), None);
        assert_eq!(wheel.pop_due(1_150), Some((1_100, 6)));
        // Filed again after a crash: delivered once.
        let mut reopened = Wheel::open(dir.path().join("w")).unwrap();
        reopened.add(&[(1_200, 5)]).unwrap();
        reopened.load_started(1_300).unwrap();
        assert_eq!(reopened.pop_due(1_300), Some((1_100, 6)));
        assert_eq!(reopened.pop_due(1_300), Some((1_200, 5)));
        assert_eq!(reopened.pop_due(1_300), None);
        reopened.retire_delivered().unwrap();
        assert!(!dir.path().join("w/1000").exists());
        assert!(dir.path().join("w/2000").exists());
        // A late entry for a loaded bucket is due at once.
        reopened.load_started(2_000).unwrap();
        reopened.add(&[(2_100, 9)]).unwrap();
        assert_eq!(reopened.pop_due(2_200), Some((2_100, 9)));
        assert_eq!(reopened.pop_due(2_600), Some((2_500, 7)));
        reopened.retire_delivered().unwrap();
        assert!(!dir.path().join("w/2000").exists());
        assert_eq!(reopened.next_wake(), None);
    }
}
