//! `mqbroker`: the broker process.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use anyhow::Context;
use rmq_broker::{address, Broker, BrokerConfig};
use rmq_config::cli;
use rmq_proxy::{ProxyConfig, ProxyContext};
use rmq_remoting::transport::tls::TlsSettings;
use rmq_store::StoreConfig;

/// Every request allocates its header fields and every send its stored properties; with
/// mimalloc the broker spends about a quarter less CPU per produced message than with glibc's
/// malloc (broker utime+stime under `mqbench produce -c 8`). Built without transparent huge
/// pages (`no_thp`), which would otherwise add 8 MiB to the idle RSS.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "\
mqbroker — the rmq broker (RocketMQ-compatible)

Usage: mqbroker [-c broker.conf] [-n NAMESRV_ADDR] [--KEY VALUE | --KEY=VALUE]... [-p] [-h]

  -n ADDR                 name servers, host:port separated by ';' (namesrvAddr)
  (in broker.conf, unknown keys are warnings and bad values are errors)
";

fn main() -> ExitCode {
    cli::init_logging();
    cli::exit_code("mqbroker", run())
}

fn run() -> anyhow::Result<()> {
    let Some(((((config, store_config), tls), mut proxy_config), args)) =
        cli::settings_from_command_line::<(((BrokerConfig, StoreConfig), TlsSettings), ProxyConfig)>(
            USAGE,
            &[("-n", "namesrvAddr")],
            false,
        )?
    else {
        return Ok(());
    };
    // tls.* keys (docs/tls.md): before the broker's clients and listeners exist.
    tls.install(&args.origin())?;
    // Every connection is an open file: lift the soft limit before the first accept.
    rmq_remoting::transport::raise_open_file_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let bind = SocketAddr::from(([0, 0, 0, 0], config.listen_port));
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("cannot listen on {bind} (listenPort); is another broker running there?"))?;
        let port = listener.local_addr()?.port();
        let ip = advertised_ip(&config)?;
        let store_host = SocketAddr::new(ip, port);
        let mut broker = Broker::open(config.clone(), store_config, store_host)?;
        broker.listen_on_fast_channel().await;
        if let Some(metrics) = rmq_broker::metrics::bind(broker.context(), ip).await? {
            tokio::spawn(rmq_broker::metrics::serve(broker.context().clone(), metrics));
        }
        let name_servers = config.name_servers();
        if name_servers.is_empty() {
            tracing::warn!("namesrvAddr is not set: the broker runs but no client can find it; set namesrvAddr in broker.conf or pass -n host:9876");
        }
        if config.enable_proxy {
            // Local mode (docs/grpc-proxy.md): routes come from the name servers as in cluster
            // mode, and the proxy reaches this broker in process, through memory, not TCP.
            broker.accept_in_process();
            proxy_config.namesrv_addr = name_servers.join(";");
            let bind = SocketAddr::from(([0, 0, 0, 0], proxy_config.grpc_server_port));
            let grpc = tokio::net::TcpListener::bind(bind)
                .await
                .with_context(|| format!("cannot listen on {bind} (grpcServerPort, enableProxy=true)"))?;
            proxy_config.grpc_server_port = grpc.local_addr()?.port();
            let ctx = ProxyContext::start(proxy_config).await?;
            tracing::info!(port = ctx.config.grpc_server_port, "gRPC proxy started in the broker");
            tokio::spawn(async move {
                if let Err(e) = rmq_proxy::serve(ctx, grpc, std::future::pending()).await {
                    tracing::error!("the gRPC proxy stopped: {e}");
                }
            });
        }
        let shutdown = cli::shutdown_signal();
        cli::print(&format!("The broker[{}, {store_host}] boot success. serializeType=JSON, haListenPort={} and name server is {}, listening on 127.0.0.1:{port}\n",
            config.broker_name,
            broker.ha_port(),
            name_servers.join(";")
        ));
        broker.serve(listener, shutdown).await;
        tracing::info!("broker stopped");
        Ok(())
    })
}

/// `brokerIP1` if set, otherwise the detected address, with a warning when other hosts are
/// unlikely to reach it (the classic container trap).
fn advertised_ip(config: &BrokerConfig) -> anyhow::Result<IpAddr> {
    if !config.broker_ip1.is_empty() {
        return config.broker_ip1.parse().with_context(|| {
            format!(
                "brokerIP1 = {:?} is not an IP address; set it to the address clients connect to",
                config.broker_ip1
            )
        });
    }
    let detected = address::detect();
    if !detected.publicly_reachable {
        tracing::warn!(
            "brokerIP1 is not set; advertising the auto-detected {}, a private or loopback address that clients on other hosts \
             (or outside this container) cannot reach. Set brokerIP1 in broker.conf to the address clients use.",
            detected.ip
        );
    }
    Ok(detected.ip)
}
