//! Registration with every configured name server: at start, every
//! `registerNameServerPeriod`, after topic changes, and unregistration at shutdown.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::body::route::RegisterBrokerBody;
use rmq_remoting::body::topic::TopicConfigSerializeWrapper;
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::header::namesrv::{
    BrokerIdentityHeader, RegisterBrokerRequestHeader, RegisterBrokerResponseHeader,
};
use rmq_remoting::transport::RemotingClient;
use rmq_remoting::{RemotingCommand, RequestCode};
use tokio::sync::{watch, Notify};

/// Java's `registerBrokerTimeoutMills`.
pub const REGISTER_TIMEOUT: Duration = Duration::from_secs(6);

/// Changes of the topic table on their way to the name servers. Anyone who changes the table
/// announces it, which wakes the registration loop; whoever must not answer before the name
/// servers know the change (an admin's UPDATE_AND_CREATE_TOPIC, which Apache's broker answers only
/// after registering) waits for the first registration that started after the announcement.
#[derive(Debug)]
pub struct TopicChanges {
    wake: Notify,
    /// Announcements so far.
    announced: AtomicU64,
    /// The announcements the last finished registration attempt covered.
    registered: watch::Sender<u64>,
}

impl Default for TopicChanges {
    fn default() -> Self {
        TopicChanges {
            wake: Notify::new(),
            announced: AtomicU64::new(0),
            registered: watch::channel(0).0,
        }
    }
}

impl TopicChanges {
    /// Announces a change already made to the topic table; returns its number for
    /// [`Self::wait_registered`].
    pub fn announce(&self) -> u64 {
        let change = self.announced.fetch_add(1, Ordering::AcqRel) + 1;
        self.wake.notify_one();
        change
    }

    /// Waits until a registration attempt that covers `change` finished (whether every name
    /// server accepted it or not, as Apache's broker goes on after a failed registration), or
    /// until `timeout`. Returns whether one finished in time.
    pub async fn wait_registered(&self, change: u64, timeout: Duration) -> bool {
        let mut registered = self.registered.subscribe();
        let finished = tokio::time::timeout(timeout, registered.wait_for(|r| *r >= change)).await;
        matches!(finished, Ok(Ok(_)))
    }

    /// Resolves at the next announcement (or at once if one came since the last wait).
    pub(crate) async fn announced(&self) {
        self.wake.notified().await;
    }

    /// Called by the registration loop before it reads the topic table: the announcements its
    /// attempt will cover (each was announced after its change was made).
    pub(crate) fn covered_by_next_attempt(&self) -> u64 {
        self.announced.load(Ordering::Acquire)
    }

    /// Called by the registration loop when an attempt that covered `covered` finished.
    pub(crate) fn attempt_finished(&self, covered: u64) {
        self.registered.send_if_modified(|r| {
            let newer = covered > *r;
            if newer {
                *r = covered;
            }
            newer
        });
    }
}

/// Who this broker is, as name servers know it.
#[derive(Debug, Clone)]
pub struct BrokerIdentity {
    /// Cluster name.
    pub cluster_name: String,
    /// Broker group name.
    pub broker_name: String,
    /// `brokerIP1:listenPort`.
    pub broker_addr: String,
    /// `brokerIP2:haPort`.
    pub ha_server_addr: String,
}

/// What a name server tells a registering broker about its group's master (Apache's
/// `RegisterBrokerResult`): a slave learns where to read its metadata and replicate from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterInfo {
    /// The master's `brokerIP1:listenPort` (metadata sync, remarks naming the master).
    pub master_addr: String,
    /// The master's `brokerIP2:haListenPort` (commit-log replication), when it advertised one.
    pub ha_server_addr: Option<String>,
}

/// Sends registrations to every name server over a shared client.
pub struct Registrar {
    client: Arc<RemotingClient>,
    name_servers: Vec<String>,
    identity: BrokerIdentity,
}

impl Registrar {
    /// A registrar for `identity` towards `name_servers`.
    pub fn new(
        client: Arc<RemotingClient>,
        name_servers: Vec<String>,
        identity: BrokerIdentity,
    ) -> Self {
        Registrar {
            client,
            name_servers,
            identity,
        }
    }

    /// Registers `topics` with every name server concurrently; failures are logged, not fatal
    /// (the next period retries). Returns the group's master when an answer names one (only a
    /// slave's answers do); `None` says nothing, neither that the master is gone nor that it
    /// changed, because a master that is restarting is missing from the answers meanwhile.
    pub async fn register_all(
        &self,
        broker_id: i64,
        mut topics: TopicConfigSerializeWrapper,
        broker_permission: i32,
    ) -> Option<MasterInfo> {
        if broker_permission & 6 != 6 {
            for config in topics.topic_config_table.values_mut() {
                config.perm &= broker_permission;
            }
        }
        let body = fastjson::to_vec(
            &RegisterBrokerBody {
                filter_server_list: vec![],
                topic_config_serialize_wrapper: topics,
            },
            KeyStyle::Fastjson,
        );
        let header = RegisterBrokerRequestHeader {
            broker_name: self.identity.broker_name.clone(),
            broker_addr: self.identity.broker_addr.clone(),
            cluster_name: self.identity.cluster_name.clone(),
            ha_server_addr: self.identity.ha_server_addr.clone(),
            broker_id,
            heartbeat_timeout_millis: None,
            enable_acting_master: None,
            compressed: false,
            body_crc32: (crc32fast::hash(&body) & 0x7FFF_FFFF) as i32,
        };
        let request =
            RemotingCommand::request(RequestCode::REGISTER_BROKER, &header).with_body(body);
        let calls = self.name_servers.iter().map(|ns| {
            let request = request.clone();
            async move { (ns, self.client.invoke(ns, request, REGISTER_TIMEOUT).await) }
        });
        let mut master = None;
        for (ns, outcome) in futures::future::join_all(calls).await {
            match outcome {
                Ok(response) if response.code == 0 => {
                    if let Ok(h) = response.decode_header::<RegisterBrokerResponseHeader>() {
                        if let Some(master_addr) = h.master_addr.filter(|a| !a.is_empty()) {
                            master = master.or(Some(MasterInfo {
                                master_addr,
                                ha_server_addr: h.ha_server_addr.filter(|a| !a.is_empty()),
                            }));
                        }
                    }
                }
                Ok(response) => {
                    tracing::warn!(namesrv = %ns, code = response.code, remark = ?response.remark, "registration refused")
                }
                Err(err) => {
                    tracing::warn!(namesrv = %ns, error = %err, "registration failed; retrying next period")
                }
            }
        }
        master
    }

    /// Tells every name server this broker (registered as `broker_id`) is leaving.
    pub async fn unregister_all(&self, broker_id: i64) {
        let header = BrokerIdentityHeader {
            broker_name: self.identity.broker_name.clone(),
            broker_addr: self.identity.broker_addr.clone(),
            cluster_name: self.identity.cluster_name.clone(),
            broker_id,
        };
        let calls = self.name_servers.iter().map(|ns| {
            let request = RemotingCommand::request(RequestCode::UNREGISTER_BROKER, &header);
            async move { (ns, self.client.invoke(ns, request, REGISTER_TIMEOUT).await) }
        });
        for (ns, outcome) in futures::future::join_all(calls).await {
            if let Err(err) = outcome {
                tracing::warn!(namesrv = %ns, error = %err, "unregistration failed");
            }
        }
    }
}
