//! Producers and consumers known from heartbeats, by group and connection: who to tell when a
//! group's membership changes, whose subscriptions to filter pulls by, and which connections
//! have gone silent.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rmq_remoting::body::client::{
    ConsumeFromWhere, ConsumeType, ConsumerData, MessageModel, SubscriptionData,
};
use rmq_remoting::header::broker::NotifyConsumerIdsChangedRequestHeader;
use rmq_remoting::transport::Connection;
use rmq_remoting::{RemotingCommand, RequestCode};

/// One client connection of a group.
#[derive(Debug, Clone)]
pub struct ClientChannel {
    /// The connection (for broker → client requests).
    pub conn: Connection,
    /// The client's id (`ip@instance`).
    pub client_id: String,
    /// The client's language, as it reported it.
    pub language: String,
    /// The client's version ordinal.
    pub version: i32,
    /// When its last heartbeat arrived.
    pub last_update: Instant,
}

/// A consumer group's members and what they subscribe to.
#[derive(Debug, Clone)]
pub struct ConsumerGroup {
    /// Pull or push.
    pub consume_type: ConsumeType,
    /// Clustering or broadcasting.
    pub message_model: MessageModel,
    /// Where a new group starts.
    pub consume_from_where: ConsumeFromWhere,
    /// Topic → subscription, as the latest heartbeat stated it.
    pub subscriptions: BTreeMap<String, SubscriptionData>,
    /// Connection id → member.
    pub channels: HashMap<u64, ClientChannel>,
}

#[derive(Default)]
struct Tables {
    producers: HashMap<String, HashMap<u64, ClientChannel>>,
    consumers: HashMap<String, ConsumerGroup>,
}

/// The client registry.
#[derive(Default)]
pub struct ClientManager {
    tables: Mutex<Tables>,
}

impl ClientManager {
    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a producer's heartbeat.
    pub fn register_producer(&self, group: &str, channel: ClientChannel) {
        self.lock()
            .producers
            .entry(group.to_owned())
            .or_default()
            .insert(channel.conn.id(), channel);
    }

    /// Records a consumer's heartbeat; returns true when the group gained a member (its
    /// consumers must rebalance).
    pub fn register_consumer(&self, data: &ConsumerData, channel: ClientChannel) -> bool {
        let mut t = self.lock();
        let group = t
            .consumers
            .entry(data.group_name.clone())
            .or_insert_with(|| ConsumerGroup {
                consume_type: data.consume_type,
                message_model: data.message_model,
                consume_from_where: data.consume_from_where,
                subscriptions: BTreeMap::new(),
                channels: HashMap::new(),
            });
        group.consume_type = data.consume_type;
        group.message_model = data.message_model;
        group.consume_from_where = data.consume_from_where;
        for sub in &data.subscription_data_set {
            group.subscriptions.insert(sub.topic.clone(), sub.clone());
        }
        group.channels.insert(channel.conn.id(), channel).is_none()
    }

    /// Removes a producer connection from a group.
    pub fn unregister_producer(&self, group: &str, conn_id: u64) {
        let mut t = self.lock();
        if let Some(members) = t.producers.get_mut(group) {
            members.remove(&conn_id);
            if members.is_empty() {
                t.producers.remove(group);
            }
        }
    }

    /// Removes a consumer connection from a group; returns true when the group lost a member.
    pub fn unregister_consumer(&self, group: &str, conn_id: u64) -> bool {
        let mut t = self.lock();
        let Some(g) = t.consumers.get_mut(group) else {
            return false;
        };
        let removed = g.channels.remove(&conn_id).is_some();
        if g.channels.is_empty() {
            t.consumers.remove(group);
        }
        removed
    }

    /// Forgets a closed connection everywhere; returns the consumer groups that lost a member.
    pub fn connection_closed(&self, conn_id: u64) -> Vec<String> {
        let mut t = self.lock();
        t.producers.retain(|_, members| {
            members.remove(&conn_id);
            !members.is_empty()
        });
        let mut changed = Vec::new();
        t.consumers.retain(|name, g| {
            if g.channels.remove(&conn_id).is_some() {
                changed.push(name.clone());
            }
            !g.channels.is_empty()
        });
        changed
    }

    /// Connections that sent no heartbeat for `timeout` (the caller closes them, which
    /// unregisters them through [`Self::connection_closed`]).
    pub fn silent_connections(&self, now: Instant, timeout: Duration) -> Vec<Connection> {
        let t = self.lock();
        let mut silent: HashMap<u64, Connection> = HashMap::new();
        let all = t
            .producers
            .values()
            .flat_map(HashMap::values)
            .chain(t.consumers.values().flat_map(|g| g.channels.values()));
        for channel in all {
            if now.saturating_duration_since(channel.last_update) > timeout {
                silent.insert(channel.conn.id(), channel.conn.clone());
            }
        }
        silent.into_values().collect()
    }

    /// A consumer group, if any member is connected.
    pub fn consumer_group(&self, group: &str) -> Option<ConsumerGroup> {
        self.lock().consumers.get(group).cloned()
    }

    /// Client ids of a group's consumers, sorted (what rebalancing divides queues among).
    pub fn consumer_ids(&self, group: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .lock()
            .consumers
            .get(group)
            .map(|g| g.channels.values().map(|c| c.client_id.clone()).collect())
            .unwrap_or_default();
        ids.sort();
        ids.dedup();
        ids
    }

    /// A producer group's connections.
    pub fn producers(&self, group: &str) -> Vec<ClientChannel> {
        self.lock()
            .producers
            .get(group)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The connection of the client `client_id`, from the producer table (every Java and rmq
    /// client lists `CLIENT_INNER_PRODUCER` in its heartbeats): where a request's reply is
    /// pushed (Apache's `ProducerManager.findChannel`).
    pub fn find_producer_channel(&self, client_id: &str) -> Option<Connection> {
        self.lock()
            .producers
            .values()
            .flat_map(HashMap::values)
            .filter(|c| c.client_id == client_id && !c.conn.is_closed())
            .max_by_key(|c| c.last_update)
            .map(|c| c.conn.clone())
    }

    /// Every producer group with a connected member.
    pub fn producer_group_names(&self) -> Vec<String> {
        self.lock().producers.keys().cloned().collect()
    }

    /// Every consumer group with a connected member.
    pub fn consumer_group_names(&self) -> Vec<String> {
        self.lock().consumers.keys().cloned().collect()
    }

    /// Tells every member of `group` to rebalance now (NOTIFY_CONSUMER_IDS_CHANGED, oneway).
    pub async fn notify_consumer_ids_changed(&self, group: &str) {
        let members: Vec<Connection> = self
            .lock()
            .consumers
            .get(group)
            .map(|g| g.channels.values().map(|c| c.conn.clone()).collect())
            .unwrap_or_default();
        let header = NotifyConsumerIdsChangedRequestHeader {
            consumer_group: group.to_owned(),
        };
        for conn in members {
            let request =
                RemotingCommand::request(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED, &header);
            if let Err(err) = conn.invoke_oneway(request).await {
                tracing::debug!(group, peer = %conn.peer_addr(), error = %err, "cannot notify consumer");
            }
        }
    }
}
