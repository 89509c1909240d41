//! `hostile`: runs the hostile-connection scenarios against a running broker or name server
//! (rmq's or Apache's) and prints, per scenario, the server's RSS and the latency a
//! well-behaved client saw meanwhile. bench/hostile.sh starts the servers and calls it.
//!
//! ```text
//! cargo run --release -p rmq-testkit --example hostile -- \
//!     --target broker|namesrv --addr HOST:PORT --pid PID [--topic T] [--scale ci|full] \
//!     [--label NAME] [--only SCENARIO]...
//! ```
//! A broker target needs `--topic`, an existing topic (its queue 0 receives the parked pulls).

use anyhow::{bail, Context};
use rmq_testkit::hostile::{self, Report, Scale, Scenario, Target};

struct Args {
    target: Target,
    scale: Scale,
    label: String,
    only: Vec<String>,
}

fn parse() -> anyhow::Result<Args> {
    let mut args = std::env::args().skip(1);
    let (mut kind, mut addr, mut pid, mut topic) = (None, None, None, None);
    let (mut scale, mut label, mut only) = (Scale::full(), String::new(), Vec::new());
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--target" => kind = Some(value()?),
            "--addr" => addr = Some(value()?),
            "--pid" => pid = Some(value()?.parse::<u32>().context("--pid")?),
            "--topic" => topic = Some(value()?),
            "--label" => label = value()?,
            "--only" => only.push(value()?),
            "--scale" => {
                scale = match value()?.as_str() {
                    "ci" => Scale::ci(),
                    "full" => Scale::full(),
                    other => bail!("--scale {other}: expected ci or full"),
                }
            }
            other => bail!("unknown argument {other}; see the header of examples/hostile.rs"),
        }
    }
    let addr = addr.context("--addr HOST:PORT is required")?;
    let pid = pid.context("--pid is required (the server's RSS is read from /proc)")?;
    let target = match kind.as_deref() {
        Some("broker") => Target::broker(&addr, pid, &topic.context("a broker needs --topic")?),
        Some("namesrv") => Target::name_server(&addr, pid),
        _ => bail!("--target broker|namesrv is required"),
    };
    Ok(Args {
        target,
        scale,
        label,
        only,
    })
}

fn main() -> anyhow::Result<()> {
    let args = parse()?;
    // Ten thousand idle connections need ten thousand descriptors here too.
    rmq_remoting::transport::raise_open_file_limit();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        println!("{:<10} {}", "server", Report::heading());
        let selected = |scenario: Scenario| {
            args.only.is_empty()
                || args
                    .only
                    .iter()
                    .any(|o| scenario.name().contains(o.as_str()))
        };
        for scenario in Scenario::ALL.into_iter().filter(|s| selected(*s)) {
            if let Some(report) = hostile::run(&args.target, &args.scale, scenario).await {
                println!("{:<10} {}", args.label, report.row());
            }
        }
        let alive = hostile::rss_kib(args.target.pid).is_some();
        println!(
            "{:<10} server still running at the end: {alive}",
            args.label
        );
        Ok(())
    })
}
