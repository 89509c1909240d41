//! The web console beside the local stack: `rmq-dashboard` in the same process on
//! 127.0.0.1:8080 (`--consolePort N`, `off` to leave it out), its users under
//! `DATA/dashboard`. A console that cannot start (port taken) is reported and skipped: the
//! stack itself matters more.

use std::net::SocketAddr;
use std::path::Path;

use rmq_dashboard::config::DashboardConfig;
use rmq_dashboard::AppState;

/// The console's port unless told otherwise.
pub const DEFAULT_PORT: u16 = 8080;

/// Reads `--consolePort`: a port, or `off`; `None` means no console.
pub fn parse_port(value: Option<String>) -> anyhow::Result<Option<u16>> {
    match value.as_deref() {
        None => Ok(Some(DEFAULT_PORT)),
        Some("off") => Ok(None),
        Some(p) => p.parse().map(Some).map_err(|_| {
            anyhow::anyhow!("--consolePort must be a port number or `off`, not `{p}`")
        }),
    }
}

/// Starts the console for the name server at `namesrv`; its address, or `None` (logged)
/// when it could not start.
pub async fn start(port: u16, data: &Path, namesrv: &str) -> Option<SocketAddr> {
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("console not started: cannot listen on 127.0.0.1:{port} ({e}); choose another with --consolePort N, or --consolePort off");
            return None;
        }
    };
    let settings = DashboardConfig {
        namesrv_addr: namesrv.to_owned(),
        port,
        data_dir: Some(data.join("dashboard")),
        ..DashboardConfig::default()
    };
    let (state, origin) = match AppState::start(settings).await {
        Ok(started) => started,
        Err(e) => {
            tracing::warn!("console not started: {e}");
            return None;
        }
    };
    origin.log();
    let addr = listener.local_addr().ok()?;
    tokio::spawn(async move {
        let router = rmq_dashboard::router(state);
        if let Err(e) = rmq_dashboard::serve(listener, router, std::future::pending()).await {
            tracing::warn!("console stopped: {e}");
        }
    });
    Some(addr)
}
