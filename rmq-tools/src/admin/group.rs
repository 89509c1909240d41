//! updateSubGroup, consumerProgress, resetOffsetByTime.

use anyhow::Context;
use clap::{ArgAction, ArgGroup, Args};
use rmq_client::Admin;
use rmq_remoting::body::client::ConsumeType;
use rmq_remoting::body::stats::SubscriptionGroupConfig;

use super::format::{front, human_seconds};
use super::timestamp_arg;

/// The prefix of a group's retry topic; `consumerProgress` without `-g` finds groups by it.
const RETRY_PREFIX: &str = "%RETRY%";

/// Flags of `updateSubGroup`.
#[derive(Args)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
pub struct UpdateSubGroupArgs {
    /// Create or update the group on this broker (ip:port).
    #[arg(short = 'b', long = "brokerAddr")]
    broker_addr: Option<String>,
    /// Create or update the group on every master of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster_name: Option<String>,
    /// Consumer group name.
    #[arg(short = 'g', long = "groupName")]
    group: String,
    /// Whether the group may consume.
    #[arg(short = 's', long = "consumeEnable", default_value_t = true, action = ArgAction::Set)]
    consume_enable: bool,
    /// Whether a new group may start from the minimum offset.
    #[arg(short = 'm', long = "consumeFromMinEnable", default_value_t = true, action = ArgAction::Set)]
    consume_from_min_enable: bool,
    /// Whether broadcasting consumption is allowed.
    #[arg(short = 'd', long = "consumeBroadcastEnable", default_value_t = true, action = ArgAction::Set)]
    consume_broadcast_enable: bool,
    /// Queues of the group's retry topic.
    #[arg(short = 'q', long = "retryQueueNums", default_value_t = 1)]
    retry_queue_nums: i32,
    /// Deliveries before a message goes to the dead-letter queue.
    #[arg(short = 'r', long = "retryMaxTimes", default_value_t = 16)]
    retry_max_times: i32,
    /// Broker id consumers pull from (0 = master).
    #[arg(short = 'i', long = "brokerId", default_value_t = 0)]
    broker_id: i64,
    /// Broker id slow consumers are redirected to.
    #[arg(
        short = 'w',
        long = "whichBrokerWhenConsumeSlowly",
        default_value_t = 1
    )]
    which_broker_when_consume_slowly: i64,
    /// Whether members are told when the membership changes.
    #[arg(short = 'a', long = "notifyConsumerIdsChanged", default_value_t = true, action = ArgAction::Set)]
    notify_consumer_ids_changed: bool,
}

/// Flags of `consumerProgress`.
#[derive(Args)]
pub struct ConsumerProgressArgs {
    /// Consumer group name; without it every group with a retry topic is summarised.
    #[arg(short = 'g', long = "groupName")]
    group: Option<String>,
    /// Only this topic.
    #[arg(short = 't', long = "topicName")]
    topic: Option<String>,
}

/// Flags of `resetOffsetByTime`.
#[derive(Args)]
pub struct ResetOffsetArgs {
    /// Consumer group name.
    #[arg(short = 'g', long = "group")]
    group: String,
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Target time: 'now', milliseconds since the epoch, or yyyy-MM-dd#HH:mm:ss:SSS (UTC).
    #[arg(short = 's', long = "timestamp")]
    timestamp: String,
    /// Also move offsets forward (false: only backwards).
    #[arg(short = 'f', long = "force", default_value_t = true, action = ArgAction::Set)]
    force: bool,
}

/// Java's `SubscriptionGroupConfig.toString` (4.9).
fn config_text(c: &SubscriptionGroupConfig) -> String {
    format!(
        "SubscriptionGroupConfig [groupName={}, consumeEnable={}, consumeFromMinEnable={}, consumeBroadcastEnable={}, retryQueueNums={}, retryMaxTimes={}, brokerId={}, whichBrokerWhenConsumeSlowly={}, notifyConsumerIdsChangedEnable={}]",
        c.group_name,
        c.consume_enable,
        c.consume_from_min_enable,
        c.consume_broadcast_enable,
        c.retry_queue_nums,
        c.retry_max_times,
        c.broker_id,
        c.which_broker_when_consume_slowly,
        c.notify_consumer_ids_changed_enable
    )
}

pub(super) async fn update(admin: &Admin, args: &UpdateSubGroupArgs) -> anyhow::Result<()> {
    let mut config = SubscriptionGroupConfig::new(args.group.clone());
    config.consume_enable = args.consume_enable;
    config.consume_from_min_enable = args.consume_from_min_enable;
    config.consume_broadcast_enable = args.consume_broadcast_enable;
    config.retry_queue_nums = args.retry_queue_nums;
    config.retry_max_times = args.retry_max_times;
    config.broker_id = args.broker_id;
    config.which_broker_when_consume_slowly = args.which_broker_when_consume_slowly;
    config.notify_consumer_ids_changed_enable = args.notify_consumer_ids_changed;
    let brokers = if let Some(addr) = &args.broker_addr {
        admin
            .create_subscription_group(addr, &config)
            .await
            .with_context(|| {
                format!("create subscription group {} on broker {addr}", args.group)
            })?;
        vec![addr.clone()]
    } else {
        let cluster = args
            .cluster_name
            .as_deref()
            .context("pass -b brokerAddr or -c clusterName")?;
        admin
            .create_subscription_group_in_cluster(cluster, &config)
            .await
            .with_context(|| {
                format!(
                    "create subscription group {} in cluster {cluster}",
                    args.group
                )
            })?
    };
    for addr in brokers {
        println!("create subscription group to {addr} success.");
    }
    println!("{}", config_text(&config));
    Ok(())
}

pub(super) async fn progress(admin: &Admin, args: &ConsumerProgressArgs) -> anyhow::Result<()> {
    let Some(group) = &args.group else {
        return all_groups(admin).await;
    };
    let stats = admin
        .consume_stats(group, args.topic.as_deref())
        .await
        .with_context(|| format!("fetch the progress of group {group}"))?;
    if stats.offset_table.is_empty() {
        anyhow::bail!(
            "no progress of consumer group {group}: it has consumed nothing yet, or the group or topic name is wrong"
        );
    }
    println!(
        "{:<32}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20} {:<20}  #LastTime",
        "#Topic",
        "#Broker Name",
        "#QID",
        "#Broker Offset",
        "#Consumer Offset",
        "#Client IP",
        "#Diff"
    );
    let mut diff_total = 0;
    for (mq, o) in &stats.offset_table {
        let diff = o.broker_offset - o.consumer_offset;
        diff_total += diff;
        println!(
            "{:<32}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20} {:<20}  {}",
            front(&mq.topic, 32),
            front(&mq.broker_name, 32),
            mq.queue_id,
            o.broker_offset,
            o.consumer_offset,
            "NA",
            diff,
            human_seconds(o.last_timestamp)
        );
    }
    println!();
    println!("Consume TPS: {:?}", stats.consume_tps);
    println!("Diff Total: {diff_total}");
    Ok(())
}

/// `consumerProgress` without `-g`: one line per group that has a retry topic.
async fn all_groups(admin: &Admin) -> anyhow::Result<()> {
    println!(
        "{:<32}  {:<6}  {:<24} {:<5}  {:<14}  {:<7}  #Diff Total",
        "#Group", "#Count", "#Version", "#Type", "#Model", "#TPS"
    );
    let topics = admin.topic_list().await.context("fetch the topic list")?;
    for group in topics.iter().filter_map(|t| t.strip_prefix(RETRY_PREFIX)) {
        let (tps, diff) = match admin.consume_stats(group, None).await {
            Ok(s) => (
                s.consume_tps as i64,
                s.offset_table
                    .values()
                    .map(|o| o.broker_offset - o.consumer_offset)
                    .sum::<i64>(),
            ),
            Err(_) => (0, 0),
        };
        let (count, version, kind, model) = match admin.consumer_connections(group).await {
            Ok(c) => {
                let kind = match c.consume_type {
                    Some(ConsumeType::Actively) => "PULL",
                    Some(_) => "PUSH",
                    None => "",
                };
                let model = match c.consume_type {
                    Some(ConsumeType::Passively) => {
                        c.message_model.map(|m| m.to_string()).unwrap_or_default()
                    }
                    _ => String::new(),
                };
                let version = c
                    .connection_set
                    .iter()
                    .map(|x| x.version)
                    .min()
                    .map(|v| format!("version {v}"))
                    .unwrap_or_default();
                (c.connection_set.len(), version, kind, model)
            }
            Err(_) => (0, "OFFLINE".to_owned(), "", String::new()),
        };
        println!(
            "{:<32}  {:<6}  {:<24} {:<5}  {:<14}  {:<7}  {diff}",
            front(group, 32),
            count,
            version,
            kind,
            model,
            tps
        );
    }
    Ok(())
}

pub(super) async fn reset(admin: &Admin, args: &ResetOffsetArgs) -> anyhow::Result<()> {
    let timestamp = timestamp_arg("-s", &args.timestamp)?;
    let offsets = admin
        .reset_offset_by_time(&args.topic, &args.group, timestamp, args.force)
        .await
        .with_context(|| {
            format!(
                "reset the offsets of group {} on topic {}",
                args.group, args.topic
            )
        })?;
    println!(
        "rollback consumer offset by specified group[{}], topic[{}], force[{}], timestamp(string)[{}], timestamp(long)[{timestamp}]",
        args.group, args.topic, args.force, args.timestamp
    );
    println!("{:<40}  {:<40}  #offset", "#brokerName", "#queueId");
    for (mq, offset) in &offsets {
        println!("{:<40}  {:<40}  {offset}", mq.broker_name, mq.queue_id);
    }
    Ok(())
}
