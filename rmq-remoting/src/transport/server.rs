//! The server accept loop, and the first bytes of a connection when TLS is on.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::DuplexStream;
use tokio::net::{TcpListener, TcpStream};

use super::connection::{lock, Connection, Lifecycle, LiveConnections};
use super::limits::{
    connection_cap, open_file_limit, ACCEPT_FAILED, CONNECTION_CAP, PLAINTEXT_REFUSED,
    TLS_HANDSHAKE_FAILED,
};
use super::local::{LocalListener, IN_PROCESS_PEER};
use super::tls::{self, ServerTls, TlsMode, HANDSHAKE_RECORD, HANDSHAKE_TIMEOUT};
use super::{Router, TransportConfig};

/// Serves `router` on an already-bound `listener` until `shutdown` completes, with the TLS
/// settings the process installed ([`tls::ProcessTls::install`]; plaintext only if none).
///
/// Taking a bound listener lets tests bind `127.0.0.1:0` and read the port before serving.
/// Shutdown is graceful: stop accepting, stop reading new requests, let in-flight handlers
/// answer (up to `config.shutdown_grace`), then close every connection. A connection beyond
/// `config.max_connections` (lowered to fit the open-file limit) is closed as soon as accepted.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: TransportConfig,
    shutdown: impl Future<Output = ()>,
) {
    serve_with(listener, None, router, config, shutdown).await;
}

/// [`serve`], also serving the in-process connections of `local` (clients of this process that
/// connect to its addresses): each is an ordinary connection from [`IN_PROCESS_PEER`], under the
/// same router, limits and shutdown, without TLS (its bytes never leave the process).
pub async fn serve_with(
    listener: TcpListener,
    local: Option<LocalListener>,
    router: Router,
    config: TransportConfig,
    shutdown: impl Future<Output = ()>,
) {
    accept_loop(
        listener,
        local,
        router,
        config,
        tls::process_server(),
        shutdown,
    )
    .await;
}

/// [`serve`] with explicit TLS settings: `tls.mode()` decides whether a connection's first
/// byte is looked at (permissive), required to start a TLS handshake (enforcing), or left to
/// the frame decoder (disabled, which costs plaintext nothing).
pub async fn serve_tls(
    listener: TcpListener,
    router: Router,
    config: TransportConfig,
    tls: ServerTls,
    shutdown: impl Future<Output = ()>,
) {
    accept_loop(listener, None, router, config, tls, shutdown).await;
}

async fn accept_loop(
    listener: TcpListener,
    mut local: Option<LocalListener>,
    router: Router,
    config: TransportConfig,
    tls: ServerTls,
    shutdown: impl Future<Output = ()>,
) {
    let router = Arc::new(router);
    // Peers still in their TLS handshake count against the connection cap too.
    let handshaking = Arc::new(AtomicUsize::new(0));
    let live = LiveConnections::default();
    let lifecycle = Lifecycle {
        live: Some(live.clone()),
        ..Lifecycle::default()
    };
    let open_files = open_file_limit();
    let cap = connection_cap(config.max_connections, open_files);
    tracing::info!(
        addr = ?listener.local_addr().ok(),
        max_connections = cap,
        configured = config.max_connections,
        open_file_limit = open_files,
        tls_mode = ?tls.mode,
        "accepting connections"
    );
    // Whether one more connection, from `peer`, would pass the cap (refused and logged if so).
    let full = |peer: SocketAddr| {
        let open = lock(&live).len() + handshaking.load(Ordering::Relaxed);
        if open < cap {
            return false;
        }
        if let Some(suppressed) = CONNECTION_CAP.admit() {
            tracing::warn!(
                %peer,
                limit = cap,
                suppressed,
                "refusing connection: the server holds its maximum of connections \
                 (raise maxConnections, and ulimit -n, if these peers are legitimate)"
            );
        }
        true
    };
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            Some(stream) = accept_in_process(&mut local) => {
                if !full(IN_PROCESS_PEER) {
                    Connection::spawn_stream(stream, IN_PROCESS_PEER, router.clone(), &config, lifecycle.clone());
                }
                continue;
            }
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                if full(peer) {
                    drop(stream);
                    continue;
                }
                match &tls.acceptor {
                    Some(acceptor) if tls.mode != TlsMode::Disabled => {
                        let opening = Opening {
                            router: router.clone(),
                            config: config.clone(),
                            lifecycle: lifecycle.clone(),
                            handshaking: HandshakeCount::enter(&handshaking),
                        };
                        tokio::spawn(opening.run(stream, peer, tls.mode, acceptor.clone()));
                    }
                    _ => {
                        Connection::spawn(stream, router.clone(), &config, lifecycle.clone());
                    }
                }
            }
            Err(err) => {
                // Typically EMFILE: back off instead of spinning, keep serving existing peers.
                if let Some(suppressed) = ACCEPT_FAILED.admit() {
                    tracing::warn!(error = %err, suppressed, "accept failed (at the open-file limit, ulimit -n, if EMFILE)");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    // In-process clients connect over TCP from now on (and find nobody listening).
    drop(local);
    lifecycle.stop_reading.cancel();
    lifecycle.handlers.close();
    if tokio::time::timeout(config.shutdown_grace, lifecycle.handlers.wait())
        .await
        .is_err()
    {
        tracing::warn!(grace = ?config.shutdown_grace, "requests still running at the end of the shutdown grace period");
    }
    let remaining: Vec<Connection> = lock(&live).values().cloned().collect();
    for conn in remaining {
        conn.close();
    }
}

/// The next in-process connection of `local`; never, without one.
async fn accept_in_process(local: &mut Option<LocalListener>) -> Option<DuplexStream> {
    match local {
        Some(local) => local.accept().await,
        None => std::future::pending().await,
    }
}

/// Counts a peer as handshaking for as long as this lives.
struct HandshakeCount(Arc<AtomicUsize>);

impl HandshakeCount {
    fn enter(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        HandshakeCount(count.clone())
    }
}

impl Drop for HandshakeCount {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection whose first byte decides between TLS and plaintext.
struct Opening {
    router: Arc<Router>,
    config: TransportConfig,
    lifecycle: Lifecycle,
    handshaking: HandshakeCount,
}

impl Opening {
    /// Looks at the first byte without taking it, waiting as long as the peer likes (an idle
    /// connection is kept, as with plaintext only), then starts the connection as plaintext,
    /// closes it (enforcing), or runs the TLS handshake within [`HANDSHAKE_TIMEOUT`].
    async fn run(
        self,
        stream: TcpStream,
        peer: SocketAddr,
        mode: TlsMode,
        acceptor: tokio_rustls::TlsAcceptor,
    ) {
        let stop = self.lifecycle.stop_reading.clone();
        let mut first = [0u8; 1];
        let peeked = tokio::select! {
            peeked = stream.peek(&mut first) => peeked,
            () = stop.cancelled() => return,
        };
        if !matches!(peeked, Ok(n) if n > 0) {
            return;
        }
        if first[0] != HANDSHAKE_RECORD {
            if mode == TlsMode::Enforcing {
                if let Some(suppressed) = PLAINTEXT_REFUSED.admit() {
                    tracing::warn!(
                        %peer,
                        suppressed,
                        "closing connection: plaintext peer while tls.server.mode=enforcing \
                         (enable TLS on the client, tls.enable=true, or set tls.server.mode=permissive)"
                    );
                }
                return;
            }
            Connection::spawn(stream, self.router, &self.config, self.lifecycle);
            return;
        }
        let _ = stream.set_nodelay(true);
        let handshake = tokio::select! {
            done = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)) => done,
            () = stop.cancelled() => return,
        };
        let failure = match handshake {
            Ok(Ok(tls)) => {
                Connection::spawn_stream(tls, peer, self.router, &self.config, self.lifecycle);
                return;
            }
            Ok(Err(err)) => err.to_string(),
            Err(_) => format!("no TLS handshake within {HANDSHAKE_TIMEOUT:?}"),
        };
        drop(self.handshaking);
        if let Some(suppressed) = TLS_HANDSHAKE_FAILED.admit() {
            tracing::warn!(%peer, error = %failure, suppressed, "closing connection: TLS handshake failed");
        }
    }
}
