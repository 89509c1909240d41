//! Memory-mapped, preallocated, fixed-size files named by their 20-digit start offset, and the
//! ordered queue of them that forms one logical byte stream (commit log, consume queue).
//!
//! Writes are done by one thread at a time (the caller holds the store's writer lock); reads
//! may happen concurrently from any thread, but only below the published write position, so a
//! reader never sees a half-written record.

use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use memmap2::MmapRaw;

use crate::error::{Result, StoreError};

/// Name of a file that starts at `offset`: 20 digits, zero padded.
pub(crate) fn file_name(offset: u64) -> String {
    format!("{offset:020}")
}

/// How far the written part of a file must grow before its `MADV_RANDOM` advice is lifted
/// ([`MappedFile::set_wrote`]): a multiple of every page size, and rare enough to cost nothing.
const NORMAL_ADVICE_STEP: u64 = 4 << 20;

/// Where the kernel may read ahead in a mapped file ([`MappedFile::set_wrote`] says why).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Readahead {
    /// Everywhere (the kernel's default): appends fault in large folios, few faults per MiB,
    /// but a sync writes each dirty folio whole. For a file synced rarely relative to its
    /// appends: the ASYNC_FLUSH commit log.
    Everywhere,
    /// Only where written: the unwritten part is `MADV_RANDOM`, so a fault there maps one page
    /// and a sync writes only what changed. For files synced after every few appends: the
    /// SYNC_FLUSH commit log, consume queues, index files.
    OnlyWritten,
}

/// One mapped file.
pub(crate) struct MappedFile {
    path: PathBuf,
    start: u64,
    size: u64,
    map: MmapRaw,
    file: File,
    /// Bytes written (relative to `start`), published with Release after the bytes are in place.
    wrote: AtomicU64,
    /// Bytes known durable (relative).
    flushed: AtomicU64,
    /// Start of the range still advised `MADV_RANDOM` (the part not yet written, see
    /// [`MappedFile::set_wrote`]); `size` when none is.
    random_from: AtomicU64,
    /// Held across a sync and the move of `flushed` it allows, and by whoever lowers `flushed`
    /// (a truncation), so that a sync that read the old written position cannot raise `flushed`
    /// again after a truncation lowered it.
    sync: Mutex<()>,
}

fn preallocate(file: &File, len: u64) -> std::io::Result<()> {
    // SAFETY: plain syscall on an open descriptor.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len as libc::off_t) };
    if rc == 0 {
        Ok(())
    } else if rc == libc::EOPNOTSUPP || rc == libc::EINVAL {
        // Filesystem without fallocate (tmpfs is fine, some FUSE are not): fall back to sparse.
        Ok(())
    } else {
        Err(std::io::Error::from_raw_os_error(rc))
    }
}

impl MappedFile {
    /// Creates (or re-creates) a file of `size` bytes at `dir/<start>`.
    pub(crate) fn create(
        dir: &Path,
        start: u64,
        size: u64,
        preallocate_blocks: bool,
        readahead: Readahead,
    ) -> Result<Arc<Self>> {
        Self::create_at(
            &dir.join(file_name(start)),
            start,
            size,
            preallocate_blocks,
            readahead,
        )
    }

    /// Creates a file of `size` bytes at `path` (named freely, e.g. index files).
    pub(crate) fn create_at(
        path: &Path,
        start: u64,
        size: u64,
        preallocate_blocks: bool,
        readahead: Readahead,
    ) -> Result<Arc<Self>> {
        let path = path.to_path_buf();
        let fail = |source| StoreError::CreateMappedFileFailed {
            path: path.clone(),
            source,
        };
        crate::fault::before_alloc(&path).map_err(fail)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(fail)?;
        file.set_len(size).map_err(fail)?;
        if preallocate_blocks {
            if let Err(e) = preallocate(&file, size) {
                let _ = std::fs::remove_file(&path);
                return Err(fail(e));
            }
        }
        let map = MmapRaw::map_raw(&file).map_err(fail)?;
        Ok(Self::mapped(path, start, size, file, map, readahead))
    }

    /// Opens an existing file; `wrote` and `flushed` start at 0 until recovery sets them.
    pub(crate) fn open(
        path: &Path,
        start: u64,
        size: u64,
        readahead: Readahead,
    ) -> Result<Arc<Self>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| StoreError::io(path, e))?;
        let len = file.metadata().map_err(|e| StoreError::io(path, e))?.len();
        if len != size {
            if len > size {
                return Err(StoreError::io(
                    path,
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("file is {len} bytes, larger than the configured file size {size}; was the size key changed?"),
                    ),
                ));
            }
            // A file cut short (crash during creation): extend with zeros.
            file.set_len(size).map_err(|e| StoreError::io(path, e))?;
        }
        let map = MmapRaw::map_raw(&file).map_err(|e| StoreError::io(path, e))?;
        Ok(Self::mapped(
            path.to_path_buf(),
            start,
            size,
            file,
            map,
            readahead,
        ))
    }

    /// A freshly mapped file, nothing written or flushed yet. With [`Readahead::OnlyWritten`]
    /// the whole mapping is advised `MADV_RANDOM`; setting the written position (appends, or
    /// recovery) lifts it from what is written ([`Self::set_wrote`]).
    fn mapped(
        path: PathBuf,
        start: u64,
        size: u64,
        file: File,
        map: MmapRaw,
        readahead: Readahead,
    ) -> Arc<Self> {
        let f = MappedFile {
            path,
            start,
            size,
            map,
            file,
            wrote: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
            random_from: AtomicU64::new(size),
            sync: Mutex::new(()),
        };
        if readahead == Readahead::OnlyWritten {
            f.advise(0, f.size, libc::MADV_RANDOM);
            f.random_from.store(0, Ordering::Release);
        }
        Arc::new(f)
    }

    pub(crate) fn start(&self) -> u64 {
        self.start
    }
    pub(crate) fn size(&self) -> u64 {
        self.size
    }
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
    pub(crate) fn wrote(&self) -> u64 {
        self.wrote.load(Ordering::Acquire)
    }
    /// Publishes the written position. Once it passes a [`NORMAL_ADVICE_STEP`] boundary, the
    /// written part of a [`Readahead::OnlyWritten`] file gets the kernel's readahead back.
    ///
    /// Why such a file is mapped `MADV_RANDOM` until it is written: on kernels whose page cache
    /// uses large folios for the filesystem (ext4 since Linux 6.16, XFS since 5.18), the faults
    /// of sequential appends into a mapping are served by readahead in ever larger folios, up to
    /// megabytes, and a sync writes every dirty folio whole. A SYNC_FLUSH append of 1 KiB then
    /// made its msync write hundreds of KiB (390 KiB per message with 8 senders on this
    /// machine's 6.18 kernel), and each second's sync of a consume queue rewrote its tail folio.
    /// Without readahead a fault allocates one page, and a sync writes the pages it touched.
    /// Reads of written data (consumers catching up from the disk) keep their readahead. The
    /// price is a fault per page: about 4x the appending CPU of large folios under ASYNC_FLUSH,
    /// whose commit log is synced too rarely for the folios to matter and keeps them
    /// (rmq-store/README.md, "Readahead advice").
    pub(crate) fn set_wrote(&self, pos: u64) {
        let pos = pos.min(self.size);
        self.wrote.store(pos, Ordering::Release);
        let random_from = self.random_from.load(Ordering::Acquire);
        let normal_to = if pos == self.size {
            pos
        } else {
            pos / NORMAL_ADVICE_STEP * NORMAL_ADVICE_STEP
        };
        if normal_to > random_from
            && self
                .random_from
                .compare_exchange(random_from, normal_to, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.advise(random_from, normal_to, libc::MADV_NORMAL);
        }
    }

    /// `madvise` of `[from, to)` (page-aligned by the callers). Advice changes performance only,
    /// so a refusal is logged and otherwise ignored.
    fn advise(&self, from: u64, to: u64, advice: libc::c_int) {
        let len = to.saturating_sub(from) as usize;
        if len == 0 {
            return;
        }
        // SAFETY: the range lies inside this file's live mapping; advice changes no contents.
        let rc =
            unsafe { libc::madvise(self.map.as_mut_ptr().add(from as usize).cast(), len, advice) };
        if rc != 0 {
            tracing::debug!(
                "{}: madvise({advice}) of [{from}, {to}) refused: {}",
                self.path.display(),
                std::io::Error::last_os_error()
            );
        }
    }
    pub(crate) fn flushed(&self) -> u64 {
        self.flushed.load(Ordering::Acquire)
    }
    pub(crate) fn set_flushed(&self, pos: u64) {
        let _sync = self.sync_lock();
        self.flushed.store(pos.min(self.size), Ordering::Release);
    }

    /// Lowers the durable position to at most `pos` (a truncation at `pos`).
    pub(crate) fn lower_flushed(&self, pos: u64) {
        let _sync = self.sync_lock();
        self.flushed.fetch_min(pos, Ordering::AcqRel);
    }

    fn sync_lock(&self) -> MutexGuard<'_, ()> {
        self.sync.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bytes `[pos, pos+len)` of the mapping. Panics never: returns None when out of range.
    pub(crate) fn bytes(&self, pos: u64, len: u64) -> Option<&[u8]> {
        let end = pos.checked_add(len)?;
        if end > self.size {
            return None;
        }
        // SAFETY: the range lies inside the mapping, which lives as long as `self`. Readers only ask
        // for ranges below `wrote` (already written, never rewritten while mapped) or, during
        // recovery, before any writer runs.
        Some(unsafe {
            std::slice::from_raw_parts(self.map.as_ptr().add(pos as usize), len as usize)
        })
    }

    /// Mutable view of `[pos, pos+len)` for the single writer.
    ///
    /// # Safety
    /// The caller must be the only writer (hold the writer lock) and the range must lie at or above
    /// the published `wrote` position, so no reader looks at it.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn bytes_mut(&self, pos: u64, len: u64) -> Option<&mut [u8]> {
        let end = pos.checked_add(len)?;
        if end > self.size {
            return None;
        }
        Some(std::slice::from_raw_parts_mut(
            self.map.as_mut_ptr().add(pos as usize),
            len as usize,
        ))
    }

    /// Writes `data` at `pos` through the file descriptor (pwrite) instead of the mapping.
    ///
    /// For large sequential writes into pages nobody touched yet (a slave copying its master's
    /// log): a first store into a mapped page makes the kernel fault it in and zero it before
    /// the copy, which costs more than the copy; pwrite fills the page cache directly, and the
    /// mapping sees the same pages. The caller must be the single writer, above `wrote`.
    pub(crate) fn write_at(&self, pos: u64, data: &[u8]) -> Result<()> {
        use std::os::unix::fs::FileExt;
        let end = pos.checked_add(data.len() as u64);
        if end.is_none_or(|e| e > self.size) {
            return Err(StoreError::io(
                &self.path,
                std::io::Error::other(format!(
                    "write of {} bytes at {pos} passes the file end {}",
                    data.len(),
                    self.size
                )),
            ));
        }
        crate::fault::before_write(&self.path)
            .and_then(|()| self.file.write_all_at(data, pos))
            .map_err(|e| StoreError::io(&self.path, e))
    }

    /// Zeroes `[from, size)` so stale bytes past a truncation point can never be mistaken for
    /// records by a later recovery. Only for recovery (no readers yet) or the writer.
    pub(crate) fn zero_from(&self, from: u64) -> Result<()> {
        if from >= self.size {
            return Ok(());
        }
        let err = |e: std::io::Error| StoreError::sync_failed(&self.path, &e);
        crate::fault::before_sync(&self.path).map_err(err)?;
        // Zero the partial page by hand, then let the filesystem zero the rest cheaply (ext4 and
        // xfs turn FALLOC_FL_ZERO_RANGE into unwritten extents); fall back to writing zeros.
        const PAGE: u64 = 4096;
        let aligned = from.div_ceil(PAGE) * PAGE;
        let head = aligned.min(self.size) - from;
        if head > 0 {
            // SAFETY: recovery (or the writer) is the only user of bytes at or above `from`.
            if let Some(b) = unsafe { self.bytes_mut(from, head) } {
                b.fill(0);
            }
            self.map
                .flush_range(from as usize, head as usize)
                .map_err(err)?;
            crate::fault::synced(&self.path, from, head, None);
        }
        if aligned >= self.size {
            return Ok(());
        }
        let len = self.size - aligned;
        // SAFETY: plain syscall on an open descriptor.
        let rc = unsafe {
            libc::fallocate(
                self.file.as_raw_fd(),
                libc::FALLOC_FL_ZERO_RANGE | libc::FALLOC_FL_KEEP_SIZE,
                aligned as libc::off_t,
                len as libc::off_t,
            )
        };
        if rc == 0 {
            self.file.sync_data().map_err(err)?;
            crate::fault::synced(&self.path, aligned, len, None);
            return Ok(());
        }
        const CHUNK: u64 = 1 << 20;
        let mut pos = aligned;
        while pos < self.size {
            let n = CHUNK.min(self.size - pos);
            // SAFETY: as above.
            if let Some(b) = unsafe { self.bytes_mut(pos, n) } {
                if b.iter().any(|x| *x != 0) {
                    b.fill(0);
                }
            }
            pos += n;
        }
        self.map
            .flush_range(aligned as usize, len as usize)
            .map_err(err)?;
        crate::fault::synced(&self.path, aligned, len, None);
        Ok(())
    }

    /// Makes `[flushed, upto)` durable (msync MS_SYNC, i.e. fdatasync of that range). On
    /// failure the flushed position stays where it was ([`StoreError::SyncFailed`]).
    pub(crate) fn flush_to(&self, upto: u64) -> Result<()> {
        let _sync = self.sync_lock();
        self.sync_to(upto)
    }

    /// Like [`Self::flush_to`], but never past the written position, read under the sync lock:
    /// a truncation lowers the written position before the flushed one, so a sync that starts
    /// after it cannot count the bytes it removed.
    pub(crate) fn flush_written(&self, upto: u64) -> Result<()> {
        let _sync = self.sync_lock();
        self.sync_to(upto.min(self.wrote()))
    }

    /// The sync of `[flushed, upto)`; the caller holds the sync lock.
    fn sync_to(&self, upto: u64) -> Result<()> {
        let upto = upto.min(self.size);
        let from = self.flushed();
        if upto <= from {
            return Ok(());
        }
        let len = upto - from;
        crate::fault::before_sync(&self.path)
            .and_then(|()| self.map.flush_range(from as usize, len as usize))
            .map_err(|e| StoreError::sync_failed(&self.path, &e))?;
        crate::fault::synced(&self.path, from, len, self.bytes(from, len));
        self.flushed.fetch_max(upto, Ordering::AcqRel);
        Ok(())
    }

    /// Asks the kernel to start writing `[pos, pos + len)` to the disk without waiting for it
    /// (`sync_file_range(SYNC_FILE_RANGE_WRITE)`). Nothing becomes durable by this and the
    /// flushed position does not move: it only spreads the disk writes of an ASYNC_FLUSH commit
    /// log over time (rmq-store/README.md, "Early writeback"). A failure is left to the next sync,
    /// which reports the write error of any page the kernel could not write.
    pub(crate) fn start_writeback(&self, pos: u64, len: u64) {
        let end = pos.saturating_add(len).min(self.size);
        if end <= pos {
            return;
        }
        #[cfg(target_os = "linux")]
        {
            // SAFETY: plain syscall on an open descriptor; it reads no memory of ours.
            let rc = unsafe {
                libc::sync_file_range(
                    self.file.as_raw_fd(),
                    pos as libc::off64_t,
                    (end - pos) as libc::off64_t,
                    libc::SYNC_FILE_RANGE_WRITE,
                )
            };
            if rc != 0 {
                tracing::debug!(
                    "{}: early writeback of [{pos}, {end}) not started: {}",
                    self.path.display(),
                    std::io::Error::last_os_error()
                );
            }
        }
    }

    /// Last modification time, for expiry.
    /// Raw pointer to the start of the mapping (for atomic views of 4-byte aligned fields).
    pub(crate) fn base_ptr(&self) -> *mut u8 {
        self.map.as_mut_ptr()
    }

    pub(crate) fn modified(&self) -> Option<std::time::SystemTime> {
        std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok()
    }
}

/// A byte range of a mapped file handed to a reader without copying (a pull hands it to the
/// network as is). Holding it keeps the mapping alive even if the file is deleted meanwhile.
#[derive(Clone)]
pub struct SelectedBuffer {
    file: Arc<MappedFile>,
    pos: u64,
    len: u64,
}

impl SelectedBuffer {
    pub(crate) fn new(file: Arc<MappedFile>, pos: u64, len: u64) -> Option<Self> {
        file.bytes(pos, len)?;
        Some(SelectedBuffer { file, pos, len })
    }

    /// Physical (stream) offset of the first byte.
    pub fn offset(&self) -> i64 {
        (self.file.start() + self.pos) as i64
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        self.file.bytes(self.pos, self.len).unwrap_or(&[])
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl AsRef<[u8]> for SelectedBuffer {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl std::fmt::Debug for SelectedBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelectedBuffer")
            .field("offset", &self.offset())
            .field("len", &self.len)
            .finish()
    }
}

/// An ordered run of same-size mapped files forming one byte stream.
pub(crate) struct MappedFileQueue {
    dir: PathBuf,
    file_size: u64,
    preallocate: bool,
    readahead: Readahead,
    files: RwLock<Vec<Arc<MappedFile>>>,
}

impl MappedFileQueue {
    /// Loads every 20-digit file in `dir` (creating `dir`); positions are set by recovery.
    pub(crate) fn load(
        dir: &Path,
        file_size: u64,
        preallocate: bool,
        readahead: Readahead,
    ) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))? {
            let entry = entry.map_err(|e| StoreError::io(dir, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.len() != 20 || !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let Ok(start) = name.parse::<u64>() else {
                continue;
            };
            found.push((start, entry.path()));
        }
        found.sort();
        let mut files: Vec<Arc<MappedFile>> = Vec::with_capacity(found.len());
        for (start, path) in found {
            if let Some(prev) = files.last() {
                if prev.start() + file_size != start {
                    tracing::warn!(
                        "{}: file {} does not follow {} (gap or size change); ignoring it and later files",
                        dir.display(),
                        path.display(),
                        prev.path().display()
                    );
                    break;
                }
            } else if start % file_size != 0 {
                tracing::warn!(
                    "{}: first file {} is not aligned to the file size {}",
                    dir.display(),
                    path.display(),
                    file_size
                );
            }
            files.push(MappedFile::open(&path, start, file_size, readahead)?);
        }
        Ok(MappedFileQueue {
            dir: dir.to_path_buf(),
            file_size,
            preallocate,
            readahead,
            files: RwLock::new(files),
        })
    }

    pub(crate) fn file_size(&self) -> u64 {
        self.file_size
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Arc<MappedFile>>> {
        self.files.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Arc<MappedFile>>> {
        self.files.write().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn files(&self) -> Vec<Arc<MappedFile>> {
        self.read().clone()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Lowest stream offset still held (start of the first file), or 0.
    pub(crate) fn min_offset(&self) -> u64 {
        self.read().first().map(|f| f.start()).unwrap_or(0)
    }

    /// Stream offset after the last written byte.
    pub(crate) fn max_offset(&self) -> u64 {
        self.read()
            .last()
            .map(|f| f.start() + f.wrote())
            .unwrap_or(0)
    }

    /// Stream offset up to which everything is durable.
    pub(crate) fn flushed_offset(&self) -> u64 {
        let files = self.read();
        // The first file whose flushed < wrote bounds it. Each position is read once: reading
        // the written position again at the end could see an append published in between, and
        // vouch for its bytes, never synced (a SYNC_FLUSH append then answered PUT_OK).
        let mut end = 0;
        for f in files.iter() {
            let (flushed, wrote) = (f.flushed(), f.wrote());
            if flushed < wrote {
                return f.start() + flushed;
            }
            end = f.start() + wrote;
        }
        end
    }

    /// The file holding stream offset `offset`.
    pub(crate) fn find(&self, offset: u64) -> Option<Arc<MappedFile>> {
        let files = self.read();
        let first = files.first()?;
        if offset < first.start() {
            return None;
        }
        let idx = ((offset - first.start()) / self.file_size) as usize;
        files
            .get(idx)
            .filter(|f| offset < f.start() + f.size())
            .cloned()
    }

    /// The file to write stream offset `offset` into, creating files up to it as needed.
    pub(crate) fn file_for_write(&self, offset: u64) -> Result<Arc<MappedFile>> {
        if let Some(f) = self.find(offset) {
            return Ok(f);
        }
        let mut files = self.write();
        loop {
            let next_start = match files.last() {
                Some(last) => {
                    if offset < last.start() + last.size() {
                        return Ok(last.clone());
                    }
                    if offset < last.start() {
                        return Err(StoreError::io(
                            &self.dir,
                            std::io::Error::other(format!(
                                "offset {offset} is below the first file"
                            )),
                        ));
                    }
                    // Gap-free: the previous file counts as full.
                    last.set_wrote(last.size());
                    last.start() + self.file_size
                }
                None => offset - offset % self.file_size,
            };
            let f = MappedFile::create(
                &self.dir,
                next_start,
                self.file_size,
                self.preallocate,
                self.readahead,
            )?;
            files.push(f);
        }
    }

    /// Drops everything at and after stream offset `offset`: later files are deleted, the file
    /// holding it is zeroed from there. Used by recovery.
    pub(crate) fn truncate(&self, offset: u64) -> Result<()> {
        let mut files = self.write();
        while let Some(last) = files.last() {
            if last.start() > offset || (last.start() == offset && files.len() > 1) {
                let path = last.path().to_path_buf();
                files.pop();
                std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
            } else {
                break;
            }
        }
        if let Some(last) = files.last() {
            if offset >= last.start() && offset <= last.start() + last.size() {
                let rel = offset - last.start();
                last.zero_from(rel)?;
                last.set_wrote(rel);
                // What lay below the cut and was not synced still is not.
                last.lower_flushed(rel);
            }
        }
        Ok(())
    }

    /// Removes the first file (retention). Returns it so callers can log.
    pub(crate) fn remove_first(&self) -> Result<Option<Arc<MappedFile>>> {
        let mut files = self.write();
        if files.len() <= 1 {
            return Ok(None);
        }
        let f = files.remove(0);
        std::fs::remove_file(f.path()).map_err(|e| StoreError::io(f.path(), e))?;
        Ok(Some(f))
    }

    /// Deletes every file (used when a queue must be rebuilt from scratch).
    pub(crate) fn destroy(&self) -> Result<()> {
        let mut files = self.write();
        for f in files.drain(..) {
            std::fs::remove_file(f.path()).map_err(|e| StoreError::io(f.path(), e))?;
        }
        Ok(())
    }

    /// Flushes every file up to its written position.
    pub(crate) fn flush(&self) -> Result<()> {
        self.flush_upto(u64::MAX)
    }

    /// Flushes every file up to its written position, but not past stream offset `end`. The
    /// commit log passes the end of its last complete append: an append in progress may still be
    /// rolled back, and a sync that counted its bytes would leave a flushed position above the
    /// rolled-back end, vouching for whatever is written there next before it is synced.
    pub(crate) fn flush_upto(&self, end: u64) -> Result<()> {
        for f in self.files() {
            let upto = end.saturating_sub(f.start());
            if f.flushed() < f.wrote().min(upto) {
                f.flush_written(upto)?;
            }
        }
        Ok(())
    }

    /// Starts the kernel's writeback of stream range `[from, to)` in every file it covers
    /// ([`MappedFile::start_writeback`]).
    pub(crate) fn start_writeback(&self, from: u64, to: u64) {
        for f in self.files() {
            let (start, end) = (f.start(), f.start() + f.size());
            if from < end && to > start {
                let pos = from.max(start) - start;
                f.start_writeback(pos, to.min(end) - start - pos);
            }
        }
    }

    /// Bytes of disk the files occupy (nominal size).
    pub(crate) fn disk_bytes(&self) -> u64 {
        self.read().len() as u64 * self.file_size
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The `VmFlags` of the mappings that cover `[addr, addr + len)`, one per mapping (the kernel
    /// splits a mapping where the advice changes), from `/proc/self/smaps`.
    fn vm_flags(addr: usize, len: usize) -> Vec<String> {
        // A mapping's block starts with a line "start-end perms ...", addresses in hex.
        let range = |line: &str| {
            let (a, b) = line.split_once(' ')?.0.split_once('-')?;
            Some((
                usize::from_str_radix(a, 16).ok()?,
                usize::from_str_radix(b, 16).ok()?,
            ))
        };
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut out = Vec::new();
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((a, b)) = range(line) {
                inside = a < addr + len && b > addr;
            } else if let Some(flags) = line.strip_prefix("VmFlags:").filter(|_| inside) {
                out.push(flags.trim().to_owned());
            }
        }
        out
    }

    fn random(flags: &str) -> bool {
        flags.split(' ').any(|f| f == "rr")
    }

    #[test]
    fn a_new_file_is_advised_random_until_written() {
        let dir = tempfile::tempdir().unwrap();
        let size = 3 * NORMAL_ADVICE_STEP;
        let f = MappedFile::create(dir.path(), 0, size, true, Readahead::OnlyWritten).unwrap();
        let base = f.base_ptr() as usize;
        let all = |f: &MappedFile| vm_flags(base, f.size() as usize);
        assert!(all(&f).iter().all(|v| random(v)), "{:?}", all(&f));
        // Written up to the middle of the second step: the first step is normal again.
        f.set_wrote(NORMAL_ADVICE_STEP + 4096);
        let first = vm_flags(base, NORMAL_ADVICE_STEP as usize);
        let rest = vm_flags(
            base + NORMAL_ADVICE_STEP as usize,
            (size - NORMAL_ADVICE_STEP) as usize,
        );
        assert!(first.iter().all(|v| !random(v)), "{first:?}");
        assert!(rest.iter().all(|v| random(v)), "{rest:?}");
        // A full file reads with readahead everywhere.
        f.set_wrote(size);
        assert!(all(&f).iter().all(|v| !random(v)), "{:?}", all(&f));
    }
}
