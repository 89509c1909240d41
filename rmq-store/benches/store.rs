//! Store benchmarks: append throughput (ASYNC_FLUSH by size, SYNC_FLUSH by writer count) and
//! consume-queue read throughput, printed next to this machine's disk limits (dd-style sequential
//! write bandwidth with a final fdatasync, and the 4 KiB write+fdatasync rate) measured first.
//!
//! Run with `cargo bench -p rmq-store`. `RMQ_BENCH_DIR` picks the directory (default: temp dir).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rmq_remoting::message::encode_properties;
use rmq_store::{AcceptAll, FlushDiskType, MessageStore, PutMessage, StoreConfig};

fn bench_dir() -> tempfile::TempDir {
    match std::env::var_os("RMQ_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d).unwrap(),
        None => tempfile::tempdir().unwrap(),
    }
}

fn message(size: usize, seq: u64) -> PutMessage {
    let uniq = format!("C0A80105303900000000{seq:012X}");
    PutMessage {
        topic: "BenchTopic".into(),
        queue_id: (seq % 4) as i32,
        flag: 0,
        body: Bytes::from(vec![b'x'; size]),
        properties: encode_properties([
            ("TAGS", "TagA"),
            ("UNIQ_KEY", uniq.as_str()),
            ("WAIT", "true"),
        ]),
        sys_flag: 0,
        born_timestamp: 0,
        born_host: "10.0.0.1:40000".parse().unwrap(),
        store_host: "10.0.0.2:10911".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

/// dd bs=1M count=N conv=fdatasync: MB/s.
fn seq_write_bandwidth(dir: &std::path::Path, mib: usize) -> f64 {
    let path = dir.join("dd.tmp");
    let mut f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    let buf = vec![0x5Au8; 1 << 20];
    let t = Instant::now();
    for _ in 0..mib {
        f.write_all(&buf).unwrap();
    }
    f.sync_data().unwrap();
    let secs = t.elapsed().as_secs_f64();
    drop(f);
    std::fs::remove_file(&path).unwrap();
    mib as f64 * 1.048_576 / secs
}

/// 4 KiB pwrite + fdatasync per operation, for `dur`: operations per second.
fn fdatasync_rate(dir: &std::path::Path, dur: Duration) -> f64 {
    let path = dir.join("sync.tmp");
    let f = OpenOptions::new()
        .create(true)
        .read(true)
        .write(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    f.set_len(64 << 20).unwrap();
    f.sync_all().unwrap();
    let buf = vec![1u8; 4096];
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed() < dur {
        f.write_all_at(&buf, (n % 16384) * 4096).unwrap();
        f.sync_data().unwrap();
        n += 1;
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    drop(f);
    std::fs::remove_file(&path).unwrap();
    rate
}

fn config(root: &std::path::Path, flush: FlushDiskType) -> StoreConfig {
    StoreConfig {
        flush_disk_type: flush,
        ..StoreConfig::with_root(root)
    }
}

/// Sustained ASYNC_FLUSH append of `total` bytes of `size`-byte messages, including the final
/// flush to disk: MB/s of message bodies, comparable with the dd figure.
fn sustained_async(size: usize, total: usize) -> (f64, f64) {
    let dir = bench_dir();
    let store = MessageStore::open(config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let n = total / size;
    let msgs: Vec<PutMessage> = (0..64).map(|i| message(size, i)).collect();
    let t = Instant::now();
    rt.block_on(async {
        for i in 0..n {
            store.put_message(msgs[i % 64].clone()).await.unwrap();
        }
    });
    let appended = t.elapsed().as_secs_f64();
    store.flush().unwrap();
    let with_flush = t.elapsed().as_secs_f64();
    let record_bytes = store.max_phy_offset() as f64;
    drop(store);
    (
        record_bytes / 1e6 / appended,
        record_bytes / 1e6 / with_flush,
    )
}

fn benches(c: &mut Criterion) {
    let probe = bench_dir();
    let dd = seq_write_bandwidth(probe.path(), 1024);
    let syncs = fdatasync_rate(probe.path(), Duration::from_secs(3));
    let (s_mem, s_disk) = sustained_async(1024, 2 << 30);
    let lines = [
        "== disk limits of this machine ==".to_string(),
        format!("sequential write (1 GiB, 1 MiB writes, fdatasync at end): {dd:.0} MB/s"),
        format!("4 KiB write + fdatasync: {syncs:.0} /s"),
        "== sustained ASYNC_FLUSH, 1 KiB messages, 2 GiB ==".to_string(),
        format!("append (page cache): {s_mem:.0} MB/s of records; including the final flush: {s_disk:.0} MB/s = {:.0}% of dd", 100.0 * s_disk / dd),
    ];
    for l in &lines {
        eprintln!("{l}");
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open("target/rmq-store-bench.txt")
    {
        for l in &lines {
            let _ = writeln!(f, "{l}");
        }
    }

    let mut g = c.benchmark_group("append_async");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for size in [128usize, 1024, 4096] {
        let dir = bench_dir();
        let store = MessageStore::open(config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let msgs: Vec<PutMessage> = (0..64).map(|i| message(size, i)).collect();
        let mut i = 0usize;
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(BenchmarkId::from_parameter(size), |b| {
            b.iter(|| {
                i += 1;
                rt.block_on(store.put_message(msgs[i % 64].clone()))
                    .unwrap()
            })
        });
        drop(store);
    }
    g.finish();

    let mut g = c.benchmark_group("append_sync_1KiB");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for writers in [1usize, 8, 64] {
        let dir = bench_dir();
        let store =
            Arc::new(MessageStore::open(config(dir.path(), FlushDiskType::SyncFlush)).unwrap());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::new("writers", writers), |b| {
            b.iter_custom(|iters| {
                let left = Arc::new(AtomicU64::new(iters));
                let t = Instant::now();
                rt.block_on(async {
                    let mut tasks = Vec::new();
                    for w in 0..writers {
                        let store = store.clone();
                        let left = left.clone();
                        tasks.push(tokio::spawn(async move {
                            let m = message(1024, w as u64);
                            while left
                                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                                    v.checked_sub(1)
                                })
                                .is_ok()
                            {
                                store.put_message(m.clone()).await.unwrap();
                            }
                        }));
                    }
                    for t in tasks {
                        t.await.unwrap();
                    }
                });
                t.elapsed()
            })
        });
        drop(store);
    }
    g.finish();

    let mut g = c.benchmark_group("read_consume_queue");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    {
        let dir = bench_dir();
        let store = MessageStore::open(config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut m = message(1024, 0);
        m.queue_id = 0;
        rt.block_on(async {
            for _ in 0..100_000 {
                store.put_message(m.clone()).await.unwrap();
            }
        });
        let mut off = 0i64;
        g.throughput(Throughput::Elements(32));
        g.bench_function("get_32x1KiB", |b| {
            b.iter(|| {
                let r = store.get_message("BenchTopic", 0, off, 32, 256 * 1024, &AcceptAll);
                off = if r.next_begin_offset >= 100_000 {
                    0
                } else {
                    r.next_begin_offset
                };
                r.messages.len()
            })
        });
        drop(store);
    }
    g.finish();
}

criterion_group!(store_benches, benches);
criterion_main!(store_benches);
