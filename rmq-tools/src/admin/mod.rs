//! `mqadmin`: RocketMQ's administration commands over the rmq admin client, with the same
//! command names, flags and output layout as Apache RocketMQ's tool, so scripts and habits
//! carry over. Works against rmq and Apache RocketMQ servers alike.

mod cluster;
mod controller;
pub mod format;
mod group;
mod message;
mod settings;
mod topic;
mod trace;

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::{CommandFactory, Parser, Subcommand};
use rmq_client::{Admin, ClientConfig, ClientError};

/// Command-line of `mqadmin`.
#[derive(Parser)]
#[command(
    name = "mqadmin",
    version,
    about = "Administers RocketMQ clusters (rmq or Apache RocketMQ): topics, consumer groups, offsets, messages, brokers.",
    after_help = "The name server comes from -n or, when -n is absent, the NAMESRV_ADDR environment variable.\nWith ACL keys (--accessKey/--secretKey, RMQ_ACCESS_KEY/RMQ_SECRET_KEY, or accessKey/secretKey in $ROCKETMQ_HOME/conf/tools.yml as Apache's mqadmin reads them) every request is signed.\nTimes are printed and read in UTC.\nSee 'mqadmin <command> --help' for the flags of one command."
)]
pub struct Cli {
    /// Name server address list, e.g. '127.0.0.1:9876;192.168.0.2:9876' (default: $NAMESRV_ADDR).
    #[arg(short = 'n', long = "namesrvAddr", global = true, value_name = "ADDRS")]
    pub namesrv: Option<String>,
    /// ACL keys (else $RMQ_ACCESS_KEY/$RMQ_SECRET_KEY, else $ROCKETMQ_HOME/conf/tools.yml).
    #[command(flatten)]
    pub keys: crate::acl::KeyArgs,
    /// `--tls` (else $TLS_ENABLE).
    #[command(flatten)]
    pub tls: crate::tls::TlsArg,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The mqadmin commands, named as in RocketMQ.
#[derive(Subcommand)]
#[command(rename_all = "camelCase")]
pub enum Command {
    /// Update or create topic.
    UpdateTopic(topic::UpdateTopicArgs),
    /// Delete topic from broker and NameServer.
    DeleteTopic(topic::DeleteTopicArgs),
    /// Fetch all topic list from name server.
    TopicList,
    /// Examine topic route info.
    TopicRoute(topic::TopicArgs),
    /// Examine topic status info (queue offsets).
    TopicStatus(topic::TopicArgs),
    /// Update or create subscription group.
    UpdateSubGroup(group::UpdateSubGroupArgs),
    /// Query consumers's progress, speed.
    ConsumerProgress(group::ConsumerProgressArgs),
    /// Reset consumer offset by timestamp (without client restart).
    ResetOffsetByTime(group::ResetOffsetArgs),
    /// Query Message by Id (unique id or offset message id).
    QueryMsgById(message::QueryByIdArgs),
    /// Query Message by Key.
    QueryMsgByKey(message::QueryByKeyArgs),
    /// Query a message trace (send and consumptions) by message id.
    QueryMsgTraceById(trace::QueryTraceArgs),
    /// Send a message.
    SendMessage(message::SendArgs),
    /// Consume (print) messages without committing offsets.
    ConsumeMessage(message::ConsumeArgs),
    /// List all of clusters.
    ClusterList,
    /// Fetch broker runtime status data.
    BrokerStatus(cluster::BrokerStatusArgs),
    /// Get broker config by cluster or special broker.
    GetBrokerConfig(settings::BrokerTarget),
    /// Update broker's config (only the keys the broker lets change while it runs).
    UpdateBrokerConfig(settings::UpdateBrokerConfigArgs),
    /// Get configs of name server.
    GetNamesrvConfig,
    /// Update configs of name server (only the keys it lets change while it runs).
    UpdateNamesrvConfig(settings::UpdateNamesrvConfigArgs),
    /// Controller-mode commands (RocketMQ 5).
    #[command(flatten)]
    Controller(controller::ControllerCommand),
}

/// Parses the command line; an unknown command is answered with the list of commands.
pub fn parse() -> Cli {
    match Cli::try_parse_from(std::env::args().map(apache_short_options)) {
        Ok(cli) => cli,
        Err(e) if e.kind() == clap::error::ErrorKind::InvalidSubcommand => {
            let _ = e.print();
            eprintln!("\nThe mqadmin commands are:");
            for sub in Cli::command().get_subcommands() {
                let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
                eprintln!("   {:<25} {about}", sub.get_name());
            }
            std::process::exit(2);
        }
        Err(e) => e.exit(),
    }
}

/// Apache's mqadmin has multi-letter short options (`electMaster -bn broker-a`), which clap
/// cannot declare; they are read as the long option of the same name.
fn apache_short_options(arg: String) -> String {
    match arg.as_str() {
        "-bn" => "--bn".to_owned(),
        _ => arg,
    }
}

/// Runs one command to completion.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // Controller commands need the name server only to list brokers.
    if let Command::Controller(command) = &cli.command {
        return controller::run(command, cli.namesrv.clone()).await;
    }
    let namesrv = namesrv_addr(cli.namesrv)?;
    let config = ClientConfig {
        namesrv_addr: namesrv.clone(),
        credentials: cli.keys.for_admin(crate::acl::rocketmq_home().as_deref())?,
        use_tls: cli.tls.enabled(),
        ..ClientConfig::default()
    };
    let admin = Admin::start(config.clone()).await?;
    let result = match &cli.command {
        Command::UpdateTopic(args) => topic::update(&admin, args).await,
        Command::DeleteTopic(args) => topic::delete(&admin, args).await,
        Command::TopicList => topic::list(&admin).await,
        Command::TopicRoute(args) => topic::route(&admin, args).await,
        Command::TopicStatus(args) => topic::status(&admin, args).await,
        Command::UpdateSubGroup(args) => group::update(&admin, args).await,
        Command::ConsumerProgress(args) => group::progress(&admin, args).await,
        Command::ResetOffsetByTime(args) => group::reset(&admin, args).await,
        Command::QueryMsgById(args) => message::query_by_id(&admin, args).await,
        Command::QueryMsgByKey(args) => message::query_by_key(&admin, args).await,
        Command::QueryMsgTraceById(args) => trace::query(&admin, args).await,
        Command::SendMessage(args) => message::send(config, args).await,
        Command::ConsumeMessage(args) => message::consume(&admin, args).await,
        Command::ClusterList => cluster::list(&admin).await,
        Command::BrokerStatus(args) => cluster::broker_status(&admin, args).await,
        Command::GetBrokerConfig(target) => settings::get_broker(&admin, target).await,
        Command::UpdateBrokerConfig(args) => settings::update_broker(&admin, args).await,
        Command::GetNamesrvConfig => settings::get_namesrv(&admin, &namesrv).await,
        Command::UpdateNamesrvConfig(args) => {
            settings::update_namesrv(&admin, &namesrv, args).await
        }
        Command::Controller(command) => controller::run(command, Some(namesrv.clone())).await,
    };
    admin.shutdown().await;
    result.map_err(|e| with_hint(e, &namesrv))
}

/// `-n`, else `NAMESRV_ADDR`, else an error saying how to give one.
fn namesrv_addr(flag: Option<String>) -> anyhow::Result<String> {
    let addr = flag
        .or_else(|| std::env::var("NAMESRV_ADDR").ok())
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty());
    match addr {
        Some(a) => Ok(a),
        None => bail!(
            "no name server address: pass -n host:port (several separated by ';') or set the NAMESRV_ADDR environment variable"
        ),
    }
}

/// Adds what to check to errors whose cause is a connection failure.
fn with_hint(e: anyhow::Error, namesrv: &str) -> anyhow::Error {
    let unreachable = e.chain().any(|c| {
        matches!(
            c.downcast_ref::<ClientError>(),
            Some(ClientError::Transport(_))
        )
    });
    if unreachable {
        anyhow::anyhow!(
            "{e:#}\nhint: check that the name server ({namesrv}) and the brokers are running and reachable from here"
        )
    } else {
        e
    }
}

/// Milliseconds since the epoch, now.
fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A `-s`-style timestamp, with an error that lists the accepted forms.
fn timestamp_arg(flag: &str, text: &str) -> anyhow::Result<i64> {
    format::parse_timestamp(text, now_millis()).with_context(|| {
        format!("{flag} '{text}' is not a timestamp: use 'now', milliseconds since the epoch, or yyyy-MM-dd#HH:mm:ss:SSS (UTC)")
    })
}
