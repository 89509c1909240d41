//! The store against the disk's limit, all measured in one run on the same filesystem:
//! (a) the disk's sequential write rate (1 MiB `write()`s + fdatasync, and the same bytes copied
//! into a fresh preallocated mapping + msync, to show the page-fault cost), (b) a raw 1 KiB
//! append + fdatasync (p50/p99), (c) the store's ASYNC_FLUSH append rate with 1 KiB messages
//! (including the final flush), (d) one SYNC_FLUSH writer's latency per append, (e) SYNC_FLUSH
//! group commit with 8 and 64 writers, and the disk bytes written per append, (f) ASYNC_FLUSH at
//! a steady rate below the store's limit: the disk bytes written per append, which is where
//! the page cache's large folios show (a sync writes a folio whole, however little of it
//! changed). Prints a table with medians, spreads and the ratios (c)/(a) and (d)/(b) that issue
//! 17 sets goals for.
//!
//! `cargo bench -p rmq-store --bench disk_limit`. `RMQ_BENCH_DIR` picks the directory (default:
//! the temp dir), `RMQ_BENCH_REPS` the repetitions of each measurement (default 5).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rmq_remoting::message::encode_properties;
use rmq_store::{FlushDiskType, MessageStore, PutMessage, StoreConfig};

const MIB: usize = 1 << 20;
/// Bytes of each sequential-write and ASYNC_FLUSH repetition.
const SEQ_BYTES: usize = 512 * MIB;
/// Appends per latency repetition (raw fdatasync, one SYNC_FLUSH writer).
const SYNC_OPS: usize = 2000;
/// Length of each group-commit repetition.
const GROUP_TIME: Duration = Duration::from_secs(2);
/// Length of each steady-rate ASYNC_FLUSH repetition: several flush intervals.
const PACED_TIME: Duration = Duration::from_secs(5);
/// The steady rates of (f), appends per second: a quiet broker, and about what one takes from
/// the Java bench's 8 senders.
const PACED_RATES: [u64; 2] = [1_000, 40_000];

fn bench_dir() -> tempfile::TempDir {
    match std::env::var_os("RMQ_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d).unwrap(),
        None => tempfile::tempdir().unwrap(),
    }
}

fn reps() -> usize {
    std::env::var("RMQ_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1)
}

fn message(size: usize, seq: u64) -> PutMessage {
    let uniq = format!("C0A80105303900000000{seq:012X}");
    PutMessage {
        topic: "BenchTopic".into(),
        queue_id: (seq % 4) as i32,
        flag: 0,
        body: Bytes::from(vec![b'x'; size]),
        properties: encode_properties([("TAGS", "TagA"), ("UNIQ_KEY", uniq.as_str())]),
        sys_flag: 0,
        born_timestamp: 0,
        born_host: "10.0.0.1:40000".parse().unwrap(),
        store_host: "10.0.0.2:10911".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

/// Median, minimum and maximum of repeated figures.
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

fn spread(mut v: Vec<f64>) -> Spread {
    v.sort_by(|a, b| a.total_cmp(b));
    Spread {
        median: v[v.len() / 2],
        min: v[0],
        max: v[v.len() - 1],
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn filesystem(dir: &Path) -> String {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 2 && dir.starts_with(f[1]))
                .then(|| (f[1].len(), format!("{} ({})", f[2], f[0])))
        })
        .max()
        .map(|(_, s)| s)
        .unwrap_or_else(|| "?".into())
}

/// (a) `write()` of 1 MiB blocks, then fdatasync: MB/s.
fn seq_write(dir: &Path) -> f64 {
    let path = dir.join("seq.tmp");
    let mut f = File::create(&path).unwrap();
    let buf = vec![0x5Au8; MIB];
    let t = Instant::now();
    for _ in 0..SEQ_BYTES / MIB {
        f.write_all(&buf).unwrap();
    }
    f.sync_data().unwrap();
    let secs = t.elapsed().as_secs_f64();
    drop(f);
    std::fs::remove_file(&path).unwrap();
    SEQ_BYTES as f64 / 1e6 / secs
}

/// (a') the same bytes copied into a fresh preallocated mapping, then msync: MB/s. The gap to
/// [`seq_write`] is the cost of faulting in (and zeroing) each page on its first touch.
fn seq_mmap(dir: &Path) -> f64 {
    let path = dir.join("mmap.tmp");
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    // SAFETY: plain syscall on an open descriptor.
    let rc = unsafe { libc::posix_fallocate(f.as_raw_fd(), 0, SEQ_BYTES as libc::off_t) };
    assert_eq!(rc, 0, "posix_fallocate");
    let map = memmap2::MmapRaw::map_raw(&f).unwrap();
    let buf = vec![0x5Au8; MIB];
    let t = Instant::now();
    for i in 0..SEQ_BYTES / MIB {
        // SAFETY: the range lies inside the mapping, which nobody else uses.
        unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), map.as_mut_ptr().add(i * MIB), MIB) };
    }
    map.flush().unwrap();
    let secs = t.elapsed().as_secs_f64();
    drop(map);
    drop(f);
    std::fs::remove_file(&path).unwrap();
    SEQ_BYTES as f64 / 1e6 / secs
}

/// (b) 1 KiB `pwrite` at the end of what was written + fdatasync, latencies sorted: into a
/// file whose blocks were written before (`prewritten`), or into fallocated blocks (unwritten
/// extents, as the store's files are), whose first sync must also commit the extent change.
fn raw_append_sync(dir: &Path, prewritten: bool) -> Vec<Duration> {
    let path = dir.join("append.tmp");
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    let len = SYNC_OPS * 1024;
    if prewritten {
        f.write_all_at(&vec![0u8; len], 0).unwrap();
    } else {
        // SAFETY: plain syscall on an open descriptor.
        let rc = unsafe { libc::posix_fallocate(f.as_raw_fd(), 0, len as libc::off_t) };
        assert_eq!(rc, 0, "posix_fallocate");
    }
    f.sync_all().unwrap();
    let rec = vec![1u8; 1024];
    let mut lat = Vec::with_capacity(SYNC_OPS);
    for i in 0..SYNC_OPS {
        let t = Instant::now();
        f.write_all_at(&rec, (i * 1024) as u64).unwrap();
        f.sync_data().unwrap();
        lat.push(t.elapsed());
    }
    drop(f);
    std::fs::remove_file(&path).unwrap();
    lat.sort();
    lat
}

fn store(dir: &Path, flush: FlushDiskType) -> Arc<MessageStore> {
    Arc::new(
        MessageStore::open(StoreConfig {
            flush_disk_type: flush,
            ..StoreConfig::with_root(dir)
        })
        .unwrap(),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// (c) ASYNC_FLUSH appends of 1 KiB messages from one task until `SEQ_BYTES` of records are
/// written, then one flush: MB/s of record bytes, counted to the end of the flush, and to the
/// end of the appends (the page-cache rate: what the store's CPU allows), and CPU per append.
fn store_async(dir: &Path, rt: &tokio::runtime::Runtime) -> AsyncRun {
    let sub = tempfile::tempdir_in(dir).unwrap();
    let s = store(sub.path(), FlushDiskType::AsyncFlush);
    let msgs: Vec<PutMessage> = (0..64).map(|i| message(1024, i)).collect();
    let (t, thread0, process0) = (
        Instant::now(),
        cpu(libc::CLOCK_THREAD_CPUTIME_ID),
        cpu(libc::CLOCK_PROCESS_CPUTIME_ID),
    );
    let n = rt.block_on(async {
        let mut i = 0;
        while (s.max_phy_offset() as usize) < SEQ_BYTES {
            s.put_message(msgs[i % 64].clone()).await.unwrap();
            i += 1;
        }
        i as f64
    });
    let appended = t.elapsed().as_secs_f64();
    let writer_us = (cpu(libc::CLOCK_THREAD_CPUTIME_ID) - thread0) * 1e6 / n;
    let process_us = (cpu(libc::CLOCK_PROCESS_CPUTIME_ID) - process0) * 1e6 / n;
    s.flush().unwrap();
    let secs = t.elapsed().as_secs_f64();
    let bytes = s.max_phy_offset() as f64;
    drop(s);
    AsyncRun {
        rate: bytes / 1e6 / secs,
        page_cache_rate: bytes / 1e6 / appended,
        writer_us,
        process_us,
    }
}

/// What one ASYNC_FLUSH run measured.
struct AsyncRun {
    /// MB/s of records to the end of the final flush.
    rate: f64,
    /// MB/s of records to the end of the appends.
    page_cache_rate: f64,
    /// CPU time of the appending thread per append (µs).
    writer_us: f64,
    /// CPU time of the whole process per append (µs), background threads included.
    process_us: f64,
}

/// CPU seconds of `clock` (a thread or process CPU-time clock).
fn cpu(clock: libc::clockid_t) -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: plain syscall writing into a local.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// (d) one SYNC_FLUSH writer, a task on a runtime worker as a broker's request handler is:
/// latency of each append, sorted.
fn store_sync_one(dir: &Path, rt: &tokio::runtime::Runtime) -> Vec<Duration> {
    let sub = tempfile::tempdir_in(dir).unwrap();
    let s = store(sub.path(), FlushDiskType::SyncFlush);
    let m = message(1024, 0);
    let writer = s.clone();
    let mut lat = rt
        .block_on(rt.spawn(async move {
            let mut lat = Vec::with_capacity(SYNC_OPS);
            for _ in 0..SYNC_OPS {
                let t = Instant::now();
                writer.put_message(m.clone()).await.unwrap();
                lat.push(t.elapsed());
            }
            lat
        }))
        .unwrap();
    drop(s);
    lat.sort();
    lat
}

/// Bytes written so far to the block device holding `dir` (`/sys/dev/block/MAJ:MIN/stat`,
/// sectors written), or None where that is not available (tmpfs, other systems).
fn device_written_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    let dev = std::fs::metadata(dir).ok()?.dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    let stat = std::fs::read_to_string(format!("/sys/dev/block/{major}:{minor}/stat")).ok()?;
    let sectors: u64 = stat.split_whitespace().nth(6)?.parse().ok()?;
    Some(sectors * 512)
}

/// What one group-commit run measured.
struct GroupRun {
    /// Appends per second.
    rate: f64,
    /// Bytes the device wrote per append (None where it cannot be read): a 1 KiB append
    /// should cost a few KiB, its page and the sync's metadata, whatever else runs.
    written_per_append: Option<f64>,
}

/// (e) SYNC_FLUSH with `writers` concurrent tasks for `GROUP_TIME`: appends per second, and
/// the disk bytes written per append.
fn store_sync_group(dir: &Path, rt: &tokio::runtime::Runtime, writers: usize) -> GroupRun {
    let sub = tempfile::tempdir_in(dir).unwrap();
    let s = store(sub.path(), FlushDiskType::SyncFlush);
    let done = Arc::new(AtomicU64::new(0));
    let written_before = device_written_bytes(sub.path());
    let t = Instant::now();
    let deadline = t + GROUP_TIME;
    rt.block_on(async {
        let tasks: Vec<_> = (0..writers)
            .map(|w| {
                let (s, done) = (s.clone(), done.clone());
                tokio::spawn(async move {
                    let m = message(1024, w as u64);
                    while Instant::now() < deadline {
                        s.put_message(m.clone()).await.unwrap();
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let appends = done.load(Ordering::Relaxed) as f64;
    let rate = appends / t.elapsed().as_secs_f64();
    let written_per_append = written_before
        .zip(device_written_bytes(sub.path()))
        .map(|(before, after)| after.saturating_sub(before) as f64 / appends.max(1.0));
    drop(s);
    GroupRun {
        rate,
        written_per_append,
    }
}

/// (f) ASYNC_FLUSH appends of 1 KiB at `rate` per second for `PACED_TIME` (in bursts every
/// 10 ms), then a flush: the disk bytes written per append, in KiB (None where the device's
/// counters cannot be read).
fn store_async_paced(dir: &Path, rt: &tokio::runtime::Runtime, rate: u64) -> Option<f64> {
    const TICK: Duration = Duration::from_millis(10);
    let sub = tempfile::tempdir_in(dir).unwrap();
    let s = store(sub.path(), FlushDiskType::AsyncFlush);
    let written_before = device_written_bytes(sub.path());
    let per_tick = rate * TICK.as_millis() as u64 / 1000;
    let ticks = PACED_TIME.as_millis() as u64 / TICK.as_millis() as u64;
    let start = Instant::now();
    rt.block_on(async {
        for tick in 0..ticks {
            for i in 0..per_tick {
                s.put_message(message(1024, tick * per_tick + i))
                    .await
                    .unwrap();
            }
            tokio::time::sleep_until((start + TICK * (tick as u32 + 1)).into()).await;
        }
    });
    s.flush().unwrap();
    let appends = (ticks * per_tick) as f64;
    let after = device_written_bytes(sub.path());
    drop(s);
    written_before
        .zip(after)
        .map(|(before, after)| after.saturating_sub(before) as f64 / appends / 1024.0)
}

fn main() {
    let dir = bench_dir();
    let reps = reps();
    let rt = runtime();
    let load_before = loadavg();
    let mut seq = Vec::new();
    let mut mmap = Vec::new();
    let mut raw_p50 = Vec::new();
    let mut raw_p99 = Vec::new();
    let mut raw_fresh_p50 = Vec::new();
    let mut asyncs = Vec::new();
    let mut async_cpu = Vec::new();
    let mut writer_cpu = Vec::new();
    let mut process_cpu = Vec::new();
    let mut one_p50 = Vec::new();
    let mut one_p99 = Vec::new();
    let mut g8 = Vec::new();
    let mut g8_written = Vec::new();
    let mut g64 = Vec::new();
    let mut g1 = Vec::new();
    let mut ratio_async = Vec::new();
    let mut ratio_sync = Vec::new();
    let mut paced: Vec<Vec<f64>> = vec![Vec::new(); PACED_RATES.len()];
    for rep in 0..reps {
        // Interleaved, so that a change of load or disk speed hits every figure alike.
        let a = seq_write(dir.path());
        let run = store_async(dir.path(), &rt);
        let c = run.rate;
        async_cpu.push(run.page_cache_rate);
        writer_cpu.push(run.writer_us);
        process_cpu.push(run.process_us);
        mmap.push(seq_mmap(dir.path()));
        let raw = raw_append_sync(dir.path(), true);
        let fresh = raw_append_sync(dir.path(), false);
        raw_fresh_p50.push(percentile(&fresh, 0.5));
        let one = store_sync_one(dir.path(), &rt);
        g1.push(1e6 / (one.iter().map(|d| d.as_secs_f64() * 1e6).sum::<f64>() / one.len() as f64));
        let run8 = store_sync_group(dir.path(), &rt, 8);
        g8.push(run8.rate);
        g8_written.extend(run8.written_per_append.map(|b| b / 1024.0));
        g64.push(store_sync_group(dir.path(), &rt, 64).rate);
        for (figures, rate) in paced.iter_mut().zip(PACED_RATES) {
            figures.extend(store_async_paced(dir.path(), &rt, rate));
        }
        ratio_async.push(c / a);
        ratio_sync.push(percentile(&one, 0.5) / percentile(&raw, 0.5));
        eprintln!(
            "rep {}: seq {a:.0} MB/s, async {c:.0} MB/s, raw p50 {:.0} µs, one writer p50 {:.0} µs",
            rep + 1,
            percentile(&raw, 0.5),
            percentile(&one, 0.5)
        );
        seq.push(a);
        asyncs.push(c);
        raw_p50.push(percentile(&raw, 0.5));
        raw_p99.push(percentile(&raw, 0.99));
        one_p50.push(percentile(&one, 0.5));
        one_p99.push(percentile(&one, 0.99));
    }
    let row = |name: &str, v: Vec<f64>, unit: &str| {
        let s = spread(v);
        format!(
            "| {name} | {:.1} {unit} | {:.1} – {:.1} |",
            s.median, s.min, s.max
        )
    };
    let mut lines = vec![
        format!(
            "directory {} on {}; {reps} repetitions; load average before {load_before}, after {}",
            dir.path().display(),
            filesystem(dir.path()),
            loadavg()
        ),
        "| measurement | median | min – max |".into(),
        "|---|---|---|".into(),
        row(
            "(a) disk: 512 MiB in 1 MiB write() + fdatasync",
            seq,
            "MB/s",
        ),
        row(
            "(a') disk: 512 MiB copied into a fresh fallocated mmap + msync",
            mmap,
            "MB/s",
        ),
        row("(b) raw 1 KiB pwrite + fdatasync, p50", raw_p50, "µs"),
        row("(b) raw 1 KiB pwrite + fdatasync, p99", raw_p99, "µs"),
        row(
            "(b') raw 1 KiB pwrite + fdatasync into fallocated blocks, p50",
            raw_fresh_p50,
            "µs",
        ),
        row(
            "(c) store ASYNC_FLUSH, 1 KiB, 512 MiB incl. final flush",
            asyncs,
            "MB/s",
        ),
        row("(c)/(a)", ratio_async, "x"),
        row(
            "(c') the same, into the page cache (until the last append returned)",
            async_cpu,
            "MB/s",
        ),
        row(
            "(c) CPU of the appending thread per append",
            writer_cpu,
            "µs",
        ),
        row(
            "(c) CPU of the process per append (all threads)",
            process_cpu,
            "µs",
        ),
        row("(d) store SYNC_FLUSH, 1 writer, p50", one_p50, "µs"),
        row("(d) store SYNC_FLUSH, 1 writer, p99", one_p99, "µs"),
        row("(d)/(b) at p50", ratio_sync, "x"),
        row("(e) SYNC_FLUSH, 1 writer", g1, "appends/s"),
        row("(e) SYNC_FLUSH, 8 writers", g8, "appends/s"),
        row("(e) SYNC_FLUSH, 64 writers", g64, "appends/s"),
    ];
    if !g8_written.is_empty() {
        lines.push(row(
            "(e) disk bytes written per 1 KiB SYNC_FLUSH append, 8 writers",
            g8_written,
            "KiB",
        ));
    }
    for (figures, rate) in paced.into_iter().zip(PACED_RATES) {
        if !figures.is_empty() {
            lines.push(row(
                &format!("(f) disk bytes written per 1 KiB ASYNC_FLUSH append, {rate} appends/s"),
                figures,
                "KiB",
            ));
        }
    }
    let mut out = OpenOptions::new()
        .create(true)
        .append(true)
        .open("target/rmq-store-disk-limit.txt")
        .ok();
    for l in &lines {
        println!("{l}");
        if let Some(f) = out.as_mut() {
            let _ = writeln!(f, "{l}");
        }
    }
}
