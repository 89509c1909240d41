//! The epoch file of a controller-mode replica (`docs/replication.md`, "Failover").
//!
//! Every master elected by the controller starts a new epoch. The file lists, oldest first,
//! `epoch-startOffset` pairs: from `startOffset` on, the commit log was written by that epoch's
//! master. Two replicas share their logs up to the end of the newest epoch they both have with
//! the same start, so a replica about to follow a new master cuts everything after that point
//! (a deposed master's unacknowledged tail) and never serves two histories.
//!
//! The format is Apache RocketMQ 5's `epochFileCheckpoint` (the number of entries, a CRC32 of
//! the entry lines or 0, then one line per entry), so tools that read Apache's file read ours.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use rmq_remoting::body::controller::EpochEntry;

/// Why the epoch file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum EpochFileError {
    /// The file system refused.
    #[error("epoch file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The content is not an epoch file.
    #[error("epoch file {path} is damaged: {reason}; delete it and the replica's store to resync it from the master")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// A replica's epoch history, persisted on every change.
pub struct EpochFile {
    path: PathBuf,
    /// (epoch, start offset), oldest first; epochs and starts never decrease.
    entries: Mutex<Vec<(i32, i64)>>,
}

impl EpochFile {
    /// Loads `path`, or starts empty when it does not exist.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, EpochFileError> {
        let path = path.into();
        let entries = match rmq_config::persist::read_if_present(&path) {
            Ok(Some(bytes)) => parse(&String::from_utf8_lossy(&bytes)).map_err(|reason| {
                EpochFileError::Damaged {
                    path: path.clone(),
                    reason,
                }
            })?,
            Ok(None) => Vec::new(),
            Err(source) => return Err(EpochFileError::Io { path, source }),
        };
        Ok(EpochFile {
            path,
            entries: Mutex::new(entries),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Vec<(i32, i64)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The entries with their end offsets (the next entry's start; `i64::MAX` for the newest).
    pub fn entries(&self) -> Vec<EpochEntry> {
        with_ends(&self.lock())
    }

    /// The newest epoch (0 before any).
    pub fn last_epoch(&self) -> i32 {
        self.lock().last().map_or(0, |e| e.0)
    }

    /// Starts `epoch` at `start` on a replica that became master: entries that start at or
    /// after `start` (history this replica never received) or carry `epoch` or later go first.
    /// Already master of `epoch`, the entry stays as it is.
    pub fn begin(&self, epoch: i32, start: i64) -> Result<(), EpochFileError> {
        let mut entries = self.lock();
        if entries
            .last()
            .is_some_and(|&(e, s)| e == epoch && s <= start)
        {
            // Master of the same epoch again (a restart the controller did not act on).
            return Ok(());
        }
        entries.retain(|&(e, s)| e < epoch && s < start);
        entries.push((epoch, start));
        self.persist(&entries)
    }

    /// Takes the master's history as this replica's own, after cutting the log to the point
    /// both share (so the replica's log is a prefix of the master's).
    pub fn adopt(&self, master: &[EpochEntry]) -> Result<(), EpochFileError> {
        let mut entries = self.lock();
        let adopted: Vec<(i32, i64)> = master.iter().map(|e| (e.epoch, e.start_offset)).collect();
        if *entries == adopted {
            return Ok(());
        }
        *entries = adopted;
        self.persist(&entries)
    }

    fn persist(&self, entries: &[(i32, i64)]) -> Result<(), EpochFileError> {
        rmq_config::persist::write_atomically(&self.path, render(entries).as_bytes()).map_err(
            |source| EpochFileError::Io {
                path: self.path.clone(),
                source,
            },
        )
    }
}

fn with_ends(entries: &[(i32, i64)]) -> Vec<EpochEntry> {
    entries
        .iter()
        .enumerate()
        .map(|(i, &(epoch, start_offset))| EpochEntry {
            epoch,
            start_offset,
            end_offset: entries.get(i + 1).map_or(i64::MAX, |n| n.1),
        })
        .collect()
}

/// CRC32 as Apache's `UtilAll.crc32` gives it: the sign bit cleared, so the number printed in
/// the file is never negative (Apache refuses a file whose CRC it reads differently).
fn apache_crc32(bytes: &[u8]) -> i32 {
    (crc32fast::hash(bytes) & 0x7FFF_FFFF) as i32
}

fn render(entries: &[(i32, i64)]) -> String {
    let lines: String = entries.iter().map(|(e, s)| format!("{e}-{s}\n")).collect();
    let crc = apache_crc32(lines.as_bytes());
    format!("{}\n{crc}\n{lines}", entries.len())
}

fn parse(text: &str) -> Result<Vec<(i32, i64)>, String> {
    let mut lines = text.lines();
    let count: usize = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or("the first line is not an entry count")?;
    let crc: i32 = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or("the second line is not a CRC32")?;
    let mut body = String::new();
    let mut entries = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        body.push_str(line);
        body.push('\n');
        let (e, s) = line
            .trim()
            .split_once('-')
            .and_then(|(e, s)| Some((e.parse::<i32>().ok()?, s.parse::<i64>().ok()?)))
            .ok_or_else(|| format!("line {line:?} is not epoch-startOffset"))?;
        entries.push((e, s));
    }
    if entries.len() != count {
        return Err(format!(
            "{count} entries announced, {} found",
            entries.len()
        ));
    }
    if crc != 0 && apache_crc32(body.as_bytes()) != crc {
        return Err("CRC32 mismatch".to_owned());
    }
    Ok(entries)
}

/// The commit-log offset up to which a replica (`local`, log ending at `local_end`) and a master
/// (`master`, ending at `master_end`) hold the same bytes: the end of the newest epoch both
/// have with the same start. `None` when they share no epoch.
pub fn consistent_point(
    local: &[EpochEntry],
    local_end: i64,
    master: &[EpochEntry],
    master_end: i64,
) -> Option<i64> {
    local.iter().rev().find_map(|l| {
        let m = master
            .iter()
            .find(|m| m.epoch == l.epoch && m.start_offset == l.start_offset)?;
        Some(
            l.end_offset
                .min(local_end)
                .min(m.end_offset)
                .min(master_end),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(list: &[(i32, i64)]) -> Vec<EpochEntry> {
        with_ends(list)
    }

    #[test]
    fn the_file_round_trips_and_matches_apaches_layout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("epochFileCheckpoint");
        let f = EpochFile::open(&path).unwrap();
        assert_eq!(f.last_epoch(), 0);
        f.begin(1, 0).unwrap();
        f.begin(3, 4096).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let crc = crc32fast::hash(b"1-0\n3-4096\n") & 0x7FFF_FFFF;
        assert_eq!(text, format!("2\n{crc}\n1-0\n3-4096\n"));
        // A CRC with the top bit set, as Apache writes it: cleared, never negative.
        let lines = |e: &[(i32, i64)]| {
            e.iter()
                .map(|(a, b)| format!("{a}-{b}\n"))
                .collect::<String>()
        };
        let high = (0..100)
            .map(|n| [(1, 0), (2, n * 4096)])
            .find(|e| crc32fast::hash(lines(e).as_bytes()) >> 31 == 1)
            .expect("some history has a CRC with the top bit set");
        let text = render(&high);
        assert!(!text.lines().nth(1).unwrap().starts_with('-'), "{text}");
        assert_eq!(parse(&text).unwrap(), high.to_vec());
        let again = EpochFile::open(&path).unwrap();
        assert_eq!(again.entries(), entries(&[(1, 0), (3, 4096)]));
        assert_eq!(again.entries()[0].end_offset, 4096);
        std::fs::write(&path, "2\n5\n1-0\n3-4096\n").unwrap();
        assert!(matches!(
            EpochFile::open(&path),
            Err(EpochFileError::Damaged { .. })
        ));
    }

    #[test]
    fn a_new_master_drops_history_it_never_received() {
        let dir = tempfile::tempdir().unwrap();
        let f = EpochFile::open(dir.path().join("e")).unwrap();
        f.adopt(&entries(&[(1, 0), (2, 1000), (4, 5000)])).unwrap();
        // This replica's log ends at 3000: epoch 4 started beyond it.
        f.begin(5, 3000).unwrap();
        assert_eq!(f.entries(), entries(&[(1, 0), (2, 1000), (5, 3000)]));
    }

    #[test]
    fn the_consistent_point_is_the_end_of_the_newest_shared_epoch() {
        // The replica led epoch 2 and wrote to 2500; the new master took epoch 3 at 2000.
        let local = entries(&[(1, 0), (2, 1000)]);
        let master = entries(&[(1, 0), (2, 1000), (3, 2000)]);
        assert_eq!(consistent_point(&local, 2500, &master, 9000), Some(2000));
        // A replica that simply lags shares everything it has.
        assert_eq!(consistent_point(&local, 1500, &master, 9000), Some(1500));
        // Same epoch number, different start: not shared; fall back to the older epoch.
        let forked = entries(&[(1, 0), (2, 1200)]);
        assert_eq!(consistent_point(&forked, 1500, &master, 9000), Some(1000));
        assert_eq!(
            consistent_point(&entries(&[(7, 0)]), 10, &master, 9000),
            None
        );
    }
}
