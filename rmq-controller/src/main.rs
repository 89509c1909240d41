//! `mqcontroller`: a stand-alone controller process.

use std::process::ExitCode;

use anyhow::Context;
use rmq_config::cli;
use rmq_controller::{Controller, ControllerConfig};

const USAGE: &str = "\
mqcontroller — the rmq controller (RocketMQ 5 controller mode: elects broker masters over Raft)

Usage: mqcontroller [-c controller.conf] [--KEY VALUE | --KEY=VALUE]... [-p] [-h]

";

fn main() -> ExitCode {
    cli::init_logging();
    cli::exit_code("mqcontroller", run())
}

fn run() -> anyhow::Result<()> {
    let Some((config, args)) =
        cli::settings_from_command_line::<ControllerConfig>(USAGE, &[], true)?
    else {
        return Ok(());
    };
    let origin = args.origin();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let controller = Controller::start(config, &origin).await?;
        let addr = controller.peer_addr().to_owned();
        let listener = rmq_controller::bind_peer_port(&addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (this node's entry in controllerDLegerPeers); is another controller running there?"))?;
        let shutdown = cli::shutdown_signal();
        cli::print(&format!(
            "The Controller boot success. selfId={}, listening on {addr}\n",
            controller.self_name()
        ));
        tracing::info!(%addr, "controller started");
        controller.serve(listener, shutdown).await;
        tracing::info!("controller stopped");
        Ok(())
    })
}
