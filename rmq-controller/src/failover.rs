//! Controller-triggered elections: when a group's master dies (its heartbeat connection
//! closes, or it falls silent past its timeout) the Raft leader elects a successor at once and
//! tells the group's live replicas (docs/controller.md, "Failure detection").

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmq_remoting::body::controller::SyncStateSet;
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::header::controller::MasterInfoHeader;
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};

use crate::controller::Controller;
use crate::elect::{elect, Ballot};
use crate::liveness::ReplicaKey;
use crate::replicas::Command;

/// Starts the scan for silent brokers and the watch for this node becoming leader.
pub fn spawn_background(controller: &Arc<Controller>) -> Vec<tokio::task::JoinHandle<()>> {
    let scan = {
        let controller = controller.clone();
        tokio::spawn(async move {
            loop {
                let interval = Duration::from_millis(
                    controller
                        .settings()
                        .scan_not_active_broker_interval
                        .max(10),
                );
                // Every interval, and also right when the earliest heartbeat deadline passes,
                // so a hung master is replaced after its timeout, not up to an interval later.
                let wake = controller.liveness.next_expiry().map_or(interval, |at| {
                    at.saturating_duration_since(Instant::now())
                        .clamp(Duration::from_millis(5), interval)
                });
                tokio::time::sleep(wake).await;
                let expired = controller.liveness.expire(Instant::now());
                for (broker_name, id) in &expired {
                    tracing::warn!(
                        broker_name,
                        id,
                        "broker replica dead: silent past its heartbeat timeout"
                    );
                }
                controller.replicas_died(&expired);
                controller.check_masters();
            }
        })
    };
    let leadership = {
        let controller = controller.clone();
        tokio::spawn(async move {
            let mut metrics = controller.raft.metrics();
            let mut was_leader = false;
            while metrics.changed().await.is_ok() {
                let leader = metrics.borrow().current_leader == Some(controller.me.id);
                if leader && !was_leader {
                    tracing::info!(node = %controller.me.name, "this controller is now the leader");
                    controller.check_masters();
                }
                was_leader = leader;
            }
        })
    };
    vec![scan, leadership]
}

impl Controller {
    /// Replicas whose heartbeat connection closed are dead at once.
    pub(crate) fn connection_closed(self: &Arc<Self>, connection: u64) {
        if self.stopping.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        let dead = self.liveness.connection_closed(connection);
        if dead.is_empty() {
            return;
        }
        for (broker_name, id) in &dead {
            tracing::info!(
                broker_name,
                id,
                "broker replica dead: its heartbeat connection closed"
            );
        }
        self.replicas_died(&dead);
    }

    fn replicas_died(self: &Arc<Self>, dead: &[ReplicaKey]) {
        if !self.is_leader() {
            return;
        }
        let table = self.state.table();
        for (broker_name, id) in dead {
            if table.group(broker_name).and_then(|g| g.master) == Some(*id) {
                self.spawn_reelect(broker_name.clone());
            }
        }
    }

    /// On the leader: re-elects every group whose recorded master is dead. A master never
    /// heard from since this node started is given one default heartbeat timeout to show up
    /// (this node may simply have restarted).
    pub(crate) fn check_masters(self: &Arc<Self>) {
        if !self.is_leader() {
            return;
        }
        let grace = Duration::from_millis(self.settings().default_broker_heartbeat_timeout);
        let warmed_up = self.started.elapsed() >= grace;
        let now = Instant::now();
        let groups: Vec<String> = self
            .state
            .table()
            .groups
            .iter()
            .filter(|(name, g)| {
                g.master.is_some_and(|m| match self.liveness.get(name, m) {
                    Some(info) => info.last + info.timeout <= now,
                    None => warmed_up,
                })
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in groups {
            self.spawn_reelect(name);
        }
    }

    /// Runs [`Self::reelect`] for the group in the background.
    pub(crate) fn spawn_reelect(self: &Arc<Self>, broker_name: String) {
        let controller = self.clone();
        tokio::spawn(async move {
            if let Err(e) = controller.reelect(&broker_name).await {
                tracing::warn!(broker_name, error = %e, "controller-triggered election failed");
            }
        });
    }

    /// Replaces a dead master (or fills a group left without one), retrying when the compare-and-set loses a race.
    async fn reelect(&self, broker_name: &str) -> Result<(), CommandError> {
        let started = Instant::now();
        let retries = self.settings().elect_master_max_retry_count.max(1);
        for _ in 0..retries {
            let Some((epoch, new_master)) = self.choose_successor(broker_name) else {
                return Ok(());
            };
            match self
                .write(Command::ElectMaster {
                    broker_name: broker_name.to_owned(),
                    expected_master_epoch: epoch,
                    new_master,
                })
                .await
            {
                Ok(()) => {
                    match new_master {
                        Some(id) => {
                            tracing::info!(broker_name, id, epoch = epoch + 1, elapsed = ?started.elapsed(), "new master elected")
                        }
                        None => tracing::warn!(
                            broker_name,
                            "master dead and no replica can replace it; the group has no master"
                        ),
                    }
                    if new_master.is_some() {
                        self.notify_role_change(broker_name);
                    }
                    return Ok(());
                }
                Err(e) if e.code == ResponseCode::CONTROLLER_FENCED_MASTER_EPOCH => continue,
                Err(e) => return Err(e),
            }
        }
        Err(CommandError::new(
            ResponseCode::CONTROLLER_ELECT_MASTER_FAILED,
            format!("the master epoch of {broker_name} kept changing during {retries} attempts"),
        ))
    }

    /// The master epoch seen and the successor to install (`None`: record that there is no
    /// master), or `None` when nothing should change: the master is alive, the group was
    /// never elected (its first replica elects itself), or it has no master and no candidate.
    fn choose_successor(&self, broker_name: &str) -> Option<(i32, Option<i64>)> {
        let table = self.state.table();
        let group = table.group(broker_name)?;
        if group.master.is_some_and(|m| self.is_alive(broker_name, m)) || group.master_epoch == 0 {
            return None;
        }
        let settings = self.settings();
        let members: BTreeSet<i64> = group.members.keys().copied().collect();
        let ballot = Ballot {
            sync_state_set: &group.sync_state_set,
            unclean_candidates: settings.enable_elect_unclean_master.then_some(&members),
            old_master: group.master,
            designated: None,
        };
        let new_master = elect(&ballot, |id| self.live_info(broker_name, id));
        (group.master.is_some() || new_master.is_some()).then_some((group.master_epoch, new_master))
    }

    /// The last heartbeat of a replica that is alive now.
    pub(crate) fn live_info(
        &self,
        broker_name: &str,
        id: i64,
    ) -> Option<crate::liveness::LiveInfo> {
        self.liveness
            .get(broker_name, id)
            .filter(|info| info.last + info.timeout > Instant::now())
    }

    /// Sends NOTIFY_BROKER_ROLE_CHANGED (oneway) to every live replica of the group, when
    /// `notifyBrokerRoleChanged` is on.
    pub(crate) fn notify_role_change(&self, broker_name: &str) {
        if !self.settings().notify_broker_role_changed {
            return;
        }
        let table = self.state.table();
        let Some(group) = table.group(broker_name) else {
            return;
        };
        let header = MasterInfoHeader {
            master_broker_id: group.master,
            master_address: Some(group.address_of(group.master)),
            master_epoch: Some(group.master_epoch),
            sync_state_set_epoch: Some(group.sync_state_set_epoch),
            ..MasterInfoHeader::default()
        };
        let body = fastjson::to_vec(
            &SyncStateSet {
                sync_state_set: group.sync_state_set.clone(),
                sync_state_set_epoch: group.sync_state_set_epoch,
            },
            KeyStyle::Fastjson,
        );
        for (id, member) in &group.members {
            let Some(info) = self.live_info(broker_name, *id) else {
                continue;
            };
            let address = if info.address.is_empty() {
                member.address.clone()
            } else {
                info.address
            };
            let request =
                RemotingCommand::request(RequestCode::NOTIFY_BROKER_ROLE_CHANGED, &header)
                    .with_body(body.clone());
            let client = self.client.clone();
            tokio::spawn(async move {
                if let Err(e) = client.invoke_oneway(&address, request).await {
                    tracing::warn!(%address, error = %e, "cannot notify a broker of its group's new master");
                }
            });
        }
    }
}
