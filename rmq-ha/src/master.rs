//! The master side: accepts slaves on the HA port, streams each one the commit log from the
//! offset it reports, and tracks their acknowledgements for SYNC_MASTER sends.

use std::collections::{BTreeMap, BTreeSet, HashMap};
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

use crate::protocol::{transfer_header, Hello, HELLO_SIZE, REPORT_SIZE, TRANSFER_HEADER_SIZE};
use crate::HaConfig;

/// Sends waiting for an acknowledgement, by (needed commit-log offset, ticket).
type Waiting = BTreeMap<(i64, u64), oneshot::Sender<()>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How far the slaves got, for the sends that wait on them (RocketMQ's `push2SlaveMaxOffset`
/// and `isSlaveOK`). Registered with the store as its `ReplicaAckWaiter` on a SYNC_MASTER.
///
/// Classic replication waits for any one slave. In controller mode with `allAckInSyncStateSet`
/// a send waits for every member of the in-sync set ([`AckTracker::set_sync_set`]): the
/// controller may elect any of them, so each must hold what was acknowledged.
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
    /// In controller mode, the in-sync slaves (controller ids, the master excluded) that must
    /// all acknowledge; None for classic replication.
    sync_set: Mutex<Option<BTreeSet<i64>>>,
    /// The latest report of each slave that said who it is, by controller id.
    by_id: Mutex<HashMap<i64, i64>>,
}

impl AckTracker {
    fn new(max_gap: i64) -> Self {
        AckTracker {
            acked: AtomicI64::new(-1),
            waiting: Arc::default(),
            tickets: AtomicU64::new(0),
            connections: AtomicUsize::new(0),
            max_gap,
            sync_set: Mutex::new(None),
            by_id: Mutex::new(HashMap::new()),
        }
    }

    /// Makes sends wait for every slave in `set` (controller ids; empty: the master alone
    /// holds what it acknowledges), or, with None, for any one slave as classic replication.
    /// Sends already waiting are completed if the new set already has their data.
    pub fn set_sync_set(&self, set: Option<BTreeSet<i64>>) {
        *lock(&self.sync_set) = set;
        self.recompute();
    }

    /// The lowest acknowledgement across the in-sync set (None in classic mode); with an empty
    /// set everything written counts as acknowledged.
    fn all_acked(&self) -> Option<i64> {
        let set = lock(&self.sync_set);
        let set = set.as_ref()?;
        let by_id = lock(&self.by_id);
        Some(
            set.iter()
                .map(|id| by_id.get(id).copied().unwrap_or(-1))
                .min()
                .unwrap_or(i64::MAX),
        )
    }

    fn report(&self, broker_id: Option<i64>, offset: i64) {
        if let Some(id) = broker_id {
            lock(&self.by_id)
                .entry(id)
                .and_modify(|o| *o = (*o).max(offset))
                .or_insert(offset);
        }
        if !self.recompute() {
            self.ack(offset);
        }
    }

    /// In controller mode, acknowledges up to the in-sync set's lowest report and returns
    /// true; in classic mode does nothing and returns false.
    fn recompute(&self) -> bool {
        let Some(confirm) = self.all_acked() else {
            return false;
        };
        self.acked.store(confirm, Ordering::Release);
        self.complete_up_to(confirm);
        true
    }

    /// Forgets a slave's reports when its connection ends, so a later member of the same id
    /// starts from what it reports then.
    fn forget(&self, broker_id: i64) {
        lock(&self.by_id).remove(&broker_id);
        self.recompute();
    }

    /// Whether a send whose record ends at `end` may wait for a slave: one is connected and not
    /// further behind than `haSlaveFallbehindMax`.
    pub fn is_slave_ok(&self, end: i64) -> bool {
        if lock(&self.sync_set).is_some() {
            return true;
        }
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
        self.complete_up_to(offset);
    }

    fn complete_up_to(&self, offset: i64) {
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
    /// The slave's controller id, when it sent a hello (controller mode).
    pub broker_id: Option<i64>,
}

/// One slave connection's shared state.
struct SlaveLink {
    addr: SocketAddr,
    /// From the slave's hello; -1 for a classic slave.
    broker_id: AtomicI64,
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
    /// In controller mode, the epoch this broker is master of (-1: none, slaves saying hello
    /// are refused); classic slaves are served regardless.
    epoch: watch::Sender<i64>,
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
            epoch: watch::channel(-1).0,
        })
    }

    /// Controller mode: this broker is now master of `epoch` (None: it no longer is). Slaves
    /// connected for another epoch are disconnected, so they check the new master's history
    /// before they take more bytes.
    pub fn set_master_epoch(&self, epoch: Option<i32>) {
        self.epoch.send_replace(epoch.map_or(-1, i64::from));
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
                    broker_id: Some(l.broker_id.load(Ordering::Acquire)).filter(|id| *id >= 0),
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
            broker_id: AtomicI64::new(-1),
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
            why = self.epoch_moved(&link) => why,
        };
        self.tracker.connections.fetch_sub(1, Ordering::AcqRel);
        lock(&self.slaves).retain(|l| !Arc::ptr_eq(l, &link));
        let id = link.broker_id.load(Ordering::Acquire);
        if id >= 0
            && !self
                .links()
                .iter()
                .any(|l| l.broker_id.load(Ordering::Acquire) == id)
        {
            self.tracker.forget(id);
        }
        tracing::warn!(
            slave = %peer,
            acked = link.ack.load(Ordering::Acquire),
            "HA: slave connection closed: {why}"
        );
    }

    /// Reads the slave's 8-byte reports until the connection fails or goes silent; a
    /// controller-mode slave's hello first, which must name this master's epoch.
    async fn read_reports(&self, mut rd: OwnedReadHalf, link: &SlaveLink) -> String {
        let mut buf = [0u8; REPORT_SIZE];
        let mut first = true;
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
            if std::mem::take(&mut first) && Hello::starts(&buf) {
                if let Err(why) = self.accept_hello(&mut rd, link).await {
                    return why;
                }
                continue;
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
            let id = Some(link.broker_id.load(Ordering::Acquire)).filter(|id| *id >= 0);
            self.tracker.report(id, offset);
        }
    }

    /// Ends a controller-mode slave's connection when this broker's master epoch changes: the
    /// slave must check its history against the new master before it takes more bytes.
    async fn epoch_moved(&self, link: &SlaveLink) -> String {
        let mut epoch = self.epoch.subscribe();
        loop {
            if epoch.changed().await.is_err() {
                return std::future::pending().await;
            }
            if link.broker_id.load(Ordering::Acquire) >= 0 {
                return "this broker's master epoch changed".to_owned();
            }
        }
    }

    /// Reads the rest of a controller-mode slave's hello and accepts it only for this
    /// broker's current master epoch.
    async fn accept_hello(&self, rd: &mut OwnedReadHalf, link: &SlaveLink) -> Result<(), String> {
        let hello = self.read_hello(rd).await?;
        let mine = *self.epoch.borrow();
        if i64::from(hello.master_epoch) != mine {
            let me = if mine < 0 {
                "not a master".to_owned()
            } else {
                format!("master of epoch {mine}")
            };
            return Err(format!(
                "the slave (broker id {}) follows master epoch {}, but this broker is {me}",
                hello.broker_id, hello.master_epoch
            ));
        }
        link.broker_id.store(hello.broker_id, Ordering::Release);
        tracing::info!(slave = %link.addr, broker_id = hello.broker_id, epoch = mine, "HA: controller-mode slave joined");
        Ok(())
    }

    async fn read_hello(&self, rd: &mut OwnedReadHalf) -> Result<Hello, String> {
        let mut rest = [0u8; HELLO_SIZE - REPORT_SIZE];
        match tokio::time::timeout(self.config.housekeeping_interval, rd.read_exact(&mut rest))
            .await
        {
            Ok(Ok(_)) => Ok(Hello::decode_rest(&rest)),
            Ok(Err(e)) => Err(format!("read failed in the slave's hello: {e}")),
            Err(_) => Err("the slave's hello stopped half-way".to_owned()),
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
        // A slave holding what the master had a tick ago has caught up: under steady load a
        // slave is never exactly at the moving end, yet keeps up.
        let mut previous_max = 0;
        while !stop.is_cancelled() {
            tick.tick().await;
            let max = self.store.max_phy_offset();
            for link in self.links() {
                let ack = link.ack.load(Ordering::Acquire);
                if ack >= max || ack >= previous_max {
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
            previous_max = max;
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
