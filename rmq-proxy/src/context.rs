//! What every RPC handler shares: the settings, the connected clients and the handles on the
//! brokers behind the proxy.

use std::sync::Arc;
use std::time::Duration;

use crate::auth::Acl;
use crate::cluster::Cluster;
use crate::config::ProxyConfig;
use crate::receive::ReceiveState;
use crate::session::Sessions;
use crate::transaction::Transactions;

/// The proxy's shared state, one per running proxy, passed to every handler as
/// `&Arc<ProxyContext>` (handlers that stream clone the `Arc`).
pub struct ProxyContext {
    /// The settings the proxy runs with (`grpcServerPort` is the port actually bound).
    pub config: ProxyConfig,
    /// The gRPC clients known by their client id: settings, telemetry stream, groups.
    pub sessions: Sessions,
    /// The name servers and brokers behind the proxy.
    pub cluster: Cluster,
    /// Transactional producers and half messages awaiting their outcome.
    pub transactions: Transactions,
    /// The receive side's own state (receive.rs).
    pub receive: ReceiveState,
    /// The ACL rules clients' requests pass (`enableACL`; auth.rs), reloaded while the proxy runs.
    pub acl: Option<Acl>,
}

impl ProxyContext {
    /// Builds the shared state and connects to the name servers of `config`; forgets clients
    /// silent for `channelExpiredInSeconds` in the background. Must run inside a tokio runtime.
    pub async fn start(config: ProxyConfig) -> Result<Arc<ProxyContext>, rmq_client::ClientError> {
        let acl = Acl::open(&config).map_err(rmq_client::ClientError::Config)?;
        let receive = ReceiveState::start(&config).await?;
        let cluster = Cluster::start(&config).await?;
        let ctx = Arc::new(ProxyContext {
            config,
            sessions: Sessions::default(),
            cluster,
            transactions: Transactions::default(),
            receive,
            acl,
        });
        crate::receive::start_renewal(&ctx);
        let weak = Arc::downgrade(&ctx);
        let idle = Duration::from_secs(ctx.config.channel_expired_in_seconds);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                let Some(ctx) = weak.upgrade() else { break };
                let gone = ctx.sessions.expire(idle);
                if gone > 0 {
                    tracing::info!(gone, "silent gRPC clients forgotten");
                }
            }
        });
        Ok(ctx)
    }
}
