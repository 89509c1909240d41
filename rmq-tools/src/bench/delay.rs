//! `mqbench delay`: how late delayed messages arrive. Sends `--count` messages, one every
//! `--interval-ms`, each to be delivered `--delay-ms` after its send (TIMER_DELIVER_MS), while a
//! push consumer of a fresh group receives them; the report's latency is the lateness, receipt
//! minus the asked delivery time (consumer pull included), and a message that arrives early
//! or not at all counts as failed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rmq_client::{
    ConsumeContext, ConsumeFromWhere, ConsumeStatus, Message, Producer, PushConsumer,
    ReceivedMessage,
};

use super::now_ms;
use super::report::{Latencies, Report};

/// User property carrying the asked delivery time (the broker drops TIMER_DELIVER_MS on delivery).
const DUE: &str = "MQBENCH_DUE";
/// User property naming the run, so messages of earlier runs on the same topic are not counted.
const RUN: &str = "MQBENCH_RUN";

/// Settings of a lateness run.
#[derive(Debug, Clone, clap::Args)]
pub struct DelayArgs {
    /// Name servers, `host:port;host:port`.
    #[arg(short = 'n', long, default_value = "127.0.0.1:9876")]
    pub namesrv: String,
    /// Topic to send to and consume.
    #[arg(short = 't', long, default_value = "BenchmarkDelay")]
    pub topic: String,
    /// Messages to send.
    #[arg(long, default_value_t = 200)]
    pub count: usize,
    /// Milliseconds between sends (an idle broker apart from this trickle).
    #[arg(long, default_value_t = 20)]
    pub interval_ms: u64,
    /// Delivery time, in milliseconds after each send.
    #[arg(long, default_value_t = 2_000)]
    pub delay_ms: i64,
    /// Body size in bytes.
    #[arg(short = 's', long, default_value_t = 128)]
    pub size: usize,
    /// ACL: `-a true`, `--accessKey`/`-ak`, `--secretKey`/`-sk` (or RMQ_ACCESS_KEY/RMQ_SECRET_KEY).
    #[command(flatten)]
    pub acl: crate::acl::BenchAclArgs,
}

/// Runs the measurement.
pub async fn run(args: &DelayArgs) -> anyhow::Result<Report> {
    let late = Arc::new(Mutex::new((Latencies::default(), 0u64)));
    let group = format!("mqbench-delay-{}", now_ms());
    let listener = {
        let late = late.clone();
        let run = group.clone();
        move |msgs: &[ReceivedMessage], _: &ConsumeContext| {
            let now = now_ms();
            let mut late = late.lock().unwrap_or_else(|e| e.into_inner());
            for msg in msgs
                .iter()
                .filter(|m| m.property(RUN) == Some(run.as_str()))
            {
                let due: Option<i64> = msg.property(DUE).and_then(|d| d.parse().ok());
                match due {
                    Some(due) if now >= due => late
                        .0
                        .record(Duration::from_millis(u64::try_from(now - due).unwrap_or(0))),
                    Some(_) => late.1 += 1,
                    None => {}
                }
            }
            ConsumeStatus::ConsumeSuccess
        }
    };
    let producer = Producer::builder()
        .client_config(args.acl.client_config(&args.namesrv)?)
        .producer_group("mqbench-delay-producer")
        .start()
        .await?;
    // The topic must exist before the consumer subscribes.
    producer
        .send(Message::new(args.topic.clone(), "warm-up"))
        .await?;
    let consumer = PushConsumer::builder()
        .client_config(args.acl.client_config(&args.namesrv)?)
        .consumer_group(&group)
        .consume_from_where(ConsumeFromWhere::LastOffset)
        .subscribe(&args.topic, "*")
        .listener(listener)
        .start()
        .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let body = Bytes::from(vec![b'x'; args.size]);
    let started = Instant::now();
    let mut last_due = 0;
    for _ in 0..args.count {
        let due = now_ms() + args.delay_ms;
        let msg = Message::new(args.topic.clone(), body.clone())
            .with_deliver_time_ms(due)
            .with_property(DUE, due.to_string())
            .with_property(RUN, group.clone());
        producer.send(msg).await?;
        last_due = due;
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
    // Wait for the last one plus a generous margin.
    let wait_until = last_due + 5_000;
    while now_ms() < wait_until {
        let received = {
            let late = late.lock().unwrap_or_else(|e| e.into_inner());
            late.0.count() + late.1
        };
        if received >= args.count as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    consumer.shutdown().await;
    producer.shutdown().await;
    let late = late.lock().unwrap_or_else(|e| e.into_inner());
    let missing = (args.count as u64).saturating_sub(late.0.count() + late.1);
    Ok(Report::new(
        "delay (lateness after the asked delivery time; failed = early or missing)",
        &args.namesrv,
        &late.0,
        late.1 + missing,
        elapsed,
    ))
}
