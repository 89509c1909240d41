//! Registration with every configured name server: at start, every
//! `registerNameServerPeriod`, after topic changes, and unregistration at shutdown.

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

/// Java's `registerBrokerTimeoutMills`.
const REGISTER_TIMEOUT: Duration = Duration::from_secs(6);

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
