//! The broker's side of replication (`rmq-ha`, `docs/replication.md`): every broker listens on
//! its HA port; a SYNC_MASTER's sends wait for a slave; a slave follows the master that its
//! registrations (or `haMasterAddress`) name. Runtime info shows where replication stands.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use rmq_ha::{HaClient, HaConfig, HaMaster};
use rmq_store::MessageStore;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{BrokerConfig, BrokerRole};
use crate::state::BrokerContext;

/// The replication service of one broker.
pub struct Replication {
    /// Streams this broker's commit log to slaves that connect.
    pub master: Arc<HaMaster>,
    /// On a slave (and on every broker in controller mode, where roles change), the client
    /// that copies the master's commit log.
    pub client: Option<Arc<HaClient>>,
    /// `brokerIP2:haPort`, where slaves connect.
    pub ha_server_addr: String,
}

/// Binds the HA port: `haListenPort` when set (a port in use is then an error), otherwise
/// `listenPort + 1` as RocketMQ's start script sets it, or an ephemeral port when that is taken
/// or `listenPort` is 0. Slaves learn the bound port from the name server, so a fallback still
/// replicates; only a slave with a fixed `haMasterAddress` would miss it, hence the warning.
pub fn bind_ha_port(
    config: &BrokerConfig,
    bound_listen_port: u16,
) -> Result<std::net::TcpListener, String> {
    let bind = |port: u16| std::net::TcpListener::bind(("0.0.0.0", port));
    if config.ha_listen_port != 0 {
        let port = config.ha_listen_port;
        return bind(port).map_err(|e| {
            format!("cannot listen for slaves on haListenPort={port}: {e}; set haListenPort to a free port")
        });
    }
    if config.listen_port != 0 {
        let port = bound_listen_port.saturating_add(1);
        match bind(port) {
            Ok(listener) => return Ok(listener),
            Err(e) => tracing::warn!(
                "cannot listen for slaves on listenPort + 1 = {port}: {e}; using an ephemeral HA port, which slaves \
                 learn from the name server (set haListenPort to fix it)"
            ),
        }
    }
    bind(0).map_err(|e| format!("cannot listen for slaves on any port: {e}"))
}

impl Replication {
    /// The service for `store`; a slave gets its client.
    pub fn new(config: &BrokerConfig, store: &Arc<MessageStore>, ha_server_addr: String) -> Self {
        let ha = ha_config(config);
        let master = HaMaster::new(store.clone(), ha.clone());
        // In controller mode the role, and so the waiter, is set when the controller decides.
        match config.broker_role {
            BrokerRole::SyncMaster if !config.enable_controller_mode => {
                store.set_replica_waiter(Some(master.tracker()))
            }
            _ => store.set_replica_waiter(None),
        }
        let client = (config.broker_role == BrokerRole::Slave || config.enable_controller_mode)
            .then(|| HaClient::new(store.clone(), ha));
        Replication {
            master,
            client,
            ha_server_addr,
        }
    }

    /// Starts accepting slaves on `listener` and, on a slave, replicating from the master.
    pub fn spawn(ctx: &Arc<BrokerContext>, listener: std::net::TcpListener) -> Vec<JoinHandle<()>> {
        let mut tasks = Vec::new();
        let stop = ctx.stopping.clone();
        match listener
            .set_nonblocking(true)
            .and_then(|()| TcpListener::from_std(listener))
        {
            Ok(listener) => tasks.push(tokio::spawn(
                ctx.replication.master.clone().serve(listener, stop.clone()),
            )),
            Err(e) => {
                tracing::error!(error = %e, "HA port unusable; no slave can replicate from this broker")
            }
        }
        if let Some(client) = ctx
            .replication
            .client
            .as_ref()
            .filter(|_| !ctx.config.enable_controller_mode)
        {
            let (tx, rx) = watch::channel(None);
            tasks.push(tokio::spawn(follow_master_address(ctx.clone(), tx)));
            tasks.push(tokio::spawn(client.clone().run(rx, stop)));
        }
        tasks
    }

    /// Replication figures for GET_BROKER_RUNTIME_INFO (`mqadmin brokerStatus`).
    pub fn runtime_info(&self, store: &MessageStore, slave: bool) -> Vec<(String, String)> {
        let mut info = Vec::new();
        if let Some(client) = self.client.as_ref().filter(|_| slave) {
            let s = client.status();
            info.push((
                "haMasterAddress".to_owned(),
                s.master_ha_addr.unwrap_or_default(),
            ));
            info.push(("haConnected".to_owned(), s.connected.to_string()));
            info.push((
                "haSlaveMaxOffset".to_owned(),
                store.max_phy_offset().to_string(),
            ));
            info.push(("haReceivedBytes".to_owned(), s.bytes_received.to_string()));
            let last_read = s
                .last_read
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_millis());
            info.push(("haLastReadTimestamp".to_owned(), last_read.to_string()));
            return info;
        }
        let slaves = self.master.slaves();
        let in_sync = slaves.iter().filter(|s| s.in_sync).count();
        info.push(("haConnectionCount".to_owned(), slaves.len().to_string()));
        info.push(("haInSyncSlaveNums".to_owned(), in_sync.to_string()));
        info.push((
            "haPush2SlaveMaxOffset".to_owned(),
            self.master.tracker().acked().to_string(),
        ));
        for s in slaves {
            info.push((
                format!("haSlave_{}", s.addr),
                format!(
                    "ackOffset={} behindBytes={} behindMillis={} inSync={} transferFrom={}",
                    s.ack_offset,
                    s.behind_bytes,
                    s.behind_for.as_millis(),
                    s.in_sync,
                    s.transfer_from
                ),
            ));
        }
        info
    }
}

/// The advertised HA address: `brokerIP2` (or the client address when unset) and the bound port.
pub fn ha_server_addr(config: &BrokerConfig, store_host: SocketAddr, port: u16) -> String {
    let ip = if config.broker_ip2.is_empty() {
        store_host.ip().to_string()
    } else {
        config.broker_ip2.clone()
    };
    format!("{ip}:{port}")
}

fn ha_config(config: &BrokerConfig) -> HaConfig {
    let default_gap = HaConfig::default().max_gap_not_in_sync;
    // 4.9 calls it haSlaveFallbehindMax, 5.x haMaxGapNotInSync: whichever was changed counts.
    let (fallbehind, gap) = (
        config.ha_slave_fallbehind_max,
        config.ha_max_gap_not_in_sync,
    );
    let gap = match (fallbehind != default_gap, gap != default_gap) {
        (true, true) => fallbehind.min(gap),
        (true, false) => fallbehind,
        _ => gap,
    };
    HaConfig {
        send_heartbeat_interval: Duration::from_millis(config.ha_send_heartbeat_interval.max(100)),
        housekeeping_interval: Duration::from_millis(config.ha_housekeeping_interval.max(1_000)),
        transfer_batch_size: config
            .ha_transfer_batch_size
            .clamp(4 * 1024, 4 * 1024 * 1024),
        max_gap_not_in_sync: gap,
    }
}

/// Feeds the slave's client the master's HA address: `haMasterAddress` when set (fixed, as in
/// RocketMQ), otherwise what registrations learn.
async fn follow_master_address(ctx: Arc<BrokerContext>, tx: watch::Sender<Option<String>>) {
    if !ctx.config.ha_master_address.is_empty() {
        tx.send_replace(Some(ctx.config.ha_master_address.clone()));
        tx.closed().await;
        return;
    }
    let mut master = ctx.master.subscribe();
    loop {
        let addr = master
            .borrow_and_update()
            .as_ref()
            .and_then(|m| m.ha_server_addr.clone());
        tx.send_if_modified(|known| {
            let changed = *known != addr;
            *known = addr;
            changed
        });
        if master.changed().await.is_err() {
            return;
        }
    }
}
