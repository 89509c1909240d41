//! The trace dispatcher (Java `AsyncTraceDispatcher`): records go into a bounded queue the
//! application's threads never wait on; a background task batches them and publishes each batch
//! as one message on the trace topic through a producer of its own. A full queue drops
//! records (with a rate-limited warning) rather than slowing sends or listeners down.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::record::TraceRecord;
use crate::config::{ClientConfig, ProducerConfig};
use crate::error::Result;
use crate::message::Message;
use crate::producer::{now_ms, Producer};
use crate::uniq_id::UniqIdGenerator;

/// Records waiting to be batched (Java's `traceContextQueue` holds 1024 contexts).
const QUEUE_CAPACITY: usize = 1024;
/// Largest trace message (Java's trace producer `maxMessageSize`, 128 000).
const MAX_MESSAGE_SIZE: usize = 128_000;
/// A batch is sent once it is this large (Java: 10 000 below the message limit).
const BATCH_BYTES: usize = MAX_MESSAGE_SIZE - 10_000;
/// ... or once its first record has waited this long (Java `waitTimeThresholdMil`).
const BATCH_WAIT: Duration = Duration::from_millis(500);
/// Trace messages in flight at once (Java's trace sender pool has at most 20 threads); a
/// batch beyond that is dropped like a record that finds the queue full.
const SENDS_IN_FLIGHT: usize = 20;
/// Send timeout of the trace producer (Java: 5 s).
const SEND_TIMEOUT: Duration = Duration::from_millis(5_000);
/// Shutdown waits this long for the last batches to be sent.
const FLUSH_WAIT: Duration = Duration::from_millis(5_000);
/// At most one "dropped" warning per this many ms.
const WARN_EVERY_MS: i64 = 10_000;
/// Instance name of every trace producer of a process (Java `TRACE_INSTANCE_NAME`).
const TRACE_INSTANCE_NAME: &str = "PID_CLIENT_INNER_TRACE_PRODUCER";
/// Prefix of trace producer groups (Java `GROUP_NAME_PREFIX`).
const GROUP_NAME_PREFIX: &str = "_INNER_TRACE_PRODUCER";

/// Numbers the trace producer groups of one process, as Java's `COUNTER`.
static DISPATCHERS: AtomicUsize = AtomicUsize::new(0);

/// Whose traces a dispatcher carries (Java `TraceDispatcher.Type`), part of its group name.
#[derive(Debug, Clone, Copy)]
pub(crate) enum HostKind {
    /// A producer's Pub and EndTransaction records.
    Produce,
    /// A push consumer's SubBefore and SubAfter records.
    Consume,
}

/// Hands trace records to the background sender of one producer or consumer.
pub(crate) struct TraceDispatcher {
    topic: String,
    /// Makes the request ids that pair SubBefore and SubAfter records.
    ids: &'static UniqIdGenerator,
    queue: mpsc::Sender<TraceRecord>,
    dropped: Arc<DropCounter>,
    stop: CancellationToken,
    worker: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl TraceDispatcher {
    /// Starts the trace producer and the batching task for the producer or consumer group
    /// `host_group`, writing to `topic` (empty: [`super::RMQ_SYS_TRACE_TOPIC`]).
    pub(crate) async fn start(
        client: &ClientConfig,
        host_group: &str,
        kind: HostKind,
        topic: &str,
    ) -> Result<Arc<TraceDispatcher>> {
        let topic = if topic.trim().is_empty() {
            super::RMQ_SYS_TRACE_TOPIC.to_owned()
        } else {
            topic.trim().to_owned()
        };
        let n = DISPATCHERS.fetch_add(1, Ordering::Relaxed) + 1;
        let ids = UniqIdGenerator::global(&client.resolved_client_ip());
        let client = ClientConfig {
            instance_name: format!("{TRACE_INSTANCE_NAME}_{}", client.namesrv_addr),
            ..client.clone()
        };
        let producer = Producer::builder()
            .client_config(client)
            .config(ProducerConfig {
                producer_group: format!("{GROUP_NAME_PREFIX}-{host_group}-{}-{n}", kind.name()),
                send_msg_timeout: SEND_TIMEOUT,
                max_message_size: MAX_MESSAGE_SIZE,
                ..ProducerConfig::default()
            })
            .start_untraced()
            .await?;
        let (queue, records) = mpsc::channel(QUEUE_CAPACITY);
        let dropped = Arc::new(DropCounter::default());
        let stop = CancellationToken::new();
        let batcher = Batcher {
            topic: topic.clone(),
            producer,
            sends: TaskTracker::new(),
            permits: Arc::new(Semaphore::new(SENDS_IN_FLIGHT)),
            dropped: dropped.clone(),
        };
        let worker = tokio::spawn(batcher.run(records, stop.clone()));
        Ok(Arc::new(TraceDispatcher {
            topic,
            ids,
            queue,
            dropped,
            stop,
            worker: Mutex::new(Some(worker)),
        }))
    }

    /// The topic traces go to; messages sent to it are never traced themselves.
    pub(crate) fn topic(&self) -> &str {
        &self.topic
    }

    /// A fresh request id (Java's `TraceContext.requestId`, a unique message id).
    pub(crate) fn request_id(&self) -> String {
        self.ids.next()
    }

    /// Queues records without waiting; when the queue is full they are dropped.
    pub(crate) fn append(&self, records: Vec<TraceRecord>) {
        for r in records {
            if self.queue.try_send(r).is_err() {
                self.dropped.add(1, "the trace queue is full");
            }
        }
    }

    /// Sends what is queued, waits (boundedly) for the trace messages in flight and stops the
    /// trace producer.
    pub(crate) async fn shutdown(&self) {
        self.stop.cancel();
        let worker = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(worker) = worker {
            if let Err(e) = worker.await {
                tracing::warn!(error = %e, "the trace dispatcher task failed");
            }
        }
    }
}

impl HostKind {
    /// Java's enum name, as it appears in trace producer groups.
    fn name(self) -> &'static str {
        match self {
            HostKind::Produce => "PRODUCE",
            HostKind::Consume => "CONSUME",
        }
    }
}

/// Counts dropped records and warns about them at most every [`WARN_EVERY_MS`].
#[derive(Default)]
struct DropCounter {
    total: AtomicU64,
    last_warn_ms: AtomicI64,
}

impl DropCounter {
    fn add(&self, n: u64, why: &str) {
        let total = self.total.fetch_add(n, Ordering::Relaxed) + n;
        let now = now_ms();
        let last = self.last_warn_ms.load(Ordering::Relaxed);
        if now - last >= WARN_EVERY_MS
            && self
                .last_warn_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                dropped_total = total,
                reason = why,
                "message trace records dropped"
            );
        }
    }
}

/// The background side: batches records and publishes them.
struct Batcher {
    topic: String,
    producer: Producer,
    sends: TaskTracker,
    permits: Arc<Semaphore>,
    dropped: Arc<DropCounter>,
}

/// Records waiting to go out as one trace message.
#[derive(Default)]
struct Batch {
    body: String,
    keys: BTreeSet<String>,
    records: u64,
    since: Option<Instant>,
}

impl Batcher {
    async fn run(self, mut records: mpsc::Receiver<TraceRecord>, stop: CancellationToken) {
        let mut batch = Batch::default();
        loop {
            let deadline = batch.since.map(|t| t + BATCH_WAIT);
            tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                got = records.recv() => match got {
                    Some(r) => {
                        self.add(&mut batch, &r);
                        if batch.body.len() >= BATCH_BYTES {
                            self.send(std::mem::take(&mut batch));
                        }
                    }
                    None => break,
                },
                _ = sleep_until(deadline) => self.send(std::mem::take(&mut batch)),
            }
        }
        while let Ok(r) = records.try_recv() {
            self.add(&mut batch, &r);
            if batch.body.len() >= BATCH_BYTES {
                self.send(std::mem::take(&mut batch));
            }
        }
        self.send(batch);
        self.sends.close();
        if tokio::time::timeout(FLUSH_WAIT, self.sends.wait())
            .await
            .is_err()
        {
            tracing::warn!("trace messages still unsent at shutdown");
        }
        self.producer.shutdown().await;
    }

    fn add(&self, batch: &mut Batch, r: &TraceRecord) {
        batch.since.get_or_insert_with(Instant::now);
        r.encode_into(&mut batch.body);
        r.index_keys(&mut batch.keys);
        batch.records += 1;
    }

    /// Publishes `batch` in the background; dropped when too many sends are in flight.
    fn send(&self, batch: Batch) {
        if batch.body.is_empty() {
            return;
        }
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            self.dropped
                .add(batch.records, "too many trace messages in flight");
            return;
        };
        let msg = Message::new(self.topic.clone(), batch.body.into_bytes()).with_keys(&batch.keys);
        let producer = self.producer.clone();
        self.sends.spawn(async move {
            let _permit = permit;
            if let Err(e) = producer.send(msg).await {
                tracing::warn!(error = %e, "sending a trace message failed");
            }
        });
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::TraceType;

    /// On a current-thread runtime the batching task cannot run during the loop, so exactly
    /// the records beyond the queue's capacity are dropped, and appending never waits.
    #[tokio::test]
    async fn a_full_queue_drops_records_instead_of_waiting() {
        let client = ClientConfig {
            namesrv_addr: "127.0.0.1:9".into(),
            client_ip: "127.0.0.1".into(),
            instance_name: "trace-drop-test".into(),
            ..ClientConfig::default()
        };
        let d = TraceDispatcher::start(&client, "drop-test", HostKind::Produce, "")
            .await
            .unwrap();
        assert_eq!(d.topic(), super::super::RMQ_SYS_TRACE_TOPIC);
        let started = std::time::Instant::now();
        for _ in 0..3 * QUEUE_CAPACITY {
            d.append(vec![TraceRecord::new(TraceType::Pub)]);
        }
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(
            d.dropped.total.load(Ordering::Relaxed),
            2 * QUEUE_CAPACITY as u64
        );
        // The name server is unreachable: shutdown still ends, after the bounded flush wait.
        tokio::time::timeout(FLUSH_WAIT * 3, d.shutdown())
            .await
            .unwrap();
    }
}
