//! The rmq broker: serves producers and consumers over the RocketMQ remoting protocol on top of
//! `rmq-store`.
//!
//! [`Broker::open`] opens the store and the state files under `storePathRootDir/config/`;
//! [`Broker::serve`] answers requests on a bound listener and, meanwhile, registers with every
//! name server (at start, every `registerNameServerPeriod`, and after topic changes), delivers
//! delayed messages when due, persists consumer offsets and delay progress every
//! `flushConsumerOffsetInterval`, and closes client connections silent
//! for 120 s. Shutdown is graceful: in-flight requests finish, offsets are written, the broker
//! unregisters and the store closes cleanly.

pub mod acl;
pub mod address;
pub mod audit;
pub mod clients;
pub mod clock_skew;
pub mod config;
pub mod consumer_offsets;
mod controller;
pub mod filter;
pub mod ha;
pub mod live_config;
pub mod metrics;
pub mod pop;
mod processor;
mod rebalance_lock;
pub mod registration;
mod role;
pub mod schedule;
mod slave_sync;
mod state;
mod state_file;
pub mod stats;
pub mod subscription_groups;
pub mod topic_attributes;
pub mod topics;
mod transaction;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rmq_remoting::transport::{serve_with, LocalListener, RemotingClient, Router, TransportConfig};
use rmq_store::{MessageStore, StoreConfig, StoreError};
use tokio::net::TcpListener;

pub use config::{BrokerConfig, BrokerRole};
use registration::{BrokerIdentity, Registrar};
pub use state::BrokerContext;

/// Clients silent for this long are disconnected (Java's channel expiry).
const CLIENT_EXPIRY: Duration = Duration::from_secs(120);

/// Why a broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The store could not be opened or recovered.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A state file could not be read or written.
    #[error("{0}")]
    State(String),
}

/// A broker ready to serve.
pub struct Broker {
    ctx: Arc<BrokerContext>,
    registrar: Registrar,
    /// Bound at open so the HA address is known before the first registration.
    ha_listener: std::net::TcpListener,
    /// RocketMQ's second client port, listenPort - 2 (the "VIP" or fast channel).
    fast_listener: Option<TcpListener>,
    /// The rules requests pass with `aclEnable=true`.
    acl: Option<acl::Acl>,
    /// In-process clients (the gRPC proxy in the broker) reach the broker through this.
    in_process: Option<LocalListener>,
}

impl Broker {
    /// Opens the store and the state files. `store_host` is the address clients reach this
    /// broker at (`brokerIP1:listenPort`); it goes into message ids and registrations.
    pub fn open(
        mut config: BrokerConfig,
        store_config: StoreConfig,
        store_host: SocketAddr,
    ) -> Result<Self, BrokerError> {
        let config_dir = store_config.store_path_root_dir.join("config");
        for note in
            live_config::apply_persisted(&mut config, &config_dir).map_err(BrokerError::State)?
        {
            tracing::info!("{note}");
        }
        config.validate().map_err(BrokerError::State)?;
        let acl = acl::Acl::open(&config).map_err(BrokerError::State)?;
        let store = Arc::new(MessageStore::open(store_config)?);
        let ha_listener =
            ha::bind_ha_port(&config, store_host.port()).map_err(BrokerError::State)?;
        let ha_port = ha_listener
            .local_addr()
            .map_err(|e| BrokerError::State(format!("HA port: {e}")))?
            .port();
        let ha_server_addr = ha::ha_server_addr(&config, store_host, ha_port);
        let topics = topics::TopicTable::open(config_dir.join("topics.json"), &config)
            .map_err(BrokerError::State)?;
        let groups = subscription_groups::SubscriptionGroups::open(
            config_dir.join("subscriptionGroup.json"),
            config.auto_create_subscription_group,
        )
        .map_err(BrokerError::State)?;
        let offsets =
            consumer_offsets::ConsumerOffsets::open(config_dir.join("consumerOffset.json"))
                .map_err(BrokerError::State)?;
        let schedule_progress =
            schedule::progress::ScheduleProgress::open(config_dir.join("delayOffset.json"))
                .map_err(BrokerError::State)?;
        let pop = pop::state::PopState::open(config_dir.join("popState.json"))
            .map_err(BrokerError::State)?;
        let arrivals = Arc::new(state::Arrivals::default());
        store.set_arrival_listener(arrivals.clone());
        let identity = BrokerIdentity {
            cluster_name: config.broker_cluster_name.clone(),
            broker_name: config.broker_name.clone(),
            broker_addr: store_host.to_string(),
            ha_server_addr: ha_server_addr.clone(),
        };
        let client = Arc::new(RemotingClient::new(
            TransportConfig::default(),
            Router::new(),
        ));
        let registrar = Registrar::new(client, config.name_servers(), identity);
        let replication = ha::Replication::new(&config, &store, ha_server_addr);
        let controller = if config.enable_controller_mode {
            Some(Arc::new(
                controller::ControllerShared::open(&store.config().store_path_root_dir)
                    .map_err(BrokerError::State)?,
            ))
        } else {
            None
        };
        let role = tokio::sync::watch::channel(state::RoleState::initial(&config)).0;
        let boot_time = SystemTime::now();
        let ctx = Arc::new(BrokerContext {
            live: live_config::LiveConfig::new(&config, &config_dir, boot_time),
            stats: stats::BrokerStats::new(&config.broker_cluster_name),
            clock_skew: clock_skew::ClockSkew::new(config.clock_skew_warn_threshold_millis),
            metrics: metrics::recorders(&config),
            replication,
            role,
            controller,
            config,
            store,
            topics,
            groups,
            offsets,
            schedule_progress,
            clients: clients::ClientManager::default(),
            arrivals,
            store_host,
            topic_changes: registration::TopicChanges::default(),
            boot_time,
            stopping: tokio_util::sync::CancellationToken::new(),
            filters: filter::FilterCache::default(),
            master: tokio::sync::watch::channel(None).0,
            pop,
        });
        Ok(Broker {
            ctx,
            registrar,
            ha_listener,
            fast_listener: None,
            acl,
            in_process: None,
        })
    }

    /// Also serves every request on RocketMQ's fast channel, listenPort - 2: Java clients with
    /// `vipChannelEnabled` and Apache slaves fetching their master's metadata connect there. A
    /// port in use is a warning, not a failure: ordinary clients and rmq slaves never need it.
    pub async fn listen_on_fast_channel(&mut self) {
        let Some(fast_port) = self.ctx.store_host.port().checked_sub(2) else {
            return;
        };
        match TcpListener::bind(("0.0.0.0", fast_port)).await {
            Ok(fast) => self.fast_listener = Some(fast),
            Err(e) => tracing::warn!(
                "cannot listen on the fast channel port {fast_port} (listenPort - 2): {e}; Apache slaves of this \
                 broker cannot copy its topics and offsets, and clients with vipChannelEnabled cannot connect"
            ),
        }
    }

    /// Also serves clients of this process that connect to the broker's address (the gRPC
    /// proxy of `enableProxy=true` and rmq-local) through memory instead of loopback TCP: the
    /// same requests, router, ACL and limits, without the socket (docs/grpc-proxy.md, "Local
    /// mode"). Their connections come from 127.0.0.1, port 0.
    pub fn accept_in_process(&mut self) {
        self.in_process = Some(LocalListener::bind([self.ctx.store_host]));
    }

    /// The port slaves replicate from (`haListenPort`), as bound.
    pub fn ha_port(&self) -> u16 {
        self.ha_listener.local_addr().map_or(0, |a| a.port())
    }

    /// The shared state (for tests and the all-in-one launcher).
    pub fn context(&self) -> &Arc<BrokerContext> {
        &self.ctx
    }

    /// Serves on `listener` until `shutdown` completes, then shuts down gracefully.
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let ctx = self.ctx.clone();
        let registrar = Arc::new(self.registrar);
        let mut background = vec![
            tokio::spawn(register_periodically(ctx.clone(), registrar.clone())),
            tokio::spawn(flush_offsets_periodically(ctx.clone())),
            tokio::spawn(expire_silent_clients(ctx.clone())),
            tokio::spawn(stats::sampler::run(ctx.clone())),
            tokio::spawn(role::run_while(ctx.clone(), true, |ctx| {
                vec![tokio::spawn(transaction::check::run(ctx.clone()))]
            })),
            tokio::spawn(role::run_while(ctx.clone(), false, |ctx| {
                vec![tokio::spawn(slave_sync::run(ctx.clone()))]
            })),
            tokio::spawn(role::run_while(ctx.clone(), true, schedule::spawn)),
            tokio::spawn(role::run_while(ctx.clone(), true, |ctx| {
                vec![tokio::spawn(pop::revive::run(ctx.clone()))]
            })),
        ];
        background.extend(ha::Replication::spawn(&ctx, self.ha_listener));
        if ctx.config.enable_controller_mode {
            background.push(tokio::spawn(controller::run(ctx.clone())));
        }
        let transport = TransportConfig {
            max_frame_len: ctx.config.frame_max_length,
            // Long-polling pulls stay in flight for up to their suspend timeout, one per queue:
            // hence a default of 4096 (maxInFlightPerConnection).
            max_in_flight_per_connection: ctx.config.max_in_flight_per_connection,
            max_connections: ctx.config.max_connections,
            write_stall_timeout: Duration::from_millis(ctx.config.write_stall_timeout_millis),
            ..TransportConfig::default()
        };
        let stopping = ctx.stopping.clone();
        let shutdown = async move {
            shutdown.await;
            stopping.cancel();
        };
        let mut router = metrics::observed(processor::router(&ctx), &ctx);
        if let Some(acl) = &self.acl {
            background.push(acl.watch());
            router = router.guard(acl.guard());
        }
        match self.fast_listener {
            Some(fast) => {
                let stopping = ctx.stopping.clone();
                let fast_stop = async move { stopping.cancelled().await };
                tokio::join!(
                    serve_with(
                        listener,
                        self.in_process,
                        router.clone(),
                        transport.clone(),
                        shutdown
                    ),
                    serve_with(fast, None, router, transport, fast_stop)
                );
            }
            None => serve_with(listener, self.in_process, router, transport, shutdown).await,
        }
        for task in background {
            task.abort();
        }
        persist_progress(&ctx, " at shutdown");
        if ctx.role().decided {
            registrar.unregister_all(ctx.role().broker_id).await;
        }
        if let Err(e) = ctx.store.shutdown() {
            tracing::error!(error = %e, "store did not shut down cleanly");
        }
    }
}

/// Registers at start, every `registerNameServerPeriod`, after topic changes and whenever the
/// role changes (controller mode: a new master must be in routes at once). In controller mode
/// the controller, not the name servers' answers, says who the master is.
async fn register_periodically(ctx: Arc<BrokerContext>, registrar: Arc<Registrar>) {
    let period =
        Duration::from_millis(ctx.config.register_name_server_period.clamp(10_000, 60_000));
    let mut role = ctx.role.subscribe();
    loop {
        let now = *role.borrow_and_update();
        let covered = ctx.topic_changes.covered_by_next_attempt();
        let learned = if now.decided {
            registrar
                .register_all(
                    now.broker_id,
                    ctx.topics.snapshot(),
                    ctx.live.broker_permission(),
                )
                .await
        } else {
            None
        };
        ctx.topic_changes.attempt_finished(covered);
        if let Some(master) = learned.filter(|_| !ctx.config.enable_controller_mode) {
            ctx.master.send_if_modified(|known| {
                if known.as_ref() == Some(&master) {
                    return false;
                }
                tracing::info!(
                    master = %master.master_addr,
                    ha = master.ha_server_addr.as_deref().unwrap_or("-"),
                    "the group's master changed"
                );
                *known = Some(master);
                true
            });
        }
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            () = ctx.topic_changes.announced() => {}
            _ = role.changed() => {}
        }
    }
}

async fn flush_offsets_periodically(ctx: Arc<BrokerContext>) {
    let mut ticks = tokio::time::interval(Duration::from_millis(
        ctx.config.flush_consumer_offset_interval.max(100),
    ));
    loop {
        ticks.tick().await;
        persist_progress(&ctx, "; retrying");
    }
}

/// Writes consumer offsets and delayed-delivery progress if they changed.
fn persist_progress(ctx: &BrokerContext, when: &str) {
    if let Err(e) = ctx.offsets.persist_if_dirty() {
        tracing::error!(error = %e, "cannot persist consumer offsets{when}");
    }
    if let Err(e) = ctx.schedule_progress.persist_if_dirty() {
        tracing::error!(error = %e, "cannot persist delayOffset.json{when}");
    }
    if let Err(e) = ctx.pop.persist_if_dirty() {
        tracing::error!(error = %e, "cannot persist popState.json{when}");
    }
}

async fn expire_silent_clients(ctx: Arc<BrokerContext>) {
    let mut ticks = tokio::time::interval(Duration::from_secs(10));
    loop {
        ticks.tick().await;
        for conn in ctx
            .clients
            .silent_connections(Instant::now(), CLIENT_EXPIRY)
        {
            tracing::info!(peer = %conn.peer_addr(), "closing a client connection silent for 120 s");
            conn.close();
        }
    }
}
