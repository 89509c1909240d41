//! The server accept loop.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use super::connection::{lock, Connection, Lifecycle, LiveConnections};
use super::limits::{connection_cap, open_file_limit, ACCEPT_FAILED, CONNECTION_CAP};
use super::{Router, TransportConfig};

/// Serves `router` on an already-bound `listener` until `shutdown` completes.
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
    let router = Arc::new(router);
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
        "accepting connections"
    );
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                let open = lock(&live).len();
                if open >= cap {
                    drop(stream);
                    if let Some(suppressed) = CONNECTION_CAP.admit() {
                        tracing::warn!(
                            %peer,
                            limit = cap,
                            suppressed,
                            "refusing connection: the server holds its maximum of connections \
                             (raise maxConnections, and ulimit -n, if these peers are legitimate)"
                        );
                    }
                    continue;
                }
                Connection::spawn(stream, router.clone(), &config, lifecycle.clone());
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
