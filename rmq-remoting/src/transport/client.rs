//! A client that keeps one connection per peer address and reconnects when it closes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::Mutex;

use super::connection::{Connection, Lifecycle};
use super::{Router, TransportConfig, TransportError};
use crate::command::RemotingCommand;

/// Calls peers by address over shared connections; many calls may be in flight on each.
///
/// Requests the peer sends back on those connections (a broker's `NOTIFY_CONSUMER_IDS_CHANGED`,
/// say) go to the router given at construction.
pub struct RemotingClient {
    config: TransportConfig,
    router: Arc<Router>,
    connections: Mutex<HashMap<String, Connection>>,
}

impl RemotingClient {
    /// A client whose connections hand server-initiated requests to `router`.
    pub fn new(config: TransportConfig, router: Router) -> Self {
        RemotingClient {
            config,
            router: Arc::new(router),
            connections: Mutex::new(HashMap::new()),
        }
    }

    /// The open connection to `addr`, connecting (or reconnecting) if there is none.
    pub async fn connection(&self, addr: &str) -> Result<Connection, TransportError> {
        let mut connections = self.connections.lock().await;
        if let Some(conn) = connections.get(addr) {
            if !conn.is_closed() {
                return Ok(conn.clone());
            }
        }
        let timeout = self.config.connect_timeout;
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| TransportError::ConnectTimeout {
                addr: addr.to_owned(),
                timeout,
            })?
            .map_err(|source| TransportError::Connect {
                addr: addr.to_owned(),
                source,
            })?;
        let conn = Connection::spawn(
            stream,
            self.router.clone(),
            &self.config,
            Lifecycle::default(),
        );
        connections.insert(addr.to_owned(), conn.clone());
        Ok(conn)
    }

    /// Sends `request` to `addr` and waits up to `timeout` for the response (connecting
    /// included).
    pub async fn invoke(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, TransportError> {
        let started = tokio::time::Instant::now();
        let conn = tokio::time::timeout(timeout, self.connection(addr))
            .await
            .map_err(|_| TransportError::Timeout {
                addr: addr.to_owned(),
                timeout,
            })??;
        conn.invoke(request, timeout.saturating_sub(started.elapsed()))
            .await
    }

    /// Sends a oneway `request` to `addr`.
    pub async fn invoke_oneway(
        &self,
        addr: &str,
        request: RemotingCommand,
    ) -> Result<(), TransportError> {
        self.connection(addr).await?.invoke_oneway(request).await
    }

    /// Closes every connection; later calls reconnect.
    pub async fn close_all(&self) {
        for (_, conn) in self.connections.lock().await.drain() {
            conn.close();
        }
    }
}
