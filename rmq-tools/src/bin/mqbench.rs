//! `mqbench`: load generator for rmq and Apache RocketMQ servers.

use clap::{Parser, Subcommand};
use rmq_tools::bench::route::{self, RouteArgs};

/// Measures throughput and latency against a RocketMQ-compatible server.
#[derive(Parser)]
#[command(name = "mqbench", version)]
struct Cli {
    /// Print the report as one JSON object (for scripts).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Topic-route queries against a name server.
    Route(RouteArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        match &cli.mode {
            Mode::Route(args) => route::run(args).await,
        }
    })?;
    if cli.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", report.text());
    }
    Ok(())
}
