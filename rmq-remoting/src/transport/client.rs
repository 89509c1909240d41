//! A client that keeps one connection per peer address and reconnects when it closes.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::Mutex;

use super::connection::{Connection, Lifecycle};
use super::local;
use super::tls::{self, ClientTls};
use super::{Router, TransportConfig, TransportError};
use crate::command::RemotingCommand;

/// Changes every request just before it is sent: Java's `RPCHook.doBeforeRequest`, which is how
/// ACL signatures are added to requests.
pub type RequestHook = Arc<dyn Fn(&mut RemotingCommand) + Send + Sync>;

/// Calls peers by address over shared connections; many calls may be in flight on each.
///
/// Requests the peer sends back on those connections (a broker's `NOTIFY_CONSUMER_IDS_CHANGED`,
/// say) go to the router given at construction.
pub struct RemotingClient {
    config: TransportConfig,
    router: Arc<Router>,
    /// Applied to every request this client sends (not to responses it gives).
    request_hook: Option<RequestHook>,
    /// Connections are opened with TLS when set.
    tls: Option<ClientTls>,
    /// Open connections by address; read on every call, written only when connecting.
    connections: RwLock<HashMap<String, Connection>>,
    /// Serialises connecting, so concurrent first calls to an address open one connection.
    connecting: Mutex<()>,
}

impl RemotingClient {
    /// A client whose connections hand server-initiated requests to `router`; it connects
    /// with the TLS settings the process installed ([`tls::ProcessTls::install`]), if any.
    pub fn new(config: TransportConfig, router: Router) -> Self {
        RemotingClient {
            config,
            router: Arc::new(router),
            request_hook: None,
            tls: tls::process_client(),
            connections: RwLock::default(),
            connecting: Mutex::new(()),
        }
    }

    /// Applies `hook` to every request sent through [`invoke`](Self::invoke) and
    /// [`invoke_oneway`](Self::invoke_oneway) (signing, for instance).
    pub fn with_request_hook(mut self, hook: RequestHook) -> Self {
        self.request_hook = Some(hook);
        self
    }

    /// Connects with `tls` (plaintext when `None`) instead of the process's settings.
    pub fn with_tls(mut self, tls: Option<ClientTls>) -> Self {
        self.tls = tls;
        self
    }

    fn prepare(&self, mut request: RemotingCommand) -> RemotingCommand {
        if let Some(hook) = &self.request_hook {
            hook(&mut request);
        }
        request
    }

    /// The open connection to `addr`, connecting (or reconnecting) if there is none: in memory
    /// to a server of this process that registered `addr` ([`super::LocalListener`]), else
    /// over TCP.
    pub async fn connection(&self, addr: &str) -> Result<Connection, TransportError> {
        if let Some(conn) = self.open_connection(addr) {
            return Ok(conn);
        }
        let _connecting = self.connecting.lock().await;
        if let Some(conn) = self.open_connection(addr) {
            return Ok(conn);
        }
        let timeout = self.config.connect_timeout;
        let connecting = async {
            if let Some((stream, peer)) = local::connect(addr).await {
                return Ok(Connection::spawn_stream(
                    stream,
                    peer,
                    self.router.clone(),
                    &self.config,
                    Lifecycle::default(),
                ));
            }
            let stream = TcpStream::connect(addr).await?;
            let Some(tls) = &self.tls else {
                return Ok(Connection::spawn(
                    stream,
                    self.router.clone(),
                    &self.config,
                    Lifecycle::default(),
                ));
            };
            let _ = stream.set_nodelay(true);
            let peer = stream.peer_addr()?;
            let stream = tls.connect(addr, stream).await?;
            Ok(Connection::spawn_stream(
                stream,
                peer,
                self.router.clone(),
                &self.config,
                Lifecycle::default(),
            ))
        };
        let conn = tokio::time::timeout(timeout, connecting)
            .await
            .map_err(|_| TransportError::ConnectTimeout {
                addr: addr.to_owned(),
                timeout,
            })?
            .map_err(|source| TransportError::Connect {
                addr: addr.to_owned(),
                source,
            })?;
        self.connections
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(addr.to_owned(), conn.clone());
        Ok(conn)
    }

    fn open_connection(&self, addr: &str) -> Option<Connection> {
        let connections = self.connections.read().unwrap_or_else(|e| e.into_inner());
        connections.get(addr).filter(|c| !c.is_closed()).cloned()
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
        conn.invoke(
            self.prepare(request),
            timeout.saturating_sub(started.elapsed()),
        )
        .await
    }

    /// Sends a oneway `request` to `addr`.
    pub async fn invoke_oneway(
        &self,
        addr: &str,
        request: RemotingCommand,
    ) -> Result<(), TransportError> {
        let conn = self.connection(addr).await?;
        conn.invoke_oneway(self.prepare(request)).await
    }

    /// Closes every connection; later calls reconnect.
    pub async fn close_all(&self) {
        let all: Vec<Connection> = self
            .connections
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|(_, c)| c)
            .collect();
        for conn in all {
            conn.close();
        }
    }
}
