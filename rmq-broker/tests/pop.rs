//! 5.x POP on the real `mqbroker` binary over TCP: pop and ack, redelivery through the pop retry
//! topic after the invisible time with the reconsume count plus one, changing the invisible
//! time, pop state across a restart, the dead-letter queue the way Apache's proxy sends a
//! message there, and long polling. Messages are counted as multisets: a duplicate shows.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rmq_remoting::header::broker::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
    ConsumerSendMsgBackRequestHeader, ExtraInfo, PopMessageRequestHeader, PopMessageResponseHeader,
};
use rmq_remoting::message::{decode_record, property_value};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use rmq_testkit::ServerProcess;

mod common;
use common::{create_topic, mqbroker, name_server, pull_message, send_message, Caller};

const GROUP: &str = "pop-group";
const BROKER: &str = "broker-pop";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn start(namesrv: &str, store: &std::path::Path) -> ServerProcess {
    ServerProcess::start(mqbroker(
        namesrv,
        BROKER,
        store,
        &[
            "--reviveInterval",
            "100",
            "--flushConsumerOffsetInterval",
            "200",
        ],
    ))
}

/// A popped message as a Java 5 client sees it: body, attempts so far and its receipt.
#[derive(Debug, Clone)]
struct Popped {
    body: String,
    reconsume_times: i32,
    /// The topic to ack on (the retry topic for a retried message).
    ack_topic: String,
    queue_id: i32,
    offset: i64,
    receipt: ExtraInfo,
}

fn pop_request(topic: &str, invisible_ms: i64, poll_ms: i64) -> RemotingCommand {
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
async fn pop(c: &Caller, topic: &str, invisible_ms: i64, poll_ms: i64) -> Vec<Popped> {
    let response = c.call(pop_request(topic, invisible_ms, poll_ms)).await;
    let h: PopMessageResponseHeader = response.decode_header().unwrap();
    if response.code == ResponseCode::POLLING_TIMEOUT.as_i32() {
        assert!(response.body.is_empty());
        return Vec::new();
    }
    assert_eq!(response.code, 0, "{:?}", response.remark);
    let starts: BTreeMap<String, i64> = h
        .start_offset_info
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
    out
}

async fn ack(c: &Caller, m: &Popped) {
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
async fn change(c: &Caller, m: &Popped, invisible_ms: i64) -> Popped {
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
async fn pop_until(
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

fn bodies(messages: &[Popped]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for m in messages {
        *counts.entry(m.body.clone()).or_default() += 1;
    }
    counts
}

fn expected(names: &[&str]) -> BTreeMap<String, usize> {
    names.iter().map(|n| (n.to_string(), 1)).collect()
}

async fn setup(c: &Caller, topic: &str, bodies: &[&str]) {
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

#[tokio::test]
async fn popped_messages_stay_hidden_until_acked_or_their_invisible_time_passes() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start(&namesrv, dir.path());
    let c = Caller::new(broker.addr.clone());
    let names = ["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"];
    setup(&c, "PopT", &names).await;

    let first = pop_until(&c, "PopT", 2000, 8, Duration::from_secs(5)).await;
    assert_eq!(bodies(&first), expected(&names));
    assert!(first.iter().all(|m| m.reconsume_times == 0));
    assert!(pop(&c, "PopT", 2000, 0).await.is_empty(), "all are hidden");
    let (keep, done): (Vec<_>, Vec<_>) = first
        .into_iter()
        .partition(|m| m.body == "m2" || m.body == "m5");
    for m in &done {
        ack(&c, m).await;
    }

    let again = pop_until(&c, "PopT", 60_000, 2, Duration::from_secs(8)).await;
    assert_eq!(bodies(&again), bodies(&keep), "only the unacked come back");
    for m in &again {
        assert_eq!(m.reconsume_times, 1, "{m:?}");
        assert_eq!(
            m.receipt.retry, "1",
            "redelivered through the pop retry topic"
        );
        ack(&c, m).await;
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        pop(&c, "PopT", 2000, 0).await.is_empty(),
        "acked messages stay gone"
    );
}

#[tokio::test]
async fn a_changed_invisible_time_holds_the_message_back_and_stale_receipts_change_nothing() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start(&namesrv, dir.path());
    let c = Caller::new(broker.addr.clone());
    setup(&c, "PopChange", &["only"]).await;

    let popped = pop_until(&c, "PopChange", 1000, 1, Duration::from_secs(5)).await;
    assert_eq!(bodies(&popped), expected(&["only"]));
    let changed = change(&c, &popped[0], 4000).await;
    ack(&c, &popped[0]).await; // the old receipt: no longer the message's
    let began = Instant::now();
    let back = pop_until(&c, "PopChange", 60_000, 1, Duration::from_secs(10)).await;
    assert_eq!(bodies(&back), expected(&["only"]));
    assert!(
        began.elapsed() >= Duration::from_millis(3000),
        "came back after {:?}, before its new invisible time",
        began.elapsed()
    );
    assert_eq!(back[0].reconsume_times, 1);
    drop(changed);
}

#[tokio::test]
async fn pop_state_survives_a_restart() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start(&namesrv, dir.path());
    let c = Caller::new(broker.addr.clone());
    setup(&c, "PopRestart", &["a", "b", "c", "d"]).await;
    let popped = pop_until(&c, "PopRestart", 4000, 4, Duration::from_secs(5)).await;
    assert_eq!(bodies(&popped), expected(&["a", "b", "c", "d"]));
    for m in popped.iter().filter(|m| m.body != "c") {
        ack(&c, m).await;
    }
    broker
        .stop(Duration::from_secs(10))
        .expect("broker stopped");

    let broker = start(&namesrv, dir.path());
    let c = Caller::new(broker.addr.clone());
    c.ok(send_message("PopRestart", 0, b"e".to_vec(), now_ms()))
        .await;
    let after = pop_until(&c, "PopRestart", 60_000, 2, Duration::from_secs(10)).await;
    assert_eq!(
        bodies(&after),
        expected(&["c", "e"]),
        "acked messages stay acked, popped ones are not popped again before their time"
    );
    let c_again = after.iter().find(|m| m.body == "c").unwrap();
    assert_eq!(c_again.reconsume_times, 1);
}

#[tokio::test]
async fn a_message_past_its_attempts_goes_to_the_dead_letter_queue_as_apaches_proxy_sends_it() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start(&namesrv, dir.path());
    let c = Caller::new(broker.addr.clone());
    setup(&c, "PopDlq", &["doomed"]).await;
    let first = pop_until(&c, "PopDlq", 500, 1, Duration::from_secs(5)).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].reconsume_times, 0);
    let mut m = first;
    for attempt in 1..=2 {
        m = pop_until(&c, "PopDlq", 500, 1, Duration::from_secs(8)).await;
        assert_eq!(bodies(&m), expected(&["doomed"]));
        assert_eq!(m[0].reconsume_times, attempt);
    }
    // maxAttempts 3 reached: the proxy sends the message back with delayLevel -1, then acks.
    let pull = c
        .ok(pull_message(
            GROUP,
            &m[0].ack_topic,
            m[0].queue_id,
            m[0].offset,
        ))
        .await;
    let commit_log_offset = decode_record(&pull.body, false).unwrap().physical_offset;
    c.ok(RemotingCommand::request(
        RequestCode::CONSUMER_SEND_MSG_BACK,
        &ConsumerSendMsgBackRequestHeader {
            offset: commit_log_offset,
            group: GROUP.into(),
            delay_level: -1,
            origin_msg_id: None,
            origin_topic: Some("PopDlq".into()),
            unit_mode: false,
            max_reconsume_times: Some(2),
            bname: None,
        },
    ))
    .await;
    ack(&c, &m[0]).await;
    let dlq = c
        .ok(pull_message(GROUP, &format!("%DLQ%{GROUP}"), 0, 0))
        .await;
    let dead = decode_record(&dlq.body, true).unwrap();
    assert_eq!(dead.body, b"doomed");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        pop(&c, "PopDlq", 500, 0).await.is_empty(),
        "acked after its move"
    );
}

#[tokio::test]
async fn a_pop_finding_nothing_waits_for_a_message_like_a_long_polling_pull() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start(&namesrv, dir.path());
    let c = Caller::new(broker.addr.clone());
    c.ok(create_topic("PopPoll", 4)).await;
    let began = Instant::now();
    assert!(pop(&c, "PopPoll", 5000, 600).await.is_empty());
    assert!(
        began.elapsed() >= Duration::from_millis(550),
        "held for its pollTime"
    );

    let sender = Caller::new(broker.addr.clone());
    let send = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        sender
            .ok(send_message("PopPoll", 2, b"late".to_vec(), now_ms()))
            .await;
    });
    let began = Instant::now();
    let got = pop(&c, "PopPoll", 5000, 4000).await;
    assert_eq!(bodies(&got), expected(&["late"]));
    assert!(
        began.elapsed() < Duration::from_millis(3000),
        "woken by the arrival after {:?}",
        began.elapsed()
    );
    send.await.unwrap();
}

#[tokio::test]
async fn malformed_pops_and_receipts_are_refused_with_apaches_codes() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start(&namesrv, dir.path());
    let c = Caller::new(broker.addr.clone());
    c.ok(create_topic("PopBad", 2)).await;
    let unknown = c.call(pop_request("NoSuchTopic", 1000, 0)).await;
    assert_eq!(unknown.code, ResponseCode::TOPIC_NOT_EXIST.as_i32());
    let mut too_many = pop_request("PopBad", 1000, 0);
    too_many.ext_fields.insert("maxMsgNums".into(), "33".into());
    assert_eq!(
        c.call(too_many).await.code,
        ResponseCode::INVALID_PARAMETER.as_i32()
    );
    let mut bad_queue = pop_request("PopBad", 1000, 0);
    bad_queue.ext_fields.insert("queueId".into(), "2".into());
    assert_eq!(
        c.call(bad_queue).await.code,
        ResponseCode::INVALID_PARAMETER.as_i32()
    );
    let garbage = c
        .call(RemotingCommand::request(
            RequestCode::ACK_MESSAGE,
            &AckMessageRequestHeader {
                consumer_group: GROUP.into(),
                topic: "PopBad".into(),
                queue_id: 0,
                extra_info: "not a receipt".into(),
                offset: 0,
                bname: None,
            },
        ))
        .await;
    assert_eq!(garbage.code, ResponseCode::MESSAGE_ILLEGAL.as_i32());
}
