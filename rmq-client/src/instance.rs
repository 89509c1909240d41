//! The client instance (Java `MQClientInstance`): one per client id and process, shared by the
//! producers and consumers created with that id. It owns the connections, the route cache, the
//! broker address table, and the periodic work — route refresh, heartbeats, rebalancing and
//! offset persistence — and answers the requests brokers send to clients (membership changes,
//! offset resets).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::Duration;

use futures::future::join_all;
use rmq_remoting::acl::{self, Credentials};
use rmq_remoting::body::client::{GetConsumerListByGroupResponseBody, HeartbeatData, ProducerData};
use rmq_remoting::body::route::{TopicRouteData, MASTER_ID};
use rmq_remoting::body::stats::ResetOffsetBody;
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::header::broker::{
    GetConsumerListByGroupRequestHeader, NotifyConsumerIdsChangedRequestHeader,
    ResetOffsetRequestHeader, UnregisterClientRequestHeader,
};
use rmq_remoting::header::namesrv::GetRouteInfoRequestHeader;
use rmq_remoting::transport::tls::{self, ClientTls, TlsSettings};
use rmq_remoting::transport::{Connection, RemotingClient, Router, TransportConfig};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::ClientConfig;
use crate::consumer::ConsumerInner;
use crate::error::{ClientError, Result};
use crate::producer::{ReplyWaiters, TransactionChecker, TransactionCheckers};

/// The producer group Java clients always list in heartbeats, besides the user's groups.
pub(crate) const CLIENT_INNER_PRODUCER: &str = "CLIENT_INNER_PRODUCER";

/// Shared state behind every producer and consumer of one client id.
pub(crate) struct ClientInstance {
    client_id: String,
    config: ClientConfig,
    remoting: RemotingClient,
    name_servers: Vec<String>,
    /// Index of the name server used last; moves on when one fails.
    ns_index: AtomicUsize,
    /// Routes of the topics in use, by topic.
    routes: RwLock<HashMap<String, Arc<TopicRouteData>>>,
    /// Broker addresses by broker name and broker id, merged from all routes.
    brokers: RwLock<HashMap<String, BTreeMap<i64, String>>>,
    producers: Mutex<BTreeSet<String>>,
    /// Consumers by group; shared with the handler of RESET_CONSUMER_CLIENT_OFFSET.
    consumers: Arc<Mutex<BTreeMap<String, Arc<ConsumerInner>>>>,
    /// Transactional producer groups, which answer the brokers' transaction checks.
    transaction_checkers: TransactionCheckers,
    /// Requests waiting for the reply the broker pushes (request-reply).
    replies: Arc<ReplyWaiters>,
    /// Wakes the rebalance task (consumer start, NOTIFY_CONSUMER_IDS_CHANGED).
    rebalance_wakeup: Arc<Notify>,
    /// Serialises heartbeats, so a periodic one and a triggered one do not interleave.
    heartbeat_lock: tokio::sync::Mutex<()>,
    stop: CancellationToken,
}

/// How often subscribed topics without a route are looked up again (see
/// [`ClientInstance::refresh_missing_routes`]).
const MISSING_ROUTE_RETRY: Duration = Duration::from_secs(1);

fn registry() -> &'static Mutex<HashMap<String, Weak<ClientInstance>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<String, Weak<ClientInstance>>>> = OnceLock::new();
    REGISTRY.get_or_init(Mutex::default)
}

/// Instances are shared by client id and keys: a client with other keys (or none) gets an
/// instance of its own, so it never sends through another's signing hook (Java would share the
/// first one's). The key holds the access key and an HMAC of it under the secret, never the
/// secret itself.
fn registry_key(client_id: &str, credentials: Option<&Credentials>) -> String {
    match credentials {
        None => client_id.to_owned(),
        Some(keys) => {
            let token = keys.security_token.as_deref().unwrap_or_default();
            let fingerprint =
                acl::signature_of_sorted([keys.access_key.as_str(), token], b"", &keys.secret_key);
            format!("{client_id}\n{}\n{fingerprint}", keys.access_key)
        }
    }
}

/// Marks a query by `UNIQ_KEY`; Java's client adds it outside the signed header and Apache's
/// verifier leaves it out of the signed content (docs/acl.md).
const UNIQUE_KEY_QUERY: &str = "_UNIQUE_KEY_QUERY";

/// Signs `req` as Java's `AclClientRPCHook` does, the unsigned query flag left out.
fn sign(keys: &Credentials, req: &mut RemotingCommand) {
    let flag = req.ext_fields.remove(UNIQUE_KEY_QUERY);
    keys.sign(req);
    if let Some(flag) = flag {
        req.ext_fields.insert(UNIQUE_KEY_QUERY.to_owned(), flag);
    }
}

/// The TLS side of `config.use_tls`: the process's installed settings when it has them (a
/// server binary's `tls.*` keys), else trust and client certificates from the `tls.*` file and
/// `TLS_*` environment (docs/tls.md), test mode (trust any server) by default.
fn client_tls(config: &ClientConfig) -> Result<Option<ClientTls>> {
    if !config.use_tls {
        return Ok(None);
    }
    if let Some(installed) = tls::process_client() {
        return Ok(Some(installed));
    }
    let mut options = TlsSettings::default()
        .resolve("rmq-client")
        .map_err(|e| ClientError::Config(e.to_string()))?;
    options.enable = true;
    ClientTls::from_options(&options).map_err(|e| ClientError::Config(e.to_string()))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ClientInstance {
    /// The running instance for the client id `config` yields, created (and its background
    /// tasks started) if there is none. `unique` gives clustering clients with the default
    /// instance name an id of their own. Must be called inside a tokio runtime.
    pub(crate) fn acquire(config: &ClientConfig, unique: bool) -> Result<Arc<ClientInstance>> {
        config.validate()?;
        let client_id = config.client_id(unique);
        let mut key = registry_key(&client_id, config.credentials.as_ref());
        if config.use_tls {
            // TLS and plaintext clients never share connections.
            key.push_str("\ntls");
        }
        let mut reg = lock(registry());
        if let Some(existing) = reg.get(&key).and_then(Weak::upgrade) {
            if !existing.stop.is_cancelled() {
                return Ok(existing);
            }
        }
        let rebalance_wakeup = Arc::new(Notify::new());
        let wakeup = rebalance_wakeup.clone();
        let consumers: Arc<Mutex<BTreeMap<String, Arc<ConsumerInner>>>> = Arc::default();
        let resettable = consumers.clone();
        let transaction_checkers = TransactionCheckers::default();
        let checkers = transaction_checkers.clone();
        let router = Router::new()
            .route(
                RequestCode::CHECK_TRANSACTION_STATE,
                move |conn: Connection, req: RemotingCommand| {
                    checkers.answer(conn, req);
                    async { Ok(RemotingCommand::success()) }
                },
            )
            .route(
                RequestCode::NOTIFY_CONSUMER_IDS_CHANGED,
                move |conn: Connection, req: RemotingCommand| {
                    let wakeup = wakeup.clone();
                    async move {
                        let header: NotifyConsumerIdsChangedRequestHeader =
                            req.decode_header().map_err(|e| {
                                CommandError::new(ResponseCode::SYSTEM_ERROR, e.to_string())
                            })?;
                        tracing::info!(group = %header.consumer_group, broker = %conn.peer_addr(),
                        "consumer ids changed; rebalancing now");
                        wakeup.notify_one();
                        Ok(RemotingCommand::success())
                    }
                },
            );
        let router = router.route(
            RequestCode::RESET_CONSUMER_CLIENT_OFFSET,
            move |conn: Connection, req: RemotingCommand| {
                let consumers = resettable.clone();
                async move {
                    let invalid = |e: String| CommandError::new(ResponseCode::SYSTEM_ERROR, e);
                    let header: ResetOffsetRequestHeader =
                        req.decode_header().map_err(|e| invalid(e.to_string()))?;
                    let body: ResetOffsetBody = fastjson::from_slice(&req.body)
                        .map_err(|e| invalid(format!("the reset body is invalid: {e}")))?;
                    let consumer = lock(&consumers).get(&header.group).cloned();
                    match consumer {
                        Some(consumer) => {
                            tracing::info!(group = %header.group, topic = %header.topic,
                                broker = %conn.peer_addr(), "offsets reset by an admin; adopting them");
                            tokio::spawn(async move { consumer.reset_offsets(body).await });
                        }
                        None => tracing::debug!(group = %header.group, "offset reset for a group this client does not consume"),
                    }
                    Ok(RemotingCommand::success())
                }
            },
        );
        let router = crate::consumer::running::routes(router, &consumers, &config.name_servers());
        let replies = Arc::new(ReplyWaiters::default());
        let router = crate::producer::reply_routes(router, &replies);
        let transport = TransportConfig {
            connect_timeout: config.connect_timeout,
            // One long-polling pull per assigned queue may be in flight on a broker connection.
            max_in_flight_per_connection: 4096,
            ..TransportConfig::default()
        };
        let mut remoting = RemotingClient::new(transport, router).with_tls(client_tls(config)?);
        if let Some(keys) = config.credentials.clone() {
            // Java's AclClientRPCHook: every request (name servers included) is signed.
            remoting = remoting.with_request_hook(Arc::new(move |req| sign(&keys, req)));
        }
        let instance = Arc::new(ClientInstance {
            client_id: client_id.clone(),
            config: config.clone(),
            remoting,
            name_servers: config.name_servers(),
            ns_index: AtomicUsize::new(fastrand::usize(..config.name_servers().len().max(1))),
            routes: RwLock::default(),
            brokers: RwLock::default(),
            producers: Mutex::default(),
            consumers,
            transaction_checkers,
            replies,
            rebalance_wakeup,
            heartbeat_lock: tokio::sync::Mutex::new(()),
            stop: CancellationToken::new(),
        });
        instance.start_background_tasks();
        reg.insert(key, Arc::downgrade(&instance));
        let access_key = config.credentials.as_ref().map(|c| c.access_key.as_str());
        tracing::info!(client_id = %client_id, access_key, "client instance started");
        Ok(instance)
    }

    /// `clientIP@instanceName`, as brokers and other group members see this client.
    pub(crate) fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The shared settings.
    pub(crate) fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The connections.
    pub(crate) fn remoting(&self) -> &RemotingClient {
        &self.remoting
    }

    /// Requests waiting for their reply.
    pub(crate) fn replies(&self) -> &Arc<ReplyWaiters> {
        &self.replies
    }

    fn start_background_tasks(self: &Arc<Self>) {
        let cfg = &self.config;
        self.spawn_periodic(
            Duration::from_millis(10),
            cfg.poll_name_server_interval,
            |c| Box::pin(async move { c.refresh_all_routes().await }),
        );
        self.spawn_periodic(MISSING_ROUTE_RETRY, MISSING_ROUTE_RETRY, |c| {
            Box::pin(async move { c.refresh_missing_routes().await })
        });
        self.spawn_periodic(Duration::from_secs(1), cfg.heartbeat_broker_interval, |c| {
            Box::pin(async move { c.send_heartbeat_to_all_brokers().await })
        });
        let first_persist = cfg
            .persist_consumer_offset_interval
            .min(Duration::from_secs(10));
        self.spawn_periodic(first_persist, cfg.persist_consumer_offset_interval, |c| {
            Box::pin(async move {
                for consumer in c.consumer_list() {
                    consumer.persist_offsets().await;
                }
            })
        });
        let weak = Arc::downgrade(self);
        let stop = self.stop.clone();
        let wakeup = self.rebalance_wakeup.clone();
        let interval = cfg.rebalance_interval;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = wakeup.notified() => {}
                    _ = tokio::time::sleep(interval) => {}
                }
                let Some(instance) = weak.upgrade() else {
                    return;
                };
                for consumer in instance.consumer_list() {
                    consumer.rebalance().await;
                }
            }
        });
    }

    /// Runs `work` after `first`, then every `period`, until the instance stops or is dropped.
    fn spawn_periodic(
        self: &Arc<Self>,
        first: Duration,
        period: Duration,
        work: fn(Arc<ClientInstance>) -> futures::future::BoxFuture<'static, ()>,
    ) {
        let weak = Arc::downgrade(self);
        let stop = self.stop.clone();
        tokio::spawn(async move {
            let mut delay = first;
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(delay) => {}
                }
                let Some(instance) = weak.upgrade() else {
                    return;
                };
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = work(instance) => {}
                }
                delay = period;
            }
        });
    }

    fn consumer_list(&self) -> Vec<Arc<ConsumerInner>> {
        lock(&self.consumers).values().cloned().collect()
    }

    /// Asks the rebalance task to run now.
    pub(crate) fn rebalance_soon(&self) {
        self.rebalance_wakeup.notify_one();
    }

    // -----------------------------------------------------------------------------------------
    // Membership
    // -----------------------------------------------------------------------------------------

    /// Adds a producer group to the heartbeats; a group may be registered once per instance.
    pub(crate) fn register_producer(&self, group: &str) -> Result<()> {
        if !lock(&self.producers).insert(group.to_owned()) {
            return Err(ClientError::Config(format!(
                "The producer group[{group}] has been created before, specify another name please."
            )));
        }
        Ok(())
    }

    /// Lets `listener` answer the brokers' transaction checks for `group`.
    pub(crate) fn register_transaction_checker(&self, group: &str, checker: TransactionChecker) {
        self.transaction_checkers.insert(group, checker);
    }

    /// Stops answering transaction checks for `group`.
    pub(crate) fn unregister_transaction_checker(&self, group: &str) {
        self.transaction_checkers.remove(group);
    }

    /// Adds a consumer group to the heartbeats and to rebalancing.
    pub(crate) fn register_consumer(
        &self,
        group: &str,
        consumer: Arc<ConsumerInner>,
    ) -> Result<()> {
        let mut consumers = lock(&self.consumers);
        if consumers.contains_key(group) {
            return Err(ClientError::Config(format!(
                "The consumer group[{group}] has been created before, specify another name please."
            )));
        }
        consumers.insert(group.to_owned(), consumer);
        Ok(())
    }

    /// Removes a producer group: tells every broker, and stops the instance if it was the last
    /// member.
    pub(crate) async fn unregister_producer(&self, group: &str) {
        lock(&self.producers).remove(group);
        self.unregister_client(Some(group), None).await;
        self.stop_if_unused().await;
    }

    /// Removes a consumer group: tells every broker (which notifies the rest of the group),
    /// and stops the instance if it was the last member.
    pub(crate) async fn unregister_consumer(&self, group: &str) {
        lock(&self.consumers).remove(group);
        self.unregister_client(None, Some(group)).await;
        self.stop_if_unused().await;
    }

    /// Stops the instance (closing its connections) once no producer or consumer uses it.
    pub(crate) async fn stop_if_unused(&self) {
        let unused = lock(&self.producers).is_empty() && lock(&self.consumers).is_empty();
        if !unused {
            return;
        }
        {
            let mut reg = lock(registry());
            if reg
                .get(&self.client_id)
                .is_some_and(|w| std::ptr::eq(w.as_ptr(), self))
            {
                reg.remove(&self.client_id);
            }
        }
        self.stop.cancel();
        self.remoting.close_all().await;
        tracing::info!(client_id = %self.client_id, "client instance stopped");
    }

    async fn unregister_client(&self, producer: Option<&str>, consumer: Option<&str>) {
        let header = UnregisterClientRequestHeader {
            client_id: self.client_id.clone(),
            producer_group: producer.map(str::to_owned),
            consumer_group: consumer.map(str::to_owned),
        };
        let calls = self.all_broker_addrs().into_iter().map(|addr| {
            let req = RemotingCommand::request(RequestCode::UNREGISTER_CLIENT, &header);
            async move {
                match self
                    .invoke(&addr, req, self.config.mq_client_api_timeout)
                    .await
                {
                    Ok(_) => {}
                    Err(e) => tracing::warn!(broker = %addr, error = %e, "unregister failed"),
                }
            }
        });
        join_all(calls).await;
    }

    // -----------------------------------------------------------------------------------------
    // Requests
    // -----------------------------------------------------------------------------------------

    /// Sends `req` to `addr` and turns a non-success answer into [`ClientError::Refused`].
    pub(crate) async fn invoke(
        &self,
        addr: &str,
        req: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand> {
        let resp = self.remoting.invoke(addr, req, timeout).await?;
        if resp.code != ResponseCode::SUCCESS.as_i32() {
            return Err(refused(addr, resp));
        }
        Ok(resp)
    }

    /// Sends `req` to a name server, moving on to the next one after a connection failure.
    pub(crate) async fn invoke_namesrv(
        &self,
        req: RemotingCommand,
    ) -> Result<(String, RemotingCommand)> {
        let n = self.name_servers.len();
        let mut last = None;
        for _ in 0..n {
            let i = self.ns_index.load(Ordering::Relaxed) % n;
            let addr = &self.name_servers[i];
            match self
                .remoting
                .invoke(addr, req.clone(), self.config.mq_client_api_timeout)
                .await
            {
                Ok(resp) => return Ok((addr.clone(), resp)),
                Err(e) => {
                    tracing::warn!(namesrv = %addr, error = %e, "name server unreachable; trying the next");
                    self.ns_index.store(i + 1, Ordering::Relaxed);
                    last = Some(e);
                }
            }
        }
        Err(last.map_or(
            ClientError::Config("No name server address, please set it.".into()),
            ClientError::Transport,
        ))
    }

    // -----------------------------------------------------------------------------------------
    // Routes
    // -----------------------------------------------------------------------------------------

    /// Asks a name server for `topic`'s route; `None` when the topic does not exist.
    pub(crate) async fn fetch_route(&self, topic: &str) -> Result<Option<TopicRouteData>> {
        let header = GetRouteInfoRequestHeader {
            topic: topic.to_owned(),
            accept_standard_json_only: None,
        };
        let req = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header);
        let (addr, resp) = self.invoke_namesrv(req).await?;
        if resp.code == ResponseCode::TOPIC_NOT_EXIST.as_i32() {
            return Ok(None);
        }
        if resp.code != ResponseCode::SUCCESS.as_i32() {
            return Err(refused(&addr, resp));
        }
        fastjson::from_slice::<TopicRouteData>(&resp.body)
            .map(Some)
            .map_err(|e| ClientError::Protocol {
                addr,
                reason: format!("route of {topic}: {e}"),
            })
    }

    /// Fetches and caches `topic`'s route; `None` (and the cache untouched) when it does not
    /// exist.
    pub(crate) async fn update_route(&self, topic: &str) -> Result<Option<TopicRouteData>> {
        let route = self.fetch_route(topic).await?;
        if let Some(route) = &route {
            self.store_route(topic, route.clone());
        }
        Ok(route)
    }

    /// Caches `route` as `topic`'s route and learns its broker addresses.
    pub(crate) fn store_route(&self, topic: &str, route: TopicRouteData) {
        {
            let mut brokers = self.brokers.write().unwrap_or_else(|e| e.into_inner());
            for bd in &route.broker_datas {
                brokers.insert(bd.broker_name.clone(), bd.broker_addrs.clone());
            }
        }
        let mut routes = self.routes.write().unwrap_or_else(|e| e.into_inner());
        if routes.get(topic).map(|r| &**r) != Some(&route) {
            let brokers: Vec<&str> = route
                .broker_datas
                .iter()
                .map(|b| b.broker_name.as_str())
                .collect();
            let write_queues: i32 = route.queue_datas.iter().map(|q| q.write_queue_nums).sum();
            let read_queues: i32 = route.queue_datas.iter().map(|q| q.read_queue_nums).sum();
            tracing::info!(
                topic,
                brokers = %brokers.join(","),
                write_queues,
                read_queues,
                "topic route changed"
            );
            tracing::debug!(topic, ?route, "topic route");
            routes.insert(topic.to_owned(), Arc::new(route));
        }
    }

    /// The cached route of `topic`, shared: a new route is a new `Arc`, so holders can tell
    /// whether what they derived from it is still current (`Arc::ptr_eq`).
    pub(crate) fn cached_route(&self, topic: &str) -> Option<Arc<TopicRouteData>> {
        self.routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(topic)
            .cloned()
    }

    async fn refresh_all_routes(&self) {
        let mut topics: BTreeSet<String> = self
            .routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        for consumer in self.consumer_list() {
            topics.extend(consumer.topics());
        }
        for topic in topics {
            if let Err(e) = self.update_route(&topic).await {
                tracing::warn!(topic, error = %e, "route refresh failed");
            }
        }
    }

    /// Asks again for the routes of subscribed topics the name server did not know, and
    /// heartbeats and rebalances at once when one appears. A consumer started before its topic's first message
    /// (the demos, any fresh stack) then gets its queues about a second after the producer's
    /// first send creates the topic, instead of at the next 30 s route refresh as in the Java
    /// client. Costs nothing while every subscribed topic has a route.
    async fn refresh_missing_routes(&self) {
        let missing: Vec<String> = self
            .consumer_list()
            .iter()
            .flat_map(|c| c.topics())
            .filter(|topic| self.cached_route(topic).is_none())
            .collect();
        let mut found = false;
        for topic in missing {
            match self.update_route(&topic).await {
                Ok(route) => found |= route.is_some(),
                // the 30 s refresh reports name-server trouble; once a second would flood the log
                Err(e) => tracing::debug!(topic, error = %e, "route lookup failed"),
            }
        }
        if found {
            // the new route may name a broker this client never met: it must know us before
            // the rebalance asks it for the group's members
            self.send_heartbeat_to_all_brokers().await;
            self.rebalance_soon();
        }
    }

    /// The master address of `broker_name`.
    pub(crate) fn master_addr(&self, broker_name: &str) -> Option<String> {
        self.broker_addr(broker_name, MASTER_ID)
    }

    /// The address of broker `id` of `broker_name`, else its master.
    pub(crate) fn broker_addr(&self, broker_name: &str, id: i64) -> Option<String> {
        let brokers = self.brokers.read().unwrap_or_else(|e| e.into_inner());
        let addrs = brokers.get(broker_name)?;
        addrs.get(&id).or_else(|| addrs.get(&MASTER_ID)).cloned()
    }

    /// Where to read `broker_name`'s queues (Java `findBrokerAddressInSubscribe`): broker
    /// `broker_id`; for a slave id that is gone, the next id; unless `only_this_broker`, then
    /// any broker of the group, lowest id first, so consumers keep reading from a slave while
    /// the master is not in the route. `None` when the group is unknown or empty.
    pub(crate) fn find_broker_in_subscribe(
        &self,
        broker_name: &str,
        broker_id: i64,
        only_this_broker: bool,
    ) -> Option<FoundBroker> {
        let brokers = self.brokers.read().unwrap_or_else(|e| e.into_inner());
        let addrs = brokers.get(broker_name).filter(|m| !m.is_empty())?;
        let slave = broker_id != MASTER_ID;
        if let Some(addr) = addrs.get(&broker_id) {
            return Some(FoundBroker {
                addr: addr.clone(),
                slave,
            });
        }
        if slave {
            if let Some(addr) = addrs.get(&(broker_id + 1)) {
                return Some(FoundBroker {
                    addr: addr.clone(),
                    slave,
                });
            }
        }
        if only_this_broker {
            return None;
        }
        addrs.iter().next().map(|(id, addr)| FoundBroker {
            addr: addr.clone(),
            slave: *id != MASTER_ID,
        })
    }

    fn all_broker_addrs(&self) -> Vec<String> {
        let brokers = self.brokers.read().unwrap_or_else(|e| e.into_inner());
        brokers.values().flat_map(|m| m.values().cloned()).collect()
    }

    /// The client ids of `group`, sorted, asked from a random broker that serves `topic`.
    pub(crate) async fn consumer_ids(&self, topic: &str, group: &str) -> Result<Vec<String>> {
        let route = self
            .cached_route(topic)
            .ok_or_else(|| ClientError::NoRoute(topic.to_owned()))?;
        let addrs: Vec<String> = route
            .broker_datas
            .iter()
            .filter_map(|bd| {
                bd.broker_addrs
                    .get(&MASTER_ID)
                    .or_else(|| bd.broker_addrs.values().next())
                    .cloned()
            })
            .collect();
        if addrs.is_empty() {
            return Err(ClientError::NoRoute(topic.to_owned()));
        }
        let addr = &addrs[fastrand::usize(..addrs.len())];
        let header = GetConsumerListByGroupRequestHeader {
            consumer_group: group.to_owned(),
        };
        let req = RemotingCommand::request(RequestCode::GET_CONSUMER_LIST_BY_GROUP, &header);
        let resp = self
            .invoke(addr, req, self.config.mq_client_api_timeout)
            .await?;
        let body: GetConsumerListByGroupResponseBody =
            fastjson::from_slice(&resp.body).map_err(|e| ClientError::Protocol {
                addr: addr.clone(),
                reason: format!("consumer list: {e}"),
            })?;
        let mut ids = body.consumer_id_list;
        ids.sort();
        Ok(ids)
    }

    // -----------------------------------------------------------------------------------------
    // Heartbeats
    // -----------------------------------------------------------------------------------------

    /// Sends the heartbeat of every registered group to every broker (masters only when there
    /// is no consumer, as Java does).
    pub(crate) async fn send_heartbeat_to_all_brokers(&self) {
        let _serial = self.heartbeat_lock.lock().await;
        let consumers = self.consumer_list();
        let mut producer_data_set: Vec<ProducerData> = lock(&self.producers)
            .iter()
            .map(|g| ProducerData {
                group_name: g.clone(),
            })
            .collect();
        if consumers.is_empty() && producer_data_set.is_empty() {
            return;
        }
        producer_data_set.push(ProducerData {
            group_name: CLIENT_INNER_PRODUCER.to_owned(),
        });
        let data = HeartbeatData {
            client_id: self.client_id.clone(),
            consumer_data_set: consumers.iter().map(|c| c.consumer_data()).collect(),
            heartbeat_fingerprint: None,
            producer_data_set,
            without_sub: None,
        };
        let body = bytes::Bytes::from(fastjson::to_vec(&data, KeyStyle::Fastjson));
        let targets: Vec<String> = {
            let brokers = self.brokers.read().unwrap_or_else(|e| e.into_inner());
            brokers
                .values()
                .flat_map(|addrs| {
                    addrs
                        .iter()
                        .filter(|(id, _)| !consumers.is_empty() || **id == MASTER_ID)
                        .map(|(_, a)| a.clone())
                })
                .collect()
        };
        let calls = targets.into_iter().map(|addr| {
            let req = RemotingCommand::request_without_header(RequestCode::HEART_BEAT)
                .with_body(body.clone());
            async move {
                if let Err(e) = self
                    .invoke(&addr, req, self.config.mq_client_api_timeout)
                    .await
                {
                    tracing::warn!(broker = %addr, error = %e, "heartbeat failed");
                }
            }
        });
        join_all(calls).await;
    }
}

/// A broker chosen by [`ClientInstance::find_broker_in_subscribe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FoundBroker {
    /// Its `host:port`.
    pub(crate) addr: String,
    /// Whether it is a slave: pulls to it carry no commit offset (a slave does not store it).
    pub(crate) slave: bool,
}

/// A non-success response as an error.
pub(crate) fn refused(addr: &str, resp: RemotingCommand) -> ClientError {
    ClientError::Refused {
        addr: addr.to_owned(),
        code: resp.code,
        remark: resp.remark.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rmq_remoting::body::route::BrokerData;

    use super::*;

    #[tokio::test]
    async fn subscriptions_find_the_asked_broker_the_next_slave_or_any_of_the_group() {
        let config = ClientConfig {
            namesrv_addr: "127.0.0.1:1".into(),
            instance_name: "find-broker-in-subscribe".into(),
            ..ClientConfig::default()
        };
        let instance = ClientInstance::acquire(&config, true).unwrap();
        let group = |name: &str, ids: &[i64]| BrokerData {
            broker_addrs: ids
                .iter()
                .map(|&id| (id, format!("{name}-{id}:10911")))
                .collect::<BTreeMap<_, _>>(),
            broker_name: name.into(),
            cluster: "c".into(),
        };
        instance.store_route(
            "T",
            TopicRouteData {
                broker_datas: vec![group("a", &[1, 3]), group("b", &[0, 1])],
                ..TopicRouteData::default()
            },
        );
        let found = |name, id, only| {
            instance
                .find_broker_in_subscribe(name, id, only)
                .map(|f| (f.addr, f.slave))
        };
        // The master is gone from group a: a slave takes its place unless only it will do.
        assert_eq!(found("a", 0, false), Some(("a-1:10911".into(), true)));
        assert_eq!(found("a", 0, true), None);
        // A slave id that is gone: the next id, as Java looks.
        assert_eq!(found("a", 2, true), Some(("a-3:10911".into(), true)));
        assert_eq!(found("b", 1, true), Some(("b-1:10911".into(), true)));
        assert_eq!(found("b", 0, true), Some(("b-0:10911".into(), false)));
        // Nothing at the id or the next: the lowest id of the group, the master here.
        assert_eq!(found("b", 5, false), Some(("b-0:10911".into(), false)));
        assert_eq!(found("c", 0, false), None);
        instance.stop_if_unused().await;
    }

    /// A name server that answers every route query with TOPIC_NOT_EXIST and keeps the fields
    /// of each query it got.
    async fn recording_namesrv() -> (String, Arc<Mutex<Vec<RemotingCommand>>>) {
        let seen: Arc<Mutex<Vec<RemotingCommand>>> = Arc::default();
        let kept = seen.clone();
        let router = Router::new().route(
            RequestCode::GET_ROUTEINFO_BY_TOPIC,
            move |_conn: Connection, req: RemotingCommand| {
                lock(&kept).push(req);
                async {
                    Ok(RemotingCommand::response(
                        ResponseCode::TOPIC_NOT_EXIST,
                        None,
                    ))
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(rmq_remoting::transport::serve(
            listener,
            router,
            TransportConfig::default(),
            std::future::pending(),
        ));
        (addr, seen)
    }

    #[tokio::test]
    async fn clients_with_other_keys_get_their_own_instance_and_only_keyed_ones_sign() {
        let (addr, seen) = recording_namesrv().await;
        let config = |keys: Option<Credentials>| ClientConfig {
            namesrv_addr: addr.clone(),
            instance_name: "acl-registry".into(),
            credentials: keys,
            ..ClientConfig::default()
        };
        let keyed =
            ClientInstance::acquire(&config(Some(Credentials::new("ak", "sk"))), false).unwrap();
        let same =
            ClientInstance::acquire(&config(Some(Credentials::new("ak", "sk"))), false).unwrap();
        let plain = ClientInstance::acquire(&config(None), false).unwrap();
        let other =
            ClientInstance::acquire(&config(Some(Credentials::new("ak", "sk2"))), false).unwrap();
        assert!(Arc::ptr_eq(&keyed, &same), "same keys share the instance");
        assert!(!Arc::ptr_eq(&keyed, &plain) && !Arc::ptr_eq(&keyed, &other));
        assert_eq!(
            keyed.client_id(),
            plain.client_id(),
            "the client id is unchanged"
        );

        for (instance, topic) in [(&keyed, "T1"), (&plain, "T2"), (&other, "T3")] {
            assert!(instance.fetch_route(topic).await.unwrap().is_none());
        }
        let seen = lock(&seen).clone();
        let by_topic = |t: &str| {
            seen.iter()
                .find(|r| r.ext_fields.get("topic") == Some(t))
                .unwrap()
                .ext_fields
                .clone()
        };
        let signed = by_topic("T1");
        assert_eq!(&signed[acl::ACCESS_KEY], "ak");
        assert_eq!(signed[acl::SIGNATURE], *acl::signature(&signed, b"", "sk"));
        let unsigned = by_topic("T2");
        assert!(!unsigned.contains_key(acl::ACCESS_KEY) && !unsigned.contains_key(acl::SIGNATURE));
        let second = by_topic("T3");
        assert_eq!(second[acl::SIGNATURE], *acl::signature(&second, b"", "sk2"));
        for instance in [keyed, same, plain, other] {
            instance.stop_if_unused().await;
        }
    }

    #[test]
    fn the_unique_key_flag_stays_out_of_the_signature() {
        let mut req = RemotingCommand::request_without_header(RequestCode::QUERY_MESSAGE);
        req.ext_fields.insert("key".into(), "K".into());
        req.ext_fields
            .insert(UNIQUE_KEY_QUERY.into(), "true".into());
        sign(&Credentials::new("ak", "sk"), &mut req);
        assert_eq!(&req.ext_fields[UNIQUE_KEY_QUERY], "true");
        let mut without = req.ext_fields.clone();
        without.remove(UNIQUE_KEY_QUERY);
        assert_eq!(
            req.ext_fields[acl::SIGNATURE],
            *acl::signature(&without, b"", "sk")
        );
    }
}
