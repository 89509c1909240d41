//! The slave side: connects to the master's HA port, reports its commit-log end, and stores what
//! the master streams at the same offsets.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Buf, BytesMut};
use rmq_store::{MessageStore, StoreError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::protocol::{parse_transfer_header, Hello, MAX_BODY, TRANSFER_HEADER_SIZE};
use crate::HaConfig;

/// Pause between two connection attempts (RocketMQ waits 5 s; a shorter pause makes a restarted
/// master's slave resume sooner and costs one connect a second).
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);
/// Time allowed to open the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// What the slave's replication is doing, as runtime info shows it.
#[derive(Debug, Clone, Default)]
pub struct HaClientStatus {
    /// The master's HA address in use (None while no master is known).
    pub master_ha_addr: Option<String>,
    /// Connected to it now.
    pub connected: bool,
    /// The commit-log end last reported to the master.
    pub reported_offset: i64,
    /// Commit-log bytes received since start.
    pub bytes_received: u64,
    /// When the master was last heard from.
    pub last_read: Option<SystemTime>,
}

/// The slave's replication client.
pub struct HaClient {
    store: Arc<MessageStore>,
    config: HaConfig,
    status: Mutex<HaClientStatus>,
}

/// Why a connection ended.
type Ended = String;

impl HaClient {
    /// A client replicating into `store`.
    pub fn new(store: Arc<MessageStore>, config: HaConfig) -> Arc<Self> {
        Arc::new(HaClient {
            store,
            config,
            status: Mutex::new(HaClientStatus::default()),
        })
    }

    /// The current state.
    pub fn status(&self) -> HaClientStatus {
        self.lock_status().clone()
    }

    fn lock_status(&self) -> std::sync::MutexGuard<'_, HaClientStatus> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replicates from the master `master` names (its HA address, None while unknown) until
    /// `stop`; reconnects after every failure and whenever the address changes.
    pub async fn run(
        self: Arc<Self>,
        mut master: watch::Receiver<Option<String>>,
        stop: CancellationToken,
    ) {
        let mut failures = 0u32;
        while !stop.is_cancelled() {
            let addr = master.borrow_and_update().clone();
            self.lock_status().master_ha_addr = addr.clone();
            let Some(addr) = addr else {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = master.changed() => continue,
                }
            };
            let ended = tokio::select! {
                () = stop.cancelled() => return,
                _ = master.changed() => Ok("the master's HA address changed".to_owned()),
                ended = self.replicate_from(&addr, None) => ended,
            };
            self.lock_status().connected = false;
            match ended {
                Ok(why) => {
                    failures = 0;
                    tracing::warn!(master = %addr, "HA: replication connection closed: {why}");
                }
                Err(why) => {
                    // Log the first failure and then every minute, not every second.
                    if failures % 60 == 0 {
                        tracing::warn!(master = %addr, "HA: cannot replicate: {why}; retrying every second");
                    }
                    failures += 1;
                }
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(RECONNECT_PAUSE) => {}
            }
        }
    }

    /// Controller mode: one replication connection to the master's HA address `addr`, opened
    /// with `hello`; the caller checked this store's history against the master's first (see
    /// [`crate::epoch`]). `Err` when it could not be opened, `Ok(why)` when it ended.
    pub async fn follow(&self, addr: &str, hello: Hello) -> Result<Ended, Ended> {
        self.lock_status().master_ha_addr = Some(addr.to_owned());
        let ended = self.replicate_from(addr, Some(hello)).await;
        self.lock_status().connected = false;
        ended
    }

    /// One connection: `Err` when it could not be opened, `Ok(why)` when it ended.
    async fn replicate_from(&self, addr: &str, hello: Option<Hello>) -> Result<Ended, Ended> {
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(format!("connect failed: {e}")),
            Err(_) => return Err("connect timed out".to_owned()),
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "HA: cannot set TCP_NODELAY");
        }
        tracing::info!(master = %addr, offset = self.store.max_phy_offset(), "HA: connected to the master");
        self.lock_status().connected = true;
        Ok(self.transfer(stream, hello).await)
    }

    /// Reports, receives and stores until something fails; returns why.
    async fn transfer(&self, mut stream: TcpStream, hello: Option<Hello>) -> Ended {
        if let Some(hello) = hello {
            if let Err(e) = stream.write_all(&hello.encode()).await {
                return format!("hello failed: {e}");
            }
        }
        let mut reported = self.store.max_phy_offset();
        if let Err(e) = self.report(&mut stream, reported).await {
            return e;
        }
        let mut last_report = Instant::now();
        let mut buf = BytesMut::with_capacity(TRANSFER_HEADER_SIZE + 64 * 1024);
        loop {
            let until_heartbeat = self
                .config
                .send_heartbeat_interval
                .saturating_sub(last_report.elapsed());
            if buf.capacity() - buf.len() < 16 * 1024 {
                buf.reserve(64 * 1024);
            }
            let read = tokio::select! {
                read = tokio::time::timeout(self.config.housekeeping_interval, stream.read_buf(&mut buf)) => read,
                () = tokio::time::sleep(until_heartbeat) => {
                    if let Err(e) = self.report(&mut stream, reported).await {
                        return e;
                    }
                    last_report = Instant::now();
                    continue;
                }
            };
            match read {
                Err(_) => {
                    return format!(
                        "master silent for {:?} (haHousekeepingInterval)",
                        self.config.housekeeping_interval
                    )
                }
                Ok(Err(e)) => return format!("read failed: {e}"),
                Ok(Ok(0)) => return "the master closed the connection".to_owned(),
                Ok(Ok(_)) => {}
            }
            self.lock_status().last_read = Some(SystemTime::now());
            if let Err(e) = self.store_frames(&mut buf) {
                return e;
            }
            let end = self.store.max_phy_offset();
            if end > reported {
                if let Err(e) = self.report(&mut stream, end).await {
                    return e;
                }
                reported = end;
                last_report = Instant::now();
            }
        }
    }

    /// Stores every complete frame in `buf`, leaving a partial one for the next read.
    fn store_frames(&self, buf: &mut BytesMut) -> Result<(), Ended> {
        while let Some((offset, len)) = parse_transfer_header(buf) {
            let len = usize::try_from(len)
                .ok()
                .filter(|l| *l <= MAX_BODY)
                .ok_or_else(|| format!("the master sent a frame of {len} bytes; closing"))?;
            let local_end = self.store.max_phy_offset();
            if local_end != 0 && offset != local_end {
                return Err(format!(
                    "the master sent commit-log offset {offset} but this slave ends at {local_end}; \
                     reconnecting to resume from {local_end}"
                ));
            }
            if buf.len() < TRANSFER_HEADER_SIZE + len {
                // Make room for the rest of the frame in one go.
                buf.reserve(TRANSFER_HEADER_SIZE + len - buf.len());
                return Ok(());
            }
            if len > 0 {
                let body = &buf[TRANSFER_HEADER_SIZE..TRANSFER_HEADER_SIZE + len];
                match self.store.append_replicated(offset, body) {
                    Ok(_) => self.lock_status().bytes_received += len as u64,
                    Err(e @ StoreError::ReplicaCorrupt { .. }) => return Err(e.to_string()),
                    Err(e) => return Err(format!("cannot store replicated data: {e}")),
                }
            }
            buf.advance(TRANSFER_HEADER_SIZE + len);
        }
        Ok(())
    }

    async fn report(&self, stream: &mut TcpStream, offset: i64) -> Result<(), Ended> {
        stream
            .write_all(&offset.to_be_bytes())
            .await
            .map_err(|e| format!("report failed: {e}"))?;
        self.lock_status().reported_offset = offset;
        Ok(())
    }
}
