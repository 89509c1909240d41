//! `mqnamesrv`: the name-server process.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use rmq_config::{cli, Settings};
use rmq_namesrv::{NameServer, NamesrvConfig};

const USAGE: &str = "\
mqnamesrv — the rmq name server (RocketMQ-compatible routing registry)

Usage: mqnamesrv [-c namesrv.conf] [--KEY VALUE | --KEY=VALUE]... [-p] [-h]

";

fn main() -> ExitCode {
    cli::init_logging();
    cli::exit_code("mqnamesrv", run())
}

fn run() -> anyhow::Result<()> {
    let Some(args) = cli::parse_args(std::env::args().skip(1), &[]).map_err(anyhow::Error::msg)?
    else {
        cli::print(&format!(
            "{USAGE}{}{}",
            cli::COMMON_OPTIONS,
            NamesrvConfig::help()
        ));
        return Ok(());
    };
    let mut config = NamesrvConfig::default();
    for warning in cli::load(&mut config, &args, true)? {
        tracing::warn!("{warning}");
    }
    if args.print_config {
        for (key, value) in config.values() {
            cli::print(&format!("{key}={value}\n"));
        }
        return Ok(());
    }
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
        let shutdown = cli::shutdown_signal();
        cli::print(&format!("The Name Server boot success. serializeType=JSON, listening on {}\n", connectable(local)));
        tracing::info!(%local, kv = %config.kv_config_path.display(), "name server started");
        server.serve(listener, shutdown).await;
        tracing::info!("name server stopped");
        Ok(())
    })
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
