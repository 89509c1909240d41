//! RocketMQ 5's gRPC endpoint beside the local stack: rmq-proxy's `MessagingService` in the same
//! process on 0.0.0.0:8081 (`--grpcPort N`, `off` to leave it out), in front of the local name
//! server and broker (the broker reached in process, docs/grpc-proxy.md), so the 5.x SDKs work
//! against `rmq-local` as against `mqproxy`. A proxy that cannot start (port taken) is reported and
//! skipped: the stack itself matters more.

use std::net::SocketAddr;

use rmq_proxy::{ProxyConfig, ProxyContext};

/// The gRPC port unless told otherwise (Apache's proxy's).
pub const DEFAULT_PORT: u16 = 8081;

/// Reads `--grpcPort`: a port, or `off`; `None` means no gRPC endpoint.
pub fn parse_port(value: Option<String>) -> anyhow::Result<Option<u16>> {
    match value.as_deref() {
        None => Ok(Some(DEFAULT_PORT)),
        Some("off") => Ok(None),
        Some(p) => p
            .parse()
            .map(Some)
            .map_err(|_| anyhow::anyhow!("--grpcPort must be a port number or `off`, not `{p}`")),
    }
}

/// Starts the proxy for the name server at `namesrv`; its address, or `None` (logged) when it
/// could not start.
pub async fn start(port: u16, namesrv: &str) -> Option<SocketAddr> {
    let listener = match tokio::net::TcpListener::bind(("0.0.0.0", port)).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("gRPC proxy not started: cannot listen on port {port} ({e}); choose another with --grpcPort N, or --grpcPort off");
            return None;
        }
    };
    let addr = listener.local_addr().ok()?;
    let config = ProxyConfig {
        namesrv_addr: namesrv.to_owned(),
        grpc_server_port: addr.port(),
        ..ProxyConfig::default()
    };
    let ctx = match ProxyContext::start(config).await {
        Ok(ctx) => ctx,
        Err(e) => {
            tracing::warn!("gRPC proxy not started: {e}");
            return None;
        }
    };
    tokio::spawn(async move {
        if let Err(e) = rmq_proxy::serve(ctx, listener, std::future::pending()).await {
            tracing::warn!("gRPC proxy stopped: {e}");
        }
    });
    Some(addr)
}
