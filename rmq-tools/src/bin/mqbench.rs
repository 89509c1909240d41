//! `mqbench`: load generator for rmq and Apache RocketMQ servers.

use clap::{Parser, Subcommand};
use rmq_tools::bench::consume::{self, ConsumeArgs};
use rmq_tools::bench::delay::{self, DelayArgs};
use rmq_tools::bench::produce::{self, ProduceArgs};
use rmq_tools::bench::route::{self, RouteArgs};

/// A consumer allocates a dozen strings per message (its `ReceivedMessage`: topic, queue, ids,
/// properties) on the pulling thread and frees them on a listener thread; glibc's malloc
/// spends a third of the consumer's instructions on that, mimalloc far less. The broker uses
/// it for the same reason. Built without transparent huge pages, as the broker.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Sends messages through the rmq client (like RocketMQ's Producer benchmark).
    Produce(ProduceArgs),
    /// Consumes with a push consumer and measures end-to-end latency.
    Consume(ConsumeArgs),
    /// Topic-route queries against a name server.
    Route(RouteArgs),
    /// Lateness of messages with a delivery time (receipt minus the asked time).
    Delay(DelayArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse_from(std::env::args().map(rmq_tools::acl::bench_short_option));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        match &cli.mode {
            Mode::Produce(args) => produce::run(args).await,
            Mode::Consume(args) => consume::run(args).await,
            Mode::Route(args) => route::run(args).await,
            Mode::Delay(args) => delay::run(args).await,
        }
    })?;
    if cli.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", report.text());
    }
    Ok(())
}
