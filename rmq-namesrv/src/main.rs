//! `mqnamesrv`: the name-server process.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use rmq_config::cli;
use rmq_controller::Controller;
use rmq_namesrv::config::NamesrvFile;
use rmq_namesrv::NameServer;
use rmq_remoting::transport::tls::TlsSettings;

const USAGE: &str = "\
mqnamesrv — the rmq name server (RocketMQ-compatible routing registry)

Usage: mqnamesrv [-c namesrv.conf] [--KEY VALUE | --KEY=VALUE]... [-p] [-h]

";

fn main() -> ExitCode {
    cli::init_logging();
    cli::exit_code("mqnamesrv", run())
}

fn run() -> anyhow::Result<()> {
    let Some(((file, tls), args)) =
        cli::settings_from_command_line::<(NamesrvFile, TlsSettings)>(USAGE, &[], true)?
    else {
        return Ok(());
    };
    let (config, controller_config) = file.both;
    // tls.* keys (docs/tls.md): before the first client or listener.
    tls.install(&args.origin())?;
    // Every connection is an open file: lift the soft limit before the first accept.
    rmq_remoting::transport::raise_open_file_limit();
    let origin = args.origin();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = NameServer::new(&config)?;
        let bind = format!("{}:{}", config.bind_address, config.listen_port);
        let listener = tokio::net::TcpListener::bind(&bind)
            .await
            .with_context(|| format!("cannot listen on {bind} (listenPort/bindAddress); is another name server running there?"))?;
        let local = listener.local_addr()?;
        if let Some(metrics) = rmq_namesrv::metrics::bind(&config).await? {
            let node = connectable(local).to_string();
            tokio::spawn(server.serve_metrics(metrics, node, std::future::pending()));
        }
        let shutdown = cli::shutdown_signal();
        let controller = if config.enable_controller_in_namesrv {
            Some(start_controller(controller_config, &origin).await?)
        } else {
            None
        };
        cli::print(&format!("The Name Server boot success. serializeType=JSON, listening on {}\n", connectable(local)));
        if let Some((name, addr, ..)) = &controller {
            // After the name server's line: harnesses read the first line for its address.
            cli::print(&format!("The Controller boot success. selfId={name}, listening on {addr}\n"));
        }
        tracing::info!(%local, kv = %config.kv_config_path.display(), "name server started");
        server.serve(listener, shutdown).await;
        tracing::info!("name server stopped");
        if let Some((.., stop, serving)) = controller {
            let _ = stop.send(());
            let _ = serving.await;
        }
        Ok(())
    })
}

/// A running embedded controller: its id, its address, the sender that stops it, its task.
type EmbeddedController = (
    String,
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
);

/// Starts the embedded controller on its peer port.
async fn start_controller(
    config: rmq_controller::ControllerConfig,
    origin: &str,
) -> anyhow::Result<EmbeddedController> {
    let controller = Controller::start(config, origin).await?;
    let addr = controller.peer_addr().to_owned();
    let listener = rmq_controller::bind_peer_port(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (this node's entry in controllerDLegerPeers) for the embedded controller"))?;
    let name = controller.self_name().to_owned();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(controller.serve(listener, async {
        let _ = stopped.await;
    }));
    Ok((name, addr, stop, serving))
}

/// The address a local client can dial: a wildcard bind is reachable on loopback. Scripts and
/// tests read it from the boot line, so the line ends with the address.
fn connectable(local: SocketAddr) -> SocketAddr {
    if local.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], local.port()))
    } else {
        local
    }
}
