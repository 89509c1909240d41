//! `mqproxy`: RocketMQ 5's gRPC proxy in cluster mode, in front of the brokers a name server
//! knows (docs/grpc-proxy.md).

use std::process::ExitCode;

use anyhow::Context;
use rmq_config::cli;
use rmq_config::Settings;
use rmq_proxy::{ProxyConfig, ProxyContext};

const USAGE: &str = "\
mqproxy — RocketMQ 5's gRPC proxy (apache.rocketmq.v2.MessagingService) in cluster mode

Usage: mqproxy [-n NAMESRV_ADDR] [-pc rmq-proxy.json] [--KEY VALUE | --KEY=VALUE]... [-p] [-h]

  -n, --namesrvAddr ADDR  name servers (host:port;host:port)
  -pc, --proxyConfigPath FILE
                          settings from a JSON file (Apache's rmq-proxy.json keys)
  -pm MODE                proxyMode; only `cluster`
  -p, --printConfigItem   print every setting with its value and exit
  -h, --help              print this help and exit

Logging: RUST_LOG (e.g. RUST_LOG=debug), default info, to stderr.

Keys:
";

fn main() -> ExitCode {
    cli::init_logging();
    cli::exit_code("mqproxy", run())
}

fn run() -> anyhow::Result<()> {
    // -pc FILE is JSON, unlike the servers' -c (properties): take it out before the shared parser.
    let mut json_file = None;
    let mut rest = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "-pc" || arg == "--proxyConfigPath" {
            json_file = Some(args.next().with_context(|| {
                format!("{arg} needs a file path, e.g. {arg} conf/rmq-proxy.json")
            })?);
        } else {
            rest.push(arg);
        }
    }
    let aliases = [("-n", "namesrvAddr"), ("-pm", "proxyMode")];
    let Some(args) = cli::parse_args(rest, &aliases).map_err(anyhow::Error::msg)? else {
        cli::print(&format!("{USAGE}{}", ProxyConfig::help()));
        return Ok(());
    };
    if let Some(file) = &args.config_file {
        anyhow::bail!(
            "-c {} : mqproxy reads JSON settings with -pc FILE",
            file.display()
        );
    }
    let mut config = ProxyConfig::default();
    if let Some(file) = &json_file {
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?;
        for warning in config.apply_json(&text, file)? {
            tracing::warn!("{warning}");
        }
    }
    for warning in
        rmq_config::apply_all(&mut config, &args.overrides, "command line", true)?.warnings
    {
        tracing::warn!("{warning}");
    }
    if args.print_config {
        for (key, value) in config.values() {
            // The proxy's own ACL account carries a secret key: never printed.
            let shown = if key == "innerClientAuthenticationCredentials" && !value.is_empty() {
                "***".to_owned()
            } else {
                value
            };
            cli::print(&format!("{key}={shown}\n"));
        }
        return Ok(());
    }
    if config.namesrv_addr.is_empty() {
        anyhow::bail!(
            "no name server: give -n HOST:PORT, namesrvAddr in the -pc file, or NAMESRV_ADDR"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let bind = format!("0.0.0.0:{}", config.grpc_server_port);
        let listener = tokio::net::TcpListener::bind(&bind)
            .await
            .with_context(|| format!("cannot listen on {bind} (grpcServerPort)"))?;
        let local = listener.local_addr()?;
        // Routes name the port actually bound (grpcServerPort 0 picks one).
        config.grpc_server_port = local.port();
        let ctx = ProxyContext::start(config).await?;
        let shutdown = cli::shutdown_signal();
        cli::print(&format!(
            "rocketmq-proxy startup successfully (rmq mqproxy, cluster mode, namesrvAddr={}), listening on 127.0.0.1:{}\n",
            ctx.config.namesrv_addr,
            local.port()
        ));
        tracing::info!(%local, "gRPC proxy started");
        rmq_proxy::serve(ctx, listener, shutdown).await?;
        tracing::info!("gRPC proxy stopped");
        Ok(())
    })
}
