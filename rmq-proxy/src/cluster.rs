//! The proxy's remoting side: the name servers and brokers behind it, reached through rmq-client.
//! One admin client (routes, topic configurations), one producer for plain sends, and a cache of
//! topic message types (Apache's proxy caches topic configs the same way).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rmq_client::{Admin, ClientConfig, ClientError, Producer};
use rmq_remoting::body::route::{TopicRouteData, MASTER_ID};
use rmq_remoting::body::stats::SubscriptionGroupConfig;

use crate::config::ProxyConfig;
use crate::message_type::TopicMessageType;

/// The producer group plain sends go out under (the header's group; 5.x producers have none).
pub const PROXY_PRODUCER_GROUP: &str = "PROXY_SEND_GROUP";

/// Proxies started in this process, for their client instances' names.
static INSTANCES: AtomicUsize = AtomicUsize::new(0);

/// Handles on the brokers behind the proxy.
pub struct Cluster {
    client: ClientConfig,
    admin: Admin,
    producer: Producer,
    types: Mutex<HashMap<String, (Instant, TopicMessageType)>>,
    groups: Mutex<HashMap<String, (Instant, SubscriptionGroupConfig)>>,
    cluster_name: String,
    type_ttl: Duration,
}

impl Cluster {
    /// Connects to the name servers of `config`.
    pub async fn start(config: &ProxyConfig) -> Result<Cluster, ClientError> {
        let client = ClientConfig {
            namesrv_addr: config.namesrv_addr.clone(),
            // One client instance per proxy: two proxies in one process (tests, rmq-local)
            // would otherwise share producer groups, which a client instance refuses.
            instance_name: format!(
                "rmq-proxy-{}-{}",
                std::process::id(),
                INSTANCES.fetch_add(1, Ordering::Relaxed)
            ),
            // Toward brokers with ACL on: the proxy's own account (auth.rs).
            credentials: crate::auth::broker_credentials(config).map_err(ClientError::Config)?,
            ..ClientConfig::default()
        };
        let admin = Admin::start(client.clone()).await?;
        let producer = Producer::builder()
            .client_config(client.clone())
            .producer_group(PROXY_PRODUCER_GROUP)
            .start()
            .await?;
        Ok(Cluster {
            client,
            admin,
            producer,
            types: Mutex::default(),
            groups: Mutex::default(),
            cluster_name: config.rocket_mq_cluster_name.clone(),
            type_ttl: Duration::from_secs(config.topic_config_cache_refresh_seconds),
        })
    }

    /// The client settings every remoting client of the proxy shares.
    pub fn client_config(&self) -> &ClientConfig {
        &self.client
    }

    /// The producer plain sends use.
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// `topic`'s route from the name servers.
    pub async fn route(&self, topic: &str) -> Result<TopicRouteData, ClientError> {
        self.admin.topic_route(topic).await
    }

    /// `topic`'s message type from its configuration on one of its brokers, cached for
    /// `topicConfigCacheRefreshSeconds`; UNSPECIFIED when it cannot be read (as Apache).
    pub async fn topic_type(&self, topic: &str) -> TopicMessageType {
        if let Some((at, kind)) = self.lock_types().get(topic) {
            if at.elapsed() < self.type_ttl {
                return *kind;
            }
        }
        match self.read_topic_type(topic).await {
            Ok(kind) => {
                self.lock_types()
                    .insert(topic.to_owned(), (Instant::now(), kind));
                kind
            }
            Err(e) => {
                tracing::warn!(topic, error = %e, "cannot read the topic's configuration");
                TopicMessageType::Unspecified
            }
        }
    }

    fn lock_types(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, TopicMessageType)>> {
        self.types.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn read_topic_type(&self, topic: &str) -> Result<TopicMessageType, ClientError> {
        let route = self.route(topic).await?;
        let addr = route
            .broker_datas
            .iter()
            .find_map(|b| {
                b.broker_addrs
                    .get(&MASTER_ID)
                    .or_else(|| b.broker_addrs.values().next())
            })
            .ok_or_else(|| ClientError::NoRoute(topic.to_owned()))?;
        let config = self.admin.topic_config(addr, topic).await?;
        Ok(TopicMessageType::of_attributes(config.attributes.as_ref()))
    }

    /// `group`'s settings on the cluster's brokers (orderly consumption, retries), from one
    /// master's table, cached per group like topic types; `None` when unknown or unreadable.
    /// As Apache's per-group cache, an unknown group is asked for again on its next lookup, so
    /// a group created after another group's lookup is found at once (a table cached whole hid
    /// it for the cache time, and a FIFO group was served unordered).
    pub async fn group_config(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        if let Some((at, config)) = self.lock_groups().get(group) {
            if at.elapsed() < self.type_ttl {
                return Some(config.clone());
            }
        }
        let mut table = match self.read_groups().await {
            Ok(table) => table,
            Err(e) => {
                tracing::warn!(group, error = %e, "cannot read the subscription groups");
                return None;
            }
        };
        let found = table.remove(group);
        let mut cached = self.lock_groups();
        match &found {
            Some(config) => {
                cached.insert(group.to_owned(), (Instant::now(), config.clone()));
            }
            None => {
                cached.remove(group);
            }
        }
        found
    }

    fn lock_groups(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, SubscriptionGroupConfig)>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn read_groups(&self) -> Result<HashMap<String, SubscriptionGroupConfig>, ClientError> {
        let masters = self.admin.cluster_master_addrs(&self.cluster_name).await?;
        let addr = masters.first().ok_or_else(|| {
            ClientError::State(format!("no master in cluster {}", self.cluster_name))
        })?;
        let wrapper = self.admin.subscription_groups(addr).await?;
        Ok(wrapper.subscription_group_table.into_iter().collect())
    }
}
