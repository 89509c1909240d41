//! `mqbench consume`: a push consumer that counts what it receives for `--duration` seconds
//! and records end-to-end latency (now minus the message's born timestamp).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rmq_client::{
    ConsumeContext, ConsumeFromWhere, ConsumeStatus, ConsumerConfig, PushConsumer, ReceivedMessage,
};

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
    /// ACL: `-a true`, `--accessKey`/`-ak`, `--secretKey`/`-sk` (or RMQ_ACCESS_KEY/RMQ_SECRET_KEY).
    #[command(flatten)]
    pub acl: crate::acl::BenchAclArgs,
}

/// Runs the benchmark; the report's latency is end-to-end (born to consumed), its rate the
/// consumed messages per second.
pub async fn run(args: &ConsumeArgs) -> anyhow::Result<Report> {
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
        .config(ConsumerConfig {
            consume_from_where: from,
            consume_message_batch_max_size: args.batch_size,
            ..ConsumerConfig::default()
        })
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
