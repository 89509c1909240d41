//! `rmq-local`: the whole stack on one machine in one command — a name server on 9876 and a
//! broker on 10911 that registers with it, data under `./rmq-data`. What a developer runs
//! before `cargo run -p demo-consumer`. With `--cluster MODE`, a whole multi-broker cluster
//! instead, controllers included in controller mode (see `cluster`).

mod cluster;
mod console;
mod grpc;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use rmq_broker::{Broker, BrokerConfig};
use rmq_config::{cli, Settings};
use rmq_namesrv::{NameServer, NamesrvConfig};
use rmq_remoting::transport::tls::TlsSettings;
use rmq_store::StoreConfig;

/// The same allocator as `mqbroker`, so the local stack performs like the real broker.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "\
rmq-local — a name server and a broker in one process, for development

Usage: rmq-local [--cluster MODE [--brokerPortBase N] [--controllerPortBase N]] [--data DIR] [--namesrvPort N] [--KEY VALUE]... [-h]

  --data DIR        where the store, topics and offsets live (default ./rmq-data)
  --namesrvPort N   name-server port (default 9876; 0 = any free port)
  --consolePort N   the web console (rmq-dashboard, not with --cluster) on 127.0.0.1:N
                    (default 8080; `off` for none); users in DIR/dashboard/users, a first
                    start prints the generated password of user admin once
  --grpcPort N      RocketMQ 5's gRPC proxy (not with --cluster) on N (default 8081; `off`
                    for none), for the 5.x SDKs (docs/grpc-proxy.md)
  (listenPort defaults to 10911, brokerIP1 to 127.0.0.1)
  --cluster MODE    every broker of a deployment mode instead of one broker, as configured
                    in conf/MODE/ (stores under DIR/MODE/; --KEY VALUE applies to every broker):
                      2m-noslave, 2m-2s-async, 2m-2s-sync  fixed masters and slaves
                      controller  RocketMQ 5's automatic failover: 3 controllers (Raft, on
                                  9878, 9868, 9858) elect the master of broker-a's 3 replicas
                                  (30911, 30921, 30931); controller keys such as
                                  --scanNotActiveBrokerInterval apply to every controller
                                  (mqcontroller --help lists them)
  --brokerPortBase N  with --cluster: the first broker (10911, or 30911 in controller mode)
                    listens on N instead, the others keep their distance (+10 each)
  --controllerPortBase N  with --cluster controller: controller n0 listens on N instead of
                    9878, n1 and n2 keep their distance (N-10, N-20)
";

fn main() -> ExitCode {
    cli::init_logging();
    cli::exit_code("rmq-local", run())
}

fn run() -> anyhow::Result<()> {
    let Some(mut args) =
        cli::parse_args(std::env::args().skip(1), &[]).map_err(anyhow::Error::msg)?
    else {
        cli::print(&format!(
            "{USAGE}{}{}",
            cli::COMMON_OPTIONS,
            <(BrokerConfig, StoreConfig)>::help()
        ));
        return Ok(());
    };
    install_tls(&mut args)?;
    let take = |args: &mut cli::ServerArgs, key: &str| {
        let at = args.overrides.iter().position(|p| p.key == key)?;
        Some(args.overrides.remove(at).value)
    };
    let data = PathBuf::from(take(&mut args, "data").unwrap_or_else(|| "rmq-data".to_owned()));
    let namesrv_port: u16 = take(&mut args, "namesrvPort")
        .map_or(Ok(9876), |p| p.parse())
        .context("--namesrvPort must be a port number")?;
    let console_port = console::parse_port(take(&mut args, "consolePort"))?;
    let grpc_port = grpc::parse_port(take(&mut args, "grpcPort"))?;
    if let Some(mode) = take(&mut args, "cluster") {
        let broker_port_base = take(&mut args, "brokerPortBase")
            .map(|p| p.parse::<u16>())
            .transpose()
            .context("--brokerPortBase must be a port number")?;
        let controller_port_base = take(&mut args, "controllerPortBase")
            .map(|p| p.parse::<u16>())
            .transpose()
            .context("--controllerPortBase must be a port number")?;
        if args.config_file.is_some() {
            anyhow::bail!("-c FILE does not go with --cluster: each broker reads conf/{mode}/; pass --KEY VALUE to change all of them");
        }
        let opts = cluster::ClusterOptions {
            mode,
            data,
            namesrv_port,
            broker_port_base,
            controller_port_base,
            overrides: args.overrides,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        return runtime.block_on(cluster::run(opts));
    }
    if take(&mut args, "brokerPortBase").is_some() {
        anyhow::bail!(
            "--brokerPortBase needs --cluster MODE ({})",
            cluster::mode_names()
        );
    }
    if take(&mut args, "controllerPortBase").is_some() {
        anyhow::bail!("--controllerPortBase needs --cluster controller");
    }

    let namesrv_config = NamesrvConfig {
        listen_port: namesrv_port,
        kv_config_path: data.join("namesrv/kvConfig.json"),
        ..NamesrvConfig::default()
    };
    let mut broker_settings = (
        BrokerConfig {
            broker_name: "broker-a".to_owned(),
            broker_ip1: "127.0.0.1".to_owned(),
            ..BrokerConfig::default()
        },
        StoreConfig::with_root(data.join("store")),
    );
    for warning in cli::load(&mut broker_settings, &args, false)? {
        tracing::warn!("{warning}");
    }
    let own_namesrv = !args.overrides.iter().any(|p| p.key == "namesrvAddr");
    let (mut broker_config, store_config) = broker_settings;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let ns_listener = tokio::net::TcpListener::bind(("0.0.0.0", namesrv_port))
            .await
            .with_context(|| format!("cannot listen on port {namesrv_port} for the name server; is one running already?"))?;
        let ns_port = ns_listener.local_addr()?.port();
        if own_namesrv {
            broker_config.namesrv_addr = format!("127.0.0.1:{ns_port}");
        }
        let name_server = NameServer::new(&namesrv_config)?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let ns_task = {
            let mut stop = stop_rx.clone();
            tokio::spawn(name_server.serve(ns_listener, async move {
                let _ = stop.changed().await;
            }))
        };

        let broker_listener = tokio::net::TcpListener::bind(("0.0.0.0", broker_config.listen_port))
            .await
            .with_context(|| format!("cannot listen on port {} for the broker (listenPort)", broker_config.listen_port))?;
        let broker_port = broker_listener.local_addr()?.port();
        let ip = broker_config.broker_ip1.parse().context("brokerIP1 must be an IP address")?;
        let mut broker =
            Broker::open(broker_config, store_config, SocketAddr::new(ip, broker_port))?;
        broker.listen_on_fast_channel().await;
        let console = match console_port {
            Some(port) => console::start(port, &data, &format!("127.0.0.1:{ns_port}")).await,
            None => None,
        };
        let console = console.map_or(String::new(), |a| format!(", console on http://{a}"));
        if grpc_port.is_some() {
            // The proxy reaches the broker in process (docs/grpc-proxy.md, "Local mode").
            broker.accept_in_process();
        }
        let grpc = match grpc_port {
            Some(port) => grpc::start(port, &format!("127.0.0.1:{ns_port}")).await,
            None => None,
        };
        let grpc = grpc.map_or(String::new(), |a| format!(", gRPC on 127.0.0.1:{}", a.port()));
        let shutdown = cli::shutdown_signal();
        cli::print(&format!("rmq-local: name server on 127.0.0.1:{ns_port}, broker on 127.0.0.1:{broker_port}{console}{grpc}, data in {}\n", data.display()));
        broker.serve(broker_listener, shutdown).await;
        let _ = stop_tx.send(true);
        let _ = ns_task.await;
        Ok(())
    })
}

/// Takes the `--tls.*` flags out of `args` and installs them (with `TLS_*` variables and the
/// file at `tls.config.file`, docs/tls.md) for every server and client this process runs.
fn install_tls(args: &mut cli::ServerArgs) -> anyhow::Result<()> {
    let mut tls = TlsSettings::default();
    let mut rest = Vec::new();
    for prop in std::mem::take(&mut args.overrides) {
        match tls.set(&prop.key, &prop.value) {
            None => rest.push(prop),
            Some(Ok(())) => {}
            Some(Err(accepted)) => anyhow::bail!(
                "command line: `{}` has the value {:?}, which is not valid; expected {accepted}",
                prop.key,
                prop.value
            ),
        }
    }
    args.overrides = rest;
    tls.install("command line")?;
    Ok(())
}
