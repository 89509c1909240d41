//! `mqbench produce`: sends messages as fast as `--concurrency` in-flight sends allow, for
//! `--duration` seconds after a one-second warm-up, like RocketMQ's own Producer benchmark.
//! With `--transactional` every send is a transaction (half message, a local transaction that
//! commits at once, END_TRANSACTION), like RocketMQ's TransactionProducer benchmark.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rmq_client::{
    LocalTransactionState, Message, Producer, ReceivedMessage, SendStatus, TransactionListener,
    TransactionProducer,
};

use super::driver::drive;
use super::report::Report;

/// Settings of a produce run.
#[derive(Debug, Clone, clap::Args)]
pub struct ProduceArgs {
    /// Name servers, `host:port;host:port`.
    #[arg(short = 'n', long, default_value = "127.0.0.1:9876")]
    pub namesrv: String,
    /// Topic to send to (created through TBW102 when the broker allows auto-creation).
    #[arg(short = 't', long, default_value = "BenchmarkTest")]
    pub topic: String,
    /// Body size in bytes.
    #[arg(short = 's', long, default_value_t = 1024)]
    pub size: usize,
    /// Sends in flight at once (each waits for its result before the next, like a sync
    /// producer thread).
    #[arg(short = 'c', long, default_value_t = 64)]
    pub concurrency: usize,
    /// Seconds to measure (after a one-second warm-up).
    #[arg(short = 'd', long, default_value_t = 10)]
    pub duration: u64,
    /// Tag to set on every message.
    #[arg(long)]
    pub tags: Option<String>,
    /// Give every message a unique key (indexed by the broker).
    #[arg(long)]
    pub keys: bool,
    /// Send delayed messages of this delay level (1 = 1 s … 18 = 2 h with default levels).
    #[arg(long, conflicts_with = "deliver_after_ms")]
    pub delay_level: Option<i32>,
    /// Send messages to be delivered this many milliseconds after the send (RocketMQ 5's
    /// TIMER_DELIVER_MS), e.g. 3600000 to build up a backlog of pending timer messages.
    #[arg(long)]
    pub deliver_after_ms: Option<i64>,
    /// Send transactionally, committing every transaction (transactions take no delay).
    #[arg(long, conflicts_with_all = ["delay_level", "deliver_after_ms"])]
    pub transactional: bool,
    /// Trace every send to RMQ_SYS_TRACE_TOPIC (Java's enableMsgTrace), to measure its cost.
    #[arg(long)]
    pub trace: bool,
    /// ACL: `-a true`, `--accessKey`/`-ak`, `--secretKey`/`-sk` (or RMQ_ACCESS_KEY/RMQ_SECRET_KEY).
    #[command(flatten)]
    pub acl: crate::acl::BenchAclArgs,
}

/// Commits every transaction: the benchmark measures the protocol, not a local transaction.
struct CommitAll;

impl TransactionListener for CommitAll {
    fn execute_local_transaction(
        &self,
        _msg: &Message,
        _transaction_id: &str,
        _arg: &(dyn Any + Send + Sync),
    ) -> LocalTransactionState {
        LocalTransactionState::CommitMessage
    }

    fn check_local_transaction(&self, _msg: &ReceivedMessage) -> LocalTransactionState {
        LocalTransactionState::CommitMessage
    }
}

/// A plain or a transactional producer.
enum Sender {
    Plain(Producer),
    Transactional(TransactionProducer),
}

impl Sender {
    /// Sends `msg`; the status the broker answered. Only SEND_OK counts as a success: a
    /// SYNC_MASTER answering FLUSH_SLAVE_TIMEOUT or SLAVE_NOT_AVAILABLE stored the message but
    /// did not do what it was asked, and a benchmark must not count that as throughput.
    async fn send(&self, msg: Message) -> rmq_client::Result<SendStatus> {
        match self {
            Sender::Plain(p) => p.send(msg).await.map(|r| r.status),
            Sender::Transactional(p) => p
                .send_message_in_transaction(msg, &())
                .await
                .map(|r| r.send.status),
        }
    }

    async fn shutdown(&self) {
        match self {
            Sender::Plain(p) => p.shutdown().await,
            Sender::Transactional(p) => p.shutdown().await,
        }
    }
}

/// Runs the benchmark and returns its report; send latency is per message.
pub async fn run(args: &ProduceArgs) -> anyhow::Result<Report> {
    let builder = Producer::builder()
        .client_config(args.acl.client_config(&args.namesrv)?)
        .producer_group("mqbench-producer")
        .enable_msg_trace(args.trace, "");
    let producer = Arc::new(if args.transactional {
        Sender::Transactional(builder.start_transactional(Arc::new(CommitAll)).await?)
    } else {
        Sender::Plain(builder.start().await?)
    });
    let body = Bytes::from(vec![b'x'; args.size]);
    // One synchronous send first: it fails fast with the real reason (no route, refused, ...).
    producer.send(message(args, &body, 0)).await?;
    let next_key = Arc::new(AtomicU64::new(1));
    let sender = producer.clone();
    let params = args.clone();
    let report = drive(
        if args.transactional {
            "produce (transactional)"
        } else {
            "produce"
        },
        &args.namesrv,
        args.concurrency,
        Duration::from_secs(args.duration),
        move |_| {
            let msg = message(&params, &body, next_key.fetch_add(1, Ordering::Relaxed));
            let sender = sender.clone();
            async move { matches!(sender.send(msg).await, Ok(SendStatus::SendOk)) }
        },
    )
    .await;
    producer.shutdown().await;
    report
}

fn message(args: &ProduceArgs, body: &Bytes, n: u64) -> Message {
    let mut msg = Message::new(args.topic.clone(), body.clone());
    if let Some(tags) = &args.tags {
        msg = msg.with_tags(tags.clone());
    }
    if args.keys {
        msg = msg.with_keys([format!("mqbench-{n}")]);
    }
    if let Some(level) = args.delay_level {
        msg = msg.with_delay_level(level);
    }
    if let Some(after) = args.deliver_after_ms {
        msg = msg.with_deliver_time_ms(super::now_ms() + after);
    }
    msg
}
