//! What every request handler shares: settings, the store, the tables and the client registry.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::SystemTime;

use rmq_store::{MessageArrivingListener, MessageStore};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::clients::ClientManager;
use crate::config::{BrokerConfig, BrokerRole};
use crate::consumer_offsets::ConsumerOffsets;
use crate::subscription_groups::SubscriptionGroups;
use crate::topics::TopicTable;

/// The broker's shared state, one per process, handed to every handler.
pub struct BrokerContext {
    /// Broker settings as the broker started with them; the keys an admin may change at run
    /// time are read from `live` instead.
    pub config: BrokerConfig,
    /// The settings UPDATE_BROKER_CONFIG may change, as they are now (docs/admin-safety.md).
    pub live: crate::live_config::LiveConfig,
    /// The message store (shared with replication).
    pub store: std::sync::Arc<MessageStore>,
    /// Topics.
    pub topics: TopicTable,
    /// Consumer groups' settings.
    pub groups: SubscriptionGroups,
    /// Committed consumer offsets.
    pub offsets: ConsumerOffsets,
    /// How far delayed delivery has got (`delayOffset.json`).
    pub schedule_progress: crate::schedule::progress::ScheduleProgress,
    /// Connected producers and consumers.
    pub clients: ClientManager,
    /// Wakes long-polling pulls when messages arrive.
    pub arrivals: std::sync::Arc<Arrivals>,
    /// This broker's address as stored in message ids (`brokerIP1:listenPort`).
    pub store_host: SocketAddr,
    /// Changes of the topic table, announced so that registration runs at once.
    pub topic_changes: crate::registration::TopicChanges,
    /// When the broker started (runtime info).
    pub boot_time: SystemTime,
    /// Compiled SQL92 subscriptions.
    pub filters: crate::filter::FilterCache,
    /// Cancelled when shutdown begins, so parked pulls answer at once instead of holding the
    /// shutdown for their whole suspend timeout.
    pub stopping: CancellationToken,
    /// The group's master as a registration answer last named it (None on a master, and on a
    /// slave until an answer names one). Kept while the master is away, as Apache's slave keeps
    /// it, so replication and metadata sync resume as soon as a restarted master is back.
    pub master: watch::Sender<Option<crate::registration::MasterInfo>>,
    /// Replication: the HA port's service and, on a slave, the client following the master.
    pub replication: crate::ha::Replication,
    /// This broker's role now: fixed by `brokerRole`/`brokerId`, or set by the controller in
    /// controller mode. Registration re-runs whenever it changes.
    pub role: watch::Sender<RoleState>,
    /// Controller mode's epoch history and role announcements (None in classic replication).
    pub controller: Option<std::sync::Arc<crate::controller::ControllerShared>>,
    /// Put, get and pull statistics as Apache's BrokerStatsManager and StoreStatsService keep
    /// them (runtime info, VIEW_BROKER_STATS_DATA, consumeTps, metrics).
    pub stats: crate::stats::BrokerStats,
    /// Producer hosts whose clocks disagree with this broker's (`clockSkewWarnThresholdMillis`).
    pub clock_skew: crate::clock_skew::ClockSkew,
    /// What metrics record as it happens; None while `metricsExporterType` is not PROM.
    pub metrics: Option<crate::metrics::Recorders>,
    /// POP consumption's positions and in-flight checkpoints (docs/pop.md).
    pub pop: crate::pop::state::PopState,
}

/// A broker's place in its group at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleState {
    /// Master (SYNC or ASYNC) or slave.
    pub role: BrokerRole,
    /// The id registered with name servers: 0 on a master, the slave's id otherwise.
    pub broker_id: i64,
    /// Controller mode: the master epoch this role belongs to (0 in classic replication).
    pub master_epoch: i32,
    /// False in controller mode until the controller has named the group's master; the broker
    /// registers with no name server and refuses writes meanwhile.
    pub decided: bool,
}

impl RoleState {
    /// The role `brokerRole`/`brokerId` give, or, in controller mode, an undecided slave.
    pub fn initial(config: &BrokerConfig) -> Self {
        if config.enable_controller_mode {
            RoleState {
                role: BrokerRole::Slave,
                broker_id: config.broker_id,
                master_epoch: 0,
                decided: false,
            }
        } else {
            RoleState {
                role: config.broker_role,
                broker_id: config.broker_id,
                master_epoch: 0,
                decided: true,
            }
        }
    }
}

impl BrokerContext {
    /// `brokerIP1:listenPort`, as registered with name servers.
    pub fn broker_addr(&self) -> String {
        self.store_host.to_string()
    }

    /// The current role.
    pub fn role(&self) -> RoleState {
        *self.role.borrow()
    }
}

/// Per-queue "new maximum offset" signals for long polling. A pull that found nothing waits on
/// its queue's signal; the store reports every dispatched message here.
#[derive(Default)]
pub struct Arrivals {
    queues: Mutex<HashMap<String, HashMap<i32, watch::Sender<i64>>>>,
}

impl Arrivals {
    /// A receiver that changes whenever `topic`/`queue_id` gets a new message.
    pub fn subscribe(&self, topic: &str, queue_id: i32) -> watch::Receiver<i64> {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        let per_topic = queues.entry(topic.to_owned()).or_default();
        per_topic
            .entry(queue_id)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }
}

impl MessageArrivingListener for Arrivals {
    fn arriving(
        &self,
        topic: &str,
        queue_id: i32,
        max_offset: i64,
        _tag_code: i64,
        _store_timestamp: i64,
    ) {
        let queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = queues.get(topic).and_then(|q| q.get(&queue_id)) {
            tx.send_replace(max_offset);
        }
    }
}
