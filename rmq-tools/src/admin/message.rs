//! queryMsgById, queryMsgByKey, sendMessage, consumeMessage.

use anyhow::Context;
use clap::Args;
use rmq_client::{
    Admin, ClientConfig, Message, MessageQueue, Producer, ReceivedMessage, SendStatus,
};

use super::format::human_millis;
use super::timestamp_arg;

/// Messages one `consumeMessage` pull asks for.
const PULL_BATCH: i32 = 32;

/// Flags of `queryMsgById`.
#[derive(Args)]
pub struct QueryByIdArgs {
    /// Message id(s), comma separated: the id a producer got back (unique key, needs -t) or
    /// the broker's offset message id.
    #[arg(short = 'i', long = "msgId")]
    msg_id: String,
    /// Topic, to look unique keys up in.
    #[arg(short = 't', long = "topic")]
    topic: Option<String>,
}

/// Flags of `queryMsgByKey`.
#[derive(Args)]
pub struct QueryByKeyArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Message key.
    #[arg(short = 'k', long = "msgKey")]
    key: String,
    /// Stored at or after this time (ms since the epoch).
    #[arg(short = 'b', long = "beginTimestamp", default_value_t = 0)]
    begin: i64,
    /// Stored at or before this time (ms since the epoch).
    #[arg(short = 'e', long = "endTimestamp", default_value_t = i64::MAX)]
    end: i64,
    /// Most messages per broker.
    #[arg(short = 'c', long = "maxNum", default_value_t = 64)]
    max_num: i32,
}

/// Flags of `sendMessage`.
#[derive(Args)]
pub struct SendArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Message body (UTF-8).
    #[arg(short = 'p', long = "body")]
    body: String,
    /// Message keys, space separated.
    #[arg(short = 'k', long = "key")]
    keys: Option<String>,
    /// Message tag.
    #[arg(short = 'c', long = "tags")]
    tags: Option<String>,
    /// Send to this broker's queue -i (both or neither).
    #[arg(short = 'b', long = "broker", requires = "queue_id")]
    broker: Option<String>,
    /// Queue id on broker -b.
    #[arg(short = 'i', long = "qid", requires = "broker")]
    queue_id: Option<i32>,
}

/// Flags of `consumeMessage`.
#[derive(Args)]
pub struct ConsumeArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Only this broker's queues.
    #[arg(short = 'b', long = "brokerName")]
    broker: Option<String>,
    /// Only this queue id (with -b).
    #[arg(short = 'i', long = "queueId", requires = "broker")]
    queue_id: Option<i32>,
    /// Start at this offset (default: each queue's first message).
    #[arg(short = 'o', long = "offset")]
    offset: Option<i64>,
    /// Only messages stored at or after this time ('now', ms, or yyyy-MM-dd#HH:mm:ss:SSS).
    #[arg(short = 's', long = "beginTimestamp")]
    begin: Option<String>,
    /// Only messages stored at or before this time.
    #[arg(short = 'e', long = "endTimestamp")]
    end: Option<String>,
    /// Most messages to print.
    #[arg(short = 'c', long = "MessageNumber", default_value_t = 128)]
    count: usize,
}

/// A Java `Map.toString` of the properties, keys sorted.
fn properties_text(m: &ReceivedMessage) -> String {
    let mut props: Vec<_> = m.properties.iter().collect();
    props.sort();
    let inner: Vec<String> = props.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// The detail block of `queryMsgById` (Java's `printMsg`), body printed as text.
fn print_detail(m: &ReceivedMessage) {
    let line = |name: &str, value: &dyn std::fmt::Display| println!("{name:<20} {value}");
    line("OffsetID:", &m.offset_msg_id);
    line("Topic:", &m.topic);
    line("Tags:", &format!("[{}]", m.tags().unwrap_or("null")));
    line("Keys:", &format!("[{}]", m.keys().join(" ")));
    line("Queue ID:", &m.queue.queue_id);
    line("Queue Offset:", &m.queue_offset);
    line("CommitLog Offset:", &m.commit_log_offset);
    line("Reconsume Times:", &m.reconsume_times);
    line("Born Timestamp:", &human_millis(m.born_timestamp));
    line("Store Timestamp:", &human_millis(m.store_timestamp));
    line("Born Host:", &m.born_host);
    line("Store Host:", &m.store_host);
    line("System Flag:", &m.sys_flag);
    line("Properties:", &properties_text(m));
    line("Message Body:", &String::from_utf8_lossy(&m.body));
}

pub(super) async fn query_by_id(admin: &Admin, args: &QueryByIdArgs) -> anyhow::Result<()> {
    let ids = args
        .msg_id
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty());
    for id in ids {
        let found = admin
            .query_messages_by_id(args.topic.as_deref(), id)
            .await
            .with_context(|| {
                let hint = if args.topic.is_none() {
                    " (an id returned by a producer needs -t topic)"
                } else {
                    ""
                };
                format!("query message {id}{hint}")
            })?;
        for m in &found {
            print_detail(m);
            println!();
        }
    }
    Ok(())
}

pub(super) async fn query_by_key(admin: &Admin, args: &QueryByKeyArgs) -> anyhow::Result<()> {
    let found = admin
        .query_messages_by_key(&args.topic, &args.key, args.max_num, args.begin, args.end)
        .await
        .with_context(|| format!("query topic {} by key {}", args.topic, args.key))?;
    println!("{:<50} {:>4} {:>40}", "#Message ID", "#QID", "#Offset");
    for m in &found {
        println!(
            "{:<50} {:>4} {:>40}",
            m.msg_id, m.queue.queue_id, m.queue_offset
        );
    }
    Ok(())
}

/// Java's `SendStatus` constant names.
fn status_name(status: SendStatus) -> &'static str {
    match status {
        SendStatus::SendOk => "SEND_OK",
        SendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
        SendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
        SendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
    }
}

pub(super) async fn send(config: ClientConfig, args: &SendArgs) -> anyhow::Result<()> {
    let producer = Producer::builder()
        .client_config(config)
        .producer_group(format!("mqadmin-{}", std::process::id()))
        .start()
        .await?;
    let mut msg = Message::new(args.topic.clone(), args.body.clone().into_bytes());
    if let Some(tags) = &args.tags {
        msg = msg.with_tags(tags.clone());
    }
    if let Some(keys) = &args.keys {
        msg = msg.with_keys(keys.split_whitespace());
    }
    let result = match (&args.broker, args.queue_id) {
        (Some(broker), Some(qid)) => {
            let wanted = MessageQueue::new(args.topic.clone(), broker.clone(), qid);
            let pick = move |queues: &[MessageQueue], _: &Message, _: &str| {
                queues.iter().find(|q| **q == wanted).cloned()
            };
            producer.send_with_selector(msg, &pick, "").await.with_context(|| {
                format!("send to queue {qid} of broker {broker} (it must be a writable queue of topic {})", args.topic)
            })
        }
        _ => producer
            .send(msg)
            .await
            .with_context(|| format!("send to topic {}", args.topic)),
    };
    producer.shutdown().await;
    let result = result?;
    println!(
        "{:<32}  {:<4}  {:<20}    #MsgId",
        "#Broker Name", "#QID", "#Send Result"
    );
    println!(
        "{:<32}  {:<4}  {:<20}    {}",
        result.message_queue.broker_name,
        result.message_queue.queue_id,
        status_name(result.status),
        result.msg_id
    );
    Ok(())
}

pub(super) async fn consume(admin: &Admin, args: &ConsumeArgs) -> anyhow::Result<()> {
    let begin = args
        .begin
        .as_deref()
        .map(|s| timestamp_arg("-s", s))
        .transpose()?
        .unwrap_or(i64::MIN);
    let end = args
        .end
        .as_deref()
        .map(|s| timestamp_arg("-e", s))
        .transpose()?
        .unwrap_or(i64::MAX);
    let stats = admin
        .topic_stats(&args.topic)
        .await
        .with_context(|| format!("fetch the queues of topic {}", args.topic))?;
    let queues: Vec<_> = stats
        .offset_table
        .iter()
        .filter(|(mq, _)| args.broker.as_ref().is_none_or(|b| *b == mq.broker_name))
        .filter(|(mq, _)| args.queue_id.is_none_or(|q| q == mq.queue_id))
        .collect();
    if queues.is_empty() {
        anyhow::bail!(
            "topic {} has no queue matching -b/-i; 'mqadmin topicStatus -t {}' lists them",
            args.topic,
            args.topic
        );
    }
    let mut printed = 0;
    for (mq, bounds) in queues {
        let mut offset = args
            .offset
            .unwrap_or(bounds.min_offset)
            .max(bounds.min_offset);
        while offset < bounds.max_offset && printed < args.count {
            let msgs = admin
                .pull_messages(mq, offset, PULL_BATCH)
                .await
                .with_context(|| format!("pull {mq:?} at offset {offset}"))?;
            let Some(last) = msgs.last() else { break };
            offset = last.queue_offset + 1;
            for m in &msgs {
                if printed >= args.count {
                    break;
                }
                if (begin..=end).contains(&m.store_timestamp) {
                    println!("Consume ok");
                    println!(
                        "MSGID: {} MessageExt [brokerName={}, queueId={}, queueOffset={}, storeTimestamp={}, bornHost={}, storeHost={}, commitLogOffset={}, reconsumeTimes={}, topic={}, properties={}] BODY: {}",
                        m.msg_id,
                        m.queue.broker_name,
                        m.queue.queue_id,
                        m.queue_offset,
                        m.store_timestamp,
                        m.born_host,
                        m.store_host,
                        m.commit_log_offset,
                        m.reconsume_times,
                        m.topic,
                        properties_text(m),
                        String::from_utf8_lossy(&m.body)
                    );
                    printed += 1;
                }
            }
        }
    }
    if printed == 0 {
        println!("no message found in topic {}", args.topic);
    }
    Ok(())
}
