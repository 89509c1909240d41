//! The server accept loop.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;

use super::connection::{Connection, Lifecycle};
use super::{Router, TransportConfig};

/// Serves `router` on an already-bound `listener` until `shutdown` completes.
///
/// Taking a bound listener lets tests bind `127.0.0.1:0` and read the port before serving.
/// Shutdown is graceful: stop accepting, stop reading new requests, let in-flight handlers
/// answer (up to `config.shutdown_grace`), then close every connection.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: TransportConfig,
    shutdown: impl Future<Output = ()>,
) {
    let router = Arc::new(router);
    let lifecycle = Lifecycle::default();
    let live: Arc<Mutex<HashMap<u64, Connection>>> = Arc::default();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, _)) => {
                let conn = Connection::spawn(stream, router.clone(), &config, lifecycle.clone());
                lock(&live).insert(conn.id(), conn.clone());
                let live = live.clone();
                tokio::spawn(async move {
                    conn.closed().await;
                    lock(&live).remove(&conn.id());
                });
            }
            Err(err) => {
                // Typically EMFILE: back off instead of spinning, keep serving existing peers.
                tracing::warn!(error = %err, "accept failed");
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
