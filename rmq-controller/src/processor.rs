//! One handler per controller request code, as Apache's `ControllerRequestProcessor` serves
//! them (docs/controller.md, "Requests"). Writes go through the Raft leader as
//! compare-and-set [`Command`]s; reads of replica state are answered locally.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmq_config::Settings;
use rmq_remoting::body::controller::{
    BrokerReplicasInfo, ElectMasterResponseBody, ReplicaIdentity, ReplicasInfo, SyncStateSet,
};
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::header::controller::*;
use rmq_remoting::header::namesrv::BrokerHeartbeatRequestHeader;
use rmq_remoting::transport::{Connection, HandlerResult, Router};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};

use crate::config::RUNTIME_UPDATABLE_KEYS;
use crate::controller::Controller;
use crate::elect::{elect, Ballot};
use crate::liveness::LiveInfo;
use crate::replicas::{check_alter, Command, Group};

/// The router serving every controller code, including Raft traffic between controllers.
pub fn router(controller: &Arc<Controller>) -> Router {
    let closing = controller.clone();
    Router::new()
        .route(
            RequestCode::BROKER_HEARTBEAT,
            handler(controller, heartbeat),
        )
        .route(
            RequestCode::CONTROLLER_GET_NEXT_BROKER_ID,
            handler(controller, next_broker_id),
        )
        .route(
            RequestCode::CONTROLLER_APPLY_BROKER_ID,
            handler(controller, apply_broker_id),
        )
        .route(
            RequestCode::CONTROLLER_REGISTER_BROKER,
            handler(controller, register_broker),
        )
        .route(
            RequestCode::CONTROLLER_GET_REPLICA_INFO,
            handler(controller, replica_info),
        )
        .route(
            RequestCode::CONTROLLER_ELECT_MASTER,
            handler(controller, elect_master),
        )
        .route(
            RequestCode::CONTROLLER_ALTER_SYNC_STATE_SET,
            handler(controller, alter_sync_state_set),
        )
        .route(
            RequestCode::CONTROLLER_GET_SYNC_STATE_DATA,
            handler(controller, sync_state_data),
        )
        .route(
            RequestCode::CONTROLLER_GET_METADATA_INFO,
            handler(controller, metadata),
        )
        .route(
            RequestCode::CLEAN_BROKER_DATA,
            handler(controller, clean_broker_data),
        )
        .route(
            RequestCode::UPDATE_CONTROLLER_CONFIG,
            handler(controller, update_config),
        )
        .route(
            RequestCode::GET_CONTROLLER_CONFIG,
            handler(controller, get_config),
        )
        .route(
            RequestCode::RMQ_CONTROLLER_RAFT,
            handler(controller, raft_rpc),
        )
        .on_close(move |conn| closing.connection_closed(conn.id()))
}

/// Adapts `async fn(controller, connection, request)` to a route.
use rmq_remoting::transport::with_state as handler;

fn body<T: serde::Serialize>(value: &T) -> Vec<u8> {
    fastjson::to_vec(value, KeyStyle::Fastjson)
}

fn invalid(what: &str, err: impl std::fmt::Display) -> CommandError {
    CommandError::new(
        ResponseCode::CONTROLLER_INVALID_REQUEST,
        format!("the {what} is malformed: {err}"),
    )
}

fn sync_state_set_of(group: &Group) -> SyncStateSet {
    SyncStateSet {
        sync_state_set: group.sync_state_set.clone(),
        sync_state_set_epoch: group.sync_state_set_epoch,
    }
}

fn metadata_not_exist(broker_name: &str) -> CommandError {
    CommandError::new(
        ResponseCode::CONTROLLER_BROKER_METADATA_NOT_EXIST,
        format!("broker group {broker_name} is not known to the controller"),
    )
}

async fn heartbeat(c: Arc<Controller>, conn: Connection, req: RemotingCommand) -> HandlerResult {
    let h: BrokerHeartbeatRequestHeader = req.decode_header()?;
    let Some(id) = h.broker_id else {
        return Err(CommandError::new(
            ResponseCode::CONTROLLER_INVALID_REQUEST,
            "heartbeat without brokerId; a controller-mode broker must send its controller id",
        ));
    };
    let default_timeout = c.settings().default_broker_heartbeat_timeout;
    let timeout = h
        .heartbeat_timeout_mills
        .and_then(|t| u64::try_from(t).ok())
        .filter(|t| *t > 0)
        .unwrap_or(default_timeout);
    let info = LiveInfo {
        cluster: h.cluster_name,
        address: h.broker_addr,
        last: Instant::now(),
        timeout: Duration::from_millis(timeout),
        epoch: h.epoch.unwrap_or(0),
        max_offset: h.max_offset.unwrap_or(0),
        confirm_offset: h.confirm_offset.unwrap_or(0),
        election_priority: h.election_priority.unwrap_or(i32::MAX),
        connection: conn.id(),
    };
    if c.liveness.heartbeat((h.broker_name.clone(), id), info) {
        tracing::info!(broker_name = h.broker_name, id, "broker replica alive");
        // A group whose master died with no successor gets one as soon as a candidate lives.
        let masterless = c
            .state
            .table()
            .group(&h.broker_name)
            .is_some_and(|g| g.master.is_none() && g.master_epoch > 0);
        if masterless && c.is_leader() {
            c.spawn_reelect(h.broker_name);
        }
    }
    Ok(RemotingCommand::response(
        ResponseCode::SUCCESS,
        Some("Heart beat success".to_owned()),
    ))
}

async fn next_broker_id(c: Arc<Controller>, _: Connection, req: RemotingCommand) -> HandlerResult {
    let h: GetNextBrokerIdRequestHeader = req.decode_header()?;
    c.ensure_leader().await?;
    let next = c.state.table().next_broker_id(&h.broker_name);
    Ok(RemotingCommand::success_with_header(
        &GetNextBrokerIdResponseHeader {
            cluster_name: Some(h.cluster_name),
            broker_name: Some(h.broker_name),
            next_broker_id: Some(next),
        },
    ))
}

async fn apply_broker_id(c: Arc<Controller>, _: Connection, req: RemotingCommand) -> HandlerResult {
    let h: ApplyBrokerIdRequestHeader = req.decode_header()?;
    c.ensure_leader().await?;
    c.state
        .table()
        .check_apply(&h.broker_name, h.applied_broker_id, &h.register_check_code)
        .map_err(refused)?;
    let address = h
        .register_check_code
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    c.write(Command::ApplyBrokerId {
        cluster: h.cluster_name.clone(),
        broker_name: h.broker_name.clone(),
        broker_id: h.applied_broker_id,
        address,
        check_code: h.register_check_code,
    })
    .await?;
    Ok(RemotingCommand::success_with_header(
        &ApplyBrokerIdResponseHeader {
            cluster_name: Some(h.cluster_name),
            broker_name: Some(h.broker_name),
        },
    ))
}

fn refused(r: crate::replicas::Refusal) -> CommandError {
    CommandError::new(
        ResponseCode::from_i32(r.code).unwrap_or(ResponseCode::SYSTEM_ERROR),
        r.remark,
    )
}

async fn register_broker(c: Arc<Controller>, _: Connection, req: RemotingCommand) -> HandlerResult {
    let h: RegisterBrokerToControllerRequestHeader = req.decode_header()?;
    c.ensure_leader().await?;
    let address_changed = {
        let table = c.state.table();
        let member = table
            .group(&h.broker_name)
            .and_then(|g| g.members.get(&h.broker_id))
            .ok_or_else(|| {
                CommandError::new(
                    ResponseCode::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED,
                    format!(
                        "replica {} of broker group {} is not registered; apply for a broker id first",
                        h.broker_id, h.broker_name
                    ),
                )
            })?;
        member.address != h.broker_address
    };
    if address_changed {
        c.write(Command::UpdateAddress {
            broker_name: h.broker_name.clone(),
            broker_id: h.broker_id,
            address: h.broker_address.clone(),
        })
        .await?;
    }
    let table = c.state.table();
    let group = table
        .group(&h.broker_name)
        .ok_or_else(|| metadata_not_exist(&h.broker_name))?;
    let mut header = MasterInfoHeader {
        cluster_name: Some(h.cluster_name),
        broker_name: Some(h.broker_name.clone()),
        ..MasterInfoHeader::default()
    };
    if let Some(master) = group.master.filter(|m| c.is_alive(&h.broker_name, *m)) {
        header.master_broker_id = Some(master);
        header.master_address = Some(group.address_of(Some(master)));
        header.master_epoch = Some(group.master_epoch);
        header.sync_state_set_epoch = Some(group.sync_state_set_epoch);
    }
    Ok(RemotingCommand::success_with_header(&header).with_body(body(&sync_state_set_of(group))))
}

async fn replica_info(c: Arc<Controller>, _: Connection, req: RemotingCommand) -> HandlerResult {
    let h: GetReplicaInfoRequestHeader = req.decode_header()?;
    let table = c.state.table();
    let group = table
        .group(&h.broker_name)
        .ok_or_else(|| metadata_not_exist(&h.broker_name))?;
    Ok(master_info(group).with_body(body(&sync_state_set_of(group))))
}

/// A success answer whose header says who the master is.
fn master_info(group: &Group) -> RemotingCommand {
    RemotingCommand::success_with_header(&MasterInfoHeader {
        master_broker_id: group.master,
        master_address: Some(group.address_of(group.master)),
        master_epoch: Some(group.master_epoch),
        sync_state_set_epoch: Some(group.sync_state_set_epoch),
        ..MasterInfoHeader::default()
    })
}

async fn elect_master(c: Arc<Controller>, _: Connection, req: RemotingCommand) -> HandlerResult {
    let h: ElectMasterRequestHeader = req.decode_header()?;
    c.ensure_leader().await?;
    let (epoch, old_master, new_master) = {
        let table = c.state.table();
        let group = table.group(&h.broker_name).ok_or_else(|| {
            CommandError::new(
                ResponseCode::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED,
                format!("broker group {} is not registered", h.broker_name),
            )
        })?;
        let requester = (h.broker_id >= 0).then_some(h.broker_id);
        let new_master = if group.master_epoch == 0 && requester.is_some() {
            // The group's first election: whoever asks first becomes master, as in Apache.
            requester
        } else {
            let members: BTreeSet<i64> = group.members.keys().copied().collect();
            let unclean = c.settings().enable_elect_unclean_master;
            let ballot = Ballot {
                sync_state_set: &group.sync_state_set,
                unclean_candidates: unclean.then_some(&members),
                old_master: group.master,
                designated: if h.designate_elect { requester } else { None },
            };
            elect(&ballot, |id| c.live_info(&h.broker_name, id))
        };
        if new_master.is_some() && new_master == group.master {
            let body = ElectMasterResponseBody {
                broker_member_group: None,
                sync_state_set: group.sync_state_set.clone(),
            };
            let mut answer = master_info(group).with_body(self::body(&body));
            answer.code = ResponseCode::CONTROLLER_MASTER_STILL_EXIST.as_i32();
            answer.remark = Some(format!(
                "the master {:?} of {} is alive; no election needed",
                group.master, h.broker_name
            ));
            return Ok(answer);
        }
        (group.master_epoch, group.master, new_master)
    };
    let Some(new_master) = new_master else {
        return Err(CommandError::new(
            ResponseCode::CONTROLLER_ELECT_MASTER_FAILED,
            format!(
                "no eligible replica of {} is alive (old master {old_master:?}); eligible means in the sync state set unless enableElectUncleanMaster",
                h.broker_name
            ),
        ));
    };
    c.write(Command::ElectMaster {
        broker_name: h.broker_name.clone(),
        expected_master_epoch: epoch,
        new_master: Some(new_master),
    })
    .await?;
    tracing::info!(
        broker_name = h.broker_name,
        new_master,
        epoch = epoch + 1,
        designated = h.designate_elect,
        "master elected on request"
    );
    c.notify_role_change(&h.broker_name);
    let table = c.state.table();
    let group = table
        .group(&h.broker_name)
        .ok_or_else(|| metadata_not_exist(&h.broker_name))?;
    let body = ElectMasterResponseBody {
        broker_member_group: Some(group.member_group(&h.broker_name)),
        sync_state_set: group.sync_state_set.clone(),
    };
    Ok(master_info(group).with_body(self::body(&body)))
}

async fn alter_sync_state_set(
    c: Arc<Controller>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: AlterSyncStateSetRequestHeader = req.decode_header()?;
    let proposed: SyncStateSet =
        fastjson::from_slice(&req.body).map_err(|e| invalid("SyncStateSet body", e))?;
    c.ensure_leader().await?;
    {
        let table = c.state.table();
        let group = table.group(&h.broker_name).ok_or_else(|| {
            CommandError::new(
                ResponseCode::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
                format!("broker group {} is not registered", h.broker_name),
            )
        })?;
        check_alter(
            group,
            h.master_broker_id,
            h.master_epoch,
            proposed.sync_state_set_epoch,
            &proposed.sync_state_set,
        )
        .map_err(refused)?;
        if let Some(dead) = proposed
            .sync_state_set
            .iter()
            .find(|id| !c.is_alive(&h.broker_name, **id))
        {
            return Err(CommandError::new(
                ResponseCode::CONTROLLER_BROKER_NOT_ALIVE,
                format!("replica {dead} of {} is not alive", h.broker_name),
            ));
        }
    }
    c.write(Command::AlterSyncStateSet {
        broker_name: h.broker_name.clone(),
        master: h.master_broker_id,
        master_epoch: h.master_epoch,
        sync_state_set_epoch: proposed.sync_state_set_epoch,
        new_set: proposed.sync_state_set.clone(),
    })
    .await?;
    let new_epoch = proposed.sync_state_set_epoch + 1;
    Ok(
        RemotingCommand::success_with_header(&AlterSyncStateSetResponseHeader {
            new_sync_state_set_epoch: new_epoch,
        })
        .with_body(body(&SyncStateSet {
            sync_state_set: proposed.sync_state_set,
            sync_state_set_epoch: new_epoch,
        })),
    )
}

async fn sync_state_data(c: Arc<Controller>, _: Connection, req: RemotingCommand) -> HandlerResult {
    let names: Vec<String> = if req.body.is_empty() {
        Vec::new()
    } else {
        fastjson::from_slice(&req.body).map_err(|e| invalid("broker name list", e))?
    };
    let table = c.state.table();
    let mut info = BrokerReplicasInfo::default();
    for name in names {
        let Some(group) = table.group(&name) else {
            continue;
        };
        let (mut in_sync, mut not_in_sync) = (Vec::new(), Vec::new());
        for (id, member) in &group.members {
            let replica = ReplicaIdentity {
                broker_name: name.clone(),
                broker_id: *id,
                broker_address: member.address.clone(),
                alive: c.is_alive(&name, *id),
            };
            if group.sync_state_set.contains(id) {
                in_sync.push(replica);
            } else {
                not_in_sync.push(replica);
            }
        }
        info.replicas_info_table.insert(
            name,
            ReplicasInfo {
                master_broker_id: group.master,
                master_address: group.address_of(group.master),
                master_epoch: group.master_epoch,
                sync_state_set_epoch: group.sync_state_set_epoch,
                in_sync_replicas: in_sync,
                not_in_sync_replicas: not_in_sync,
            },
        );
    }
    Ok(RemotingCommand::success().with_body(body(&info)))
}

async fn metadata(c: Arc<Controller>, _: Connection, _: RemotingCommand) -> HandlerResult {
    let leader = c.leader();
    let settings = c.settings();
    Ok(RemotingCommand::success_with_header(
        &GetMetaDataResponseHeader {
            group: Some(settings.controller_dleger_group),
            controller_leader_id: leader.map(|p| p.name.clone()),
            controller_leader_address: leader.map(|p| p.addr.clone()),
            is_leader: c.is_leader(),
            peers: Some(settings.controller_dleger_peers),
        },
    ))
}

async fn clean_broker_data(
    c: Arc<Controller>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: CleanControllerBrokerDataRequestHeader = req.decode_header()?;
    c.ensure_leader().await?;
    let bad = |remark: String| {
        CommandError::new(
            ResponseCode::CONTROLLER_INVALID_CLEAN_BROKER_METADATA,
            remark,
        )
    };
    let ids: Option<BTreeSet<i64>> =
        match h.broker_controller_ids_to_clean.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(list) => Some(
                list.split(';')
                    .map(|id| id.trim().parse::<i64>())
                    .collect::<Result<_, _>>()
                    .map_err(|e| {
                        bad(format!(
                            "brokerControllerIdsToClean must be ids separated by ';': {e}"
                        ))
                    })?,
            ),
        };
    {
        let table = c.state.table();
        let group = table
            .group(&h.broker_name)
            .ok_or_else(|| bad(format!("broker group {} does not exist", h.broker_name)))?;
        if !h.is_clean_living_broker {
            match &ids {
                None if group.master.is_some() => {
                    return Err(bad(format!(
                        "broker group {} still has a master; clean it with cleanLivingBroker",
                        h.broker_name
                    )))
                }
                Some(ids) => {
                    if let Some(alive) = ids.iter().find(|id| c.is_alive(&h.broker_name, **id)) {
                        return Err(bad(format!(
                            "replica {alive} of {} is alive",
                            h.broker_name
                        )));
                    }
                }
                None => {}
            }
        }
    }
    c.write(Command::CleanBrokerData {
        broker_name: h.broker_name,
        ids,
    })
    .await?;
    Ok(RemotingCommand::success())
}

async fn update_config(c: Arc<Controller>, _: Connection, req: RemotingCommand) -> HandlerResult {
    let text = std::str::from_utf8(&req.body).map_err(|e| invalid("configuration body", e))?;
    let properties = rmq_config::properties::parse(text);
    let mut updated = c.settings();
    for p in &properties {
        if !RUNTIME_UPDATABLE_KEYS.contains(&p.key.as_str()) {
            return Err(CommandError::new(
                ResponseCode::NO_PERMISSION,
                format!(
                    "`{}` cannot be changed at run time; changeable keys: {}",
                    p.key,
                    RUNTIME_UPDATABLE_KEYS.join(", ")
                ),
            ));
        }
        match updated.set(&p.key, &p.value) {
            Some(Ok(())) => {}
            Some(Err(accepted)) => {
                return Err(invalid(
                    &format!("value of `{}`", p.key),
                    format!("expected {accepted}"),
                ))
            }
            None => {
                return Err(invalid(
                    "configuration body",
                    format!("unknown key `{}`", p.key),
                ))
            }
        }
    }
    *c.settings.write().unwrap_or_else(|e| e.into_inner()) = updated;
    tracing::info!(keys = ?properties.iter().map(|p| &p.key).collect::<Vec<_>>(), "controller configuration updated");
    Ok(RemotingCommand::success())
}

async fn get_config(c: Arc<Controller>, _: Connection, _: RemotingCommand) -> HandlerResult {
    let text: String = c
        .settings()
        .values()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    Ok(RemotingCommand::success().with_body(text.into_bytes()))
}

async fn raft_rpc(c: Arc<Controller>, _: Connection, req: RemotingCommand) -> HandlerResult {
    crate::network::serve_rpc(&c.raft, &req).await
}
