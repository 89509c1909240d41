//! `mqnamesrv`: the name-server process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use rmq_config::properties::Property;
use rmq_config::{apply_all, Settings};
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

struct Cli {
    config_file: Option<PathBuf>,
    overrides: Vec<Property>,
    print_config: bool,
}

fn parse_args(args: impl Iterator<Item = String>) -> anyhow::Result<Option<Cli>> {
    let mut cli = Cli {
        config_file: None,
        overrides: Vec::new(),
        print_config: false,
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "-p" | "--printConfigItem" => cli.print_config = true,
            "-c" | "--configFile" => {
                let file = args.next().with_context(|| {
                    format!("{arg} needs a file path, e.g. {arg} conf/namesrv.conf")
                })?;
                cli.config_file = Some(PathBuf::from(file));
            }
            flag if flag.starts_with("--") => {
                let flag = &flag[2..];
                let (key, value) = match flag.split_once('=') {
                    Some((k, v)) => (k.to_owned(), v.to_owned()),
                    None => {
                        let value = args.next().with_context(|| {
                            format!("--{flag} needs a value, e.g. --{flag}=VALUE")
                        })?;
                        (flag.to_owned(), value)
                    }
                };
                cli.overrides.push(Property {
                    key,
                    value,
                    line: 0,
                    warning: None,
                });
            }
            other => anyhow::bail!(
                "unexpected argument {other:?}; settings are given as --key value (see --help)"
            ),
        }
    }
    Ok(Some(cli))
}

fn load_config(cli: &Cli) -> anyhow::Result<NamesrvConfig> {
    let mut config = NamesrvConfig::default();
    if let Some(path) = &cli.config_file {
        let text =
            std::fs::read_to_string(path).map_err(|source| rmq_config::ConfigError::Read {
                file: path.display().to_string(),
                source,
            })?;
        let applied = apply_all(
            &mut config,
            &rmq_config::properties::parse(&text),
            &path.display().to_string(),
            true,
        )?;
        for warning in applied.warnings {
            tracing::warn!("{warning}");
        }
    }
    let applied = apply_all(&mut config, &cli.overrides, "command line", true)?;
    for warning in applied.warnings {
        tracing::warn!("{warning}");
    }
    Ok(config)
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mqnamesrv: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let Some(cli) = parse_args(std::env::args().skip(1))? else {
        print!("{USAGE}{}", NamesrvConfig::help());
        return Ok(());
    };
    let config = load_config(&cli)?;
    if cli.print_config {
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
        server.serve(listener, shutdown_signal()).await;
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

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
