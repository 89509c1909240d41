//! The replicated state: every broker group's members, master and in-sync set, as Apache's
//! `ReplicasInfoManager` keeps them, changed only by [`Command`]s applied in Raft log order.
//!
//! Every command is a compare-and-set: it carries what the proposer saw (an epoch, a check
//! code) and applies only if that still holds, so a decision taken on a stale view can never
//! take effect (docs/controller.md, "Deterministic commands").

use std::collections::{BTreeMap, BTreeSet};

use rmq_remoting::body::controller::BrokerMemberGroup;
use rmq_remoting::ResponseCode;
use serde::{Deserialize, Serialize};

/// The first id a group hands out (Apache's `FIRST_BROKER_CONTROLLER_ID`).
pub const FIRST_BROKER_ID: i64 = 1;

/// One replica of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// `ip:port` of its remoting listener.
    pub address: String,
    /// The `ip:port;timestamp` it applied for its id with; a retry with the same code gets
    /// the same id back.
    pub check_code: String,
}

/// One broker group (Apache's `BrokerReplicaInfo` and `SyncStateInfo` together).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// The cluster.
    pub cluster: String,
    /// Controller id → replica.
    pub members: BTreeMap<i64, Member>,
    /// The id GET_NEXT_BROKER_ID offers: one above the highest ever assigned.
    pub next_id: i64,
    /// The master's id; `None` before the first election and after a master died with no
    /// successor.
    pub master: Option<i64>,
    /// Raised at every election, successful or not; 0 means never elected.
    pub master_epoch: i32,
    /// Replicas holding everything the master acknowledged.
    pub sync_state_set: BTreeSet<i64>,
    /// Raised at every change of `sync_state_set`.
    pub sync_state_set_epoch: i32,
}

impl Group {
    /// The address of `id`, or "" as Apache answers for an unknown id.
    pub fn address_of(&self, id: Option<i64>) -> String {
        id.and_then(|id| self.members.get(&id))
            .map(|m| m.address.clone())
            .unwrap_or_default()
    }

    /// The group's members as the election answer lists them.
    pub fn member_group(&self, broker_name: &str) -> BrokerMemberGroup {
        BrokerMemberGroup {
            cluster: self.cluster.clone(),
            broker_name: broker_name.to_owned(),
            broker_addrs: self
                .members
                .iter()
                .map(|(id, m)| (*id, m.address.clone()))
                .collect(),
        }
    }
}

/// A replicated change. Serialized into the Raft log, so variants and fields are append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// A replica claims `broker_id`; creates the group for id 1.
    ApplyBrokerId {
        cluster: String,
        broker_name: String,
        broker_id: i64,
        address: String,
        check_code: String,
    },
    /// A registered replica came back on another address.
    UpdateAddress {
        broker_name: String,
        broker_id: i64,
        address: String,
    },
    /// Makes `new_master` the master (or records that there is none) if the master epoch is
    /// still `expected_master_epoch`.
    ElectMaster {
        broker_name: String,
        expected_master_epoch: i32,
        new_master: Option<i64>,
    },
    /// Replaces the in-sync set if master, master epoch and set epoch are still as given.
    AlterSyncStateSet {
        broker_name: String,
        master: i64,
        master_epoch: i32,
        sync_state_set_epoch: i32,
        new_set: BTreeSet<i64>,
    },
    /// Forgets the given replicas, or the whole group when `ids` is `None`.
    CleanBrokerData {
        broker_name: String,
        ids: Option<BTreeSet<i64>>,
    },
}

impl Command {
    /// The group the command changes.
    pub fn broker_name(&self) -> &str {
        match self {
            Command::ApplyBrokerId { broker_name, .. }
            | Command::UpdateAddress { broker_name, .. }
            | Command::ElectMaster { broker_name, .. }
            | Command::AlterSyncStateSet { broker_name, .. }
            | Command::CleanBrokerData { broker_name, .. } => broker_name,
        }
    }
}

/// Why a command did not apply: the response code and remark the requester gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// A `ResponseCode` wire value.
    pub code: i32,
    /// What happened, for the requester's log.
    pub remark: String,
}

impl Refusal {
    /// A refusal with `code`.
    pub fn new(code: ResponseCode, remark: impl Into<String>) -> Self {
        Refusal {
            code: code.as_i32(),
            remark: remark.into(),
        }
    }
}

/// The outcome of applying a command, as the Raft state machine returns it to the proposer.
pub type Applied = Result<(), Refusal>;

/// Every group by broker name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaTable {
    /// Broker name → group.
    pub groups: BTreeMap<String, Group>,
}

impl ReplicaTable {
    /// The group named `broker_name`.
    pub fn group(&self, broker_name: &str) -> Option<&Group> {
        self.groups.get(broker_name)
    }

    /// The id a new replica of `broker_name` should apply for.
    pub fn next_broker_id(&self, broker_name: &str) -> i64 {
        self.group(broker_name)
            .map_or(FIRST_BROKER_ID, |g| g.next_id)
    }

    /// Whether `id` may be claimed by `check_code` (Apache's `applyBrokerId` rules).
    pub fn check_apply(&self, broker_name: &str, id: i64, check_code: &str) -> Applied {
        match self.group(broker_name) {
            None if id == FIRST_BROKER_ID => Ok(()),
            None => Err(Refusal::new(
                ResponseCode::CONTROLLER_BROKER_ID_INVALID,
                format!("broker group {broker_name} is not registered in the controller, so its first replica must apply for id {FIRST_BROKER_ID}, not {id}"),
            )),
            Some(g) => match g.members.get(&id) {
                Some(m) if m.check_code != check_code => Err(Refusal::new(
                    ResponseCode::CONTROLLER_BROKER_ID_INVALID,
                    format!("id {id} of broker group {broker_name} belongs to another replica; ask for the next id again"),
                )),
                _ => Ok(()),
            },
        }
    }

    /// Applies one command; deterministic, so every controller reaches the same table.
    pub fn apply(&mut self, command: &Command) -> Applied {
        match command {
            Command::ApplyBrokerId {
                cluster,
                broker_name,
                broker_id,
                address,
                check_code,
            } => {
                self.check_apply(broker_name, *broker_id, check_code)?;
                let group = self
                    .groups
                    .entry(broker_name.clone())
                    .or_insert_with(|| Group {
                        cluster: cluster.clone(),
                        members: BTreeMap::new(),
                        next_id: FIRST_BROKER_ID,
                        master: None,
                        master_epoch: 0,
                        sync_state_set: BTreeSet::new(),
                        sync_state_set_epoch: 0,
                    });
                group.members.entry(*broker_id).or_insert_with(|| Member {
                    address: address.clone(),
                    check_code: check_code.clone(),
                });
                group.next_id = group.next_id.max(broker_id.saturating_add(1));
                Ok(())
            }
            Command::UpdateAddress {
                broker_name,
                broker_id,
                address,
            } => {
                let member = self
                    .groups
                    .get_mut(broker_name)
                    .and_then(|g| g.members.get_mut(broker_id))
                    .ok_or_else(|| not_registered(broker_name, Some(*broker_id)))?;
                member.address.clone_from(address);
                Ok(())
            }
            Command::ElectMaster {
                broker_name,
                expected_master_epoch,
                new_master,
            } => {
                let group = self
                    .groups
                    .get_mut(broker_name)
                    .ok_or_else(|| not_registered(broker_name, None))?;
                if group.master_epoch != *expected_master_epoch {
                    return Err(Refusal::new(
                        ResponseCode::CONTROLLER_FENCED_MASTER_EPOCH,
                        format!("the master epoch of {broker_name} moved from {expected_master_epoch} to {} while electing", group.master_epoch),
                    ));
                }
                if let Some(id) = new_master {
                    if !group.members.contains_key(id) {
                        return Err(not_registered(broker_name, Some(*id)));
                    }
                    group.sync_state_set = BTreeSet::from([*id]);
                    group.sync_state_set_epoch += 1;
                }
                group.master = *new_master;
                group.master_epoch += 1;
                Ok(())
            }
            Command::AlterSyncStateSet {
                broker_name,
                master,
                master_epoch,
                sync_state_set_epoch,
                new_set,
            } => {
                let group = self
                    .groups
                    .get_mut(broker_name)
                    .ok_or_else(|| not_registered(broker_name, None))?;
                check_alter(
                    group,
                    *master,
                    *master_epoch,
                    *sync_state_set_epoch,
                    new_set,
                )?;
                group.sync_state_set.clone_from(new_set);
                group.sync_state_set_epoch += 1;
                Ok(())
            }
            Command::CleanBrokerData { broker_name, ids } => {
                let Some(ids) = ids else {
                    self.groups.remove(broker_name);
                    return Ok(());
                };
                if let Some(group) = self.groups.get_mut(broker_name) {
                    for id in ids {
                        group.members.remove(id);
                        group.sync_state_set.remove(id);
                        if group.master == Some(*id) {
                            group.master = None;
                        }
                    }
                    if group.members.is_empty() {
                        self.groups.remove(broker_name);
                    }
                }
                Ok(())
            }
        }
    }
}

/// The fencing checks of an in-sync set change, in Apache's order, except that membership is
/// checked here and liveness by the proposer (liveness is not replicated).
pub fn check_alter(
    group: &Group,
    master: i64,
    master_epoch: i32,
    sync_state_set_epoch: i32,
    new_set: &BTreeSet<i64>,
) -> Applied {
    if group.master != Some(master) {
        return Err(Refusal::new(
            ResponseCode::CONTROLLER_INVALID_MASTER,
            format!("the master is {:?}, not {master}", group.master),
        ));
    }
    if group.master_epoch != master_epoch {
        return Err(Refusal::new(
            ResponseCode::CONTROLLER_FENCED_MASTER_EPOCH,
            format!(
                "the master epoch is {}, not {master_epoch}",
                group.master_epoch
            ),
        ));
    }
    if group.sync_state_set_epoch != sync_state_set_epoch {
        return Err(Refusal::new(
            ResponseCode::CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH,
            format!(
                "the sync state set epoch is {}, not {sync_state_set_epoch}",
                group.sync_state_set_epoch
            ),
        ));
    }
    if let Some(unknown) = new_set.iter().find(|id| !group.members.contains_key(id)) {
        return Err(Refusal::new(
            ResponseCode::CONTROLLER_INVALID_REPLICAS,
            format!("replica {unknown} is not a member of the group"),
        ));
    }
    if !new_set.contains(&master) {
        return Err(Refusal::new(
            ResponseCode::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
            format!("the new sync state set must contain the master {master}"),
        ));
    }
    if *new_set == group.sync_state_set {
        return Err(Refusal::new(
            ResponseCode::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
            "the new sync state set equals the current one",
        ));
    }
    Ok(())
}

fn not_registered(broker_name: &str, id: Option<i64>) -> Refusal {
    let what = match id {
        Some(id) => format!("replica {id} of broker group {broker_name} is not registered"),
        None => format!("broker group {broker_name} is not registered"),
    };
    Refusal::new(
        ResponseCode::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED,
        format!("{what}; apply for a broker id first"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply_id(t: &mut ReplicaTable, id: i64, code: &str) -> Applied {
        t.apply(&Command::ApplyBrokerId {
            cluster: "c".into(),
            broker_name: "b".into(),
            broker_id: id,
            address: format!("127.0.0.1:{}", 10_000 + id),
            check_code: code.into(),
        })
    }

    #[test]
    fn ids_elections_and_fencing_follow_apache() {
        let mut t = ReplicaTable::default();
        assert_eq!(t.next_broker_id("b"), 1);
        assert_eq!(
            apply_id(&mut t, 2, "x").unwrap_err().code,
            ResponseCode::CONTROLLER_BROKER_ID_INVALID.as_i32()
        );
        apply_id(&mut t, 1, "a").unwrap();
        apply_id(&mut t, 1, "a").unwrap();
        assert!(apply_id(&mut t, 1, "other").is_err());
        apply_id(&mut t, 2, "b").unwrap();
        assert_eq!(t.next_broker_id("b"), 3);

        let elect = |epoch, id| Command::ElectMaster {
            broker_name: "b".into(),
            expected_master_epoch: epoch,
            new_master: id,
        };
        t.apply(&elect(0, Some(1))).unwrap();
        // A decision taken on the old epoch loses.
        assert_eq!(
            t.apply(&elect(0, Some(2))).unwrap_err().code,
            ResponseCode::CONTROLLER_FENCED_MASTER_EPOCH.as_i32()
        );
        let g = t.group("b").unwrap();
        assert_eq!(
            (g.master, g.master_epoch, g.sync_state_set_epoch),
            (Some(1), 1, 1)
        );

        let alter = |master, epoch, sepoch, set: &[i64]| Command::AlterSyncStateSet {
            broker_name: "b".into(),
            master,
            master_epoch: epoch,
            sync_state_set_epoch: sepoch,
            new_set: set.iter().copied().collect(),
        };
        t.apply(&alter(1, 1, 1, &[1, 2])).unwrap();
        assert_eq!(
            t.apply(&alter(1, 0, 2, &[1])).unwrap_err().code,
            ResponseCode::CONTROLLER_FENCED_MASTER_EPOCH.as_i32()
        );
        assert_eq!(
            t.apply(&alter(2, 1, 2, &[2])).unwrap_err().code,
            ResponseCode::CONTROLLER_INVALID_MASTER.as_i32()
        );
        assert_eq!(
            t.apply(&alter(1, 1, 2, &[1, 9])).unwrap_err().code,
            ResponseCode::CONTROLLER_INVALID_REPLICAS.as_i32()
        );
        t.apply(&elect(1, Some(2))).unwrap();
        let g = t.group("b").unwrap();
        assert_eq!(g.sync_state_set, BTreeSet::from([2]));
        assert_eq!((g.master_epoch, g.sync_state_set_epoch), (2, 3));
        t.apply(&elect(2, None)).unwrap();
        let g = t.group("b").unwrap();
        assert_eq!((g.master, g.master_epoch), (None, 3));
        assert_eq!(
            g.sync_state_set,
            BTreeSet::from([2]),
            "kept for the next election"
        );
    }
}
