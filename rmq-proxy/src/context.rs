//! What every RPC handler shares: the settings, the connected clients and the handles on the
//! brokers behind the proxy.

use std::sync::Arc;

use crate::config::ProxyConfig;
use crate::receive::ReceiveState;
use crate::session::Sessions;

/// The proxy's shared state, one per running proxy, passed to every handler as
/// `&Arc<ProxyContext>` (handlers that stream clone the `Arc`).
pub struct ProxyContext {
    /// The settings the proxy started with.
    pub config: ProxyConfig,
    /// The gRPC clients known by their client id: settings, telemetry stream, groups.
    pub sessions: Sessions,
    /// The receive side's own state (receive.rs).
    pub receive: ReceiveState,
}

impl ProxyContext {
    /// Builds the shared state and connects to the name servers of `config`. Must run inside a
    /// tokio runtime.
    pub async fn start(config: ProxyConfig) -> Result<Arc<ProxyContext>, rmq_client::ClientError> {
        let receive = ReceiveState::start(&config).await?;
        Ok(Arc::new(ProxyContext {
            config,
            sessions: Sessions::default(),
            receive,
        }))
    }
}
