//! Which broker replicas this controller hears from (Apache's `BrokerHeartbeatManager`).
//!
//! Local to each controller and never replicated: every broker heartbeats to every
//! controller. A replica is dead when the connection its heartbeats came on closes (a killed
//! process, at once) or when it has been silent longer than its own heartbeat timeout (a
//! stopped process, found by the periodic scan) (docs/controller.md, "Failure detection").

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A replica's key: broker group and controller id.
pub type ReplicaKey = (String, i64);

/// What the last heartbeat of a replica said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveInfo {
    /// The cluster.
    pub cluster: String,
    /// `ip:port` the replica announced.
    pub address: String,
    /// When the last heartbeat arrived.
    pub last: Instant,
    /// Silence after which it is dead.
    pub timeout: Duration,
    /// The newest epoch in its epoch file.
    pub epoch: i32,
    /// End of its commit log.
    pub max_offset: i64,
    /// Its confirmed offset.
    pub confirm_offset: i64,
    /// Lower wins ties between equally up-to-date candidates.
    pub election_priority: i32,
    /// The connection the heartbeat came on.
    pub connection: u64,
}

/// The heartbeat table; all methods are short and lock once.
#[derive(Default)]
pub struct Liveness {
    table: Mutex<HashMap<ReplicaKey, LiveInfo>>,
}

impl Liveness {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ReplicaKey, LiveInfo>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a heartbeat; true when the replica was not alive before (it joined or came
    /// back).
    pub fn heartbeat(&self, key: ReplicaKey, info: LiveInfo) -> bool {
        let now = info.last;
        let previous = self.lock().insert(key, info);
        previous.is_none_or(|p| p.last + p.timeout <= now)
    }

    /// Whether the replica's last heartbeat is recent enough at `now`.
    pub fn is_alive(&self, broker_name: &str, id: i64, now: Instant) -> bool {
        self.get(broker_name, id)
            .is_some_and(|info| info.last + info.timeout > now)
    }

    /// The replica's last heartbeat, if any.
    pub fn get(&self, broker_name: &str, id: i64) -> Option<LiveInfo> {
        self.lock().get(&(broker_name.to_owned(), id)).cloned()
    }

    /// Forgets every replica whose heartbeats came on `connection`; returns them.
    pub fn connection_closed(&self, connection: u64) -> Vec<ReplicaKey> {
        self.remove_where(|info| info.connection == connection)
    }

    /// Forgets every replica silent past its timeout at `now`; returns them.
    pub fn expire(&self, now: Instant) -> Vec<ReplicaKey> {
        self.remove_where(|info| info.last + info.timeout <= now)
    }

    /// When the next replica falls silent for good if it sends nothing more: the scan wakes
    /// then instead of up to a whole `scanNotActiveBrokerInterval` later.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.lock()
            .values()
            .map(|info| info.last + info.timeout)
            .min()
    }

    fn remove_where(&self, dead: impl Fn(&LiveInfo) -> bool) -> Vec<ReplicaKey> {
        let mut table = self.lock();
        let keys: Vec<ReplicaKey> = table
            .iter()
            .filter(|(_, info)| dead(info))
            .map(|(k, _)| k.clone())
            .collect();
        for key in &keys {
            table.remove(key);
        }
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(connection: u64, last: Instant) -> LiveInfo {
        LiveInfo {
            cluster: "c".into(),
            address: "a".into(),
            last,
            timeout: Duration::from_secs(1),
            epoch: 0,
            max_offset: 0,
            confirm_offset: 0,
            election_priority: 0,
            connection,
        }
    }

    #[test]
    fn closed_connections_and_silence_kill() {
        let l = Liveness::default();
        let t0 = Instant::now();
        assert!(l.heartbeat(("b".into(), 1), info(7, t0)));
        assert!(!l.heartbeat(("b".into(), 1), info(7, t0)));
        assert!(l.heartbeat(("b".into(), 2), info(8, t0)));
        assert!(l.is_alive("b", 1, t0));
        assert_eq!(l.connection_closed(7), vec![("b".to_owned(), 1)]);
        assert!(!l.is_alive("b", 1, t0));
        assert!(l.expire(t0).is_empty());
        assert_eq!(l.next_expiry(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(l.expire(t0 + Duration::from_secs(1)).len(), 1);
        assert_eq!(l.next_expiry(), None);
        assert!(!l.is_alive("b", 2, t0));
    }
}
