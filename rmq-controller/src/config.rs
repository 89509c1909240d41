//! Controller settings under Apache RocketMQ 5's `ControllerConfig` key names, and the parsed
//! peer list (docs/controller.md, "Configuration").

use std::path::PathBuf;

rmq_config::settings! {
    /// Everything `controller.conf` and command-line flags can set.
    pub struct ControllerConfig {
        /// Name of the Raft group; informational, shown by getControllerMetaData.
        controller_dleger_group: String = "group1".to_owned() => "controllerDLegerGroup",
        /// Every controller as `id-host:port`, `;`-separated; ids are n0, n1, ...
        controller_dleger_peers: String = "n0-127.0.0.1:9878".to_owned() => "controllerDLegerPeers",
        /// This node's id in controllerDLegerPeers; it listens on that entry's port.
        controller_dleger_self_id: String = "n0".to_owned() => "controllerDLegerSelfId",
        /// Directory of the Raft log, vote and snapshots; empty means $HOME/controller/<selfId>.
        controller_store_path: String = String::new() => "controllerStorePath",
        /// Let a replica outside the in-sync set become master when no in-sync one is alive (may lose messages).
        enable_elect_unclean_master: bool = false => "enableElectUncleanMaster",
        /// Tell every live replica of a group about its new master (NOTIFY_BROKER_ROLE_CHANGED).
        notify_broker_role_changed: bool = true => "notifyBrokerRoleChanged",
        /// Milliseconds between scans for brokers whose heartbeats stopped.
        scan_not_active_broker_interval: u64 = 5_000 => "scanNotActiveBrokerInterval",
        /// Attempts of a controller-triggered election when its compare-and-set loses a race.
        elect_master_max_retry_count: u32 = 3 => "electMasterMaxRetryCount",
        /// Milliseconds between Raft heartbeats from the controller leader.
        raft_heartbeat_interval: u64 = 100 => "raftHeartbeatIntervalMs",
        /// Lower bound of the Raft election timeout in milliseconds.
        raft_election_timeout_min: u64 = 300 => "raftElectionTimeoutMinMs",
        /// Upper bound of the Raft election timeout in milliseconds.
        raft_election_timeout_max: u64 = 600 => "raftElectionTimeoutMaxMs",
        /// Raft log entries applied since the last snapshot that trigger a new snapshot.
        raft_snapshot_logs: u64 = 5_000 => "raftSnapshotLogs",
        /// Heartbeat timeout in ms assumed for a broker that does not send heartbeatTimeoutMills.
        default_broker_heartbeat_timeout: u64 = 10_000 => "defaultBrokerHeartbeatTimeoutMs",
    }
    ignored {
        "rocketmqHome" => "rmq needs no installation directory",
        "configStorePath" => "rmq does not rewrite its configuration file at run time",
        "controllerType" => "rmq's controller always runs on its own Raft (openraft), not DLedger or JRaft",
        "mappedFileSize" => "the Raft log is a plain append-only file",
        "controllerThreadPoolNums" => "requests run on the async runtime, not a thread pool",
        "controllerRequestThreadPoolQueueCapacity" => "requests run on the async runtime, not a thread pool",
        "isProcessReadEvent" => "reads are answered from the local replica of the state",
        "scanInactiveMasterInterval" => "dead masters are found by scanNotActiveBrokerInterval and by closed connections",
        "metricsExporterType" => "metrics export is not supported",
        "metricsGrpcExporterTarget" => "metrics export is not supported",
        "metricsGrpcExporterHeader" => "metrics export is not supported",
        "metricGrpcExporterTimeOutInMills" => "metrics export is not supported",
        "metricGrpcExporterIntervalInMills" => "metrics export is not supported",
        "metricLoggingExporterIntervalInMills" => "metrics export is not supported",
        "metricsPromExporterPort" => "metrics export is not supported",
        "metricsPromExporterHost" => "metrics export is not supported",
        "metricsLabel" => "metrics export is not supported",
        "metricsInDelta" => "metrics export is not supported",
        "configBlackList" => "only a fixed allowlist of keys can be updated at run time",
        "jraftConfig" => "rmq's controller does not use JRaft",
    }
}

/// The keys UPDATE_CONTROLLER_CONFIG may change at run time: behaviour switches only, never a
/// path or an address.
pub const RUNTIME_UPDATABLE_KEYS: &[&str] = &[
    "enableElectUncleanMaster",
    "notifyBrokerRoleChanged",
    "electMasterMaxRetryCount",
];

/// One controller of the Raft group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// The configured id, `n0`, `n1`, ...
    pub name: String,
    /// The Raft node id: the number after `n`.
    pub id: u64,
    /// `host:port` where it serves brokers, admin tools and Raft traffic.
    pub addr: String,
}

/// Why a controller configuration cannot be used; each names the key and the fix.
#[derive(Debug, thiserror::Error)]
pub enum PeerConfigError {
    /// A `controllerDLegerPeers` entry is not `nN-host:port`.
    #[error("{origin}: `controllerDLegerPeers` entry {entry:?} is not of the form nN-host:port; write e.g. n0-127.0.0.1:9878;n1-127.0.0.1:9868;n2-127.0.0.1:9858")]
    BadPeer { origin: String, entry: String },
    /// Two entries share an id.
    #[error(
        "{origin}: `controllerDLegerPeers` lists {name} twice; give every controller its own id"
    )]
    DuplicatePeer { origin: String, name: String },
    /// `controllerDLegerSelfId` is not among the peers.
    #[error("{origin}: `controllerDLegerSelfId` is {self_id:?}, which is not in controllerDLegerPeers ({peers}); set it to one of the listed ids")]
    UnknownSelf {
        origin: String,
        self_id: String,
        peers: String,
    },
    /// The election timeout bounds are unusable.
    #[error("{origin}: `raftElectionTimeoutMinMs` must be above `raftHeartbeatIntervalMs` and below `raftElectionTimeoutMaxMs`")]
    BadTimeouts { origin: String },
}

/// The `controllerDLegerPeers` value naming `addrs` `n0`, `n1`, ... in order, the form
/// [`ControllerConfig::peers`] reads (for tools and tests that start a group on chosen ports).
pub fn peer_list<A: AsRef<str>>(addrs: &[A]) -> String {
    addrs
        .iter()
        .enumerate()
        .map(|(i, a)| format!("n{i}-{}", a.as_ref()))
        .collect::<Vec<_>>()
        .join(";")
}

impl ControllerConfig {
    /// Parses `controllerDLegerPeers`; `origin` (the file) goes into the error.
    pub fn peers(&self, origin: &str) -> Result<Vec<Peer>, PeerConfigError> {
        let mut peers: Vec<Peer> = Vec::new();
        for entry in self
            .controller_dleger_peers
            .split(';')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let bad = || PeerConfigError::BadPeer {
                origin: origin.to_owned(),
                entry: entry.to_owned(),
            };
            let (name, addr) = entry.split_once('-').ok_or_else(bad)?;
            let id: u64 = name
                .strip_prefix('n')
                .and_then(|n| n.parse().ok())
                .ok_or_else(bad)?;
            let port_ok = addr
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if !port_ok {
                return Err(bad());
            }
            if peers.iter().any(|p| p.id == id) {
                return Err(PeerConfigError::DuplicatePeer {
                    origin: origin.to_owned(),
                    name: name.to_owned(),
                });
            }
            peers.push(Peer {
                name: name.to_owned(),
                id,
                addr: addr.to_owned(),
            });
        }
        if peers.is_empty() {
            return Err(PeerConfigError::BadPeer {
                origin: origin.to_owned(),
                entry: self.controller_dleger_peers.clone(),
            });
        }
        Ok(peers)
    }

    /// This node among `peers`.
    pub fn self_peer<'a>(
        &self,
        peers: &'a [Peer],
        origin: &str,
    ) -> Result<&'a Peer, PeerConfigError> {
        peers
            .iter()
            .find(|p| p.name == self.controller_dleger_self_id.trim())
            .ok_or_else(|| PeerConfigError::UnknownSelf {
                origin: origin.to_owned(),
                self_id: self.controller_dleger_self_id.clone(),
                peers: self.controller_dleger_peers.clone(),
            })
    }

    /// Checks what the key parsers cannot: the peer list, the self id and the Raft timeouts.
    pub fn validate(&self, origin: &str) -> Result<(), PeerConfigError> {
        let peers = self.peers(origin)?;
        self.self_peer(&peers, origin)?;
        if self.raft_election_timeout_min <= self.raft_heartbeat_interval
            || self.raft_election_timeout_min >= self.raft_election_timeout_max
        {
            return Err(PeerConfigError::BadTimeouts {
                origin: origin.to_owned(),
            });
        }
        Ok(())
    }

    /// Where this node keeps its Raft state.
    pub fn store_dir(&self) -> PathBuf {
        if self.controller_store_path.trim().is_empty() {
            let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
            home.join("controller")
                .join(self.controller_dleger_self_id.trim())
        } else {
            PathBuf::from(self.controller_store_path.trim())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmq_config::apply_all;
    use rmq_config::properties::parse;

    #[test]
    fn apache_peer_lists_parse_and_errors_name_the_key() {
        let mut c = ControllerConfig::default();
        let applied = apply_all(
            &mut c,
            &parse("controllerDLegerPeers = n0-127.0.0.1:9878;n1-127.0.0.1:9868;n2-127.0.0.1:9858\ncontrollerDLegerSelfId = n1\ncontrollerType = DLedger\n"),
            "c.conf",
            true,
        )
        .unwrap();
        assert!(applied.warnings[0].contains("`controllerType` has no effect"));
        let peers = c.peers("c.conf").unwrap();
        assert_eq!(peers.len(), 3);
        assert_eq!(
            c.self_peer(&peers, "c.conf").unwrap().addr,
            "127.0.0.1:9868"
        );
        assert_eq!(peers[2].id, 2);
        c.controller_dleger_peers = "n0-127.0.0.1:9878;x1-127.0.0.1:1".to_owned();
        let err = c.validate("c.conf").unwrap_err().to_string();
        assert!(
            err.contains("controllerDLegerPeers") && err.contains("x1-127.0.0.1:1"),
            "{err}"
        );
        c.controller_dleger_peers = "n0-127.0.0.1:9878".to_owned();
        let err = c.validate("c.conf").unwrap_err().to_string();
        assert!(err.contains("controllerDLegerSelfId"), "{err}");
    }
}
