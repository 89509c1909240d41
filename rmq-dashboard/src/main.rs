//! `rmq-dashboard`: the web console. `rmq-dashboard -n 127.0.0.1:9876 --port 8080`; see the
//! crate's README for settings, users and security.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use rmq_dashboard::auth::users::hash_password;
use rmq_dashboard::config::DashboardConfig;
use rmq_dashboard::AppState;

/// mimalloc hands freed memory back to the system, so the RSS after a burst of large lists
/// (10,000 topics) falls back towards idle; glibc's allocator kept it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "rmq-dashboard",
    about = "Web console for rmq and Apache RocketMQ clusters"
)]
struct Cli {
    /// Name servers, `host:port;host:port` (overrides the file and environment).
    #[arg(short = 'n', long = "namesrv-addr")]
    namesrv_addr: Option<String>,
    /// Port to listen on (default 8080; 0 picks a free one).
    #[arg(long)]
    port: Option<u16>,
    /// Address to listen on (default 127.0.0.1; 0.0.0.0 in a container).
    #[arg(long)]
    bind: Option<String>,
    /// Directory holding the users file (default ~/.rmq-dashboard).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// A YAML settings file.
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Reads a password from standard input and prints its argon2 hash, for a users-file
    /// line `name admin|read-only HASH`.
    HashPassword,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The message alone: it names the setting and the fix; a backtrace adds nothing.
            eprintln!("rmq-dashboard: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::HashPassword) = cli.command {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        let password = line.trim_end_matches(['\r', '\n']);
        anyhow::ensure!(
            !password.is_empty(),
            "the password on standard input is empty"
        );
        println!("{}", hash_password(password)?);
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let mut settings = DashboardConfig::load(cli.config.as_deref())?;
    if let Some(v) = cli.namesrv_addr {
        settings.namesrv_addr = v;
    }
    if let Some(v) = cli.port {
        settings.port = v;
    }
    if let Some(v) = cli.bind {
        settings.bind = v;
    }
    if let Some(v) = cli.data_dir {
        settings.data_dir = Some(v);
    }
    if let Err((key, fix)) = settings.validate() {
        anyhow::bail!("command line: `{key}` is out of range; fix: {fix}");
    }
    let bind = format!("{}:{}", settings.bind, settings.port);
    let namesrv = settings.namesrv_addr.clone();
    let (state, origin) = AppState::start(settings).await?;
    origin.log();
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .with_context(|| format!("cannot listen on {bind}; choose another --port or --bind"))?;
    let local = listener.local_addr()?;
    tracing::info!(%namesrv, "console for the cluster of these name servers");
    // The boot line on stdout, as every rmq server prints it.
    println!("rmq-dashboard listening on {local}");
    rmq_dashboard::serve(listener, rmq_dashboard::router(state), shutdown()).await?;
    Ok(())
}

/// Completes at Ctrl-C or SIGTERM.
async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
