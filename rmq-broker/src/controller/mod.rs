//! Controller mode (RocketMQ 5's automatic failover, `docs/replication.md` "Failover"): the
//! group's controller, a Raft-replicated service, assigns this replica its id, names the master
//! of each epoch and keeps the in-sync set. This module
//! - obtains the id (kept in `brokerIdentity`) and registers with the controller;
//! - heartbeats every controller, so a dead master is noticed (at once when its connection
//!   closes) and a new one elected;
//! - applies every role the controller announces (pushed with NOTIFY_BROKER_ROLE_CHANGED, also
//!   polled): a new master cuts a partial tail and starts an epoch; a slave cuts whatever it
//!   holds beyond the last point it shares with the new master and follows it;
//! - as master, keeps the in-sync set true: slaves that caught up join, slaves gone or stuck
//!   leave, always through the controller first when the set shrinks.

mod client;
mod follow;
mod identity;
mod sync_set;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rmq_ha::epoch::EpochFile;
use rmq_remoting::body::controller::{ElectMasterResponseBody, SyncStateSet};
use rmq_remoting::fastjson;
use rmq_remoting::header::controller::{
    ApplyBrokerIdRequestHeader, ElectMasterRequestHeader, GetNextBrokerIdRequestHeader,
    GetNextBrokerIdResponseHeader, GetReplicaInfoRequestHeader, MasterInfoHeader,
    RegisterBrokerToControllerRequestHeader,
};
use rmq_remoting::header::namesrv::BrokerHeartbeatRequestHeader;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::BrokerRole;
use crate::registration::MasterInfo;
use crate::state::{BrokerContext, RoleState};
use client::{ControllerClient, ControllerError};
use identity::{Identity, IdentityFiles};

pub(crate) use follow::epoch_cache_answer;

/// What controller mode shares with request handlers.
pub struct ControllerShared {
    /// This replica's epoch history (`epochFileCheckpoint`).
    pub epochs: EpochFile,
    /// Role announcements pushed by the controller, for [`run`] to apply.
    pub notices: watch::Sender<Option<RoleNotice>>,
    /// The controller-assigned id (-1 until known).
    pub broker_id: AtomicI64,
}

impl ControllerShared {
    /// Opens the epoch file under `store_root`.
    pub fn open(store_root: &std::path::Path) -> Result<Self, String> {
        let epochs =
            EpochFile::open(store_root.join("epochFileCheckpoint")).map_err(|e| e.to_string())?;
        Ok(ControllerShared {
            epochs,
            notices: watch::channel(None).0,
            broker_id: AtomicI64::new(-1),
        })
    }
}

/// Who the controller says the group's master is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleNotice {
    /// Master id, address and epochs.
    pub master: MasterInfoHeader,
    /// The in-sync set (with its epoch).
    pub sync_set: SyncStateSet,
}

/// Aborts a task when dropped, so a role's tasks end with the role.
struct Task(Option<JoinHandle<()>>);

impl Task {
    fn spawn(task: impl std::future::Future<Output = ()> + Send + 'static) -> Self {
        Task(Some(tokio::spawn(task)))
    }

    async fn stop(&mut self) {
        if let Some(t) = self.0.take() {
            t.abort();
            let _ = t.await;
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.abort();
        }
    }
}

/// Runs controller mode until the broker stops.
pub(crate) async fn run(ctx: Arc<BrokerContext>) {
    let Some(shared) = ctx.controller.clone() else {
        return;
    };
    let client = Arc::new(ControllerClient::new(ctx.config.controller_addrs()));
    let id = loop {
        match obtain_id(&ctx, &client).await {
            Ok(id) => break id,
            Err(e) => {
                tracing::warn!("controller mode: cannot get a broker id yet: {e}; retrying");
                // Replicas starting together race for the same id; a short random pause lets
                // the loser ask again at once without racing the same way.
                tokio::time::sleep(Duration::from_millis(fastrand::u64(50..300))).await;
            }
        }
    };
    shared.broker_id.store(id, Ordering::Release);
    tracing::info!(
        broker_id = id,
        "controller mode: this replica's controller id"
    );
    let _heartbeats = Task::spawn(heartbeat(ctx.clone(), shared.clone(), client.clone(), id));
    let mut keeper = RoleKeeper {
        ctx: ctx.clone(),
        client,
        shared: shared.clone(),
        id,
        registered: false,
        follower: Task(None),
        sync_set: Task(None),
    };
    let mut notices = shared.notices.subscribe();
    let poll = Duration::from_millis(ctx.config.sync_broker_metadata_period.max(100));
    loop {
        let wait = if ctx.role().decided {
            poll
        } else {
            Duration::from_millis(300)
        };
        tokio::select! {
            changed = notices.changed() => {
                if changed.is_err() {
                    return;
                }
                let notice = notices.borrow_and_update().clone();
                if let Some(n) = notice {
                    keeper.apply(n).await;
                }
            }
            () = tokio::time::sleep(wait) => keeper.poll().await,
            () = ctx.stopping.cancelled() => return,
        }
    }
}

/// The confirmed id, or a new one from the controller (claimed in a temp file first, so a
/// crash between the claim and the confirmation retries the same id).
async fn obtain_id(ctx: &BrokerContext, client: &ControllerClient) -> Result<i64, String> {
    let cfg = &ctx.config;
    let files = IdentityFiles::under(&ctx.store.config().store_path_root_dir);
    if let Some(id) = files.confirmed()? {
        if id.cluster != cfg.broker_cluster_name || id.broker_name != cfg.broker_name {
            return Err(format!(
                "brokerIdentity says this store belongs to {}/{}, but the config says {}/{}: fix brokerClusterName/brokerName or use another storePathRootDir",
                id.cluster, id.broker_name, cfg.broker_cluster_name, cfg.broker_name
            ));
        }
        return Ok(id.broker_id);
    }
    let claim = match files.pending()? {
        Some(claim) => claim,
        None => {
            let header = GetNextBrokerIdRequestHeader {
                cluster_name: cfg.broker_cluster_name.clone(),
                broker_name: cfg.broker_name.clone(),
            };
            let r = client
                .call(RemotingCommand::request(
                    RequestCode::CONTROLLER_GET_NEXT_BROKER_ID,
                    &header,
                ))
                .await
                .map_err(|e| e.to_string())?;
            let next = r
                .decode_header::<GetNextBrokerIdResponseHeader>()
                .ok()
                .and_then(|h| h.next_broker_id)
                .ok_or("the controller named no next broker id")?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            let claim = Identity {
                cluster: cfg.broker_cluster_name.clone(),
                broker_name: cfg.broker_name.clone(),
                broker_id: next,
                check_code: Some(format!("{};{now}", ctx.broker_addr())),
            };
            files.write_pending(&claim)?;
            claim
        }
    };
    let header = ApplyBrokerIdRequestHeader {
        cluster_name: claim.cluster.clone(),
        broker_name: claim.broker_name.clone(),
        applied_broker_id: claim.broker_id,
        register_check_code: claim.check_code.clone().unwrap_or_default(),
    };
    match client
        .call(RemotingCommand::request(
            RequestCode::CONTROLLER_APPLY_BROKER_ID,
            &header,
        ))
        .await
    {
        Ok(_) => {
            files.confirm(&claim)?;
            Ok(claim.broker_id)
        }
        Err(ControllerError::Refused { code, remark }) => {
            files.drop_pending();
            Err(format!(
                "the controller refused broker id {} ({code}: {remark}); asking for another",
                claim.broker_id
            ))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Heartbeats every controller every `brokerHeartbeatInterval` with what an election ranks.
async fn heartbeat(
    ctx: Arc<BrokerContext>,
    shared: Arc<ControllerShared>,
    client: Arc<ControllerClient>,
    id: i64,
) {
    let mut ticks = tokio::time::interval(Duration::from_millis(
        ctx.config.broker_heartbeat_interval.max(100),
    ));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let header = BrokerHeartbeatRequestHeader {
            cluster_name: ctx.config.broker_cluster_name.clone(),
            broker_addr: ctx.broker_addr(),
            broker_name: ctx.config.broker_name.clone(),
            broker_id: Some(id),
            epoch: Some(shared.epochs.last_epoch()),
            max_offset: Some(ctx.store.max_phy_offset()),
            confirm_offset: Some(ctx.store.dispatched_phy_offset()),
            heartbeat_timeout_mills: Some(ctx.config.controller_heart_beat_timeout_mills as i64),
            election_priority: Some(ctx.config.broker_election_priority),
        };
        client.heartbeat_all(&header).await;
    }
}

/// Applies the controller's decisions to this broker.
struct RoleKeeper {
    ctx: Arc<BrokerContext>,
    client: Arc<ControllerClient>,
    shared: Arc<ControllerShared>,
    id: i64,
    registered: bool,
    /// On a slave: copying from the master.
    follower: Task,
    /// On a master: keeping the in-sync set.
    sync_set: Task,
}

impl RoleKeeper {
    fn group(&self) -> String {
        self.ctx.config.broker_name.clone()
    }

    /// Registers (the first time) or asks who the master is; elects when there is none.
    async fn poll(&mut self) {
        let answer = if self.registered {
            let header = GetReplicaInfoRequestHeader {
                broker_name: self.group(),
            };
            self.client
                .call(RemotingCommand::request(
                    RequestCode::CONTROLLER_GET_REPLICA_INFO,
                    &header,
                ))
                .await
        } else {
            let header = RegisterBrokerToControllerRequestHeader {
                cluster_name: self.ctx.config.broker_cluster_name.clone(),
                broker_name: self.group(),
                broker_id: self.id,
                broker_address: self.ctx.broker_addr(),
                invoke_time: 0,
            };
            self.client
                .call(RemotingCommand::request(
                    RequestCode::CONTROLLER_REGISTER_BROKER,
                    &header,
                ))
                .await
        };
        let response = match answer {
            Ok(r) => r,
            Err(ControllerError::Refused { code, .. })
                if code == ResponseCode::CONTROLLER_BROKER_METADATA_NOT_EXIST.as_i32()
                    || code == ResponseCode::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED.as_i32() =>
            {
                self.registered = false;
                return;
            }
            Err(e) => {
                tracing::debug!("controller mode: {e}");
                return;
            }
        };
        self.registered = true;
        let notice = notice_of(&response, false);
        if notice.master.master_broker_id.is_none() {
            self.elect().await;
        } else {
            self.apply(notice).await;
        }
    }

    /// Asks the controller to elect a master (this replica preferred).
    async fn elect(&mut self) {
        let header = ElectMasterRequestHeader {
            cluster_name: self.ctx.config.broker_cluster_name.clone(),
            broker_name: self.group(),
            broker_id: self.id,
            designate_elect: false,
            invoke_time: None,
        };
        match self
            .client
            .call(RemotingCommand::request(
                RequestCode::CONTROLLER_ELECT_MASTER,
                &header,
            ))
            .await
        {
            Ok(r) => self.apply(notice_of(&r, true)).await,
            Err(e) => tracing::info!("controller mode: no master elected yet: {e}"),
        }
    }

    /// Becomes master or slave of a newer epoch; in the same epoch a master takes the new
    /// in-sync set.
    async fn apply(&mut self, notice: RoleNotice) {
        let (Some(master_id), Some(epoch)) =
            (notice.master.master_broker_id, notice.master.master_epoch)
        else {
            return;
        };
        let now = self.ctx.role();
        if now.decided && epoch <= now.master_epoch {
            return;
        }
        if master_id == self.id {
            self.become_master(epoch, notice.sync_set).await;
        } else if let Some(addr) = notice.master.master_address.filter(|a| !a.is_empty()) {
            self.become_slave(addr, epoch).await;
        }
    }

    async fn become_master(&mut self, epoch: i32, set: SyncStateSet) {
        self.follower.stop().await;
        self.sync_set.stop().await;
        let store = &self.ctx.store;
        if let Err(e) = store.truncate_to(store.dispatched_phy_offset()) {
            tracing::error!(
                "controller mode: cannot cut the partial tail before becoming master: {e}"
            );
            return;
        }
        let start = store.max_phy_offset();
        if let Err(e) = self.shared.epochs.begin(epoch, start) {
            tracing::error!("controller mode: cannot record epoch {epoch}: {e}; staying a slave");
            return;
        }
        let ha = &self.ctx.replication.master;
        ha.set_master_epoch(Some(epoch));
        let tracker = ha.tracker();
        if self.ctx.config.all_ack_in_sync_state_set {
            tracker.set_sync_set(Some(others(&set.sync_state_set, self.id)));
            store.set_replica_waiter(Some(tracker));
        } else {
            tracker.set_sync_set(None);
            store.set_replica_waiter(None);
        }
        self.ctx.master.send_replace(None);
        self.ctx.role.send_replace(RoleState {
            role: BrokerRole::SyncMaster,
            broker_id: 0,
            master_epoch: epoch,
            decided: true,
        });
        tracing::info!(epoch, start_offset = start, in_sync = ?set.sync_state_set, "controller mode: this broker is now the master");
        self.sync_set = Task::spawn(sync_set::keep(
            self.ctx.clone(),
            self.client.clone(),
            self.id,
            epoch,
            set,
        ));
    }

    async fn become_slave(&mut self, master_addr: String, epoch: i32) {
        self.sync_set.stop().await;
        self.follower.stop().await;
        let ha = &self.ctx.replication.master;
        ha.set_master_epoch(None);
        // Sends that slipped past the role check before this point must not be acknowledged:
        // an in-sync set no replica can complete makes them time out.
        ha.tracker().set_sync_set(Some([i64::MIN].into()));
        self.ctx.store.set_replica_waiter(Some(ha.tracker()));
        self.ctx.role.send_replace(RoleState {
            role: BrokerRole::Slave,
            broker_id: self.id,
            master_epoch: epoch,
            decided: true,
        });
        self.ctx.master.send_replace(Some(MasterInfo {
            master_addr: master_addr.clone(),
            ha_server_addr: None,
        }));
        tracing::info!(epoch, master = %master_addr, "controller mode: this broker is now a slave");
        self.follower = Task::spawn(follow::run(
            self.ctx.clone(),
            self.client.clone(),
            master_addr,
            epoch,
            self.id,
        ));
    }
}

/// The in-sync set without `me`: the replicas a send waits for.
fn others(set: &BTreeSet<i64>, me: i64) -> BTreeSet<i64> {
    set.iter().copied().filter(|id| *id != me).collect()
}

/// Reads a register, replica-info or elect answer (header plus the in-sync set, which an
/// election answer wraps in its body).
fn notice_of(response: &RemotingCommand, election: bool) -> RoleNotice {
    let master = response
        .decode_header::<MasterInfoHeader>()
        .unwrap_or_default();
    let sync_set = if election {
        let body: ElectMasterResponseBody =
            fastjson::from_slice(&response.body).unwrap_or_default();
        SyncStateSet {
            sync_state_set: body.sync_state_set,
            sync_state_set_epoch: master.sync_state_set_epoch.unwrap_or(0),
        }
    } else {
        fastjson::from_slice(&response.body).unwrap_or_default()
    };
    RoleNotice { master, sync_set }
}
