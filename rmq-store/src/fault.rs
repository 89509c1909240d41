//! The seam between the store and its file I/O, for fault-injection tests.
//!
//! The store calls [`before_write`], [`before_alloc`] and [`before_sync`] ahead of every record
//! write, file creation and sync, and [`synced`] after every successful sync. Without the
//! `fault-injection` feature these are empty inline functions and compile away, so release
//! builds carry no seam. With it, a test installs a [`FaultPlan`] for a store root and can:
//! fail the Nth write, allocation or sync of a file under that root with an errno (EIO,
//! ENOSPC, ...), and simulate a power loss: the seam keeps, per file, the bytes as they were
//! at their last successful sync, and [`FaultHandle::power_loss`] rewrites the files so that
//! everything never synced is gone (zeroed, or torn: a random subset of dirty pages kept).

#[cfg(feature = "fault-injection")]
pub use imp::*;
#[cfg(not(feature = "fault-injection"))]
use std::path::Path;

/// Called before a record (or raw replicated bytes, or the checkpoint) is written into `path`.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn before_write(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Called before a file is created and preallocated at `path`.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn before_alloc(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Called before `path` is synced (msync / fdatasync).
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn before_sync(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Called after bytes `[at, at + bytes.len())` of `path` were synced successfully; `None` bytes
/// mean "that range was zeroed".
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn synced(_path: &Path, _at: u64, _len: u64, _bytes: Option<&[u8]>) {}

#[cfg(feature = "fault-injection")]
mod imp {
    use std::collections::HashMap;
    use std::os::unix::fs::FileExt;
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

    /// What to break under one store root. Counters count operations under that root, from 1.
    #[derive(Debug, Clone, Default)]
    pub struct FaultPlan {
        /// Fail the Nth record write with this errno (once: the next write succeeds).
        pub fail_write: Option<(u64, i32)>,
        /// Fail the Nth file creation with this errno (once: as if space was freed after).
        pub fail_alloc: Option<(u64, i32)>,
        /// Fail the Nth sync and every later one with this errno (a disk that went bad).
        pub fail_sync: Option<(u64, i32)>,
    }

    /// How a simulated power loss treats bytes that were written but never synced.
    #[derive(Debug, Clone, Copy)]
    pub enum LossMode {
        /// All of them are lost: every file is as it was at its last sync.
        AllUnsynced,
        /// Each 4 KiB page holding unsynced bytes independently reached the disk or not (the
        /// kernel's writeback got to some of them): a torn state, chosen by `seed`.
        TornPages {
            /// Seed of the choice.
            seed: u64,
        },
    }

    /// What a power loss changed.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct LossReport {
        /// Files rewritten.
        pub files: usize,
        /// Pages that lost unsynced bytes.
        pub pages_lost: usize,
        /// Pages with unsynced bytes that were kept (torn mode).
        pub pages_kept: usize,
    }

    #[derive(Default)]
    struct RootState {
        plan: FaultPlan,
        writes: u64,
        allocs: u64,
        syncs: u64,
        /// Set at the crash point: every later sync fails (the machine is off).
        crashed: bool,
        /// Per file: its bytes as of its last successful syncs.
        durable: HashMap<PathBuf, Vec<u8>>,
    }

    /// Every installed plan, by store root.
    type Roots = Vec<(PathBuf, Arc<Mutex<RootState>>)>;

    fn roots() -> MutexGuard<'static, Roots> {
        static ROOTS: OnceLock<Mutex<Roots>> = OnceLock::new();
        ROOTS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn state_of(path: &Path) -> Option<Arc<Mutex<RootState>>> {
        roots()
            .iter()
            .find(|(root, _)| path.starts_with(root))
            .map(|(_, s)| s.clone())
    }

    fn with_state<T>(path: &Path, f: impl FnOnce(&mut RootState) -> T) -> Option<T> {
        let state = state_of(path)?;
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        Some(f(&mut s))
    }

    fn errno(e: i32) -> std::io::Error {
        std::io::Error::from_raw_os_error(e)
    }

    /// A plan installed for one root; dropping it uninstalls it.
    pub struct FaultHandle {
        root: PathBuf,
        state: Arc<Mutex<RootState>>,
    }

    /// Starts tracking and breaking file I/O under `root` (which must not be open yet, so
    /// every file is created under the seam's eyes).
    pub fn install(root: &Path, plan: FaultPlan) -> FaultHandle {
        let state = Arc::new(Mutex::new(RootState {
            plan,
            ..RootState::default()
        }));
        let root = root.to_path_buf();
        roots().push((root.clone(), state.clone()));
        FaultHandle { root, state }
    }

    impl FaultHandle {
        fn lock(&self) -> MutexGuard<'_, RootState> {
            self.state.lock().unwrap_or_else(|p| p.into_inner())
        }

        /// Replaces the plan (counters keep counting).
        pub fn set_plan(&self, plan: FaultPlan) {
            self.lock().plan = plan;
        }

        /// (writes, allocations, syncs) seen so far.
        pub fn counts(&self) -> (u64, u64, u64) {
            let s = self.lock();
            (s.writes, s.allocs, s.syncs)
        }

        /// The crash point: from now on every sync under the root fails with EIO, so nothing
        /// more becomes durable (and no SYNC_FLUSH append is acknowledged).
        pub fn crash(&self) {
            self.lock().crashed = true;
        }

        /// Simulates the power loss after [`FaultHandle::crash`] and after the store is gone:
        /// rewrites every tracked file that still exists so that what was never synced is
        /// lost as `mode` says. Then the root works normally again (a fresh boot).
        pub fn power_loss(&self, mode: LossMode) -> std::io::Result<LossReport> {
            let mut s = self.lock();
            let mut rng = match mode {
                LossMode::AllUnsynced => None,
                LossMode::TornPages { seed } => Some(fastrand::Rng::with_seed(seed)),
            };
            let mut report = LossReport::default();
            let mut paths: Vec<PathBuf> = s.durable.keys().cloned().collect();
            paths.sort();
            for path in paths {
                let Ok(now) = std::fs::read(&path) else {
                    s.durable.remove(&path);
                    continue; // deleted
                };
                let Some(durable) = s.durable.get_mut(&path) else {
                    continue;
                };
                durable.resize(now.len(), 0);
                let mut changed = false;
                for (cur, old) in now.chunks(4096).zip(durable.chunks_mut(4096)) {
                    if cur == old {
                        continue;
                    }
                    let keep = rng.as_mut().is_some_and(|r| r.bool());
                    if keep {
                        old.copy_from_slice(cur);
                        report.pages_kept += 1;
                    } else {
                        report.pages_lost += 1;
                        changed = true;
                    }
                }
                if changed {
                    let f = std::fs::OpenOptions::new().write(true).open(&path)?;
                    f.write_all_at(durable, 0)?;
                    f.sync_all()?;
                    report.files += 1;
                }
            }
            s.crashed = false;
            s.writes = 0;
            s.allocs = 0;
            s.syncs = 0;
            s.plan = FaultPlan::default();
            Ok(report)
        }
    }

    impl Drop for FaultHandle {
        fn drop(&mut self) {
            roots().retain(|(root, _)| root != &self.root);
        }
    }

    /// See the no-feature twin: fails the planned write.
    pub(crate) fn before_write(path: &Path) -> std::io::Result<()> {
        with_state(path, |s| {
            s.writes += 1;
            match s.plan.fail_write {
                Some((n, e)) if n == s.writes => Err(errno(e)),
                _ => Ok(()),
            }
        })
        .unwrap_or(Ok(()))
    }

    /// See the no-feature twin: fails the planned allocation, and starts tracking the new file
    /// as all zeros on disk.
    pub(crate) fn before_alloc(path: &Path) -> std::io::Result<()> {
        with_state(path, |s| {
            s.allocs += 1;
            match s.plan.fail_alloc {
                Some((n, e)) if n == s.allocs => Err(errno(e)),
                _ => {
                    s.durable.insert(path.to_path_buf(), Vec::new());
                    Ok(())
                }
            }
        })
        .unwrap_or(Ok(()))
    }

    /// See the no-feature twin: fails from the planned sync on, and every sync after a crash.
    pub(crate) fn before_sync(path: &Path) -> std::io::Result<()> {
        with_state(path, |s| {
            s.syncs += 1;
            match s.plan.fail_sync {
                _ if s.crashed => Err(errno(libc::EIO)),
                Some((n, e)) if s.syncs >= n => Err(errno(e)),
                _ => Ok(()),
            }
        })
        .unwrap_or(Ok(()))
    }

    /// See the no-feature twin: records the synced bytes as durable. A file the seam has not
    /// seen created (it predates the plan) is read whole first.
    pub(crate) fn synced(path: &Path, at: u64, len: u64, bytes: Option<&[u8]>) {
        with_state(path, |s| {
            let durable = s
                .durable
                .entry(path.to_path_buf())
                .or_insert_with(|| std::fs::read(path).unwrap_or_default());
            let end = (at + len) as usize;
            if durable.len() < end {
                durable.resize(end, 0);
            }
            let dst = &mut durable[at as usize..end];
            match bytes {
                Some(b) => dst.copy_from_slice(&b[..len as usize]),
                None => dst.fill(0),
            }
        });
    }
}
