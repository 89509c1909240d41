//! `mqbench consume`: a push consumer that counts what it receives for `--duration` seconds
//! and records end-to-end latency (now minus the message's born timestamp); or, with
//! `--drain N`, a push or lite pull consumer whose listener only counts, timed from the first
//! to the N-th message (the Java client's `rmq.interop.bench.ConsumeBench` does the same, so
//! `bench/client-vs-java.sh` compares like with like).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rmq_client::{
    ConsumeContext, ConsumeFromWhere, ConsumeStatus, ConsumerConfig, LitePullConsumer,
    PushConsumer, ReceivedMessage,
};
use tokio::sync::Notify;

use super::report::{Latencies, Report};

/// Settings of a consume run.
#[derive(Debug, Clone, clap::Args)]
pub struct ConsumeArgs {
    /// Name servers, `host:port;host:port`.
    #[arg(short = 'n', long, default_value = "127.0.0.1:9876")]
    pub namesrv: String,
    /// Topic to consume.
    #[arg(short = 't', long, default_value = "BenchmarkTest")]
    pub topic: String,
    /// Consumer group.
    #[arg(short = 'g', long, default_value = "mqbench-consumer")]
    pub group: String,
    /// Subscription expression (`*`, `TagA || TagB`).
    #[arg(long, default_value = "*")]
    pub expression: String,
    /// Seconds to measure (after a one-second warm-up).
    #[arg(short = 'd', long, default_value_t = 10)]
    pub duration: u64,
    /// A new group starts from the first offset instead of the last (to drain a backlog).
    #[arg(long)]
    pub from_first: bool,
    /// Messages per listener call (`consumeMessageBatchMaxSize`, 1 as in Java).
    #[arg(long, default_value_t = 1)]
    pub batch_size: usize,
    /// Listener threads (`consumeThreadMin` and `consumeThreadMax`, 20 as in Java).
    #[arg(long, default_value_t = 20)]
    pub threads: usize,
    /// Drain mode: stop after this many messages (at most `--duration` seconds) and report the
    /// rate from the first to the last; the listener only counts.
    #[arg(long)]
    pub drain: Option<u64>,
    /// With `--drain`: read with the lite pull consumer (`poll` in a loop, Java's lite-pull
    /// defaults) instead of the push consumer.
    #[arg(long, requires = "drain")]
    pub lite: bool,
    /// ACL: `-a true`, `--accessKey`/`-ak`, `--secretKey`/`-sk` (or RMQ_ACCESS_KEY/RMQ_SECRET_KEY).
    #[command(flatten)]
    pub acl: crate::acl::BenchAclArgs,
}

/// Runs the benchmark; the report's latency is end-to-end (born to consumed), its rate the
/// consumed messages per second.
pub async fn run(args: &ConsumeArgs) -> anyhow::Result<Report> {
    if let Some(target) = args.drain {
        return drain(args, target).await;
    }
    let measuring = Arc::new(AtomicBool::new(false));
    let latencies = Arc::new(Mutex::new(Latencies::default()));
    let listener = {
        let (measuring, latencies) = (measuring.clone(), latencies.clone());
        move |msgs: &[ReceivedMessage], _: &ConsumeContext| {
            if measuring.load(Ordering::Relaxed) {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                let mut all = latencies.lock().unwrap_or_else(|e| e.into_inner());
                for msg in msgs {
                    all.record(Duration::from_millis(
                        u64::try_from(now - msg.born_timestamp).unwrap_or(0),
                    ));
                }
            }
            ConsumeStatus::ConsumeSuccess
        }
    };
    let from = if args.from_first {
        ConsumeFromWhere::FirstOffset
    } else {
        ConsumeFromWhere::LastOffset
    };
    let consumer = PushConsumer::builder()
        .client_config(args.acl.client_config(&args.namesrv)?)
        .consumer_group(&args.group)
        .config(push_config(args, from))
        .subscribe(&args.topic, &args.expression)
        .listener(listener)
        .start()
        .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    consumer.shutdown().await;
    let all = latencies.lock().unwrap_or_else(|e| e.into_inner());
    Ok(Report::new(
        "consume (end-to-end latency)",
        &args.namesrv,
        &all,
        0,
        elapsed,
    ))
}

/// Counts drained messages and remembers when the first and the `target`-th arrived, with
/// the process's CPU time then.
struct DrainCounter {
    target: u64,
    count: AtomicU64,
    first: OnceLock<(Instant, f64)>,
    last: OnceLock<(Instant, f64)>,
    done: Notify,
}

impl DrainCounter {
    fn add(&self, n: usize) {
        if self.first.get().is_none() {
            let _ = self.first.set((Instant::now(), process_cpu_seconds()));
        }
        let total = self.count.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if total >= self.target
            && self.last.get().is_none()
            && self
                .last
                .set((Instant::now(), process_cpu_seconds()))
                .is_ok()
        {
            self.done.notify_one();
        }
    }
}

/// The push consumer's settings both modes use: `--batch-size` messages a listener call and
/// `--threads` consume threads.
fn push_config(args: &ConsumeArgs, from: ConsumeFromWhere) -> ConsumerConfig {
    ConsumerConfig {
        consume_from_where: from,
        consume_message_batch_max_size: args.batch_size,
        consume_thread_min: args.threads,
        consume_thread_max: args.threads,
        ..ConsumerConfig::default()
    }
}

/// User + system CPU seconds of this process (all threads) from `/proc/self/stat`; 0 where
/// that cannot be read.
fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // fields after the command name, which is in parentheses and may hold spaces; utime and
    // stime are fields 14 and 15, in clock ticks (100 per second on Linux)
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    ticks as f64 / 100.0
}

/// `--drain N`: a new group reads until N messages arrived or `--duration` seconds passed.
async fn drain(args: &ConsumeArgs, target: u64) -> anyhow::Result<Report> {
    let counter = Arc::new(DrainCounter {
        target,
        count: AtomicU64::new(0),
        first: OnceLock::new(),
        last: OnceLock::new(),
        done: Notify::new(),
    });
    let from = if args.from_first {
        ConsumeFromWhere::FirstOffset
    } else {
        ConsumeFromWhere::LastOffset
    };
    let client = args.acl.client_config(&args.namesrv)?;
    let limit = Duration::from_secs(args.duration);
    let started = Instant::now();
    let mode = if args.lite {
        let consumer = LitePullConsumer::builder()
            .client_config(client)
            .consumer_group(&args.group)
            .config(ConsumerConfig {
                consume_from_where: from,
                // Java's lite-pull pullBatchSize, also the most one poll returns
                pull_batch_size: 10,
                ..ConsumerConfig::default()
            })
            .subscribe(&args.topic, &args.expression)
            .start()
            .await?;
        let deadline = tokio::time::Instant::now() + limit;
        while counter.last.get().is_none() && tokio::time::Instant::now() < deadline {
            let msgs = consumer.poll(Duration::from_millis(200)).await?;
            if !msgs.is_empty() {
                counter.add(msgs.len());
            }
        }
        consumer.shutdown().await;
        "drain (lite pull consumer)"
    } else {
        let seen = counter.clone();
        let consumer = PushConsumer::builder()
            .client_config(client)
            .consumer_group(&args.group)
            .config(push_config(args, from))
            .subscribe(&args.topic, &args.expression)
            .listener(move |msgs: &[ReceivedMessage], _: &ConsumeContext| {
                seen.add(msgs.len());
                ConsumeStatus::ConsumeSuccess
            })
            .start()
            .await?;
        let _ = tokio::time::timeout(limit, counter.done.notified()).await;
        consumer.shutdown().await;
        "drain (push consumer)"
    };
    let (first, cpu_first) = counter.first.get().copied().unwrap_or((started, 0.0));
    let (last, cpu_last) = counter
        .last
        .get()
        .copied()
        .unwrap_or_else(|| (Instant::now(), process_cpu_seconds()));
    let count = counter.count.load(Ordering::Relaxed);
    let mut report = Report::new(
        mode,
        &args.namesrv,
        &Latencies::default(),
        0,
        last.saturating_duration_since(first),
    );
    report.ok = count;
    report.cpu_seconds = Some(cpu_last - cpu_first);
    report.failed = target.saturating_sub(count);
    if report.seconds > 0.0 {
        // the first `target` messages were timed; calls running then may add a few more
        report.ops_per_sec = count.min(target) as f64 / report.seconds;
    }
    Ok(report)
}
