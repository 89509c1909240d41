//! A controller-mode master keeps its in-sync set true (Apache 5's SyncStateSet).
//!
//! Safety rests on one rule: the set this master waits for is always a superset of the set the
//! controller holds, because the controller may elect any member. So a replica joins here first
//! (sends start waiting for it) and at the controller second, and leaves at the controller
//! first and here second. A replica joins once it holds everything written; it leaves when its
//! connection has been gone for a second or it has lagged `haMaxTimeSlaveNotCatchup`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmq_remoting::body::controller::SyncStateSet;
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::header::controller::AlterSyncStateSetRequestHeader;
use rmq_remoting::{RemotingCommand, RequestCode};

use super::client::ControllerClient;
use super::others;
use crate::state::BrokerContext;

/// How long a member may be disconnected (reconnecting after a role change) before it leaves.
const ABSENCE_GRACE: Duration = Duration::from_secs(1);
/// How long a joining replica gets to reach the log end once sends wait for it.
const JOIN_DEADLINE: Duration = Duration::from_secs(1);

/// Runs while this broker is master of `epoch`.
pub(super) async fn keep(
    ctx: Arc<BrokerContext>,
    client: Arc<ControllerClient>,
    me: i64,
    epoch: i32,
    mut set: SyncStateSet,
) {
    let period = Duration::from_millis(ctx.config.check_sync_state_set_period.clamp(100, 500));
    let lag_limit = Duration::from_millis(ctx.config.ha_max_time_slave_not_catchup.max(100));
    let batch = ctx.config.ha_transfer_batch_size as i64;
    let tracker = ctx.replication.master.tracker();
    let mut absent_since: HashMap<i64, Instant> = HashMap::new();
    loop {
        tokio::time::sleep(period).await;
        let slaves: HashMap<i64, rmq_ha::SlaveStatus> = ctx
            .replication
            .master
            .slaves()
            .into_iter()
            .filter_map(|s| Some((s.broker_id?, s)))
            .collect();
        let mut wanted = staying(&set, me, &slaves, lag_limit, &mut absent_since);
        let max = ctx.store.max_phy_offset();
        let candidates: Vec<i64> = slaves
            .iter()
            .filter(|(id, s)| !set.sync_state_set.contains(id) && max - s.ack_offset <= batch)
            .map(|(id, _)| *id)
            .collect();
        if !candidates.is_empty() {
            let mut waiting = others(&set.sync_state_set, me);
            waiting.extend(candidates.iter().copied());
            tracker.set_sync_set(Some(waiting));
            wanted.extend(wait_caught_up(&ctx, &candidates).await);
        }
        if wanted != set.sync_state_set {
            match alter(&ctx, &client, me, epoch, &wanted, set.sync_state_set_epoch).await {
                Ok(new) => {
                    tracing::info!(from = ?set.sync_state_set, to = ?new.sync_state_set, epoch = new.sync_state_set_epoch, "controller mode: in-sync set changed");
                    set = new;
                }
                Err(e) => {
                    tracing::warn!(wanted = ?wanted, "controller mode: the controller did not change the in-sync set: {e}")
                }
            }
        } else if candidates.is_empty() {
            continue;
        }
        tracker.set_sync_set(Some(others(&set.sync_state_set, me)));
    }
}

/// The members of `set` that stay: this master, and slaves connected and not stuck behind
/// for `lag_limit`; a disconnected member stays for [`ABSENCE_GRACE`] (it may be reconnecting).
fn staying(
    set: &SyncStateSet,
    me: i64,
    slaves: &HashMap<i64, rmq_ha::SlaveStatus>,
    lag_limit: Duration,
    absent_since: &mut HashMap<i64, Instant>,
) -> BTreeSet<i64> {
    let now = Instant::now();
    set.sync_state_set
        .iter()
        .copied()
        .filter(|&id| {
            id == me
                || match slaves.get(&id) {
                    Some(s) => {
                        absent_since.remove(&id);
                        s.behind_for < lag_limit
                    }
                    None => {
                        now.duration_since(*absent_since.entry(id).or_insert(now)) < ABSENCE_GRACE
                    }
                }
        })
        .collect()
}

/// The candidates that, with sends already waiting for them, reach the log end in time.
async fn wait_caught_up(ctx: &BrokerContext, candidates: &[i64]) -> Vec<i64> {
    let target = ctx.store.max_phy_offset();
    let deadline = Instant::now() + JOIN_DEADLINE;
    loop {
        let acks: HashMap<i64, i64> = ctx
            .replication
            .master
            .slaves()
            .into_iter()
            .filter_map(|s| Some((s.broker_id?, s.ack_offset)))
            .collect();
        let done: Vec<i64> = candidates
            .iter()
            .copied()
            .filter(|id| acks.get(id).is_some_and(|a| *a >= target))
            .collect();
        if done.len() == candidates.len() || Instant::now() >= deadline {
            return done;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn alter(
    ctx: &BrokerContext,
    client: &ControllerClient,
    me: i64,
    epoch: i32,
    wanted: &BTreeSet<i64>,
    set_epoch: i32,
) -> Result<SyncStateSet, String> {
    let header = AlterSyncStateSetRequestHeader {
        broker_name: ctx.config.broker_name.clone(),
        master_broker_id: me,
        master_epoch: epoch,
        invoke_time: 0,
    };
    let body = SyncStateSet {
        sync_state_set: wanted.clone(),
        sync_state_set_epoch: set_epoch,
    };
    let request = RemotingCommand::request(RequestCode::CONTROLLER_ALTER_SYNC_STATE_SET, &header)
        .with_body(fastjson::to_vec(&body, KeyStyle::Fastjson));
    let response = client.call(request).await.map_err(|e| e.to_string())?;
    fastjson::from_slice(&response.body).map_err(|e| format!("bad answer: {e}"))
}
