//! Master/slave replication of the commit log, speaking RocketMQ 4.9's classic HA protocol so
//! that rmq and Apache brokers can replicate from each other (`docs/replication.md`).
//!
//! Every broker listens on its HA port ([`HaMaster::serve`]); a slave connects to its master's
//! ([`HaClient::run`]), reports how far its commit log reaches, and the master streams raw
//! commit-log bytes from there. The slave writes them at the same offsets
//! (`MessageStore::append_replicated`) and reports its new end, which is the acknowledgement a
//! SYNC_MASTER send waits for ([`AckTracker`], the store's `ReplicaAckWaiter`).
//!
//! The protocol is two fixed-size frames over one TCP connection:
//! - slave to master, 8 bytes: the slave's commit-log end (big-endian i64), after every chunk it
//!   stored and every `haSendHeartbeatInterval`;
//! - master to slave, a 12-byte header (commit-log offset i64, body length i32) then the body;
//!   a header with length 0 is a heartbeat.
//!
//! In controller mode (automatic failover) a slave first sends a 24-byte [`Hello`] naming its
//! controller id and the master epoch it expects, so the master can count it in the in-sync set
//! and a deposed master refuses it. The hello cannot be mistaken for a classic report: read as
//! an offset, its first 8 bytes are beyond any commit log.

pub mod epoch;
mod master;
mod protocol;
mod slave;

use std::time::Duration;

pub use master::{AckTracker, HaMaster, SlaveStatus};
pub use protocol::Hello;
pub use slave::{HaClient, HaClientStatus};

/// Replication settings, RocketMQ's `haXxx` keys of `broker.conf`.
#[derive(Debug, Clone)]
pub struct HaConfig {
    /// `haSendHeartbeatInterval`: how often each side writes when it has nothing else to say.
    pub send_heartbeat_interval: Duration,
    /// `haHousekeepingInterval`: a connection silent this long is closed (and re-opened by the
    /// slave).
    pub housekeeping_interval: Duration,
    /// `haTransferBatchSize`: the most commit-log bytes a master sends in one frame (256 KiB by
    /// default, RocketMQ's is 32 KiB: see `docs/replication.md`).
    pub transfer_batch_size: usize,
    /// `haSlaveFallbehindMax` / `haMaxGapNotInSync`: a slave further behind than this many bytes
    /// is out of sync, and a SYNC_MASTER send answers SLAVE_NOT_AVAILABLE instead of waiting.
    pub max_gap_not_in_sync: i64,
}

impl Default for HaConfig {
    fn default() -> Self {
        HaConfig {
            send_heartbeat_interval: Duration::from_millis(5_000),
            housekeeping_interval: Duration::from_millis(20_000),
            transfer_batch_size: 256 * 1024,
            max_gap_not_in_sync: 256 * 1024 * 1024,
        }
    }
}
