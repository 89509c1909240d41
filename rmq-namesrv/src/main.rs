//! `mqnamesrv`: the name-server process.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use rmq_config::{cli, Settings};
use rmq_namesrv::{NameServer, NamesrvConfig};

const USAGE: &str = "\
mqnamesrv — the rmq name server (RocketMQ-compatible routing registry)

Usage: mqnamesrv [-c FILE] [--KEY VALUE | --KEY=VALUE]... [-p] [-h]

  -c, --configFile FILE   read settings from a Java-properties file (RocketMQ's namesrv.conf)
  --KEY VALUE             set any key below; applied after the file
  -p, --printConfigItem   print every setting with its value and exit
  -h, --help              print this help and exit

Logging: RUST_LOG (e.g. RUST_LOG=debug), default info, to stderr.

Keys:
";

fn main() -> ExitCode {
    cli::init_logging();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mqnamesrv: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let Some(args) = cli::parse_args(std::env::args().skip(1), &[]).map_err(anyhow::Error::msg)?
    else {
        print!("{USAGE}{}", NamesrvConfig::help());
        return Ok(());
    };
    let mut config = NamesrvConfig::default();
    for warning in cli::load(&mut config, &args, true)? {
        tracing::warn!("{warning}");
    }
    if args.print_config {
        for (key, value) in config.values() {
            println!("{key}={value}");
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
        println!("The Name Server boot success. serializeType=JSON, listening on {}", connectable(local));
        tracing::info!(%local, kv = %config.kv_config_path.display(), "name server started");
        server.serve(listener, cli::shutdown_signal()).await;
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
