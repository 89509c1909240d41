//! What the POP tests share: a broker with a fast revive, a pop that builds each message's
//! receipt the way Apache's client does, ack and change, and multiset counting of bodies.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rmq_remoting::header::broker::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
    ExtraInfo, PopMessageRequestHeader, PopMessageResponseHeader,
};
use rmq_remoting::message::{decode_record, property_value};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use rmq_testkit::ServerProcess;

use crate::common::{create_topic, mqbroker, send_message, Caller};

pub const GROUP: &str = "pop-group";
pub const BROKER: &str = "broker-pop";

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

pub fn start(namesrv: &str, store: &std::path::Path) -> ServerProcess {
    start_with(namesrv, store, &[])
}

/// [`start`] with more broker settings (`--key value` pairs).
pub fn start_with(namesrv: &str, store: &std::path::Path, extra: &[&str]) -> ServerProcess {
    let mut args = vec![
        "--reviveInterval",
        "100",
        "--flushConsumerOffsetInterval",
        "200",
    ];
    args.extend_from_slice(extra);
    ServerProcess::start(mqbroker(namesrv, BROKER, store, &args))
}

/// A popped message as a Java 5 client sees it: body, attempts so far and its receipt.
#[derive(Debug, Clone)]
pub struct Popped {
    pub body: String,
    pub reconsume_times: i32,
    /// The topic to ack on (the retry topic for a retried message).
    pub ack_topic: String,
    pub queue_id: i32,
    pub offset: i64,
    pub receipt: ExtraInfo,
}

pub fn pop_request(topic: &str, invisible_ms: i64, poll_ms: i64) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::POP_MESSAGE,
        &PopMessageRequestHeader {
            consumer_group: GROUP.into(),
            topic: topic.into(),
            queue_id: -1,
            max_msg_nums: 32,
            invisible_time: invisible_ms,
            poll_time: poll_ms,
            born_time: Some(now_ms()),
            init_mode: 0,
            exp_type: Some("TAG".into()),
            exp: Some("*".into()),
            order: Some(false),
            attempt_id: None,
            bname: Some(BROKER.into()),
        },
    )
}

/// Pops once; builds each message's receipt from the response headers the way Apache's client
/// does (`startOffsetInfo`/`msgOffsetInfo`), or from POP_CK for a retried message.
pub async fn pop(c: &Caller, topic: &str, invisible_ms: i64, poll_ms: i64) -> Vec<Popped> {
    pop_with(c, topic, pop_request(topic, invisible_ms, poll_ms)).await
}

/// Sends a POP_MESSAGE request built by the caller and reads its answer as [`pop`] does.
pub async fn pop_with(c: &Caller, topic: &str, request: RemotingCommand) -> Vec<Popped> {
    pop_answer(c, topic, request).await.0
}

/// [`pop_with`], with the response header (FIFO tests read its `orderCountInfo`).
pub async fn pop_answer(
    c: &Caller,
    topic: &str,
    request: RemotingCommand,
) -> (Vec<Popped>, PopMessageResponseHeader) {
    let response = c.call(request).await;
    let h: PopMessageResponseHeader = response.decode_header().unwrap();
    if response.code == ResponseCode::POLLING_TIMEOUT.as_i32() {
        assert!(response.body.is_empty());
        return (Vec::new(), h);
    }
    assert_eq!(response.code, 0, "{:?}", response.remark);
    let starts: BTreeMap<String, i64> = h
        .start_offset_info
        .clone()
        .unwrap_or_default()
        .split(';')
        .map(|one| {
            let f: Vec<&str> = one.split(' ').collect();
            (format!("{}@{}", f[0], f[1]), f[2].parse().unwrap())
        })
        .collect();
    let mut out = Vec::new();
    let mut rest = &response.body[..];
    while !rest.is_empty() {
        let record = decode_record(rest, true).unwrap();
        let size = record.total_size as usize;
        assert_eq!(record.topic, topic, "the client sees the normal topic");
        let receipt = match property_value(record.properties, "POP_CK") {
            Some(ck) => ExtraInfo::parse(ck).unwrap(),
            None => ExtraInfo {
                ck_queue_offset: starts[&format!("0@{}", record.queue_id)],
                pop_time: h.pop_time,
                invisible_time: h.invisible_time,
                revive_qid: h.revive_qid,
                retry: "0".into(),
                broker_name: BROKER.into(),
                queue_id: record.queue_id,
                queue_offset: Some(record.queue_offset),
            },
        };
        let ack_topic = match receipt.retry.as_str() {
            "0" => topic.to_owned(),
            "1" => format!("%RETRY%{GROUP}_{topic}"),
            other => panic!("unexpected retry mark {other}"),
        };
        out.push(Popped {
            body: String::from_utf8(record.body.to_vec()).unwrap(),
            reconsume_times: record.reconsume_times,
            ack_topic,
            queue_id: receipt.queue_id,
            offset: record.queue_offset,
            receipt,
        });
        rest = &rest[size..];
    }
    (out, h)
}

pub async fn ack(c: &Caller, m: &Popped) {
    c.ok(RemotingCommand::request(
        RequestCode::ACK_MESSAGE,
        &AckMessageRequestHeader {
            consumer_group: GROUP.into(),
            topic: m.ack_topic.clone(),
            queue_id: m.queue_id,
            extra_info: m.receipt.to_string(),
            offset: m.offset,
            bname: Some(BROKER.into()),
        },
    ))
    .await;
}

/// Changes a message's invisible time; returns its new receipt, as the client builds it.
pub async fn change(c: &Caller, m: &Popped, invisible_ms: i64) -> Popped {
    let response = c
        .ok(RemotingCommand::request(
            RequestCode::CHANGE_MESSAGE_INVISIBLETIME,
            &ChangeInvisibleTimeRequestHeader {
                consumer_group: GROUP.into(),
                topic: m.ack_topic.clone(),
                queue_id: m.queue_id,
                extra_info: m.receipt.to_string(),
                offset: m.offset,
                invisible_time: invisible_ms,
                bname: Some(BROKER.into()),
            },
        ))
        .await;
    let h: ChangeInvisibleTimeResponseHeader = response.decode_header().unwrap();
    assert_eq!(h.invisible_time, invisible_ms);
    let mut changed = m.clone();
    changed.receipt = ExtraInfo {
        ck_queue_offset: m.offset,
        pop_time: h.pop_time,
        invisible_time: h.invisible_time,
        revive_qid: h.revive_qid,
        ..m.receipt.clone()
    };
    changed
}

/// Pops until `want` messages came (or `limit` passed), long polling 1 s at a time.
pub async fn pop_until(
    c: &Caller,
    topic: &str,
    invisible_ms: i64,
    want: usize,
    limit: Duration,
) -> Vec<Popped> {
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    while got.len() < want && Instant::now() < deadline {
        got.extend(pop(c, topic, invisible_ms, 1000).await);
    }
    got
}

pub fn bodies(messages: &[Popped]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for m in messages {
        *counts.entry(m.body.clone()).or_default() += 1;
    }
    counts
}

pub fn expected(names: &[&str]) -> BTreeMap<String, usize> {
    names.iter().map(|n| (n.to_string(), 1)).collect()
}

pub async fn setup(c: &Caller, topic: &str, bodies: &[&str]) {
    c.ok(create_topic(topic, 4)).await;
    for (i, body) in bodies.iter().enumerate() {
        let queue = i32::try_from(i % 4).unwrap();
        c.ok(send_message(
            topic,
            queue,
            body.as_bytes().to_vec(),
            now_ms(),
        ))
        .await;
    }
}
