//! In-process connections: a server started with a [`LocalListener`] is also reachable, at the
//! addresses it registered, by every [`RemotingClient`](super::RemotingClient) of the same
//! process through an in-memory byte stream instead of a TCP socket.
//!
//! Only the socket goes: the server runs its ordinary connection on its end of the stream (the
//! same router, guards such as ACL, limits and graceful shutdown, the connection counted against
//! `maxConnections`) and the client its ordinary connection on the other, so every request is
//! encoded, decoded and dispatched exactly as over TCP. What is saved is the kernel: no
//! loopback segments, no syscalls, no socket wake-ups. The gRPC proxy inside the broker and
//! rmq-local use it to reach their own broker (docs/grpc-proxy.md, "Local mode").
//!
//! It is opt-in per server: nothing is registered unless a server binds a `LocalListener`, and
//! a client whose address is not registered connects over TCP as always.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{LazyLock, Mutex};

use tokio::io::DuplexStream;
use tokio::sync::mpsc;

use super::connection::lock;

/// Bytes one direction of an in-process connection holds before its writer waits for the
/// reader: room for a few 64 KiB write batches, as a loopback socket's buffer gives; allocated
/// only as it fills.
const STREAM_BUFFER: usize = 1024 * 1024;

/// Connections handed to a server but not yet taken by its accept loop (a listen backlog).
const BACKLOG: usize = 64;

/// The address a server sees for an in-process peer: loopback, port 0, since no socket exists
/// (a TCP peer always has a port), so client lists show which connections are in-process.
pub const IN_PROCESS_PEER: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

/// Servers accepting in-process connections, by the address clients know them by.
static ENDPOINTS: LazyLock<Mutex<HashMap<String, Endpoint>>> = LazyLock::new(Mutex::default);

struct Endpoint {
    addr: SocketAddr,
    incoming: mpsc::Sender<DuplexStream>,
}

/// A server's in-process listening side: while it lives, clients of this process connecting to
/// one of its addresses reach the server it is given to (`serve_with`) through memory.
pub struct LocalListener {
    addrs: Vec<SocketAddr>,
    incoming: mpsc::Receiver<DuplexStream>,
    /// The sender registered for `addrs`, to tell ours from a later listener's at drop.
    registered: mpsc::Sender<DuplexStream>,
}

impl LocalListener {
    /// Registers `addrs` (the addresses the server advertises, as clients find them in routes)
    /// for in-process connections; an address another live listener holds is taken over.
    pub fn bind(addrs: impl IntoIterator<Item = SocketAddr>) -> LocalListener {
        let (tx, incoming) = mpsc::channel(BACKLOG);
        let addrs: Vec<SocketAddr> = addrs.into_iter().collect();
        let mut endpoints = lock(&ENDPOINTS);
        for addr in &addrs {
            endpoints.insert(
                addr.to_string(),
                Endpoint {
                    addr: *addr,
                    incoming: tx.clone(),
                },
            );
        }
        tracing::info!(addrs = ?addrs, "accepting in-process connections");
        LocalListener {
            addrs,
            incoming,
            registered: tx,
        }
    }

    /// The next in-process connection, the server's end of its stream.
    pub(crate) async fn accept(&mut self) -> Option<DuplexStream> {
        self.incoming.recv().await
    }
}

impl Drop for LocalListener {
    /// Unregisters the addresses this listener still holds: later connections go over TCP.
    fn drop(&mut self) {
        let mut endpoints = lock(&ENDPOINTS);
        for addr in &self.addrs {
            let key = addr.to_string();
            if endpoints
                .get(&key)
                .is_some_and(|e| e.incoming.same_channel(&self.registered))
            {
                endpoints.remove(&key);
            }
        }
    }
}

/// The client's end of a new in-process connection to the server registered at `addr`, and the
/// server's address; `None` when no live server of this process registered `addr`.
pub(crate) async fn connect(addr: &str) -> Option<(DuplexStream, SocketAddr)> {
    let (server, incoming) = {
        let endpoints = lock(&ENDPOINTS);
        let endpoint = endpoints.get(addr)?;
        (endpoint.addr, endpoint.incoming.clone())
    };
    let (ours, theirs) = tokio::io::duplex(STREAM_BUFFER);
    incoming.send(theirs).await.ok()?;
    Some((ours, server))
}
