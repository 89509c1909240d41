//! The master side: accepts slaves on the HA port, streams each one the commit log from the
//! offset it reports, and tracks their acknowledgements for SYNC_MASTER sends.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmq_store::{MessageStore, ReplicaAck, ReplicaAckWaiter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::protocol::{transfer_header, REPORT_SIZE, TRANSFER_HEADER_SIZE};
use crate::HaConfig;

/// How far the slaves got, for the sends that wait on them (RocketMQ's `push2SlaveMaxOffset`
/// and `isSlaveOK`). Registered with the store as its `ReplicaAckWaiter` on a SYNC_MASTER.
///
/// It holds no store, so the store can own it without a reference cycle.
pub struct AckTracker {
    /// The highest commit-log end any slave has acknowledged.
    acked: watch::Sender<i64>,
    /// Slaves connected now.
    connections: AtomicUsize,
    max_gap: i64,
}

impl AckTracker {
    fn new(max_gap: i64) -> Self {
        AckTracker {
            acked: watch::channel(-1).0,
            connections: AtomicUsize::new(0),
            max_gap,
        }
    }

    /// Whether a send whose record ends at `end` may wait for a slave: one is connected and not
    /// further behind than `haSlaveFallbehindMax`.
    pub fn is_slave_ok(&self, end: i64) -> bool {
        self.connections.load(Ordering::Acquire) > 0 && end - *self.acked.borrow() < self.max_gap
    }

    /// The highest commit-log end a slave acknowledged (-1 before any did).
    pub fn acked(&self) -> i64 {
        *self.acked.borrow()
    }

    fn ack(&self, offset: i64) {
        self.acked.send_if_modified(|a| {
            let moved = offset > *a;
            if moved {
                *a = offset;
            }
            moved
        });
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
        let mut rx = self.acked.subscribe();
        Box::pin(async move {
            match tokio::time::timeout(timeout, rx.wait_for(|a| *a >= commit_log_end)).await {
                Ok(Ok(_)) => ReplicaAck::Acked,
                _ => {
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
        self.slaves
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
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
        self.slaves
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(link.clone());
        self.tracker.connections.fetch_add(1, Ordering::AcqRel);
        let (rd, wr) = stream.into_split();
        let why = tokio::select! {
            () = stop.cancelled() => "the broker is stopping".to_owned(),
            why = self.read_reports(rd, &link) => why,
            why = self.stream_log(wr, &link) => why,
        };
        self.tracker.connections.fetch_sub(1, Ordering::AcqRel);
        self.slaves
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|l| !Arc::ptr_eq(l, &link));
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
                    *link.caught_up_at.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
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
        *self.caught_up_at.lock().unwrap_or_else(|p| p.into_inner())
    }
}
