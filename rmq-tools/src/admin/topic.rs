//! updateTopic, deleteTopic, topicList, topicRoute, topicStatus.

use std::collections::HashMap;

use anyhow::Context;
use clap::{ArgAction, ArgGroup, Args};
use rmq_client::Admin;
use rmq_remoting::body::topic::TopicConfig;

use super::format::{front, human_millis, perm_string};

/// Flags of `updateTopic`.
#[derive(Args)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
pub struct UpdateTopicArgs {
    /// Create or update the topic on this broker (ip:port).
    #[arg(short = 'b', long = "brokerAddr")]
    broker_addr: Option<String>,
    /// Create or update the topic on every master of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster_name: Option<String>,
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Read queue count.
    #[arg(short = 'r', long = "readQueueNums", default_value_t = 8)]
    read_queue_nums: i32,
    /// Write queue count.
    #[arg(short = 'w', long = "writeQueueNums", default_value_t = 8)]
    write_queue_nums: i32,
    /// Permission: 2 write only, 4 read only, 6 read and write.
    #[arg(short = 'p', long = "perm", default_value_t = 6, value_parser = parse_perm)]
    perm: i32,
    /// Ordered topic (true/false).
    #[arg(short = 'o', long = "order", default_value_t = false, action = ArgAction::Set)]
    order: bool,
    /// 5.x attributes: `+key=value` sets, `-key` removes, comma-separated
    /// (`+message.type=FIFO`); the broker checks them as Apache 5.3's does.
    #[arg(short = 'a', long = "attributes", allow_hyphen_values = true)]
    attributes: Option<String>,
}

/// Flags of `deleteTopic`.
#[derive(Args)]
pub struct DeleteTopicArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Delete the topic from every master of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster_name: String,
}

/// Flags of commands that take only a topic.
#[derive(Args)]
pub struct TopicArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
}

/// A topic permission as `updateTopic -p` accepts it.
fn parse_perm(text: &str) -> Result<i32, String> {
    match text.trim() {
        "2" => Ok(2),
        "4" => Ok(4),
        "6" => Ok(6),
        _ => Err("the permission is 2 (write only), 4 (read only) or 6 (read and write)".into()),
    }
}

/// Java's `TopicConfig.toString`: 4.9's, or 5.x's with `attributes={…}` when attributes were
/// given (Java's map text: `{+message.type=FIFO, -k=}`).
fn config_text(c: &TopicConfig) -> String {
    let attributes = c.attributes.as_ref().map(|a| {
        let mut pairs: Vec<String> = a.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.sort();
        format!(", attributes={{{}}}", pairs.join(", "))
    });
    format!(
        "TopicConfig [topicName={}, readQueueNums={}, writeQueueNums={}, perm={}, topicFilterType={}, topicSysFlag={}, order={}{}]",
        c.topic_name,
        c.read_queue_nums,
        c.write_queue_nums,
        perm_string(c.perm),
        c.topic_filter_type,
        c.topic_sys_flag,
        c.order,
        attributes.unwrap_or_default()
    )
}

/// `-a` text as Java's `AttributeParser.parseToMap` reads it: signed keys (`+k` with a value,
/// `-k` without), each at most once.
fn parse_attributes(text: &str) -> anyhow::Result<HashMap<String, String>> {
    let mut attributes = HashMap::new();
    for kv in text.trim().split(',').filter(|kv| !kv.is_empty()) {
        let (key, value) = match kv.split_once('=') {
            Some((key, value)) if key.starts_with('+') => (key, value),
            Some((key, _)) => anyhow::bail!("add/alter attribute format is wrong: {key}"),
            None if kv.starts_with('-') => (kv, ""),
            None => anyhow::bail!("delete attribute format is wrong: {kv}"),
        };
        if attributes
            .insert(key.to_owned(), value.to_owned())
            .is_some()
        {
            anyhow::bail!("key duplication: {key}");
        }
    }
    Ok(attributes)
}

pub(super) async fn update(admin: &Admin, args: &UpdateTopicArgs) -> anyhow::Result<()> {
    let config = TopicConfig {
        order: args.order,
        perm: args.perm,
        read_queue_nums: args.read_queue_nums,
        topic_filter_type: "SINGLE_TAG".to_owned(),
        topic_name: args.topic.clone(),
        topic_sys_flag: 0,
        write_queue_nums: args.write_queue_nums,
        attributes: args
            .attributes
            .as_deref()
            .map(parse_attributes)
            .transpose()?,
    };
    let brokers = if let Some(addr) = &args.broker_addr {
        admin
            .create_topic(addr, &config)
            .await
            .with_context(|| format!("create topic {} on broker {addr}", args.topic))?;
        vec![addr.clone()]
    } else {
        let cluster = args
            .cluster_name
            .as_deref()
            .context("pass -b brokerAddr or -c clusterName")?;
        admin
            .create_topic_in_cluster(cluster, &config)
            .await
            .with_context(|| format!("create topic {} in cluster {cluster}", args.topic))?
    };
    for addr in brokers {
        println!("create topic to {addr} success.");
    }
    println!("{}", config_text(&config));
    Ok(())
}

pub(super) async fn delete(admin: &Admin, args: &DeleteTopicArgs) -> anyhow::Result<()> {
    admin
        .delete_topic(&args.topic, &args.cluster_name)
        .await
        .with_context(|| format!("delete topic {}", args.topic))?;
    println!(
        "delete topic [{}] from cluster [{}] success.",
        args.topic, args.cluster_name
    );
    println!("delete topic [{}] from NameServer success.", args.topic);
    Ok(())
}

pub(super) async fn list(admin: &Admin) -> anyhow::Result<()> {
    for topic in admin.topic_list().await.context("fetch the topic list")? {
        println!("{topic}");
    }
    Ok(())
}

pub(super) async fn route(admin: &Admin, args: &TopicArgs) -> anyhow::Result<()> {
    let route = admin
        .topic_route(&args.topic)
        .await
        .with_context(|| format!("fetch the route of topic {}", args.topic))?;
    println!("{}", serde_json::to_string_pretty(&route)?);
    Ok(())
}

pub(super) async fn status(admin: &Admin, args: &TopicArgs) -> anyhow::Result<()> {
    let stats = admin
        .topic_stats(&args.topic)
        .await
        .with_context(|| format!("fetch the status of topic {}", args.topic))?;
    println!(
        "{:<32}  {:<4}  {:<20}  {:<20}    #Last Updated",
        "#Broker Name", "#QID", "#Min Offset", "#Max Offset"
    );
    for (mq, offsets) in &stats.offset_table {
        let updated = if offsets.last_update_timestamp > 0 {
            human_millis(offsets.last_update_timestamp)
        } else {
            String::new()
        };
        println!(
            "{:<32}  {:<4}  {:<20}  {:<20}    {updated}",
            front(&mq.broker_name, 32),
            mq.queue_id,
            offsets.min_offset,
            offsets.max_offset
        );
    }
    Ok(())
}
