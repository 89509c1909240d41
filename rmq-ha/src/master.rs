//! The master side: accepts slaves on the HA port, streams each one the commit log from the
//! offset it reports, and tracks their acknowledgements for SYNC_MASTER sends.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rmq_store::{MessageStore, ReplicaAck, ReplicaAckWaiter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::protocol::{transfer_header, REPORT_SIZE, TRANSFER_HEADER_SIZE};
use crate::HaConfig;

/// Sends waiting for an acknowledgement, by (needed commit-log offset, ticket).
type Waiting = BTreeMap<(i64, u64), oneshot::Sender<()>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How far the slaves got, for the sends that wait on them (RocketMQ's `push2SlaveMaxOffset`
/// and `isSlaveOK`). Registered with the store as its `ReplicaAckWaiter` on a SYNC_MASTER.
///
/// Waiting sends are kept ordered by the offset they need, so a slave's report completes
/// exactly the sends it covers (RocketMQ's group transfer) and wakes no other: with 64 sends in
/// flight and a report per frame, waking every waiter on every report cost more CPU than the
/// replication itself. It holds no store, so the store can own it without a reference cycle.
pub struct AckTracker {
    /// The highest commit-log end any slave has acknowledged (-1 before any did).
    acked: AtomicI64,
    /// Sends waiting for an acknowledgement.
    waiting: Arc<Mutex<Waiting>>,
    tickets: AtomicU64,
    /// Slaves connected now.
    connections: AtomicUsize,
    max_gap: i64,
}

impl AckTracker {
    fn new(max_gap: i64) -> Self {
        AckTracker {
            acked: AtomicI64::new(-1),
            waiting: Arc::default(),
            tickets: AtomicU64::new(0),
            connections: AtomicUsize::new(0),
            max_gap,
        }
    }

    /// Whether a send whose record ends at `end` may wait for a slave: one is connected and not
    /// further behind than `haSlaveFallbehindMax`.
    pub fn is_slave_ok(&self, end: i64) -> bool {
        self.connections.load(Ordering::Acquire) > 0 && end - self.acked() < self.max_gap
    }

    /// The highest commit-log end a slave acknowledged (-1 before any did).
    pub fn acked(&self) -> i64 {
        self.acked.load(Ordering::Acquire)
    }

    fn lock_waiting(&self) -> MutexGuard<'_, Waiting> {
        lock(&self.waiting)
    }

    fn ack(&self, offset: i64) {
        if self.acked.fetch_max(offset, Ordering::AcqRel) >= offset {
            return;
        }
        let covered = {
            let mut waiting = self.lock_waiting();
            let later = waiting.split_off(&(offset.saturating_add(1), 0));
            std::mem::replace(&mut *waiting, later)
        };
        for (_, done) in covered {
            let _ = done.send(());
        }
    }
}

impl ReplicaAckWaiter for AckTracker {
    fn wait_for(
        &self,
        commit_log_end: i64,
        timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = ReplicaAck> + Send>> {
        if !self.is_slave_ok(commit_log_end) {
            return Box::pin(std::future::ready(ReplicaAck::NotAvailable));
        }
        let key = (commit_log_end, self.tickets.fetch_add(1, Ordering::Relaxed));
        let (done, acked) = oneshot::channel();
        {
            // Checked under the lock `ack` drains with: a report between the check and the
            // insert finds the entry.
            let mut waiting = self.lock_waiting();
            if self.acked() >= commit_log_end {
                return Box::pin(std::future::ready(ReplicaAck::Acked));
            }
            waiting.insert(key, done);
        }
        let waiting = Arc::clone(&self.waiting);
        Box::pin(async move {
            match tokio::time::timeout(timeout, acked).await {
                Ok(Ok(())) => ReplicaAck::Acked,
                _ => {
                    lock(&waiting).remove(&key);
                    tracing::warn!(
                        "no slave acknowledged commit-log offset {commit_log_end} within syncFlushTimeout"
                    );
                    ReplicaAck::Timeout
                }
            }
        })
    }
}

/// One connected slave, as runtime info shows it.
#[derive(Debug, Clone)]
pub struct SlaveStatus {
    /// The slave's address as the master sees it.
    pub addr: SocketAddr,
    /// The commit-log end the slave last reported (-1 before its first report).
    pub ack_offset: i64,
    /// Bytes of the master's commit log the slave does not have yet.
    pub behind_bytes: i64,
    /// How long the slave has been behind (zero when it holds everything).
    pub behind_for: Duration,
    /// Within `haSlaveFallbehindMax` of the master.
    pub in_sync: bool,
    /// Commit-log bytes sent on this connection.
    pub bytes_sent: u64,
    /// Where streaming started for this connection (-1 before the slave's first report).
    pub transfer_from: i64,
}

/// One slave connection's shared state.
struct SlaveLink {
    addr: SocketAddr,
    /// The slave's first report: where to stream from (-1 until it arrives).
    request: watch::Sender<i64>,
    ack: AtomicI64,
    transfer_from: AtomicI64,
    bytes_sent: AtomicU64,
    in_sync: AtomicBool,
    /// When the slave was last seen holding everything the master had.
    caught_up_at: Mutex<Instant>,
}

/// The master's replication service: every broker runs one on its HA port (a slave too, as
/// RocketMQ does, so it can serve a slave of its own).
pub struct HaMaster {
    store: Arc<MessageStore>,
    config: HaConfig,
    tracker: Arc<AckTracker>,
    slaves: Mutex<Vec<Arc<SlaveLink>>>,
}

impl HaMaster {
    /// A replication service streaming `store`'s commit log.
    pub fn new(store: Arc<MessageStore>, config: HaConfig) -> Arc<Self> {
        let tracker = Arc::new(AckTracker::new(config.max_gap_not_in_sync));
        Arc::new(HaMaster {
            store,
            config,
            tracker,
            slaves: Mutex::new(Vec::new()),
        })
    }

    /// The acknowledgement tracker, to register as the store's replica waiter on a SYNC_MASTER.
    pub fn tracker(&self) -> Arc<AckTracker> {
        self.tracker.clone()
    }

    /// The connected slaves.
    pub fn slaves(&self) -> Vec<SlaveStatus> {
        let max = self.store.max_phy_offset();
        self.links()
            .iter()
            .map(|l| {
                let ack = l.ack.load(Ordering::Acquire);
                let behind = if ack < 0 { max } else { (max - ack).max(0) };
                SlaveStatus {
                    addr: l.addr,
                    ack_offset: ack,
                    behind_bytes: behind,
                    behind_for: if behind == 0 {
                        Duration::ZERO
                    } else {
                        l.caught_up().elapsed()
                    },
                    in_sync: l.in_sync.load(Ordering::Acquire),
                    bytes_sent: l.bytes_sent.load(Ordering::Relaxed),
                    transfer_from: l.transfer_from.load(Ordering::Acquire),
                }
            })
            .collect()
    }

    fn links(&self) -> Vec<Arc<SlaveLink>> {
        lock(&self.slaves).clone()
    }

    /// Accepts slaves on `listener` until `stop`, serving each on its own task, and logs when a
    /// slave falls out of sync or catches up.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, stop: CancellationToken) {
        let watcher = tokio::spawn(self.clone().watch_sync(stop.clone()));
        loop {
            let accepted = tokio::select! {
                () = stop.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => {
                    tokio::spawn(self.clone().serve_slave(stream, peer, stop.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "HA port: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        watcher.abort();
    }

    async fn serve_slave(
        self: Arc<Self>,
        stream: TcpStream,
        peer: SocketAddr,
        stop: CancellationToken,
    ) {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "HA: cannot set TCP_NODELAY");
        }
        let link = Arc::new(SlaveLink {
            addr: peer,
            request: watch::channel(-1).0,
            ack: AtomicI64::new(-1),
            transfer_from: AtomicI64::new(-1),
            bytes_sent: AtomicU64::new(0),
            in_sync: AtomicBool::new(false),
            caught_up_at: Mutex::new(Instant::now()),
        });
        tracing::info!(slave = %peer, "HA: slave connected");
        lock(&self.slaves).push(link.clone());
        self.tracker.connections.fetch_add(1, Ordering::AcqRel);
        let (rd, wr) = stream.into_split();
        let why = tokio::select! {
            () = stop.cancelled() => "the broker is stopping".to_owned(),
            why = self.read_reports(rd, &link) => why,
            why = self.stream_log(wr, &link) => why,
        };
        self.tracker.connections.fetch_sub(1, Ordering::AcqRel);
        lock(&self.slaves).retain(|l| !Arc::ptr_eq(l, &link));
        tracing::warn!(
            slave = %peer,
            acked = link.ack.load(Ordering::Acquire),
            "HA: slave connection closed: {why}"
        );
    }

    /// Reads the slave's 8-byte reports until the connection fails or goes silent.
    async fn read_reports(&self, mut rd: OwnedReadHalf, link: &SlaveLink) -> String {
        let mut buf = [0u8; REPORT_SIZE];
        loop {
            match tokio::time::timeout(self.config.housekeeping_interval, rd.read_exact(&mut buf))
                .await
            {
                Err(_) => {
                    return format!(
                        "nothing heard for {:?} (haHousekeepingInterval)",
                        self.config.housekeeping_interval
                    )
                }
                Ok(Err(e)) => return format!("read failed: {e}"),
                Ok(Ok(_)) => {}
            }
            let offset = i64::from_be_bytes(buf);
            link.ack.store(offset, Ordering::Release);
            link.request.send_if_modified(|r| {
                let first = *r < 0;
                if first {
                    *r = offset;
                }
                first
            });
            self.tracker.ack(offset);
        }
    }

    /// Streams the commit log from the slave's first report on, with heartbeats when idle.
    async fn stream_log(&self, mut wr: OwnedWriteHalf, link: &SlaveLink) -> String {
        let mut request = link.request.subscribe();
        let requested = match request.wait_for(|r| *r >= 0).await {
            Ok(r) => *r,
            Err(_) => return "closed before the slave reported its offset".to_owned(),
        };
        let mut next = if requested == 0 {
            // An empty slave starts at the newest file, as RocketMQ's master decides.
            let max = self.store.max_phy_offset();
            max - max % self.store.config().mapped_file_size_commit_log as i64
        } else {
            requested
        };
        link.transfer_from.store(next, Ordering::Release);
        tracing::info!(slave = %link.addr, requested, from = next, "HA: streaming the commit log");
        self.warn_if_unservable(link, next);
        let mut written = self.store.subscribe_written();
        let mut frame = Vec::with_capacity(TRANSFER_HEADER_SIZE + self.config.transfer_batch_size);
        let mut last_write = Instant::now();
        loop {
            written.borrow_and_update();
            let chunk = self
                .store
                .read_commit_log(next, self.config.transfer_batch_size)
                .filter(|c| !c.is_empty());
            frame.clear();
            if let Some(chunk) = &chunk {
                frame.extend_from_slice(&transfer_header(next, chunk.len()));
                frame.extend_from_slice(chunk.as_slice());
            } else {
                let idle = self.config.send_heartbeat_interval;
                let wait = idle.saturating_sub(last_write.elapsed());
                if !wait.is_zero() {
                    // New data or the heartbeat, whichever comes first.
                    let _ = tokio::time::timeout(wait, written.changed()).await;
                    continue;
                }
                frame.extend_from_slice(&transfer_header(next, 0));
            }
            if let Err(e) = wr.write_all(&frame).await {
                return format!("write failed: {e}");
            }
            last_write = Instant::now();
            if let Some(chunk) = chunk {
                next += chunk.len() as i64;
                link.bytes_sent
                    .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
        }
    }

    /// A slave asking for bytes this master does not hold waits forever, as with RocketMQ; say
    /// why in the log.
    fn warn_if_unservable(&self, link: &SlaveLink, from: i64) {
        let (min, max) = (self.store.min_phy_offset(), self.store.max_phy_offset());
        if from < min {
            tracing::error!(
                slave = %link.addr,
                "HA: the slave asks for commit-log offset {from}, but this master's commit log starts at {min} \
                 (older files were deleted); empty the slave's store so it starts again from this master's newest file"
            );
        } else if from > max {
            tracing::error!(
                slave = %link.addr,
                "HA: the slave holds commit-log data up to {from}, beyond this master's end {max}; it was \
                 replicating another master or this master lost data. Nothing is sent until this master reaches {from}"
            );
        }
    }

    /// Every second, marks each slave in or out of sync and logs the changes.
    async fn watch_sync(self: Arc<Self>, stop: CancellationToken) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        while !stop.is_cancelled() {
            tick.tick().await;
            let max = self.store.max_phy_offset();
            for link in self.links() {
                let ack = link.ack.load(Ordering::Acquire);
                if ack >= max {
                    *lock(&link.caught_up_at) = Instant::now();
                }
                let in_sync = ack >= 0 && max - ack < self.config.max_gap_not_in_sync;
                if link.in_sync.swap(in_sync, Ordering::AcqRel) != in_sync {
                    if in_sync {
                        tracing::info!(slave = %link.addr, acked = ack, "HA: slave is in sync");
                    } else {
                        tracing::warn!(
                            slave = %link.addr,
                            acked = ack,
                            behind_bytes = max - ack,
                            "HA: slave fell out of sync (more than haSlaveFallbehindMax behind)"
                        );
                    }
                }
            }
        }
    }
}

impl SlaveLink {
    fn caught_up(&self) -> Instant {
        *lock(&self.caught_up_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_report_completes_exactly_the_sends_it_covers() {
        let t = AckTracker::new(1 << 20);
        assert_eq!(
            t.wait_for(100, Duration::from_secs(1)).await,
            ReplicaAck::NotAvailable,
            "no slave connected"
        );
        t.connections.fetch_add(1, Ordering::AcqRel);
        let early = t.wait_for(100, Duration::from_secs(5));
        let late = t.wait_for(300, Duration::from_millis(300));
        t.ack(150);
        assert_eq!(early.await, ReplicaAck::Acked);
        assert_eq!(lock(&t.waiting).len(), 1, "the later send still waits");
        assert_eq!(late.await, ReplicaAck::Timeout);
        assert!(
            lock(&t.waiting).is_empty(),
            "a timed-out send leaves nothing behind"
        );
        assert_eq!(t.wait_for(150, Duration::ZERO).await, ReplicaAck::Acked);
        t.ack(120);
        assert_eq!(t.acked(), 150, "acknowledgements never go back");
        assert!(!t.is_slave_ok(150 + (1 << 20)), "too far behind");
    }
}
